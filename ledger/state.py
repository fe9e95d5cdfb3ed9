"""Persisted voucher states (``ledger_voucher_state``) and their replay from the entries.

The table holds the states of every voucher as of the last night run (``as_of``): a cache
of what the entries imply, for lineage, reports and ``scf ledger verify --state``.
:func:`replay_vouchers` recomputes it from the entries alone (each event's latest status as
of that night, the events posted or pending applied in event-time order), which both
re-checks every invariant of the history and detects a doctored cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb
import pyarrow as pa

from foundation.values import parse_offset_datetime
from ledger.entries import PENDING, VOIDED, EventStatus, VoucherEvent, content_hash, decode_entry
from ledger.invariants import Accepted, Rejection, VoucherState, apply_accepted, apply_event
from ledger.store import fetch_one, insert_arrow

_COLUMNS = list(VoucherState._fields)
_ARROW = pa.schema(
    [
        ("voucher_id", pa.string()),
        ("root_voucher_id", pa.string()),
        ("parent_voucher_id", pa.string()),
        ("issuer_uscc", pa.string()),
        ("holder_uscc", pa.string()),
        ("tier", pa.int32()),
        ("issued_fen", pa.int64()),
        ("remaining_fen", pa.int64()),
        ("maturity_date", pa.date32()),
        ("status", pa.string()),
        ("financing_id", pa.string()),
        ("pending_since", pa.date32()),
        ("last_seq", pa.int64()),
        ("as_of", pa.date32()),
    ]
)


def _from_row(row: tuple) -> VoucherState:
    return VoucherState(*row[: len(_COLUMNS)])


def all_vouchers(con: duckdb.DuckDBPyConnection) -> dict[str, VoucherState]:
    """Every persisted voucher state."""
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM ledger_voucher_state").fetchall()
    return {r[0]: _from_row(r) for r in rows}


def save_vouchers(
    con: duckdb.DuckDBPyConnection,
    states: Mapping[str, VoucherState],
    last_seq: Mapping[str, int],
    as_of: dt.date,
    *,
    among: str | None = None,
) -> None:
    """Replace every persisted state by ``states``, the states as of night ``as_of``
    (``last_seq``: the entry that last changed each); with ``among``, a table of voucher ids
    (``voucher_id``), only the states of those vouchers: the others stand, as of ``as_of``."""
    columns = dict(zip(_COLUMNS, zip(*states.values(), strict=True), strict=True)) if states else {c: () for c in _COLUMNS}
    ids = columns["voucher_id"]
    table = pa.table(
        {**columns, "last_seq": [last_seq[v] for v in ids], "as_of": [as_of] * len(ids)}, schema=_ARROW
    )
    if among is None:
        con.execute("DELETE FROM ledger_voucher_state")
    else:
        con.execute(f"DELETE FROM ledger_voucher_state WHERE voucher_id IN (SELECT voucher_id FROM {among})")
        con.execute("UPDATE ledger_voucher_state SET as_of = ?", [as_of])
    insert_arrow(con, "ledger_voucher_state", table)


def replay_order(event: VoucherEvent, *, time_text: str | None = None) -> tuple:
    """The order in which the ledger applies events: event time (to the second, as the
    warehouse keeps it; unknown times last), then event id."""
    try:
        moment = parse_offset_datetime(event.event_time if time_text is None else time_text)
    except ValueError:
        moment = None
    if moment is None:
        return (1, dt.datetime.min, event.event_id)
    return (0, moment.replace(microsecond=0), event.event_id)


def replay_vouchers(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, VoucherState], list[tuple[int, Rejection]]]:
    """Re-derive every voucher state from the entries, as of the night the persisted states
    are of.

    Returns the states and the entries that would be refused on replay (there should be
    none: each was checked when it was appended).
    """
    row = fetch_one(con, "SELECT max(as_of) FROM ledger_voucher_state")
    as_of = row[0] if row else None
    versions: dict[tuple[str, bytes], tuple[int, VoucherEvent]] = {}
    latest: dict[str, tuple[tuple[dt.date, int], int, EventStatus | VoucherEvent]] = {}
    reader = con.sql(
        "SELECT seq, business_date, entry FROM ledger_entries WHERE event_id IS NOT NULL "
        + ("" if as_of is None else f"AND business_date <= DATE '{as_of.isoformat()}' ")
        + "ORDER BY seq"
    ).to_arrow_reader(1 << 14)
    for batch in reader:
        for seq, day, raw in zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True):
            entry = decode_entry(raw)
            record = entry.record
            assert isinstance(record, (VoucherEvent, EventStatus))
            if isinstance(record, VoucherEvent):
                versions[(record.event_id, content_hash(record))] = (seq, record)
            previous = latest.get(record.event_id)
            if previous is None or previous[0] < (day, seq):
                latest[record.event_id] = ((day, seq), seq, record)
    effective: list[tuple[int, VoucherEvent, dt.date | None]] = []
    for _, seq, record in latest.values():
        if isinstance(record, VoucherEvent):
            effective.append((seq, record, None))
        elif record.status != VOIDED and (record.event_id, record.event_hash) in versions:
            since = record.pending_since if record.status == PENDING else None
            effective.append((seq, versions[(record.event_id, record.event_hash)][1], since))
    effective.sort(key=lambda item: replay_order(item[1]))
    vouchers: dict[str, VoucherState] = {}
    refused: list[tuple[int, Rejection]] = []
    for seq, event, since in effective:
        outcome = apply_event(event, vouchers, payable_exists=True)
        if isinstance(outcome, Accepted):
            if since is not None:
                outcome = Accepted(tuple(s._replace(pending_since=since) for s in outcome.updates), since)
            apply_accepted(vouchers, outcome)
        else:
            refused.append((seq, outcome))
    return vouchers, refused
