"""The voucher families the ledger keeps night to night (``ledger_family_links``, #15) are
those traced from every event delivered up to the night the ledger's decisions are of:
the same links, each with the least voucher id of its family -- whatever the order the
nights run in, re-run, restated or late."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.families import LINKS, components, differing_links, keep_families
from tests.ledger.test_convergence import MATURITY, harness, replace_night
from tests.ledger_nights import CORE, TIER1, NightRows, create_input_tables
from warehouse.registry import create_table
from warehouse.results import LEDGER_FAMILY_LINKS

D1 = dt.date(2026, 11, 18)
NIGHTS = [D1 + dt.timedelta(days=i) for i in range(4)]

# one delivered row: (event, voucher, parent); few ids, so that families merge across nights
# and an event is delivered again naming another voucher
row = st.tuples(
    st.integers(0, 11).map(lambda n: f"E{n:02d}"),
    st.one_of(st.none(), st.integers(0, 14).map(lambda n: f"V{n:02d}")),
    st.one_of(st.none(), st.integers(0, 14).map(lambda n: f"V{n:02d}")),
)
night_rows = st.lists(row, max_size=5)


def rows_of(day: dt.date, rows: list[tuple[str, str | None, str | None]]) -> NightRows:
    night = NightRows(day)
    for n, (event_id, voucher_id, parent) in enumerate(rows):
        night.event(event_id, "SPLIT" if parent else "ISSUE", voucher_id, parent=parent, time=f"{day}T{10 + n}:00:00+08:00",
                    issuer=CORE, from_uscc=TIER1, to_uscc=TIER1, amount_fen=100_000, maturity=MATURITY)
    return night


def traced(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[tuple[str, str, str]]:
    """The families traced from every delivered row up to ``as_of`` (union-find, the oracle)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    links = {
        (event_id, voucher)
        for event_id, voucher_id, parent_id in con.execute(
            "SELECT event_id, voucher_id, parent_voucher_id FROM voucher_events WHERE business_date <= ?", [as_of]
        ).fetchall()
        for voucher in (voucher_id, parent_id)
        if voucher is not None and event_id is not None
    }
    for event_id, voucher in links:
        parent[find(("e", event_id))] = find(("v", voucher))
    least: dict[tuple[str, str], str] = {}
    for _, voucher in links:
        root = find(("v", voucher))
        least[root] = min(least.get(root, voucher), voucher)
    return sorted((event_id, voucher, least[find(("v", voucher))]) for event_id, voucher in links)


def kept(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in con.execute(f"SELECT event_id, voucher_id, family_id FROM {LINKS} ORDER BY ALL").fetchall()]


def test_components_name_each_part_by_its_least_node() -> None:
    # 0-3-5 a path through 3 (deep), 1 alone with 4, 2 alone
    label = components(np.array([5, 3, 4]), np.array([3, 0, 1]), 6)
    assert label.tolist() == [0, 1, 2, 0, 1, 0]
    assert components(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 0).tolist() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(night_rows, min_size=1, max_size=5))
def test_families_kept_night_by_night_are_those_traced_from_every_row(nights: list) -> None:
    """keep_families built on each night before (only the new links written) equals the
    oracle and the rebuild, every night: merges, a family named again by a smaller voucher,
    an event delivered again naming another voucher, nights with no event."""
    con = duckdb.connect()
    create_input_tables(con, ["voucher_events"])
    create_table(con, LEDGER_FAMILY_LINKS)
    days = [D1 + dt.timedelta(days=i) for i in range(len(nights))]
    base = None
    for day, rows in zip(days, nights, strict=True):
        rows_of(day, rows).load(con)
        keep_families(con, base, day)
        assert kept(con) == traced(con, day)
        base = day
    keep_families(con, None, days[-1])
    assert kept(con) == traced(con, days[-1])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(night_rows, min_size=len(NIGHTS), max_size=len(NIGHTS)),
    st.lists(st.integers(0, len(NIGHTS) - 1), min_size=1, max_size=6),
    st.sampled_from([None, *range(len(NIGHTS))]),
    night_rows,
)
def test_the_ledger_keeps_the_families_of_any_schedule(tmp_path_factory, nights, schedule, restated, other) -> None:
    """The real nightly step, nights run in any order and re-run (late nights: a night runs
    after a later one), one night's rows restated after it ran: after every run the kept
    families are those traced from the rows up to the night the ledger's decisions are of."""
    h = harness(tmp_path_factory.mktemp("families"), window=1)
    loaded: set[dt.date] = set()
    for step, index in enumerate([*schedule, len(NIGHTS) - 1]):
        day = NIGHTS[index]
        if day not in loaded:
            rows_of(day, nights[index]).load(h.con)
            loaded.add(day)
        if restated is not None and step == 1 and NIGHTS[restated] in loaded:
            replace_night(h, rows_of(NIGHTS[restated], other))  # a restated delivery of a night already run
        h.run(day)
        as_of = h.con.execute("SELECT as_of FROM ledger_progress").fetchall()[0][0]
        assert kept(h.con) == traced(h.con, as_of)
    incremental = kept(h.con)
    h.con.execute("DELETE FROM ledger_progress")  # --full: replay everything, rebuild the families
    h.run(NIGHTS[-1])
    assert kept(h.con) == incremental


def test_a_home_of_the_previous_release_replays_once_to_build_its_families(tmp_path: Path) -> None:
    """The migration that brings the table forgets the night the decisions are of: the next
    night replays everything (and builds the families) instead of building on no families."""
    from warehouse.migrations import migrations

    step = next(m for m in migrations() if m.name == "ledger_family_links")
    h = harness(tmp_path / "h", window=1)
    for index in (0, 1):
        rows_of(NIGHTS[index], [("E01", "V01", None), (f"E1{index}", f"V1{index}", "V01")]).load(h.con)
        h.run(NIGHTS[index])
    h.con.execute(f"DELETE FROM {LINKS}")  # as a home of the previous release: no families kept
    h.con.execute(step.sql)
    rows_of(NIGHTS[2], [("E12", "V12", "V11")]).load(h.con)
    assert h.run(NIGHTS[2]).replayed_events == 4
    assert kept(h.con) == traced(h.con, NIGHTS[2])


def test_verify_state_finds_a_kept_family_link_changed_missing_or_added(tmp_path: Path) -> None:
    """``scf ledger verify --state`` rebuilds the families from the events and names any kept
    link that differs: a family renamed, a link removed (a family cut in two), a link invented."""
    h = harness(tmp_path / "h", window=1)
    assert differing_links(h.con) is None  # no night kept yet
    for index in (0, 1):
        rows_of(NIGHTS[index], [("E01", "V01", None), (f"E1{index}", f"V1{index}", "V01")]).load(h.con)
        h.run(NIGHTS[index])
    assert differing_links(h.con) == []
    h.con.execute(f"UPDATE {LINKS} SET family_id = 'V99' WHERE event_id = 'E11'")
    assert differing_links(h.con) == [("E11", "V01", "V99", "V01"), ("E11", "V11", "V99", "V01")]
    h.con.execute(f"UPDATE {LINKS} SET family_id = 'V01' WHERE event_id = 'E11'")
    h.con.execute(f"DELETE FROM {LINKS} WHERE event_id = 'E10' AND voucher_id = 'V10'")
    h.con.execute(f"INSERT INTO {LINKS} VALUES ('E77', 'V77', 'V01')")
    assert differing_links(h.con) == [("E10", "V10", None, "V01"), ("E77", "V77", "V01", None)]
