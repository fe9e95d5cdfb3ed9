"""A financings.csv row that fails parsing never vanishes: the parser keeps what of it can be
read, the night gives its financing a verdict, and it still counts against its asset."""

from __future__ import annotations

import csv
from pathlib import Path

from foundation.vocabulary import QuarantineReason
from tests.conftest import SAMPLE_NIGHT
from tests.connectors.test_parsers import parse_bytes, sample_text
from tests.integration.test_pipeline import query, read_csv, run_ok

VOUCHER = "V3f9a1c2b4d5e6f71"
CD_NO = "731352100001120261101000000123"


def _rows(*extra: str) -> str:
    return "\n".join([*sample_text("platform/financings.csv").splitlines(), *extra]) + "\n"


def _voucher_row(financing_id: str, **changes: str) -> str:
    """A financing of the sample's financed voucher at another bank, with columns changed."""
    header = sample_text("platform/financings.csv").splitlines()[0].split(",")
    row = dict(zip(header, sample_text("platform/financings.csv").splitlines()[1].split(","), strict=True))
    row.update(financing_id=financing_id, bank_code="105100000017", **changes)
    return ",".join(row[c] for c in header)


def test_the_parser_keeps_what_a_bad_row_holds(tmp_path: Path) -> None:
    data = _rows(
        _voucher_row("F9001", value_date="2026-13-01"),
        _voucher_row("F9002", status="OPEN", asset_ref=f"{CD_NO}:1-100", product="BILL", face_amount="x"),
        "F9003,only,three",
    )
    sink = parse_bytes(tmp_path, "platform/financings.csv", data)
    assert sink.codes() == [(4, QuarantineReason.BAD_VALUE), (5, QuarantineReason.BAD_VALUE), (6, QuarantineReason.ROW_SHAPE)]
    rejects = {r["financing_id"]: r for r in sink.table("financing_rejects")}
    assert set(rejects) == {"F9001", "F9002"}, "a row of the wrong shape has no columns to read"
    first = rejects["F9001"]
    assert (first["src_pos"], first["bank_code"], first["product"], first["asset_voucher_id"], first["reason_code"]) == (
        4, "105100000017", "VOUCHER", VOUCHER, QuarantineReason.BAD_VALUE)
    assert "value_date" in first["reason"]
    second = rejects["F9002"]
    assert (second["asset_cd_no"], second["asset_range_start"], second["asset_range_end"]) == (CD_NO, 1, 100)
    assert [r["financing_id"] for r in sink.table("financings")] == ["F202611200001", "F202611200002"]


def test_a_malformed_row_gets_a_verdict_and_blocks_the_financing_it_duplicates(tmp_path: Path, sample_inbox: Path) -> None:
    financings = sample_inbox / SAMPLE_NIGHT / "platform" / "financings.csv"
    financings.write_text(_rows(_voucher_row("F9001", status="OPEN"), _voucher_row("")), "utf-8")
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    status = {r["financing_id"]: r for r in read_csv(home / "reports" / SAMPLE_NIGHT / "financing_status.csv")}
    assert status["F9001"]["verdict"] == "blocked"
    assert status["F9001"]["check_ids"] == "DQ_FINANCING_ROW_UNREADABLE;DUP_VOUCHER_MULTI_FINANCED"
    assert status["F202611200001"]["verdict"] == "blocked", "the voucher it duplicates is not clean"
    assert "DUP_VOUCHER_MULTI_FINANCED" in status["F202611200001"]["check_ids"]
    with (home / "reports" / SAMPLE_NIGHT / "findings.csv").open(encoding="utf-8", newline="") as handle:
        unnamed = [r for r in csv.DictReader(handle) if r["check_id"] == "DQ_FINANCING_ROW_UNREADABLE" and not r["financing_id"]]
    assert len(unnamed) == 1 and "1 row(s) (line 5)" in unnamed[0]["detail"]
    assert query(home, "SELECT count(*) FROM financing_rejects") == [(2,)]
    assert query(home, "SELECT reason_code FROM quarantine WHERE file_kind = 'financings' ORDER BY src_pos") == [
        (QuarantineReason.BAD_ENUM,), ("MISSING_FIELD",)]


def test_financing_id_and_asset_ref_follow_the_one_identifier_rule(tmp_path: Path) -> None:
    full_width = VOUCHER.replace("3", "\uff13", 1)  # V３f9a…: the same voucher
    sink = parse_bytes(tmp_path, "platform/financings.csv",
                       _rows(_voucher_row("\uff26\uff19\uff10\uff10\uff13", asset_ref=f" {full_width} ")))
    assert sink.quarantined == []
    row = next(r for r in sink.table("financings") if r["financing_id"] == "F9003")
    assert (row["asset_ref"], row["asset_voucher_id"]) == (VOUCHER, VOUCHER)


def test_a_finance_events_financing_id_is_read_by_the_same_rule(tmp_path: Path) -> None:
    header, *rows = sample_text("platform/voucher_events.csv").splitlines()
    finance = next(r for r in rows if ",FINANCE," in r)
    data = "\n".join([header, finance.replace("F202611200001", "\uff26202611200001")]) + "\n"
    sink = parse_bytes(tmp_path, "platform/voucher_events.csv", data)
    assert [r["financing_id"] for r in sink.table("voucher_events")] == ["F202611200001"]
