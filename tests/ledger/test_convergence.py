"""Real operations on the ledger (issue 9): late evidence is pending, restated deliveries
and corrected configurations converge, re-runs and nights out of order append nothing
already there and end where the in-order run ends.

Every test runs the real nightly step (``append_night``) on a DuckDB file, and the real
check catalogue for the verdicts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.entries import FinancingStatus, decode_entry
from ledger.fingerprints import export_fingerprints
from ledger.index import fingerprint_problem, index_problem
from ledger.inputs import INPUT_TABLES, financings_as_of
from ledger.lineage import voucher_lineage
from ledger.process import NightProcessor
from ledger.state import all_vouchers, replay_vouchers
from ledger.touched import DIGESTS
from ledger.verify import verify_ledger
from reconciliation.findings import run_catalogue
from tests.ledger_nights import BANK, CORE, TIER1, TIER2, Harness, NightRows, ledger_state
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse
from warehouse.transactions import transaction

D1 = dt.date(2026, 11, 18)
D2, D3 = D1 + dt.timedelta(days=1), D1 + dt.timedelta(days=2)
MATURITY = dt.date(2027, 5, 12)
AP = "1000-2026-5100009999-001"
WINDOW = 7


def harness(path: Path, window: int = WINDOW) -> Harness:
    """A harness on a fresh warehouse file (every typed table, as the loader makes it)."""
    warehouse = Warehouse(path / "warehouse.duckdb")
    return Harness(warehouse.con, path / "checkpoints", evidence_window_days=window)


def chain(night: NightRows, tag: str, *, ap_ref: str = AP, amount: int = 1_000_000) -> None:
    """ISSUE → SPLIT → TRANSFER → FINANCE of voucher V<tag>C, and its financing F<tag>."""
    t = lambda hh: f"{night.business_date}T{hh}:00:00+08:00"  # noqa: E731
    common = dict(issuer=CORE, maturity=MATURITY)
    root, child = f"V{tag}R", f"V{tag}C"
    night.event(f"E{tag}1", "ISSUE", root, time=t("09"), from_uscc=CORE, to_uscc=TIER1, amount_fen=amount,
                ap_ref=ap_ref, **common)
    night.event(f"E{tag}2", "SPLIT", child, parent=root, time=t("10"), from_uscc=TIER1, to_uscc=TIER1,
                amount_fen=amount // 2, **common)
    night.event(f"E{tag}3", "TRANSFER", child, time=t("11"), from_uscc=TIER1, to_uscc=TIER2,
                amount_fen=amount // 2, **common)
    night.event(f"E{tag}4", "FINANCE", child, time=t("12"), from_uscc=TIER2, to_uscc=BANK,
                amount_fen=amount // 2, financing_id=f"F{tag}", **common)
    night.financing(f"F{tag}", bank_code=BANK, applicant=TIER2, debtor=CORE, face_fen=amount // 2,
                    voucher_id=child, maturity=MATURITY)


def replace_night(h: Harness, night: NightRows) -> None:
    """Load a night the way the loader re-runs one (:meth:`warehouse.connection.Warehouse.clear_night`):
    its earlier rows are replaced and the ledger's digests of them forgotten."""
    for table in INPUT_TABLES:
        h.con.execute(f"DELETE FROM {table} WHERE business_date = ?", [night.business_date])
    h.con.execute(f"DELETE FROM {DIGESTS} WHERE business_date = ?", [night.business_date])
    night.load(h.con)


def night_run(h: Harness, day: dt.date) -> dict[str, tuple[str, str]]:
    """The ledger step then the catalogue for ``day``: {financing: (verdict, check_ids)}."""
    result = h.run(day)
    assert result.verified, result.problem
    run_catalogue(h.con, day)
    return {
        fid: (verdict, check_ids)
        for fid, verdict, check_ids in h.con.execute(
            f"SELECT financing_id, verdict, check_ids FROM ({verdicts_as_of_sql()})", [day]
        ).fetchall()
    }


def state_replays(h: Harness) -> bool:
    """``scf ledger verify --state``: the entries alone give the persisted voucher states."""
    replayed, refused = replay_vouchers(h.con)
    return not refused and replayed == all_vouchers(h.con)


def tree_size(h: Harness) -> int:
    return int(h.con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0])


