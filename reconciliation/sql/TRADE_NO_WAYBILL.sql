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
         evidence_pending(evidence_carriers(n.since), coalesce(m.searched_orders, []), n.since) AS pending
  FROM trade_links m JOIN financing_first_night n USING (financing_id)
  WHERE m.waybill_outcome = 'missing'
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       pending_severity(pending) AS severity, pending_detail(pending, detail) AS detail,
       pending_evidence(pending, evidence) AS evidence
FROM unshipped
