"""``scf pool verify``: a pool's files are what was signed, and the ledger vouches for each asset.

Checks, in order, for the pool's folder and each of its ``replenishments/<date>/`` folders
(1–5), and reports every failure (not only the first):

1. the manifest's signature, by the ledger's key (the trusted key of the home);
2. the SHA-256 of every file the manifest lists;
3. the tape: the CSV and the Parquet hold the same rows, and their count and total are
   the manifest's;
4. the ledger checkpoint the pool was cut against: signed by the ledger key for the
   pinned origin, its root that of the stored tree at that size;
5. each tape row: its ``ledger_leaf_index`` is inside that tree with a valid RFC 9162
   inclusion proof, and the entry there is the FINANCING of that financing, for that
   asset, amount and obligor; its ``reserve_leaf_index`` is inside the signed tree of the
   manifest's ``ledger_reservation`` with a valid proof, and is the POOL_RESERVE of that
   asset, financing, amount and FINANCING leaf for this pool;
6. no asset is in two active pools and no sold asset was pooled again (the register, the
   tapes of the active pools, and the ledger's pool entries replayed), and the register
   and the ledger agree on every pool's assets.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from foundation.values import format_fen, parse_fen
from foundation.vocabulary import PoolStatus
from ledger.checkpoint import Checkpoint, CheckpointError, NoteVerifier, open_checkpoint
from ledger.entries import FinancingRecord, PoolReserve, decode_entry
from ledger.merkle import leaf_hash
from ledger.pool_membership import replay
from ledger.proofcheck import verify_inclusion
from ledger.store import LedgerStore
from pools import manifest, registry
from pools.cut import MANIFEST
from pools.tape import TAPE_COLUMNS, read_tape_csv, tape_text


def verify_pool(
    folder: Path, con: duckdb.DuckDBPyConnection, *, log: NoteVerifier, origin: str
) -> list[str]:
    """Every problem found with the pool in ``folder`` and its replenishments (empty: the pool
    verifies)."""
    problems = _verify_files(folder, con, log, origin)
    for part in sorted(p for p in (folder / "replenishments").glob("*") if p.is_dir()):
        problems += [f"replenishment {part.name}: {p}" for p in _verify_files(part, con, log, origin)]
    return problems + _pooled_twice(folder.parent, con)


def _verify_files(folder: Path, con: duckdb.DuckDBPyConnection, log: NoteVerifier, origin: str) -> list[str]:
    """Checks 1–5 of one signed folder (a cut or a replenishment)."""
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
    return problems + _ledger(rows, doc, con, log, origin)


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


def _signed_tree(section: dict, what: str, store: LedgerStore, log: NoteVerifier,
                 origin: str) -> Checkpoint | str:
    """The signed checkpoint a manifest section records, held by the ledger here; or what is wrong."""
    try:
        checkpoint = open_checkpoint(section.get("note", ""), origin=origin, log=log)
    except CheckpointError as err:
        return f"the ledger checkpoint of the {what} does not verify: {err}"
    if base64.b64encode(checkpoint.root).decode() != section.get("root") or checkpoint.size != section.get("tree_size"):
        return f"the manifest's tree size or root of the {what} differ from its signed checkpoint"
    if checkpoint.size > store.head().size or store.root_at(checkpoint.size) != checkpoint.root:
        return f"the ledger here does not hold the signed tree of size {checkpoint.size} (the {what})"
    return checkpoint


def _leaf(store: LedgerStore, fid: str, text: str, checkpoint: Checkpoint, what: str) -> tuple[int, object] | str:
    """(seq, record) of a tape row's leaf (``what``: its name) proven included under ``checkpoint``;
    or what is wrong."""
    try:
        seq = int(text)
    except ValueError:
        return f"{fid}: no {what} index"
    found = store.entry_bytes(seq) if 0 <= seq < checkpoint.size else None
    if found is None:
        return f"{fid}: {what} {seq} is outside the tree of size {checkpoint.size}"
    if not verify_inclusion(leaf_hash(found[0]), seq, checkpoint.size, store.inclusion_proof(seq, checkpoint.size),
                            checkpoint.root):
        return f"{fid}: {what} {seq} has no valid inclusion proof under the checkpoint"
    return seq, decode_entry(found[0]).record


def _ledger(rows: list[dict[str, str]], doc: dict, con: duckdb.DuckDBPyConnection, log: NoteVerifier,
            origin: str) -> list[str]:
    store = LedgerStore(con)
    cut = _signed_tree(doc.get("ledger_checkpoint", {}), "cut", store, log, origin)
    reservation = _signed_tree(doc.get("ledger_reservation", {}), "reservation", store, log, origin)
    problems = [c for c in (cut, reservation) if isinstance(c, str)]
    if problems:
        return problems
    assert isinstance(cut, Checkpoint) and isinstance(reservation, Checkpoint)
    for row in rows:
        fid = row["financing_id"]
        financing = _leaf(store, fid, row["ledger_leaf_index"], cut, "leaf")
        if isinstance(financing, str):
            problems.append(financing)
        else:
            seq, record = financing
            if not isinstance(record, FinancingRecord) or record.financing_id != fid:
                problems.append(f"{fid}: leaf {seq} is not the FINANCING entry of {fid}")
            elif (f"{record.product}:{record.asset_ref}" != row["asset_id"] or record.debtor_uscc != row["obligor_uscc"]
                  or format_fen(record.face_amount_fen or 0) != row["outstanding_amount"]):
                problems.append(f"{fid}: the tape row differs from the ledger's FINANCING entry at leaf {seq}")
        reserved = _leaf(store, fid, row["reserve_leaf_index"], reservation, "reserve leaf")
        if isinstance(reserved, str):
            problems.append(reserved)
            continue
        seq, record = reserved
        if not (isinstance(record, PoolReserve) and record.pool_id == doc.get("pool_id")
                and record.financing_id == fid and record.asset_key == row["asset_id"]
                and format_fen(record.outstanding_fen or 0) == row["outstanding_amount"]
                and str(record.financing_seq) == row["ledger_leaf_index"]):
            problems.append(f"{fid}: leaf {seq} is not the POOL_RESERVE of asset {row['asset_id']} for this pool")
    return problems


def _pooled_twice(pools_dir: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    problems = [f"asset {key} is in active pools {', '.join(ids)}" for key, ids in
                registry.assets_in_two_active_pools(con)]
    ledger = replay(con)
    problems += [f"ledger entry {seq}: {problem}" for seq, problem in ledger.problems]
    for record in registry.list_pools(con):
        for _, key, _, sold_on in registry.pool_assets(con, record.pool_id):
            held = ledger.active.get(key) == record.pool_id
            if held != (record.status == PoolStatus.ACTIVE) or (sold_on is not None) != (ledger.sold.get(key) == record.pool_id):
                problems.append(f"asset {key} of pool {record.pool_id}: the register says {record.status.lower()}"
                                f"{', sold' if sold_on else ''}, the ledger does not")
    seen: dict[str, str] = {}
    for record in registry.list_pools(con):
        if record.status != PoolStatus.ACTIVE:
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
