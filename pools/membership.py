"""A pool's membership recorded in the hashed ledger, under a checkpoint signed at once.

Every cut, replenishment, release and sale appends one ledger entry per asset
(:mod:`ledger.pool_membership`: ``POOL_RESERVE``, ``POOL_RELEASE``, ``POOL_SELL``) inside the
transaction that changes the register, after checking that the ledger still verifies since
its latest checkpoint, and signs a checkpoint of the new tree: the pool's files can then
name leaves that a signed tree holds.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from foundation.errors import ConfigError, IntegrityError
from ledger.checkpoint import NoteSigner
from ledger.entries import PoolEntry, PoolRelease, PoolSell
from ledger.pool_membership import append_membership
from ledger.publish import SignedCheckpoint, latest_checkpoint, load_checkpoints, publish_checkpoint
from ledger.schema import ensure_schema
from ledger.verify import verify_ledger
from pools import registry
from warehouse.transactions import transaction


@dataclass(frozen=True)
class LedgerSigning:
    """What recording membership needs: the ledger's signer, origin and checkpoint folder."""

    signer: NoteSigner
    origin: str
    checkpoint_dir: Path


def record(
    con: duckdb.DuckDBPyConnection, records: Sequence[PoolEntry], on: dt.date, signing: LedgerSigning
) -> tuple[list[int], SignedCheckpoint]:
    """Append the entries dated ``on`` and sign the new tree head (inside the caller's
    transaction); their seqs and the checkpoint.  A ledger that does not verify since its
    latest checkpoint stops it (:class:`IntegrityError`)."""
    ensure_schema(con)
    signed, problems = load_checkpoints(con, signing.checkpoint_dir, origin=signing.origin,
                                        log=signing.signer.verifier())
    if problems:
        raise IntegrityError(f"pool membership not recorded: {problems[0]} (run `scf verify`)")
    report = verify_ledger(con, since=latest_checkpoint(signed))
    if not report.ok:
        raise IntegrityError(f"pool membership not recorded: the ledger fails verification at entry "
                             f"{report.first_bad_seq}: {report.problem} (run `scf verify`)")
    seqs = append_membership(con, records, on)
    published = publish_checkpoint(con, checkpoint_dir=signing.checkpoint_dir, signer=signing.signer,
                                   origin=signing.origin, business_date=on)
    return seqs, published


def checkpoint_doc(published: SignedCheckpoint) -> dict[str, Any]:
    """A signed checkpoint as a manifest holds it."""
    return {
        "tree_size": published.checkpoint.size,
        "root": base64.b64encode(published.checkpoint.root).decode("ascii"),
        "note": published.note,
    }


def release(con: duckdb.DuckDBPyConnection, pool_id: str, on: dt.date, signing: LedgerSigning) -> SignedCheckpoint:
    """Release an active pool: the register says so and the ledger records a POOL_RELEASE of
    every asset (a sold asset stays sold)."""
    with transaction(con):
        registry.release_pool(con, pool_id, on)
        records = [PoolRelease(pool_id, fid, key, fen, None) for fid, key, fen, _ in registry.pool_assets(con, pool_id)]
        return record(con, records, on, signing)[1]


def sell(con: duckdb.DuckDBPyConnection, pool_id: str, on: dt.date, signing: LedgerSigning) -> SignedCheckpoint:
    """Sell an active pool's unsold assets: POOL_SELL entries; they are never financed or pooled again."""
    with transaction(con):
        unsold = [(fid, key, fen) for fid, key, fen, sold_on in registry.pool_assets(con, pool_id) if sold_on is None]
        registry.mark_sold(con, pool_id, on)
        if not unsold:
            raise ConfigError(f"every asset of pool {pool_id} is sold already")
        return record(con, [PoolSell(pool_id, fid, key, fen, None) for fid, key, fen in unsold], on, signing)[1]
