-- The four-flow match of the night (see reconciliation/matching.py): for every invoice a live
-- financing presents, its purchase order, payable and goods receipts (tier 1: the buyer is a
-- core enterprise with ERP files), its waybill(s), and the voucher step or bill presenting it.
-- Reads the as-of views cur_*, the views of _prelude.sql and the macros of match_macros.sql.
-- Every mt_* table holds the candidates of one link; night_trade_matches sums them up.

-- The rows of the as-of views the match and the trade checks read more than once, computed
-- once (each cur_* view ranks a table's whole history when read).
CREATE OR REPLACE TEMP TABLE mt_presented AS
SELECT p.financing_id, p.invoice_no, p.amount_fen, p.bank_code, p.product, p.value_date,
       f.applicant_uscc, f.asset_ref, f.asset_voucher_id, f.asset_cd_no, f.asset_range_start, f.asset_range_end,
       f.business_date AS financing_night
FROM presented_invoices p JOIN live_financings f USING (financing_id);

-- (a view: presented_tax_invoices of _prelude.sql holds the presented invoices and the red-letter ones
-- reversing them, those of mt_presented)
CREATE OR REPLACE TEMP VIEW mt_tax_invoices AS
SELECT invoice_no, is_red, original_invoice_no, seller_uscc, seller_name, buyer_uscc, buyer_name, amount_fen, tax_fen, total_fen,
       issue_time, issue_time::DATE AS issue_date, remark, line_count, lines_amount_fen, lines_tax_fen,
       lines_quantity, max_line_tax_gap_fen, business_date AS arrived
FROM presented_tax_invoices;

-- Core enterprises: every USCC that has delivered ERP files up to the night, or issued a voucher
-- on the platform (a core whose ERP has not arrived yet, or never does, is still a core: its
-- payables are awaited, see TRADE_NO_PAYABLE). core_uscc is part of every ERP record's key, so the
-- as-of state names every core that ever delivered; an event's issuer may be restated, so all
-- delivered events count (kept with the as-of state: reconciliation.session.KEPT).
CREATE OR REPLACE TEMP TABLE mt_cores AS
SELECT key AS core_uscc FROM asof_first_voucher_issuer
UNION SELECT core_uscc FROM cur_erp_po_items
UNION SELECT core_uscc FROM cur_erp_ap_items
UNION SELECT core_uscc FROM cur_erp_goods_receipts
UNION SELECT core_uscc FROM cur_erp_vendors;

-- Every invoice presented by a live financing, with what the match needs. The net quantity
-- deducts the quantities of red-letter invoices reversing it; status and remaining value are
-- those of invoice_value (_prelude.sql); the invoices are presented_invoice_nos (those of mt_presented).
CREATE OR REPLACE TEMP TABLE mt_invoices AS
WITH presented AS (
  FROM presented_invoice_nos
), red AS (
  SELECT original_invoice_no AS invoice_no, sum(abs(lines_quantity)) AS red_quantity
  FROM mt_tax_invoices WHERE is_red AND original_invoice_no IN (SELECT invoice_no FROM presented) GROUP BY ALL
)
SELECT p.invoice_no, t.invoice_no IS NOT NULL AS known, t.seller_uscc, t.buyer_uscc, t.seller_name, t.buyer_name,
       party_name_key(t.seller_name) AS seller_key, party_name_key(t.buyer_name) AS buyer_key,
       t.amount_fen, t.total_fen, t.issue_date, t.remark,
       t.lines_quantity AS quantity,
       t.lines_quantity - coalesce(red.red_quantity, 0) AS net_quantity,
       remark_order_refs(t.remark) AS order_refs,
       CASE WHEN t.invoice_no IS NULL THEN NULL WHEN c.core_uscc IS NOT NULL THEN 1 ELSE 2 END AS tier,
       v.status, v.remaining_fen, t.arrived
FROM presented p
LEFT JOIN mt_tax_invoices t ON t.invoice_no = p.invoice_no AND NOT t.is_red
LEFT JOIN red ON red.invoice_no = p.invoice_no
LEFT JOIN mt_cores c ON c.core_uscc = t.buyer_uscc
LEFT JOIN (SELECT invoice_no, status, remaining_fen FROM invoice_value
           WHERE invoice_no IN (SELECT invoice_no FROM presented)) v ON v.invoice_no = p.invoice_no;

-- Payables: the buyer's vendor items citing the invoice (SGTXT). Credit items (H) confirm,
-- debit items (S, e.g. a credit memo) take back.
CREATE OR REPLACE TEMP TABLE mt_ap_links AS
SELECT i.invoice_no, a.core_uscc, a.ap_ref, a.ebeln, a.document_type, a.debit_credit,
       CASE WHEN a.debit_credit = 'S' THEN -abs(a.amount_fen) ELSE abs(a.amount_fen) END AS signed_fen,
       a.posting_date, a.business_date AS arrived
FROM mt_invoices i JOIN cur_erp_ap_items a ON a.invoice_no = i.invoice_no AND a.core_uscc = i.buyer_uscc
WHERE i.tier = 1;

-- Order numbers stated for an invoice: in its remark, or by the payables citing it.
CREATE OR REPLACE TEMP TABLE mt_stated_orders AS
SELECT invoice_no, unnest(order_refs) AS order_no FROM mt_invoices WHERE known
UNION
SELECT invoice_no, ebeln FROM mt_ap_links WHERE ebeln IS NOT NULL AND ebeln <> '';

-- The tier-1 invoices stating no order number: their orders are inferred (mt_po_links).
CREATE OR REPLACE TEMP TABLE mt_unstated_invoices AS
SELECT i.* FROM mt_invoices i
WHERE i.tier = 1 AND i.invoice_no NOT IN (SELECT invoice_no FROM mt_stated_orders);

-- Purchase orders (header level) a tier-1 invoice may match (below): those it states, and, for an
-- invoice stating none, those with an item from its seller to its buyer (a header's vendor is one of
-- its items'); every item of each. Not every order of the cores: grouping all of them each night
-- was the match's largest part growing with the book.
CREATE OR REPLACE TEMP TABLE mt_po_headers AS
WITH items AS (
  SELECT p.core_uscc, p.ebeln, p.po_date, p.quantity, p.net_value_fen, v.vendor_uscc, p.business_date
  FROM cur_erp_po_items p
  LEFT JOIN cur_erp_vendors v ON v.core_uscc = p.core_uscc AND v.lifnr = p.lifnr
  WHERE p.core_uscc IN (SELECT buyer_uscc FROM mt_invoices WHERE tier = 1)
), candidates AS (
  SELECT i.buyer_uscc AS core_uscc, s.order_no AS ebeln
  FROM mt_stated_orders s JOIN mt_invoices i USING (invoice_no) WHERE i.tier = 1
  UNION
  SELECT t.core_uscc, t.ebeln FROM items t
  WHERE EXISTS (SELECT 1 FROM mt_unstated_invoices i WHERE i.buyer_uscc = t.core_uscc AND i.seller_uscc = t.vendor_uscc)
)
SELECT t.core_uscc, t.ebeln, min(t.po_date) AS po_date, sum(t.quantity) AS quantity,
       sum(t.net_value_fen) AS net_value_fen, min(t.vendor_uscc) AS vendor_uscc, max(t.business_date) AS arrived
FROM items t
WHERE EXISTS (SELECT 1 FROM candidates c WHERE c.core_uscc = t.core_uscc AND c.ebeln = t.ebeln)
GROUP BY t.core_uscc, t.ebeln;

-- Purchase-order candidates (tier 1): the orders stated; without any stated order number,
-- the buyer's orders from the seller worth the invoice's amount without tax (within
-- tolerance), dated up to date_window_days before its issue.
CREATE OR REPLACE TEMP TABLE mt_po_links AS
SELECT s.invoice_no, h.core_uscc, h.ebeln, h.po_date, h.quantity, h.net_value_fen, h.vendor_uscc,
       true AS stated, h.arrived
FROM mt_stated_orders s
JOIN mt_invoices i USING (invoice_no)
JOIN mt_po_headers h ON h.core_uscc = i.buyer_uscc AND h.ebeln = s.order_no
WHERE i.tier = 1
UNION ALL
SELECT i.invoice_no, h.core_uscc, h.ebeln, h.po_date, h.quantity, h.net_value_fen, h.vendor_uscc,
       false AS stated, h.arrived
FROM mt_unstated_invoices i
JOIN mt_po_headers h ON h.core_uscc = i.buyer_uscc AND h.vendor_uscc = i.seller_uscc
WHERE amounts_agree(h.net_value_fen, i.amount_fen)
  AND h.po_date BETWEEN i.issue_date - getvariable('date_window_days') AND i.issue_date;

CREATE OR REPLACE TEMP TABLE mt_po_outcomes AS
SELECT invoice_no, link_outcome(true, count(*), bool_or(stated)) AS outcome, count(*) AS candidates
FROM mt_po_links GROUP BY invoice_no;

-- Goods movements (101 receipt, 102 reversal) of the candidate orders.
CREATE OR REPLACE TEMP TABLE mt_gr_links AS
SELECT l.invoice_no, g.core_uscc, g.ebeln, g.mblnr, g.mjahr, g.zeile, g.movement_type,
       CASE g.movement_type WHEN '102' THEN -abs(g.quantity) ELSE abs(g.quantity) END AS signed_quantity,
       g.posting_date, g.delivery_note, g.business_date AS arrived
FROM mt_po_links l
JOIN cur_erp_goods_receipts g ON g.core_uscc = l.core_uscc AND g.ebeln = l.ebeln
WHERE g.movement_type IN ('101', '102');

-- Order numbers a waybill may cite for the invoice: the stated ones and the matched orders.
CREATE OR REPLACE TEMP TABLE mt_order_keys AS
SELECT invoice_no, order_no FROM mt_stated_orders
UNION
SELECT l.invoice_no, l.ebeln FROM mt_po_links l JOIN mt_po_outcomes o USING (invoice_no)
WHERE o.outcome = {{LinkOutcome.MATCHED}};

-- The waybills as the links below read them: a view, not a table, so that each link reads only the
-- waybills its keys name (not every waybill ever delivered, each night: issue 15). A waybill names
-- its parties by USCC (contract layout) or by name and division code only (2015WCCYR, see
-- party_agrees): the names' keys are those of a waybill naming a party by name only (the only ones
-- matched by name below); a layout without quantity leaves it NULL: never a mismatch.
CREATE OR REPLACE TEMP VIEW mt_waybills AS
SELECT carrier_uscc, waybill_no, po_no, consignor_uscc, consignee_uscc, consignor_name, consignee_name,
       origin_region, region_code AS dest_region,
       CASE WHEN consignor_uscc IS NULL OR consignee_uscc IS NULL THEN party_name_key(consignor_name) END AS consignor_key,
       CASE WHEN consignor_uscc IS NULL OR consignee_uscc IS NULL THEN party_name_key(consignee_name) END AS consignee_key,
       quantity, status, layout,
       consignment_time, despatch_time, receipt_time, coalesce(consignment_time, despatch_time)::DATE AS shipped,
       business_date AS arrived
FROM cur_waybills;

-- Waybill candidates. With an order number known, the waybills citing it
-- (OriginalDocumentNumber) or named by the order's goods receipts (XBLNR), shipped by the
-- seller or to the buyer: all of them, one order being delivered by several waybills.
-- Without one, the waybills from the seller to the buyer consigned within date_window_days
-- of the issue, grouped into deliveries by the order they cite: the deliveries whose
-- quantity agrees with the invoice's (or that carry no quantity: a layout without one is
-- matched on parties and dates alone), else the single waybills whose quantity does.
-- Parties agree by USCC, or by name and region where the waybill names no USCC (party_agrees).
CREATE OR REPLACE TEMP TABLE mt_waybill_links AS
WITH keyed AS (  -- (each link carries its waybill's columns: joining the links to the waybills again read every waybill)
  SELECT k.invoice_no, w.*
  FROM mt_order_keys k
  JOIN mt_invoices i USING (invoice_no)
  JOIN mt_waybills w ON w.po_no = k.order_no
  WHERE coalesce(party_agrees(w.consignor_uscc, w.consignor_name, w.origin_region, i.seller_uscc, i.seller_name), false)
     OR coalesce(party_agrees(w.consignee_uscc, w.consignee_name, w.dest_region, i.buyer_uscc, i.buyer_name), false)
  UNION
  SELECT g.invoice_no, w.*
  FROM mt_gr_links g
  JOIN mt_po_outcomes o ON o.invoice_no = g.invoice_no AND o.outcome = {{LinkOutcome.MATCHED}}
  JOIN mt_invoices i ON i.invoice_no = g.invoice_no
  JOIN mt_waybills w ON w.waybill_no = g.delivery_note
  WHERE coalesce(party_agrees(w.consignor_uscc, w.consignor_name, w.origin_region, i.seller_uscc, i.seller_name), false)
     OR coalesce(party_agrees(w.consignee_uscc, w.consignee_name, w.dest_region, i.buyer_uscc, i.buyer_name), false)
), unkeyed AS MATERIALIZED (
  SELECT i.* FROM mt_invoices i
  WHERE i.known AND i.invoice_no NOT IN (SELECT invoice_no FROM mt_order_keys)
), between_parties AS (
  -- waybills naming both parties by USCC: an equality join; the others by name, then judged
  SELECT i.invoice_no, i.quantity AS invoice_quantity, i.issue_date, w.*
  FROM unkeyed i
  JOIN mt_waybills w ON w.consignor_uscc = i.seller_uscc AND w.consignee_uscc = i.buyer_uscc
  UNION ALL
  SELECT i.invoice_no, i.quantity AS invoice_quantity, i.issue_date, w.*
  FROM unkeyed i
  JOIN mt_waybills w ON w.consignor_key = i.seller_key AND w.consignee_key = i.buyer_key
  WHERE (w.consignor_uscc IS NULL OR w.consignee_uscc IS NULL)
    AND party_agrees(w.consignor_uscc, w.consignor_name, w.origin_region, i.seller_uscc, i.seller_name)
    AND party_agrees(w.consignee_uscc, w.consignee_name, w.dest_region, i.buyer_uscc, i.buyer_name)
), windowed AS (  -- (delivery last: inferred replaces it by position)
  SELECT * EXCLUDE (issue_date), coalesce(po_no, carrier_uscc || '/' || waybill_no) AS delivery
  FROM between_parties
  WHERE shipped BETWEEN issue_date - getvariable('date_window_days') AND issue_date + getvariable('date_window_days')
), deliveries AS (
  SELECT invoice_no, delivery, any_value(invoice_quantity) AS invoice_quantity,
         CASE WHEN bool_and(quantity IS NOT NULL) THEN sum(quantity) END AS quantity
  FROM windowed GROUP BY invoice_no, delivery
), qualifying_deliveries AS (
  SELECT invoice_no, delivery FROM deliveries
  WHERE invoice_quantity IS NULL OR quantity IS NULL OR quantities_agree(quantity, invoice_quantity)
), inferred AS (
  SELECT w.* FROM windowed w JOIN qualifying_deliveries q ON q.invoice_no = w.invoice_no AND q.delivery = w.delivery
  UNION ALL
  SELECT w.* EXCLUDE (delivery), w.carrier_uscc || '/' || w.waybill_no
  FROM windowed w
  WHERE quantities_agree(w.quantity, w.invoice_quantity)
    AND w.invoice_no NOT IN (SELECT invoice_no FROM qualifying_deliveries)
), links AS (
  SELECT 'order' AS method, 'stated' AS delivery, * FROM keyed
  UNION ALL
  SELECT 'parties', delivery, * EXCLUDE (invoice_quantity, delivery) FROM inferred
)
SELECT invoice_no, method, delivery,
       carrier_uscc, waybill_no, po_no, consignor_uscc, consignee_uscc, consignor_name, consignee_name,
       origin_region, dest_region, layout, quantity, status,
       consignment_time, despatch_time, receipt_time, shipped, arrived
FROM links;

CREATE OR REPLACE TEMP TABLE mt_waybill_outcomes AS
SELECT invoice_no, any_value(method) AS method, count(DISTINCT delivery) AS candidates,
       link_outcome(true, count(DISTINCT delivery), any_value(method) = 'order') AS outcome
FROM mt_waybill_links GROUP BY invoice_no;

-- The financed voucher of each voucher financing presenting an invoice and every voucher it was
-- split from (a table: the events below are found from it, not it from every event of the book).
CREATE OR REPLACE TEMP TABLE mt_voucher_lineage AS
WITH RECURSIVE lineage(financing_id, voucher_id, depth) AS (
  SELECT DISTINCT financing_id, asset_voucher_id, 0 FROM mt_presented
  WHERE product = {{Product.VOUCHER}} AND asset_voucher_id IS NOT NULL
  UNION ALL
  SELECT l.financing_id, s.parent, l.depth + 1
  FROM lineage l JOIN voucher_splits s ON s.child = l.voucher_id
  WHERE l.depth < 64
)
SELECT * FROM lineage;

-- The voucher step (ISSUE or TRANSFER on the financed voucher or any voucher it was split
-- from) or the bill record presenting the invoice.
CREATE OR REPLACE TEMP TABLE mt_instrument_links AS
SELECT p.financing_id, p.invoice_no, 'voucher_step' AS kind,
       e.event_type || ' ' || e.event_id || ' of ' || e.voucher_id AS ref,
       e.from_uscc, e.to_uscc, e.business_date AS arrived
FROM mt_presented p
JOIN mt_voucher_lineage l ON l.financing_id = p.financing_id
JOIN cur_voucher_events e ON e.voucher_id = l.voucher_id AND e.event_type IN ({{EventType.ISSUE}}, {{EventType.TRANSFER}})
JOIN cur_voucher_event_invoices ei ON ei.event_id = e.event_id AND ei.invoice_no = p.invoice_no
UNION ALL
SELECT p.financing_id, p.invoice_no, 'bill', b.cd_no || ':' || b.range_start || '-' || b.range_end,
       NULL, NULL, b.business_date
FROM mt_presented p
JOIN cur_bills b ON b.cd_no = p.asset_cd_no
 AND b.range_start <= p.asset_range_end AND p.asset_range_start <= b.range_end
WHERE p.product = {{Product.BILL}} AND list_contains(b.invoice_nos, p.invoice_no);

-- One row per (financing, presented invoice): every link's outcome and what it matched (or,
-- when ambiguous, its candidates).
CREATE OR REPLACE TEMP TABLE night_trade_matches AS
WITH po AS (
  SELECT invoice_no, any_value(core_uscc) AS core_uscc, list(ebeln ORDER BY ebeln) AS ebelns,
         max(po_date) AS po_date, max(arrived) AS arrived
  FROM mt_po_links GROUP BY invoice_no
), ap AS (
  SELECT invoice_no, count(DISTINCT ap_ref) AS candidates, list(DISTINCT ap_ref ORDER BY ap_ref) AS refs,
         sum(signed_fen) AS net_fen, max(arrived) AS arrived
  FROM mt_ap_links GROUP BY invoice_no
), gr AS (
  SELECT invoice_no, count(DISTINCT ebeln) AS orders, list(DISTINCT mblnr ORDER BY mblnr) AS docs,
         sum(signed_quantity) AS quantity, max(posting_date) AS last_date, max(arrived) AS arrived
  FROM mt_gr_links GROUP BY invoice_no
), wb AS (
  SELECT invoice_no, list(DISTINCT waybill_no ORDER BY waybill_no) AS waybill_nos,
         CASE WHEN bool_and(quantity IS NOT NULL) THEN sum(quantity) END AS quantity, max(arrived) AS arrived
  FROM mt_waybill_links GROUP BY invoice_no
), instrument AS (
  SELECT financing_id, invoice_no, count(DISTINCT coalesce(from_uscc, '') || '>' || coalesce(to_uscc, '')) AS parties,
         count(*) AS candidates, list(ref ORDER BY ref) AS refs, max(arrived) AS arrived
  FROM mt_instrument_links GROUP BY financing_id, invoice_no
), searched AS (
  SELECT invoice_no, list(order_no ORDER BY order_no) AS orders FROM mt_order_keys GROUP BY invoice_no
), links AS (
  SELECT p.financing_id, p.invoice_no, p.bank_code, p.product, p.asset_ref, p.asset_voucher_id AS voucher_id,
         p.value_date, p.applicant_uscc,
         p.amount_fen AS presented_fen, i.known AS invoice_known, i.tier, i.seller_uscc, i.buyer_uscc,
         i.total_fen AS invoice_total_fen, i.issue_date AS invoice_date, i.quantity AS invoice_quantity,
         i.order_refs,
         CASE WHEN NOT coalesce(i.tier = 1, true) THEN {{LinkOutcome.NOT_APPLICABLE}}
              ELSE coalesce(po_o.outcome, {{LinkOutcome.MISSING}}) END AS po_outcome,
         coalesce(po_o.candidates, 0) AS po_candidates, po.core_uscc AS po_core_uscc, po.ebelns AS po_ebelns,
         po.po_date,
         link_outcome(coalesce(i.tier = 1, true), ap.candidates, true) AS ap_outcome,
         coalesce(ap.candidates, 0) AS ap_candidates, ap.refs AS ap_refs, ap.net_fen AS ap_net_fen,
         CASE WHEN NOT coalesce(i.tier = 1, true) THEN {{LinkOutcome.NOT_APPLICABLE}}
              WHEN po_o.outcome = {{LinkOutcome.AMBIGUOUS}} AND gr.orders > 0 THEN {{LinkOutcome.AMBIGUOUS}}
              WHEN po_o.outcome = {{LinkOutcome.MATCHED}} AND gr.orders > 0 THEN {{LinkOutcome.MATCHED}}
              ELSE {{LinkOutcome.MISSING}} END AS gr_outcome,
         coalesce(gr.orders, 0) AS gr_candidates, gr.docs AS gr_docs, gr.quantity AS gr_quantity,
         gr.last_date AS gr_last_date,
         searched.orders AS searched_orders,
         coalesce(wb_o.outcome, {{LinkOutcome.MISSING}}) AS waybill_outcome, coalesce(wb_o.candidates, 0) AS waybill_candidates,
         wb_o.method AS waybill_method, wb.waybill_nos, wb.quantity AS waybill_quantity,
         CASE WHEN p.product NOT IN ({{Product.VOUCHER}}, {{Product.BILL}}) THEN {{LinkOutcome.NOT_APPLICABLE}}
              ELSE link_outcome(true, ins.candidates, ins.parties = 1) END AS instrument_outcome,
         coalesce(ins.candidates, 0) AS instrument_candidates, ins.refs AS instrument_refs,
         greatest(p.financing_night, i.arrived, po.arrived, ap.arrived, gr.arrived, wb.arrived, ins.arrived)
           AS evidence_night
  FROM mt_presented p
  JOIN mt_invoices i USING (invoice_no)
  LEFT JOIN mt_po_outcomes po_o USING (invoice_no)
  LEFT JOIN po USING (invoice_no)
  LEFT JOIN ap USING (invoice_no)
  LEFT JOIN gr USING (invoice_no)
  LEFT JOIN mt_waybill_outcomes wb_o USING (invoice_no)
  LEFT JOIN wb USING (invoice_no)
  LEFT JOIN searched USING (invoice_no)
  LEFT JOIN instrument ins ON ins.financing_id = p.financing_id AND ins.invoice_no = p.invoice_no
)
SELECT * FROM links;
