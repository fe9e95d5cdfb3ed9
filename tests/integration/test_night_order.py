"""Nights run in business-date order, one at a time: refusal of a night whose predecessor has
not run, catch-up, replay of later nights, the ``night_runs`` record and ``scf status``."""

from __future__ import annotations

import datetime as dt
import fcntl
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integration import nights
from integration.cli import app
from integration.home import init_home
from integration.nights import NightOrderError, NightRun, plan
from integration.resources import LOCK_FILE
from integration.runner import NightFailedError, failure_messages, raise_if_failed, run_night
from simulator import simulate
from tests.conftest import SAMPLE_NIGHT
from warehouse.connection import Warehouse

D = dt.date.fromisoformat
GO_LIVE = D("2026-01-01")
START = D("2026-11-18")
SIM_NIGHTS = [START + dt.timedelta(days=i) for i in range(3)]
REPORTS = ("findings.csv", "financing_status.csv")


def _run(day: str, status: str = nights.SUCCEEDED, started: int = 0) -> NightRun:
    return NightRun(D(day), f"run-{day}", dt.datetime(2026, 11, 28, 0, 0, started), None, status, None, None)


def history(*runs: NightRun) -> dict[dt.date, NightRun]:
    return {r.business_date: r for r in runs}


def test_first_night_of_a_home_runs_when_nothing_earlier_was_delivered():
    assert plan(D("2026-11-20"), [D("2026-11-20"), D("2026-11-21")], {}, GO_LIVE, catch_up=False).nights == (
        D("2026-11-20"),
    )


def test_a_delivered_night_that_has_not_run_blocks_the_next_one_unless_catching_up():
    delivered = [D("2026-11-18"), D("2026-11-19"), D("2026-11-20")]
    with pytest.raises(NightOrderError, match="night 2026-11-19 has not run, it comes before 2026-11-20.*--catch-up"):
        plan(D("2026-11-20"), delivered, history(_run("2026-11-18")), GO_LIVE, catch_up=False)
    caught_up = plan(D("2026-11-20"), delivered, history(_run("2026-11-18")), GO_LIVE, catch_up=True)
    assert caught_up.nights == (D("2026-11-19"), D("2026-11-20")) and caught_up.missing == (D("2026-11-19"),)


def test_a_failed_night_blocks_the_next_one_and_is_named_as_failed():
    with pytest.raises(NightOrderError, match="night 2026-11-18 failed"):
        plan(D("2026-11-19"), [], history(_run("2026-11-18", nights.FAILED)), GO_LIVE, catch_up=False)


def test_a_gap_without_delivery_is_not_a_missing_night_and_nights_before_go_live_do_not_count():
    delivered = [D("2026-11-15"), D("2026-11-20")]  # nothing delivered on 16..19: no nights there
    assert plan(D("2026-11-20"), delivered, history(_run("2026-11-15")), GO_LIVE, catch_up=False).nights == (
        D("2026-11-20"),
    )
    assert plan(D("2026-11-20"), delivered, {}, D("2026-11-16"), catch_up=False).nights == (D("2026-11-20"),)


def test_a_night_the_home_ran_counts_even_when_its_folder_has_left_the_inbox():
    runs = history(_run("2026-11-18", nights.FAILED))
    with pytest.raises(NightOrderError, match="2026-11-18 failed"):
        plan(D("2026-11-19"), [D("2026-11-19")], runs, GO_LIVE, catch_up=False)


def test_rerunning_or_catching_up_an_earlier_night_replays_every_later_night_already_run():
    runs = history(_run("2026-11-18"), _run("2026-11-20"), _run("2026-11-21"))
    delivered = [D("2026-11-18"), D("2026-11-19"), D("2026-11-20"), D("2026-11-21"), D("2026-11-22")]
    rerun = plan(D("2026-11-18"), delivered, runs, GO_LIVE, catch_up=False)
    # 19 (delivered, never run) runs in its place: replaying 20 without it would be refused
    assert rerun.nights == (D("2026-11-18"), D("2026-11-19"), D("2026-11-20"), D("2026-11-21"))
    assert rerun.replay == (D("2026-11-20"), D("2026-11-21"))
    late = plan(D("2026-11-21"), delivered, runs, GO_LIVE, catch_up=True)  # 19 arrived late
    assert late.nights == (D("2026-11-19"), D("2026-11-20"), D("2026-11-21"))
    assert late.missing == (D("2026-11-19"),) and late.replay == (D("2026-11-20"),)


