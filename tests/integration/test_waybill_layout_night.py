"""A night whose carriers send the real 2015WCCYR layout gives the same verdicts as the
contract-layout night of the same trades: on the spec's sample night (with the real waybill
file of samples-more/), and on simulated nights where every carrier sends 2015WCCYR."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from integration.home import init_home
from integration.runner import failure_messages, run_night
from simulator import Tuning, simulate
from simulator.arrivals import stamp_arrivals
from tests.conftest import SAMPLE_NIGHT
from tests.connectors.test_layouts import WCCYR
from tests.connectors.test_parsers import CARRIER
from warehouse.connection import Warehouse

NIGHT = dt.date.fromisoformat(SAMPLE_NIGHT)
START = dt.date(2026, 11, 18)
NIGHTS = 2


def run_nights(home: Path, inbox: Path, days: list[dt.date]) -> None:
    init_home(home)
    for day in days:
        result = run_night(day, home=home, inbox=inbox)
        assert result.success, failure_messages(result)


def statuses(home: Path, day: dt.date) -> dict[str, tuple[str, str]]:
    """financing_status.csv of a night: financing → (verdict, check ids)."""
    with (home / "reports" / day.isoformat() / "financing_status.csv").open(encoding="utf-8", newline="") as handle:
        return {r["financing_id"]: (r["verdict"], r["check_ids"]) for r in csv.DictReader(handle)}


def layouts(home: Path) -> set[str]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return {row[0] for row in wh.con.execute("SELECT DISTINCT layout FROM waybills").fetchall()}


def test_the_sample_night_with_real_2015wccyr_waybills_gives_the_same_verdicts(tmp_path, sample_inbox):
    shutil.copyfile(WCCYR, sample_inbox / SAMPLE_NIGHT / "logistics" / CARRIER / "waybills_0001.xml")
    stamp_arrivals(sample_inbox / SAMPLE_NIGHT, NIGHT)  # the copy arrives on time, as the sample's other files
    run_nights(tmp_path / "home", sample_inbox, [NIGHT])
    assert layouts(tmp_path / "home") == {"2015WCCYR"}
    # the contract-layout sample night's verdicts (tests/integration/test_pipeline.py::test_sample_night_end_to_end)
    assert statuses(tmp_path / "home", NIGHT) == {
        "F202611200001": ("clean", ""),
        "F202611200002": ("blocked", "TRADE_NO_WAYBILL"),
    }


@pytest.mark.slow
def test_simulated_nights_in_either_layout_give_the_same_verdicts(tmp_path):
    days = [START + dt.timedelta(days=n) for n in range(NIGHTS)]
    homes = {}
    for name, carriers in (("contract", frozenset()), ("wccyr", frozenset({"*"}))):
        sim = tmp_path / f"sim-{name}"
        simulate(sim, seed=11, nights=NIGHTS, start=START, trades_per_night=80, anomalies=False,
                 tuning=Tuning(per_kind=1, wccyr_carriers=carriers))
        homes[name] = tmp_path / f"home-{name}"
        run_nights(homes[name], sim / "inbox", days)
    assert layouts(homes["contract"]) == {"contract"} and layouts(homes["wccyr"]) == {"2015WCCYR"}
    for day in days:
        contract = statuses(homes["contract"], day)
        assert len(contract) > 20 and "clean" in {v for v, _ in contract.values()}
        assert statuses(homes["wccyr"], day) == contract


def test_the_simulator_delivers_one_carriers_waybills_in_2015wccyr(tmp_path):
    from typer.testing import CliRunner

    from integration.cli import app
    from tests.connectors.test_layouts import parse_more

    probe = simulate(tmp_path / "probe", seed=3, nights=1, start=START, trades_per_night=30)
    carriers = sorted(p.name for p in (tmp_path / "probe" / "inbox" / START.isoformat() / "logistics").iterdir())
    chosen = carriers[0]  # a carrier with waybills tonight
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "sim"), "--seed", "3", "--nights", "1",
                                      "--start", START.isoformat(), "--trades", "30", "--wccyr-carrier", chosen])
    assert result.exit_code == 0, result.output
    night = tmp_path / "sim" / "inbox" / START.isoformat()
    seen: dict[str, set[str]] = {}
    for path in sorted((night / "logistics").rglob("*.xml")):
        rel = path.relative_to(night).as_posix()
        sink = parse_more(path, rel)
        assert sink.quarantined == [], rel
        seen.setdefault(path.parent.name, set()).update(r["layout"] for r in sink.table("waybills"))
    assert seen[chosen] == {"2015WCCYR"}
    assert {c: v for c, v in seen.items() if c != chosen} == {c: {"contract"} for c in seen if c != chosen}
    assert probe.totals["waybills"] > 0


@pytest.mark.slow
def test_every_planted_anomaly_is_found_when_most_carriers_send_2015wccyr(tmp_path):
    from integration.scoring import read_labels, score
    from reconciliation.catalogue import BY_ID

    simulate(tmp_path / "probe", seed=20261121, nights=1, start=START, trades_per_night=10, anomalies=False)
    world = json.loads((tmp_path / "probe" / "world.json").read_text(encoding="utf-8"))
    carriers = sorted(k["uscc"] for k in world["carriers"])
    sim = tmp_path / "sim"
    simulate(sim, seed=20261121, nights=NIGHTS, start=START, trades_per_night=120,
             tuning=Tuning(wccyr_carriers=frozenset(carriers[1:])))
    days = [START + dt.timedelta(days=n) for n in range(NIGHTS)]
    run_nights(tmp_path / "home", sim / "inbox", days)
    assert layouts(tmp_path / "home") == {"contract", "2015WCCYR"}
    with Warehouse(tmp_path / "home" / "warehouse.duckdb") as wh:
        result = score(wh.con, read_labels(sim / "labels.csv"), set(BY_ID))
    assert result.planted > 0 and result.missed == []
    assert result.lookalikes_blocked == {} and result.unlabelled_blocked == {}
