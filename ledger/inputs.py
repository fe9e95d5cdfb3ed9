"""What the ledger reads from the warehouse's typed tables (warehouse.schemas).

* every voucher event (+ its invoices) delivered up to a night, in replay order, a batch at a time;
* every financing (+ its presented invoices) delivered up to a night, by id and night, in batches;
* the first version (as of a night) of given financings, the latest of tax invoices; when payables arrived.

Rows become :mod:`ledger.entries` records: empty text is null, invoices are in canonical
order, the rate is an integer in millionths.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from foundation.values import parse_invoice_refs
from ledger.entries import FinancingRecord, InvoiceAmount, VoucherEvent, invoice_lists, records_from_columns
from ledger.invariants import FinancingTerms
from ledger.store import fetch_one
from warehouse.asof import delivery_order, sequenced

BATCH_ROWS = 100_000  # records of a night held as Python objects at a time (read per call)
INPUT_TABLES = (
    "voucher_events",
    "voucher_event_invoices",
    "financings",
    "financing_invoices",
    "erp_ap_items",
    "tax_invoices",
)
"""The typed tables the ledger's decisions rest on."""

_T = TypeVar("_T")
_night_tables = itertools.count()

_EVENT_COLUMNS = (
    "event_id", "event_time_text", "event_type", "voucher_id", "parent_voucher_id",
    "issuer_uscc", "from_uscc", "to_uscc", "amount_fen", "maturity_date", "ap_ref", "financing_id",
    "invoice_nos",
)
_FINANCING_COLUMNS = (
    "financing_id", "bank_code", "product", "applicant_uscc", "debtor_uscc", "asset_ref",
    "asset_voucher_id", "asset_cd_no", "asset_range_start", "asset_range_end", "asset_invoice_no",
    "face_amount_fen", "financed_amount_fen", "rate", "value_date", "maturity_date", "status",
    "invoice_nos",
)


def _parsed(delivered: str | None) -> Sequence[tuple[str | None, int | None]]:
    try:
        return parse_invoice_refs(delivered)
    except ValueError:  # the loader quarantines such rows; keep what the table holds
        return []


def _invoices(page: pa.Table) -> list[tuple[InvoiceAmount, ...]]:
    """Each row's invoice citations: its ``invoices`` (the child table's ``{no, fen}`` list, read
    flattened: no Python dict per invoice), or parsed from the delivered text if it has none."""
    column = page.column("invoices").combine_chunks()
    flat = column.flatten()
    pairs = list(zip(flat.field("no").to_pylist(), flat.field("fen").to_pylist(), strict=True))
    rows: list[Sequence[tuple[str | None, int | None]]] = []
    at = 0
    for n, delivered in zip(pc.fill_null(pc.list_value_length(column), 0).to_pylist(), _values(page, "invoice_nos"),
                            strict=True):
        rows.append(pairs[at : at + n] if n else _parsed(delivered))
        at += n
    return invoice_lists(rows)


def _values(page: pa.Table, name: str) -> list[Any]:
    """A column of a page as Python values; dates and times are made once per distinct value
    (Arrow makes a new object per row, the slowest part of reading a page)."""
    column = page.column(name)
    if not pa.types.is_temporal(column.type):
        return column.to_pylist()
    encoded = column.combine_chunks().dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    return [None if i is None else distinct[i] for i in encoded.indices.to_pylist()]


def _text(page: pa.Table, name: str) -> list[Any]:
    """A column through :func:`~ledger.entries.none_if_empty` (blank text is null; a column of
    numbers, dates or booleans holds no text and is read as it is)."""
    values = _values(page, name)
    kind = page.schema.field(name).type
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind) or pa.types.is_temporal(kind) or pa.types.is_boolean(kind):
        return values
    return [None if type(v) is str and (not v or v.isspace()) else v for v in values]


def _event_times(page: pa.Table) -> list[str | None]:
    """The delivered time text; if a loader left it out, the China-time timestamp with offset."""
    texts = _text(page, "event_time_text")
    if None not in texts:
        return texts
    return [
        text if text is not None else (None if moment is None else moment.isoformat() + "+08:00")
        for text, moment in zip(texts, _values(page, "event_time"), strict=True)
    ]


