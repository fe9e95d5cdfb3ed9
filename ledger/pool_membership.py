"""Pool membership in the hashed ledger: ``POOL_RESERVE``, ``POOL_RELEASE``, ``POOL_SELL`` entries.

An ABS pool (``pools/``) records each asset's membership as ledger entries, so that the
signed tree vouches for what a pool holds.  Replaying them in seq order gives, as of any
night, the asset's active pool and whether it was sold.  The invariants:

* an asset is in at most one active pool (reserved, not released);
* a sold asset is never pooled again, and the nightly ledger refuses a new financing of it
  (:data:`ASSET_SOLD`, a critical finding on that financing);
* a release or a sale names an asset the pool holds (a sale: not sold already).

:func:`append_membership` refuses an append that would break them; :func:`replay` reports
every entry of a stored ledger that breaks them (``scf pool verify``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from foundation.errors import ConfigError
from ledger.entries import (
    EntryType,
    FinancingRecord,
    PoolEntry,
    PoolMembership,
    PoolRelease,
    PoolReserve,
    PoolSell,
    decode_entry,
)
from ledger.invariants import Rejection
from ledger.store import LedgerStore, PendingEntry

ASSET_SOLD = "LEDGER_ASSET_SOLD"
"""The check id of a financing refused because its asset was sold with an ABS pool."""
POOL_ENTRY_TYPES = tuple(t.name for t in (EntryType.POOL_RESERVE, EntryType.POOL_RELEASE, EntryType.POOL_SELL))


@dataclass
class Membership:
    """What the pool entries say, replayed in seq order."""

    active: dict[str, str] = field(default_factory=dict)  # asset key -> the active pool holding it
    reserved: dict[tuple[str, str], int] = field(default_factory=dict)  # (pool, asset key) -> POOL_RESERVE seq
    sold: dict[str, str] = field(default_factory=dict)  # asset key -> the pool it was sold with
    problems: list[tuple[int, str]] = field(default_factory=list)  # (seq, what breaks an invariant)

    def problem(self, record: PoolMembership) -> str | None:
        """What applying ``record`` would break, or ``None``."""
        key, pool = record.asset_key, record.pool_id
        if isinstance(record, PoolReserve):
            if key in self.sold:
                return f"asset {key} was sold with pool {self.sold[key]}: it cannot enter pool {pool}"
            if key in self.active:
                return f"asset {key} is already in active pool {self.active[key]}: it cannot enter pool {pool}"
        elif self.active.get(key) != pool:
            return f"asset {key} is not in pool {pool}"
        elif isinstance(record, PoolSell) and key in self.sold:
            return f"asset {key} was sold already with pool {self.sold[key]}"
        return None

    def apply(self, seq: int, record: PoolMembership) -> None:
        """Apply one entry (a breaking entry is kept among :attr:`problems` and changes nothing)."""
        problem = self.problem(record)
        if problem is not None:
            self.problems.append((seq, problem))
            return
        key, pool = record.asset_key, record.pool_id
        if isinstance(record, PoolReserve):
            self.active[key] = pool
            self.reserved[(pool, key)] = seq
        elif isinstance(record, PoolRelease):
            del self.active[key]
        else:
            self.sold[key] = pool


def replay(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | None = None, below: int | None = None) -> Membership:
    """Replay the pool entries dated ``as_of`` or earlier (all by default), of seq below ``below``."""
    clauses = [f"entry_type IN ({', '.join(repr(t) for t in POOL_ENTRY_TYPES)})"]
    params: list[object] = []
    if as_of is not None:
        clauses.append("business_date <= ?")
        params.append(as_of)
    if below is not None:
        clauses.append("seq < ?")
        params.append(below)
    state = Membership()
    # the positions first: a scan of small columns; reading ``entry`` in the same scan would read every entry
    seqs = [int(r[0]) for r in con.execute(f"SELECT seq FROM ledger_entries WHERE {' AND '.join(clauses)}", params).fetchall()]
    for seq, raw in con.execute(
        f"SELECT seq, entry FROM ledger_entries WHERE seq IN ({', '.join(map(str, seqs))}) ORDER BY seq"
    ).fetchall() if seqs else ():
        record = decode_entry(bytes(raw)).record
        assert isinstance(record, PoolMembership)
        state.apply(int(seq), record)
    return state


def append_membership(
    con: duckdb.DuckDBPyConnection, records: Sequence[PoolEntry], on: dt.date
) -> list[int]:
    """Append pool entries dated ``on`` (call inside the transaction that registers them);
    refuse the whole batch if one would break an invariant.  Returns their seqs."""
    state = replay(con)
    for record in records:
        problem = state.problem(record)
        if problem is not None:
            raise ConfigError(f"the ledger refuses it: {problem}")
        state.apply(-1, record)
    appended = LedgerStore(con).append([PendingEntry(r) for r in records], on)
    return [a.seq for a in appended]


@dataclass(frozen=True)
class SoldAssets:
    """The assets sold with a pool as of a night: a new financing of one is refused."""

    pools: dict[str, str]  # asset key -> the pool it was sold with
    bills: dict[str, list[tuple[int, int, str]]]  # bill number -> (range start, end, asset key) sold

    def refusal(self, financing: FinancingRecord) -> Rejection | None:
        """The refusal of a new financing whose asset was sold: the same asset, or a sub-bill
        range overlapping a sold one of the same bill."""
        key = f"{financing.product}:{financing.asset_ref}"
        found = key if key in self.pools else None
        start, end = financing.asset_range_start, financing.asset_range_end
        if found is None and financing.asset_cd_no and start is not None and end is not None:
            found = next((sold for low, high, sold in self.bills.get(financing.asset_cd_no, ())
                          if low <= end and start <= high), None)
        if found is None:
            return None
        return Rejection(
            ASSET_SOLD,
            f"The asset {key} was sold with ABS pool {self.pools[found]}"
            + ("" if found == key else f" (as part of {found})") + ": it can no longer be financed.",
            {"asset_key": key, "sold_asset_key": found, "pool_id": self.pools[found]},
        )


def sold_assets(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> SoldAssets:
    """The assets sold with a pool by a POOL_SELL dated ``as_of`` or earlier (sub-bill ranges,
    ``BILL:<CdNo>:<start>-<end>``, indexed by bill)."""
    pools = replay(con, as_of=as_of).sold
    bills: dict[str, list[tuple[int, int, str]]] = {}
    for key in pools:
        product, _, ref = key.partition(":")
        cd, _, span = ref.rpartition(":")
        low, _, high = span.partition("-")
        if product == "BILL" and cd and low.isdigit() and high.isdigit():
            bills.setdefault(cd, []).append((int(low), int(high), key))
    return SoldAssets(pools, bills)
