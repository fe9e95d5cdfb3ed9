-- Shared views of the checks, over the as-of views cur_* (history up to the night).

-- yuan(fen) is defined on every connection by warehouse.connection.install_sql_helpers.

-- Financings that still stand: a cancelled financing implicates nothing. The live financings are
-- those of them the night judges (judged_financings: every one, or the night's scope, see
-- reconciliation/scope.py); what a ledger refusal implicates is read of every standing one.
-- live_financings, presented_invoices and invoice_value are tables, made once a night: most checks
-- read them, and as views each reader scanned every financing, invoice list and invoice of the book.
CREATE OR REPLACE TEMP VIEW standing_financings AS
SELECT * FROM cur_financings WHERE status <> {{FinancingStatus.CANCELLED}};
CREATE OR REPLACE TEMP TABLE live_financings AS
SELECT * FROM standing_financings WHERE financing_id IN (SELECT financing_id FROM judged_financings);

-- Every invoice presented as trade background by a live financing, with the amount
-- presented. An invoice-factoring financing whose asset invoice is missing from its
-- invoice list presents that invoice for its face amount.
CREATE OR REPLACE TEMP TABLE presented_invoices AS
SELECT f.financing_id, fi.invoice_no, fi.amount_fen, f.bank_code, f.product, f.value_date
FROM cur_financing_invoices fi JOIN live_financings f USING (financing_id)
UNION ALL
SELECT f.financing_id, f.asset_invoice_no, f.face_amount_fen, f.bank_code, f.product, f.value_date
FROM live_financings f
WHERE f.product = {{Product.INVOICE}} AND f.asset_invoice_no IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM cur_financing_invoices fi
                  WHERE fi.financing_id = f.financing_id AND fi.invoice_no = f.asset_invoice_no);

-- The invoice numbers presented, each once (what the tax data of the night is read for).
CREATE OR REPLACE TEMP TABLE presented_invoice_nos AS
SELECT DISTINCT invoice_no FROM presented_invoices;

