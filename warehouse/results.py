"""Tables the engine writes (as opposed to the typed input tables of :mod:`warehouse.schemas`).

Each is declared once here (:class:`warehouse.registry.Table`); the module that writes it
inserts by column name (``INSERT INTO t BY NAME …``) and never repeats its DDL.
"""

from __future__ import annotations

import pyarrow as pa

from warehouse.registry import JSON, Column, Table

VARCHAR, DATE, BIGINT, INTEGER, BOOLEAN, BLOB = pa.string(), pa.date32(), pa.int64(), pa.int32(), pa.bool_(), pa.binary()
TEXTS = pa.list_(pa.string())
QUANTITY = pa.decimal128(38, 4)

NIGHT_RUNS = Table(
    "night_runs",
    (
        Column("business_date", pa.date32(), False),
        Column("run_id", pa.string(), False),
        Column("started_at", pa.timestamp("s"), False, "UTC"),
        Column("ended_at", pa.timestamp("s")),
        Column("status", pa.string(), False, "started, succeeded, failed"),
        Column("config_hash", pa.string()),
        Column("error", pa.string(), note='"<step>: <message>" of a failed run'),
    ),
    "Every run of a night (integration.nights): which ran, when, with which configuration, how it ended.",
)

SCHEMA_VERSION = Table(
    "schema_version",
    (
        Column("version", pa.int32(), False, "the migration's number (warehouse/migrations/NNNN_*.sql)"),
        Column("name", pa.string(), False),
        Column("applied_at", pa.timestamp("s"), False, "UTC"),
    ),
    "The migrations this home has had (warehouse.migrations): its tables are those of the last one.",
)

ASOF_PROGRESS = Table(
    "asof_progress",
    (
        Column("as_of", DATE, False, "the night the asof_* tables hold the state of"),
        Column("digest", VARCHAR, False, "the digest of the rows that state rests on (warehouse.asof_state.history_digest)"),
    ),
    "One row: how far the as-of state kept night by night (warehouse.asof_state) has been built.",
)

NIGHT_DIGESTS = Table(
    "night_digests",
    (
        Column("table_name", VARCHAR, False, "a typed table, or files"),
        Column("business_date", DATE, False),
        Column("rows", BIGINT, False, "the night's rows in the table"),
        Column("digest", pa.uint64(), False, "the XOR of the hashes of their lineage (night, file, position)"),
    ),
    "What the as-of state rests on, night by night (warehouse.asof_state.night_digests): computed once for a "
    "night's rows, forgotten when they are cleared (a restated or re-read night).",
)
LEDGER_AUDIT = Table(
    "ledger_audit",
    (
        Column("verified_size", BIGINT, False, "the signed tree size the last nightly gate verified the ledger up to: "
               "the next gate re-hashes the entries from there"),
        Column("lap_size", BIGINT, False, "the running lap of the rotating slice re-hashes entries [0, lap_size)"),
        Column("lap_next", BIGINT, False, "where the next night's slice starts (lap_size: the lap is done)"),
        Column("checked_at", pa.timestamp("s"), False, "UTC"),
    ),
    "One row: how far the nightly integrity gate (integration.audit.night_gate) has verified the ledger.",
)

