"""The nightly step on a small warehouse: append, re-deliveries, rejections, re-runs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ledger import inputs as ledger_inputs
from ledger import nightly
from ledger.checkpoint import open_checkpoint
from ledger.entries import ArchiveManifest
from ledger.verify import verify_ledger
from tests.ledger_nights import (
    BANK,
    CORE,
    SAMPLE_DATE,
    SAMPLE_MATURITY,
    TIER1,
    TIER2,
    Harness,
    NightRows,
    implications,
    sample_night,
)
from warehouse.connection import Warehouse

D1 = SAMPLE_DATE
D2 = D1 + dt.timedelta(days=1)
D3 = D1 + dt.timedelta(days=2)
V0, V1 = "V3f9a1c2b4d5e6f70", "V3f9a1c2b4d5e6f71"


@pytest.fixture(params=[None, 1, 2], ids=["whole-night", "batches-of-1", "batches-of-2"])
def ledger(request, tmp_path, monkeypatch) -> Harness:
    """A harness; every test also runs with the night read and appended in tiny batches,
    which must change nothing."""
    if request.param is not None:
        monkeypatch.setattr(ledger_inputs, "BATCH_ROWS", request.param)
    return Harness(Warehouse(tmp_path / "warehouse.duckdb").con, tmp_path / "checkpoints")


def rejections(h: Harness, day=None) -> list[tuple]:
    """The refusals first made on ``day`` as of that night, or every refusal as of the last night run."""
    as_of = day or h.con.execute("SELECT max(as_of) FROM ledger_rejections").fetchall()[0][0]
    return h.con.execute(
        "SELECT business_date, check_id, event_id, voucher_id, financing_id, reason, evidence "
        "FROM ledger_rejections_as_of(?) WHERE check_id <> 'LEDGER_EVIDENCE_PENDING' "
        "AND (business_date = ? OR ?::DATE IS NULL) ORDER BY ALL", [as_of, day, day]
    ).fetchall()


def entry_types(h: Harness) -> list[str]:
    return [r[0] for r in h.con.execute("SELECT entry_type FROM ledger_entries ORDER BY seq").fetchall()]


def test_sample_night_is_appended_verified_and_signed(ledger: Harness) -> None:
    sample_night().load(ledger.con)
    result = ledger.run(D1)
    assert result.verified and result.problem is None
    assert (result.appended, result.rejected, result.tree_size) == (5, 0, 5)
    assert entry_types(ledger) == ["ISSUE", "SPLIT", "TRANSFER", "FINANCE", "FINANCING"]
    note = result.checkpoint_path.read_text()
    assert result.checkpoint_path.name == "5.txt"
    cp = open_checkpoint(note, origin=ledger.origin, log=ledger.verifier())
    assert (cp.size, cp.root.hex()) == (5, result.root_hex)
    assert verify_ledger(ledger.con, trusted=[cp]).ok
    states = dict(ledger.con.execute("SELECT voucher_id, remaining_fen FROM ledger_voucher_state").fetchall())
    assert states == {V0: 8_300_000, V1: 3_000_000}
    assert implications(ledger.con, D1) == []


def test_the_manifest_head_is_committed_with_the_nights_records(ledger: Harness, monkeypatch) -> None:
    """The archive manifest's head is the night's last entry, in the night's one transaction: a
    failure appending it leaves none of the night's records (one commit a night, no one-row
    append of its own for DuckDB's checkpoint to merge with the entries before it)."""
    sample_night().load(ledger.con)
    head = ArchiveManifest(3, b"\x05" * 32)

    def failing(*_: object) -> bool:
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(nightly, "_append_manifest", failing)
        with pytest.raises(OSError):
            nightly.ingest_night(ledger.con, D1, fingerprint_key=ledger.fingerprint_key, evidence_window_days=7,
                                 manifest=head)
    assert entry_types(ledger) == []
    nightly.ingest_night(ledger.con, D1, fingerprint_key=ledger.fingerprint_key, evidence_window_days=7, manifest=head)
    assert entry_types(ledger) == ["ISSUE", "SPLIT", "TRANSFER", "FINANCE", "FINANCING", "ARCHIVE_MANIFEST"]


def test_rerun_is_a_no_op_with_the_same_checkpoint(ledger: Harness) -> None:
    sample_night().load(ledger.con)
    first = ledger.run(D1)
    note = first.checkpoint_path.read_text()
    again = ledger.run(D1)
    assert (again.appended, again.redelivered, again.tree_size) == (0, 5, 5)
    assert again.checkpoint_path.read_text() == note  # Ed25519 is deterministic


def test_events_are_processed_in_event_time_order(ledger: Harness) -> None:
    night = sample_night()
    night.events.reverse()
    night.load(ledger.con)
    result = ledger.run(D1)
    assert result.appended == 5 and result.rejected == 0


