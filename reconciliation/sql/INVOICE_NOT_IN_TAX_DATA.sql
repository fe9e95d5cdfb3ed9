SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       NULL AS severity,
       printf('Invoice %s presented by financing %s for ¥%s is in none of the tax deliveries received up to %s.',
              p.invoice_no, p.financing_id, yuan(p.amount_fen), getvariable('business_date')) AS detail,
       json_object('presented', yuan(p.amount_fen), 'tax_data_until', getvariable('business_date')) AS evidence
FROM presented_invoices p
WHERE NOT EXISTS (SELECT 1 FROM cur_tax_invoices t WHERE t.invoice_no = p.invoice_no)