# ---- ledger (ledger.schema) ---------------------------------------------------------------
LEDGER_ENTRIES = Table(
    "ledger_entries",
    (
        Column("seq", BIGINT, False),
        Column("entry_type", VARCHAR, False, "ISSUE, SPLIT, TRANSFER, FINANCE, SETTLE, CANCEL, FINANCING, "
               "or an event's later status: PENDING, POSTED, VOIDED"),
        Column("event_id", VARCHAR),
        Column("financing_id", VARCHAR),
        Column("voucher_id", VARCHAR, note="the voucher acted on / financed"),
        Column("parent_voucher_id", VARCHAR, note="for SPLIT: the voucher split"),
        Column("business_date", DATE, False, "the night it was appended"),
        Column("content_hash", BLOB, False, "SHA-256 of version ‖ type ‖ content (re-delivery key); "
               "of a status entry: that of the event version it is about"),
        Column("entry", BLOB, False, "canonical bytes (ledger.entries)"),
        Column("leaf_hash", BLOB, False, "SHA-256(0x00 ‖ entry)"),
    ),
    "One row per ledger entry, append-only: the canonical bytes, their leaf hash, and columns copied "
    "out of them for lookups (never trusted by verification).",
    # proofs read O(log n) single nodes and leaves: point lookups through ART indexes
    indexes=(("ledger_entries_seq", ("seq",)),),
)
LEDGER_NODES = Table(
    "ledger_nodes",
    (
        Column("level", pa.int16(), False),
        Column("idx", BIGINT, False),
        Column("last_seq", BIGINT, False, "(idx + 1) * 2^level - 1: grows with insertion order, so zone maps "
               "find a node without an index"),
        Column("hash", BLOB, False),
    ),
    "Every complete interior node of the tree (level ≥ 1), so that proofs cost O(log n) reads; append-only.",
    indexes=(("ledger_nodes_last_seq", ("last_seq",)),),
)
LEDGER_TREE = Table(
    "ledger_tree",
    (
        Column("tree_size", BIGINT, False),
        Column("root_hash", BLOB, False),
        Column("edge", BLOB, False, "the compact range: 32-byte hashes, largest subtree first"),
        Column("last_leaf_hash", BLOB, False),
        Column("business_date", DATE),
    ),
    "One row: the tree size, root, right edge and last leaf hash -- everything an incremental append needs.",
)
LEDGER_CHECKPOINTS = Table(
    "ledger_checkpoints",
    (
        Column("tree_size", BIGINT, False),
        Column("root_hash", BLOB, False),
        Column("origin", VARCHAR, False),
        Column("key_name", VARCHAR, False),
        Column("note", VARCHAR, False),
        Column("business_date", DATE),
    ),
    "Every checkpoint this ledger signed (also written as files).",
)
LEDGER_REJECTIONS = Table(
    "ledger_rejections",
    (
        Column("business_date", DATE, False, "the night the refused version was delivered (a void: the night "
               "its window passed; pending: pending since)"),
        Column("subject", VARCHAR, False, "EVENT, FINANCING or LEDGER"),
        Column("subject_id", VARCHAR, note="the event_id, the financing_id, or the first bad seq"),
        Column("content_hash", BLOB, note="with subject_id, the key that makes re-runs reproduce it"),
        Column("check_id", VARCHAR, False),
        Column("event_id", VARCHAR),
        Column("voucher_id", VARCHAR),
        Column("financing_id", VARCHAR),
        Column("reason", VARCHAR, False),
        Column("evidence", JSON),
        Column("as_of", DATE, note="the night whose decisions this row belongs to"),
    ),
    "Refused events and financings, and pending events, with check id, reason, evidence: the "
    "decisions as of each night run (as_of), replaced on a re-run.",
)
LEDGER_VOUCHER_STATE = Table(
    "ledger_voucher_state",
    (
        Column("voucher_id", VARCHAR, False),
        Column("root_voucher_id", VARCHAR, False),
        Column("parent_voucher_id", VARCHAR),
        Column("issuer_uscc", VARCHAR),
        Column("holder_uscc", VARCHAR),
        Column("tier", INTEGER, False),
        Column("issued_fen", BIGINT, False),
        Column("remaining_fen", BIGINT, False),
        Column("maturity_date", DATE),
        Column("status", VARCHAR, False),
        Column("financing_id", VARCHAR),
        Column("last_seq", BIGINT, False),
        Column("pending_since", DATE, note="support not arrived yet: pending since that night"),
        Column("as_of", DATE, note="the night these states are of"),
    ),
    "The state of every voucher as of the last night run (derived).",
)
LEDGER_PROGRESS = Table(
    "ledger_progress",
    (
        Column("as_of", DATE, False, "the night whose decisions ledger_voucher_state and ledger_rejections hold"),
        Column("window_days", INTEGER, False, "the evidence window they were taken with"),
        Column("inputs_digest", VARCHAR, False, "of the input rows up to that night"),
    ),
    "The night the ledger's stored decisions are of: what the next night builds on (ledger.touched).",
)
LEDGER_INPUT_DIGESTS = Table(
    "ledger_input_digests",
    (
        Column("table_name", VARCHAR, False, "an input table of the ledger (ledger.inputs.INPUT_TABLES)"),
        Column("business_date", DATE, False),
        Column("rows", BIGINT, False, "the night's rows in the table"),
        Column("digest", pa.uint64(), False, "the XOR of the hashes of those rows (every column)"),
    ),
    "The ledger's input rows night by night (derived; ledger.touched): computed once for a night's rows, again when "
    "they are cleared (Warehouse.clear_night) or their count changed; ledger_progress.inputs_digest combines them.",
)
LEDGER_FAMILY_LINKS = Table(
    "ledger_family_links",
    (
        Column("event_id", VARCHAR, False),
        Column("voucher_id", VARCHAR, False, "a voucher the event names (its voucher or its parent)"),
        Column("family_id", VARCHAR, False, "the least voucher id of the family: vouchers joined by the events naming them"),
    ),
    "Every delivered event's links to the vouchers it names, with their voucher family, as of "
    "ledger_progress.as_of (derived; ledger.families, rebuilt on a full replay).",
)
LEDGER_FINGERPRINTS = Table(
    "ledger_fingerprints",
    (
        Column("seq", BIGINT, False, "the FINANCING entry that records it"),
        Column("business_date", DATE, False),
        Column("financing_id", VARCHAR, False),
        Column("kind", VARCHAR, False, "INVOICE_ID, INVOICE_CONTENT, BILL, BILL_RANGE, VOUCHER"),
        Column("digest", BLOB, False, "HMAC-SHA256 under the fingerprint key"),
        Column("amount_fen", BIGINT, note="the amount the asset is presented for, when known"),
    ),
    "Keyed hashes of every financed asset.",
)
PEER_FINGERPRINTS = Table(
    "peer_fingerprints",
    (
        Column("peer", VARCHAR, False, "the bank whose export this is"),
        Column("kind", VARCHAR, False),
        Column("digest", BLOB, False, "under the key the banks share"),
        Column("first_seen", DATE, note="when the peer first financed it"),
        Column("amount_fen", BIGINT, note="what the peer's financing presents it for"),
        Column("imported_on", DATE, False, "the business date from which checks see it"),
    ),
    "Fingerprints exported by other banks sharing the key, imported.",
)
LEDGER_TABLES: tuple[Table, ...] = (
    LEDGER_ENTRIES, LEDGER_NODES, LEDGER_TREE, LEDGER_CHECKPOINTS, LEDGER_REJECTIONS, LEDGER_VOUCHER_STATE,
    LEDGER_PROGRESS, LEDGER_INPUT_DIGESTS, LEDGER_FAMILY_LINKS, LEDGER_FINGERPRINTS, PEER_FINGERPRINTS,
)  # fmt: skip

