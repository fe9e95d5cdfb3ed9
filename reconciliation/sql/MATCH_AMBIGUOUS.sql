/* check
id = "MATCH_AMBIGUOUS"
family = "trade"
category = "data_quality"
severity = "medium"
title = "Trade documents match ambiguously"
rule = '''
The four-flow match could not tell which document belongs to the trade: more than one purchase order
qualifies (no order stated; same vendor, amount within tolerance, dated within the window before the
invoice), more than one shipment qualifies (no order stated; seller to buyer, quantity agreeing,
within the window), or voucher steps of different parties present the invoice. The candidates are
listed; none is picked.
'''
[params]
amount_tolerance_fen = 100
amount_tolerance_ratio_ppm = 1000
quantity_tolerance_ppm = 1000
date_window_days = 30
*/
WITH po AS (
  SELECT invoice_no, list(printf('order %s of %s (¥%s)', ebeln, po_date, yuan(net_value_fen)) ORDER BY ebeln) AS candidates
  FROM mt_po_links GROUP BY invoice_no
), deliveries AS (
  SELECT invoice_no, delivery, printf('waybill %s (%s)', array_to_string(list(waybill_no ORDER BY waybill_no), '+'),
                                      qty_text(sum(quantity))) AS candidate
  FROM mt_waybill_links GROUP BY invoice_no, delivery
), waybills AS (
  SELECT invoice_no, list(candidate ORDER BY candidate) AS candidates FROM deliveries GROUP BY invoice_no
), steps AS (
  SELECT financing_id, invoice_no,
         list(ref || ': ' || coalesce(from_uscc, '?') || ' → ' || coalesce(to_uscc, '?') ORDER BY ref) AS candidates
  FROM mt_instrument_links GROUP BY financing_id, invoice_no
), judged AS (
  SELECT m.financing_id, m.invoice_no,
         list_filter([
           CASE WHEN m.po_outcome = {{LinkOutcome.AMBIGUOUS}} THEN struct_pack(link := 'purchase order', candidates := po.candidates) END,
           CASE WHEN m.waybill_outcome = {{LinkOutcome.AMBIGUOUS}} THEN struct_pack(link := 'waybill', candidates := wb.candidates) END,
           CASE WHEN m.instrument_outcome = {{LinkOutcome.AMBIGUOUS}} THEN struct_pack(link := 'voucher step', candidates := st.candidates) END],
           lambda x: x IS NOT NULL) AS links
  FROM night_trade_matches m
  LEFT JOIN po USING (invoice_no)
  LEFT JOIN waybills wb USING (invoice_no)
  LEFT JOIN steps st USING (financing_id, invoice_no)
  WHERE {{LinkOutcome.AMBIGUOUS}} IN (m.po_outcome, m.waybill_outcome, m.instrument_outcome)
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('Invoice %s of financing %s matches several documents equally well and none is picked: %s.',
              invoice_no, financing_id,
              array_to_string(list_transform(links, lambda l: printf('%d candidate %ss (%s)', len(l.candidates), l.link,
                                                                     array_to_string(l.candidates, '; '))), ', ')) AS detail,
       json_object('ambiguous', links) AS evidence
FROM judged
