"""Integrity of an engine home as one whole: keys, archive, manifest and ledger together.

Two gates share the checks of what is cheap (keys, manifest chain, dispositions trail, signed
and published checkpoints, the manifest heads the ledger recorded) and differ on the ledger's
entries, which grow every night:

* :func:`audit_home` is ``scf verify`` (and the scheduled ``scf_verify`` job): every archived
  object re-hashed, every ledger entry re-hashed into the tree of every checkpoint, every index
  column of ``ledger_entries`` and every row of ``ledger_fingerprints`` compared with the entry
  it was copied from.  O(archive + ledger); the ledger part uses a worker process per core on
  large ledgers (:func:`ledger.verify.verify_ledger`).
* :func:`night_gate` runs at the start of every night before anything is landed, O(night): it
  starts from the signed checkpoint the previous gate verified the ledger up to (kept in
  ``ledger_audit``; the stored tree at that size must still give its signed root), re-hashes the
  entries appended since (they must reach every later signed checkpoint and the recorded head),
  checks their index columns and fingerprints, and re-hashes a rotating slice of the older
  entries (with their index columns and fingerprints) against the signed root, so that a lap of
  ``[ledger] verify_lap_nights`` nights (0, the default: as many nights as those entries were signed
  on, so that a slice is about one night's entries) walks every entry signed before the lap began.  Without a
  trusted start (the first gate, a lost or doubtful ``ledger_audit``) it verifies everything, as
  ``scf verify`` does.  What it leaves to the slice and to ``scf verify``: see docs/OPERATIONS.md
  ("What each integrity gate catches, and when").

Any problem is an :class:`~foundation.errors.IntegrityError` whose message names what and
where (the manifest line, the object, the entry's seq).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from connectors.archive import VerifyReport as ArchiveReport
from dispositions.effective import trail_problem
from dispositions.trail import read_trail, trail_path
from foundation.errors import IntegrityError
from integration.home import ledger_keys, pinned_log_verifier
from integration.progress import stage
from integration.settings import Settings
from ledger.checkpoint import Checkpoint
from ledger.entries import ArchiveManifest, decode_entry
from ledger.index import fingerprint_problem, index_problem
from ledger.publish import SignedCheckpoint, load_checkpoints, unpublished_problems
from ledger.schema import has_schema
from ledger.store import ARCHIVE_MANIFEST, fetch_one
from ledger.verify import VerifyReport, verify_ledger, verify_slice
from warehouse.registry import insert_row
from warehouse.results import LEDGER_AUDIT
from warehouse.transactions import transaction


@dataclass(frozen=True)
class AuditReport:
    """What a gate checked, one line per part (raised on the first problem)."""

    lines: tuple[str, ...]


def _fail(problem: str) -> IntegrityError:
    return IntegrityError(f"{problem} (run `scf verify` after restoring it from backup)")


def manifest_anchor_problem(con: duckdb.DuckDBPyConnection, archive: ArchiveReport, since: int = 0) -> str | None:
    """The first manifest head recorded in the ledger that the manifest no longer has: among the
    entries from ``since`` on and the latest head recorded before them (the manifest's chain ties
    every earlier line to it)."""
    start, width = since, 1 << 12
    while start > 0 and fetch_one(con, "SELECT count(*) FROM ledger_entries WHERE entry_type = ? AND seq >= ?",
                                  [ARCHIVE_MANIFEST, start]) == (0,):
        start, width = max(0, start - width), width * 2
    rows = con.execute(
        "SELECT seq, business_date, entry FROM ledger_entries WHERE entry_type = ? AND seq >= ? ORDER BY seq",
        [ARCHIVE_MANIFEST, start],
    ).fetchall()
    for seq, day, entry in rows:
        record = decode_entry(bytes(entry)).record
        assert isinstance(record, ArchiveManifest)
        if record.manifest_lines >= len(archive.heads):
            return (
                f"the archive manifest has {len(archive.heads) - 1} lines but ledger entry {seq} (night {day}) "
                f"recorded {record.manifest_lines}: lines were removed"
            )
        if archive.heads[record.manifest_lines] != record.manifest_head:
            return (
                f"the archive manifest's first {record.manifest_lines} lines no longer hash to the head ledger "
                f"entry {seq} recorded on night {day}: a line was edited"
            )
    return None


def _check_archive(settings: Settings, objects: bool) -> ArchiveReport:
    report = settings.archive().verify(objects=objects)
    problem = report.first_problem()
    if problem is not None:
        raise _fail(problem)
    return report


def _check_report(report: VerifyReport) -> None:
    if not report.ok:
        raise _fail(f"ledger {report.summary()}")


def _check_index(con: duckdb.DuckDBPyConnection, start: int = 0, end: int | None = None) -> None:
    """The index columns and fingerprints of entries ``[start, end)`` against the entries."""
    for check in (index_problem, fingerprint_problem):
        found = check(con, start, end)
        if found is not None:
            raise _fail(f"ledger index rewritten: {found[1]}")


@dataclass
class _Home:
    """The parts both gates check, and the warehouse opened read-only when it has a ledger."""

    archive: ArchiveReport
    lines: list[str]
    con: duckdb.DuckDBPyConnection | None = None
    checkpoints: Sequence[SignedCheckpoint] = ()

    def check_anchors(self, since: int = 0) -> None:
        """The manifest heads the ledger recorded from entry ``since`` on (after those entries were verified)."""
        assert self.con is not None
        problem = manifest_anchor_problem(self.con, self.archive, since)
        if problem is not None:
            raise _fail(problem)


@contextmanager
def _opened(settings: Settings, objects: bool) -> Iterator[_Home]:
    """Keys, archive, trail and the signed checkpoints checked; the warehouse open if it has a ledger."""
    ledger_keys(settings)
    archive = _check_archive(settings, objects)
    checked = f"{archive.checked} objects intact" if objects else "objects checked as each night lands them"
    home = _Home(archive, [f"archive: {checked}, manifest chain of {archive.head.lines} lines holds"])
    trail = read_trail(trail_path(settings.home))  # raises naming the first bad line
    home.lines.append(f"dispositions trail: chain of {len(trail.lines)} lines holds")
    if not settings.warehouse_path.exists():
        home.lines.append("ledger: no warehouse yet")
        yield home
        return
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        problem = trail_problem(con, trail)
        if problem is not None:
            raise _fail(problem)
        if not has_schema(con):
            home.lines.append("ledger: none yet")
            yield home
            return
        found, problems = load_checkpoints(
            con, settings.checkpoint_dir, origin=settings.ledger.origin, log=pinned_log_verifier(settings)
        )
        problems += unpublished_problems(con, settings.checkpoint_dir, found)
        if problems:
            raise _fail(problems[0])
        home.con, home.checkpoints = con, found
        yield home
    finally:
        con.close()


_ANCHORS = "manifest heads recorded in the ledger match the manifest"


def audit_home(settings: Settings, *, objects: bool = True) -> AuditReport:
    """``scf verify``: keys, archive objects, manifest chain, ledger (every entry, the tree, every
    checkpoint, recorded manifest heads, index columns and fingerprints).  Raises on the first problem.

    Without ``objects`` no archived object is re-hashed (the night's own objects are checked as
    they are landed; ``scf verify`` walks them all)."""
    with _opened(settings, objects) as home:
        if home.con is None:
            return AuditReport(tuple(home.lines))
        report = verify_ledger(home.con, trusted=[s.checkpoint for s in home.checkpoints])
        _check_report(report)
        home.check_anchors()
        _check_index(home.con)
        return AuditReport((*home.lines, f"ledger {report.summary()}",
                            f"ledger index columns and fingerprints match their entries, {_ANCHORS}"))


def _gate_state(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(verified_size, lap_size, lap_next) as the previous gate left them, if it did."""
    if fetch_one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [LEDGER_AUDIT.name]) == (0,):
        return None
    return fetch_one(con, f"SELECT verified_size, lap_size, lap_next FROM {LEDGER_AUDIT.name}")


