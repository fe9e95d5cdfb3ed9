"""The same nights give byte-identical reports, release after release (issue 14).

Three simulated nights (every anomaly and look-alike kind once a night) run through the
nightly job; each night's contract reports must equal, byte for byte, the files the release
before the code-structure refactor wrote for the same deliveries
(``tests/fixtures/golden_reports/``).  A change to a report's bytes is a change to what the
bank's teams receive: make it on purpose, regenerate with ``SCF_REGENERATE_GOLDEN=1`` and
let the diff be reviewed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from integration.home import init_home
from integration.runner import failure_messages, run_night
from simulator import Tuning, simulate
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "fixtures" / "golden_reports"
REPORTS = ("findings.csv", "financing_status.csv", "findings_excel.csv", "financing_status_excel.csv")
SEED = 20261130
START = dt.date(2026, 11, 18)
NIGHTS = 3


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A home that ran the three simulated nights in order."""
    root = tmp_path_factory.mktemp("golden")
    simulate(root / "sim", seed=SEED, nights=NIGHTS, start=START, trades_per_night=40, tuning=Tuning(per_kind=1))
    init_home(root / "home")
    for offset in range(NIGHTS):
        result = run_night(START + dt.timedelta(days=offset), home=root / "home", inbox=root / "sim" / "inbox")
        assert result.success, failure_messages(result)
    return root / "home"


@pytest.mark.parametrize("night", [(START + dt.timedelta(days=n)).isoformat() for n in range(NIGHTS)])
@pytest.mark.parametrize("report", REPORTS)
def test_reports_are_byte_identical_to_the_golden_release(home: Path, night: str, report: str) -> None:
    written = home / "reports" / night / report
    golden = GOLDEN / night / report
    if os.environ.get("SCF_REGENERATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(written, golden)
    assert written.read_bytes() == golden.read_bytes(), f"{night}/{report} differs from {golden}"
