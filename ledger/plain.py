"""Plain voucher families, decided and encoded by DuckDB set work (issue 15 §2).

Most voucher families on a night are *plain*: an ISSUE whose payable is in its core's ERP,
splits of that root, transfers and one FINANCE per voucher, every event new to the tree and
delivered once, each move by the holder of the whole remaining amount, no refusal candidate.
The Python decider (:func:`ledger.invariants.decide_event`) accepts every event of such a
family, posted; :func:`mark_plain` recognises those families in SQL (window functions over
each voucher's events in replay order: holder, remaining amount, finality, inheritance,
the first financing, the payable) and computes, for their events, the canonical content
(:func:`ledger.entries.encode_record`, byte for byte; as the rows are read,
:func:`with_plain_content`) and the voucher states they end in (:func:`plain_vouchers`).  The
caller hashes the contents and chains the leaf hashes, with no record object and no decision.

The rule is conservative: anything it does not prove (text that Python would read
otherwise -- blank, or starting with a non-ASCII or space character --, a split of a split,
SETTLE or CANCEL, a pending payable, a voucher created twice, an event already in the tree,
an event delivered twice, a time not in ``YYYY-MM-DDTHH:MM:SS+08:00``, a negative or absent
invoice amount…) sends the whole family to the Python decider, which stays the oracle
(``tests/ledger/test_plain.py``).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from foundation.vocabulary import EventType
from ledger.entries import _KINDS, InvoiceAmount, VoucherEvent
from ledger.invariants import ACTIVE, FINANCED, VoucherState
from ledger.store import fetch_one
from warehouse.asof import delivery_order, sequenced

PLAIN_EVENTS = "_ledger_plain_events"
"""Temporary table: the replay position (``_ord``) of each event of a plain family, its invoices'
count (``n``) and encoded items (``items``, hex)."""
PLAIN_VOUCHERS = "_ledger_plain_vouchers"
"""Temporary table: the voucher state (:class:`ledger.invariants.VoucherState` columns) each
voucher of a plain family ends the night in."""

_ISSUE, _SPLIT, _TRANSFER, _FINANCE = (f"'{t}'" for t in (EventType.ISSUE, EventType.SPLIT, EventType.TRANSFER,
                                                          EventType.FINANCE))
_NULL = "'FFFFFFFF'"
_CHINA_TIME = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+]08:00"
"""An event time whose China date is its first ten characters (a FINANCE event's date, as
:func:`ledger.invariants.event_date` reads it)."""

# Hex of canonical fields (ledger.entries' field codecs), for values the rule has proven plain.
_MACROS = f"""
CREATE OR REPLACE TEMP MACRO _ledger_text_ok(x) AS x IS NULL OR x = '' OR left(x, 1) BETWEEN '!' AND '~';
CREATE OR REPLACE TEMP MACRO _ledger_id_ok(x) AS x IS NOT NULL AND x <> '' AND left(x, 1) BETWEEN '!' AND '~';
CREATE OR REPLACE TEMP MACRO _ledger_lp(h) AS lpad(hex(length(h) // 2), 8, '0') || h;
CREATE OR REPLACE TEMP MACRO _ledger_lp_text(x) AS
    CASE WHEN x IS NULL OR x = '' THEN {_NULL} ELSE lpad(hex(strlen(x)), 8, '0') || hex(x) END;
CREATE OR REPLACE TEMP MACRO _ledger_lp_int(x) AS
    CASE WHEN x IS NULL THEN {_NULL} ELSE '00000008' || printf('%016X', CAST(x AS BIGINT)) END;
CREATE OR REPLACE TEMP MACRO _ledger_lp_date(x) AS
    CASE WHEN x IS NULL THEN {_NULL} ELSE '0000000A' || hex(strftime(x, '%Y-%m-%d')) END
"""

_TEXT_COLUMNS = ("event_id", "event_time_text", "event_type", "voucher_id", "parent_voucher_id", "issuer_uscc",
                 "from_uscc", "to_uscc", "ap_ref", "financing_id")
_FIELD_SQL = {
    "invoices": "_ledger_lp(lpad(hex(p.n), 8, '0') || p.items)",
    "event_time": "_ledger_lp_text(event_time_text)",
    "amount_fen": "_ledger_lp_int(amount_fen)",
    "maturity_date": "_ledger_lp_date(maturity_date)",
}
_CONTENT_HEX = " || ".join(
    [f"'{len(_KINDS[VoucherEvent]):04X}'"]
    + [_FIELD_SQL.get(name, f"_ledger_lp_text({name})") for name in _KINDS[VoucherEvent]]
)
"""VoucherEvent's canonical content (field count, then each field in schema order), as hex."""

_SAFE_ROW = " AND ".join(f"_ledger_text_ok({c})" for c in _TEXT_COLUMNS)


_NARROW = ("_ord, event_id, event_type, voucher_id, parent_voucher_id, issuer_uscc, from_uscc, to_uscc, amount_fen, "
           "maturity_date, ap_ref, financing_id, event_time_text")


def _steps(universe: str) -> list[str]:
    """The statements that fill :data:`PLAIN_EVENTS` and :data:`PLAIN_VOUCHERS` from the
    ordered night table ``universe`` (:func:`ledger.inputs.events_as_of`: ``_ord`` is the replay order)."""
    return [
        # what decides: each row's fields, its event's delivered row count, whether its text and invoices read plainly
        f"""
        CREATE OR REPLACE TEMP TABLE _ledger_p_rows AS
        SELECT {_NARROW}, _first_night, count(*) OVER (PARTITION BY event_id) = 1
            AND _ledger_id_ok(event_id) AND _ledger_id_ok(event_time_text) AND {_SAFE_ROW}
            AND (maturity_date IS NULL OR year(maturity_date) BETWEEN 1000 AND 9999)
            AND coalesce(list_bool_and(list_transform(invoices, lambda x: _ledger_text_ok(x.no) AND x.fen IS NOT NULL)), true)
            AND (len(invoices) > 0 OR invoice_nos IS NULL OR invoice_nos = '') AS _readable
        FROM {universe}
        """,
        # vouchers created exactly once; the family root of an ISSUE's voucher and of its direct splits
        f"""
        CREATE OR REPLACE TEMP TABLE _ledger_p_roots AS
        WITH created AS (
            SELECT voucher_id AS v, any_value(event_type) AS how, any_value(parent_voucher_id) AS p,
                   any_value(issuer_uscc) AS r_issuer, any_value(maturity_date) AS r_maturity
            FROM _ledger_p_rows WHERE event_type IN ({_ISSUE}, {_SPLIT}) AND _ledger_id_ok(voucher_id)
            GROUP BY voucher_id HAVING count(*) = 1
        ), issued AS (SELECT v, r_issuer, r_maturity FROM created WHERE how = {_ISSUE})
        SELECT v, v AS root, r_issuer, r_maturity FROM issued
        UNION ALL
        SELECT c.v, i.v, i.r_issuer, i.r_maturity FROM created c JOIN issued i ON i.v = c.p WHERE c.how = {_SPLIT}
        """,
        # each event's families (of its voucher, of its parent) and whether it is accepted on its own
        # (text, invoices, type, new to the tree; an ISSUE's payable, a FINANCE event's date and first financing)
        f"""
        CREATE OR REPLACE TEMP TABLE _ledger_p_events AS
        WITH payables AS (
            SELECT p.core_uscc, p.ap_ref, min(p.business_date) AS night FROM erp_ap_items p
            JOIN (SELECT DISTINCT issuer_uscc, ap_ref FROM _ledger_p_rows WHERE event_type = {_ISSUE}) w
              ON w.issuer_uscc = p.core_uscc AND w.ap_ref = p.ap_ref
            WHERE p.business_date <= $d GROUP BY ALL
        ), firsts AS (
            SELECT financing_id, asset_voucher_id, face_amount_fen, bank_code, applicant_uscc
            FROM {sequenced("financings")} f
            WHERE business_date <= $d AND financing_id IN (SELECT financing_id FROM _ledger_p_rows
                                                            WHERE event_type = {_FINANCE})
            QUALIFY row_number() OVER (PARTITION BY financing_id
                                       ORDER BY business_date, {delivery_order(latest_first=True, within_night=True)}) = 1
        ), in_tree AS (
            SELECT DISTINCT event_id FROM ledger_entries
            WHERE event_id IN (SELECT event_id FROM _ledger_p_rows)
        )
        SELECT u._ord, u.event_id, u.event_type, u.voucher_id, u.issuer_uscc, u.from_uscc, u.to_uscc, u.amount_fen,
            u.maturity_date, u.financing_id, u.parent_voucher_id,
            rv.root AS fam_v, rp.root AS fam_p, rv.r_issuer, rv.r_maturity,
            u._readable AND u.event_type IN ({_ISSUE}, {_SPLIT}, {_TRANSFER}, {_FINANCE}) AND rv.root IS NOT NULL
            AND CASE WHEN u.event_type = {_SPLIT} THEN rp.root = rv.root ELSE nullif(u.parent_voucher_id, '') IS NULL END
            AND t.event_id IS NULL
            AND (u.event_type <> {_ISSUE} OR u.amount_fen > 0 AND _ledger_id_ok(u.issuer_uscc) AND _ledger_id_ok(u.ap_ref)
                AND (nullif(u.from_uscc, '') IS NULL OR u.from_uscc = u.issuer_uscc)
                AND p.night <= least($d, u._first_night + $w))
            AND (u.event_type <> {_FINANCE} OR (
                (rv.r_maturity IS NULL OR regexp_full_match(u.event_time_text, '{_CHINA_TIME}')
                    AND TRY_CAST(left(u.event_time_text, 10) AS DATE) < rv.r_maturity)
                AND (f.financing_id IS NULL OR (
                    _ledger_text_ok(f.asset_voucher_id) AND _ledger_text_ok(f.bank_code) AND _ledger_text_ok(f.applicant_uscc)
                    AND u.voucher_id IS NOT DISTINCT FROM nullif(f.asset_voucher_id, '')
                    AND u.amount_fen IS NOT DISTINCT FROM f.face_amount_fen
                    AND nullif(u.to_uscc, '') IS NOT DISTINCT FROM nullif(f.bank_code, '')
                    AND nullif(u.from_uscc, '') IS NOT DISTINCT FROM nullif(f.applicant_uscc, ''))))) AS _row_ok
        FROM _ledger_p_rows u
        LEFT JOIN _ledger_p_roots rv ON rv.v = u.voucher_id
        LEFT JOIN _ledger_p_roots rp ON rp.v = u.parent_voucher_id
        LEFT JOIN payables p ON p.core_uscc = u.issuer_uscc AND p.ap_ref = u.ap_ref AND u.event_type = {_ISSUE}
        LEFT JOIN firsts f ON f.financing_id = nullif(u.financing_id, '') AND u.event_type = {_FINANCE}
        LEFT JOIN in_tree t ON t.event_id = u.event_id
        """,
        # each voucher's acts (the events naming it: as its voucher, or as the parent a split draws on) in
        # replay order, with the holder, the amount left, the transfers and finality before each
        f"""
        CREATE OR REPLACE TEMP TABLE _ledger_p_acts AS
        SELECT *,
            row_number() OVER w AS k,
            lag(nullif(to_uscc, '')) OVER w AS holder_before,
            first_value(amount_fen) OVER w AS issued,
            sum(split_fen) OVER w - split_fen AS split_before,
            sum(finance) OVER w - finance AS finals_before,
            sum(transfer) OVER w - transfer AS transfers_before
        FROM (
            SELECT voucher_id AS v, false AS is_parent, fam_v AS fam, 0 AS split_fen,
                   CAST(event_type = {_FINANCE} AS INTEGER) AS finance, CAST(event_type = {_TRANSFER} AS INTEGER) AS transfer, *
            FROM _ledger_p_events WHERE fam_v IS NOT NULL
            UNION ALL
            SELECT parent_voucher_id, true, fam_p, coalesce(amount_fen, 0), 0, 0, *
            FROM _ledger_p_events WHERE fam_p IS NOT NULL AND event_type = {_SPLIT}
        )
        WINDOW w AS (PARTITION BY v ORDER BY _ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        """,
        # a family is plain when every event naming one of its vouchers is accepted as the Python decider would
        f"""
        CREATE OR REPLACE TEMP TABLE _ledger_p_bad AS
        SELECT DISTINCT fam FROM _ledger_p_acts WHERE NOT coalesce(_row_ok AND CASE
            WHEN k = 1 THEN NOT is_parent AND event_type IN ({_ISSUE}, {_SPLIT})
            WHEN is_parent THEN finals_before = 0
                AND nullif(from_uscc, '') IS NOT DISTINCT FROM holder_before
                AND nullif(to_uscc, '') IS NOT DISTINCT FROM holder_before
                AND amount_fen > 0 AND amount_fen <= issued - split_before
                AND (nullif(issuer_uscc, '') IS NULL OR issuer_uscc IS NOT DISTINCT FROM r_issuer)
                AND (maturity_date IS NULL OR maturity_date IS NOT DISTINCT FROM r_maturity)
            ELSE event_type IN ({_TRANSFER}, {_FINANCE}) AND finals_before = 0
                AND nullif(from_uscc, '') IS NOT DISTINCT FROM holder_before
                AND amount_fen = issued - split_before
            END, false)
        UNION
        SELECT fam_p FROM _ledger_p_events WHERE fam_p IS NOT NULL AND fam_p IS DISTINCT FROM fam_v
        UNION
        SELECT fam_v FROM _ledger_p_events WHERE fam_v IS NOT NULL AND fam_p IS NOT NULL AND fam_p <> fam_v
        """,
        # the plain events, in replay order, with their invoice list's count and items (canonical
        # order: by number, then amount) encoded
        f"""
        CREATE OR REPLACE TEMP TABLE {PLAIN_EVENTS} AS
        WITH plain AS (
            SELECT u._ord, u.business_date, u.src_sha256, u.event_id FROM {universe} u
            SEMI JOIN (SELECT e._ord FROM _ledger_p_events e ANTI JOIN _ledger_p_bad b ON b.fam = e.fam_v
                       WHERE e.fam_v IS NOT NULL) e ON e._ord = u._ord
        ), inv AS (
            SELECT p._ord, count(*) AS n, string_agg(
                _ledger_lp('{len(_KINDS[InvoiceAmount]):04X}' || _ledger_lp_text(i.invoice_no) || _ledger_lp_int(i.amount_fen)),
                '' ORDER BY coalesce(i.invoice_no, ''), i.amount_fen) AS items
            FROM plain p JOIN voucher_event_invoices i
              ON i.business_date = p.business_date AND i.src_sha256 = p.src_sha256 AND i.event_id = p.event_id
            GROUP BY p._ord
        )
        SELECT p._ord, coalesce(inv.n, 0) AS n, coalesce(inv.items, '') AS items FROM plain p LEFT JOIN inv USING (_ord)
        ORDER BY p._ord
        """,
        # the state each voucher of a plain family ends in (its last act: holder; every act: amounts, tier)
        f"""
        CREATE OR REPLACE TEMP TABLE {PLAIN_VOUCHERS} AS
        WITH last AS (
            SELECT v, any_value(fam) AS fam, any_value(r_issuer) AS r_issuer, any_value(r_maturity) AS r_maturity,
                   arg_max(nullif(to_uscc, ''), _ord) AS holder, arg_min(amount_fen, _ord) AS issued,
                   sum(split_fen) AS splits, sum(transfer) AS transfers, sum(finance) > 0 AS financed,
                   max(CASE WHEN finance = 1 THEN nullif(financing_id, '') END) AS financing
            FROM _ledger_p_acts a ANTI JOIN _ledger_p_bad b ON b.fam = a.fam GROUP BY v
        )
        SELECT l.v AS voucher_id, l.fam AS root_voucher_id, CASE WHEN l.v <> l.fam THEN l.fam END AS parent_voucher_id,
               nullif(l.r_issuer, '') AS issuer_uscc, l.holder AS holder_uscc,
               CAST(1 + l.transfers + coalesce(s.transfers_before, 0) AS INTEGER) AS tier,
               l.issued AS issued_fen, l.issued - l.splits AS remaining_fen, l.r_maturity AS maturity_date,
               CASE WHEN l.financed THEN '{FINANCED}' ELSE '{ACTIVE}' END AS status, l.financing AS financing_id,
               CAST(NULL AS DATE) AS pending_since
        FROM last l
        LEFT JOIN _ledger_p_acts s ON l.v <> l.fam AND s.v = l.fam AND s.is_parent AND s.voucher_id = l.v
        """,
    ]


def mark_plain(con: duckdb.DuckDBPyConnection, universe: str, as_of: dt.date, window_days: int) -> int:
    """Fill :data:`PLAIN_EVENTS` and :data:`PLAIN_VOUCHERS` from the night's ordered events
    (table ``universe``), as decided as of ``as_of`` with an evidence window of ``window_days``;
    returns how many events are plain."""
    for statement in filter(str.strip, _MACROS.split(";")):
        con.execute(statement)
    for statement in _steps(universe):
        con.execute(statement, {k: v for k, v in {"d": as_of, "w": window_days}.items() if f"${k}" in statement})
    for scratch in ("_ledger_p_rows", "_ledger_p_roots", "_ledger_p_events", "_ledger_p_acts", "_ledger_p_bad"):
        con.execute(f"DROP TABLE {scratch}")
    row = fetch_one(con, f"SELECT count(*) FROM {PLAIN_EVENTS}")
    return int(row[0]) if row else 0


def with_plain_content(universe: str, content: str) -> str:
    """A FROM item: the rows of ``universe`` with the canonical content (column ``content``) of
    the plain events' rows, null for the others (after :func:`mark_plain`).  Computed as the rows
    are read (a page at a time: the ``_ord`` range of the reader reaches both tables)."""
    return (f"(SELECT t.*, CASE WHEN p._ord IS NOT NULL THEN unhex({_CONTENT_HEX}) END AS {content} "
            f"FROM {universe} t LEFT JOIN {PLAIN_EVENTS} p USING (_ord))")


def plain_vouchers(con: duckdb.DuckDBPyConnection) -> dict[str, VoucherState]:
    """The states the vouchers of the plain families end the night in (:data:`PLAIN_VOUCHERS`)."""
    page = con.sql(f"SELECT {', '.join(VoucherState._fields)} FROM {PLAIN_VOUCHERS}").to_arrow_table()
    return {row[0]: VoucherState(*row) for row in zip(*(page.column(i).to_pylist() for i in range(page.num_columns)), strict=True)}


def drop_plain(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary tables of :func:`mark_plain`."""
    for table in (PLAIN_EVENTS, PLAIN_VOUCHERS):
        con.execute(f"DROP TABLE IF EXISTS {table}")
