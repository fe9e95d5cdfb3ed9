/* check
id = "DUP_INVOICE_REISSUED"
family = "trade"
category = "duplicate"
severity = "critical"
title = "Invoice re-issued under a new number"
rule = '''
Two invoices, both presented by live financings, have the same seller and buyer, totals within the
amount tolerance and issue dates within reissue_window_days, and neither is void or red-flushed: the
same sale invoiced twice. Candidates are found by blocking on (seller, buyer, amount bucket) and
scored: total equal 3 (else 2), same issue day 2 (else 1), same quantity 1, same remark 1, same
purchase order or waybill 2; they score −10 when the trade evidence tells two sales apart (different
purchase orders or stated orders, different waybills, each its own payable, or enough shipments for
both). A pair scoring at least reissue_min_score is reported.
'''
[params]
amount_tolerance_fen = 100
amount_tolerance_ratio_ppm = 1000
reissue_window_days = 15
reissue_min_score = 3
*/
WITH standing AS (
  -- Financed invoices that still stand (not void, not red-flushed beyond tolerance), with the
  -- trade evidence of the match and a blocking key on the amount: buckets of width
  -- 2 × the tolerance ratio on a log scale, amounts below the absolute tolerance's reach sharing one.
  SELECT l.*, i.remark,
         floor(ln(greatest(abs(l.invoice_total_fen),
                           getvariable('amount_tolerance_fen') * 1000000 / getvariable('amount_tolerance_ratio_ppm')))
               / ln(1 + 2 * getvariable('amount_tolerance_ratio_ppm') / 1000000))::BIGINT AS bucket
  FROM trade_invoice_links l
  JOIN mt_invoices i USING (invoice_no)
  WHERE coalesce(i.status, '0') <> '2' AND i.remaining_fen > amount_tolerance(i.total_fen)
), probes AS (
  SELECT *, unnest([bucket - 1, bucket, bucket + 1]) AS probe FROM standing
), pairs AS (
  SELECT a.invoice_no AS a_no, b.invoice_no AS b_no, a.seller_uscc, a.buyer_uscc,
         a.invoice_total_fen AS a_total, b.invoice_total_fen AS b_total,
         a.invoice_date AS a_date, b.invoice_date AS b_date,
         a.invoice_total_fen = b.invoice_total_fen AS same_total,
         a.invoice_date = b.invoice_date AS same_day,
         coalesce(a.invoice_quantity = b.invoice_quantity, false) AS same_quantity,
         coalesce(a.remark <> '' AND a.remark = b.remark, false) AS same_remark,
         coalesce((a.po_outcome = {{LinkOutcome.MATCHED}} AND b.po_outcome = {{LinkOutcome.MATCHED}} AND list_has_any(a.po_ebelns, b.po_ebelns))
           OR (a.waybill_outcome = {{LinkOutcome.MATCHED}} AND b.waybill_outcome = {{LinkOutcome.MATCHED}}
               AND list_has_any(a.waybill_nos, b.waybill_nos)), false) AS same_trade,
         coalesce((a.po_outcome = {{LinkOutcome.MATCHED}} AND b.po_outcome = {{LinkOutcome.MATCHED}} AND NOT list_has_any(a.po_ebelns, b.po_ebelns))
           OR (len(a.order_refs) > 0 AND len(b.order_refs) > 0 AND NOT list_has_any(a.order_refs, b.order_refs))
           OR (a.waybill_outcome = {{LinkOutcome.MATCHED}} AND b.waybill_outcome = {{LinkOutcome.MATCHED}}
               AND NOT list_has_any(a.waybill_nos, b.waybill_nos))
           OR (a.waybill_outcome = {{LinkOutcome.AMBIGUOUS}} AND b.waybill_outcome = {{LinkOutcome.AMBIGUOUS}})
           OR (a.ap_outcome = {{LinkOutcome.MATCHED}} AND b.ap_outcome = {{LinkOutcome.MATCHED}} AND NOT list_has_any(a.ap_refs, b.ap_refs)),
           false) AS distinct_trades
  FROM probes a
  JOIN standing b ON b.seller_uscc = a.seller_uscc AND b.buyer_uscc = a.buyer_uscc AND b.bucket = a.probe
   AND a.invoice_no < b.invoice_no
  WHERE amounts_agree(a.invoice_total_fen, b.invoice_total_fen)
    AND abs(date_diff('day', b.invoice_date, a.invoice_date)) <= getvariable('reissue_window_days')
), scored AS (
  SELECT *,
         CASE WHEN same_total THEN 3 ELSE 2 END + CASE WHEN same_day THEN 2 ELSE 1 END
         + same_quantity::INT + same_remark::INT + 2 * same_trade::INT - 10 * distinct_trades::INT AS score
  FROM pairs
), reissues AS (
  SELECT * FROM scored WHERE score >= getvariable('reissue_min_score')
), paired AS (
  SELECT a_no AS invoice_no, b_no AS other_no, a_total AS total, b_total AS other_total, a_date AS issued,
         b_date AS other_issued, seller_uscc, buyer_uscc, same_total, same_day, same_quantity, same_remark, same_trade, score
  FROM reissues
  UNION ALL
  SELECT b_no, a_no, b_total, a_total, b_date, a_date, seller_uscc, buyer_uscc, same_total, same_day, same_quantity,
         same_remark, same_trade, score
  FROM reissues
), sides AS (  -- the look-alike named is the best-scored, the least invoice number among equals
  SELECT *, row_number() OVER (PARTITION BY invoice_no ORDER BY score DESC, other_no) AS pick FROM paired
), financed AS (
  SELECT invoice_no, list(DISTINCT financing_id ORDER BY financing_id) AS financings FROM mt_presented GROUP BY ALL
)
SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('Invoice %s (¥%s, issued %s) from %s to %s looks re-issued as or from invoice %s (¥%s, issued %s), financed by %s; match score %d.',
              p.invoice_no, yuan(arg_min(s.total, s.pick)), arg_min(s.issued, s.pick), arg_min(s.seller_uscc, s.pick),
              arg_min(s.buyer_uscc, s.pick), arg_min(s.other_no, s.pick), yuan(arg_min(s.other_total, s.pick)),
              arg_min(s.other_issued, s.pick), array_to_string(arg_min(o.financings, s.pick), ', '), max(s.score)) AS detail,
       json_object('seller', arg_min(s.seller_uscc, s.pick), 'buyer', arg_min(s.buyer_uscc, s.pick),
                   'total', yuan(arg_min(s.total, s.pick)), 'issued', arg_min(s.issued, s.pick),
                   'look_alikes', list(json_object('invoice_no', s.other_no, 'total', yuan(s.other_total),
                                                   'issued', s.other_issued, 'financings', o.financings,
                                                   'score', s.score, 'same_total', s.same_total,
                                                   'same_day', s.same_day, 'same_quantity', s.same_quantity,
                                                   'same_remark', s.same_remark, 'same_trade', s.same_trade)
                                       ORDER BY s.other_no)) AS evidence
FROM mt_presented p
JOIN sides s USING (invoice_no)
JOIN financed o ON o.invoice_no = s.other_no
GROUP BY p.financing_id, p.invoice_no