def test_redelivery_is_a_no_op_and_changed_content_is_a_conflict(ledger: Harness) -> None:
    sample_night().load(ledger.con)
    ledger.run(D1)
    later = NightRows(D2)
    same = dict(sample_night().events[2])
    later.events.append(same)
    later.event_invoices.append({"event_id": "EV000003", "invoice_no": "26320000000000023456", "amount_fen": 3_000_000})
    changed = dict(same, to_uscc="91110000MA00000000")
    later.events.append(dict(changed, event_id="EV000003"))
    later.load(ledger.con)
    result = ledger.run(D2)
    assert (result.appended, result.redelivered) == (0, 1)
    rows = rejections(ledger, D2)
    assert [(r[1], r[2]) for r in rows] == [("LEDGER_EVENT_CONFLICT", "EV000003")]
    evidence = json.loads(rows[0][6])
    assert evidence["to_uscc"] == {"ledger": TIER2, "delivered": "91110000MA00000000"}
    assert evidence["entry_seq"] == 2
    # the first version stands: the financing of that voucher rests on it, and is not implicated
    found = implications(ledger.con, D2)
    assert [(f.check_id, f.financing_id, f.voucher_id) for f in found] == [("LEDGER_EVENT_CONFLICT", None, V1)]


def _issue(night: NightRows, eid: str, vid: str, *, amount=1_000_000, ap_ref="1000-2026-1-001", time="09:00:00"):
    night.event(eid, "ISSUE", vid, time=f"{night.business_date}T{time}+08:00", issuer=CORE, from_uscc=CORE,
                to_uscc=TIER1, amount_fen=amount, maturity=SAMPLE_MATURITY, ap_ref=ap_ref)


