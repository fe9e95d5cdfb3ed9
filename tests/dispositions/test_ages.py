"""A finding's age in nights is kept night by night (issue 15): the night reads only its own findings
and the kept ages, and gives the ages the count over every night gives, through re-runs and gaps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispositions.effective import keep_ages, store_night_dispositions
from warehouse.connection import Warehouse

FIRST = dt.date(2026, 11, 2)
IDS = [f"FND-{i:020d}" for i in range(5)]


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse(tmp_path / "w.duckdb") as warehouse:
        yield warehouse


def judge(wh: Warehouse, night: dt.date, found: set[str]) -> None:
    """Store ``found`` as the night's findings (replacing a re-run's), then the night's dispositions."""
    wh.con.execute("DELETE FROM findings WHERE business_date = ?", [night])
    for fid in sorted(found):
        wh.con.execute("INSERT INTO findings BY NAME SELECT ? AS finding_id, ? AS business_date, 'C' AS check_id, "
                       "'c' AS category, 'HIGH' AS severity, 'd' AS detail, '{}' AS evidence, ? AS first_seen_date",
                       [fid, night, night])
    store_night_dispositions(wh.con, night)


def ages(wh: Warehouse, night: dt.date) -> dict[str, int]:
    return dict(wh.con.execute("SELECT finding_id, age_nights FROM finding_dispositions WHERE business_date = ?",
                               [night]).fetchall())


def counted(wh: Warehouse, night: dt.date) -> dict[str, int]:
    """The definition: the nights up to ``night`` each of the night's findings was found on."""
    return dict(wh.con.execute(
        "SELECT finding_id, count(*)::INTEGER FROM findings WHERE business_date <= $1 AND finding_id IN "
        "(SELECT finding_id FROM findings WHERE business_date = $1) GROUP BY finding_id", [night]).fetchall())


# A step: the next night, a night skipped (not judged), or a re-run of an earlier night; each with its findings.
steps = st.lists(st.tuples(st.sampled_from(("next", "next", "next", "skip", "rerun")), st.integers(0, 4),
                           st.sets(st.sampled_from(IDS))), min_size=1, max_size=10)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_kept_ages_equal_the_count_over_every_night(tmp_path_factory: pytest.TempPathFactory, plan) -> None:  # noqa: ANN001
    with Warehouse(tmp_path_factory.mktemp("ages") / "w.duckdb") as wh:
        last = FIRST - dt.timedelta(days=1)
        for kind, back, found in plan:
            if kind == "rerun" and last >= FIRST:
                night = max(FIRST, last - dt.timedelta(days=back))
            else:
                last += dt.timedelta(days=2 if kind == "skip" else 1)
                night = last
            judge(wh, night, found)
            assert ages(wh, night) == counted(wh, night)


def test_a_night_on_top_of_the_last_reads_only_its_own_findings(wh: Warehouse) -> None:
    judge(wh, FIRST, {IDS[0], IDS[1]})
    judge(wh, FIRST + dt.timedelta(days=1), {IDS[0]})
    wh.con.execute("INSERT INTO findings BY NAME SELECT ? AS finding_id, ? AS business_date, 'C' AS check_id, 'c' AS category, "
                   "'HIGH' AS severity, 'd' AS detail, ? AS first_seen_date", [IDS[2], FIRST + dt.timedelta(days=2), FIRST])
    assert keep_ages(wh.con, FIRST + dt.timedelta(days=2)) == "incremental"
    assert keep_ages(wh.con, FIRST + dt.timedelta(days=2)) == "full"  # a re-run counts again
    assert ages(wh, FIRST + dt.timedelta(days=1)) == {IDS[0]: 2}
