/* check
id = "TRADE_WAYBILL_QTY_MISMATCH"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Waybill inconsistent with the invoice"
rule = '''
A waybill behind the invoice was delivered to someone other than the invoice's buyer; or the
waybills behind the invoice, backing no other financed invoice, carried a total quantity that
differs from the invoice's quantity beyond the quantity tolerance (one order delivered by several
waybills counts as their sum). {four_flow_waybills}
'''
[params]
quantity_tolerance_ppm = 1000
date_window_days = 30
*/
WITH sharing AS (
  SELECT carrier_uscc, waybill_no, count(DISTINCT invoice_no) AS invoices FROM trade_waybills GROUP BY ALL
), per_invoice AS (
  SELECT w.financing_id, w.invoice_no, any_value(w.invoice_quantity) AS invoice_quantity,
         any_value(w.buyer_uscc) AS buyer_uscc, sum(w.quantity) AS carried, max(s.invoices) AS sharing,
         bool_and(w.quantity IS NOT NULL) AS quantity_carried,
         list(w.waybill_no ORDER BY w.waybill_no) AS waybills,
         coalesce(list(w.waybill_no ORDER BY w.waybill_no) FILTER (WHERE NOT w.consignee_agrees), [])
           AS misdelivered,
         coalesce(list(w.waybill_no || ' to ' || coalesce(w.consignee_uscc, w.consignee_name) ORDER BY w.waybill_no)
                  FILTER (WHERE NOT w.consignee_agrees), []) AS misdelivered_to
  FROM trade_waybills w JOIN sharing s USING (carrier_uscc, waybill_no)
  GROUP BY w.financing_id, w.invoice_no
), judged AS (
  -- a waybill layout without quantity (2015WCCYR) cannot tell a quantity mismatch: not judged
  SELECT *, len(misdelivered) > 0 AS wrong_consignee,
         sharing = 1 AND quantity_carried AND invoice_quantity IS NOT NULL
           AND NOT quantities_agree(carried, invoice_quantity) AS wrong_quantity
  FROM per_invoice
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref,
       CASE WHEN wrong_consignee THEN misdelivered[1] ELSE waybills[1] END AS waybill_no, NULL AS severity,
       printf('Invoice %s of financing %s (buyer %s, quantity %s) is backed by waybill(s) %s %s.',
              invoice_no, financing_id, buyer_uscc, qty_text(invoice_quantity), array_to_string(waybills, ', '),
              array_to_string(list_filter([
                CASE WHEN wrong_quantity THEN 'carrying ' || qty_text(carried) END,
                CASE WHEN wrong_consignee THEN 'delivered elsewhere (' || array_to_string(misdelivered_to, ', ') || ')' END],
                lambda x: x IS NOT NULL), ' and ')) AS detail,
       json_object('invoice_quantity', qty_text(invoice_quantity), 'waybill_quantity', qty_text(carried),
                   'waybills', waybills, 'buyer', buyer_uscc, 'delivered_elsewhere', misdelivered_to) AS evidence
FROM judged
WHERE wrong_consignee OR wrong_quantity