-- The tax data of the invoices presented: every invoice numbered as one (blue or red) and every
-- red-letter invoice reversing one, read once a night from the invoices of the book (the columns the
-- checks and the match read: the source's digest and position are not kept in memory).
CREATE OR REPLACE TEMP TABLE presented_tax_invoices AS
SELECT invoice_no, is_red, original_invoice_no, seller_uscc, seller_name, buyer_uscc, buyer_name, amount_fen, tax_fen,
       total_fen, issue_time, remark, line_count, lines_amount_fen, lines_tax_fen, lines_quantity, max_line_tax_gap_fen,
       business_date
FROM cur_tax_invoices
WHERE invoice_no IN (SELECT invoice_no FROM presented_invoice_nos)
   OR original_invoice_no IN (SELECT invoice_no FROM presented_invoice_nos);

-- The value of every blue invoice presented and how much of it has been red-flushed: the larger of
-- the status feed's running total (hcje) and the red-letter invoices reversing it.
CREATE OR REPLACE TEMP TABLE invoice_value AS
WITH red AS (
  SELECT original_invoice_no AS invoice_no, -sum(total_fen) AS red_fen, count(*) AS red_count
  FROM presented_tax_invoices WHERE is_red AND original_invoice_no IN (SELECT invoice_no FROM presented_invoice_nos)
  GROUP BY original_invoice_no
)
SELECT t.invoice_no, t.seller_uscc, t.buyer_uscc, t.total_fen, t.issue_time,
       s.status, s.change_date AS status_date,
       coalesce(s.red_flushed_fen, 0) AS status_red_fen,
       coalesce(red.red_fen, 0) AS red_invoice_fen,
       coalesce(red.red_count, 0) AS red_count,
       greatest(coalesce(s.red_flushed_fen, 0), coalesce(red.red_fen, 0)) AS red_flushed_fen,
       t.total_fen - greatest(coalesce(s.red_flushed_fen, 0), coalesce(red.red_fen, 0)) AS remaining_fen
FROM presented_tax_invoices t
LEFT JOIN cur_tax_invoice_status s USING (invoice_no)
LEFT JOIN red USING (invoice_no)
WHERE NOT t.is_red AND t.invoice_no IN (SELECT invoice_no FROM presented_invoice_nos);

-- The night each financing was first delivered, its row readable or not (kept with the as-of
-- state: reconciliation.session.KEPT).
CREATE OR REPLACE TEMP TABLE financing_first_night AS
SELECT key AS financing_id, since FROM asof_first_financing;

-- financings.csv rows that failed parsing and that no later row of the same financing (readable
-- or not) replaces: the latest word on their financing is that it could not be read.
-- "Later" is the delivery order of warehouse/asof.py (delivery_key); the latest readable row of a
-- financing is its cur_financings version.
CREATE OR REPLACE TEMP TABLE unreadable_financings AS
SELECT r.* EXCLUDE (file_seq, delivery_key) FROM sequenced_rows('cur_financing_rejects') r
WHERE NOT EXISTS (SELECT 1 FROM sequenced_rows('cur_financings') f
                  WHERE f.financing_id = r.financing_id AND f.delivery_key > r.delivery_key)
QUALIFY row_number() OVER (PARTITION BY coalesce(r.financing_id, r.src_sha256 || ':' || r.src_pos)
                           ORDER BY r.delivery_key DESC) = 1;

-- Every asset a financing claims: the live financings, and the unreadable rows of financings
-- known by no readable row (a malformed row still counts against the asset it names).
CREATE OR REPLACE TEMP VIEW asset_claims AS
SELECT financing_id, bank_code, product, asset_ref, asset_voucher_id, asset_cd_no, asset_range_start,
       asset_range_end, financed_amount_fen, false AS unreadable
FROM live_financings
UNION ALL
SELECT financing_id, bank_code, product, asset_ref, asset_voucher_id, asset_cd_no, asset_range_start,
       asset_range_end, NULL, true
FROM unreadable_financings u
WHERE NOT EXISTS (SELECT 1 FROM cur_financings c WHERE c.financing_id = u.financing_id);

-- Not yet is not absent. What may keep evidence from the checks, per source, at the grain of
-- the counterparty that delivers it: a core's fixed-name ERP file (erp/<core>/ap_open_items.csv),
-- one carrier's waybills (logistics/<carrier>/*.xml), the tax platform's invoices (tax/*.xml,
-- one delivery a night), the bill exchange's records (bills/*.xml): the last night it delivered
-- (a late delivery brings the rows of the nights it missed), its files quarantined whole and its
-- quarantined records (whose raw text may name the document), and a last delivery that the
-- data-quality stage found late (after the night's cut-off: the night may have run without it, and
-- what a late source sends is not known complete) or empty (files holding no record).
CREATE OR REPLACE TEMP MACRO evidence_source(rel_path, file_kind) AS
CASE file_kind WHEN 'tax_invoice_xml' THEN 'tax/*.xml'
               WHEN 'waybill_xml' THEN 'logistics/' || split_part(rel_path, '/', 2) || '/*.xml'
               WHEN 'bill_xml' THEN 'bills/*.xml' ELSE rel_path END;

CREATE OR REPLACE TEMP TABLE evidence_last_delivery AS
SELECT evidence_source(rel_path, file_kind) AS source, max(business_date) AS night
FROM files WHERE business_date <= getvariable('business_date') AND file_kind IS NOT NULL
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE evidence_doubtful_delivery AS
SELECT i.source, i.business_date AS night,
       CASE i.check_id WHEN 'DQ_SOURCE_LATE' THEN printf('%s delivered late for %s (after the cut-off)', i.source, i.business_date)
                       ELSE printf('%s delivered no record for %s', i.source, i.business_date) END AS reason
FROM dq_source_issues i JOIN evidence_last_delivery d ON d.source = i.source AND d.night = i.business_date
WHERE i.check_id IN ('DQ_SOURCE_LATE', 'DQ_SOURCE_EMPTY');

CREATE OR REPLACE TEMP TABLE evidence_quarantine AS
SELECT evidence_source(src_path, file_kind) AS source, business_date AS night, src_pos IS NULL AS whole_file, raw,
       CASE WHEN src_pos IS NULL
            THEN printf('%s delivered on %s could not be read (%s)', src_path, business_date, reason_code)
            ELSE printf('record %d of %s delivered on %s naming it could not be read (%s)',
                        src_pos, src_path, business_date, reason_code) END AS reason
FROM quarantine
WHERE business_date <= getvariable('business_date') AND file_kind IS NOT NULL;

-- The last night the engine loaded anything (tonight, when the night has files).
CREATE OR REPLACE TEMP TABLE evidence_latest_night AS
SELECT max(business_date) AS night FROM files WHERE business_date <= getvariable('business_date');

-- The carriers a waybill not found may be awaited from: no waybill names its carrier before it
-- arrives, so every carrier that delivered from evidence_window_days before the night `since` on
-- (a carrier silent longer is no longer expected) and every carrier the configuration requires
-- (dq_required_sources: awaited from the first night, delivered or not); failing those, every
-- carrier that ever delivered; when none ever has, the logistics folder as a whole.
CREATE OR REPLACE TEMP TABLE evidence_carrier_list AS
SELECT list({'source': source, 'night': night, 'required': required}) AS carriers
FROM (
  SELECT source, night, false AS required FROM evidence_last_delivery WHERE source LIKE 'logistics/%'
  UNION ALL
  SELECT trim(s), NULL, true FROM unnest(string_split(getvariable('dq_required_sources'), ';')) AS t(s)
  WHERE trim(s) LIKE 'logistics/%/*.xml'
);

-- (carriers: evidence_carrier_list's one row, joined by the caller; the carriers expected from
-- since, else all of them, as a sorted list of sources)
CREATE OR REPLACE TEMP MACRO evidence_carriers_of(expected, carriers) AS
coalesce(list_sort(list_distinct(list_transform(CASE WHEN len(expected) > 0 THEN expected ELSE carriers END,
                                                lambda c: c.source))),
         ['logistics/*/*.xml']);
CREATE OR REPLACE TEMP MACRO evidence_carriers(since, carriers) AS
evidence_carriers_of(list_filter(carriers, lambda c: c.required OR c.night >= since - getvariable('evidence_window_days')),
                     carriers);

-- Why a "not found" finding is only pending (NULL when it is not), for a finding arising on night
-- since while the evidence window from since is open: an awaited source (a list) that has not
-- delivered since a night from since - evidence_window_days on (or never has), or whose file was
-- quarantined whole in that time, or whose last delivery in that time was late or empty, or whose
-- quarantined record names one of doc_keys.
CREATE OR REPLACE TEMP MACRO evidence_pending(awaited, doc_keys, since) AS (
  SELECT CASE WHEN count(*) > 0
                   AND getvariable('business_date') < since + getvariable('evidence_window_days')
              THEN {'since': since, 'sources': list(DISTINCT t.source ORDER BY t.source),
                    'reasons': list(t.reason ORDER BY t.reason)[1:3],
                    'until': since + getvariable('evidence_window_days')} END
  FROM (
    SELECT a.source, CASE WHEN d.night IS NULL THEN printf('%s has never been delivered', a.source)
                          ELSE printf('%s has not been delivered since %s', a.source, d.night) END AS reason
    FROM (SELECT unnest(awaited) AS source) a
    CROSS JOIN evidence_latest_night n
    LEFT JOIN evidence_last_delivery d ON d.source = a.source
    WHERE n.night >= since - getvariable('evidence_window_days') AND n.night > coalesce(d.night, DATE '0001-01-01')
    UNION ALL
    SELECT b.source, b.reason FROM evidence_doubtful_delivery b
    WHERE list_contains(awaited, b.source) AND b.night >= since - getvariable('evidence_window_days')
    UNION ALL
    SELECT q.source, q.reason FROM evidence_quarantine q
    WHERE list_contains(awaited, q.source)
      AND CASE WHEN q.whole_file THEN q.night >= since - getvariable('evidence_window_days')
               ELSE coalesce(list_bool_or(list_transform(doc_keys, lambda k: contains(q.raw, k))), false) END
  ) t
);

-- A pending finding (see INTERFACES): medium, its detail opening "Evidence pending since <date>:",
-- its evidence holding "pending": true and "pending_since".
CREATE OR REPLACE TEMP MACRO pending_severity(p) AS CASE WHEN p IS NOT NULL THEN {{Severity.MEDIUM}} END;
CREATE OR REPLACE TEMP MACRO pending_detail(p, detail) AS
CASE WHEN p IS NULL THEN detail
     ELSE printf('Evidence pending since %s: awaited from %s (%s); not yet evidence of fraud, it stands if still missing on %s. %s',
                 p.since, array_to_string(p.sources, ', '), array_to_string(p.reasons, '; '), p.until, detail) END;
CREATE OR REPLACE TEMP MACRO pending_evidence(p, evidence) AS
CASE WHEN p IS NULL THEN evidence::JSON
     ELSE json_merge_patch(evidence::JSON, json_object('pending', true, 'pending_since', p.since,
                                                       'awaited_sources', p.sources, 'pending_reasons', p.reasons,
                                                       'stands_from', p.until)) END;
