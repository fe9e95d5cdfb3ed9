"""SAP payment terms (issue 11 §4, INPUTS.md): the net due date is ZFBDT + ZBD3T if set, else
ZBD2T if set, else ZBD1T — read so by the parser, delivered so by the simulator."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from foundation.vocabulary import QuarantineReason
from simulator import Tuning, simulate
from simulator.trades import payment_terms
from tests.connectors.test_parsers import parse_bytes

CORE = "91440300MA5F00001A"
HEADER = "BUKRS,LIFNR,GJAHR,BELNR,BUZEI,BUDAT,BLDAT,BLART,SHKZG,WRBTR,WAERS,ZFBDT,ZBD1T,SGTXT,EBELN,AUGDT,AUGBL,ZBD2T,ZBD3T\n"
BASELINE = dt.date(2026, 11, 20)


def _row(belnr: str, zbd1t: str, zbd2t: str, zbd3t: str) -> str:
    return f"1000,0000100001,2026,{belnr},001,20261120,20261120,RE,H,10.00,CNY,20261120,{zbd1t},x,,,,{zbd2t},{zbd3t}\n"


@pytest.mark.parametrize(("zbd1t", "zbd2t", "zbd3t", "net"), [
    ("60", "", "", 60),  # net terms only
    ("10", "45", "", 45),  # one discount period, net in ZBD2T
    ("10", "30", "90", 90),  # two discount periods, net in ZBD3T
    ("10", "30", "0", 30),  # 0 is SAP's initial value: not set
    ("", "", "", None),  # no terms: due on the baseline date
])
def test_net_due_date_is_the_last_period_set(tmp_path: Path, zbd1t: str, zbd2t: str, zbd3t: str, net: int | None):
    [row] = parse_bytes(tmp_path, f"erp/{CORE}/ap_open_items.csv", HEADER + _row("5100000001", zbd1t, zbd2t, zbd3t)
                        ).table("erp_ap_items")
    assert row["payment_days"] == net
    assert row["due_date"] == BASELINE + dt.timedelta(days=net or 0)


def test_a_net_period_out_of_range_is_quarantined_naming_its_column(tmp_path: Path):
    sink = parse_bytes(tmp_path, f"erp/{CORE}/ap_open_items.csv",
                       HEADER + _row("5100000001", "10", "30", "2000000000") + _row("5100000002", "10", "30", "90"))
    assert [r["belnr"] for r in sink.table("erp_ap_items")] == ["5100000002"]
    [(pos, code, reason, _raw)] = sink.quarantined
    assert (pos, code) == (2, QuarantineReason.BAD_VALUE) and reason.startswith("ZBD3T: ")


def test_the_simulator_delivers_every_kind_of_terms_and_the_parser_reads_their_due_dates(tmp_path: Path):
    """Each simulated payable's parsed due date is the maturity of the vouchers issued on it (the
    simulator matures a voucher on its payable's net due date)."""
    out = tmp_path / "sim"
    simulate(out, seed=11, nights=1, start=BASELINE, trades_per_night=40, tuning=Tuning(per_kind=1))
    night = out / "inbox" / BASELINE.isoformat()
    due: dict[str, dt.date] = {}
    forms: set[tuple[bool, bool]] = set()
    for path in sorted(night.glob("erp/*/ap_open_items.csv")):
        rel = path.relative_to(night).as_posix()
        sink = parse_bytes(tmp_path / "parsed", rel, path.read_bytes())
        assert sink.quarantined == []
        for row in sink.table("erp_ap_items"):
            due[row["ap_ref"]] = row["due_date"]
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            text = path.read_bytes().decode("gb18030")
        delimiter = "|" if "|" in text.split("\n", 1)[0] else ","
        forms |= {(bool(r["ZBD2T"]), bool(r["ZBD3T"])) for r in csv.DictReader(text.splitlines(), delimiter=delimiter)}
    assert forms == {(False, False), (True, False), (True, True)}, "net only, ZBD2T net and ZBD3T net are delivered"
    with (night / "platform" / "voucher_events.csv").open(encoding="utf-8-sig", newline="") as handle:
        issues = [e for e in csv.DictReader(handle) if e["event_type"] == "ISSUE" and e["ap_ref"] in due]
    assert issues
    matured = [e for e in issues if dt.date.fromisoformat(e["maturity_date"]) == due[e["ap_ref"]]]
    assert len(matured) >= 0.9 * len(issues)


def test_payment_terms_keep_the_net_period():
    for lifnr in ("0000100000", "0000100001", "0000100002"):
        for net in (5, 20, 90):
            terms = payment_terms(net, lifnr)
            assert next(d for d in reversed(terms) if d) == net
