"""The as-of state kept night by night equals the one rebuilt from every night (issue 15 §1).

Random multi-night histories (records restated on later nights, several files a night delivered
in any order, an earlier night restated or re-run, a night skipped) are run night by night: the
incremental ``asof_*`` state must equal the full definition (``cur_*`` views over all history),
and the findings and verdicts of an incremental home equal those of a home run with ``full``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciliation.findings import run_catalogue
from reconciliation.session import KEPT
from reconciliation.standing import matches_as_of, standing_night, verdicts_as_of
from tests.factories import insert
from warehouse.asof import create_asof_views, matches_as_of_sql, verdicts_as_of_sql
from warehouse.asof_state import Build, refresh_asof_state, state_table
from warehouse.connection import Warehouse
from warehouse.schemas import FILES, SCHEMAS

FIRST = dt.date(2026, 3, 2)
INVOICES = ("26320000000000000001", "26320000000000000002", "26320000000000000003")
FINANCINGS = ("FIN-A", "FIN-B")


@dataclass(frozen=True)
class Invoice:
    invoice_no: str
    total_fen: int


@dataclass(frozen=True)
class Financing:
    financing_id: str
    invoice_no: str
    face_fen: int
    status: str


@dataclass(frozen=True)
class Issue:
    """A voucher ISSUE by the invoices' buyer: it makes the buyer a core (tier 1: payables awaited)."""

    event_id: str


@dataclass(frozen=True)
class Unreadable:
    """A financings.csv row that could not be read (financing_rejects): it counts for the financing's first night."""

    financing_id: str


BUYER = "91440300MA5F00001A"
Record = Invoice | Financing | Issue | Unreadable
records = st.one_of(
    st.builds(Invoice, st.sampled_from(INVOICES), st.integers(1, 4).map(lambda n: n * 113_00)),
    st.builds(Financing, st.sampled_from(FINANCINGS), st.sampled_from(INVOICES), st.integers(1, 4).map(lambda n: n * 113_00),
              st.sampled_from(("ACTIVE", "ACTIVE", "REPAID"))),
    st.builds(Issue, st.sampled_from(("EV-1", "EV-2"))),
    st.builds(Unreadable, st.sampled_from((*FINANCINGS, "FIN-C"))),
)
nights = st.lists(st.lists(records, min_size=1, max_size=4), min_size=1, max_size=3)  # files of a night
# A step: run the next night, restate an earlier night (then run the next), re-run an earlier night (alone, or
# with the later nights replayed in order after it, as `scf run` does), or skip one.
steps = st.lists(st.tuples(st.sampled_from(("next", "next", "restate", "rerun", "replay", "skip")), st.integers(0, 5), nights),
                 min_size=2, max_size=6)


