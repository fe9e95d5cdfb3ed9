"""The nightly integrity gate is O(night) (issue 15): it starts from the checkpoint the previous gate
verified, re-hashes what was appended since and a rotating slice of the older entries.  What it
catches at once, what within a lap of ``verify_lap_nights`` nights, and what `scf verify` catches at once
(docs/OPERATIONS.md, "What each integrity gate catches, and when")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from foundation.errors import ConfigError, IntegrityError
from integration.audit import audit_home, night_gate
from integration.definitions import build_definitions
from integration.resources import ScfHome
from integration.settings import load_settings
from ledger.entries import decode_entry
from ledger.merkle import CompactRange
from ledger.store import LedgerStore, PendingEntry
from tests.integration.test_integrity_gate import NEXT, assert_night_stops_at_landing, pristine  # noqa: F401
from tests.integration.test_pipeline import query, run_ok
from warehouse.connection import Warehouse

LAP = 3
LATER = NEXT + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def two_nights(pristine, tmp_path_factory) -> tuple[Path, Path, Path]:  # noqa: F811
    """A home after two nights (lap of 3 nights), its inbox, and the home as it was after the first night."""
    first, inbox = pristine
    root = tmp_path_factory.mktemp("audit")
    shutil.copytree(first, root / "home")
    with (root / "home" / "scf.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[ledger]\nverify_lap_nights = {LAP}\n")
    run_ok(root / "home", inbox, NEXT)
    return root / "home", inbox, first


@pytest.fixture
def home(two_nights, tmp_path) -> tuple[Path, Path]:
    source, inbox, _ = two_nights
    shutil.copytree(source, tmp_path / "home")
    return tmp_path / "home", inbox


def sizes(home: Path) -> tuple[int, int]:
    """(s1, s2): the ledger's size after the first night (where the gate of the second started) and now."""
    [(verified, size)] = query(home, "SELECT verified_size, (SELECT tree_size FROM ledger_tree) FROM ledger_audit")
    return verified, size


def gate(home: Path) -> tuple[str, ...]:
    return night_gate(load_settings(home)).lines


def flip_entry(home: Path, seq: int) -> str:
    with Warehouse(home / "warehouse.duckdb") as wh:
        [(raw,)] = wh.con.execute("SELECT entry FROM ledger_entries WHERE seq = ?", [seq]).fetchall()
        altered = bytearray(raw)
        altered[-10] ^= 1
        wh.con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = ?", [bytes(altered), seq])
    return f"first bad entry: seq {seq}"


def rewrite_index(home: Path, seq: int) -> str:
    with Warehouse(home / "warehouse.duckdb") as wh:
        wh.con.execute("UPDATE ledger_entries SET business_date = business_date - 1 WHERE seq = ?", [seq])
    return f"column business_date of entry {seq} reads"


def rewrite_fingerprint(home: Path, seq: int) -> str:
    with Warehouse(home / "warehouse.duckdb") as wh:
        wh.con.execute("UPDATE ledger_fingerprints SET digest = ? WHERE seq = ?", [b"\x00" * 32, seq])
    return f"the fingerprints recorded for entry {seq} are not those its entry carries"


def last_fingerprinted(home: Path, below: int) -> int:
    [(seq,)] = query(home, "SELECT max(seq) FROM ledger_fingerprints WHERE seq < ?", below)
    return int(seq)


