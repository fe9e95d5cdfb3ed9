-- Each voucher split from another and its parent (every SPLIT event of the book), read once a night
-- before the scope (reconciliation/session.py): the scope's voucher families, RECEIVABLE_ALREADY_PAID,
-- the ledger's implications and the match walk a voucher's family on it. Not DISTINCT: the walks'
-- UNION drops repeats, and grouping every split of the book cost more than the walks.
CREATE OR REPLACE TEMP TABLE voucher_splits AS
SELECT voucher_id AS child, parent_voucher_id AS parent
FROM cur_voucher_events WHERE event_type = {{EventType.SPLIT}} AND parent_voucher_id IS NOT NULL;
