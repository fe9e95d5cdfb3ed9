-- The cycles of TRADE_CIRCULAR over every invoice of the tax data as of the night (not only
-- those financed: a ring closes through any invoice), one row per member invoice and cycle.
-- Shared by the check and the night's scope (_scope.sql: a financing presenting a member is judged).
-- blue is read twice, not materialized: the graph reads two columns of every invoice, and only the
-- invoices of the cycles' steps are read whole (materializing every blue invoice cost twice the CPU).
CREATE OR REPLACE TEMP TABLE circular_cycles AS
WITH RECURSIVE blue AS NOT MATERIALIZED (
  SELECT invoice_no, seller_uscc AS s, buyer_uscc AS b, issue_time::DATE AS issue_date
  FROM cur_tax_invoices
  WHERE NOT is_red AND seller_uscc IS NOT NULL AND buyer_uscc IS NOT NULL AND seller_uscc <> buyer_uscc
),
-- The trading graph between companies, pruned of companies that only sell or only buy (they
-- are on no cycle): six rounds clear a supply chain six tiers deep.
e0 AS (SELECT DISTINCT s, b FROM blue),
e1 AS (SELECT * FROM e0 WHERE s IN (SELECT b FROM e0) AND b IN (SELECT s FROM e0)),
e2 AS (SELECT * FROM e1 WHERE s IN (SELECT b FROM e1) AND b IN (SELECT s FROM e1)),
e3 AS (SELECT * FROM e2 WHERE s IN (SELECT b FROM e2) AND b IN (SELECT s FROM e2)),
e4 AS (SELECT * FROM e3 WHERE s IN (SELECT b FROM e3) AND b IN (SELECT s FROM e3)),
e5 AS (SELECT * FROM e4 WHERE s IN (SELECT b FROM e4) AND b IN (SELECT s FROM e4)),
edges AS (SELECT * FROM e5 WHERE s IN (SELECT b FROM e5) AND b IN (SELECT s FROM e5)),
-- Simple cycles of at most circular_max_length steps, each found once: from its smallest USCC.
walks(start, node, path) AS (
  SELECT s, b, [s, b] FROM edges WHERE s < b
  UNION ALL
  SELECT w.start, e.b, list_append(w.path, e.b)
  FROM walks w JOIN edges e ON e.s = w.node
  WHERE w.node <> w.start AND len(w.path) <= getvariable('circular_max_length')
    AND (e.b = w.start OR (e.b > w.start AND NOT list_contains(w.path, e.b)))
),
cycles AS (
  SELECT path, len(path) - 1 AS steps FROM walks WHERE node = start
),
cycle_edges AS (
  SELECT path, steps, unnest(range(1, steps + 1)) AS pos FROM cycles
),
cycle_invoices AS (
  SELECT c.path, c.steps, c.pos, i.invoice_no, i.issue_date
  FROM cycle_edges c JOIN blue i ON i.s = c.path[c.pos] AND i.b = c.path[c.pos + 1]
),
-- A window opens at each invoice's issue date; it closes the cycle when every step has an
-- invoice within circular_window_days of that date: the first invoice of each step on or after
-- each opening (openings and invoices in one date order, an opening before an invoice of its day).
anchors AS (
  SELECT DISTINCT path, steps, opens, pos
  FROM (SELECT path, steps, issue_date AS opens, unnest(range(1, steps + 1)) AS pos FROM cycle_invoices)
),
reach AS (
  SELECT path, steps, opens, pos, first_date
  FROM (SELECT path, steps, opens, pos, opening,
               min(CASE WHEN NOT opening THEN opens END) OVER (
                 PARTITION BY path, pos ORDER BY opens, opening DESC ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS first_date
        FROM (SELECT path, steps, opens, pos, true AS opening FROM anchors
              UNION ALL
              SELECT path, steps, issue_date, pos, false FROM cycle_invoices))
  WHERE opening
),
windows AS (
  SELECT path, opens FROM reach
  WHERE first_date <= opens + getvariable('circular_window_days')
  GROUP BY path, steps, opens HAVING count(*) = steps
),
-- An invoice belongs to the cycle's last window opened on or before its issue date, when it falls within it.
members AS (
  SELECT path, steps, invoice_no, issue_date
  FROM (SELECT path, steps, invoice_no, issue_date, opening,
               max(CASE WHEN opening THEN issue_date END) OVER (
                 PARTITION BY path ORDER BY issue_date, opening DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS opens
        FROM (SELECT path, steps, invoice_no, issue_date, false AS opening FROM cycle_invoices
              UNION ALL
              SELECT path, NULL, NULL, opens, true FROM windows))
  WHERE NOT opening AND issue_date <= opens + getvariable('circular_window_days')
),
per_cycle AS (
  SELECT path, any_value(steps) AS steps, list(invoice_no ORDER BY issue_date, invoice_no) AS invoices,
         min(issue_date) AS first_date, max(issue_date) AS last_date
  FROM members GROUP BY path
)
SELECT m.invoice_no, c.path, c.steps, c.invoices, c.first_date, c.last_date
FROM (SELECT DISTINCT path, invoice_no FROM members) m JOIN per_cycle c USING (path);