def test_the_gate_reads_only_what_was_appended_since_the_last_gate_and_a_slice(home) -> None:
    engine, _ = home
    s1, s2 = sizes(engine)
    assert 0 < s1 < s2
    lines = gate(engine)
    per = -(-s1 // LAP)
    assert any(f"entries {s1}..{s2 - 1} appended since the checkpoint of size {s1}" in line for line in lines), lines
    assert any(f"rotating slice: entries 0..{per - 1} of [0, {s1})" in line for line in lines), lines
    assert query(engine, "SELECT verified_size, lap_size, lap_next FROM ledger_audit") == [(s2, s1, per)]
    lines = gate(engine)  # nothing appended since: only the next slice
    assert any(f"entries {s2}..{s2 - 1} appended" in line for line in lines), lines
    assert any(f"rotating slice: entries {per}..{2 * per - 1}" in line for line in lines), lines


def test_an_entry_altered_after_the_last_gate_stops_the_night(home) -> None:
    engine, inbox = home
    s1, s2 = sizes(engine)
    cause = flip_entry(engine, s2 - 1)
    assert_night_stops_at_landing(engine, inbox, cause, LATER)


@pytest.mark.parametrize("tamper", [flip_entry, rewrite_index, rewrite_fingerprint])
def test_an_old_entry_or_its_index_rewritten_is_caught_by_the_slice_within_a_lap_and_by_scf_verify_at_once(
    home, tamper: Callable[[Path, int], str]
) -> None:
    """Not every night any more: the lap's slice that holds it stops the night (at the latest the
    lap's last night), `scf verify` names it at once."""
    engine, _ = home
    s1, _ = sizes(engine)
    target = {rewrite_fingerprint: last_fingerprinted(engine, s1), rewrite_index: s1 - 1}.get(tamper, s1 - 2)
    cause = tamper(engine, target)
    with pytest.raises(IntegrityError, match=cause):
        audit_home(load_settings(engine))
    caught_on = target // -(-s1 // LAP) + 1  # the gate whose slice holds it
    assert 1 < caught_on <= LAP, "the target is in a later slice of the lap"
    for _ in range(caught_on - 1):
        gate(engine)
    with pytest.raises(IntegrityError, match=cause):
        gate(engine)


def test_a_rolled_back_ledger_stops_the_night(home, two_nights) -> None:
    engine, _ = home
    shutil.copy(two_nights[2] / "warehouse.duckdb", engine / "warehouse.duckdb")  # the warehouse of the first night
    for check in (night_gate, audit_home):
        with pytest.raises(IntegrityError, match="the ledger went backwards"):
            check(load_settings(engine))


def test_a_forked_head_stops_the_night(home) -> None:
    """The entries since the last gate replaced by others, the stored tree rebuilt over them: the
    tree is self-consistent, but not the one signed."""
    engine, _ = home
    s1, s2 = sizes(engine)
    with Warehouse(engine / "warehouse.duckdb") as wh:
        con = wh.con
        entries = [decode_entry(bytes(raw)) for (raw,) in
                   con.execute("SELECT entry FROM ledger_entries WHERE seq >= ? ORDER BY seq", [s1]).fetchall()]
        day = entries[-1].ledger_date
        con.execute("DELETE FROM ledger_entries WHERE seq >= ?", [s1])
        con.execute("DELETE FROM ledger_nodes WHERE last_seq >= ?", [s1])
        store = LedgerStore(con)
        edge = CompactRange(s1, [store.fetch_nodes([i])[i] for i in CompactRange.node_ids(s1)])
        [(last,)] = con.execute("SELECT leaf_hash FROM ledger_entries WHERE seq = ?", [s1 - 1]).fetchall()
        con.execute("UPDATE ledger_tree SET tree_size = ?, root_hash = ?, edge = ?, last_leaf_hash = ?",
                    [s1, edge.root(), b"".join(edge.hashes), last])
        forged = [PendingEntry(e.record, e.annex) for e in entries]
        forged[-1] = PendingEntry(dataclasses.replace(entries[-1].record, manifest_head=b"\x01" * 32), entries[-1].annex)
        store.append(forged, day)
    with pytest.raises(IntegrityError, match=f"do not hash to the signed checkpoint of size {s2}"):
        gate(engine)


def test_without_a_kept_gate_the_whole_ledger_is_verified(home) -> None:
    engine, _ = home
    s1, s2 = sizes(engine)
    with Warehouse(engine / "warehouse.duckdb") as wh:
        wh.con.execute("DELETE FROM ledger_audit")
    flip_entry(engine, 0)  # an old entry: no slice would reach it tonight
    with pytest.raises(IntegrityError, match="first bad entry: seq 0"):
        gate(engine)


def test_the_lap_is_a_setting_and_by_default_about_one_night_a_slice(home) -> None:
    """0 (the default): a lap of as many nights as checkpoints were signed up to its start -- here one
    (the first night's), so one slice re-hashes every older entry."""
    engine, _ = home
    assert load_settings(engine).ledger.verify_lap_nights == LAP
    toml = engine / "scf.toml"
    toml.write_text(toml.read_text("utf-8").replace(f"verify_lap_nights = {LAP}", "verify_lap_nights = -1"), "utf-8")
    with pytest.raises(ConfigError, match="verify_lap_nights"):
        load_settings(engine)
    toml.write_text(toml.read_text("utf-8").replace("verify_lap_nights = -1", "verify_lap_nights = 0"), "utf-8")
    s1, _ = sizes(engine)
    assert any(f"rotating slice: entries 0..{s1 - 1} of [0, {s1})" in line for line in gate(engine))


def test_the_weekly_verify_job_names_what_the_gate_left_for_later(home) -> None:
    """The scheduled `scf_verify` job (Dagster) walks everything: an old entry altered outside
    tonight's slice passes tonight's gate and fails the job, naming it."""
    engine, _ = home
    job = build_definitions(load_settings(engine)).get_job_def("scf_verify")
    resources = {"scf": ScfHome(home=str(engine))}
    assert job.execute_in_process(resources=resources).success
    s1, _ = sizes(engine)
    cause = flip_entry(engine, s1 - 2)
    gate(engine)  # tonight's slice is the lap's first third
    result = job.execute_in_process(resources=resources, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert cause in str(failure.step_failure_data.error)
