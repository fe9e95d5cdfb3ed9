/* check
id = "TRADE_NO_PAYABLE"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Tier-1 invoice without a confirmed payable"
rule = '''
An invoice whose buyer is a core enterprise (it delivers ERP files, or issues vouchers on the
platform) is presented by a financing, but no vendor item of that core's ERP cites the invoice
number in its text (SGTXT) — or the items citing it (credits less debits) confirm less than live
financings present of the invoice, beyond the amount tolerance. Deeper-tier invoices, which have no
ERP, are not concerned. {pending}
'''
[params]
amount_tolerance_fen = 100
amount_tolerance_ratio_ppm = 1000
evidence_window_days = 7
*/
WITH presented AS (
  SELECT invoice_no, sum(amount_fen) AS presented_fen FROM mt_presented GROUP BY invoice_no
), unconfirmed AS (
  SELECT m.financing_id, m.invoice_no,
         CASE WHEN m.ap_outcome = {{LinkOutcome.MISSING}} THEN
           printf('Tier-1 invoice %s (¥%s from %s to core %s) presented by financing %s for ¥%s has no payable citing it in the core''s ERP received up to %s.',
                  m.invoice_no, yuan(m.invoice_total_fen), m.seller_uscc, m.buyer_uscc, m.financing_id,
                  yuan(m.presented_fen), getvariable('business_date'))
         ELSE
           printf('The payables of core %s citing tier-1 invoice %s (%s) confirm only ¥%s, less than the ¥%s live financings present of it; financing %s presents ¥%s.',
                  m.buyer_uscc, m.invoice_no, array_to_string(m.ap_refs, ', '), yuan(m.ap_net_fen),
                  yuan(s.presented_fen), m.financing_id, yuan(m.presented_fen))
         END AS detail,
         json_object('invoice_total', yuan(m.invoice_total_fen), 'seller', m.seller_uscc, 'buyer', m.buyer_uscc,
                     'payables', coalesce(m.ap_refs, []), 'payable_net', yuan(coalesce(m.ap_net_fen, 0)),
                     'presented_total', yuan(s.presented_fen), 'presented_here', yuan(m.presented_fen),
                     'data_until', getvariable('business_date')) AS evidence,
         evidence_pending(['erp/' || m.buyer_uscc || '/ap_open_items.csv'], [m.invoice_no], n.since) AS pending
  FROM trade_links m JOIN presented s USING (invoice_no) JOIN financing_first_night n USING (financing_id)
  WHERE m.tier = 1
    AND (m.ap_outcome = {{LinkOutcome.MISSING}} OR m.ap_net_fen < s.presented_fen - amount_tolerance(s.presented_fen))
)
SELECT financing_id, NULL AS voucher_id, invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       pending_severity(pending) AS severity, pending_detail(pending, detail) AS detail,
       pending_evidence(pending, evidence) AS evidence
FROM unconfirmed
