/* check
id = "POOL_ASSET_NOT_CLEAN"
family = "pool"
category = "ledger"
severity = "low"
title = "Pooled asset no longer clean"
rule = '''
A financing in an ABS pool active on the night (since its cut-off or replenishment, not released)
has a finding above low from any other check tonight (a red-flushed invoice, a duplicate found at a
peer bank, …): the pool should replace it. {pool_surveillance}
'''
*/
/* check
id = "POOL_ASSET_CLOSED"
family = "pool"
category = "ledger"
severity = "low"
title = "Pooled asset defaulted or cancelled"
rule = '''
A financing in an ABS pool active on the night is DEFAULTED or CANCELLED. {pool_surveillance}
'''
*/
/* check
id = "POOL_ASSET_MATURED_UNPAID"
family = "pool"
category = "ledger"
severity = "low"
title = "Pooled asset matured unpaid"
rule = '''
A financing in an ABS pool active on the night is past its maturity date and still ACTIVE.
{pool_surveillance}
'''
*/
-- Surveillance of the ABS pools (pools/) active on the night: each pooled financing that is no
-- longer clean tonight (a finding above low from a check run before: night_findings holds
-- them, so the POOL_* checks run last), that was defaulted or cancelled, or that has matured
-- and is still ACTIVE.  An asset counts from the night it entered the pool (its cut-off or
-- replenishment) while the pool is not released.
WITH pooled AS (
  SELECT a.pool_id, a.financing_id, a.asset_key, a.added_on AS pooled_on
  FROM pool_assets a JOIN pools p USING (pool_id)
  WHERE a.added_on <= getvariable('business_date')
    AND (p.status = {{PoolStatus.ACTIVE}} OR p.released_on > getvariable('business_date'))
), impaired AS (
  SELECT financing_id, string_agg(DISTINCT check_id, ';' ORDER BY check_id) AS check_ids,
         min_by(severity, severity_rank(severity)) AS worst
  FROM night_findings
  WHERE severity_rank(severity) < severity_rank({{Severity.LOW}}) AND NOT starts_with(check_id, 'POOL_')
  GROUP BY ALL
), issues AS (
  SELECT p.*, 'POOL_ASSET_NOT_CLEAN' AS check_id,
         printf('Pooled in %s since %s; no longer clean: %s finding(s) %s. Replace it.',
                p.pool_id, p.pooled_on, i.worst, i.check_ids) AS detail
  FROM pooled p JOIN impaired i USING (financing_id)
  UNION ALL
  SELECT p.*, 'POOL_ASSET_CLOSED',
         printf('Pooled in %s since %s; the financing is %s. Replace it.', p.pool_id, p.pooled_on, lower(f.status))
  FROM pooled p JOIN cur_financings f USING (financing_id)
  WHERE f.status IN ({{FinancingStatus.DEFAULTED}}, {{FinancingStatus.CANCELLED}})
  UNION ALL
  SELECT p.*, 'POOL_ASSET_MATURED_UNPAID',
         printf('Pooled in %s since %s; matured %s and still active (unpaid).', p.pool_id, p.pooled_on, f.maturity_date)
  FROM pooled p JOIN cur_financings f USING (financing_id)
  WHERE f.status = {{FinancingStatus.ACTIVE}} AND f.maturity_date < getvariable('business_date')
)
SELECT financing_id, NULL AS voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       NULL AS severity, detail,
       json_object('pool_id', pool_id, 'asset_id', asset_key, 'pooled_on', pooled_on) AS evidence
FROM issues
WHERE check_id = getvariable('check_id')
