"""The catalogue against the simulator's planted truth, on a seed the checks are not tuned to.

Every planted anomaly of a kind the catalogue checks is found on the financing (or
voucher) it was planted on, by the night its last piece arrived; no planted look-alike,
and no financing the simulator did not label, is ever blocked.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from connectors.warehouse import Warehouse
from integration.runner import failure_messages, run_night
from reconciliation.catalogue import BY_ID
from simulator import simulate

SEED = 20261121  # not a seed anything was tuned on
START = dt.date(2026, 11, 18)
NIGHTS = 3


@pytest.fixture(scope="module")
def simulated_history(tmp_path_factory) -> tuple[Path, list[dict[str, str]]]:
    """Three simulated nights run through the nightly job; (engine home, labels)."""
    root = tmp_path_factory.mktemp("recall")
    simulate(root / "sim", seed=SEED, nights=NIGHTS, start=START, trades_per_night=120)
    for offset in range(NIGHTS):
        result = run_night(START + dt.timedelta(days=offset), home=root / "home", inbox=root / "sim" / "inbox")
        assert result.success, failure_messages(result)
    with (root / "sim" / "labels.csv").open(encoding="utf-8", newline="") as handle:
        return root / "home", list(csv.DictReader(handle))


def _findings(home: Path) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return wh.con.execute("SELECT business_date, check_id, financing_id, voucher_id FROM findings").fetchall()


def _blocked(home: Path) -> dict[str, dict[dt.date, str]]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        rows = wh.con.execute(
            "SELECT financing_id, business_date, check_ids FROM financing_verdicts WHERE verdict = 'blocked'"
        ).fetchall()
    blocked: dict[str, dict[dt.date, str]] = {}
    for financing_id, day, check_ids in rows:
        blocked.setdefault(financing_id, {})[day] = check_ids
    return blocked


def test_every_planted_anomaly_is_found_by_its_night(simulated_history):
    home, labels = simulated_history
    found = _findings(home)
    planted = [lab for lab in labels if lab["label"] == "anomaly" and lab["check_id"] in BY_ID]
    assert {lab["check_id"] for lab in planted} >= {
        "DUP_INVOICE_MULTI_FINANCED", "INVOICE_FINANCED_BEYOND_VALUE", "DUP_VOUCHER_MULTI_FINANCED",
        "DUP_BILL_RANGE_MULTI_FINANCED", "INVOICE_NOT_IN_TAX_DATA", "INVOICE_RED_FLUSHED",
        "INVOICE_STATUS_ABNORMAL",
    }, "the simulator plants every kind of the first checks"
    assert {lab["check_id"] for lab in labels if lab["label"] == "anomaly"} <= set(BY_ID), (
        "every kind the simulator plants is a check of the catalogue")
    missed = []
    for lab in planted:
        night = dt.date.fromisoformat(lab["business_date"])
        hit = any(
            check_id == lab["check_id"] and day == night
            and (financing_id == lab["financing_id"] if lab["financing_id"] else voucher_id == lab["voucher_id"])
            for day, check_id, financing_id, voucher_id in found
        )
        if not hit:
            missed.append(lab)
    assert missed == []


def test_no_lookalike_and_no_unlabelled_financing_is_blocked(simulated_history):
    home, labels = simulated_history
    blocked = _blocked(home)
    lookalikes = {lab["financing_id"] for lab in labels if lab["label"] == "lookalike" and lab["financing_id"]}
    assert lookalikes, "the simulator plants look-alikes"
    assert {f: blocked[f] for f in lookalikes if f in blocked} == {}
    anomalous = {lab["financing_id"] for lab in labels if lab["label"] == "anomaly"}
    assert {f: v for f, v in blocked.items() if f not in anomalous} == {}
