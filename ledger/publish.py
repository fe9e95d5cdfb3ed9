"""Publishing checkpoints: sign the tree head only if it extends everything signed before.

Before signing size ``n`` with root ``r`` the ledger loads every checkpoint it signed
(the files in the checkpoint folder and the ``ledger_checkpoints`` table, each checked
against its own key) and refuses if one is larger than ``n``, has the same size and
another root, or is not a prefix of the tree according to a consistency proof checked by
the independent verifier.  A split view therefore needs the signing key *and* a forged
history -- and the other banks' copies of earlier checkpoints would still expose it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    decode_note,
    merge_signatures,
    open_checkpoint,
    parse_note,
    sign_checkpoint,
)
from ledger.proofcheck import extends
from ledger.store import LedgerStore, fetch_one


class InconsistentCheckpoint(CheckpointError):
    """Signing would contradict a checkpoint signed before."""


@dataclass(frozen=True)
class SignedCheckpoint:
    """A verified checkpoint, its note text and where it was found."""

    checkpoint: Checkpoint
    note: str
    source: str


def checkpoint_path(checkpoint_dir: Path, size: int) -> Path:
    """``<checkpoint_dir>/<tree_size>.txt``."""
    return Path(checkpoint_dir) / f"{size}.txt"


def load_checkpoints(
    con: duckdb.DuckDBPyConnection | None,
    checkpoint_dir: Path | None,
    *,
    origin: str,
    log: NoteVerifier,
    witnesses: Sequence[NoteVerifier] = (),
    quorum: int = 0,
) -> tuple[list[SignedCheckpoint], list[str]]:
    """Every checkpoint in the folder and the table that verifies, and a problem per other.

    Files must carry ``quorum`` cosignatures of ``witnesses``; the table (the log's own
    record) needs only the log's signature.  Also a problem: a file whose name is not
    its tree size, or two verified checkpoints of one size with different roots.
    """
    found: list[SignedCheckpoint] = []
    problems: list[str] = []
    candidates: list[tuple[str, bytes, int | None, int]] = []
    if checkpoint_dir is not None and Path(checkpoint_dir).is_dir():
        for path in sorted(Path(checkpoint_dir).glob("*.txt"), key=lambda p: (len(p.stem), p.stem)):
            expected = int(path.stem) if path.stem.isdigit() else None
            candidates.append((str(path), path.read_bytes(), expected, quorum))
    if con is not None:
        for size, note in con.execute(
            "SELECT tree_size, note FROM ledger_checkpoints ORDER BY tree_size"
        ).fetchall():
            # the log's own record of what it signed: cosignatures live on the published files
            candidates.append((f"ledger_checkpoints[{size}]", note.encode("utf-8"), int(size), 0))
    for source, data, expected, needed in candidates:
        try:
            text = decode_note(data)
            checkpoint = open_checkpoint(text, origin=origin, log=log, witnesses=witnesses, quorum=needed)
        except CheckpointError as exc:
            problems.append(f"checkpoint {source}: {exc}")
            continue
        if expected is not None and checkpoint.size != expected:
            problems.append(f"checkpoint {source} holds tree size {checkpoint.size}")
            continue
        found.append(SignedCheckpoint(checkpoint, text, source))
    by_size: dict[int, bytes] = {}
    for item in found:
        prior = by_size.setdefault(item.checkpoint.size, item.checkpoint.root)
        if prior != item.checkpoint.root:
            problems.append(f"two signed checkpoints of tree size {item.checkpoint.size} with different roots")
    found.sort(key=lambda s: s.checkpoint.size)
    return found, problems


def unpublished_problems(
    con: duckdb.DuckDBPyConnection, checkpoint_dir: Path, found: Sequence[SignedCheckpoint]
) -> list[str]:
    """What shows checkpoints lost or the ledger gone back behind them.

    Every checkpoint the ledger recorded signing (``ledger_checkpoints``) must still be
    published as ``<checkpoint_dir>/<size>.txt`` -- a deleted latest checkpoint would
    otherwise let the tree be rewritten after the previous one -- and no verified
    checkpoint may be larger than the ledger.
    """
    problems = [
        f"checkpoint {checkpoint_path(checkpoint_dir, int(size))} is missing (the ledger signed it on {day})"
        for size, day in con.execute(
            "SELECT tree_size, business_date FROM ledger_checkpoints ORDER BY tree_size"
        ).fetchall()
        if not checkpoint_path(checkpoint_dir, int(size)).is_file()
    ]
    head = LedgerStore(con).head()
    latest = latest_checkpoint(found)
    if latest is not None and latest.size > head.size:
        problems.append(
            f"the ledger went backwards: it holds {head.size} entries but a checkpoint of size {latest.size} was signed"
        )
    return problems


def latest_checkpoint(found: Sequence[SignedCheckpoint]) -> Checkpoint | None:
    """The largest checkpoint in a list."""
    return max((s.checkpoint for s in found), key=lambda c: c.size, default=None)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, LF) through a fsynced temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def publish_checkpoint(
    con: duckdb.DuckDBPyConnection,
    *,
    checkpoint_dir: Path,
    signer: NoteSigner,
    origin: str,
    business_date: dt.date | None = None,
) -> SignedCheckpoint:
    """Sign the current tree head, write ``<size>.txt`` and record it; refuse to contradict.

    Cosignatures already on the file of the same size are kept.
    """
    store = LedgerStore(con)
    head = store.head()
    found, problems = load_checkpoints(con, checkpoint_dir, origin=origin, log=signer.verifier())
    if problems:
        raise InconsistentCheckpoint(problems[0])
    for item in found:
        cp = item.checkpoint
        if cp.size > head.size:
            raise InconsistentCheckpoint(
                f"a checkpoint of size {cp.size} was signed; the ledger now has only {head.size} entries"
            )
        if cp.size == head.size and cp.root != head.root:
            raise InconsistentCheckpoint(f"a checkpoint of size {cp.size} was signed with another root")
    latest = latest_checkpoint(found)
    if latest is not None and latest.size < head.size:
        proof = store.consistency_proof(latest.size, head.size) if latest.size else []
        if not extends(latest.size, head.size, latest.root, head.root, proof):
            raise InconsistentCheckpoint(
                f"the tree of size {head.size} does not extend the checkpoint of size {latest.size}"
            )
    checkpoint = Checkpoint(origin, head.size, head.root)
    note = sign_checkpoint(checkpoint, signer)
    path = checkpoint_path(checkpoint_dir, head.size)
    if path.exists():
        existing = decode_note(path.read_bytes())
        if parse_note(existing).body == checkpoint.body():
            note = merge_signatures(existing, note)
    if not path.exists() or decode_note(path.read_bytes()) != note:
        write_atomically(path, note)
    known = fetch_one(con, "SELECT count(*) FROM ledger_checkpoints WHERE tree_size = ?", [head.size])
    if not known or not known[0]:
        con.execute(
            "INSERT INTO ledger_checkpoints BY NAME SELECT ? AS tree_size, ? AS root_hash, ? AS origin, ? AS key_name, "
            "? AS note, ? AS business_date",
            [head.size, head.root, origin, signer.name, sign_checkpoint(checkpoint, signer), business_date],
        )
    return SignedCheckpoint(checkpoint, note, str(path))
