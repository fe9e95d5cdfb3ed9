-- Macros of the four-flow match and the trade checks (reconciliation/matching.py runs this
-- after _prelude.sql, with the check parameters set as variables).

-- Money tolerance: the larger of amount_tolerance_fen and amount_tolerance_ratio_ppm of the amount.
CREATE OR REPLACE TEMP MACRO amount_tolerance(fen) AS
  greatest(getvariable('amount_tolerance_fen'), abs(fen) * getvariable('amount_tolerance_ratio_ppm') // 1000000);
CREATE OR REPLACE TEMP MACRO amounts_agree(a, b) AS
  abs(a - b) <= amount_tolerance(greatest(abs(a), abs(b)));
-- The band of amounts an amount falls in: two amounts that agree fall in the same band or in
-- neighbouring ones (an equality key for a join on agreeing amounts). With r the ratio and K =
-- max(amount_tolerance_fen, 1) / r, agreeing amounts satisfy ||a| - |b|| <= r * (max(|a|, |b|) + K),
-- so ln(|a| + K) and ln(|b| + K) differ by at most -ln(1 - r): bands a little wider than that
-- (1 %, against rounding). Without a ratio in (0, 1), one band.
CREATE OR REPLACE TEMP MACRO amount_band(fen) AS
  CASE WHEN getvariable('amount_tolerance_ratio_ppm') NOT BETWEEN 1 AND 999999 THEN 0
       ELSE floor(ln(abs(fen) + greatest(getvariable('amount_tolerance_fen'), 1) * 1000000.0 / getvariable('amount_tolerance_ratio_ppm'))
                  / (-ln(1 - getvariable('amount_tolerance_ratio_ppm') / 1000000.0) * 1.01))::BIGINT END;

-- The period of `days` days a date falls in: two dates at most `days` apart fall in the same
-- period or in neighbouring ones (an equality key for a join within a window of dates).
CREATE OR REPLACE TEMP MACRO date_period(d, days) AS floor(date_diff('day', DATE '2000-01-01', d) / greatest(days, 1))::BIGINT;

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

-- A USCC's administrative-division code (positions 3–8, INPUTS.md "reference/parties.csv"; the one
-- declaration: the trade checks and the pools' candidates read it), and a
-- division code cut to the level it names (trailing 00 pairs dropped: 320500 -> 3205, 110000 -> 11).
CREATE OR REPLACE TEMP MACRO uscc_region(s) AS
  CASE WHEN uscc_well_formed(s) THEN substr(uscc_compact(s), 3, 6) END;
CREATE OR REPLACE TEMP MACRO division_prefix(code) AS regexp_replace(trim(code), '(00)+$', '');
-- Two division codes agree when one lies within the other (district 320506 in city 320500);
-- an unknown code agrees with any.
CREATE OR REPLACE TEMP MACRO regions_agree(a, b) AS
  coalesce(starts_with(division_prefix(a), division_prefix(b)) OR starts_with(division_prefix(b), division_prefix(a)), true);
-- A party's name as compared: full-width brackets as half-width, then spaces (the ideographic
-- one included), brackets and punctuation dropped, lower case; NULL when nothing is left.
CREATE OR REPLACE TEMP MACRO party_name_key(s) AS
  nullif(lower(regexp_replace(translate(s, '（）【】', '()[]'), '[\s　()\[\]·.,，、]', '', 'g')), '');
-- Does the party a waybill names (its USCC, else its name and division code) agree with a party of
-- the invoice (USCC and name)? With a USCC on the waybill, the USCCs decide; a layout naming
-- parties only by name and region (2015WCCYR) agrees when the names agree after normalisation and
-- the region lies within the USCC's division. NULL when the waybill says nothing of the party: a
-- field the layout does not carry is never a mismatch.
CREATE OR REPLACE TEMP MACRO party_agrees(w_uscc, w_name, w_region, uscc, name) AS
  CASE WHEN w_uscc IS NOT NULL THEN w_uscc = uscc
       WHEN party_name_key(w_name) IS NULL THEN NULL
       ELSE party_name_key(w_name) = party_name_key(name) AND regions_agree(w_region, uscc_region(uscc)) END;

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
  CASE WHEN NOT applicable THEN {{LinkOutcome.NOT_APPLICABLE}}
       WHEN coalesce(candidates, 0) = 0 THEN {{LinkOutcome.MISSING}}
       WHEN coalesce(stated, false) OR candidates = 1 THEN {{LinkOutcome.MATCHED}}
       ELSE {{LinkOutcome.AMBIGUOUS}} END;