def entry_types(h: Harness) -> list[str]:
    return [r[0] for r in h.con.execute("SELECT entry_type FROM ledger_entries ORDER BY seq").fetchall()]


# ---- 1. pending, two-phase ------------------------------------------------------------


def test_late_erp_keeps_the_chain_pending_then_posts_it(tmp_path: Path) -> None:
    h = harness(tmp_path)
    first = NightRows(D1)
    chain(first, "A")  # the core's ERP export is late: no payable tonight
    first.load(h.con)
    assert night_run(h, D1) == {"FA": ("review", "LEDGER_EVIDENCE_PENDING")}
    assert entry_types(h) == ["ISSUE", "PENDING", "SPLIT", "PENDING", "TRANSFER", "PENDING", "FINANCE", "PENDING",
                              "FINANCING"]
    states = {v: (s.status, s.pending_since) for v, s in ledger_state(h.con, D1)["vouchers"].items()}
    assert states == {"VAR": ("ACTIVE", D1), "VAC": ("FINANCED", D1)}  # later steps checked, pending with it
    assert state_replays(h)
    detail, evidence = h.con.execute(
        "SELECT detail, evidence FROM findings WHERE business_date = ? AND financing_id = 'FA'", [D1]
    ).fetchall()[0]
    assert detail.startswith(f"Evidence pending since {D1}: payable {AP} of core {CORE}")
    assert json.loads(evidence)["pending"] is True and json.loads(evidence)["pending_since"] == str(D1)

    late = NightRows(D2)
    late.payable(CORE, AP, 1_000_000)  # arrives the next night, rows dated as before
    late.load(h.con)
    assert night_run(h, D2) == {"FA": ("clean", "")}
    assert entry_types(h)[9:] == ["POSTED"] * 4  # corrections are new entries
    assert all(s.pending_since is None for s in ledger_state(h.con, D2)["vouchers"].values())
    assert state_replays(h)
    size = tree_size(h)
    assert night_run(h, D1) == {"FA": ("review", "LEDGER_EVIDENCE_PENDING")}  # D1's reports, as they were
    assert night_run(h, D2) == {"FA": ("clean", "")}
    assert tree_size(h) == size and verify_ledger(h.con).ok


def test_evidence_that_never_comes_is_voided_when_the_window_passes(tmp_path: Path) -> None:
    h = harness(tmp_path)
    first = NightRows(D1)
    chain(first, "A")  # a core that has never delivered ERP: the same rule from the first night
    first.load(h.con)
    last_day = D1 + dt.timedelta(days=WINDOW)
    assert night_run(h, last_day)["FA"] == ("review", "LEDGER_EVIDENCE_PENDING")
    voided_on = last_day + dt.timedelta(days=1)
    verdicts = night_run(h, voided_on)
    assert verdicts["FA"][0] == "blocked" and "LEDGER_ISSUE_WITHOUT_PAYABLE" in verdicts["FA"][1]
    assert entry_types(h)[-4:] == ["VOIDED"] * 4  # voided with the ISSUE it rests on
    assert ledger_state(h.con, voided_on)["vouchers"] == {} and state_replays(h)
    refused = h.con.execute(
        "SELECT business_date, event_id, reason FROM ledger_rejections_as_of(?) "
        "WHERE check_id = 'LEDGER_ISSUE_WITHOUT_PAYABLE'", [voided_on]
    ).fetchall()
    assert [(r[0], r[1]) for r in refused] == [(voided_on, "EA1")]
    assert f"pending from {D1}" in refused[0][2]
    too_late = NightRows(voided_on + dt.timedelta(days=1))
    too_late.payable(CORE, AP, 1_000_000)  # after the window: does not count
    too_late.load(h.con)
    assert night_run(h, too_late.business_date)["FA"][0] == "blocked"
    assert verify_ledger(h.con).ok


# ---- 2. convergence -------------------------------------------------------------------


def deliveries(*, erp_readable: bool, transfer_fen: int = 500_000) -> dict[dt.date, NightRows]:
    """Three nights; night 1's ERP may be unreadable (a wrong CSV setting: no payables load)
    and its TRANSFER may be mis-stated (then restated)."""
    n1, n2, n3 = NightRows(D1), NightRows(D2), NightRows(D3)
    if erp_readable:
        n1.payable(CORE, AP, 1_000_000)
    chain(n1, "A")
    n1.events[2]["amount_fen"] = transfer_fen
    n2.payable(CORE, "1000-2026-5100009999-002", 2_000_000)
    chain(n2, "B", ap_ref="1000-2026-5100009999-002", amount=2_000_000)
    n3.financings.append(dict(n1.financings[0], status="DEFAULTED"))
    return {n.business_date: n for n in (n1, n2, n3)}


