"""The worklist: dispositions recorded by named users in a hash-chained trail, maker–checker
waivers that change the next night's verdict (and only once approved), reopening on changed
evidence, age in nights, and the trail's tamper evidence."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from dispositions.actions import Action, DispositionError, ReasonCode, Request
from dispositions.effective import sync_trail
from dispositions.record import record_actions
from dispositions.trail import TrailCorrupt, read_trail, trail_path
from foundation.errors import IntegrityError
from tests.factories import invoice
from tests.trade_factories import make_uscc, one_blocked_one_clean, run_trade_catalogue, tier1_trade
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse

D1, D2, D3, D4 = (dt.date(2026, 11, d) for d in (20, 21, 22, 23))
CORE = make_uscc("440305")


def night(home: Path, day: dt.date, build=None, *, full: bool = False) -> dict[str, str]:
    """Run the catalogue for ``day`` the way the nightly job does (trail first); return the verdicts."""
    with Warehouse(home / "warehouse.duckdb") as wh:
        if build:
            build(wh)
        sync_trail(wh.con, home)
        run_trade_catalogue(wh, day, full=full)
        return dict(wh.con.execute(f"SELECT financing_id, verdict FROM ({verdicts_as_of_sql()})",
                                   [day]).fetchall())


def dispositions(home: Path, day: dt.date) -> dict[str, tuple]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        rows = wh.con.execute("SELECT finding_id, status, age_nights, assignee FROM finding_dispositions "
                              "WHERE business_date = ?", [day]).fetchall()
    return {r[0]: r[1:] for r in rows}


def the_findings(home: Path, day: dt.date, financing_id: str) -> list[str]:
    """The financing's findings of the night: the over-financing first, then its missing waybill."""
    with Warehouse(home / "warehouse.duckdb") as wh:
        return [r[0] for r in wh.con.execute(
            "SELECT finding_id FROM findings WHERE business_date = ? AND financing_id = ? ORDER BY check_id",
            [day, financing_id]).fetchall()]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home whose first night blocks one financing (over-financed invoice, no waybill: two
    findings) and keeps one clean."""
    home = tmp_path / "home"
    home.mkdir()

    def build(wh: Warehouse) -> None:
        one_blocked_one_clean(wh, D1, CORE)

    verdicts = night(home, D1, build)
    assert verdicts["FOVER"] == "blocked" and verdicts["FCLEAN"] == "clean"
    return home


def test_a_waiver_changes_the_next_verdict_only_once_a_second_user_approves(home):
    fids = the_findings(home, D1, "FOVER")
    fid = fids[0]
    assert dispositions(home, D1)[fid] == ("new", 1, None)
    waive = [Request(f, Action.WAIVE, "alice", reason_code=ReasonCode.DOCUMENT_VERIFIED, comment="tax bureau: ok")
             for f in fids]
    record_actions(home, [Request(fid, Action.ASSIGN, "lead", assignee="alice"), *waive])
    assert night(home, D2)["FOVER"] == "blocked"  # a waiver without approval changes nothing
    assert dispositions(home, D2)[fid] == ("waiver_pending", 2, "alice")

    with pytest.raises(DispositionError, match="second user"):
        record_actions(home, [Request(fid, Action.APPROVE, "alice")])
    record_actions(home, [Request(fids[0], Action.APPROVE, "bob")])
    assert night(home, D3)["FOVER"] == "blocked"  # one of its two findings still counts
    record_actions(home, [Request(fids[1], Action.APPROVE, "bob")])  # while D3 is the latest night run
    assert night(home, D3)["FOVER"] == "blocked"  # re-running a night already reported reproduces it
    assert night(home, D4)["FOVER"] == "clean"  # the waybill finding's "data until" moved: still the same evidence
    assert [dispositions(home, D4)[f][0] for f in fids] == ["waived", "waived"]
    with Warehouse(home / "warehouse.duckdb") as wh:  # the finding is still reported; only the verdict ignores it
        assert wh.con.execute("SELECT count(*) FROM findings WHERE business_date = ? AND finding_id = ?",
                              [D4, fid]).fetchone()[0] == 1
        assert wh.con.execute(f"SELECT check_ids FROM ({verdicts_as_of_sql()}) WHERE financing_id = 'FOVER'",
                              [D4]).fetchone()[0] == ""
    assert [r.action for r in read_trail(trail_path(home)).records] == [
        Action.ASSIGN, Action.WAIVE, Action.WAIVE, Action.APPROVE, Action.APPROVE]


def test_a_waived_finding_whose_evidence_changes_reopens(home):
    over, no_waybill = the_findings(home, D1, "FOVER")
    record_actions(home, [Request(f, Action.WAIVE, "alice", reason_code=ReasonCode.TIMING, comment="late")
                          for f in (over, no_waybill)])
    record_actions(home, [Request(f, Action.APPROVE, "bob") for f in (over, no_waybill)])
    # the tax data restates the invoice (same issue date): the over-financing's numbers change
    verdicts = night(home, D2, lambda wh: invoice(wh, D2, "26320000000000000001", 15_000_00, issued=D1))
    assert the_findings(home, D2, "FOVER") == [over, no_waybill]
    assert dispositions(home, D2)[over][0] == "reopened" and dispositions(home, D2)[no_waybill][0] == "waived"
    assert verdicts["FOVER"] == "blocked"


def night_rows(home: Path, day: dt.date) -> tuple[list[tuple], list[tuple]]:
    """Night ``day``'s findings and the verdicts as of it, every column."""
    with Warehouse(home / "warehouse.duckdb") as wh:
        return (wh.con.execute("SELECT * FROM findings WHERE business_date = ? ORDER BY ALL", [day]).fetchall(),
                wh.con.execute(f"SELECT * FROM ({verdicts_as_of_sql()}) ORDER BY ALL", [day]).fetchall())


