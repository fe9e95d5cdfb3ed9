/* check
id = "TRADE_TOTALS_INCONSISTENT"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Invoice totals do not add up"
rule = '''
An invoice behind a financing breaks the 数电票 arithmetic: total ≠ amount without tax + tax; or the
header amount or tax ≠ the sum of its lines; or a line's tax differs from amount × rate by more than
line_tax_tolerance_fen.
'''
[params]
line_tax_tolerance_fen = 6
*/
WITH judged AS (
  SELECT m.financing_id, m.invoice_no, t.amount_fen, t.tax_fen, t.total_fen, t.line_count, t.lines_amount_fen,
         t.lines_tax_fen, t.max_line_tax_gap_fen,
         list_filter([
           CASE WHEN t.total_fen <> t.amount_fen + t.tax_fen
                THEN printf('total ¥%s ≠ amount ¥%s + tax ¥%s', yuan(t.total_fen), yuan(t.amount_fen), yuan(t.tax_fen)) END,
           CASE WHEN t.line_count > 0 AND t.lines_amount_fen <> t.amount_fen
                THEN printf('amount ¥%s ≠ ¥%s on its lines', yuan(t.amount_fen), yuan(t.lines_amount_fen)) END,
           CASE WHEN t.line_count > 0 AND t.lines_tax_fen <> t.tax_fen
                THEN printf('tax ¥%s ≠ ¥%s on its lines', yuan(t.tax_fen), yuan(t.lines_tax_fen)) END,
           CASE WHEN t.max_line_tax_gap_fen > getvariable('line_tax_tolerance_fen')
                THEN printf('a line''s tax is ¥%s off amount × rate', yuan(t.max_line_tax_gap_fen)) END],
           lambda x: x IS NOT NULL) AS broken
  FROM (SELECT DISTINCT financing_id, invoice_no FROM trade_links) m
  JOIN mt_tax_invoices t ON t.invoice_no = m.invoice_no AND NOT t.is_red
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('Invoice %s presented by financing %s does not add up: %s.', invoice_no, financing_id,
              array_to_string(broken, '; ')) AS detail,
       json_object('amount', yuan(amount_fen), 'tax', yuan(tax_fen), 'total', yuan(total_fen),
                   'lines', line_count, 'lines_amount', yuan(lines_amount_fen), 'lines_tax', yuan(lines_tax_fen),
                   'max_line_tax_gap', yuan(max_line_tax_gap_fen), 'broken', broken) AS evidence
FROM judged
WHERE len(broken) > 0