def in_order(path: Path, until: dt.date = D3) -> tuple[Harness, dict[dt.date, dict]]:
    h = harness(path)
    verdicts = {}
    for day, night in deliveries(erp_readable=True).items():
        if day > until:
            break
        night.load(h.con)
        verdicts[day] = night_run(h, day)
    return h, verdicts


def test_a_bad_configuration_night_rerun_after_the_fix_converges(tmp_path: Path) -> None:
    right, right_verdicts = in_order(tmp_path / "right")
    h = harness(tmp_path / "fixed")
    bad = deliveries(erp_readable=False)
    bad[D1].load(h.con)
    assert night_run(h, D1)["FA"] == ("review", "LEDGER_EVIDENCE_PENDING")  # not refused: pending
    good = deliveries(erp_readable=True)
    replace_night(h, good[D1])  # the operator fixes the CSV setting and re-runs the night
    assert night_run(h, D1) == right_verdicts[D1]
    for day in (D2, D3):
        good[day].load(h.con)
        assert night_run(h, day) == right_verdicts[day]
    for day in (D1, D2, D3):
        assert ledger_state(h.con, day) == ledger_state(right.con, day)
    assert verify_ledger(h.con).ok


def test_a_restated_file_converges_and_a_dropped_event_is_voided(tmp_path: Path) -> None:
    right, right_verdicts = in_order(tmp_path / "right")
    h = harness(tmp_path / "restated")
    wrong = deliveries(erp_readable=True, transfer_fen=400_000)  # part of a voucher: refused
    wrong[D1].events.append(dict(wrong[D1].events[0], event_id="EX9", voucher_id="VX9", ap_ref=AP))
    wrong[D1].load(h.con)
    verdicts = night_run(h, D1)
    assert verdicts["FA"][0] == "blocked" and "LEDGER_NOT_HOLDER" in verdicts["FA"][1]  # its FINANCE, then
    good = deliveries(erp_readable=True)
    replace_night(h, good[D1])  # restated: the TRANSFER corrected, EX9 no longer delivered
    assert night_run(h, D1) == right_verdicts[D1]
    assert entry_types(h)[-1] == "VOIDED"  # EX9, posted by the first version of the file
    for day in (D2, D3):
        good[day].load(h.con)
        assert night_run(h, day) == right_verdicts[day]
        assert ledger_state(h.con, day) == ledger_state(right.con, day)


def findings_of(h: Harness, day: dt.date) -> list[tuple]:
    return h.con.execute(
        "SELECT finding_id, check_id, financing_id, severity, detail, evidence FROM findings "
        "WHERE business_date = ? ORDER BY ALL", [day]
    ).fetchall()


def duplicated(h: Harness, day: dt.date) -> set[str]:
    """The financings the duplicate checks (``DUP_*``) found in the last run of ``day``."""
    return {r[0] for r in h.con.execute(
        "SELECT financing_id FROM findings WHERE business_date = ? AND starts_with(check_id, 'DUP_')", [day]).fetchall()}