def test_waivers_approved_rejected_and_reopened_between_nights_give_the_full_recomputation(tmp_path):
    """Dispositions change verdicts without any row delivered: each night judged on top of the last
    (only the financings whose evidence changed) equals the night recomputed from every night, in a
    second home given the same deliveries and the same actions.  FWAIVED's findings (financed before its
    invoice, the timeline broken) wait for no evidence: nothing but a disposition changes its verdict."""
    homes = [tmp_path / "incremental", tmp_path / "full"]
    found: list[str] = []

    def act(*requests: Request) -> None:
        for home in homes:
            record_actions(home, list(requests))

    def both(day: dt.date, build=None) -> dict[str, str]:
        verdicts = [night(home, day, build, full=home.name == "full") for home in homes]
        assert night_rows(homes[0], day) == night_rows(homes[1], day), day
        found[:] = the_findings(homes[0], day, "FWAIVED")
        return verdicts[0]

    for home in homes:
        home.mkdir()
    with Warehouse(homes[0] / "warehouse.duckdb") as wh:  # the same rows in both (the factories number parties afresh)
        one_blocked_one_clean(wh, D1, CORE)
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), financing_id="FWAIVED", value_date=D1 - dt.timedelta(days=18))
    shutil.copy(homes[0] / "warehouse.duckdb", homes[1] / "warehouse.duckdb")
    assert both(D1)["FWAIVED"] == "blocked"
    early, timeline = found
    act(*(Request(f, Action.WAIVE, "alice", reason_code=ReasonCode.DOCUMENT_VERIFIED, comment="ok") for f in found))
    act(Request(early, Action.APPROVE, "bob"), Request(timeline, Action.REJECT, "bob", comment="no"))
    assert both(D2)["FWAIVED"] == "blocked"  # one finding waived, the other open again
    act(Request(timeline, Action.WAIVE, "alice", reason_code=ReasonCode.TIMING, comment="late"),
        Request(timeline, Action.APPROVE, "bob"))
    assert both(D3)["FWAIVED"] == "clean"  # nothing delivered: the waivers alone change the verdict
    act(Request(early, Action.CONFIRM, "carol", comment="fraud after all"))
    assert both(D4)["FWAIVED"] == "blocked"  # a confirmed finding counts again
    assert dispositions(homes[0], D4)[early][0] == "confirmed"


