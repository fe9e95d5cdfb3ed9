-- Shared views of the checks, over the as-of views cur_* (history up to the night).

-- yuan(fen) is defined on every connection by connectors.warehouse.install_sql_helpers.

-- Financings that still stand: a cancelled financing implicates nothing.
CREATE OR REPLACE TEMP VIEW live_financings AS
SELECT * FROM cur_financings WHERE status <> 'CANCELLED';

-- Every invoice presented as trade background by a live financing, with the amount
-- presented. An invoice-factoring financing whose asset invoice is missing from its
-- invoice list presents that invoice for its face amount.
CREATE OR REPLACE TEMP VIEW presented_invoices AS
SELECT f.financing_id, fi.invoice_no, fi.amount_fen, f.bank_code, f.product, f.value_date
FROM cur_financing_invoices fi JOIN live_financings f USING (financing_id)
UNION ALL
SELECT f.financing_id, f.asset_invoice_no, f.face_amount_fen, f.bank_code, f.product, f.value_date
FROM live_financings f
WHERE f.product = 'INVOICE' AND f.asset_invoice_no IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM cur_financing_invoices fi
                  WHERE fi.financing_id = f.financing_id AND fi.invoice_no = f.asset_invoice_no);

-- The value of every blue invoice and how much of it has been red-flushed: the larger of
-- the status feed's running total (hcje) and the red-letter invoices reversing it.
CREATE OR REPLACE TEMP VIEW invoice_value AS
WITH red AS (
  SELECT original_invoice_no AS invoice_no, -sum(total_fen) AS red_fen, count(*) AS red_count
  FROM cur_tax_invoices WHERE is_red AND original_invoice_no IS NOT NULL
  GROUP BY original_invoice_no
)
SELECT t.invoice_no, t.seller_uscc, t.buyer_uscc, t.total_fen, t.issue_time,
       s.status, s.change_date AS status_date,
       coalesce(s.red_flushed_fen, 0) AS status_red_fen,
       coalesce(red.red_fen, 0) AS red_invoice_fen,
       coalesce(red.red_count, 0) AS red_count,
       greatest(coalesce(s.red_flushed_fen, 0), coalesce(red.red_fen, 0)) AS red_flushed_fen,
       t.total_fen - greatest(coalesce(s.red_flushed_fen, 0), coalesce(red.red_fen, 0)) AS remaining_fen
FROM cur_tax_invoices t
LEFT JOIN cur_tax_invoice_status s USING (invoice_no)
LEFT JOIN red USING (invoice_no)
WHERE NOT t.is_red;
