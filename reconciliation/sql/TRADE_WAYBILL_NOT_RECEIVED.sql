SELECT r.financing_id, NULL AS voucher_id, r.invoice_no, NULL AS bill_ref, r.unreceived_waybills[1] AS waybill_no,
       NULL AS severity,
       printf('Invoice %s (quantity %s) behind financing %s, value date %s, rests on waybill(s) %s not signed for as of %s; signed waybills carry only %s.',
              r.invoice_no, qty_text(r.invoice_quantity), r.financing_id, r.value_date,
              array_to_string(r.unreceived_states, ', '), getvariable('business_date'), qty_text(r.received)) AS detail,
       json_object('invoice_quantity', qty_text(r.invoice_quantity), 'carried', qty_text(r.carried),
                   'signed_for', qty_text(r.received), 'not_signed_for', r.unreceived_states,
                   'value_date', r.value_date, 'data_until', getvariable('business_date')) AS evidence
FROM trade_waybill_receipts r
WHERE len(r.unreceived_waybills) > 0 AND NOT quantity_covers(r.received, r.invoice_quantity)
