"""``verify_slice``: a run of older entries re-hashed against a signed root without reading the
others (the nightly gate's rotating slice): every slice of an intact ledger verifies, and an
entry or a stored node that no longer gives the signed root is named."""

from __future__ import annotations

import pytest

from ledger.merkle import leaf_hash
from ledger.publish import load_checkpoints
from ledger.verify import verify_slice
from tests.ledger.test_tamper import SIZE, ledger, pristine  # noqa: F401
from tests.ledger_nights import Harness


def signed(h: Harness):
    found, _ = load_checkpoints(h.con, h.checkpoint_dir, origin=h.origin, log=h.verifier())
    return max((s.checkpoint for s in found), key=lambda c: c.size)


def test_every_slice_of_an_intact_ledger_verifies(ledger: Harness) -> None:  # noqa: F811
    cp = signed(ledger)
    assert cp.size == SIZE
    for start, end in [(0, 1), (0, SIZE), (7, 23), (16, 32), (SIZE - 1, SIZE), (33, 59)]:
        report = verify_slice(ledger.con, cp, start, end)
        assert report.ok and report.entries_checked == end - start, (start, end, report.problem)


@pytest.mark.parametrize("where", ["bytes", "bytes and leaf hash"])
def test_an_altered_entry_in_the_slice_is_named(ledger: Harness, where: str) -> None:  # noqa: F811
    cp = signed(ledger)
    raw = bytearray(ledger.con.execute("SELECT entry FROM ledger_entries WHERE seq = 21").fetchall()[0][0])
    raw[-3] ^= 1
    ledger.con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = 21", [bytes(raw)])
    if where == "bytes and leaf hash":
        ledger.con.execute("UPDATE ledger_entries SET leaf_hash = ? WHERE seq = 21", [leaf_hash(bytes(raw))])
    assert verify_slice(ledger.con, cp, 0, 10).ok, "a slice that does not hold it"
    report = verify_slice(ledger.con, cp, 16, 24)
    assert not report.ok and report.first_bad_seq == 21  # its bytes, or the link entry 22 holds
    last = verify_slice(ledger.con, cp, 21, 22)  # no successor's link in the slice: the signed root names it
    assert not last.ok and last.first_bad_seq == 21


def test_a_stored_node_beside_the_slice_that_does_not_give_the_root_fails_it(ledger: Harness) -> None:  # noqa: F811
    cp = signed(ledger)
    ledger.con.execute("UPDATE ledger_nodes SET hash = ? WHERE level = 4 AND idx = 2", [b"\x00" * 32])  # entries 32..47
    report = verify_slice(ledger.con, cp, 0, 8)
    assert not report.ok and f"entries 0..7 do not hash to the signed checkpoint of size {SIZE}" in report.problem
