-- financing_verdicts and trade_matches store changes (reconciliation.changes): a night writes a
-- financing's verdict row, and its matches beside it, only when they changed; as of night D each
-- financing's latest row up to D counts (warehouse.asof.verdicts_as_of_sql), a row saying
-- `dropped` when the financing is no longer named. A home of the previous release holds every
-- financing's rows again each night: the first night a financing is missing after a night that
-- listed it gets a `dropped` row carrying what it last had, and a row (with its matches) that
-- repeats the financing's row and matches of the night before is removed.
ALTER TABLE financing_verdicts ADD COLUMN IF NOT EXISTS dropped BOOLEAN DEFAULT false;
INSERT INTO verdict_nights SELECT DISTINCT business_date FROM financing_verdicts;
CREATE OR REPLACE TEMP TABLE m0004_nights AS
SELECT business_date, lag(business_date) OVER (ORDER BY business_date) AS previous
FROM (SELECT DISTINCT business_date FROM financing_verdicts);
INSERT INTO financing_verdicts BY NAME
SELECT n.business_date, p.* EXCLUDE (business_date, dropped), true AS dropped
FROM m0004_nights n JOIN financing_verdicts p ON p.business_date = n.previous AND NOT p.dropped
WHERE NOT EXISTS (SELECT 1 FROM financing_verdicts v WHERE v.business_date = n.business_date AND v.financing_id = p.financing_id);
CREATE OR REPLACE TEMP TABLE m0004_rows AS
WITH matches AS (
  SELECT business_date, financing_id, string_agg(row, chr(10) ORDER BY row) AS rows
  FROM (SELECT business_date, financing_id, regexp_replace(to_json(m)::VARCHAR, '^\{"business_date":"[^"]*",', '{') AS row
        FROM trade_matches m)
  GROUP BY ALL
)
SELECT v.business_date, v.financing_id,
       md5(regexp_replace(to_json(v)::VARCHAR, '^\{"business_date":"[^"]*",', '{') || chr(10) || coalesce(m.rows, '')) AS digest
FROM financing_verdicts v LEFT JOIN matches m USING (business_date, financing_id);
CREATE OR REPLACE TEMP TABLE m0004_repeated AS
SELECT s.business_date, s.financing_id
FROM m0004_rows s JOIN m0004_nights n USING (business_date)
JOIN m0004_rows p ON p.business_date = n.previous AND p.financing_id = s.financing_id AND p.digest = s.digest;
DELETE FROM financing_verdicts v
WHERE EXISTS (SELECT 1 FROM m0004_repeated r WHERE r.business_date = v.business_date AND r.financing_id = v.financing_id);
DELETE FROM trade_matches m
WHERE NOT EXISTS (SELECT 1 FROM financing_verdicts v WHERE v.business_date = m.business_date AND v.financing_id = m.financing_id);
DROP TABLE m0004_nights;
DROP TABLE m0004_rows;
DROP TABLE m0004_repeated;
