-- Macros of the four-flow match and the trade checks (reconciliation/matching.py runs this
-- after _prelude.sql, with the check parameters set as variables).

-- Money tolerance: the larger of amount_tolerance_fen and amount_tolerance_ratio_ppm of the amount.
CREATE OR REPLACE TEMP MACRO amount_tolerance(fen) AS
  greatest(getvariable('amount_tolerance_fen'), abs(fen) * getvariable('amount_tolerance_ratio_ppm') // 1000000);
CREATE OR REPLACE TEMP MACRO amounts_agree(a, b) AS
  abs(a - b) <= amount_tolerance(greatest(abs(a), abs(b)));

-- Quantity tolerance: quantity_tolerance_ppm of the larger quantity.
CREATE OR REPLACE TEMP MACRO quantity_tolerance(q) AS
  abs(q) * getvariable('quantity_tolerance_ppm') / 1000000;
CREATE OR REPLACE TEMP MACRO quantities_agree(a, b) AS
  abs(a - b) <= quantity_tolerance(greatest(abs(a), abs(b)));
-- Does a quantity got cover a quantity needed? Without a needed quantity, any positive quantity does.
CREATE OR REPLACE TEMP MACRO quantity_covers(got, needed) AS
  CASE WHEN needed IS NULL THEN coalesce(got, 0) > 0
       ELSE coalesce(got, 0) >= needed - quantity_tolerance(needed) END;
-- A decimal quantity as text without trailing zeros: 100.0000 -> 100.
CREATE OR REPLACE TEMP MACRO qty_text(q) AS
  CASE WHEN q IS NULL THEN 'unknown'
       WHEN contains(q::VARCHAR, '.') THEN rtrim(rtrim(q::VARCHAR, '0'), '.')
       ELSE q::VARCHAR END;

-- USCC (GB 32100-2015), as python-stdnum's stdnum.cn.uscc: spaces and dashes dropped, upper
-- case; 8 digits then 10 characters of the alphabet; the 18th the check character of the 17
-- first (weights 3^(i-1) mod 31).
CREATE OR REPLACE TEMP MACRO uscc_compact(s) AS upper(replace(replace(trim(s), ' ', ''), '-', ''));
-- The value of the i-th character of a USCC in the code alphabet (-1 outside it).
CREATE OR REPLACE TEMP MACRO uscc_code(s, i) AS
  strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(uscc_compact(s), i, 1)) - 1;
CREATE OR REPLACE TEMP MACRO uscc_check_char(s) AS
  substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
         (31 - (1 * uscc_code(s, 1) + 3 * uscc_code(s, 2) + 9 * uscc_code(s, 3) + 27 * uscc_code(s, 4) + 19 * uscc_code(s, 5) + 26 * uscc_code(s, 6) +
         16 * uscc_code(s, 7) + 17 * uscc_code(s, 8) + 20 * uscc_code(s, 9) + 29 * uscc_code(s, 10) + 25 * uscc_code(s, 11) + 13 * uscc_code(s, 12) +
         8 * uscc_code(s, 13) + 24 * uscc_code(s, 14) + 10 * uscc_code(s, 15) + 30 * uscc_code(s, 16) + 28 * uscc_code(s, 17)) % 31) % 31 + 1, 1);
CREATE OR REPLACE TEMP MACRO uscc_well_formed(s) AS
  regexp_full_match(uscc_compact(s), '[0-9]{8}[0-9A-HJ-NP-RTUWXY]{10}');
CREATE OR REPLACE TEMP MACRO uscc_valid(s) AS
  uscc_well_formed(s) AND substr(uscc_compact(s), 18, 1) = uscc_check_char(s);

-- Order numbers an invoice's remark states: 订单4500012345, 采购订单号: ABC-PO-202611-0000007,
-- PO 4500012345 (what follows, up to a space or punctuation).
CREATE OR REPLACE TEMP MACRO remark_order_refs(remark) AS
  list_sort(list_distinct(list_concat(
    regexp_extract_all(coalesce(remark, ''),
      '(?:采购订单|订单)号?\s*[:：#]?\s*([^\s,，;；。、:：#)）][^\s,，;；。、)）]*)', 1),
    regexp_extract_all(coalesce(remark, ''), '\bPO\s*(?:No\.?)?\s*[:：#]?\s*([0-9A-Za-z][^\s,，;；。、)）]*)', 1))));

-- The outcome of one link of the match. A link stated by a document (an order number in the
-- remark, a payable citing the invoice, a delivery note) is matched whatever the number of
-- documents; an inferred link is matched only when exactly one candidate qualifies.
CREATE OR REPLACE TEMP MACRO link_outcome(applicable, candidates, stated) AS
  CASE WHEN NOT applicable THEN 'not_applicable'
       WHEN coalesce(candidates, 0) = 0 THEN 'missing'
       WHEN coalesce(stated, false) OR candidates = 1 THEN 'matched'
       ELSE 'ambiguous' END;
