"""Persisted voucher states (``ledger_voucher_state``) and their replay from the entries.

The table is a cache of what the entries imply, kept so that a night only loads the
vouchers its events touch.  :func:`replay_vouchers` recomputes it from the entries alone,
which both re-checks every invariant of the history and detects a doctored cache.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import duckdb
import pyarrow as pa

from ledger.entries import VoucherEvent, decode_entry
from ledger.invariants import Accepted, Rejection, VoucherState, apply_accepted, apply_event
from ledger.store import ARCHIVE_MANIFEST, insert_arrow

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
        ("last_seq", pa.int64()),
    ]
)


def _from_row(row: tuple) -> VoucherState:
    return VoucherState(*row[: len(_COLUMNS)])


def load_vouchers(con: duckdb.DuckDBPyConnection, voucher_ids: Iterable[str | None]) -> dict[str, VoucherState]:
    """The states of the given vouchers that exist."""
    ids = sorted({v for v in voucher_ids if v})
    if not ids:
        return {}
    con.register("_ledger_wanted_vouchers", pa.table({"voucher_id": pa.array(ids, pa.string())}))
    try:
        rows = con.execute(
            f"SELECT {', '.join('s.' + c for c in _COLUMNS)} FROM ledger_voucher_state s "
            "JOIN _ledger_wanted_vouchers w USING (voucher_id)"
        ).fetchall()
    finally:
        con.unregister("_ledger_wanted_vouchers")
    return {r[0]: _from_row(r) for r in rows}


def all_vouchers(con: duckdb.DuckDBPyConnection) -> dict[str, VoucherState]:
    """Every persisted voucher state."""
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM ledger_voucher_state").fetchall()
    return {r[0]: _from_row(r) for r in rows}


def save_vouchers(
    con: duckdb.DuckDBPyConnection, states: Mapping[str, VoucherState], last_seq: Mapping[str, int]
) -> None:
    """Replace the persisted states of ``states`` (those changed tonight)."""
    if not states:
        return
    rows = [{**s._asdict(), "last_seq": last_seq[s.voucher_id]} for s in states.values()]
    table = pa.Table.from_pylist(rows, schema=_ARROW)
    con.register("_ledger_changed_vouchers", table)
    try:
        con.execute(
            "DELETE FROM ledger_voucher_state WHERE voucher_id IN "
            "(SELECT voucher_id FROM _ledger_changed_vouchers)"
        )
    finally:
        con.unregister("_ledger_changed_vouchers")
    insert_arrow(con, "ledger_voucher_state", table)


def replay_vouchers(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, VoucherState], list[tuple[int, Rejection]]]:
    """Re-derive every voucher state from the entries, in order.

    Returns the states and the entries that would be refused on replay (there should be
    none: each was checked when it was appended).
    """
    vouchers: dict[str, VoucherState] = {}
    refused: list[tuple[int, Rejection]] = []
    reader = con.sql(
        f"SELECT seq, entry FROM ledger_entries WHERE entry_type NOT IN ('FINANCING', '{ARCHIVE_MANIFEST}') ORDER BY seq"
    ).to_arrow_reader(1 << 14)
    for batch in reader:
        for seq, raw in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
            record = decode_entry(raw).record
            assert isinstance(record, VoucherEvent)
            outcome = apply_event(record, vouchers, payable_exists=True)
            if isinstance(outcome, Accepted):
                apply_accepted(vouchers, outcome)
            else:
                refused.append((seq, outcome))
    return vouchers, refused
