/* check
id = "TRADE_PARTY_MISMATCH"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Invoice parties are not the financing's"
rule = '''
The invoice's seller and buyer are not the receiver and giver of the voucher step (ISSUE or TRANSFER
of the financed voucher or of a voucher it was split from) that presents it — seller = to, buyer =
from — or the financing's applicant is not the invoice's seller.
'''
*/
WITH steps AS (
  SELECT l.financing_id, l.invoice_no,
         bool_or(l.from_uscc = m.buyer_uscc AND l.to_uscc = m.seller_uscc) AS fits,
         list(l.ref || ': ' || coalesce(l.from_uscc, '?') || ' → ' || coalesce(l.to_uscc, '?') ORDER BY l.ref) AS steps
  FROM mt_instrument_links l JOIN trade_links m USING (financing_id, invoice_no)
  WHERE l.kind = 'voucher_step'
  GROUP BY l.financing_id, l.invoice_no
), judged AS (
  SELECT m.*, s.steps, NOT coalesce(s.fits, true) AS step_mismatch,
         coalesce(m.applicant_uscc <> m.seller_uscc, false) AS applicant_mismatch
  FROM trade_links m LEFT JOIN steps s USING (financing_id, invoice_no)
)
SELECT financing_id, voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('Invoice %s (seller %s, buyer %s) presented by financing %s does not fit its parties: %s.',
              invoice_no, seller_uscc, buyer_uscc, financing_id,
              array_to_string(list_filter([
                CASE WHEN step_mismatch THEN 'the voucher step presenting it runs ' || array_to_string(steps, '; ')
                     || ' instead of buyer → seller' END,
                CASE WHEN applicant_mismatch THEN 'the applicant ' || applicant_uscc || ' is not the seller' END],
                lambda x: x IS NOT NULL), ', and ')) AS detail,
       json_object('seller', seller_uscc, 'buyer', buyer_uscc, 'applicant', applicant_uscc,
                   'voucher_steps', coalesce(steps, [])) AS evidence
FROM judged
WHERE step_mismatch OR applicant_mismatch
