"""The nightly step: verify, append the night's records, verify again, sign a checkpoint.

:func:`append_night` is what the orchestration calls for business date ``D`` once the
loader has filled the typed tables.  The ledger's decisions as of ``D`` depend only on
what was delivered up to ``D`` (:mod:`ledger.process`), so it is idempotent: re-running a
night appends nothing already there, reproduces that night's rejections, and re-signs the
same checkpoint (Ed25519 signatures are deterministic; cosignatures on the file are kept).

Integrity is a gate: if the stored ledger fails verification, a checkpoint the ledger
recorded is missing or the ledger went back behind one, or signing would contradict an
earlier checkpoint, nothing (more) is signed, a ``LEDGER_INTEGRITY`` rejection keeps the
failure in the warehouse and :class:`~foundation.errors.IntegrityError` stops the night,
naming what failed and where (the first bad entry).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from foundation.errors import IntegrityError
from ledger.checkpoint import CheckpointError, NoteSigner
from ledger.entries import ArchiveManifest, decode_entry
from ledger.invariants import EVIDENCE_PENDING, INTEGRITY
from ledger.process import NightProcessor
from ledger.publish import latest_checkpoint, load_checkpoints, publish_checkpoint, unpublished_problems
from ledger.rejections import LEDGER, RejectionRecord, insert_rejections, known_rejections
from ledger.schema import ensure_schema
from ledger.store import ARCHIVE_MANIFEST, LedgerStore, PendingEntry, fetch_one
from ledger.verify import VerifyReport, verify_ledger
from warehouse.transactions import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NightResult:
    """What a night did to the ledger."""

    business_date: dt.date
    appended: int
    redelivered: int
    rejected: int  # rejections belonging to this night (first refused tonight)
    fingerprints: int
    tree_size: int
    root_hex: str
    checkpoint_path: Path | None
    verified: bool = True  # a night that fails verification raises IntegrityError instead
    problem: str | None = None
    replayed_events: int = 0  # events decided tonight (all delivered so far, or the touched families')


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (a night allocates millions of acyclic
    objects; collections would re-scan them over and over)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _record_integrity(con: duckdb.DuckDBPyConnection, business_date: dt.date, seq: int | None, problem: str) -> None:
    """Keep a LEDGER_INTEGRITY rejection (once per distinct failure)."""
    subject_id = "head" if seq is None else str(seq)
    chash = hashlib.sha256(problem.encode("utf-8")).digest()
    if (LEDGER, subject_id, chash) in known_rejections(con, LEDGER, [subject_id]):
        return
    financing_id = voucher_id = None
    if seq is not None:
        row = fetch_one(con, "SELECT financing_id, voucher_id FROM ledger_entries WHERE seq = ? LIMIT 1", [seq])
        if row:
            financing_id, voucher_id = row
    record = RejectionRecord(
        business_date=business_date,
        subject=LEDGER,
        subject_id=subject_id,
        content_hash=chash,
        check_id=INTEGRITY,
        event_id=None,
        voucher_id=voucher_id,
        financing_id=financing_id,
        reason=f"Ledger verification failed: {problem}.",
        evidence={"first_bad_seq": seq, "problem": problem},
    )
    with transaction(con):
        insert_rejections(con, [record])


def _fail(con: duckdb.DuckDBPyConnection, business_date: dt.date, seq: int | None, problem: str) -> IntegrityError:
    """Record the failure as a LEDGER_INTEGRITY rejection and return the error that stops the night."""
    where = "ledger" if seq is None else f"ledger entry seq {seq}"
    log.error("ledger %s: %s: %s", business_date, where, problem)
    _record_integrity(con, business_date, seq, problem)
    return IntegrityError(
        f"night {business_date} stopped: {where} failed verification: {problem} "
        "(run `scf verify`; restore the warehouse or checkpoints from backup)"
    )


def _append_manifest(con: duckdb.DuckDBPyConnection, business_date: dt.date, manifest: ArchiveManifest) -> bool:
    """:func:`record_manifest` in the caller's open transaction (DuckDB aborts a transaction in
    which another is begun)."""
    row = fetch_one(
        con, "SELECT entry FROM ledger_entries WHERE entry_type = ? ORDER BY seq DESC LIMIT 1", [ARCHIVE_MANIFEST]
    )
    if row is not None and decode_entry(bytes(row[0])).record == manifest:
        return False
    LedgerStore(con).append([PendingEntry(manifest)], business_date)
    return True


def record_manifest(con: duckdb.DuckDBPyConnection, business_date: dt.date, manifest: ArchiveManifest) -> bool:
    """Append the manifest head unless it is the last one recorded (a re-run appends nothing)."""
    with transaction(con):
        return _append_manifest(con, business_date, manifest)


def ingest_night(
    con: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    *,
    fingerprint_key: bytes,
    evidence_window_days: int,
    manifest: ArchiveManifest | None = None,
    on_appended: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Decide the ledger as of the night and append what changed, then the archive manifest's
    head ``manifest`` (:func:`record_manifest`), in one transaction (no verification, no
    signing), a batch of :data:`ledger.inputs.BATCH_ROWS` records at a time.

    One transaction, one commit: a manifest entry committed alone left a one-row row group
    behind the night's entries, and DuckDB's checkpoint at the next night's commit merged it
    with the row groups around it, re-compressing up to four row groups of entries every night
    (BENCHMARKS.md, ninth session of the voucher_ledger stage against history).

    Returns the counts ``appended``, ``redelivered``, ``rejected`` (refusals of records
    delivered tonight, or voided tonight), ``fingerprints`` and ``replayed_events`` (the
    events decided tonight: every one delivered so far, or those of the families the night
    touches, :mod:`ledger.touched`).  ``on_appended`` is told how many entries each batch
    appended (progress).
    """
    ensure_schema(con)
    with gc_paused():
        with transaction(con):
            night = NightProcessor(
                con, business_date, fingerprint_key, window_days=evidence_window_days, on_appended=on_appended
            )
            night.run()
            night.store_decisions()
            if manifest is not None:
                _append_manifest(con, business_date, manifest)
        if night.touched is not None:
            log.info("ledger %s: built on %s, replayed %d events and %d financings of %d vouchers", business_date,
                     night.base, night.touched.events, night.touched.financings, night.touched.vouchers)
        counts = dict(
            appended=night.appended,
            redelivered=night.redelivered,
            rejected=sum(1 for r in night.decisions if r.business_date == business_date and r.check_id != EVIDENCE_PENDING),
            fingerprints=night.fingerprints,
            replayed_events=night.replayed,
        )
        # the night's states and records die here, while the collector is paused: enabled with them
        # alive, it would traverse every one of them (seconds on a 1M-invoice night)
        del night
    return counts


