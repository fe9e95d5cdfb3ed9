-- Shared views of the trade checks, over the night's four-flow match (match_trades.sql).

-- The night's matches of the invoices the tax data knows (the others are
-- INVOICE_NOT_IN_TAX_DATA's business).
CREATE OR REPLACE TEMP VIEW trade_links AS
SELECT * FROM night_trade_matches WHERE invoice_known;

-- The invoice-level links (purchase order, payable, waybills do not depend on the financing).
CREATE OR REPLACE TEMP VIEW trade_invoice_links AS
SELECT DISTINCT ON (invoice_no)
       invoice_no, tier, seller_uscc, buyer_uscc, invoice_total_fen, invoice_date, invoice_quantity,
       order_refs, po_outcome, po_ebelns, ap_outcome, ap_refs, searched_orders,
       waybill_outcome, waybill_candidates, waybill_nos
FROM trade_links ORDER BY invoice_no;

-- The matched waybills behind each financing's invoices; consignee_agrees says whether the
-- waybill's consignee is the invoice's buyer (NULL: the waybill does not tell, see party_agrees).
CREATE OR REPLACE TEMP VIEW trade_waybills AS
SELECT m.financing_id, m.invoice_no, m.value_date, m.invoice_quantity, m.seller_uscc, m.buyer_uscc,
       w.carrier_uscc, w.waybill_no, w.po_no, w.consignor_uscc, w.consignee_uscc, w.consignee_name, w.layout,
       w.quantity, w.status, w.consignment_time, w.despatch_time, w.receipt_time, w.arrived,
       party_agrees(w.consignee_uscc, w.consignee_name, w.dest_region, m.buyer_uscc, i.buyer_name) AS consignee_agrees
FROM trade_links m JOIN mt_waybill_links w USING (invoice_no) JOIN mt_invoices i USING (invoice_no)
WHERE m.waybill_outcome = {{LinkOutcome.MATCHED}};

-- What the matched waybills of each financing's invoice carried, and how much of it was
-- signed for (status 3 with a receipt time), by the value date or at all, or rejected.
CREATE OR REPLACE TEMP VIEW trade_waybill_receipts AS
SELECT financing_id, invoice_no, any_value(value_date) AS value_date,
       any_value(invoice_quantity) AS invoice_quantity,
       sum(quantity) AS carried,
       coalesce(sum(quantity) FILTER (WHERE status = '3' AND receipt_time IS NOT NULL), 0) AS received,
       coalesce(sum(quantity) FILTER (WHERE status = '3' AND receipt_time::DATE <= value_date), 0)
         AS received_by_value_date,
       coalesce(sum(quantity) FILTER (WHERE status = '4'), 0) AS rejected,
       coalesce(list(waybill_no ORDER BY waybill_no) FILTER (WHERE status = '4'), []) AS rejected_waybills,
       coalesce(list(waybill_no ORDER BY waybill_no)
                FILTER (WHERE coalesce(status, '') NOT IN ('3', '4') OR (status = '3' AND receipt_time IS NULL)), [])
         AS unreceived_waybills,
       coalesce(list(waybill_no || ' (status ' || coalesce(status, 'none') || ')' ORDER BY waybill_no)
                FILTER (WHERE coalesce(status, '') NOT IN ('3', '4') OR (status = '3' AND receipt_time IS NULL)), [])
         AS unreceived_states,
       coalesce(list(waybill_no || ' on ' || receipt_time::DATE ORDER BY waybill_no)
                FILTER (WHERE status = '3' AND receipt_time::DATE > value_date), []) AS late_receipts
FROM trade_waybills GROUP BY financing_id, invoice_no;

-- The USCCs on the documents behind each financing: its invoices, their matched waybills and
-- the bill it finances.
CREATE OR REPLACE TEMP VIEW trade_document_usccs AS
SELECT financing_id, invoice_no, NULL AS waybill_no, NULL AS bill_ref, 'Invoice ' || invoice_no AS document,
       role, uscc
FROM trade_links, LATERAL (VALUES ('seller', seller_uscc), ('buyer', buyer_uscc)) AS r(role, uscc)
UNION ALL
SELECT financing_id, invoice_no, waybill_no, NULL, 'Waybill ' || waybill_no, role, uscc
FROM trade_waybills,
     LATERAL (VALUES ('consignor', consignor_uscc), ('consignee', consignee_uscc), ('carrier', carrier_uscc)) AS r(role, uscc)
UNION ALL
SELECT f.financing_id, NULL, NULL, f.asset_ref, 'Bill ' || b.cd_no, role, uscc
FROM live_financings f
JOIN cur_bills b ON b.cd_no = f.asset_cd_no
 AND b.range_start <= f.asset_range_end AND f.asset_range_start <= b.range_end,
     LATERAL (VALUES ('drawer', b.drawer_uscc), ('acceptor', b.acceptor_uscc), ('payee', b.payee_uscc)) AS r(role, uscc)
WHERE f.product = {{Product.BILL}};

-- Each distinct USCC of those documents checked once (a night has far fewer companies than
-- documents); materialized so that the check's filter is not pushed below the DISTINCT.
CREATE OR REPLACE TEMP TABLE trade_uscc_checks AS
SELECT uscc, uscc_valid(uscc) AS valid,
       CASE WHEN uscc_well_formed(uscc) THEN uscc_check_char(uscc) END AS expected_check_char
FROM (SELECT DISTINCT uscc FROM trade_document_usccs WHERE uscc IS NOT NULL AND trim(uscc) <> '');
