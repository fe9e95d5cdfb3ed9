/* check
id = "RECEIVABLE_ALREADY_PAID"
family = "first"
category = "fake_trade"
severity = "critical"
title = "Receivable already paid"
rule = '''
The core's ERP shows the payable behind a financing cleared (AUGDT/AUGBL) on or before the
financing's value date: the payable of the ISSUE of the financed voucher (or of a voucher it was
split from), or, for an invoice factoring, every payable citing the presented invoice. A voucher
issued on a payable already cleared is listed on the voucher too. Bill discounts are not concerned:
a core paying by bill clears the payable with the bill.
'''
*/
WITH RECURSIVE cleared AS (
  SELECT core_uscc, ap_ref, invoice_no, clearing_date, clearing_doc
  FROM cur_erp_ap_items WHERE debit_credit = 'H' AND clearing_date IS NOT NULL
), issues AS (
  SELECT e.voucher_id, e.event_id, e.ap_ref, e.issuer_uscc, e.event_time::DATE AS issued_on, c.clearing_date, c.clearing_doc
  FROM cur_voucher_events e JOIN cleared c ON c.core_uscc = e.issuer_uscc AND c.ap_ref = e.ap_ref
  WHERE e.event_type = {{EventType.ISSUE}}
), family(voucher_id, issued_voucher) AS (  -- each voucher issued on a paid payable and its split descendants
  SELECT voucher_id, voucher_id FROM issues
  UNION
  SELECT s.child, f.issued_voucher FROM family f JOIN voucher_splits s ON s.parent = f.voucher_id
), invoice_payables AS (
  SELECT a.core_uscc, a.invoice_no, count(*) AS items, count(a.clearing_date) AS cleared_items,
         max(a.clearing_date) AS cleared_on,
         list(a.ap_ref || ' cleared on ' || a.clearing_date || ' by ' || coalesce(a.clearing_doc, '?') ORDER BY a.ap_ref)
           FILTER (WHERE a.clearing_date IS NOT NULL) AS clearings
  FROM cur_erp_ap_items a
  WHERE a.debit_credit = 'H' AND a.invoice_no IN (SELECT invoice_no FROM presented_invoices WHERE product = {{Product.INVOICE}})
  GROUP BY ALL
)
SELECT f.financing_id, f.asset_voucher_id AS voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       NULL AS severity,
       printf('Financing %s (value date %s) rests on voucher %s, issued on payable %s of core %s, which the core''s ERP shows paid on %s (clearing document %s).',
              f.financing_id, f.value_date, i.voucher_id, i.ap_ref, i.issuer_uscc, i.clearing_date,
              coalesce(i.clearing_doc, '?')) AS detail,
       json_object('value_date', f.value_date, 'issued_voucher', i.voucher_id, 'payable', i.ap_ref,
                   'cleared_on', i.clearing_date, 'clearing_doc', i.clearing_doc) AS evidence
FROM family l
JOIN issues i ON i.voucher_id = l.issued_voucher
JOIN live_financings f ON f.product = {{Product.VOUCHER}} AND f.asset_voucher_id = l.voucher_id
WHERE i.clearing_date <= f.value_date
UNION ALL
SELECT NULL, voucher_id, NULL, NULL, NULL, NULL,
       printf('Voucher %s was issued on %s on payable %s of core %s, which the core''s ERP shows paid on %s (clearing document %s).',
              voucher_id, issued_on, ap_ref, issuer_uscc, clearing_date, coalesce(clearing_doc, '?')),
       json_object('issued_on', issued_on, 'payable', ap_ref, 'cleared_on', clearing_date, 'clearing_doc', clearing_doc)
FROM issues WHERE clearing_date <= issued_on
UNION ALL
SELECT p.financing_id, NULL, p.invoice_no, NULL, NULL, NULL,
       printf('Financing %s (value date %s) factors invoice %s, whose payable(s) at core %s the ERP shows paid: %s.',
              p.financing_id, p.value_date, p.invoice_no, v.buyer_uscc, array_to_string(ip.clearings, '; ')),
       json_object('value_date', p.value_date, 'payables_cleared', ip.clearings)
FROM presented_invoices p
JOIN invoice_value v USING (invoice_no)
JOIN invoice_payables ip ON ip.invoice_no = p.invoice_no AND ip.core_uscc = v.buyer_uscc
WHERE p.product = {{Product.INVOICE}} AND ip.cleared_items = ip.items AND ip.cleared_on <= p.value_date
