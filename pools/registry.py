"""The warehouse's register of pools and their assets (``pools``, ``pool_assets``).

A pool is ``ACTIVE`` from its cut until it is released; while it is active its assets are
not candidates of any other cut.  An asset sold with a pool (``sold_on``) is never a
candidate again, released or not.  Releasing a pool keeps its rows (and its files): the
register is the history of every cut.  The ledger holds the same membership as signed
entries (:mod:`pools.membership`); ``scf pool verify`` checks that the two agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from foundation.errors import ConfigError
from foundation.vocabulary import PoolStatus, sql_literal
from warehouse.registry import create_table, insert_rows
from warehouse.results import POOL_ASSETS, POOLS


@dataclass(frozen=True)
class PoolRecord:
    """One row of the register."""

    pool_id: str
    cutoff_date: dt.date
    status: str
    bank_code: str
    criteria_sha256: str
    total_fen: int
    asset_count: int
    manifest_sha256: str
    released_on: dt.date | None


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the register's tables (declared in :mod:`warehouse.results`) if missing."""
    create_table(con, POOLS)
    create_table(con, POOL_ASSETS)


def next_pool_id(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> str:
    """``POOL-<yyyymmdd>-<nn>``: the next free number for that cut-off date."""
    prefix = f"POOL-{cutoff:%Y%m%d}-"
    (count,) = con.execute("SELECT count(*) FROM pools WHERE starts_with(pool_id, ?)", [prefix]).fetchone() or (0,)
    return f"{prefix}{count + 1:02d}"


def record_pool(
    con: duckdb.DuckDBPyConnection, pool: PoolRecord, assets: list[tuple[str, str, int]]
) -> None:
    """Register an active pool and its assets ``(financing_id, asset_key, outstanding_fen)``.

    Refuses (fails closed) if any asset is already in an active pool or was sold.
    """
    _refuse_pooled(con, [a[1] for a in assets])
    insert_rows(con, POOLS, [POOLS.Row(
        pool_id=pool.pool_id, cutoff_date=pool.cutoff_date, status=pool.status, bank_code=pool.bank_code,
        criteria_sha256=pool.criteria_sha256, total_fen=pool.total_fen, asset_count=pool.asset_count,
        manifest_sha256=pool.manifest_sha256, released_on=pool.released_on)])
    add_assets(con, pool.pool_id, assets, pool.cutoff_date)


def add_assets(con: duckdb.DuckDBPyConnection, pool_id: str, assets: list[tuple[str, str, int]],
               on: dt.date) -> None:
    """Add assets ``(financing_id, asset_key, outstanding_fen)`` to a registered pool on ``on``;
    refuses any already in an active pool or sold with a pool."""
    _refuse_pooled(con, [a[1] for a in assets])
    insert_rows(con, POOL_ASSETS, [
        POOL_ASSETS.Row(pool_id=pool_id, financing_id=financing_id, asset_key=asset_key, outstanding_fen=outstanding_fen,
                        added_on=on, sold_on=None)
        for financing_id, asset_key, outstanding_fen in assets])  # fmt: skip
    con.execute(
        """UPDATE pools SET total_fen = s.total, asset_count = s.n FROM (
             SELECT sum(outstanding_fen) AS total, count(*) AS n FROM pool_assets WHERE pool_id = ?) s
           WHERE pool_id = ?""",
        [pool_id, pool_id],
    )


def _refuse_pooled(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    clash = con.execute(
        f"""SELECT a.asset_key, a.pool_id, a.sold_on IS NOT NULL FROM pool_assets a JOIN pools p USING (pool_id)
           WHERE (p.status = {sql_literal(PoolStatus.ACTIVE)} OR a.sold_on IS NOT NULL)
             AND a.asset_key IN (SELECT unnest(?::VARCHAR[])) LIMIT 1""",
        [keys],
    ).fetchone()
    if clash is not None:
        raise ConfigError(f"asset {clash[0]} was sold with pool {clash[1]}" if clash[2] else
                          f"asset {clash[0]} is already in active pool {clash[1]}: release that pool first")


def pool_assets(con: duckdb.DuckDBPyConnection, pool_id: str) -> list[tuple[str, str, int, dt.date | None]]:
    """``(financing_id, asset_key, outstanding_fen, sold_on)`` of every asset of a pool, by asset."""
    return con.execute(
        "SELECT financing_id, asset_key, outstanding_fen, sold_on FROM pool_assets WHERE pool_id = ? ORDER BY asset_key",
        [pool_id],
    ).fetchall()


def get_pool(con: duckdb.DuckDBPyConnection, pool_id: str) -> PoolRecord:
    """One pool of the register (a pool id it does not hold is the operator's error)."""
    row = con.execute("SELECT * FROM pools WHERE pool_id = ?", [pool_id]).fetchone()
    if row is None:
        raise ConfigError(f"no pool {pool_id}: `scf pool list` shows the pools")
    return PoolRecord(*row)


def mark_sold(con: duckdb.DuckDBPyConnection, pool_id: str, on: dt.date) -> None:
    """Record the sale of every unsold asset of an active pool."""
    if get_pool(con, pool_id).status != PoolStatus.ACTIVE:
        raise ConfigError(f"pool {pool_id} is not active: only an active pool is sold")
    con.execute("UPDATE pool_assets SET sold_on = ? WHERE pool_id = ? AND sold_on IS NULL", [on, pool_id])


def list_pools(con: duckdb.DuckDBPyConnection) -> list[PoolRecord]:
    """Every pool of the register, in cut order."""
    rows = con.execute("SELECT * FROM pools ORDER BY cutoff_date, pool_id").fetchall()
    return [PoolRecord(*row) for row in rows]


def release_pool(con: duckdb.DuckDBPyConnection, pool_id: str, on: dt.date) -> None:
    """Mark an active pool released: its assets may be pooled again (unless they were sold)."""
    status = get_pool(con, pool_id).status
    if status != PoolStatus.ACTIVE:
        raise ConfigError(f"pool {pool_id} is already {status.lower()}")
    con.execute("UPDATE pools SET status = ?, released_on = ? WHERE pool_id = ?", [PoolStatus.RELEASED.value, on, pool_id])


def assets_in_two_active_pools(con: duckdb.DuckDBPyConnection) -> list[tuple[str, list[str]]]:
    """Assets the register shows in more than one active pool (must be none)."""
    rows = con.execute(
        f"""SELECT a.asset_key, list(DISTINCT a.pool_id ORDER BY a.pool_id) FROM pool_assets a
           JOIN pools p USING (pool_id) WHERE p.status = {sql_literal(PoolStatus.ACTIVE)}
           GROUP BY a.asset_key HAVING count(DISTINCT a.pool_id) > 1 ORDER BY 1"""
    ).fetchall()
    return [(key, list(ids)) for key, ids in rows]
