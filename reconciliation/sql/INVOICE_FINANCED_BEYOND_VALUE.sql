/* check
id = "INVOICE_FINANCED_BEYOND_VALUE"
family = "first"
category = "duplicate"
severity = "high"
title = "Invoice presented for more than its value"
rule = '''
A single financing presents an invoice for more than the invoice's amount (tax included) plus the
tolerance.
'''
[params]
over_value_tolerance_fen = 100
*/
SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       NULL AS severity,
       printf('Financing %s presents invoice %s for ¥%s, but the invoice is worth only ¥%s.',
              p.financing_id, p.invoice_no, yuan(p.amount_fen), yuan(v.total_fen)) AS detail,
       json_object('invoice_total', yuan(v.total_fen), 'presented', yuan(p.amount_fen)) AS evidence
FROM presented_invoices p JOIN invoice_value v USING (invoice_no)
WHERE p.amount_fen > v.total_fen + getvariable('over_value_tolerance_fen')
