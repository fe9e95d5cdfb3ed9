"""Integrity of an engine home as one whole: keys, archive, manifest and ledger together.

:func:`audit_home` is ``scf verify``, and it runs at the start of every night before
anything is landed: the keys match their pins; every archived object still hashes to its
name (``scf verify`` only: a night re-hashes only the objects of its own set, as it lands
them, :meth:`connectors.archive.Archive.land_night`) and the manifest's chain holds; every checkpoint is signed by the pinned log key and
still published; every ledger entry re-hashes into the tree of every checkpoint; every head
of the manifest the ledger recorded is still the manifest's; and every index column of
``ledger_entries`` and every row of ``ledger_fingerprints`` agrees with the entry it was
copied from.  Its cost grows with the
ledger (every entry is read) and, in ``scf verify``, with the archive (every object is read); the ledger part uses a worker
process per core on large ledgers (:func:`ledger.verify.verify_ledger`).

Any problem is an :class:`~foundation.errors.IntegrityError` whose message names what and
where (the manifest line, the object, the entry's seq).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from connectors.archive import VerifyReport as ArchiveReport
from dispositions.effective import trail_problem
from dispositions.trail import read_trail, trail_path
from foundation.errors import IntegrityError
from integration.home import ledger_keys, pinned_log_verifier
from integration.settings import Settings
from ledger.entries import ArchiveManifest, decode_entry
from ledger.index import fingerprint_problem, index_problem
from ledger.publish import load_checkpoints, unpublished_problems
from ledger.schema import has_schema
from ledger.store import ARCHIVE_MANIFEST
from ledger.verify import verify_ledger


@dataclass(frozen=True)
class AuditReport:
    """What :func:`audit_home` checked, one line per part (raised on the first problem)."""

    lines: tuple[str, ...]


def _fail(problem: str) -> IntegrityError:
    return IntegrityError(f"{problem} (run `scf verify` after restoring it from backup)")


def manifest_anchor_problem(con: duckdb.DuckDBPyConnection, archive: ArchiveReport) -> str | None:
    """The first manifest head recorded in the ledger that the manifest no longer has."""
    rows = con.execute(
        "SELECT seq, business_date, entry FROM ledger_entries WHERE entry_type = ? ORDER BY seq", [ARCHIVE_MANIFEST]
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


def audit_home(settings: Settings, *, objects: bool = True) -> AuditReport:
    """``scf verify``: keys, archive objects, manifest chain, ledger (entries, tree, every
    checkpoint, recorded manifest heads, index columns).  Raises on the first problem.

    Without ``objects`` (before a night lands) no archived object is re-hashed: what an
    altered object of an older night could change is read by no night, and the night's own
    objects are checked as they are landed."""
    ledger_keys(settings)
    archive = _check_archive(settings, objects)
    checked = f"{archive.checked} objects intact" if objects else "objects checked as each night lands them"
    lines = [f"archive: {checked}, manifest chain of {archive.head.lines} lines holds"]
    trail = read_trail(trail_path(settings.home))  # raises naming the first bad line
    lines.append(f"dispositions trail: chain of {len(trail.lines)} lines holds")
    if not settings.warehouse_path.exists():
        return AuditReport((*lines, "ledger: no warehouse yet"))
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        problem = trail_problem(con, trail)
        if problem is not None:
            raise _fail(problem)
        if not has_schema(con):
            return AuditReport((*lines, "ledger: none yet"))
        found, problems = load_checkpoints(
            con, settings.checkpoint_dir, origin=settings.ledger.origin, log=pinned_log_verifier(settings)
        )
        problems += unpublished_problems(con, settings.checkpoint_dir, found)
        if problems:
            raise _fail(problems[0])
        report = verify_ledger(con, trusted=[s.checkpoint for s in found])
        if not report.ok:
            raise _fail(f"ledger {report.summary()}")
        problem = manifest_anchor_problem(con, archive)
        if problem is not None:
            raise _fail(problem)
        for check in (index_problem, fingerprint_problem):
            found_index = check(con)
            if found_index is not None:
                raise _fail(f"ledger index rewritten: {found_index[1]}")
    finally:
        con.close()
    return AuditReport((*lines, f"ledger {report.summary()}", "ledger index columns and fingerprints match their entries, "
                        "manifest heads recorded in the ledger match the manifest"))
