-- The night's scope (reconciliation/scope.py): the financings whose evidence changed since the
-- previous night judged (scope_previous), on the as-of state of the night (cur_*) and that
-- night's results (previous_trade_matches: trade_matches as of it, findings). Every other financing's findings and matches are
-- those of the previous night. Keys a record is found by are read in the current version and,
-- for a record restated tonight, in what the previous night's match linked (its old version).

-- The previous night's match: what each financing's invoices linked to, by key (a view: read in place,
-- each rule scanning the columns it needs, not copied every night).
CREATE OR REPLACE TEMP VIEW scope_previous_matches AS
SELECT financing_id, invoice_no, voucher_id, seller_uscc, buyer_uscc, invoice_date, invoice_total_fen, po_core_uscc,
       coalesce(po_ebelns, []) AS po_ebelns, coalesce(ap_refs, []) AS ap_refs, coalesce(gr_docs, []) AS gr_docs,
       coalesce(order_refs, []) AS order_refs, coalesce(searched_orders, []) AS searched_orders,
       coalesce(waybill_nos, []) AS waybill_nos
FROM previous_trade_matches;

-- The waybills each financing's invoices link to (the previous night's; the night's own are
-- added once matched, reconciliation.scope.widen). Not DISTINCT: every reader asks for a set of
-- financings or waybills, and grouping the links of every standing match cost more than the repeats.
CREATE OR REPLACE TEMP TABLE scope_waybills AS
SELECT financing_id, unnest(waybill_nos) AS waybill_no FROM scope_previous_matches;