# ---- reconciliation (reconciliation.findings, reconciliation.matching) ---------------------
FINDINGS = Table(
    "findings",
    (
        Column("finding_id", VARCHAR, False),
        Column("business_date", DATE, False),
        Column("check_id", VARCHAR, False),
        Column("category", VARCHAR, False),
        Column("severity", VARCHAR, False),
        Column("financing_id", VARCHAR),
        Column("voucher_id", VARCHAR),
        Column("invoice_no", VARCHAR),
        Column("bill_ref", VARCHAR),
        Column("waybill_no", VARCHAR),
        Column("detail", VARCHAR, False),
        Column("evidence", VARCHAR),
        Column("first_seen_date", DATE, False),
    ),
    "Every finding of every night (findings.csv of OUTPUTS.md).",
)
FINDING_FIRST_SEEN = Table(
    "finding_first_seen",
    (
        Column("finding_id", VARCHAR, False),
        Column("first_seen_date", DATE, False),
    ),
    "The first night of every finding stored (the least business_date of its rows in findings), kept night by night.",
)


JUDGED_NIGHTS = Table(
    "judged_nights",
    (
        Column("business_date", DATE, False),
        Column("settings_digest", VARCHAR, False, "the checks, parameters and session SQL (reconciliation.scope.settings_digest)"),
        Column("scope", VARCHAR, False, "every financing judged, and why, or how many on top of the night before"),
    ),
    "How each night's findings were judged (reconciliation.scope): whole, or again for the financings touched.",
)

