SELECT financing_id, voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       CASE WHEN via_voucher_id IS NOT NULL AND via_voucher_id <> coalesce(voucher_id, '')
            THEN printf('%s Financing %s rests on voucher %s, split from it.', reason, financing_id, via_voucher_id)
            ELSE reason END AS detail,
       json_merge_patch(coalesce(evidence, '{}')::JSON,
                        json_object('event_id', event_id, 'refused_on', refused_on,
                                    'implicated_via_voucher_id', via_voucher_id)) AS evidence
FROM ledger_implications
WHERE check_id = getvariable('check_id')
