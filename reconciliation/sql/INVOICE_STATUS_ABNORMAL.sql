/* check
id = "INVOICE_STATUS_ABNORMAL"
family = "first"
category = "fake_trade"
severity = "critical"
title = "Invoice out of control, void or abnormal"
rule = '''
A financing presents an invoice whose latest tax status is 失控 (out of control) or 作废 (void) —
critical — or 异常 (abnormal) — high.
'''
*/
SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       CASE v.status WHEN '4' THEN {{Severity.HIGH}} ELSE {{Severity.CRITICAL}} END AS severity,
       printf('Invoice %s presented by financing %s for ¥%s has tax status %s (%s) since %s.',
              p.invoice_no, p.financing_id, yuan(p.amount_fen), v.status,
              CASE v.status WHEN '1' THEN '失控 out of control' WHEN '2' THEN '作废 void' ELSE '异常 abnormal' END,
              coalesce(v.status_date::VARCHAR, 'an unknown date')) AS detail,
       json_object('status', v.status, 'status_date', v.status_date, 'presented', yuan(p.amount_fen)) AS evidence
FROM presented_invoices p JOIN invoice_value v USING (invoice_no)
WHERE v.status IN ('1', '2', '4')
