/* check
id = "TRADE_CIRCULAR"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Circular trade"
rule = '''
An invoice behind a financing belongs to a cycle of invoices among companies — A sells to B, B to C,
…, back to A, at most circular_max_length steps, a reversed pair A→B and B→A included — all issued
within circular_window_days of one another.
'''
[params]
circular_window_days = 90
circular_max_length = 4
*/
-- The cycles are computed once a night (_prelude_circular.sql).
SELECT p.financing_id, NULL AS voucher_id, p.invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('Invoice %s presented by financing %s is part of %s %s: %d invoices issued from %s to %s (%s).',
              p.invoice_no, p.financing_id,
              CASE WHEN arg_min(c.steps, c.path) = 2 THEN 'a reversed pair' ELSE 'a circular trade' END,
              array_to_string(arg_min(c.path, c.path), ' → '), len(arg_min(c.invoices, c.path)),
              arg_min(c.first_date, c.path), arg_min(c.last_date, c.path),
              array_to_string(arg_min(c.invoices, c.path), ', ')) AS detail,
       json_object('cycle', arg_min(c.path, c.path), 'invoices', arg_min(c.invoices, c.path),
                   'first_issue', arg_min(c.first_date, c.path), 'last_issue', arg_min(c.last_date, c.path),
                   'window_days', getvariable('circular_window_days')) AS evidence
FROM mt_presented p
JOIN circular_cycles c USING (invoice_no)
GROUP BY p.financing_id, p.invoice_no
