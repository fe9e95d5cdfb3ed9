-- The ledger keeps each voucher family (ledger_family_links, created from its declaration): a
-- night built on the last one reads its families there instead of tracing every event ever
-- delivered. A home of the previous release has none yet: forget the night the ledger's
-- decisions are of, so that the next night replays everything once and builds the families.
DELETE FROM ledger_progress;
