/* check
id = "FINANCING_BEFORE_INVOICE"
family = "first"
category = "fake_trade"
severity = "high"
title = "Financing valued before its invoice"
rule = '''
A financing's value date is before the issue date of an invoice it presents: money was advanced on a
sale not yet invoiced. Found whenever the financing row arrives, also on a later night than its
value date.
'''
*/
SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('Financing %s was valued on %s, %d day(s) before invoice %s it presents was issued on %s: money advanced on a sale not yet invoiced.',
              p.financing_id, p.value_date, date_diff('day', p.value_date, v.issue_time::DATE), p.invoice_no,
              v.issue_time::DATE) AS detail,
       json_object('value_date', p.value_date, 'invoice_issued', v.issue_time::DATE,
                   'financing_first_delivered', s.since) AS evidence
FROM presented_invoices p
JOIN invoice_value v USING (invoice_no)
LEFT JOIN financing_first_night s USING (financing_id)
WHERE p.value_date < v.issue_time::DATE
