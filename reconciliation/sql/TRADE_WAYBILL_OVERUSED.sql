/* check
id = "TRADE_WAYBILL_OVERUSED"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Waybill backs more than it carried"
rule = '''
The financed invoices drawing on a waybill claim together (net of red-letter reversals) more
quantity than the waybills they draw on carried, beyond the quantity tolerance. Every financing
presenting one of those invoices is implicated. {four_flow_waybills}
'''
[params]
quantity_tolerance_ppm = 1000
date_window_days = 30
*/
WITH claims AS (
  SELECT DISTINCT w.invoice_no, w.carrier_uscc, w.waybill_no, w.quantity
  FROM trade_waybills w
), pool AS (
  -- For each waybill, every waybill drawn on by the invoices drawing on it.
  SELECT DISTINCT a.carrier_uscc, a.waybill_no, b.carrier_uscc AS pooled_carrier, b.waybill_no AS pooled_waybill, b.quantity
  FROM claims a JOIN claims b USING (invoice_no)
), carried AS (
  -- NULL when a pooled waybill carries no quantity (2015WCCYR): overuse cannot be told
  SELECT carrier_uscc, waybill_no, CASE WHEN bool_and(quantity IS NOT NULL) THEN sum(quantity) END AS carried,
         list(pooled_waybill ORDER BY pooled_waybill) AS pooled
  FROM pool GROUP BY ALL
), claimed AS (
  SELECT c.carrier_uscc, c.waybill_no, sum(i.net_quantity) AS claimed,
         list(c.invoice_no || ' (' || qty_text(i.net_quantity) || ')' ORDER BY c.invoice_no) AS invoices
  FROM claims c JOIN mt_invoices i USING (invoice_no) GROUP BY ALL
), overused AS (
  SELECT * FROM carried JOIN claimed USING (carrier_uscc, waybill_no)
  WHERE claimed > carried + quantity_tolerance(carried)
)
SELECT w.financing_id, NULL AS voucher_id, w.invoice_no, NULL AS bill_ref, min(o.waybill_no) AS waybill_no,
       NULL AS severity,
       printf('Waybill(s) %s carried %s, but the financed invoices drawing on them claim %s in all (%s); financing %s presents invoice %s.',
              array_to_string(arg_min(o.pooled, o.waybill_no), ', '), qty_text(arg_min(o.carried, o.waybill_no)),
              qty_text(arg_min(o.claimed, o.waybill_no)), array_to_string(arg_min(o.invoices, o.waybill_no), ', '),
              w.financing_id, w.invoice_no) AS detail,
       json_object('waybills', arg_min(o.pooled, o.waybill_no), 'carried', qty_text(arg_min(o.carried, o.waybill_no)),
                   'claimed', qty_text(arg_min(o.claimed, o.waybill_no)),
                   'invoices', arg_min(o.invoices, o.waybill_no)) AS evidence
FROM trade_waybills w JOIN overused o USING (carrier_uscc, waybill_no)
GROUP BY w.financing_id, w.invoice_no