def test_a_financing_dropped_by_a_restated_file_is_voided_then_restored_when_it_comes_back(tmp_path: Path) -> None:
    right, right_verdicts = in_order(tmp_path / "right", until=D1)
    h = harness(tmp_path / "restated")
    wrong = deliveries(erp_readable=True)
    wrong[D1].financings.append(dict(wrong[D1].financings[0], financing_id="FX"))  # the same voucher again
    wrong[D1].load(h.con)
    assert "FX" in night_run(h, D1) and duplicated(h, D1) == {"FA", "FX"}
    good = deliveries(erp_readable=True)
    replace_night(h, good[D1])  # restated: FX was never meant to be there
    assert night_run(h, D1) == right_verdicts[D1]
    assert entry_types(h)[-1] == "FINANCING_VOIDED"  # append-only: a void, not a rewrite
    voided = h.con.execute("SELECT business_date, entry FROM ledger_entries ORDER BY seq DESC LIMIT 1").fetchall()[0]
    record = decode_entry(bytes(voided[1])).record
    assert voided[0] == D1 and record.financing_id == "FX" and "no longer delivered" in record.reason
    assert ledger_state(h.con, D1) == ledger_state(right.con, D1)  # fingerprints of FX no longer count
    assert findings_of(h, D1) == findings_of(right, D1) and duplicated(h, D1) == set()
    lineage = voucher_lineage(h.con, "VAC")
    assert lineage is not None and [f.financing_id for _, f in lineage.financings] == ["FA"]
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    export_fingerprints(h.con, ours, fingerprint_key=h.fingerprint_key)
    export_fingerprints(right.con, theirs, fingerprint_key=right.fingerprint_key)
    assert ours.read_text("utf-8") == theirs.read_text("utf-8")
    size = tree_size(h)
    assert night_run(h, D1) == right_verdicts[D1] and tree_size(h) == size  # a re-run appends nothing
    good[D2].financings.append(dict(wrong[D1].financings[-1]))  # FX delivered again, on D2
    good[D2].load(h.con)
    assert "FX" in night_run(h, D2)
    assert entry_types(h)[-1] == "FINANCING"  # restored by a new entry
    assert duplicated(h, D2) == {"FA", "FX"} and duplicated(h, D1) == set()
    assert [f[0] for f in ledger_state(h.con, D2)["financings"]] == ["FA", "FB", "FX"]
    assert verify_ledger(h.con).ok and state_replays(h) and index_problem(h.con) is None
    assert fingerprint_problem(h.con) is None


def test_a_financing_misread_under_a_bad_configuration_converges_once_rerun_with_the_fix(tmp_path: Path) -> None:
    right, right_verdicts = in_order(tmp_path / "right")
    h = harness(tmp_path / "fixed")
    bad = deliveries(erp_readable=True)
    bad[D1].financings[0]["financing_id"] = "F\u7e3aA"  # a wrong encoding override: mojibake
    bad[D1].load(h.con)
    night_run(h, D1)
    good = deliveries(erp_readable=True)
    replace_night(h, good[D1])
    assert night_run(h, D1) == right_verdicts[D1]
    assert "FINANCING_VOIDED" in entry_types(h)
    for day in (D2, D3):
        good[day].load(h.con)
        assert night_run(h, day) == right_verdicts[day]
        assert ledger_state(h.con, day) == ledger_state(right.con, day)
        assert findings_of(h, day) == findings_of(right, day)
    assert verify_ledger(h.con).ok and state_replays(h)


def test_a_financing_refused_after_it_was_appended_is_voided_with_the_reason(tmp_path: Path) -> None:
    """No delivery refuses a financing its accepted FINANCE event agreed with; should a
    corrected reading ever do so, the financing the tree holds is voided, with the refusal."""
    h = harness(tmp_path)
    night = NightRows(D1)
    chain(night, "A")
    night.payable(CORE, AP, 1_000_000)
    night.load(h.con)
    night_run(h, D1)
    [[fa]] = list(financings_as_of(h.con, D1))
    finance = decode_entry(bytes(h.con.execute(
        "SELECT entry FROM ledger_entries WHERE entry_type = 'FINANCE'").fetchall()[0][0])).record
    with transaction(h.con):
        processor = NightProcessor(h.con, D1, h.fingerprint_key, window_days=WINDOW)
        processor._finance_events["FA"] = replace(finance, amount_fen=1)  # the event as now read
        processor.process_financings([[fa]])
    record = decode_entry(bytes(h.con.execute("SELECT entry FROM ledger_entries ORDER BY seq DESC LIMIT 1")
                                .fetchall()[0][0])).record
    assert isinstance(record, FinancingStatus) and record.financing_id == "FA"
    assert record.check_id == "LEDGER_FINANCING_MISMATCH" and "disagree" in (record.reason or "")
    assert ledger_state(h.con, D1)["financings"] == [] and duplicated(h, D1) == set()
    assert verify_ledger(h.con).ok and index_problem(h.con) is None and fingerprint_problem(h.con) is None


# ---- 3. idempotence, order ------------------------------------------------------------


def test_rerunning_nights_appends_no_status_change_twice(tmp_path: Path) -> None:
    h, _ = in_order(tmp_path)
    size = tree_size(h)
    for day in (D1, D3, D2, D3, D1, D3):
        h.run(day)
        assert tree_size(h) == size
    count = h.con.execute("SELECT count(*) FROM ledger_entries WHERE financing_id = 'FA' "
                          "AND entry_type = 'FINANCING'").fetchall()[0][0]
    assert count == 2  # ACTIVE, then DEFAULTED once


