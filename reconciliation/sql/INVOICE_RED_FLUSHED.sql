/* check
id = "INVOICE_RED_FLUSHED"
family = "first"
category = "fake_trade"
severity = "critical"
title = "Invoice red-flushed"
rule = '''
A financing presents an invoice that red-letter invoices or the tax status feed show as red-flushed:
fully (critical), or partly so that what remains of it is less than what live financings present
(high). The red-flushed amount is the larger of the status feed's running total and the sum of the
red-letter invoices that reverse it.
'''
*/
WITH presented AS (
  SELECT invoice_no, sum(amount_fen) AS presented_fen FROM presented_invoices GROUP BY invoice_no
)
SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       CASE WHEN v.remaining_fen <= 0 THEN {{Severity.CRITICAL}} ELSE {{Severity.HIGH}} END AS severity,
       CASE WHEN v.remaining_fen <= 0 THEN
         printf('Invoice %s (total ¥%s) has been fully red-flushed (¥%s reversed), yet financing %s presents it for ¥%s.',
                p.invoice_no, yuan(v.total_fen), yuan(v.red_flushed_fen), p.financing_id, yuan(p.amount_fen))
       ELSE
         printf('Invoice %s (total ¥%s) has been red-flushed by ¥%s; the ¥%s left is less than the ¥%s live financings present.',
                p.invoice_no, yuan(v.total_fen), yuan(v.red_flushed_fen), yuan(v.remaining_fen), yuan(s.presented_fen))
       END AS detail,
       json_object('invoice_total', yuan(v.total_fen), 'red_flushed', yuan(v.red_flushed_fen),
                   'status_feed_red', yuan(v.status_red_fen), 'red_letter_invoices', yuan(v.red_invoice_fen),
                   'remaining', yuan(v.remaining_fen), 'presented_total', yuan(s.presented_fen),
                   'presented_here', yuan(p.amount_fen)) AS evidence
FROM presented_invoices p
JOIN invoice_value v USING (invoice_no)
JOIN presented s USING (invoice_no)
WHERE v.red_flushed_fen > 0 AND (v.remaining_fen <= 0 OR v.remaining_fen < s.presented_fen)
