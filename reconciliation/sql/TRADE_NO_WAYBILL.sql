/* check
id = "TRADE_NO_WAYBILL"
family = "trade"
category = "fake_trade"
severity = "high"
title = "No waybill for the trade"
rule = '''
No waybill received so far backs an invoice presented by a financing: none cites the trade's order
number (stated in the invoice's remark or by the payable, or the matched purchase order) or is named
by its goods receipts; without an order number, no shipment from the seller to the buyer consigned
within the date window of the issue carries the invoice's quantity. When several shipments qualify
the case goes to MATCH_AMBIGUOUS instead. No waybill names its carrier before it arrives: every
carrier that delivered within evidence_window_days before the financing's first night, and every
carrier dq_required_sources names (from the first night), is awaited, each on its own. {pending}
'''
[params]
quantity_tolerance_ppm = 1000
date_window_days = 30
evidence_window_days = 7
dq_required_sources = ""
*/
WITH unshipped AS (
  SELECT m.financing_id, m.invoice_no,
         printf('No waybill received up to %s backs invoice %s (%s → %s, ¥%s, quantity %s) presented by financing %s: %s.',
                getvariable('business_date'), m.invoice_no, m.seller_uscc, m.buyer_uscc,
                yuan(m.invoice_total_fen), qty_text(m.invoice_quantity), m.financing_id,
                CASE WHEN len(m.searched_orders) > 0
                     THEN 'none cites order ' || array_to_string(m.searched_orders, ', ')
                     ELSE printf('no shipment from the seller to the buyer within %d days of its issue on %s carries that quantity',
                                 getvariable('date_window_days'), m.invoice_date) END) AS detail,
         json_object('seller', m.seller_uscc, 'buyer', m.buyer_uscc, 'invoice_date', m.invoice_date,
                     'invoice_quantity', qty_text(m.invoice_quantity), 'orders_searched', coalesce(m.searched_orders, []),
                     'tier', m.tier, 'data_until', getvariable('business_date')) AS evidence,
         coalesce(m.searched_orders, []) AS doc_keys, n.since, evidence_carriers(n.since, ec.carriers) AS awaited
  FROM trade_links m JOIN financing_first_night n USING (financing_id) CROSS JOIN evidence_carrier_list ec
  WHERE m.waybill_outcome = {{LinkOutcome.MISSING}}
), judged AS (
  SELECT financing_id, invoice_no, detail, evidence, evidence_pending(awaited, doc_keys, since) AS pending FROM unshipped
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       pending_severity(pending) AS severity, pending_detail(pending, detail) AS detail,
       pending_evidence(pending, evidence) AS evidence
FROM judged