def events_from_page(page: pa.Table) -> list[VoucherEvent]:
    """The :class:`VoucherEvent` of each row of a page of ``voucher_events`` with its invoice pairs."""
    columns = {name: _text(page, name) for name in _EVENT_COLUMNS if name not in ("event_time_text", "invoice_nos")}
    columns["event_time"] = _event_times(page)
    columns["invoices"] = _invoices(page)
    return records_from_columns(VoucherEvent, columns)


def rate_micros(rate: Decimal | None) -> int | None:
    """An annual rate as an integer number of millionths (exact for decimal(9, 6))."""
    if rate is None:
        return None
    micros = Decimal(rate) * 1_000_000
    if micros != micros.to_integral_value():
        raise ValueError(f"rate {rate} is finer than a millionth")
    return int(micros)


def financings_from_page(page: pa.Table) -> list[FinancingRecord]:
    """The :class:`FinancingRecord` of each row of a page of ``financings`` with its invoice pairs."""
    rates = _values(page, "rate")
    micros = {rate: rate_micros(rate) for rate in set(rates)}  # a few distinct rates a night
    columns = {name: _text(page, name) for name in _FINANCING_COLUMNS if name not in ("rate", "invoice_nos")}
    columns["invoices"] = _invoices(page)
    columns["rate_micros"] = [micros[rate] for rate in rates]
    return records_from_columns(FinancingRecord, columns)


def _page(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pa.Table:
    """The result of ``sql`` as an Arrow table (no Python object per row)."""
    return con.sql(sql, params=list(params)).to_arrow_table()


def _ordered_batches(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any],
    order_by: str,
    convert: Callable[[pa.Table], list[_T]],
) -> Iterator[list[_T]]:
    """The rows of ``sql`` sorted by ``order_by`` (its output columns), converted,
    :data:`BATCH_ROWS` at a time.

    The result is sorted once into a temporary table (held by DuckDB, which may spill it
    to disk) and read back a page of positions at a time, as columns, so that only one
    batch is held as Python objects and no result stays open on the connection between
    batches: the caller queries and writes on it while it consumes them.  The table is
    dropped once the last batch is read (or with the transaction, if that is rolled back).
    """
    table = f"_ledger_night_{next(_night_tables)}"
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER (ORDER BY {order_by}) AS _ord, * "
        f"FROM ({sql}) ORDER BY _ord",
        list(params),
    )
    counted = fetch_one(con, f"SELECT count(*) FROM {table}")
    rows = BATCH_ROWS
    for low in range(0, int(counted[0]) if counted else 0, rows):
        yield convert(_page(
            con, f"SELECT * EXCLUDE (_ord) FROM {table} WHERE _ord > ? AND _ord <= ? ORDER BY _ord", [low, low + rows]
        ))
    con.execute(f"DROP TABLE {table}")


def _among(column: str, key: str, table: str | None) -> str:
    """A condition keeping the rows whose ``column`` is listed in ``table`` (column ``key``)."""
    return "" if table is None else f"AND {column} IN (SELECT {key} FROM {table})"


class DeliveredEvent(NamedTuple):
    """One delivered row of an event: the record, the night it came, the event's first night."""

    event: VoucherEvent
    night: dt.date
    first_night: dt.date


def _delivered_events(page: pa.Table) -> list[DeliveredEvent]:
    return [
        DeliveredEvent(event, night, first)
        for event, night, first in zip(
            events_from_page(page), _values(page, "business_date"), _values(page, "_first_night"), strict=True
        )
    ]


