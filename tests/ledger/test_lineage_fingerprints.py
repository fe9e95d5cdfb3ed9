"""Lineage of vouchers and fingerprints of financed assets."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pytest

from foundation.errors import IntegrityError
from ledger.entries import decode_entry
from ledger.fingerprints import (
    EXPORT_HEADER,
    FingerprintKind,
    export_fingerprints,
    import_peer_fingerprints,
    key_commitment,
)
from ledger.lineage import voucher_lineage
from reconciliation.catalogue import BY_ID
from reconciliation.findings import run_catalogue
from tests.ledger_nights import (
    BANK,
    CORE,
    SAMPLE_DATE,
    SAMPLE_MATURITY,
    TIER1,
    TIER2,
    Harness,
    NightRows,
    sample_night,
)
from warehouse.connection import Warehouse

V0, V1 = "V3f9a1c2b4d5e6f70", "V3f9a1c2b4d5e6f71"
D2 = SAMPLE_DATE + dt.timedelta(days=1)
TIER3 = "91330100MA2B000011"


@pytest.fixture
def ledger(tmp_path) -> Harness:
    h = Harness(duckdb.connect(), tmp_path / "checkpoints")
    sample_night().load(h.con)
    assert h.run(SAMPLE_DATE).verified
    return h


def test_lineage_of_a_split_transferred_financed_voucher(ledger: Harness) -> None:
    found = voucher_lineage(ledger.con, V1)
    assert found is not None
    assert found.chain == (V0, V1)
    assert found.tier == 2
    assert found.holders == (TIER1, TIER2, BANK)
    assert [(s.event_type, s.voucher_id, s.tier) for s in found.steps] == [
        ("ISSUE", V0, 1), ("SPLIT", V1, 1), ("TRANSFER", V1, 2), ("FINANCE", V1, 2),
    ]
    assert found.invoices == ("26320000000000012345", "26320000000000023456")
    assert [fin.financing_id for _, fin in found.financings] == ["F202611200001"]
    root = voucher_lineage(ledger.con, V0)
    assert [s.event_type for s in root.steps] == ["ISSUE"] and root.tier == 1
    assert voucher_lineage(ledger.con, "V-none") is None


def test_lineage_stops_at_the_split_and_follows_three_tiers(ledger: Harness) -> None:
    night = NightRows(D2)
    common = dict(issuer=CORE, maturity=SAMPLE_MATURITY)
    night.event("E10", "TRANSFER", V0, time=f"{D2}T09:00:00+08:00", from_uscc=TIER1, to_uscc=TIER2,
                amount_fen=8_300_000, **common)  # after the split: not part of V1's lineage
    night.event("E11", "SPLIT", "V-GRAND", parent=V0, time=f"{D2}T10:00:00+08:00", from_uscc=TIER2,
                to_uscc=TIER2, amount_fen=300_000, **common)
    night.event("E12", "TRANSFER", "V-GRAND", time=f"{D2}T11:00:00+08:00", from_uscc=TIER2,
                to_uscc=TIER3, amount_fen=300_000, invoices=[("26330000000000000001", 300_000)], **common)
    night.event("E13", "TRANSFER", "V-GRAND", time=f"{D2}T12:00:00+08:00", from_uscc=TIER1,
                to_uscc=TIER3, amount_fen=300_000, **common)  # refused: not the holder
    night.load(ledger.con)
    ledger.run(D2)
    assert [s.event_id for s in voucher_lineage(ledger.con, V1).steps] == ["EV000001", "EV000002", "EV000003", "EV000004"]
    grand = voucher_lineage(ledger.con, "V-GRAND")
    assert grand.chain == (V0, "V-GRAND") and grand.tier == 3
    assert grand.holders == (TIER1, TIER2, TIER3)
    assert [r.check_id for r in grand.rejections] == ["LEDGER_NOT_HOLDER"]
    assert voucher_lineage(ledger.con, "V-GRAND", as_of=SAMPLE_DATE) is None


def _fingerprints(ledger: Harness, financing_id: str) -> dict[str, bytes]:
    seq = ledger.con.execute(
        "SELECT max(seq) FROM ledger_entries WHERE financing_id = ? AND entry_type = 'FINANCING'", [financing_id]
    ).fetchall()[0][0]
    entry = decode_entry(bytes(ledger.con.execute("SELECT entry FROM ledger_entries WHERE seq = ?", [seq]).fetchall()[0][0]))
    return {fp.kind: fp.digest for fp in entry.annex.fingerprints}


def test_fingerprints_are_in_the_signed_entry_and_find_duplicates_across_nights(ledger: Harness) -> None:
    first = _fingerprints(ledger, "F202611200001")
    assert set(first) == {FingerprintKind.INVOICE_ID, FingerprintKind.INVOICE_CONTENT, FingerprintKind.VOUCHER}
    later = NightRows(D2)
    later.financing("F-OTHER-BANK", bank_code="105100000017", product="INVOICE", applicant=TIER2, debtor=TIER1,
                    face_fen=3_000_000, invoice_no="26320000000000023456")
    later.financing("F-CLEAN", bank_code="105100000017", product="BILL", applicant=TIER1, debtor=CORE,
                    face_fen=50_000, cd_no="731352100001120261101000000123", bill_range=(1, 5_000_000))
    later.load(ledger.con)
    ledger.run(D2)
    assert _fingerprints(ledger, "F-OTHER-BANK")[FingerprintKind.INVOICE_ID] == first[FingerprintKind.INVOICE_ID]
    assert FingerprintKind.BILL_RANGE in _fingerprints(ledger, "F-CLEAN")
    assert _fingerprints(ledger, "F-OTHER-BANK")[FingerprintKind.INVOICE_CONTENT] == first[FingerprintKind.INVOICE_CONTENT]
    assert _fingerprints(ledger, "F-CLEAN")[FingerprintKind.BILL_RANGE] not in first.values()


def test_fingerprints_depend_on_the_key_and_export_without_invoices(ledger: Harness, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    other = Harness(duckdb.connect(), tmp_path / "other", fingerprint_key=b"\x09" * 32)
    sample_night().load(other.con)
    other.run(SAMPLE_DATE)
    assert _fingerprints(other, "F202611200001")[FingerprintKind.VOUCHER] != _fingerprints(ledger, "F202611200001")[FingerprintKind.VOUCHER]
    out = tmp_path / "export.csv"
    assert export_fingerprints(ledger.con, out, fingerprint_key=ledger.fingerprint_key) == 3
    text = out.read_text()
    assert "26320000000000023456" not in text and V1 not in text and "F202611200001" not in text
    # a bank sharing the key matches the export against its own fingerprints
    same_key = Harness(Warehouse(tmp_path / "same.duckdb").con, tmp_path / "same")
    sample_night().load(same_key.con)
    same_key.run(SAMPLE_DATE)
    import_peer_fingerprints(same_key.con, "bank-a", out, fingerprint_key=same_key.fingerprint_key,
                             imported_on=SAMPLE_DATE)
    run_catalogue(same_key.con, SAMPLE_DATE, checks=[BY_ID["DUP_FINANCED_AT_PEER_BANK"]])
    found = same_key.con.execute("SELECT financing_id, severity, detail FROM findings").fetchall()
    assert {(f, s) for f, s, _ in found} == {("F202611200001", "critical")}
    assert found and all("bank-a" in detail for _, _, detail in found)
    for key in (ledger.fingerprint_key, other.fingerprint_key):
        assert key.hex() not in caplog.text


def test_an_export_made_with_another_key_is_refused_at_import(ledger: Harness, tmp_path) -> None:
    out = tmp_path / "export.csv"
    export_fingerprints(ledger.con, out, fingerprint_key=ledger.fingerprint_key)
    assert out.read_text().splitlines()[0] == EXPORT_HEADER + key_commitment(ledger.fingerprint_key)
    other = Harness(duckdb.connect(), tmp_path / "other", fingerprint_key=b"\x09" * 32)
    sample_night().load(other.con)
    other.run(SAMPLE_DATE)
    with pytest.raises(IntegrityError, match="made with another fingerprint key"):
        import_peer_fingerprints(other.con, "bank-a", out, fingerprint_key=other.fingerprint_key,
                                 imported_on=SAMPLE_DATE)
    legacy = tmp_path / "legacy.csv"
    legacy.write_text("".join(out.read_text().splitlines(keepends=True)[1:]))
    with pytest.raises(IntegrityError, match="carries no key commitment"):
        import_peer_fingerprints(other.con, "bank-a", legacy, fingerprint_key=other.fingerprint_key,
                                 imported_on=SAMPLE_DATE)
    assert other.con.execute("SELECT count(*) FROM peer_fingerprints").fetchall() == [(0,)]
