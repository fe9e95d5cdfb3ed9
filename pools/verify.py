"""``scf pool verify``: a pool's files are what was signed, and the ledger vouches for each asset.

Checks, in order, and reports every failure (not only the first):

1. the manifest's signature, by the ledger's key (the trusted key of the home);
2. the SHA-256 of every file the manifest lists;
3. the tape: the CSV and the Parquet hold the same rows, and their count and total are
   the manifest's;
4. the ledger checkpoint the pool was cut against: signed by the ledger key for the
   pinned origin, its root that of the stored tree at that size;
5. each tape row: its ``ledger_leaf_index`` is inside that tree with a valid RFC 9162
   inclusion proof, and the entry there is the FINANCING of that financing, for that
   asset, amount and obligor;
6. no asset is in two active pools (the register, and the tapes of the active pools).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from connectors.values import format_fen, parse_fen
from ledger.checkpoint import CheckpointError, NoteVerifier, open_checkpoint
from ledger.entries import FinancingRecord
from ledger.merkle import leaf_hash
from ledger.proofcheck import verify_inclusion
from ledger.store import LedgerStore
from pools import manifest, registry
from pools.cut import MANIFEST
from pools.tape import TAPE_COLUMNS, read_tape_csv, tape_text


def verify_pool(
    folder: Path, con: duckdb.DuckDBPyConnection, *, log: NoteVerifier, origin: str
) -> list[str]:
    """Every problem found with the pool in ``folder`` (empty: the pool verifies)."""
    try:
        doc = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as err:
        return [f"cannot read {folder / MANIFEST}: {err}"]
    problems = []
    bad_signature = manifest.check_signature(doc, log)
    if bad_signature:
        problems.append(bad_signature)
    for name, digest in sorted(doc.get("files", {}).items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif manifest.file_sha256(path) != digest:
            problems.append(f"{name} does not match its SHA-256 in the manifest (changed after the cut)")
    rows = _tape(folder, doc, problems)
    problems += _ledger(rows, doc, con, log, origin)
    problems += _pooled_twice(folder.parent, con)
    return problems


def _tape(folder: Path, doc: dict, problems: list[str]) -> list[dict[str, str]]:
    try:
        rows = read_tape_csv(folder / "tape.csv")
        parquet = pq.read_table(folder / "tape.parquet").to_pylist()
    except (OSError, ValueError) as err:
        problems.append(f"cannot read the tape: {err}")
        return []
    as_text = [{name: tape_text(r[name]) for name, _, _ in TAPE_COLUMNS} for r in parquet]
    if as_text != rows:
        problems.append("tape.csv and tape.parquet differ")
    totals = doc.get("totals", {})
    total = sum(parse_fen(r["outstanding_amount"]) or 0 for r in rows)
    if len(rows) != totals.get("asset_count") or format_fen(total) != totals.get("outstanding_amount"):
        problems.append(f"the tape holds {len(rows)} assets for ¥{format_fen(total)}, the manifest says "
                        f"{totals.get('asset_count')} for ¥{totals.get('outstanding_amount')}")
    return rows


def _ledger(rows: list[dict[str, str]], doc: dict, con: duckdb.DuckDBPyConnection, log: NoteVerifier,
            origin: str) -> list[str]:
    cut = doc.get("ledger_checkpoint", {})
    try:
        checkpoint = open_checkpoint(cut.get("note", ""), origin=origin, log=log)
    except CheckpointError as err:
        return [f"the ledger checkpoint of the cut does not verify: {err}"]
    if base64.b64encode(checkpoint.root).decode() != cut.get("root") or checkpoint.size != cut.get("tree_size"):
        return ["the manifest's tree size or root differ from its signed checkpoint"]
    store = LedgerStore(con)
    if checkpoint.size > store.head().size or store.root_at(checkpoint.size) != checkpoint.root:
        return [f"the ledger here does not hold the signed tree of size {checkpoint.size}"]
    problems = []
    for row in rows:
        fid = row["financing_id"]
        try:
            seq = int(row["ledger_leaf_index"])
        except ValueError:
            problems.append(f"{fid}: no ledger leaf index")
            continue
        found = store.entry_bytes(seq) if 0 <= seq < checkpoint.size else None
        if found is None:
            problems.append(f"{fid}: leaf {seq} is outside the tree of size {checkpoint.size}")
            continue
        entry = found[0]
        if not verify_inclusion(leaf_hash(entry), seq, checkpoint.size, store.inclusion_proof(seq, checkpoint.size),
                                checkpoint.root):
            problems.append(f"{fid}: leaf {seq} has no valid inclusion proof under the checkpoint")
            continue
        decoded = store.entry(seq)
        record = decoded.record if decoded is not None else None
        if not isinstance(record, FinancingRecord) or record.financing_id != fid:
            problems.append(f"{fid}: leaf {seq} is not the FINANCING entry of {fid}")
        elif (f"{record.product}:{record.asset_ref}" != row["asset_id"] or record.debtor_uscc != row["obligor_uscc"]
              or format_fen(record.face_amount_fen or 0) != row["outstanding_amount"]):
            problems.append(f"{fid}: the tape row differs from the ledger's FINANCING entry at leaf {seq}")
    return problems


def _pooled_twice(pools_dir: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    problems = [f"asset {key} is in active pools {', '.join(ids)}" for key, ids in
                registry.assets_in_two_active_pools(con)]
    seen: dict[str, str] = {}
    for record in registry.list_pools(con):
        if record.status != registry.ACTIVE:
            continue
        try:
            rows = read_tape_csv(pools_dir / record.pool_id / "tape.csv")
        except OSError:
            problems.append(f"active pool {record.pool_id} has no tape")
            continue
        for row in rows:
            other = seen.setdefault(row["asset_id"], record.pool_id)
            if other != record.pool_id:
                problems.append(f"asset {row['asset_id']} is on the tapes of active pools {other} and "
                                f"{record.pool_id}")
    return problems
