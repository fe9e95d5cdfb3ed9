"""Tampering with the stored ledger is detected and the first bad position named."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from concurrent.futures.process import BrokenProcessPool

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from foundation.errors import IntegrityError
from ledger.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from ledger.merkle import leaf_hash
from ledger.nightly import ingest_night
from ledger.proofcheck import verify_inclusion
from ledger.publish import load_checkpoints
from ledger.store import LedgerStore
from ledger.verify import VerifyReport, verify_ledger
from tests.ledger_nights import Harness, busy_night, implications
from warehouse.connection import Warehouse

DAYS = [dt.date(2026, 11, 20) + dt.timedelta(days=i) for i in range(3)]
SIZE = 3 * 4 * 5  # three nights of four five-entry chains


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A three-night ledger, saved to a file so each test can start from a copy."""
    folder = tmp_path_factory.mktemp("pristine")
    con = Warehouse(folder / "warehouse.duckdb").con
    harness = Harness(con, folder / "checkpoints")
    for day in DAYS:
        busy_night(day, 4).load(con)
        assert harness.run(day).verified
    con.close()
    return folder, harness.signing_key, harness.origin


@pytest.fixture
def ledger(pristine, tmp_path) -> Harness:
    folder, key, origin = pristine
    (tmp_path / "checkpoints").mkdir()
    for f in (folder / "checkpoints").iterdir():
        (tmp_path / "checkpoints" / f.name).write_text(f.read_text())
    (tmp_path / "warehouse.duckdb").write_bytes((folder / "warehouse.duckdb").read_bytes())
    return Harness(Warehouse(tmp_path / "warehouse.duckdb").con, tmp_path / "checkpoints", key, origin)


def full_verify(h: Harness, **kw):
    """Verify in this process, and again in worker processes: both must give the same report."""
    found, problems = load_checkpoints(h.con, h.checkpoint_dir, origin=h.origin, log=h.verifier())
    assert len(found) >= 3
    trusted = [s.checkpoint for s in found]
    report = verify_ledger(h.con, trusted=trusted, **kw)
    assert report.workers == 0
    parallel = in_worker_processes(h, trusted=trusted, **kw)
    assert parallel.workers == 2
    assert (parallel.ok, parallel.first_bad_seq, parallel.problem) == (report.ok, report.first_bad_seq, report.problem)
    if report.ok:
        assert parallel.cpu_seconds > 0
        assert dataclasses.replace(parallel, workers=0, cpu_seconds=report.cpu_seconds) == report
    return report, problems


def in_worker_processes(h: Harness, **kw) -> VerifyReport:
    """``verify_ledger`` by two worker processes over segments of 8 entries (pages of 3).

    Worker processes need a read-only database file: the harness's connection is closed
    for the time and opened again after.
    """
    path = database_file(h)
    try:
        with duckdb.connect(path, read_only=True) as read_only:
            return verify_ledger(read_only, workers=2, segment_rows=8, batch_rows=3, **kw)
    finally:
        h.con = duckdb.connect(path)


def database_file(h: Harness) -> str:
    """The file behind the harness's connection, which is closed (so others may open it)."""
    path = h.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    h.con.close()
    return path[0][0]


def entry(h: Harness, seq: int) -> bytes:
    return bytes(h.con.execute("SELECT entry FROM ledger_entries WHERE seq = ?", [seq]).fetchall()[0][0])


def test_pristine_ledger_verifies(ledger: Harness) -> None:
    report, problems = full_verify(ledger, check_nodes=True)
    assert report.ok and not problems, report.summary()
    assert report.tree_size == SIZE and report.checkpoints_matched == (20, 40, 60)