def deliver(wh: Warehouse, night: dt.date, files: list[list[Record]], seq_start: int) -> int:
    """Replace the rows of ``night`` by ``files`` (received in that order, numbered from ``seq_start``)."""
    wh.clear_night(night)
    for offset, content in enumerate(files):
        seq = seq_start + offset
        sha = f"{(seq * 7919) % 997:064x}"  # hashes in another order than the delivery
        wh.append("files", FILES.arrow([FILES.Row(business_date=night, rel_path=f"f{seq}.csv", sha256=sha, size=1, file_kind="x",
                                                  status="loaded", rows=len(content), quarantined=0, superseded=None, seq=seq)]))
        for pos, record in enumerate(content, start=2):
            lineage = {"src_sha256": sha, "src_pos": 100 - pos}  # positions in another order too
            if isinstance(record, Invoice):
                tax = record.total_fen * 13 // 113
                insert(wh, "tax_invoices", night, **lineage, invoice_no=record.invoice_no, total_fen=record.total_fen,
                       amount_fen=record.total_fen - tax, tax_fen=tax, seller_uscc="91320500MA1X000024",
                       buyer_uscc=BUYER, issue_time=dt.datetime.combine(night, dt.time(9)))
                insert(wh, "tax_invoice_lines", night, **lineage, invoice_no=record.invoice_no, line_no=1,
                       amount_fen=record.total_fen - tax)
            elif isinstance(record, Issue):
                insert(wh, "voucher_events", night, **lineage, event_id=record.event_id, event_type="ISSUE",
                       voucher_id=f"V-{record.event_id}", issuer_uscc=BUYER, amount_fen=113_00)
            elif isinstance(record, Unreadable):
                insert(wh, "financing_rejects", night, **lineage, financing_id=record.financing_id, bank_code="313521000011",
                       product="INVOICE", reason_code="bad_amount", reason="amount unreadable")
            else:
                insert(wh, "financings", night, **lineage, financing_id=record.financing_id, bank_code="313521000011",
                       product="INVOICE", asset_ref=record.invoice_no, asset_invoice_no=record.invoice_no,
                       invoice_nos=f"{record.invoice_no}:{record.face_fen // 100}.00", face_amount_fen=record.face_fen,
                       financed_amount_fen=record.face_fen * 98 // 100, value_date=night, status=record.status)
                insert(wh, "financing_invoices", night, **lineage, financing_id=record.financing_id,
                       invoice_no=record.invoice_no, amount_fen=record.face_fen)
    return seq_start + len(files)


def schedule(plan: list[tuple[str, int, list[list[Record]]]]) -> Iterator[tuple[dt.date, dt.date, list[list[Record]] | None]]:
    """(night delivered or restated, night run, files) for each step of ``plan``; files None: deliver nothing."""
    last = FIRST - dt.timedelta(days=1)
    for kind, back, files in plan:
        if kind in ("rerun", "replay") and last >= FIRST:
            night = max(FIRST, last - dt.timedelta(days=back))
            for replayed in range((last - night).days + 1 if kind == "replay" else 1):
                yield night + dt.timedelta(days=replayed), night + dt.timedelta(days=replayed), None
            continue
        if kind == "restate" and last >= FIRST:
            yield max(FIRST, last - dt.timedelta(days=back)), last, files
            continue
        if kind == "skip":  # delivered, not run: the next night runs over a gap
            last += dt.timedelta(days=1)
            yield last, last - dt.timedelta(days=1), files
            continue
        last += dt.timedelta(days=1)
        yield last, last, files


def state_rows(wh: Warehouse, relation: str) -> list[tuple]:
    return sorted(map(repr, wh.con.execute(f"SELECT * FROM {relation}").fetchall()))  # type: ignore[arg-type]


def assert_state_is_the_definition(wh: Warehouse, night: dt.date) -> None:
    create_asof_views(wh.con, night)
    for name in SCHEMAS:
        assert state_rows(wh, state_table(name)) == state_rows(wh, f"cur_{name}"), name
    for fact in KEPT:  # the first nights kept with the state (financing_first_night, mt_cores' issuers)
        kept = sorted(wh.con.execute(f"SELECT key, since FROM {fact.table.name}").fetchall())
        assert kept == sorted(wh.con.execute(fact.definition_sql(), {"d": night}).fetchall()), fact.table.name


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_incremental_state_equals_the_full_definition(tmp_path_factory: pytest.TempPathFactory, plan) -> None:  # noqa: ANN001
    with Warehouse(tmp_path_factory.mktemp("asof") / "w.duckdb") as wh:
        seq, builds = 1, []
        for delivered, run, files in schedule(plan):
            if files is not None:
                seq = deliver(wh, delivered, files, seq)
            if run >= FIRST:
                builds.append(refresh_asof_state(wh.con, run, kept=KEPT).build)
                assert_state_is_the_definition(wh, run)
        assert builds[0] is Build.FULL


def test_a_night_on_top_of_the_last_is_incremental_and_doubt_rebuilds(wh: Warehouse) -> None:
    one = [[Invoice(INVOICES[0], 113_00), Financing(FINANCINGS[0], INVOICES[0], 113_00, "ACTIVE")]]
    deliver(wh, FIRST, one, 1)
    assert refresh_asof_state(wh.con, FIRST, kept=KEPT).build is Build.FULL
    deliver(wh, FIRST + dt.timedelta(days=1), [[Invoice(INVOICES[0], 226_00)]], 2)
    assert refresh_asof_state(wh.con, FIRST + dt.timedelta(days=1), kept=KEPT).build is Build.INCREMENTAL
    deliver(wh, FIRST, [[Invoice(INVOICES[1], 339_00)]], 3)  # an earlier night restated
    deliver(wh, FIRST + dt.timedelta(days=2), one, 4)
    restated = refresh_asof_state(wh.con, FIRST + dt.timedelta(days=2), kept=KEPT)
    assert restated.build is Build.FULL and "changed since (restated or re-read)" in restated.reason  # the night's log says why
    rerun = refresh_asof_state(wh.con, FIRST + dt.timedelta(days=2), kept=KEPT)
    assert rerun.build is Build.FULL and "a re-run" in rerun.reason
    assert refresh_asof_state(wh.con, FIRST + dt.timedelta(days=3), full=True, kept=KEPT).build is Build.FULL
    assert_state_is_the_definition(wh, FIRST + dt.timedelta(days=3))


def _night_results(wh: Warehouse, night: dt.date) -> tuple[list[tuple], list[tuple]]:
    findings = wh.con.execute("SELECT * FROM findings WHERE business_date = ? ORDER BY finding_id", [night]).fetchall()
    verdicts = wh.con.execute(f"SELECT * FROM ({verdicts_as_of_sql()}) ORDER BY financing_id",
                              [night]).fetchall()
    return findings, verdicts


def standing_is_the_definition(wh: Warehouse) -> None:
    """The standing verdicts and matches kept night by night are those of the last night stored, by the
    window over every row (reconciliation.standing)."""
    last = wh.con.execute("SELECT max(business_date) FROM verdict_nights").fetchone()[0]
    assert standing_night(wh.con) == last
    pairs = ((verdicts_as_of(wh.con, last), verdicts_as_of_sql()), (matches_as_of(wh.con, last), matches_as_of_sql()))
    for kept_sql, window_sql in pairs:
        kept = wh.con.execute(f"SELECT * FROM ({kept_sql}) ORDER BY ALL").fetchall()
        assert kept == wh.con.execute(f"SELECT * FROM ({window_sql}) ORDER BY ALL", [last]).fetchall()


def incremental_equals_full(root: Path, plan: list[tuple[str, int, list[list[Record]]]]) -> None:
    """Play ``plan`` on an incremental and a full home: each night's findings and verdicts are equal,
    and so are the standing verdicts and matches kept with those of every row."""
    with Warehouse(root / "incremental.duckdb") as inc, Warehouse(root / "full.duckdb") as full:
        seq = 1
        for delivered, run, files in schedule(plan):
            if files is not None:
                deliver(inc, delivered, files, seq)
                seq = deliver(full, delivered, files, seq)
            if run >= FIRST:
                run_catalogue(inc.con, run)
                run_catalogue(full.con, run, full=True)
                assert _night_results(inc, run) == _night_results(full, run), run
                standing_is_the_definition(inc)
                standing_is_the_definition(full)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_incremental_findings_equal_full(tmp_path_factory: pytest.TempPathFactory, plan) -> None:  # noqa: ANN001
    incremental_equals_full(tmp_path_factory.mktemp("modes"), plan)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_incremental_findings_equal_full_many(tmp_path_factory: pytest.TempPathFactory, plan) -> None:  # noqa: ANN001
    incremental_equals_full(tmp_path_factory.mktemp("modes"), plan)


def test_a_finding_a_rerun_takes_back_is_first_seen_where_it_still_stands(tmp_path: Path) -> None:
    """first_seen_date is kept (finding_first_seen), not re-read from every night: when a re-run of
    an earlier night takes a finding back, the later night it still stands on becomes its first."""
    orphan = [[Financing(FINANCINGS[0], INVOICES[0], 113_00, "ACTIVE")]]  # its invoice never arrives
    second = FIRST + dt.timedelta(days=1)
    with Warehouse(tmp_path / "w.duckdb") as wh:

        def first_seen(night: dt.date) -> set[dt.date]:
            return {r[0] for r in wh.con.execute("SELECT first_seen_date FROM findings WHERE business_date = ? "
                                                 "AND financing_id = ?", [night, FINANCINGS[0]]).fetchall()}

        deliver(wh, FIRST, orphan, 1)
        run_catalogue(wh.con, FIRST)
        deliver(wh, second, orphan, 2)
        run_catalogue(wh.con, second)
        assert first_seen(second) == {FIRST}
        deliver(wh, FIRST, [[Invoice(INVOICES[1], 113_00)]], 3)  # night 1 restated without the financing
        run_catalogue(wh.con, FIRST)
        assert first_seen(FIRST) == set()
        run_catalogue(wh.con, second)
        assert first_seen(second) == {second}
        kept = _night_results(wh, second)
        run_catalogue(wh.con, second, full=True)  # the oracle reads every night's findings
        assert _night_results(wh, second) == kept
