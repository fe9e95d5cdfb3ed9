-- Adopt a home written by release 0.1.0 or earlier (before schema_version): what those releases
-- changed in place when a home was opened (connectors.warehouse.upgrade_table, ledger.schema.MIGRATIONS,
-- pools.registry.DDL), so that every home of those releases reaches the 0.1.0 tables.  Tables the
-- home lacked have just been created from the registry.
ALTER TABLE waybills ADD COLUMN IF NOT EXISTS origin_region VARCHAR;
ALTER TABLE waybills ADD COLUMN IF NOT EXISTS layout VARCHAR;
ALTER TABLE tax_invoice_lines ALTER COLUMN unit_price TYPE DECIMAL(38,18);
ALTER TABLE ledger_rejections ADD COLUMN IF NOT EXISTS as_of DATE;
ALTER TABLE ledger_voucher_state ADD COLUMN IF NOT EXISTS pending_since DATE;
ALTER TABLE ledger_voucher_state ADD COLUMN IF NOT EXISTS as_of DATE;
ALTER TABLE pool_assets ADD COLUMN IF NOT EXISTS added_on DATE;
ALTER TABLE pool_assets ADD COLUMN IF NOT EXISTS sold_on DATE;
UPDATE pool_assets SET added_on = p.cutoff_date FROM pools p  -- rows from before added_on: the cut-off
WHERE p.pool_id = pool_assets.pool_id AND pool_assets.added_on IS NULL;