-- The financings touched tonight, each once.
CREATE OR REPLACE TEMP TABLE scope_touched AS
WITH RECURSIVE
claims AS (  -- every financing named by a delivered row, readable or not, with its asset's keys
  SELECT financing_id, asset_voucher_id, asset_cd_no FROM cur_financings
  UNION ALL
  SELECT financing_id, asset_voucher_id, asset_cd_no FROM cur_financing_rejects WHERE financing_id IS NOT NULL
),
tm AS NOT MATERIALIZED (FROM scope_previous_matches),  -- read in place by each rule, not copied
tm_orders AS (  -- the orders each previous match searched or linked
  SELECT financing_id, buyer_uscc, po_core_uscc, unnest(list_concat(searched_orders, po_ebelns)) AS order_no FROM tm
),
tonight_invoices AS (  -- invoices whose own records (tax data, status, payables) are new or restated tonight
  SELECT invoice_no FROM cur_tax_invoices WHERE business_date = getvariable('business_date')
  UNION
  SELECT original_invoice_no FROM tax_invoices  -- a red-letter invoice's original, in every version
  WHERE is_red AND invoice_no IN (SELECT invoice_no FROM cur_tax_invoices WHERE business_date = getvariable('business_date'))
  UNION
  SELECT invoice_no FROM cur_tax_invoice_status WHERE business_date = getvariable('business_date')
  UNION
  SELECT invoice_no FROM cur_erp_ap_items WHERE business_date = getvariable('business_date')
),
tonight_pos AS (  -- the items of every order with an item new or restated tonight, with the order's date and value
  SELECT p.core_uscc, p.ebeln, p.lifnr, min(p.po_date) OVER (PARTITION BY p.core_uscc, p.ebeln) AS po_date,
         sum(p.net_value_fen) OVER (PARTITION BY p.core_uscc, p.ebeln) AS net_value_fen
  FROM cur_erp_po_items p
  WHERE EXISTS (SELECT 1 FROM cur_erp_po_items t WHERE t.core_uscc = p.core_uscc AND t.ebeln = p.ebeln
                                                   AND t.business_date = getvariable('business_date'))
),
tonight_vendors AS (  -- vendors new tonight, or whose USCC changed (the vendor master is delivered whole, nightly)
  SELECT v.core_uscc, v.lifnr, v.vendor_uscc FROM cur_erp_vendors v
  WHERE v.business_date = getvariable('business_date')
    AND (NOT EXISTS (SELECT 1 FROM erp_vendors o WHERE o.core_uscc = v.core_uscc AND o.lifnr = v.lifnr
                                                   AND o.business_date < getvariable('business_date'))
         OR EXISTS (SELECT 1 FROM erp_vendors o
                    WHERE o.core_uscc = v.core_uscc AND o.lifnr = v.lifnr AND o.vendor_uscc IS DISTINCT FROM v.vendor_uscc
                      AND o.business_date = (SELECT max(x.business_date) FROM erp_vendors x
                                             WHERE x.core_uscc = v.core_uscc AND x.lifnr = v.lifnr
                                               AND x.business_date < getvariable('business_date'))))
),
tonight_waybills AS (
  SELECT carrier_uscc, waybill_no, po_no, consignor_uscc, consignee_uscc,
         coalesce(consignment_time, despatch_time)::DATE AS shipped
  FROM cur_waybills WHERE business_date = getvariable('business_date')
),
orders AS (  -- (core, order) whose order, goods receipts or vendor changed tonight
  SELECT core_uscc, ebeln FROM tonight_pos
  UNION
  SELECT core_uscc, ebeln FROM cur_erp_goods_receipts WHERE business_date = getvariable('business_date')
  UNION
  SELECT p.core_uscc, p.ebeln FROM cur_erp_po_items p JOIN tonight_vendors v USING (core_uscc, lifnr)
  UNION
  SELECT core_uscc, ebeln FROM cur_erp_goods_receipts  -- receipts naming a waybill delivered tonight
  WHERE delivery_note IN (SELECT waybill_no FROM tonight_waybills)
),
order_keys AS (  -- the orders changed tonight (by core) and those cited by a waybill delivered tonight
  SELECT ebeln AS order_no, core_uscc, false AS cited FROM orders
  UNION ALL
  SELECT po_no, NULL, true FROM tonight_waybills
),
core_candidates AS MATERIALIZED (  -- the cores with ERP rows tonight
  SELECT core_uscc FROM cur_erp_po_items WHERE business_date = getvariable('business_date')
  UNION SELECT core_uscc FROM cur_erp_ap_items WHERE business_date = getvariable('business_date')
  UNION SELECT core_uscc FROM cur_erp_goods_receipts WHERE business_date = getvariable('business_date')
  UNION SELECT core_uscc FROM tonight_vendors
),
new_cores AS (  -- buyers that became core enterprises tonight (their invoices' tier changes)
  SELECT key AS core_uscc FROM asof_first_voucher_issuer WHERE since > getvariable('scope_previous')
  UNION
  (SELECT core_uscc FROM core_candidates
   EXCEPT SELECT DISTINCT core_uscc FROM (  -- those with ERP rows of an earlier night (grouped to the few cores first)
     SELECT core_uscc FROM cur_erp_po_items WHERE business_date < getvariable('business_date')
       AND core_uscc IN (SELECT core_uscc FROM core_candidates)
     UNION ALL SELECT core_uscc FROM cur_erp_ap_items WHERE business_date < getvariable('business_date')
       AND core_uscc IN (SELECT core_uscc FROM core_candidates)
     UNION ALL SELECT core_uscc FROM cur_erp_goods_receipts WHERE business_date < getvariable('business_date')
       AND core_uscc IN (SELECT core_uscc FROM core_candidates)
     UNION ALL SELECT core_uscc FROM cur_erp_vendors WHERE business_date < getvariable('business_date')
       AND core_uscc IN (SELECT core_uscc FROM core_candidates)) AS earlier)
),
refusals AS (  -- the ledger's refusals that differ from the previous night's, either way
  (SELECT * EXCLUDE (as_of) FROM ledger_rejections_as_of(getvariable('business_date'))
   EXCEPT ALL SELECT * EXCLUDE (as_of) FROM ledger_rejections_as_of(getvariable('scope_previous')))
  UNION ALL
  (SELECT * EXCLUDE (as_of) FROM ledger_rejections_as_of(getvariable('scope_previous'))
   EXCEPT ALL SELECT * EXCLUDE (as_of) FROM ledger_rejections_as_of(getvariable('business_date')))
),
tonight_events AS (
  SELECT event_id FROM cur_voucher_events WHERE business_date = getvariable('business_date')
),
vouchers AS (  -- vouchers whose events, payables or refusals changed tonight
  SELECT unnest([voucher_id, parent_voucher_id]) AS voucher_id FROM voucher_events  -- every version (its voucher and parent: one scan)
  WHERE event_id IN (SELECT event_id FROM tonight_events)
  UNION
  SELECT e.voucher_id FROM cur_voucher_events e
  JOIN cur_erp_ap_items a ON a.core_uscc = e.issuer_uscc AND a.ap_ref = e.ap_ref
  WHERE e.event_type = {{EventType.ISSUE}} AND a.business_date = getvariable('business_date')
  UNION
  SELECT voucher_id FROM refusals
  UNION
  SELECT e.voucher_id FROM cur_voucher_events e WHERE e.event_id IN (SELECT event_id FROM refusals)
),
voucher_family(voucher_id) AS (  -- and every voucher split from them: a split voucher's financing reads its ancestors
  SELECT voucher_id FROM vouchers WHERE voucher_id IS NOT NULL
  UNION
  SELECT s.child FROM voucher_family f JOIN voucher_splits s ON s.parent = f.voucher_id
),
touched(financing_id, rule) AS (
  -- the financing delivered (new, restated, its status changed) or unreadable tonight
  SELECT financing_id, 'delivered' AS rule FROM cur_financings WHERE business_date = getvariable('business_date')
  UNION ALL
  SELECT financing_id, 'unreadable' AS rule FROM cur_financing_rejects WHERE business_date = getvariable('business_date')
  -- a finding of the previous night of a check that reads the night's date or waits for evidence (its
  -- text or pending state may change with the night alone: scope_dated_checks), that was pending, or
  -- whose text carries that night's date
  UNION ALL
  SELECT financing_id, 'finding' AS rule FROM findings
  WHERE business_date = getvariable('scope_previous') AND financing_id IS NOT NULL
    AND (list_contains(getvariable('scope_dated_checks'), check_id)
         OR coalesce(json_extract_string(evidence, '$.pending') = 'true', false)
         OR contains(detail, getvariable('scope_previous')::VARCHAR)
         OR contains(evidence, getvariable('scope_previous')::VARCHAR)
         OR check_id = 'TRADE_CIRCULAR')
  -- an invoice of a circular trade tonight (a ring may close through invoices nobody financed)
  UNION ALL
  SELECT financing_id, 'ring' AS rule FROM cur_financing_invoices WHERE invoice_no IN (SELECT invoice_no FROM circular_cycles)
  UNION ALL
  SELECT financing_id, 'ring' AS rule FROM cur_financings WHERE asset_invoice_no IN (SELECT invoice_no FROM circular_cycles)
  -- an invoice whose records changed, or that its payables, goods receipts or waybills linked
  UNION ALL
  SELECT financing_id, 'invoice' AS rule FROM tm WHERE invoice_no IN (SELECT invoice_no FROM tonight_invoices)
  UNION ALL
  SELECT financing_id, 'payable' AS rule FROM (SELECT financing_id, unnest(ap_refs) AS ap_ref FROM tm)
  WHERE ap_ref IN (SELECT ap_ref FROM cur_erp_ap_items WHERE business_date = getvariable('business_date'))
  UNION ALL
  SELECT financing_id, 'receipt' AS rule FROM (SELECT financing_id, unnest(gr_docs) AS mblnr FROM tm)
  WHERE mblnr IN (SELECT mblnr FROM cur_erp_goods_receipts WHERE business_date = getvariable('business_date'))
  UNION ALL
  SELECT financing_id, 'waybill' AS rule FROM scope_waybills WHERE waybill_no IN (SELECT waybill_no FROM tonight_waybills)
  -- an order (stated, searched or matched) whose order, receipts or vendor changed, or cited by a new waybill
  -- (both read the orders' lists once: their keys in one relation)
  UNION ALL
  SELECT t.financing_id, CASE WHEN k.cited THEN 'order_cited' ELSE 'order' END AS rule
  FROM tm_orders t JOIN order_keys k ON k.order_no = t.order_no
  WHERE k.cited OR k.core_uscc IN (t.buyer_uscc, t.po_core_uscc)
  -- an order of the seller's that the buyer placed or changed tonight, a candidate for an invoice stating
  -- no order (dated within the window before it, worth its amount), or a vendor of the buyer whose USCC
  -- is now the seller's
  UNION ALL
  SELECT tm.financing_id, 'order_window' AS rule FROM tonight_pos p
  JOIN cur_erp_vendors v ON v.core_uscc = p.core_uscc AND v.lifnr = p.lifnr
  JOIN tm ON tm.buyer_uscc = p.core_uscc AND tm.seller_uscc = v.vendor_uscc
  JOIN cur_tax_invoices t ON t.invoice_no = tm.invoice_no
  WHERE len(tm.order_refs) = 0 AND tm.invoice_date BETWEEN p.po_date AND p.po_date + getvariable('date_window_days')
    AND amounts_agree(p.net_value_fen, t.amount_fen)
  UNION ALL
  SELECT tm.financing_id, 'vendor' AS rule FROM tm JOIN tonight_vendors v ON v.core_uscc = tm.buyer_uscc AND v.vendor_uscc = tm.seller_uscc
  -- a waybill shipped tonight within the window of an invoice matched by its parties (any parties when
  -- the waybill names one by name only)
  UNION ALL
  SELECT tm.financing_id, 'waybill_window' AS rule FROM tm JOIN tonight_waybills w
    ON tm.invoice_date BETWEEN w.shipped - getvariable('date_window_days') AND w.shipped + getvariable('date_window_days')
  WHERE len(tm.searched_orders) = 0
    AND (w.consignor_uscc IS NULL OR w.consignee_uscc IS NULL
         OR (w.consignor_uscc = tm.seller_uscc AND w.consignee_uscc = tm.buyer_uscc))
  -- a buyer that became a core enterprise
  UNION ALL
  SELECT financing_id, 'new_core' AS rule FROM tm WHERE buyer_uscc IN (SELECT core_uscc FROM new_cores)
  -- a voucher (or an ancestor) with a new event, a payable cleared or a refusal changed; a bill record changed
  UNION ALL
  SELECT financing_id, 'voucher' AS rule FROM claims WHERE asset_voucher_id IN (SELECT voucher_id FROM voucher_family)
  UNION ALL
  SELECT financing_id, 'event' AS rule FROM cur_voucher_events  -- tonight's events: the state's rows of tonight's keys
  WHERE business_date = getvariable('business_date') AND event_id IS NOT NULL
  UNION ALL
  SELECT financing_id, 'refusal' AS rule FROM refusals
  UNION ALL
  SELECT financing_id, 'bill' AS rule FROM claims
  WHERE asset_cd_no IN (SELECT cd_no FROM cur_bills WHERE business_date = getvariable('business_date'))
  -- an asset shared with an unreadable row naming no financing (its duplicates are judged with it)
  UNION ALL
  SELECT c.financing_id, 'unreadable_asset' AS rule FROM claims c JOIN cur_financing_rejects r
    ON r.financing_id IS NULL AND (c.asset_voucher_id = r.asset_voucher_id OR c.asset_cd_no = r.asset_cd_no)
  -- the ledger's financing entries and fingerprints recorded since, a peer's fingerprints imported since
  UNION ALL
  SELECT financing_id, 'ledger_entry' AS rule FROM ledger_entries WHERE business_date > getvariable('scope_previous')
  UNION ALL
  SELECT financing_id, 'fingerprint' AS rule FROM ledger_fingerprints WHERE business_date > getvariable('scope_previous')
  UNION ALL
  SELECT f.financing_id, 'peer' AS rule FROM ledger_fingerprints f JOIN peer_fingerprints p USING (kind, digest)
  WHERE p.imported_on > getvariable('scope_previous') AND p.imported_on <= getvariable('business_date')
)
SELECT financing_id, min(rule) AS rule FROM touched WHERE financing_id IS NOT NULL GROUP BY financing_id;