def _verify_since(con: duckdb.DuckDBPyConnection, since: Checkpoint | None, trusted: Sequence[Checkpoint]) -> VerifyReport:
    """The entries from ``since`` (all without it) against the signed checkpoints from there on."""
    with stage("integrity gate", unit="entries") as entries:
        report = verify_ledger(con, trusted=trusted, since=since, on_entries=entries.advance)
    _check_report(report)
    _check_index(con, report.start, report.tree_size)
    return report


def night_gate(settings: Settings) -> AuditReport:
    """The integrity gate before a night lands anything (module docstring): O(night) on a ledger whose
    previous gate is kept, everything otherwise.  Raises on the first problem; records how far it got."""
    with _opened(settings, objects=False) as home:
        con = home.con
        if con is None:
            return AuditReport(tuple(home.lines))
        signed = {s.checkpoint.size: s.checkpoint for s in home.checkpoints}
        state = _gate_state(con)
        since = signed.get(state[0]) if state is not None and state[0] else None
        report = _verify_since(con, since, [c for c in signed.values() if since is None or c.size >= since.size])
        verified = max(report.checkpoints_matched, default=0)
        if since is None:  # everything was just re-hashed: a lap done
            lap_size = lap_next = verified
            lines = [f"ledger (no earlier gate to start from: all of it) {report.summary()}"]
        else:
            lap_size, lap_next = (since.size, 0) if state is None or state[2] >= state[1] else (state[1], state[2])
            lap_nights = settings.ledger.verify_lap_nights or max(1, sum(1 for size in signed if 0 < size <= lap_size))
            end = min(lap_next + -(-lap_size // lap_nights), lap_size)
            lines = [f"ledger: entries {report.start}..{report.tree_size - 1} appended since the checkpoint of size "
                     f"{since.size} (verified by the previous gate) {report.summary()}"]
            if end > lap_next:
                _check_report(verify_slice(con, since, lap_next, end))
                _check_index(con, lap_next, end)
                lines.append(f"ledger rotating slice: entries {lap_next}..{end - 1} of [0, {lap_size}) re-hashed into the "
                             f"checkpoint of size {since.size} ({lap_nights} nights a lap)")
                lap_next = end
        home.check_anchors(report.start)
    with settings.open_warehouse() as warehouse, transaction(warehouse.con):
        warehouse.con.execute(f"DELETE FROM {LEDGER_AUDIT.name}")
        insert_row(warehouse.con, LEDGER_AUDIT, LEDGER_AUDIT.Row(
            verified_size=verified, lap_size=lap_size, lap_next=lap_next,
            checked_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)))
    return AuditReport((*home.lines, *lines, f"ledger index columns and fingerprints of those entries match, {_ANCHORS}"))