def test_unknown_voucher_across_nights_and_implication_of_later_financings(ledger: Harness) -> None:
    night1 = NightRows(D1)
    night1.payable(CORE, "1000-2026-1-001", 1_000_000)
    night1.event("E-FIN", "FINANCE", "VX", time=f"{D1}T08:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                 to_uscc=BANK, amount_fen=1_000_000, maturity=SAMPLE_MATURITY, financing_id="F-X")
    night1.load(ledger.con)
    assert ledger.run(D1).rejected == 1
    night2 = NightRows(D2)
    _issue(night2, "E-ISS", "VX")
    night2.financing("F-X", bank_code=BANK, applicant=TIER1, debtor=CORE, face_fen=1_000_000, voucher_id="VX")
    night2.load(ledger.con)
    result = ledger.run(D2)
    assert result.appended == 2 and result.rejected == 0  # the ISSUE and the financing row
    first = implications(ledger.con, D1)
    assert [(f.check_id, f.financing_id, f.event_id) for f in first] == [("LEDGER_UNKNOWN_VOUCHER", "F-X", "E-FIN")]
    # re-delivering the refused FINANCE once the voucher exists does not resurrect it
    night3 = NightRows(D3)
    night3.event("E-FIN", "FINANCE", "VX", time=f"{D1}T08:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                 to_uscc=BANK, amount_fen=1_000_000, maturity=SAMPLE_MATURITY, financing_id="F-X")
    night3.load(ledger.con)
    assert ledger.run(D3).appended == 0
    assert len(rejections(ledger)) == 1


def test_a_refused_transfer_changes_nothing_and_implicates_no_later_financing(ledger: Harness) -> None:
    night1 = NightRows(D1)
    night1.payable(CORE, "1000-2026-1-001", 1_000_000)
    _issue(night1, "E1", "VA")
    night1.event("E2", "TRANSFER", "VA", time=f"{D1}T10:00:00+08:00", issuer=CORE, from_uscc=TIER2,
                 to_uscc="T9", amount_fen=1_000_000, maturity=SAMPLE_MATURITY)  # not the holder
    night1.load(ledger.con)
    ledger.run(D1)
    (found,) = implications(ledger.con, D1)
    assert (found.check_id, found.financing_id, found.voucher_id) == ("LEDGER_NOT_HOLDER", None, "VA")
    assert "by T2" not in found.reason and TIER2 in found.reason
    # the holder splits and finances a part: the refused transfer moved nothing, so that stands
    night2 = NightRows(D2)
    night2.event("E3", "SPLIT", "VB", parent="VA", time=f"{D2}T09:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                 to_uscc=TIER1, amount_fen=400_000, maturity=SAMPLE_MATURITY)
    night2.event("E4", "FINANCE", "VB", time=f"{D2}T10:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                 to_uscc=BANK, amount_fen=400_000, maturity=SAMPLE_MATURITY, financing_id="F-B")
    night2.financing("F-B", bank_code=BANK, applicant=TIER1, debtor=CORE, face_fen=400_000, voucher_id="VB")
    night2.load(ledger.con)
    assert ledger.run(D2).rejected == 0
    assert [(f.check_id, f.financing_id) for f in implications(ledger.con, D2)] == [("LEDGER_NOT_HOLDER", None)]


def test_a_refused_split_implicates_the_financings_of_its_descendants_whenever_they_arrive(ledger: Harness) -> None:
    night1 = NightRows(D1)
    night1.payable(CORE, "1000-2026-1-001", 1_000_000)
    _issue(night1, "E1", "VA")
    night1.event("E2", "SPLIT", "VB", parent="VA", time=f"{D1}T10:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                 to_uscc=TIER1, amount_fen=2_000_000, maturity=SAMPLE_MATURITY)  # more than VA holds
    night1.load(ledger.con)
    ledger.run(D1)
    assert [(f.check_id, f.financing_id, f.voucher_id) for f in implications(ledger.con, D1)] == [
        ("LEDGER_SPLIT_EXCEEDS", None, "VB")]
    night2 = NightRows(D2)  # a voucher split from the refused one, financed
    night2.event("E3", "SPLIT", "VC", parent="VB", time=f"{D2}T09:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                 to_uscc=TIER1, amount_fen=400_000, maturity=SAMPLE_MATURITY)
    night2.event("E4", "FINANCE", "VC", time=f"{D2}T10:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                 to_uscc=BANK, amount_fen=400_000, maturity=SAMPLE_MATURITY, financing_id="F-C")
    night2.financing("F-C", bank_code=BANK, applicant=TIER1, debtor=CORE, face_fen=400_000, voucher_id="VC")
    night2.load(ledger.con)
    ledger.run(D2)
    found = [f for f in implications(ledger.con, D2) if f.check_id == "LEDGER_SPLIT_EXCEEDS"]
    assert [(f.financing_id, f.voucher_id, f.via_voucher_id) for f in found] == [("F-C", "VB", "VC")]
    # as of the first night, the later financing is not yet implicated
    assert [f.financing_id for f in implications(ledger.con, D1)] == [None]


def pending(h: Harness, day) -> list[tuple]:
    """(event_id, voucher_id, pending_since) of the ISSUEs pending as of ``day``."""
    return h.con.execute(
        "SELECT event_id, voucher_id, business_date FROM ledger_rejections_as_of(?) "
        "WHERE check_id = 'LEDGER_EVIDENCE_PENDING' ORDER BY ALL", [day]
    ).fetchall()


def test_issue_must_rest_on_a_payable_of_the_issuers_core(ledger: Harness) -> None:
    night = NightRows(D1)
    night.payable("91440300MA5F0000XX", "1000-2026-1-001", 1_000_000)  # another core's payable
    night.payable(CORE, "1000-2026-2-001", 1_000_000)
    _issue(night, "E1", "V-A", ap_ref="1000-2026-1-001")
    _issue(night, "E2", "V-B", ap_ref="1000-2026-2-001")
    night.load(ledger.con)
    ledger.run(D1)
    assert rejections(ledger) == []
    assert pending(ledger, D1) == [("E1", "V-A", D1)]  # not refused yet: the payable may come
    # once the window has passed, it is voided
    after = D1 + dt.timedelta(days=ledger.evidence_window_days + 1)
    ledger.run(after)
    assert [(r[0], r[1], r[2]) for r in rejections(ledger)] == [(after, "LEDGER_ISSUE_WITHOUT_PAYABLE", "E1")]
    assert pending(ledger, after) == []
    # a payable delivered on a later night does not count for an earlier night's ISSUE
    later = NightRows(D2)
    later.payable(CORE, "1000-2026-3-001", 1_000_000)
    later.load(ledger.con)
    night3 = NightRows(D1 - dt.timedelta(days=1))
    _issue(night3, "E3", "V-C", ap_ref="1000-2026-3-001")
    night3.load(ledger.con)
    ledger.run(D1 - dt.timedelta(days=1))
    assert pending(ledger, D1 - dt.timedelta(days=1)) == [("E3", "V-C", D1 - dt.timedelta(days=1))]


def test_financing_mismatch_in_either_order(ledger: Harness) -> None:
    night = NightRows(D1)
    night.payable(CORE, "1000-2026-1-001", 2_000_000)
    _issue(night, "E1", "VA")
    _issue(night, "E2", "VB", time="09:00:01")
    night.event("E3", "FINANCE", "VA", time=f"{D1}T10:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                to_uscc=BANK, amount_fen=1_000_000, maturity=SAMPLE_MATURITY, financing_id="F-A")
    night.financing("F-A", bank_code=BANK, applicant=TIER1, debtor=CORE, face_fen=900_000, voucher_id="VA")
    night.event("E4", "FINANCE", "VB", time=f"{D1}T10:00:00+08:00", issuer=CORE, from_uscc=TIER1,
                to_uscc=BANK, amount_fen=1_000_000, maturity=SAMPLE_MATURITY, financing_id="F-B")
    night.load(ledger.con)
    ledger.run(D1)
    rows = rejections(ledger, D1)
    assert [(r[1], r[2], r[4]) for r in rows] == [("LEDGER_FINANCING_MISMATCH", "E3", "F-A")]
    assert "¥10000.00 vs ¥9000.00" in rows[0][5]
    # the FINANCE of VB was accepted without its row; the row arrives later and disagrees
    later = NightRows(D2)
    later.financing("F-B", bank_code="999999999999", applicant=TIER1, debtor=CORE, face_fen=1_000_000,
                    voucher_id="VB")
    later.load(ledger.con)
    ledger.run(D2)  # as if both had come the same night: the FINANCE is voided
    rows = rejections(ledger, D2)
    assert [(r[1], r[2], r[4]) for r in rows] == [("LEDGER_FINANCING_MISMATCH", "E4", "F-B")]
    assert json.loads(rows[0][6])["bank"] == {"event": BANK, "financing": "999999999999"}
    assert entry_types(ledger)[-2:] == ["VOIDED", "FINANCING"]
    assert ledger.con.execute("SELECT status FROM ledger_voucher_state WHERE voucher_id = 'VB'").fetchall() == [
        ("ACTIVE",)
    ]
    assert [(r[1], r[2]) for r in rejections(ledger, D1)] == [("LEDGER_FINANCING_MISMATCH", "E3")]  # as of D1


def test_financing_status_change_is_a_new_entry_other_changes_a_conflict(ledger: Harness) -> None:
    sample_night().load(ledger.con)
    ledger.run(D1)
    fin = sample_night().financings[0]
    later = NightRows(D2)
    later.financings.append(dict(fin, status="REPAID"))
    later.financing_invoices.append(
        {"financing_id": fin["financing_id"], "invoice_no": "26320000000000023456", "amount_fen": 3_000_000}
    )
    later.load(ledger.con)
    assert ledger.run(D2).appended == 1
    assert entry_types(ledger).count("FINANCING") == 2
    third = NightRows(D3)
    third.financings.append(dict(fin, status="REPAID", face_amount_fen=6_000_000))
    third.load(ledger.con)
    result = ledger.run(D3)
    assert result.appended == 0
    rows = rejections(ledger, D3)
    assert [(r[1], r[4]) for r in rows] == [("LEDGER_EVENT_CONFLICT", "F202611200001")]
    evidence = json.loads(rows[0][6])
    assert evidence["face_amount_fen"] == {"ledger": 3_000_000, "delivered": 6_000_000}
    assert "invoices" not in evidence  # parsed from the delivered text when the child rows are absent


def test_rerunning_an_earlier_night_reproduces_its_rejections(ledger: Harness) -> None:
    night1 = sample_night()
    night1.event("EV-BAD", "SPLIT", "V-CHILD", parent=V0, time=f"{D1}T12:00:00+08:00", issuer=CORE,
                 from_uscc=TIER1, to_uscc=TIER1, amount_fen=99_000_000, maturity=SAMPLE_MATURITY)
    night1.load(ledger.con)
    ledger.run(D1)
    before = rejections(ledger, D1)
    assert [r[1] for r in before] == ["LEDGER_SPLIT_EXCEEDS"]
    night2 = NightRows(D2)
    night2.event("EV-OK", "SPLIT", "V-CHILD", parent=V0, time=f"{D2}T12:00:00+08:00", issuer=CORE,
                 from_uscc=TIER1, to_uscc=TIER1, amount_fen=1_000_000, maturity=SAMPLE_MATURITY)
    night2.load(ledger.con)
    ledger.run(D2)
    size = ledger.con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0]
    again = ledger.run(D1)  # the state moved on, the night's verdicts do not
    assert again.verified and again.appended == 0 and again.rejected == 1
    assert rejections(ledger, D1) == before
    assert ledger.con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0] == size


def test_restated_night_drops_rejections_no_longer_delivered(ledger: Harness) -> None:
    night = NightRows(D1)
    _issue(night, "E1", "VA", amount=0)  # refused
    night.load(ledger.con)
    ledger.run(D1)
    assert len(rejections(ledger, D1)) == 1
    ledger.con.execute("DELETE FROM voucher_events WHERE business_date = ?", [D1])
    ledger.run(D1)
    assert rejections(ledger, D1) == []