def events_as_of(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, *, among: str | None = None
) -> Iterator[list[DeliveredEvent]]:
    """Every voucher event row delivered up to ``as_of`` (of the events listed in table
    ``among``, if given), in batches, in replay order.

    Events are ordered by the time of their first delivered version (``event_time``, nulls
    last), then id; the rows of one event are consecutive, in delivery order (night, file,
    position).  A record delivered twice appears twice: the ledger treats a repeat as a
    re-delivery, and a repeat with other content as a conflict.
    """
    cols = ", ".join(f"e.{c}" for c in _EVENT_COLUMNS)
    return _ordered_batches(
        con,
        f"""
        WITH e AS NOT MATERIALIZED (
            SELECT {cols}, e.event_time, e.business_date, e.file_seq, e.src_sha256, e.src_pos, e.delivery_key
            FROM {sequenced("voucher_events")} e
            WHERE e.business_date <= ? {_among("e.event_id", "event_id", among)}
        ), firsts AS (
            SELECT event_id, arg_min_null(event_time, delivery_key) AS _first_time, min(business_date) AS _first_night
            FROM e GROUP BY event_id
        )
        SELECT e.* EXCLUDE (delivery_key), i.invoices, f._first_time, f._first_night
        FROM e
        LEFT JOIN ({_invoice_lists("voucher_event_invoices", "event_id", among)}) i
          ON i.business_date = e.business_date AND i.src_sha256 = e.src_sha256 AND i.event_id = e.event_id
        JOIN firsts f ON f.event_id IS NOT DISTINCT FROM e.event_id
        """,
        [as_of, as_of],
        f"_first_time NULLS LAST, event_id, {delivery_order()}",
        _delivered_events,
    )


def _invoice_lists(table: str, key: str, among: str | None) -> str:
    """The invoices each delivered row of a parent cites (``table``, up to a night: ``?``), as a
    list of ``{no, fen}`` per night, file and ``key`` (of the parents listed in ``among``, if given).
    A file's rows of one parent id share their invoices, as they were delivered (the order of a
    list is not kept: :func:`_invoices` puts it in canonical order)."""
    return (
        f"SELECT business_date, src_sha256, {key}, list({{'no': invoice_no, 'fen': amount_fen}}) AS invoices "
        f"FROM {table} WHERE business_date <= ? AND {key} IS NOT NULL {_among(key, key, among)} GROUP BY ALL"
    )


def _financings_sql(among: str | None) -> str:
    """Financing rows delivered up to a night (``?``, twice), each night's latest row of each
    financing, with their presented invoices (of the financings listed in table ``among``, if given)."""
    cols = ", ".join(f"f.{c}" for c in _FINANCING_COLUMNS)
    return f"""
        WITH f AS (
            SELECT {cols}, f.business_date, f.file_seq, f.src_sha256, f.src_pos
            FROM {sequenced("financings")} f
            WHERE f.business_date <= ? {_among("f.financing_id", "financing_id", among)}
            QUALIFY row_number() OVER (PARTITION BY f.financing_id, f.business_date
                                       ORDER BY {delivery_order("f", latest_first=True, within_night=True)}) = 1
        )
        SELECT f.*, i.invoices FROM f
        LEFT JOIN ({_invoice_lists("financing_invoices", "financing_id", among)}) i
          ON i.business_date = f.business_date AND i.src_sha256 = f.src_sha256 AND i.financing_id = f.financing_id
    """


class DeliveredFinancing(NamedTuple):
    """A financing as delivered on one night (its latest row of that night)."""

    financing: FinancingRecord
    night: dt.date


def _delivered_financings(page: pa.Table) -> list[DeliveredFinancing]:
    return [
        DeliveredFinancing(fin, night)
        for fin, night in zip(financings_from_page(page), _values(page, "business_date"), strict=True)
    ]


def financings_as_of(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, *, among: str | None = None
) -> Iterator[list[DeliveredFinancing]]:
    """Every financing delivered up to ``as_of`` (of those listed in table ``among``, if
    given): one version per (financing, night), by financing id then night, in batches.

    A financing delivered more than once in one night counts in its latest version (the
    later position in its file), as in the warehouse's ``cur_financings`` view: an earlier
    row of the same night is not a state the financing passed through.
    """
    return _ordered_batches(
        con,
        _financings_sql(among),
        [as_of, as_of],
        "financing_id, business_date",
        _delivered_financings,
    )


def _register_keys(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[Any]]) -> None:
    con.register(name, pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}))


