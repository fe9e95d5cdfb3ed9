"""The index columns of ledger_entries are checked against the entries they were copied from."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ledger.entries import ArchiveManifest, EntryFormatError, decode_entry
from ledger.index import (
    COLUMNS,
    _expected_fingerprints,
    _fingerprint_rows,
    _page_agrees,
    _pages,
    fingerprint_problem,
    index_problem,
    index_values,
)
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


def _page(ledger: Harness) -> pa.Table:
    (page,) = list(_pages(ledger.con, 0, None))
    return page


def _oracle_problem(page: pa.Table) -> str | None:
    """What the entry-by-entry reading finds on ``page``: a malformed entry or a column that disagrees."""
    for _seq, *stored, entry in zip(*(page.column(c).to_pylist() for c in page.column_names), strict=True):
        try:
            if index_values(entry) != tuple(stored):
                return "disagrees"
        except EntryFormatError:
            return "malformed"
    return None


def test_the_checks_read_every_kind_of_entry_as_columns(ledger: Harness) -> None:
    """Not only does the check hold (above): the page is decided as columns, not left to the oracle,
    and the annexes read as columns give exactly the fingerprint rows the oracle reads."""
    page = _page(ledger)
    assert _page_agrees(page)
    financings = page.filter(pc.equal(page.column("entry_type"), "FINANCING")).select(["seq", "entry"])
    expected = _expected_fingerprints(financings)
    assert expected is not None and expected.num_rows > 0
    oracle: Counter[tuple] = Counter()
    for seq, entry in zip(financings.column("seq").to_pylist(), financings.column("entry").to_pylist(), strict=True):
        oracle.update(_fingerprint_rows(seq, entry))
    assert Counter(zip(*(expected.column(c).to_pylist() for c in expected.column_names), strict=True)) == oracle


def _mutated(entry: bytes, rng: random.Random) -> bytes:
    how = rng.randrange(4)
    at = rng.randrange(len(entry))
    if how == 0:  # one byte changed
        return entry[:at] + bytes([entry[at] ^ (1 << rng.randrange(8))]) + entry[at + 1 :]
    if how == 1:  # cut short
        return entry[:at]
    if how == 2:  # a byte inserted
        return entry[:at] + bytes([rng.randrange(256)]) + entry[at:]
    length_at = rng.randrange(max(1, len(entry) - 4))  # a big-endian word rewritten (a length prefix, say)
    return entry[:length_at] + rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x00\x08"]) + entry[length_at + 4 :]


@pytest.mark.parametrize("seed", range(4))
def test_a_page_read_as_columns_never_passes_what_the_entry_by_entry_reading_refuses(ledger: Harness, seed: int) -> None:
    """Mutated entries (the tree's check aside): wherever the columns say a page agrees, the oracle
    agrees too; and annexes read as columns give the oracle's rows or are left to it."""
    rng = random.Random(seed)
    page = _page(ledger)
    entries = page.column("entry").to_pylist()
    index = page.column_names.index("entry")
    decided = 0
    for _ in range(150):
        i = rng.randrange(len(entries))
        changed = [*entries[:i], _mutated(entries[i], rng), *entries[i + 1 :]]
        mutated = page.set_column(index, "entry", pa.array(changed, pa.binary()))
        if _page_agrees(mutated):
            decided += 1
            assert _oracle_problem(mutated) is None
        if page.column("entry_type")[i].as_py() == "FINANCING":
            one = pa.table({"seq": [page.column("seq")[i].as_py()], "entry": pa.array([changed[i]], pa.binary())})
            columns = _expected_fingerprints(one)
            try:
                oracle = Counter(_fingerprint_rows(one.column("seq")[0].as_py(), changed[i]))
            except (EntryFormatError, AssertionError):
                assert columns is None
                continue
            if columns is not None:
                assert Counter(zip(*(columns.column(c).to_pylist() for c in columns.column_names), strict=True)) == oracle
    assert decided < 150  # the mutations were not all harmless
