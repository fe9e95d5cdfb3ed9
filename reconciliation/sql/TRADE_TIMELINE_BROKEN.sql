/* check
id = "TRADE_TIMELINE_BROKEN"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Trade timeline broken"
rule = '''
The trade's documents are out of order: the invoice was issued before the purchase order it cites
(tier 1); the goods receipts (tier 1) or the signed waybills received by the financing's value date
cover less than the invoice's quantity, the rest being received after it; or a waybill citing the
order was consigned before the order date.
'''
[params]
amount_tolerance_fen = 100
amount_tolerance_ratio_ppm = 1000
quantity_tolerance_ppm = 1000
date_window_days = 30
*/
WITH receipts AS (
  SELECT m.financing_id, m.invoice_no,
         coalesce(sum(g.signed_quantity) FILTER (WHERE g.posting_date <= m.value_date), 0) AS by_value_date,
         coalesce(list_sort(list(DISTINCT g.mblnr || ' on ' || g.posting_date)
                            FILTER (WHERE g.posting_date > m.value_date)), []) AS late
  FROM trade_links m JOIN mt_gr_links g USING (invoice_no)
  WHERE m.gr_outcome = {{LinkOutcome.MATCHED}}
  GROUP BY m.financing_id, m.invoice_no
), early_shipments AS (
  SELECT w.financing_id, w.invoice_no,
         list_sort(list(DISTINCT printf('waybill %s was consigned on %s, before its order %s of %s', w.waybill_no,
                                        coalesce(w.consignment_time, w.despatch_time)::DATE, p.ebeln, p.po_date)))
           AS reasons
  FROM trade_waybills w
  JOIN trade_links m USING (financing_id, invoice_no)
  JOIN mt_po_links p ON p.invoice_no = w.invoice_no AND p.ebeln = w.po_no
  WHERE m.po_outcome = {{LinkOutcome.MATCHED}} AND coalesce(w.consignment_time, w.despatch_time)::DATE < p.po_date
  GROUP BY w.financing_id, w.invoice_no
), judged AS (
  SELECT m.financing_id, m.invoice_no, m.value_date, m.invoice_date, m.po_date, m.po_ebelns,
         list_sort(list_filter(
           [CASE WHEN m.po_outcome = {{LinkOutcome.MATCHED}} AND m.invoice_date < m.po_date
                 THEN printf('the invoice was issued on %s, before its order %s of %s',
                             m.invoice_date, array_to_string(m.po_ebelns, ', '), m.po_date) END,
            CASE WHEN len(g.late) > 0 AND NOT quantity_covers(g.by_value_date, m.invoice_quantity)
                 THEN printf('goods receipt %s came after the value date, only %s of %s being received by it',
                             array_to_string(g.late, ', '), qty_text(g.by_value_date), qty_text(m.invoice_quantity)) END,
            CASE WHEN len(r.late_receipts) > 0 AND NOT quantity_covers(r.received_by_value_date, m.invoice_quantity)
                 THEN printf('waybill %s was signed for after the value date, only %s of %s being signed for by it',
                             array_to_string(r.late_receipts, ', '), qty_text(r.received_by_value_date),
                             qty_text(m.invoice_quantity)) END]
           || coalesce(e.reasons, []),
           lambda x: x IS NOT NULL)) AS reasons,
         g.by_value_date AS gr_by_value_date, g.late AS late_gr, r.late_receipts, r.received_by_value_date
  FROM trade_links m
  LEFT JOIN receipts g USING (financing_id, invoice_no)
  LEFT JOIN trade_waybill_receipts r USING (financing_id, invoice_no)
  LEFT JOIN early_shipments e USING (financing_id, invoice_no)
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('The trade behind invoice %s of financing %s (value date %s) is out of order: %s.',
              invoice_no, financing_id, value_date, array_to_string(reasons, '; ')) AS detail,
       json_object('invoice_date', invoice_date, 'orders', po_ebelns, 'order_date', po_date, 'value_date', value_date,
                   'goods_received_by_value_date', qty_text(gr_by_value_date), 'late_goods_receipts', late_gr,
                   'signed_for_by_value_date', qty_text(received_by_value_date), 'late_waybill_receipts', late_receipts,
                   'broken', reasons) AS evidence
FROM judged
WHERE len(reasons) > 0
