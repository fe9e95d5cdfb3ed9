"""Lineage of a voucher: its chain back to the ISSUE, read from the ledger's entries.

For voucher ``v`` split from ``p`` split from root ``r``: the steps are ``r``'s events up
to the split that created ``p``, then ``p``'s up to the split that created ``v``, then all
of ``v``'s -- each with its tier, holders and trade-background invoices -- plus the
financings on ``v`` and the rejections that touched the chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from foundation.vocabulary import EventType
from ledger.entries import FinancingRecord, InvoiceAmount, VoucherEvent, decode_entry
from ledger.store import fetch_one


@dataclass(frozen=True)
class LineageStep:
    """One event on the voucher's chain, with the tier its holder is at afterwards."""

    seq: int
    business_date: dt.date
    event_id: str
    event_type: str | None
    voucher_id: str | None
    parent_voucher_id: str | None
    event_time: str | None
    from_uscc: str | None
    to_uscc: str | None
    amount_fen: int | None
    tier: int
    invoices: tuple[InvoiceAmount, ...]
    financing_id: str | None


@dataclass(frozen=True)
class LineageRejection:
    """A refused event or financing on the chain."""

    business_date: dt.date
    check_id: str
    event_id: str | None
    voucher_id: str | None
    financing_id: str | None
    reason: str


@dataclass(frozen=True)
class Lineage:
    """Everything the ledger knows about how a voucher came to be."""

    voucher_id: str
    chain: tuple[str, ...]  # root first, the voucher last
    tier: int
    holders: tuple[str, ...]  # in order, the issuer's tier-1 supplier first
    steps: tuple[LineageStep, ...]
    financings: tuple[tuple[int, FinancingRecord], ...]  # (seq, latest version) per financing standing
    rejections: tuple[LineageRejection, ...]

    @property
    def invoices(self) -> tuple[str, ...]:
        """Every trade-background invoice cited along the chain, first citation first."""
        seen: dict[str, None] = {}
        for step in self.steps:
            for inv in step.invoices:
                if inv.invoice_no:
                    seen.setdefault(inv.invoice_no, None)
        return tuple(seen)


def _entries(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[tuple[int, dt.date, Any]]:
    rows = con.execute(
        f"SELECT seq, business_date, entry FROM ledger_entries WHERE {where} ORDER BY seq", params
    ).fetchall()
    return [(int(seq), day, decode_entry(bytes(raw)).record) for seq, day, raw in rows]


def _date_filter(as_of: dt.date | None) -> tuple[str, list[Any]]:
    return ("AND business_date <= ?", [as_of]) if as_of else ("", [])


def voucher_lineage(con: duckdb.DuckDBPyConnection, voucher_id: str, *, as_of: dt.date | None = None) -> Lineage | None:
    """The lineage of ``voucher_id`` (as of a night, if given); ``None`` if never recorded."""
    when, when_params = _date_filter(as_of)
    chain = [voucher_id]
    split_seq: dict[str, int] = {}  # child -> seq of the SPLIT that created it
    while True:
        row = fetch_one(
            con,
            f"SELECT parent_voucher_id, seq FROM ledger_entries WHERE entry_type = '{EventType.SPLIT}' "
            f"AND voucher_id = ? {when} ORDER BY seq LIMIT 1",
            [chain[0], *when_params],
        )
        if row is None or not row[0] or row[0] in chain:
            break
        split_seq[chain[0]] = int(row[1])
        chain.insert(0, row[0])
    placeholders = ", ".join("?" for _ in chain)
    records = _entries(con, f"voucher_id IN ({placeholders}) {when}", [*chain, *when_params])
    if not records:
        return None
    limits = {v: split_seq.get(chain[i + 1], 2**63) for i, v in enumerate(chain[:-1])}
    steps: list[LineageStep] = []
    financings: dict[str, tuple[int, FinancingRecord]] = {}
    tier, holders = 0, list[str]()
    for seq, day, record in records:
        if isinstance(record, FinancingRecord):
            if record.asset_voucher_id == voucher_id:
                financings[record.financing_id] = (seq, record)
            continue
        assert isinstance(record, VoucherEvent)
        if seq >= limits.get(record.voucher_id or "", 2**63):
            continue
        if record.event_type == "ISSUE":
            tier = 1
        elif record.event_type == "TRANSFER":
            tier += 1
        moved_to = record.to_uscc if record.event_type in ("ISSUE", "TRANSFER", "FINANCE") else None
        if moved_to and (not holders or holders[-1] != moved_to):
            holders.append(moved_to)
        steps.append(
            LineageStep(
                seq=seq,
                business_date=day,
                event_id=record.event_id,
                event_type=record.event_type,
                voucher_id=record.voucher_id,
                parent_voucher_id=record.parent_voucher_id,
                event_time=record.event_time,
                from_uscc=record.from_uscc,
                to_uscc=record.to_uscc,
                amount_fen=record.amount_fen,
                tier=tier,
                invoices=record.invoices,
                financing_id=record.financing_id,
            )
        )
    standing = {
        r[0] for r in con.execute(
            "SELECT financing_id FROM ledger_financings_as_of(coalesce(?::DATE, DATE '9999-12-31'))", [as_of]
        ).fetchall()
    }
    rejected = con.execute(
        "SELECT business_date, check_id, event_id, voucher_id, financing_id, reason "
        "FROM ledger_rejections_as_of(coalesce(?::DATE, (SELECT max(coalesce(as_of, business_date)) "
        f"FROM ledger_rejections))) WHERE voucher_id IN ({placeholders}) ORDER BY business_date, check_id, event_id",
        [as_of, *chain],
    ).fetchall()
    return Lineage(
        voucher_id=voucher_id,
        chain=tuple(chain),
        tier=tier,
        holders=tuple(holders),
        steps=tuple(steps),
        financings=tuple(sorted((f for f in financings.values() if f[1].financing_id in standing),
                                key=lambda item: item[0])),
        rejections=tuple(LineageRejection(*r) for r in rejected),
    )
