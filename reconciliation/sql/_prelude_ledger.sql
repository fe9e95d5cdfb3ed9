-- Every refusal of the voucher ledger as of the night (and every ISSUE pending, waiting for its
-- payable: LEDGER_EVIDENCE_PENDING), with the financings built on it: the
-- financing it names and, when the refused event would have created a voucher (an ISSUE or
-- SPLIT), every live financing of that voucher or of a voucher split from it (as delivered:
-- children of a refused split were never accepted). A refused TRANSFER or FINANCE of an
-- existing voucher changed nothing, so financings made before it on that voucher stand.
CREATE OR REPLACE TEMP TABLE ledger_implications AS
WITH RECURSIVE
refused AS (
  SELECT row_number() OVER (ORDER BY r.business_date, r.subject, r.subject_id, r.content_hash, r.check_id) AS rid,
         r.*, e.event_type IN ({{EventType.ISSUE}}, {{EventType.SPLIT}}) AND r.check_id <> 'LEDGER_EVENT_CONFLICT' AS creates_voucher
  FROM ledger_rejections_as_of(getvariable('business_date')) r LEFT JOIN cur_voucher_events e USING (event_id)
),
family(rid, voucher_id) AS (
  SELECT rid, voucher_id FROM refused WHERE creates_voucher AND voucher_id IS NOT NULL
  UNION
  SELECT f.rid, s.child FROM family f JOIN voucher_splits s ON s.parent = f.voucher_id
),
implicated AS (
  SELECT rid, financing_id, NULL::VARCHAR AS via_voucher_id FROM refused WHERE financing_id IS NOT NULL
  UNION
  SELECT f.rid, l.financing_id, l.asset_voucher_id
  FROM family f JOIN standing_financings l ON l.product = {{Product.VOUCHER}} AND l.asset_voucher_id = f.voucher_id
),
per_financing AS (
  SELECT rid, financing_id, min(via_voucher_id) AS via_voucher_id FROM implicated GROUP BY ALL
)
SELECT r.check_id, p.financing_id, r.voucher_id, r.event_id, r.business_date AS refused_on,
       r.reason, r.evidence, p.via_voucher_id
FROM refused r LEFT JOIN per_financing p USING (rid);
