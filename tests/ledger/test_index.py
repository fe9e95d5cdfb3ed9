"""The index columns of ledger_entries are checked against the entries they were copied from."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from ledger.entries import ArchiveManifest, decode_entry
from ledger.index import COLUMNS, fingerprint_problem, index_problem, index_values
from ledger.nightly import record_manifest
from ledger.store import row_keys
from tests.ledger_nights import CORE, SAMPLE_DATE, SAMPLE_MATURITY, TIER1, Harness, busy_night, sample_night


@pytest.fixture
def ledger(tmp_path) -> Harness:
    h = Harness(duckdb.connect(), tmp_path / "checkpoints")
    sample_night().load(h.con)
    h.run(SAMPLE_DATE)
    record_manifest(h.con, SAMPLE_DATE, ArchiveManifest(3, b"\x05" * 32))
    day2 = SAMPLE_DATE + dt.timedelta(days=1)
    night = busy_night(day2, 2)
    # an ISSUE whose payable has not arrived: refused, or held pending where the ledger keeps
    # a decision about an event as an entry of its own -- whose index columns are checked too
    night.event("EV-NO-PAYABLE", "ISSUE", "V-NO-PAYABLE", time=f"{day2}T10:00:00+08:00", issuer=CORE,
                from_uscc=CORE, to_uscc=TIER1, amount_fen=500_000, maturity=SAMPLE_MATURITY,
                ap_ref="1000-2026-9999999999-001")
    night.load(h.con)
    h.run(day2)
    return h


def test_index_values_read_from_the_bytes_equal_those_of_the_decoded_entry(ledger: Harness) -> None:
    rows = ledger.con.execute(f"SELECT {', '.join(COLUMNS)}, entry FROM ledger_entries ORDER BY seq").fetchall()
    assert {r[0] for r in rows} >= {"ISSUE", "SPLIT", "TRANSFER", "FINANCE", "FINANCING", "ARCHIVE_MANIFEST"}
    for *stored, raw in rows:
        entry = decode_entry(raw)
        assert index_values(raw)[:-1] == (*row_keys(entry.record), entry.ledger_date)
        # what the ledger wrote when it appended the entry: every kind of entry, including any
        # whose content_hash column is not its own content hash, must read as it was written
        assert index_values(raw) == tuple(stored)
    assert index_problem(ledger.con) is None


@pytest.mark.parametrize(
    ("column", "value"),
    [("financing_id", "F-FORGED"), ("voucher_id", None), ("event_id", "EV-X"), ("entry_type", "SETTLE"),
     ("business_date", dt.date(2020, 1, 1)), ("content_hash", b"\x00" * 32)],
)
def test_a_rewritten_index_column_is_named(ledger: Harness, column: str, value: object) -> None:
    ledger.con.execute(f"UPDATE ledger_entries SET {column} = ? WHERE seq = 3", [value])
    seq, problem = index_problem(ledger.con)
    assert seq == 3 and problem.startswith(f"column {column} of entry 3 reads {value!r}, the entry says")


def test_a_malformed_entry_is_named(ledger: Harness) -> None:
    ledger.con.execute("UPDATE ledger_entries SET entry = entry[1:80] WHERE seq = 2")
    assert index_problem(ledger.con) == (2, "entry 2 is malformed: truncated entry")


def test_recorded_fingerprints_are_checked_against_the_annexes(ledger: Harness) -> None:
    assert fingerprint_problem(ledger.con) is None
    seq = ledger.con.execute("SELECT min(seq) FROM ledger_fingerprints WHERE kind = 'VOUCHER'").fetchall()[0][0]
    ledger.con.execute("UPDATE ledger_fingerprints SET digest = ? WHERE seq = ? AND kind = 'VOUCHER'", [b"\x01" * 32, seq])
    assert fingerprint_problem(ledger.con) == (seq, f"the fingerprints recorded for entry {seq} are not those its entry carries")


def test_a_removed_or_added_fingerprint_is_named(ledger: Harness) -> None:
    last = ledger.con.execute("SELECT max(seq) FROM ledger_fingerprints").fetchall()[0][0]
    ledger.con.execute("CREATE TABLE kept AS SELECT * FROM ledger_fingerprints WHERE seq = ? AND kind = 'VOUCHER'", [last])
    ledger.con.execute("DELETE FROM ledger_fingerprints WHERE seq = ? AND kind = 'VOUCHER'", [last])
    assert fingerprint_problem(ledger.con)[0] == last
    ledger.con.execute("INSERT INTO ledger_fingerprints SELECT * FROM kept")
    assert fingerprint_problem(ledger.con) is None
    ledger.con.execute("INSERT INTO ledger_fingerprints SELECT * FROM kept")  # one row twice
    assert fingerprint_problem(ledger.con)[0] == last
    ledger.con.execute("DELETE FROM ledger_fingerprints WHERE seq = ? AND kind = 'VOUCHER'", [last])
    ledger.con.execute("INSERT INTO ledger_fingerprints SELECT * FROM kept")
    ledger.con.execute("INSERT INTO ledger_fingerprints SELECT 999, business_date, financing_id, kind, digest, amount_fen "
                       "FROM kept")
    assert fingerprint_problem(ledger.con) == (999, "fingerprints are recorded for entry 999, which does not exist")
