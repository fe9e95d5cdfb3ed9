"""Malformed financings.csv rows (issue 9 §4) through the real nightly job: the financing
named by a row that cannot be read as delivered gets a verdict every night and is never
``clean``; the asset it names still counts against the other financings of it; the same
identifier written with a full-width character is the same identifier."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from integration.home import init_home
from integration.runner import failure_messages, run_night
from integration.scoring import read_labels, score
from reconciliation.catalogue import BY_ID
from simulator import Tuning, simulate
from simulator.malformed import full_width_first
from warehouse.connection import Warehouse

SEED = 20261130
START = dt.date(2026, 11, 18)
NIGHTS = 2


@pytest.fixture(scope="module")
def malformed_run(tmp_path_factory) -> tuple[Path, list[dict[str, str]]]:
    """Two nights with malformed rows planted, run in order; the labels of the malformed kinds."""
    root = tmp_path_factory.mktemp("malformed")
    simulate(root / "sim", seed=SEED, nights=NIGHTS, start=START, trades_per_night=20,
             tuning=Tuning(per_kind=1, plant_malformed_rows=True))
    init_home(root / "home")
    for offset in range(NIGHTS):
        result = run_night(START + dt.timedelta(days=offset), home=root / "home", inbox=root / "sim" / "inbox")
        assert result.success, failure_messages(result)
    labels = [lab for lab in read_labels(root / "sim" / "labels.csv")
              if any(k in lab["note"] for k in ("fullwidth_", "nineteen_digit_"))]
    return root, labels


def verdicts(home: Path, night: str) -> dict[str, str]:
    with (home / "reports" / night / "financing_status.csv").open(encoding="utf-8", newline="") as handle:
        return {r["financing_id"]: r["verdict"] for r in csv.DictReader(handle)}


def of_kind(labels: list[dict[str, str]], kind: str) -> list[dict[str, str]]:
    return [lab for lab in labels if lab["note"].startswith(f"kind={kind}")]


def test_full_width_characters_are_planted_in_asset_refs(malformed_run):
    root, labels = malformed_run
    rows = [r for night in sorted((root / "sim" / "inbox").iterdir())
            for r in csv.DictReader((night / "platform" / "financings.csv").open(encoding="utf-8", newline=""))]
    widened = {r["financing_id"]: r["asset_ref"] for r in rows if not r["asset_ref"].isascii()}
    planted = {lab["financing_id"] for lab in labels if lab["note"].startswith(("kind=fullwidth_asset_ref_only",))}
    assert planted and planted <= set(widened)
    assert full_width_first("V3f9a") == "V３f9a" and full_width_first("Vabc") == "Vａbc"


def test_unreadable_row_has_a_verdict_every_night_and_its_twin_is_caught(malformed_run):
    root, labels = malformed_run
    planted = of_kind(labels, "nineteen_digit_invoice_twin")
    assert planted
    _assert_labels_hold(root, planted)


def test_full_width_asset_ref_is_the_same_voucher(malformed_run):
    root, labels = malformed_run
    planted = of_kind(labels, "fullwidth_asset_ref_twin") + of_kind(labels, "fullwidth_asset_ref_only")
    assert planted
    _assert_labels_hold(root, planted)


def _assert_labels_hold(root: Path, planted: list[dict[str, str]]) -> None:
    """Every labelled anomaly found by its night, every labelled financing judged every night
    from its row's night on (anomalies never clean, look-alikes never blocked)."""
    with Warehouse(root / "home" / "warehouse.duckdb") as wh:
        result = score(wh.con, planted, set(BY_ID))
    assert result.unknown_kinds == set()
    assert result.missed == []
    assert result.lookalikes_blocked == {}
    nights = [(START + dt.timedelta(days=i)).isoformat() for i in range(NIGHTS)]
    for lab in planted:
        for night in (n for n in nights if n >= lab["business_date"]):
            verdict = verdicts(root / "home", night).get(lab["financing_id"])
            assert verdict is not None, f"{lab['financing_id']} has no verdict on {night}"
            assert verdict != ("clean" if lab["label"] == "anomaly" else "blocked"), (lab["financing_id"], night)
