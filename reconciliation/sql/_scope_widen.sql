-- The night's scope closed again after the match linked waybills (reconciliation/scope.py, widen):
-- what _scope_closure.sql gives with the links scope_waybills_added added to scope_waybills, from
-- what it gave before them (scope_kept_before, judged_financings). Only the rule of a shared
-- waybill reads scope_waybills, so the closure grows only by financings sharing with a seed a
-- waybill added: kept by those of the touched ones, judged by those of the kept ones before, and
-- by every neighbour of the financings newly kept.

-- Financings sharing with those of the table named seed a waybill among those added.
CREATE OR REPLACE TEMP MACRO scope_added_waybill_neighbours(seed) AS TABLE
WITH added AS (SELECT DISTINCT waybill_no FROM scope_waybills_added),
shared AS (
  SELECT waybill_no FROM scope_waybills
  WHERE financing_id IN (SELECT financing_id FROM query_table(seed)) AND waybill_no IN (FROM added)
)
SELECT financing_id FROM scope_waybills WHERE waybill_no IN (FROM shared);

CREATE OR REPLACE TEMP TABLE scope_kept_added AS
SELECT financing_id FROM scope_added_waybill_neighbours('scope_touched')
EXCEPT SELECT financing_id FROM scope_kept_before;

INSERT INTO scope_kept FROM scope_kept_added;

INSERT INTO judged_financings
SELECT financing_id FROM scope_kept_added
UNION SELECT financing_id FROM scope_added_waybill_neighbours('scope_kept_before')
UNION SELECT financing_id FROM scope_neighbours('scope_kept_added') WHERE financing_id IS NOT NULL
EXCEPT SELECT financing_id FROM judged_financings;
