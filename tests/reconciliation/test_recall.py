"""The catalogue against the simulator's planted truth, on a seed the checks are not tuned to.

Every planted anomaly is found on the financing (or voucher) it was planted on, by the
night its last piece arrived; no planted look-alike, and no financing the simulator did
not label, is ever blocked.
"""

from __future__ import annotations

import datetime as dt

import pytest

from integration.home import init_home
from integration.runner import failure_messages, run_night
from integration.scoring import Score, read_labels, score
from reconciliation.catalogue import BY_ID
from simulator import simulate
from warehouse.connection import Warehouse

SEED = 20261121  # not a seed anything was tuned on
START = dt.date(2026, 11, 18)
NIGHTS = 3
FIRST_CHECK_KINDS = {
    "DUP_INVOICE_MULTI_FINANCED", "INVOICE_FINANCED_BEYOND_VALUE", "DUP_VOUCHER_MULTI_FINANCED",
    "DUP_BILL_RANGE_MULTI_FINANCED", "INVOICE_NOT_IN_TAX_DATA", "INVOICE_RED_FLUSHED", "INVOICE_STATUS_ABNORMAL",
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> tuple[Score, list[dict[str, str]]]:
    """Three simulated nights run through the nightly job, scored against their labels."""
    root = tmp_path_factory.mktemp("recall")
    simulate(root / "sim", seed=SEED, nights=NIGHTS, start=START, trades_per_night=120)
    init_home(root / "home")
    for offset in range(NIGHTS):
        result = run_night(START + dt.timedelta(days=offset), home=root / "home", inbox=root / "sim" / "inbox")
        assert result.success, failure_messages(result)
    labels = read_labels(root / "sim" / "labels.csv")
    with Warehouse(root / "home" / "warehouse.duckdb") as wh:
        return score(wh.con, labels, set(BY_ID)), labels


def test_every_planted_anomaly_is_found_by_its_night(scored):
    result, labels = scored
    planted_kinds = {lab["check_id"] for lab in labels if lab["label"] == "anomaly"}
    assert planted_kinds >= FIRST_CHECK_KINDS, "the simulator plants every kind of the first checks"
    assert result.unknown_kinds == set(), "every kind the simulator plants is a check of the catalogue"
    assert result.planted >= len(planted_kinds)
    assert result.missed == []


def test_no_lookalike_and_no_unlabelled_financing_is_blocked(scored):
    result, _ = scored
    assert result.lookalikes > 0, "the simulator plants look-alikes"
    assert result.lookalikes_blocked == {}
    assert result.unlabelled_blocked == {}