class FirstFinancing(NamedTuple):
    """The terms of a financing's first delivered version, and the night it came."""

    terms: FinancingTerms
    night: dt.date


def first_financings(
    con: duckdb.DuckDBPyConnection, financing_ids: Iterable[str | None], as_of: dt.date
) -> dict[str, FirstFinancing]:
    """The first delivered version (as of ``as_of``; of its night, the latest row) of each
    given financing: what stands of it but its status (other changes are conflicts), as far
    as a FINANCE event is compared with it (:class:`~ledger.invariants.FinancingTerms`; the
    whole record is read with the financings, :func:`financings_as_of`)."""
    ids = sorted({f for f in financing_ids if f})
    if not ids:
        return {}
    _register_keys(con, "_ledger_wanted_financings", {"financing_id": ids})
    try:
        page = _page(
            con,
            f"SELECT {', '.join(FinancingTerms._fields)}, business_date FROM {sequenced('financings')} "
            "WHERE business_date <= ? AND financing_id IN (SELECT financing_id FROM _ledger_wanted_financings) "
            "QUALIFY row_number() OVER (PARTITION BY financing_id "
            f"ORDER BY business_date, {delivery_order(latest_first=True, within_night=True)}) = 1",
            [as_of],
        )
    finally:
        con.unregister("_ledger_wanted_financings")
    terms = [FinancingTerms(*row) for row in zip(*(_text(page, k) for k in FinancingTerms._fields), strict=True)]
    return {t.financing_id: FirstFinancing(t, night) for t, night in zip(terms, _values(page, "business_date"), strict=True)}


def payable_nights(
    con: duckdb.DuckDBPyConnection, wanted: Iterable[tuple[str | None, str | None]], as_of: dt.date
) -> dict[tuple[str, str], dt.date]:
    """For the (core_uscc, ap_ref) pairs in ``erp_ap_items`` up to ``as_of``: the night each
    first appeared."""
    pairs = sorted({(c, a) for c, a in wanted if c and a})
    if not pairs:
        return {}
    _register_keys(
        con, "_ledger_wanted_payables", {"core_uscc": [c for c, _ in pairs], "ap_ref": [a for _, a in pairs]}
    )
    try:
        rows = con.execute(
            "SELECT p.core_uscc, p.ap_ref, min(p.business_date) FROM erp_ap_items p "
            "JOIN _ledger_wanted_payables w ON w.core_uscc = p.core_uscc AND w.ap_ref = p.ap_ref "
            "WHERE p.business_date <= ? GROUP BY ALL",
            [as_of],
        ).fetchall()
    finally:
        con.unregister("_ledger_wanted_payables")
    return {(r[0], r[1]): r[2] for r in rows}


@dataclass(frozen=True)
class InvoiceFacts:
    """What a financed invoice's content fingerprint covers (from ``tax_invoices``)."""

    invoice_no: str
    seller_uscc: str | None
    buyer_uscc: str | None
    total_fen: int | None
    issue_date: dt.date | None


def tax_invoice_facts(
    con: duckdb.DuckDBPyConnection, invoice_nos: Iterable[str | None], as_of: dt.date
) -> dict[str, InvoiceFacts]:
    """The latest version (as of ``as_of``) of the given invoices, where known."""
    nos = sorted({n for n in invoice_nos if n})
    if not nos:
        return {}
    _register_keys(con, "_ledger_wanted_invoices", {"invoice_no": nos})
    try:
        rows = con.execute(
            "SELECT t.invoice_no, t.seller_uscc, t.buyer_uscc, t.total_fen, CAST(t.issue_time AS DATE) "
            f"FROM {sequenced('tax_invoices')} t JOIN _ledger_wanted_invoices w USING (invoice_no) "
            "WHERE t.business_date <= ? "
            "QUALIFY row_number() OVER (PARTITION BY t.invoice_no "
            f"ORDER BY {delivery_order('t', latest_first=True)}) = 1",
            [as_of],
        ).fetchall()
    finally:
        con.unregister("_ledger_wanted_invoices")
    return {r[0]: InvoiceFacts(*r) for r in rows}