def test_stale_nights_are_those_an_earlier_night_ran_after():
    runs = history(_run("2026-11-18", started=5), _run("2026-11-19", started=1), _run("2026-11-20", started=6))
    assert nights.stale_nights(runs) == {D("2026-11-19")}


def test_only_finished_nights_after_go_live_are_offered():
    assert nights.last_finished_night(dt.datetime(2026, 11, 20, 15, 59, tzinfo=dt.UTC)) == D("2026-11-19")
    assert nights.last_finished_night(dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC)) == D("2026-11-20")
    assert "before the first night" in nights.out_of_range(D("2025-12-31"), GO_LIVE, D("2026-11-20"))
    assert "not over yet" in nights.out_of_range(D("2026-11-21"), GO_LIVE, D("2026-11-20"))
    assert nights.out_of_range(D("2026-11-20"), GO_LIVE, D("2026-11-20")) is None


# --- through the real job and the CLI -------------------------------------------------------------


def scf(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output, result.exception


def night_runs(home: Path) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return wh.con.execute("SELECT business_date, status, error FROM night_runs ORDER BY started_at, rowid").fetchall()


def reports(home: Path, day: dt.date) -> list[bytes]:
    return [(home / "reports" / day.isoformat() / name).read_bytes() for name in REPORTS]


@pytest.fixture(scope="module")
def sim_inbox(tmp_path_factory) -> Path:
    """Three small simulated nights."""
    root = tmp_path_factory.mktemp("order")
    simulate(root, seed=3, nights=len(SIM_NIGHTS), start=START, trades_per_night=40)
    return root / "inbox"


@pytest.fixture(scope="module")
def in_order(tmp_path_factory, sim_inbox) -> Path:
    """The home of `scf run --all` over the three nights: the reference."""
    home = tmp_path_factory.mktemp("in_order") / "home"
    init_home(home)
    code, output, error = scf("run", "--all", "--home", str(home), "--inbox", str(sim_inbox))
    assert code == 0, (output, error)
    return home


def test_nights_delivered_out_of_order_converge_to_the_in_order_run(tmp_path, sim_inbox, in_order):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    init_home(home)
    deliver = lambda day: shutil.copytree(sim_inbox / day.isoformat(), inbox / day.isoformat())  # noqa: E731
    first, late, last = SIM_NIGHTS
    deliver(first)
    deliver(last)  # the middle night's delivery is late
    assert scf("run", "--date", str(first), "--home", str(home), "--inbox", str(inbox))[0] == 0
    assert scf("run", "--date", str(last), "--home", str(home), "--inbox", str(inbox))[0] == 0
    deliver(late)
    code, output, error = scf("run", "--date", str(last), "--home", str(home), "--inbox", str(inbox))
    assert isinstance(error, NightOrderError) and f"night {late} has not run" in str(error)
    code, output, error = scf("run", "--date", str(late), "--home", str(home), "--inbox", str(inbox))
    assert code == 0, (output, error)
    assert "Replaying the later nights already run" in output and str(last) in output
    assert [(d, s) for d, s, _ in night_runs(home)][-2:] == [(late, "succeeded"), (last, "succeeded")]
    code, output, _ = scf("status", "--home", str(home), "--inbox", str(inbox))
    assert code == 0 and output.count("succeeded") == 3 and "stale" not in output
    assert scf("ledger", "verify", "--home", str(home))[0] == 0
    for day in SIM_NIGHTS:
        assert reports(home, day) == reports(in_order, day), f"reports of {day}"


def test_rerunning_the_first_night_replays_the_later_ones_to_the_same_reports(tmp_path, sim_inbox, in_order):
    home = tmp_path / "home"
    shutil.copytree(in_order.parent, home.parent, dirs_exist_ok=True)
    code, output, error = scf("run", "--date", str(SIM_NIGHTS[0]), "--home", str(home), "--inbox", str(sim_inbox))
    assert code == 0, (output, error)
    assert "Replaying the later nights already run, in order" in " ".join(output.split())
    assert [d for d, _, _ in night_runs(home)] == SIM_NIGHTS * 2
    for day in SIM_NIGHTS:
        assert reports(home, day) == reports(in_order, day), f"reports of {day}"


def test_catch_up_runs_the_missing_nights_first(tmp_path, sim_inbox, in_order):
    home = tmp_path / "home"
    init_home(home)
    code, output, error = scf("run", "--date", str(SIM_NIGHTS[-1]), "--home", str(home), "--inbox", str(sim_inbox))
    assert isinstance(error, NightOrderError) and f"night {SIM_NIGHTS[0]} has not run (and 1 more)" in str(error)
    assert not list((home / "reports").rglob("*.csv")), "a refused night runs nothing"
    code, output, error = scf("run", "--date", str(SIM_NIGHTS[-1]), "--catch-up", "--home", str(home),
                              "--inbox", str(sim_inbox))
    assert code == 0, (output, error)
    assert [d for d, _, _ in night_runs(home)] == SIM_NIGHTS
    assert reports(home, SIM_NIGHTS[-1]) == reports(in_order, SIM_NIGHTS[-1])


def test_a_failed_night_is_recorded_with_its_cause_and_blocks_the_next(tmp_path, sample_inbox):
    home = tmp_path / "home"
    init_home(home)
    (home / "scf.toml").write_text('[ledger]\nsigning_key_file = "scf.toml/key.pem"\n', "utf-8")  # not a folder
    code, output, error = scf("run", "--date", SAMPLE_NIGHT, "--home", str(home), "--inbox", str(sample_inbox))
    assert isinstance(error, NightFailedError)
    assert str(error).startswith(f"night {SAMPLE_NIGHT} failed: landed_files: no signing key at ")
    [(day, status, cause)] = night_runs(home)
    assert (day, status) == (D(SAMPLE_NIGHT), "failed") and cause.startswith("landed_files: no signing key")
    shutil.copytree(sample_inbox / SAMPLE_NIGHT / "tax", sample_inbox / "2026-11-21" / "tax")
    code, output, error = scf("run", "--date", "2026-11-21", "--home", str(home), "--inbox", str(sample_inbox))
    assert isinstance(error, NightOrderError) and str(error).startswith(f"night {SAMPLE_NIGHT} failed, it comes before")
    code, output, _ = scf("status", "--home", str(home), "--inbox", str(sample_inbox))
    assert f"{SAMPLE_NIGHT}  failed" in output and "landed_files: no signing key" in output and "2026-11-21  pending" in output


def test_the_job_itself_refuses_a_night_whose_predecessor_has_not_run(tmp_path, sample_inbox):
    shutil.copytree(sample_inbox / SAMPLE_NIGHT / "tax", sample_inbox / "2026-11-19" / "tax")
    init_home(tmp_path / "home")
    result = run_night(D(SAMPLE_NIGHT), home=tmp_path / "home", inbox=sample_inbox)
    assert failure_messages(result) == [
        f"order: night 2026-11-19 has not run, it comes before {SAMPLE_NIGHT}: run it first, or give --catch-up"
    ]
    with pytest.raises(NightFailedError, match=f"night {SAMPLE_NIGHT} failed: order: night 2026-11-19"):
        raise_if_failed(result, D(SAMPLE_NIGHT))


def test_one_night_at_a_time_per_home(tmp_path, sample_inbox):
    home = tmp_path / "home"
    init_home(home)
    with open(home / LOCK_FILE, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run of this home holds it
        result = run_night(D(SAMPLE_NIGHT), home=home, inbox=sample_inbox)
    assert not result.success
    assert failure_messages(result)[0].startswith("order: another night is running on")
    assert not list((home / "reports").rglob("*.csv"))


def test_run_all_reports_and_skips_nights_outside_the_range(tmp_path, sample_inbox):
    home = tmp_path / "home"
    init_home(home)
    (home / "scf.toml").write_text("[nightly]\nfirst_night = 2026-11-20\n", "utf-8")
    shutil.copytree(sample_inbox / SAMPLE_NIGHT / "tax", sample_inbox / "2026-11-19" / "tax")
    tomorrow = nights.last_finished_night() + dt.timedelta(days=1)
    (sample_inbox / tomorrow.isoformat()).mkdir()
    code, output, error = scf("run", "--all", "--home", str(home), "--inbox", str(sample_inbox))
    assert code == 0, (output, error)
    assert "skipping night folder 2026-11-19: outside the nightly job's dates: before the first night 2026-11-20" in (
        " ".join(output.split()))
    assert f"skipping night folder {tomorrow}: outside the nightly job's dates: not over yet" in " ".join(output.split())
    assert [(d, s) for d, s, _ in night_runs(home)] == [(D(SAMPLE_NIGHT), "succeeded")]
    code, output, error = scf("run", "--date", "2026-11-19", "--home", str(home), "--inbox", str(sample_inbox))
    assert isinstance(error, NightOrderError) and "before the first night 2026-11-20" in str(error)
