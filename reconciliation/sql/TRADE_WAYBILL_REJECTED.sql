/* check
id = "TRADE_WAYBILL_REJECTED"
family = "trade"
category = "fake_trade"
severity = "critical"
title = "Goods rejected by the consignee"
rule = '''
A waybill behind the invoice has status 4 (退签/拒收, rejected) and the waybills not rejected carry less
than the invoice's quantity (beyond the quantity tolerance). {four_flow_waybills}
'''
[params]
quantity_tolerance_ppm = 1000
date_window_days = 30
*/
SELECT r.financing_id, NULL AS voucher_id, r.invoice_no, NULL AS bill_ref, r.rejected_waybills[1] AS waybill_no,
       NULL AS severity,
       printf('Waybill(s) %s behind invoice %s (quantity %s) of financing %s were rejected by the consignee (status 4); the waybills not rejected carry only %s.',
              array_to_string(r.rejected_waybills, ', '), r.invoice_no, qty_text(r.invoice_quantity),
              r.financing_id, qty_text(r.carried - r.rejected)) AS detail,
       json_object('invoice_quantity', qty_text(r.invoice_quantity), 'carried', qty_text(r.carried),
                   'rejected', qty_text(r.rejected), 'rejected_waybills', r.rejected_waybills) AS evidence
FROM trade_waybill_receipts r
WHERE len(r.rejected_waybills) > 0 AND NOT quantity_covers(r.carried - r.rejected, r.invoice_quantity)
