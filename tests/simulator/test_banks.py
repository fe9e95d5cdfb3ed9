"""The simulator's bank count (``Tuning.banks``): N partner banks on the platform, every one
booking financings in the one ``platform/financings.csv``, cross-bank duplicates planted at
two of them and found by the engine; the default stays the catalogue's seven."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integration.cli import app
from integration.home import init_home
from integration.runner import failure_messages, run_night
from integration.scoring import read_labels, score
from reconciliation.catalogue import BY_ID
from simulator import Tuning, simulate
from simulator.catalog import BANKS, partner_banks
from warehouse.connection import Warehouse

START = dt.date(2026, 11, 18)
CROSS_BANK = ("DUP_INVOICE_MULTI_FINANCED", "DUP_VOUCHER_MULTI_FINANCED")


def _bank_codes(out: Path) -> dict[str, str]:
    """financing_id → bank_code over every night's financings.csv."""
    codes: dict[str, str] = {}
    for path in sorted((out / "inbox").glob("*/platform/financings.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            codes.update((row["financing_id"], row["bank_code"]) for row in csv.DictReader(f))
    return codes


def _world_banks(out: Path) -> list[str]:
    return [b["cnaps"] for b in json.loads((out / "world.json").read_text(encoding="utf-8"))["banks"]]


def test_partner_banks_extend_the_catalogue_with_distinct_twelve_digit_codes():
    assert partner_banks() == BANKS
    assert partner_banks(3) == BANKS[:3]
    many = partner_banks(400)
    codes = [b.cnaps for b in many]
    assert many[: len(BANKS)] == BANKS
    assert len(set(codes)) == 400 and all(len(c) == 12 and c.isdigit() for c in codes)
    with pytest.raises(ValueError, match="at least 3"):
        partner_banks(2)


def test_the_default_platform_has_the_catalogues_seven_banks(tmp_path):
    simulate(tmp_path, seed=5, nights=1, trades_per_night=60)
    assert _world_banks(tmp_path) == [b.cnaps for b in BANKS]


def test_scf_simulate_takes_the_bank_count_and_refuses_too_few(tmp_path):
    done = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "four"), "--nights", "1", "--trades", "30", "--banks", "4"])
    assert done.exit_code == 0, done.output
    assert _world_banks(tmp_path / "four") == [b.cnaps for b in BANKS[:4]]
    refused = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "two"), "--nights", "1", "--banks", "2"])
    assert refused.exit_code == 2 and "at least 3 partner banks" in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)


def test_financings_are_booked_at_the_n_banks_and_cross_bank_duplicates_span_two(tmp_path):
    simulate(tmp_path, seed=5, nights=2, trades_per_night=600, tuning=Tuning(banks=12, per_kind=2))
    banks = _world_banks(tmp_path)
    assert len(banks) == 12 and banks[:7] == [b.cnaps for b in BANKS]
    codes = _bank_codes(tmp_path)
    used = set(codes.values())
    assert used <= set(banks)
    assert len(used - {b.cnaps for b in BANKS}) >= 3, "the banks beyond the catalogue book financings too"
    pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for label in read_labels(tmp_path / "labels.csv"):
        if label["label"] == "anomaly" and label["check_id"] in CROSS_BANK and label["financing_id"]:
            pairs[label["check_id"], label["note"]].add(codes[label["financing_id"]])
    assert {check for check, _ in pairs} == set(CROSS_BANK)
    assert all(len(at) == 2 for at in pairs.values()), "each planted duplicate is financed at two different banks"


def test_a_platform_of_three_banks_is_judged_right(tmp_path):
    """Two nights of three banks through the nightly job: every planted anomaly found (the
    cross-bank duplicates among them), no look-alike and no unlabelled financing blocked."""
    simulate(tmp_path / "sim", seed=20261130, nights=2, start=START, trades_per_night=80, tuning=Tuning(banks=3, per_kind=1))
    init_home(tmp_path / "home")
    for offset in range(2):
        result = run_night(START + dt.timedelta(days=offset), home=tmp_path / "home", inbox=tmp_path / "sim" / "inbox")
        assert result.success, failure_messages(result)
    labels = read_labels(tmp_path / "sim" / "labels.csv")
    with Warehouse(tmp_path / "home" / "warehouse.duckdb") as wh:
        found = score(wh.con, labels, set(BY_ID))
        banks = {row[0] for row in wh.con.execute("SELECT DISTINCT bank_code FROM financings").fetchall()}
    assert banks == {b.cnaps for b in BANKS[:3]}
    assert {lab["check_id"] for lab in labels if lab["label"] == "anomaly"} >= set(CROSS_BANK)
    assert found.missed == []
    assert found.lookalikes_blocked == {} and found.unlabelled_blocked == {}
