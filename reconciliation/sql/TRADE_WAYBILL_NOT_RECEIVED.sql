/* check
id = "TRADE_WAYBILL_NOT_RECEIVED"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Goods never signed for"
rule = '''
A waybill behind the invoice is not signed for (status other than 3 签收, or no receipt time) as of
the night, and the waybills that are signed for carry less than the invoice's quantity (beyond the
quantity tolerance). {four_flow_waybills} The source awaited is the carrier holding the unsigned
waybill: its next delivery may sign it. {pending}
'''
[params]
quantity_tolerance_ppm = 1000
date_window_days = 30
evidence_window_days = 7
*/
WITH carriers AS (
  -- the folders of the carriers holding each unreceived waybill: their next delivery may sign it
  SELECT t.financing_id, t.invoice_no, list(DISTINCT 'logistics/' || w.carrier_dir_uscc || '/*.xml') AS sources
  FROM trade_waybills t
  JOIN cur_waybills w ON w.carrier_uscc IS NOT DISTINCT FROM t.carrier_uscc AND w.waybill_no = t.waybill_no
  WHERE coalesce(t.status, '') NOT IN ('3', '4') OR (t.status = '3' AND t.receipt_time IS NULL)
  GROUP BY ALL
), unsigned AS (
  SELECT r.*,
         printf('Invoice %s (quantity %s) behind financing %s, value date %s, rests on waybill(s) %s not signed for as of %s; signed waybills carry only %s.',
                r.invoice_no, qty_text(r.invoice_quantity), r.financing_id, r.value_date,
                array_to_string(r.unreceived_states, ', '), getvariable('business_date'), qty_text(r.received)) AS detail,
         json_object('invoice_quantity', qty_text(r.invoice_quantity), 'carried', qty_text(r.carried),
                     'signed_for', qty_text(r.received), 'not_signed_for', r.unreceived_states,
                     'value_date', r.value_date, 'data_until', getvariable('business_date')) AS evidence,
         evidence_pending(coalesce(c.sources, []), r.unreceived_waybills, n.since) AS pending
  FROM trade_waybill_receipts r
  JOIN financing_first_night n USING (financing_id)
  LEFT JOIN carriers c USING (financing_id, invoice_no)
  WHERE len(r.unreceived_waybills) > 0 AND NOT quantity_covers(r.received, r.invoice_quantity)
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, unreceived_waybills[1] AS waybill_no,
       pending_severity(pending) AS severity, pending_detail(pending, detail) AS detail,
       pending_evidence(pending, evidence) AS evidence
FROM unsigned
