-- The night's scope closed over the keys financings share (reconciliation/scope.py), after
-- _scope.sql: the checks comparing financings (an invoice, voucher, bill or waybill financed twice,
-- invoices re-issued between the same seller and buyer) judge a financing against all that share a
-- key with it. scope_kept: the touched financings and every financing sharing a key with one (their
-- findings are tonight's); judged_financings: those and every financing sharing a key with a kept
-- one (what the checks read, so that a kept financing is judged against all it shares a key with).

-- Financings sharing a key with those of the table named seed: an invoice presented (in any version
-- of the seed's rows, or the previous night's match), an asset voucher or bill, a waybill linked,
-- or an invoice between the same seller and buyer within reissue_window_days whose total agrees.
CREATE OR REPLACE TEMP MACRO scope_neighbours(seed) AS TABLE
WITH s AS (SELECT DISTINCT financing_id FROM query_table(seed)),
versions AS (
  SELECT asset_voucher_id, asset_cd_no, asset_invoice_no FROM financings WHERE financing_id IN (SELECT financing_id FROM s)
  UNION
  SELECT asset_voucher_id, asset_cd_no, asset_invoice_no FROM financing_rejects WHERE financing_id IN (SELECT financing_id FROM s)
),
invoices AS (
  SELECT asset_invoice_no AS invoice_no FROM versions
  UNION SELECT invoice_no FROM financing_invoices WHERE financing_id IN (SELECT financing_id FROM s)
  UNION SELECT invoice_no FROM scope_previous_matches WHERE financing_id IN (SELECT financing_id FROM s)
),
pairs AS (
  SELECT seller_uscc, buyer_uscc, issue_time::DATE AS issued, total_fen FROM cur_tax_invoices
  WHERE invoice_no IN (SELECT invoice_no FROM invoices) AND NOT is_red
  UNION
  SELECT seller_uscc, buyer_uscc, invoice_date, invoice_total_fen FROM scope_previous_matches
  WHERE financing_id IN (SELECT financing_id FROM s)
),
windows AS (  -- each pair in the periods and amount bands its re-issues may fall in (equality keys: not every invoice of the pair)
  SELECT p.*, date_period(p.issued, getvariable('reissue_window_days')) + d.step AS period, amount_band(p.total_fen) + a.step AS band
  FROM pairs p CROSS JOIN (VALUES (-1), (0), (1)) d(step) CROSS JOIN (VALUES (-1), (0), (1)) a(step)
)
SELECT financing_id FROM cur_financing_invoices WHERE invoice_no IN (SELECT invoice_no FROM invoices)
UNION SELECT financing_id FROM cur_financings WHERE asset_invoice_no IN (SELECT invoice_no FROM invoices)
UNION SELECT financing_id FROM cur_financings WHERE asset_voucher_id IN (SELECT asset_voucher_id FROM versions)
UNION SELECT financing_id FROM cur_financings WHERE asset_cd_no IN (SELECT asset_cd_no FROM versions)
UNION SELECT financing_id FROM cur_financing_rejects
      WHERE asset_voucher_id IN (SELECT asset_voucher_id FROM versions) OR asset_cd_no IN (SELECT asset_cd_no FROM versions)
UNION SELECT financing_id FROM scope_waybills
      WHERE waybill_no IN (SELECT waybill_no FROM scope_waybills WHERE financing_id IN (SELECT financing_id FROM s))
UNION SELECT m.financing_id FROM scope_previous_matches m
      JOIN windows p ON m.seller_uscc = p.seller_uscc AND m.buyer_uscc = p.buyer_uscc
           AND date_period(m.invoice_date, getvariable('reissue_window_days')) = p.period AND amount_band(m.invoice_total_fen) = p.band
      WHERE abs(date_diff('day', m.invoice_date, p.issued)) <= getvariable('reissue_window_days')
        AND amounts_agree(m.invoice_total_fen, p.total_fen);

CREATE OR REPLACE TEMP TABLE scope_kept AS
SELECT financing_id FROM scope_touched
UNION
SELECT financing_id FROM scope_neighbours('scope_touched') WHERE financing_id IS NOT NULL;

-- The neighbours of a set are the union of its members' (each rule asks for a key shared with any one), and
-- those of the touched ones are kept already: the judged ones are the kept and the neighbours of those kept
-- beyond the touched ones.
CREATE OR REPLACE TEMP TABLE scope_kept_beyond AS
SELECT financing_id FROM scope_kept EXCEPT SELECT financing_id FROM scope_touched;

CREATE OR REPLACE TEMP TABLE judged_financings AS
SELECT financing_id FROM scope_kept
UNION
SELECT financing_id FROM scope_neighbours('scope_kept_beyond') WHERE financing_id IS NOT NULL;