def test_nights_out_of_order_end_as_in_order(tmp_path: Path) -> None:
    right, right_verdicts = in_order(tmp_path / "right")
    h = harness(tmp_path / "shuffled")
    nights = deliveries(erp_readable=True)
    loaded: set[dt.date] = set()
    for day in (D1, D3, D2, D3):  # D3 first run before D2 had arrived, then replayed
        if day not in loaded:
            nights[day].load(h.con)
            loaded.add(day)
        verdicts = night_run(h, day)
    assert verdicts == right_verdicts[D3]
    assert ledger_state(h.con, D3) == ledger_state(right.con, D3)
    size = tree_size(h)
    night_run(h, D3)
    assert tree_size(h) == size and verify_ledger(h.con).ok and state_replays(h)



# ---- property: any schedule ends where the in-order run ends ---------------------------

NIGHTS = [D1 + dt.timedelta(days=i) for i in range(4)]

chain_plan = st.tuples(
    st.integers(min_value=0, max_value=3),  # night the chain is delivered
    st.sampled_from([0, 0, 1, 3, None]),  # nights its payable comes after the chain (None: never)
    st.booleans(),  # financing defaulted on the last night?
)


def planned(chains: list[tuple], *, late_erp: int | None = None) -> dict[dt.date, NightRows]:
    """Deliveries of ``chains``; with ``late_erp``, that night's ERP is first unreadable."""
    nights = {d: NightRows(d) for d in NIGHTS}
    for n, (night, payable_after, defaulted) in enumerate(chains):
        ap_ref = f"1000-2026-51000{n:05d}-001"
        chain(nights[NIGHTS[night]], f"P{n}", ap_ref=ap_ref)
        arrives = None if payable_after is None else night + payable_after
        if arrives is not None and arrives < len(NIGHTS) and NIGHTS[arrives] != late_erp:
            nights[NIGHTS[arrives]].payable(CORE, ap_ref, 1_000_000)
        if defaulted:
            fin = nights[NIGHTS[night]].financings[-1]
            nights[NIGHTS[-1]].financings.append(dict(fin, status="DEFAULTED"))
    return nights


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(chain_plan, min_size=1, max_size=4),
    st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6),
    st.sampled_from([None, *NIGHTS]),
)
def test_any_schedule_of_runs_ends_as_the_in_order_run(tmp_path_factory, chains, schedule, late_erp) -> None:
    """Nights run in any order and re-run (a night's deliveries land on its first run; one
    night's ERP may first be unreadable, then fixed when that night is run again), then the
    last night: the ledger state, findings and verdicts are those of the in-order run."""
    tmp = tmp_path_factory.mktemp("schedule")
    right = harness(tmp / "right", window=1)  # payables 3 nights late, or never, are voided
    for day, night in planned(chains).items():
        night.load(right.con)
        expected = night_run(right, day)
    h = harness(tmp / "shuffled", window=1)
    loaded: dict[dt.date, bool] = {}
    for index in [*schedule, len(NIGHTS) - 1]:
        day = NIGHTS[index]
        if day not in loaded:
            planned(chains, late_erp=late_erp)[day].load(h.con)
            loaded[day] = day != late_erp
        elif not loaded[day]:
            replace_night(h, planned(chains)[day])  # the fixed configuration, re-run
            loaded[day] = True
        night_run(h, day)
    for day in NIGHTS:  # what the runner's replay does: every night loaded right, in order
        if not loaded.get(day):
            replace_night(h, planned(chains)[day])
    verdicts = night_run(h, NIGHTS[-1])
    assert verdicts == expected
    assert ledger_state(h.con, NIGHTS[-1]) == ledger_state(right.con, NIGHTS[-1])
    findings = "SELECT finding_id, check_id, financing_id, detail, evidence FROM findings WHERE business_date = ? ORDER BY ALL"
    assert h.con.execute(findings, [NIGHTS[-1]]).fetchall() == right.con.execute(findings, [NIGHTS[-1]]).fetchall()
    size = tree_size(h)
    h.run(NIGHTS[-1])
    assert tree_size(h) == size and verify_ledger(h.con).ok
