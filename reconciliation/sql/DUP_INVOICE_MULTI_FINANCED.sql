/* check
id = "DUP_INVOICE_MULTI_FINANCED"
family = "first"
category = "duplicate"
severity = "critical"
title = "Invoice financed more than once beyond its value"
rule = '''
An invoice presented as trade background by two or more live financings — at any banks, under any
products, on any nights — for more in total than the invoice's amount (tax included) plus the
tolerance. Critical when two banks are involved, high when all financings are at one bank. Every
financing presenting it is implicated.
'''
[params]
over_value_tolerance_fen = 100
*/
WITH per_invoice AS (
  SELECT invoice_no,
         count(DISTINCT financing_id) AS financings,
         count(DISTINCT bank_code) AS banks,
         sum(amount_fen) AS presented_fen,
         list(DISTINCT financing_id ORDER BY financing_id) AS financing_ids,
         list(DISTINCT bank_code ORDER BY bank_code) AS bank_codes
  FROM presented_invoices GROUP BY invoice_no
  HAVING count(DISTINCT financing_id) >= 2
)
SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       CASE WHEN i.banks > 1 THEN {{Severity.CRITICAL}} ELSE {{Severity.HIGH}} END AS severity,
       printf('Invoice %s (total ¥%s) is presented by %d financings at %d bank(s) for ¥%s in all, ¥%s more than it is worth; this financing presents ¥%s.',
              p.invoice_no, yuan(v.total_fen), i.financings, i.banks, yuan(i.presented_fen),
              yuan(i.presented_fen - v.total_fen), yuan(p.amount_fen)) AS detail,
       json_object('invoice_total', yuan(v.total_fen), 'presented_total', yuan(i.presented_fen),
                   'presented_here', yuan(p.amount_fen), 'financings', i.financing_ids,
                   'banks', i.bank_codes) AS evidence
FROM per_invoice i
JOIN invoice_value v USING (invoice_no)
JOIN presented_invoices p USING (invoice_no)
WHERE i.presented_fen > v.total_fen + getvariable('over_value_tolerance_fen')