def _first_nights(name: str, what: str) -> Table:
    return Table(name, (Column("key", VARCHAR, False), Column("since", DATE, False)),
                 f"The first night each {what} was delivered, kept with the as-of state (warehouse.asof_state.FirstNights).")


FIRST_FINANCING_NIGHTS = _first_nights("asof_first_financing", "financing (readable row or not)")
FIRST_VOUCHER_ISSUERS = _first_nights("asof_first_voucher_issuer", "issuer of a voucher ISSUE event")
NIGHT_FINDINGS = Table(
    "night_findings",
    (
        Column("check_id", VARCHAR),
        Column("category", VARCHAR),
        Column("severity", VARCHAR, note="as the check's query gave it: refused unless a Severity"),
        Column("financing_id", VARCHAR),
        Column("voucher_id", VARCHAR),
        Column("invoice_no", VARCHAR),
        Column("bill_ref", VARCHAR),
        Column("waybill_no", VARCHAR),
        Column("detail", VARCHAR),
        Column("evidence", VARCHAR),
    ),
    "The checks' rows of the night being judged, before finding ids are given and they are stored in findings.",
    temp=True,
)
FINANCING_VERDICTS = Table(
    "financing_verdicts",
    (
        Column("business_date", DATE, False),
        Column("financing_id", VARCHAR, False),
        Column("verdict", VARCHAR, False),
        Column("check_ids", VARCHAR, False),
        Column("bank_code", VARCHAR),
        Column("product", VARCHAR),
        Column("applicant_uscc", VARCHAR),
        Column("debtor_uscc", VARCHAR),
        Column("financed_amount_fen", BIGINT),
        Column("status", VARCHAR),
        Column("verdict_since", DATE, False),
        Column("dropped", BOOLEAN, False, "the financing is no longer named by a delivered row (the row keeps its last verdict)"),
    ),
    "The verdicts of the financings named by a delivered row, stored as changes (reconciliation.changes): a row "
    "the night a financing's verdict row or its matches changed; as of night D, each financing's latest row up to D "
    "(warehouse.asof.verdicts_as_of_sql: financing_status.csv).",
)
VERDICT_NIGHTS = Table(
    "verdict_nights",
    (Column("business_date", DATE, False),),
    "Every night whose verdicts and matches are stored (as changes: a night may have none): what the as-of "
    "readers of a later night rest on (reconciliation.changes).",
)
TRADE_MATCHES = Table(
    "trade_matches",
    (
        Column("business_date", DATE, False),
        Column("financing_id", VARCHAR, False),
        Column("invoice_no", VARCHAR, False),
        Column("bank_code", VARCHAR),
        Column("product", VARCHAR),
        Column("asset_ref", VARCHAR),
        Column("voucher_id", VARCHAR),
        Column("value_date", DATE),
        Column("applicant_uscc", VARCHAR),
        Column("presented_fen", BIGINT),
        Column("invoice_known", BOOLEAN),
        Column("tier", INTEGER),
        Column("seller_uscc", VARCHAR),
        Column("buyer_uscc", VARCHAR),
        Column("invoice_total_fen", BIGINT),
        Column("invoice_date", DATE),
        Column("invoice_quantity", QUANTITY),
        Column("order_refs", TEXTS),
        Column("po_outcome", VARCHAR, False),
        Column("po_candidates", BIGINT),
        Column("po_core_uscc", VARCHAR),
        Column("po_ebelns", TEXTS),
        Column("po_date", DATE),
        Column("ap_outcome", VARCHAR, False),
        Column("ap_candidates", BIGINT),
        Column("ap_refs", TEXTS),
        Column("ap_net_fen", BIGINT),
        Column("gr_outcome", VARCHAR, False),
        Column("gr_candidates", BIGINT),
        Column("gr_docs", TEXTS),
        Column("gr_quantity", QUANTITY),
        Column("gr_last_date", DATE),
        Column("searched_orders", TEXTS),
        Column("waybill_outcome", VARCHAR, False),
        Column("waybill_candidates", BIGINT),
        Column("waybill_method", VARCHAR),
        Column("waybill_nos", TEXTS),
        Column("waybill_quantity", QUANTITY),
        Column("instrument_outcome", VARCHAR, False),
        Column("instrument_candidates", BIGINT),
        Column("instrument_refs", TEXTS),
        Column("evidence_night", DATE),
    ),
    "The four-flow match of the presented invoices (reconciliation.matching), stored as changes: a financing's "
    "rows of the night of its latest financing_verdicts row up to night D are its matches as of D "
    "(warehouse.asof.matches_as_of_sql).",
)
STANDING_VERDICTS = Table(
    "standing_verdicts",
    FINANCING_VERDICTS.columns,
    "Each financing's latest financing_verdicts row (dated its own night, dropped ones too) as of the night of "
    "standing_night, kept by each night's store (reconciliation.standing): the verdicts as of that night, and "
    "(its trade_matches rows of the row's night) the matches.",
)
STANDING_MATCHES = Table(
    "standing_matches",
    TRADE_MATCHES.columns,
    "Each financing's trade_matches rows of the night of its standing_verdicts row (none when that row says it is "
    "dropped), kept with standing_verdicts by each night's store (reconciliation.standing): the matches as of "
    "standing_night, read by the night's scope instead of joining every stored match to the standing rows.",
)
STANDING_NIGHT = Table(
    "standing_night",
    (
        Column("business_date", DATE, False, "the last night whose verdicts are stored"),
        Column("verdict_rows", BIGINT, False, "financing_verdicts' row count when standing_verdicts was made"),
        Column("match_rows", BIGINT, False, "trade_matches' row count then"),
    ),
    "The night standing_verdicts and standing_matches are of, and what they were made from (one row, or none: "
    "not kept yet; reconciliation.standing makes it again when the stored rows are not those counted).",
)

