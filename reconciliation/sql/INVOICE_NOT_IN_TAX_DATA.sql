/* check
id = "INVOICE_NOT_IN_TAX_DATA"
family = "first"
category = "fake_trade"
severity = "high"
title = "Invoice unknown to the tax data"
rule = '''
A financing presents an invoice number that no tax delivery received so far contains. {pending}
'''
[params]
evidence_window_days = 7
*/
WITH missing AS (
  SELECT p.financing_id, p.invoice_no,
         printf('Invoice %s presented by financing %s for ¥%s is in none of the tax deliveries received up to %s.',
                p.invoice_no, p.financing_id, yuan(p.amount_fen), getvariable('business_date')) AS detail,
         json_object('presented', yuan(p.amount_fen), 'tax_data_until', getvariable('business_date')) AS evidence,
         evidence_pending(['tax/*.xml'], [p.invoice_no], s.since) AS pending
  FROM presented_invoices p JOIN financing_first_night s USING (financing_id)
  WHERE NOT EXISTS (SELECT 1 FROM presented_tax_invoices t WHERE t.invoice_no = p.invoice_no)
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       pending_severity(pending) AS severity, pending_detail(pending, detail) AS detail,
       pending_evidence(pending, evidence) AS evidence
FROM missing