def test_reject_and_confirm_and_unknown_findings(home):
    fid = the_findings(home, D1, "FOVER")[0]
    with pytest.raises(DispositionError, match="no waiver waiting"):
        record_actions(home, [Request(fid, Action.APPROVE, "bob")])
    with pytest.raises(DispositionError, match="reason code"):
        record_actions(home, [Request(fid, Action.WAIVE, "alice", comment="x")])
    with pytest.raises(DispositionError, match="not a finding of night"):
        record_actions(home, [Request("FND-00000000000000000000", Action.ACKNOWLEDGE, "alice")])
    with pytest.raises(DispositionError, match="user name"):
        record_actions(home, [Request(fid, Action.ACKNOWLEDGE, "two words")])
    record_actions(home, [Request(fid, Action.WAIVE, "alice", reason_code=ReasonCode.OTHER, comment="hm"),
                          Request(fid, Action.REJECT, "bob", comment="no: call the core")])
    night(home, D2)
    assert dispositions(home, D2)[fid][0] == "open"
    record_actions(home, [Request(fid, Action.CONFIRM, "bob", comment="fraud")])
    assert night(home, D3)["FOVER"] == "blocked" and dispositions(home, D3)[fid][0] == "confirmed"


def test_a_refused_batch_records_nothing(home):
    fid = the_findings(home, D1, "FOVER")[0]
    with pytest.raises(DispositionError):
        record_actions(home, [Request(fid, Action.ACKNOWLEDGE, "alice"), Request(fid, Action.APPROVE, "bob")])
    assert read_trail(trail_path(home)).records == []


@pytest.mark.parametrize("tamper", ["edit", "drop_first", "truncate", "rechain"])
def test_tampering_with_the_trail_is_detected(home, tamper):
    fid = the_findings(home, D1, "FOVER")[0]
    record_actions(home, [Request(fid, Action.WAIVE, "alice", reason_code=ReasonCode.TIMING, comment="late"),
                          Request(fid, Action.APPROVE, "bob")])
    night(home, D2)  # the warehouse has copied both lines
    path = trail_path(home)
    lines = path.read_bytes().splitlines(keepends=True)
    if tamper == "edit":  # the approver's name changed
        path.write_bytes(lines[0] + lines[1].replace(b'"bob"', b'"eve"'))
    elif tamper == "drop_first":
        path.write_bytes(lines[1])
    elif tamper == "truncate":  # the approval removed: a consistent shorter chain
        path.write_bytes(lines[0])
    else:  # the whole file rewritten with a fresh chain and another approver
        path.unlink()
        record_actions(home, [Request(fid, Action.WAIVE, "alice", reason_code=ReasonCode.TIMING, comment="late"),
                              Request(fid, Action.APPROVE, "mallory")])
    with pytest.raises(IntegrityError, match="dispositions trail") as raised:
        night(home, D3)
    assert isinstance(raised.value, TrailCorrupt)
    expected = {"edit": "line 2", "drop_first": "line 1", "truncate": "lines were removed",
                "rechain": "not the line the warehouse copied"}
    assert expected[tamper] in str(raised.value)


def test_trail_lines_are_canonical_json_with_their_chain(home):
    fid = the_findings(home, D1, "FOVER")[0]
    record_actions(home, [Request(fid, Action.ACKNOWLEDGE, "王小明", comment="核对中")])
    line = json.loads(trail_path(home).read_text("utf-8").splitlines()[0])
    assert line["prev"] == "0" * 64 and line["user"] == "王小明" and line["night"] == line["after"] == "2026-11-20"