@pytest.mark.parametrize("seq", [0, 1, 7, 20, 33, SIZE - 1])
@pytest.mark.parametrize("where", ["version", "seq", "prev", "middle", "last"])
def test_flipped_byte_is_named(ledger: Harness, seq: int, where: str) -> None:
    data = bytearray(entry(ledger, seq))
    offset = {"version": 0, "seq": 12, "prev": 30, "middle": len(data) // 2, "last": len(data) - 1}[where]
    data[offset] ^= 0x01
    ledger.con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = ?", [bytes(data), seq])
    report, _ = full_verify(ledger)
    assert not report.ok and report.first_bad_seq == seq, report.summary()
    assert f"entry {seq}" in report.problem


@pytest.mark.parametrize("seq", [0, 5, 20, 31, SIZE - 1])
def test_rewritten_entry_with_recomputed_leaf_hash_is_named(ledger: Harness, seq: int) -> None:
    data = bytearray(entry(ledger, seq))
    data[-3] ^= 0x40
    ledger.con.execute(
        "UPDATE ledger_entries SET entry = ?, leaf_hash = ? WHERE seq = ?", [bytes(data), leaf_hash(bytes(data)), seq]
    )
    report, _ = full_verify(ledger)
    assert not report.ok and report.first_bad_seq == seq, report.summary()


def test_flipped_leaf_hash_is_named(ledger: Harness) -> None:
    ledger.con.execute("UPDATE ledger_entries SET leaf_hash = ? WHERE seq = 12", [b"\x00" * 32])
    report, _ = full_verify(ledger)
    assert report.first_bad_seq == 12


@pytest.mark.parametrize("seq", [0, 9, 40, SIZE - 1])
def test_dropped_entry_is_named(ledger: Harness, seq: int) -> None:
    ledger.con.execute("DELETE FROM ledger_entries WHERE seq = ?", [seq])
    report, _ = full_verify(ledger)
    assert not report.ok and report.first_bad_seq == seq, report.summary()
    assert "missing" in report.problem


@pytest.mark.parametrize("a,b", [(0, 1), (3, 17), (25, SIZE - 1)])
def test_reordered_entries_are_named(ledger: Harness, a: int, b: int) -> None:
    ledger.con.execute(
        "UPDATE ledger_entries SET seq = CASE seq WHEN ? THEN ? ELSE ? END WHERE seq IN (?, ?)", [a, b, a, a, b]
    )
    report, _ = full_verify(ledger)
    assert not report.ok and report.first_bad_seq == a, report.summary()


def test_swapped_contents_are_named(ledger: Harness) -> None:
    rows = dict(
        (s, (e, h)) for s, e, h in ledger.con.execute(
            "SELECT seq, entry, leaf_hash FROM ledger_entries WHERE seq IN (4, 6)"
        ).fetchall()
    )
    for seq, other in ((4, 6), (6, 4)):
        ledger.con.execute("UPDATE ledger_entries SET entry = ?, leaf_hash = ? WHERE seq = ?", [*rows[other], seq])
    report, _ = full_verify(ledger)
    assert report.first_bad_seq == 4 and "carries seq 6" in report.problem


def test_replaced_checkpoint_is_detected(ledger: Harness) -> None:
    forger = NoteSigner(ledger.origin, Ed25519PrivateKey.generate())
    path = ledger.checkpoint_dir / "40.txt"
    path.write_text(sign_checkpoint(Checkpoint(ledger.origin, 40, b"\x13" * 32), forger))
    _, problems = full_verify(ledger)
    assert any("40.txt" in p and "not signed by the pinned log key" in p for p in problems)
    # an older, genuine checkpoint renamed as a newer one
    path.write_text((ledger.checkpoint_dir / "20.txt").read_text())
    _, problems = full_verify(ledger)
    assert any("40.txt" in p and "size 20" in p for p in problems)
    # the nightly refuses to go on
    with pytest.raises(IntegrityError, match="40.txt holds tree size 20"):
        ledger.run(DAYS[-1] + dt.timedelta(days=1))
    found = implications(ledger.con, DAYS[-1] + dt.timedelta(days=1))
    assert [f.check_id for f in found] == ["LEDGER_INTEGRITY"]


def test_tampered_node_is_found_and_breaks_proofs(ledger: Harness) -> None:
    ledger.con.execute("UPDATE ledger_nodes SET hash = ? WHERE level = 2 AND idx = 3", [b"\x42" * 32])
    report, _ = full_verify(ledger, check_nodes=True)
    assert not report.ok and report.first_bad_seq == 12 and "node (level 2, index 3)" in report.problem
    root = full_verify(ledger)[0].root  # entries themselves are intact
    store = LedgerStore(ledger.con)
    proof = store.inclusion_proof(8, SIZE)  # its path passes through node (2, 3)
    assert not verify_inclusion(leaf_hash(entry(ledger, 8)), 8, SIZE, proof, root)


def test_tampered_head_is_detected(ledger: Harness) -> None:
    ledger.con.execute("UPDATE ledger_tree SET root_hash = ?", [b"\x01" * 32])
    report, _ = full_verify(ledger)
    assert not report.ok and "tree head" in report.problem


def test_nightly_refuses_to_build_on_a_tampered_tail(ledger: Harness) -> None:
    before = ledger.con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0]
    # an entry appended after the last checkpoint, then altered
    tail_day = DAYS[-1] + dt.timedelta(days=1)
    busy_night(tail_day, 1).load(ledger.con)
    assert ledger.run(tail_day).verified
    data = bytearray(entry(ledger, SIZE + 4))
    data[-1] ^= 1
    ledger.con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = ?", [bytes(data), SIZE + 4])
    ledger.con.execute("DELETE FROM ledger_checkpoints WHERE tree_size = ?", [SIZE + 5])
    (ledger.checkpoint_dir / f"{SIZE + 5}.txt").unlink()
    next_day = tail_day + dt.timedelta(days=1)
    busy_night(next_day, 1).load(ledger.con)
    with pytest.raises(IntegrityError, match=f"ledger entry seq {SIZE + 4} failed verification"):
        ledger.run(next_day)
    assert ledger.con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0] == before + 5
    found = [f for f in implications(ledger.con, next_day) if f.check_id == "LEDGER_INTEGRITY"]
    assert len(found) == 1 and found[0].financing_id == f"F{tail_day:%Y%m%d}0000000"