# ---- data quality (quality.registry, quality.validate) --------------------------------------
DQ_SOURCE_ISSUES = Table(
    "dq_source_issues",
    (
        Column("business_date", DATE, False),
        Column("check_id", VARCHAR, False),
        Column("source", VARCHAR, False),
        Column("blocking", BOOLEAN, False),
        Column("detail", VARCHAR, False),
        Column("evidence", VARCHAR, False),
    ),
    "The night's source-level data-quality issues: missing, late, drifted sources.",
)
DQ_RESULTS = Table(
    "dq_results",
    (
        Column("business_date", DATE, False),
        Column("source", VARCHAR, False),
        Column("suite", VARCHAR, False),
        Column("expectation", VARCHAR, False),
        Column("dimension", VARCHAR, False),
        Column("success", BOOLEAN, False),
        Column("observed_value", VARCHAR),
        Column("element_count", BIGINT),
        Column("unexpected_count", BIGINT),
        Column("unexpected_share", pa.float64()),
        Column("sample", VARCHAR),
    ),
    "The result of every expectation validated on a night (Great Expectations suites).",
)

# ---- pools (pools.registry) -----------------------------------------------------------------
POOLS = Table(
    "pools",
    (
        Column("pool_id", VARCHAR, False),
        Column("cutoff_date", DATE, False),
        Column("status", VARCHAR, False),
        Column("bank_code", VARCHAR, False),
        Column("criteria_sha256", VARCHAR, False),
        Column("total_fen", BIGINT, False),
        Column("asset_count", BIGINT, False),
        Column("manifest_sha256", VARCHAR, False),
        Column("released_on", DATE),
    ),
    "The register of ABS pools, one row per cut.",
)
POOL_ASSETS = Table(
    "pool_assets",
    (
        Column("pool_id", VARCHAR, False),
        Column("financing_id", VARCHAR, False),
        Column("asset_key", VARCHAR, False),
        Column("outstanding_fen", BIGINT, False),
        Column("added_on", DATE, note="cut-off or replenishment night"),
        Column("sold_on", DATE),
    ),
    "The assets of every pool.",
)