def append_night(
    con: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    *,
    checkpoint_dir: Path,
    signing_key: Ed25519PrivateKey,
    key_name: str,
    origin: str,
    fingerprint_key: bytes,
    evidence_window_days: int,
    manifest: ArchiveManifest | None = None,
    on_appended: Callable[[int], None] | None = None,
    on_verified: Callable[[int], None] | None = None,
) -> NightResult:
    """Append night ``business_date`` to the ledger, verify it and sign a checkpoint.

    ``evidence_window_days``: how many nights after its first an event whose support has
    not arrived stays pending before it is voided (the check parameter of that name).

    ``manifest``, the archive manifest's head after the night's landing, is appended
    after the night's records when it differs from the last one recorded, so that the
    checkpoint covers the bytes the night rests on.  ``on_appended``: see :func:`ingest_night`;
    ``on_verified`` is told the entries verified after the append (progress).

    Raises :class:`~foundation.errors.IntegrityError` when the ledger or its checkpoints
    fail verification (before or after the append) or signing would contradict them.
    """
    ensure_schema(con)
    signer = NoteSigner(key_name, signing_key)
    signed, problems = load_checkpoints(con, checkpoint_dir, origin=origin, log=signer.verifier())
    problems += unpublished_problems(con, checkpoint_dir, signed)
    if problems:
        raise _fail(con, business_date, None, problems[0])
    since = latest_checkpoint(signed)
    before = verify_ledger(con, since=since)
    if not before.ok:
        raise _fail(con, business_date, before.first_bad_seq, str(before.problem))

    counts = ingest_night(
        con, business_date, fingerprint_key=fingerprint_key, evidence_window_days=evidence_window_days,
        manifest=manifest, on_appended=on_appended,
    )
    after: VerifyReport = verify_ledger(con, since=since, on_entries=on_verified)
    if not after.ok:
        raise _fail(con, business_date, after.first_bad_seq, str(after.problem))
    try:
        with transaction(con):
            published = publish_checkpoint(
                con, checkpoint_dir=checkpoint_dir, signer=signer, origin=origin, business_date=business_date
            )
    except CheckpointError as exc:
        raise _fail(con, business_date, None, str(exc)) from exc
    log.info(
        "ledger %s: %d appended, %d re-delivered, %d rejected; tree size %d",
        business_date, counts["appended"], counts["redelivered"], counts["rejected"], published.checkpoint.size,
    )
    return NightResult(
        business_date=business_date,
        tree_size=published.checkpoint.size,
        root_hex=published.checkpoint.root.hex(),
        checkpoint_path=Path(published.source),
        appended=counts["appended"],
        redelivered=counts["redelivered"],
        rejected=counts["rejected"],
        fingerprints=counts["fingerprints"],
        replayed_events=counts["replayed_events"],
    )