def test_incremental_verification_from_a_checkpoint(ledger: Harness) -> None:
    found, _ = load_checkpoints(ledger.con, ledger.checkpoint_dir, origin=ledger.origin, log=ledger.verifier())
    since = next(s.checkpoint for s in found if s.checkpoint.size == 40)
    report = verify_ledger(ledger.con, since=since, trusted=[s.checkpoint for s in found])
    assert report.ok and report.entries_checked == 20
    ledger.con.execute("UPDATE ledger_nodes SET hash = ? WHERE level = 3 AND idx = 4", [b"\x00" * 32])
    report = verify_ledger(ledger.con, since=since)
    assert not report.ok and "size 40" in report.problem


@pytest.mark.parametrize("size", [20, 40])
@pytest.mark.parametrize("nodes", [False, True])
def test_worker_processes_verify_from_a_checkpoint_like_one_process(ledger: Harness, size: int, nodes: bool) -> None:
    """From size 20 the first segment is [20, 24): a range that joins the stored edge unaligned."""
    found, _ = load_checkpoints(ledger.con, ledger.checkpoint_dir, origin=ledger.origin, log=ledger.verifier())
    trusted = [s.checkpoint for s in found]
    since = next(cp for cp in trusted if cp.size == size)
    report = verify_ledger(ledger.con, since=since, trusted=trusted, check_nodes=nodes)
    parallel = in_worker_processes(ledger, since=since, trusted=trusted, check_nodes=nodes)
    assert report.ok and report.entries_checked == SIZE - size and parallel.workers == 2
    assert dataclasses.replace(parallel, workers=0, cpu_seconds=report.cpu_seconds) == report


@pytest.mark.parametrize("level,idx", [(1, 5), (3, 1), (4, 0), (5, 0)])
def test_tampered_node_is_named_inside_a_segment_or_where_segments_join(ledger: Harness, level: int, idx: int) -> None:
    """With segments of 8 entries, nodes above level 3 are completed only by joining segments."""
    ledger.con.execute("UPDATE ledger_nodes SET hash = ? WHERE level = ? AND idx = ?", [b"\x42" * 32, level, idx])
    report, _ = full_verify(ledger, check_nodes=True)
    assert not report.ok and report.first_bad_seq == idx << level
    assert f"node (level {level}, index {idx})" in report.problem


def test_a_worker_that_cannot_open_the_database_fails_the_verification_never_hangs(ledger: Harness) -> None:
    path = database_file(ledger)
    with duckdb.connect(path, read_only=True) as read_only:
        os.unlink(path)  # moved away while this process still reads it: the workers cannot open it
        with pytest.raises(BrokenProcessPool):
            verify_ledger(read_only, workers=2, segment_rows=8)


def test_deleted_latest_checkpoint_stops_the_night(ledger: Harness) -> None:
    (ledger.checkpoint_dir / f"{SIZE}.txt").unlink()
    with pytest.raises(IntegrityError, match=f"checkpoint .*{SIZE}.txt is missing"):
        ledger.run(DAYS[-1] + dt.timedelta(days=1))


def test_ledger_gone_back_behind_a_checkpoint_stops_the_night(tmp_path) -> None:
    """A warehouse restored from an older backup no longer holds the latest checkpoint's tree."""
    db = tmp_path / "warehouse.duckdb"
    harness = Harness(duckdb.connect(str(db)), tmp_path / "checkpoints")
    for day in DAYS[:2]:
        busy_night(day, 1).load(harness.con)
        harness.run(day)
    harness.con.close()
    backup = db.read_bytes()
    harness.con = duckdb.connect(str(db))
    busy_night(DAYS[2], 1).load(harness.con)
    harness.run(DAYS[2])
    harness.con.close()
    db.write_bytes(backup)
    harness.con = duckdb.connect(str(db))
    busy_night(DAYS[2], 1).load(harness.con)
    with pytest.raises(IntegrityError, match="went backwards: it holds 10 entries but a checkpoint of size 15"):
        harness.run(DAYS[2])


def test_what_a_crash_leaves_is_no_integrity_failure(ledger: Harness) -> None:
    """A night killed after its entries were committed but before the checkpoint was signed,
    or after the checkpoint file was written but before the ledger recorded it: the re-run
    goes on and signs."""
    day = DAYS[-1] + dt.timedelta(days=1)
    busy_night(day, 1).load(ledger.con)
    ingest_night(ledger.con, day, fingerprint_key=ledger.fingerprint_key, evidence_window_days=7)  # killed before signing
    result = ledger.run(day)
    assert result.appended == 0 and result.tree_size == SIZE + 5 and result.checkpoint_path is not None
    ledger.con.execute("DELETE FROM ledger_checkpoints WHERE tree_size = ?", [SIZE + 5])  # killed before recording
    assert ledger.run(day).tree_size == SIZE + 5
    assert ledger.con.execute("SELECT count(*) FROM ledger_checkpoints WHERE tree_size = ?", [SIZE + 5]).fetchall() == [(1,)]