# ---- worklist (dispositions.effective) ------------------------------------------------------
DISPOSITION_LOG = Table(
    "disposition_log",
    (
        Column("seq", INTEGER, False),
        Column("line", VARCHAR, False),
        Column("head", VARCHAR, False),
        Column("night", DATE, False),
        Column("after_night", DATE, False),
        Column("finding_id", VARCHAR, False),
        Column("action", VARCHAR, False),
        Column("user", VARCHAR, False),
        Column("assignee", VARCHAR),
        Column("reason_code", VARCHAR),
        Column("comment", VARCHAR),
        Column("evidence_sha256", VARCHAR),
        Column("recorded_at", VARCHAR, False),
    ),
    "The warehouse's copy of the dispositions trail, line by line.",
)
FINDING_DISPOSITIONS = Table(
    "finding_dispositions",
    (
        Column("business_date", DATE, False),
        Column("finding_id", VARCHAR, False),
        Column("status", VARCHAR, False),
        Column("age_nights", INTEGER, False),
        Column("assignee", VARCHAR),
        Column("reason_code", VARCHAR),
        Column("comment", VARCHAR),
        Column("waived_by", VARCHAR),
        Column("approved_by", VARCHAR),
        Column("last_action", VARCHAR),
        Column("last_user", VARCHAR),
        Column("last_at", VARCHAR),
    ),
    "Each night's worklist state of every finding, folded from the trail.",
)
FINDING_AGES = Table(
    "finding_ages",
    (
        Column("finding_id", VARCHAR, False),
        Column("age_nights", INTEGER, False, "the nights it was found on, up to last_night"),
        Column("last_night", DATE, False, "the last night it was found on"),
    ),
    "Every finding's age in nights, kept night by night (dispositions.effective): its rows up to the "
    "latest last_night counted.",
)
NIGHT_ACTED = Table(
    "night_acted",
    tuple(Column(c.name, c.type) for c in FINDING_DISPOSITIONS.columns if c.name not in ("business_date", "age_nights")),
    "The findings of the night someone acted on, with their folded state (read into finding_dispositions).",
    temp=True,
)

RESULT_TABLES: tuple[Table, ...] = (
    SCHEMA_VERSION, NIGHT_RUNS, *LEDGER_TABLES, FINDINGS, FINDING_FIRST_SEEN, FIRST_FINANCING_NIGHTS, FIRST_VOUCHER_ISSUERS,
    FINANCING_VERDICTS, VERDICT_NIGHTS, TRADE_MATCHES, STANDING_VERDICTS, STANDING_MATCHES, STANDING_NIGHT,
    DQ_SOURCE_ISSUES, DQ_RESULTS, POOLS, POOL_ASSETS, DISPOSITION_LOG,
    FINDING_DISPOSITIONS, FINDING_AGES,
    ASOF_PROGRESS, JUDGED_NIGHTS, NIGHT_DIGESTS, LEDGER_AUDIT,
)  # fmt: skip
"""The tables of the home (created, migrated and checked by :mod:`warehouse.migrations`)."""

SESSION_TABLES: tuple[Table, ...] = (NIGHT_FINDINGS, NIGHT_ACTED)
"""The declared scratch tables of one night's session (``temp``: never in the home)."""
