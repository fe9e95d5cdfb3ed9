/* check
id = "DUP_FINANCED_AT_PEER_BANK"
family = "first"
category = "duplicate"
severity = "critical"
title = "Asset financed at a peer bank too"
rule = '''
A peer bank's exported fingerprints (keyed hashes under the key the banks share, imported with `scf
ledger import-fingerprints`) show that it financed the same voucher or bill sub-range (critical), or
the same invoice for an amount that, with ours, exceeds the invoice's value plus the tolerance
(critical). When our financing presents several invoices for the same amount, the invoice cannot be
named and the finding asks for review (medium).
'''
[params]
over_value_tolerance_fen = 100
*/
-- Our live financings whose asset a peer bank has financed too, found by the fingerprints
-- the peer exported (same shared key): the same voucher or bill sub-range is a duplicate
-- outright; the same invoice is one when both together present more than it is worth.
WITH ours AS (
  SELECT DISTINCT f.financing_id, f.kind, f.digest, f.amount_fen
  FROM ledger_fingerprints_as_of(getvariable('business_date')) f JOIN live_financings l USING (financing_id)
  WHERE f.kind IN ({{FingerprintKind.INVOICE_ID}}, {{FingerprintKind.BILL_RANGE}}, {{FingerprintKind.VOUCHER}})
), matched AS (
  SELECT o.*, p.peer, p.first_seen AS peer_first_seen, p.amount_fen AS peer_amount_fen
  FROM ours o JOIN peer_fingerprints p ON p.kind = o.kind AND p.digest = o.digest
  WHERE p.imported_on <= getvariable('business_date')
), invoice_candidates AS (
  -- The fingerprint hides the invoice number; our own financing presents it, for the
  -- amount the fingerprint records. Only a single candidate names the invoice.
  SELECT m.financing_id, m.digest, any_value(pi.invoice_no) AS invoice_no, count(*) AS candidates
  FROM matched m JOIN presented_invoices pi
    ON pi.financing_id = m.financing_id AND pi.amount_fen = m.amount_fen
  WHERE m.kind = {{FingerprintKind.INVOICE_ID}} GROUP BY ALL
), judged AS (
  SELECT m.*, c.invoice_no, v.total_fen,
         CASE WHEN m.kind <> {{FingerprintKind.INVOICE_ID}} THEN {{Severity.CRITICAL}}
              WHEN c.candidates = 1 AND v.total_fen IS NOT NULL
                   AND m.amount_fen + coalesce(m.peer_amount_fen, 0) > v.total_fen + getvariable('over_value_tolerance_fen')
                THEN {{Severity.CRITICAL}}
              WHEN c.candidates = 1 AND v.total_fen IS NOT NULL THEN NULL  -- both within its value
              ELSE {{Severity.MEDIUM}} END AS judged_severity
  FROM matched m
  LEFT JOIN invoice_candidates c ON c.financing_id = m.financing_id AND c.digest = m.digest
                                 AND c.candidates = 1
  LEFT JOIN invoice_value v ON v.invoice_no = c.invoice_no
)
SELECT financing_id,
       CASE WHEN kind = {{FingerprintKind.VOUCHER}} THEN (SELECT asset_voucher_id FROM live_financings l WHERE l.financing_id = j.financing_id) END AS voucher_id,
       invoice_no,
       CASE WHEN kind = {{FingerprintKind.BILL_RANGE}} THEN (SELECT asset_ref FROM live_financings l WHERE l.financing_id = j.financing_id) END AS bill_ref,
       NULL AS waybill_no, judged_severity AS severity,
       CASE kind
         WHEN {{FingerprintKind.INVOICE_ID}} THEN
           CASE WHEN invoice_no IS NOT NULL THEN
             printf('Invoice %s (total ¥%s), presented here for ¥%s, was also financed at %s for ¥%s (first seen %s): ¥%s in all.',
                    invoice_no, yuan(total_fen), yuan(amount_fen), peer, coalesce(yuan(peer_amount_fen), 'an unknown amount'),
                    coalesce(peer_first_seen::VARCHAR, '?'), yuan(amount_fen + coalesce(peer_amount_fen, 0)))
           ELSE
             printf('An invoice this financing presents for ¥%s was also financed at %s for ¥%s; check the two against its value.',
                    yuan(amount_fen), peer, coalesce(yuan(peer_amount_fen), 'an unknown amount'))
           END
         ELSE printf('The same %s was also financed at %s (first seen %s).',
                     CASE kind WHEN {{FingerprintKind.VOUCHER}} THEN 'voucher' ELSE 'bill sub-range' END, peer,
                     coalesce(peer_first_seen::VARCHAR, '?'))
       END AS detail,
       json_object('kind', kind, 'digest', hex(digest), 'peer', peer, 'peer_first_seen', peer_first_seen,
                   'presented_here', yuan(amount_fen), 'presented_at_peer', yuan(peer_amount_fen),
                   'invoice_total', yuan(total_fen)) AS evidence
FROM judged j
WHERE judged_severity IS NOT NULL
