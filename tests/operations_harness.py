"""Play a simulator ``schedule.json`` (:mod:`simulator.operations`) through the real nightly
job on a real engine home, and compare each night's reports with the in-order run's.

A *deliver* step copies a piece over ``<inbox>/<night>/``; a *run* step writes the step's
settings to ``<home>/scf.toml`` and runs the night as an operator does, ``scf run --date``
(the real job through :mod:`integration.runner`; exit 0 = the night ran).
Reports are compared on the columns OUTPUTS.md lists (``first_seen_date`` and
``verdict_since`` are history: a late source legitimately moves them).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from integration.cli import app
from integration.home import init_home
from simulator.operations import ANY, HELD, IN_ORDER, PENDING, Schedule, Step

FINDING_COLUMNS = ("finding_id", "business_date", "check_id", "category", "severity", "financing_id", "voucher_id",
                   "invoice_no", "bill_ref", "waybill_no", "detail", "evidence")
PENDING_PREFIX = "Evidence pending since"


@dataclass(frozen=True)
class NightReport:
    """A night's ``findings.csv`` and ``financing_status.csv``, on the contract's columns."""

    findings: tuple[tuple[str, ...], ...]
    verdicts: dict[str, tuple[str, str]]  # financing_id → (verdict, check_ids)
    pending: frozenset[str]  # financings with an evidence-pending finding

    @classmethod
    def read(cls, home: Path, night: str) -> NightReport:
        """Read the reports the home holds for ``night``."""
        folder = home / "reports" / night
        with (folder / "findings.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with (folder / "financing_status.csv").open(encoding="utf-8", newline="") as handle:
            verdicts = {r["financing_id"]: (r["verdict"], r["check_ids"]) for r in csv.DictReader(handle)}
        return cls(tuple(sorted(tuple(r[c] for c in FINDING_COLUMNS) for r in rows)), verdicts,
                   frozenset(r["financing_id"] for r in rows if r["financing_id"] and is_pending(r)))


def is_pending(finding: dict[str, str]) -> bool:
    """Whether a finding reports evidence that has not arrived yet (INTERFACES.md)."""
    try:
        evidence = json.loads(finding["evidence"] or "{}")
    except json.JSONDecodeError:
        evidence = {}
    return finding["detail"].startswith(PENDING_PREFIX) or (isinstance(evidence, dict) and evidence.get("pending") is True)


@dataclass
class RunOutcome:
    """What one run step gave."""

    step: Step
    ok: bool
    messages: list[str] = field(default_factory=list)
    report: NightReport | None = None


def settings_toml(settings: dict[str, object]) -> str:
    """``scf.toml`` text of a schedule's named settings (only ``[csv]`` overrides are used)."""
    lines: list[str] = []
    for prefix, opts in dict(settings.get("csv", {})).items():  # type: ignore[call-overload]
        lines.append(f'[csv."{prefix}"]')
        lines.extend(f'{key} = "{value}"' for key, value in opts.items())
    return "\n".join(lines) + "\n"


def play(out: Path, schedule: Schedule, steps: Sequence[Step], home: Path, inbox: Path, *,
         full: bool = False) -> list[RunOutcome]:
    """Execute ``steps`` (pieces under the simulation's ``out`` dir) on ``home`` (initialised
    first, as ``scf init`` does) and ``inbox``; ``full``: every night ``scf run --full``."""
    init_home(home)  # as `scf init`: creates only what the home lacks
    outcomes: list[RunOutcome] = []
    for step in steps:
        if step.op == "deliver":
            shutil.copytree(out / step.piece, inbox / step.night, dirs_exist_ok=True)
            continue
        (home / "scf.toml").write_text(settings_toml(schedule.settings[step.settings]), "utf-8")
        result = CliRunner().invoke(app, ["run", "--date", step.night, "--home", str(home), "--inbox", str(inbox),
                                          *(["--full"] if full else [])])
        ok = result.exit_code == 0
        messages = [] if ok else [*result.output.strip().splitlines()[-3:], repr(result.exception)]
        outcomes.append(RunOutcome(step, ok, messages, NightReport.read(home, step.night) if ok else None))
    return outcomes


def reference(out: Path, schedule: Schedule, root: Path) -> dict[str, NightReport]:
    """Each night's reports in the in-order history (every night delivered complete, run once)."""
    outcomes = play(out, schedule, schedule.in_order_steps(), root / "home", root / "inbox")
    bad = [o for o in outcomes if not o.ok]
    assert not bad, f"the in-order run failed: {bad[0].messages}"
    return {o.step.night: o.report for o in outcomes if o.report is not None}


def differences(outcome: RunOutcome, expected: NightReport, limit: int = 5) -> list[str]:
    """How a run step's reports break what the step expects (empty: as expected)."""
    step = outcome.step
    if step.expect == ANY:
        return []
    where = f"{step.night} ({step.settings})"
    if step.expect == HELD:
        held = not outcome.ok and any("held by data quality" in m for m in outcome.messages)
        return [] if held else [f"{where}: reports not held by data quality: {outcome.messages}"]
    if not outcome.ok or outcome.report is None:
        return [f"{where}: run failed: {outcome.messages}"]
    got = outcome.report
    problems: list[str] = []
    if step.expect == IN_ORDER and got.findings != expected.findings:
        extra = sorted(set(got.findings) - set(expected.findings))[:limit]
        missing = sorted(set(expected.findings) - set(got.findings))[:limit]
        problems.append(f"{where}: findings differ from the in-order run: extra {extra}, missing {missing}")
    for financing in sorted(set(got.verdicts) | set(expected.verdicts)):
        mine, theirs = got.verdicts.get(financing), expected.verdicts.get(financing)
        if mine == theirs:
            continue
        if step.expect == PENDING and mine is not None and theirs is not None and (
                mine[0] == theirs[0] or (mine[0] == "review" and financing in got.pending)):
            continue  # while evidence is pending, the checks that fire may differ, not the verdict (or review)
        problems.append(f"{where}: {financing} is {mine}, in order {theirs}")
    return problems[: limit + 1]


def check_outcomes(outcomes: Sequence[RunOutcome], ref: dict[str, NightReport]) -> list[str]:
    """Every run step's :func:`differences` from the in-order reports."""
    return [d for o in outcomes for d in differences(o, ref[o.step.night])]


def ledger_verifies(home: Path) -> tuple[bool, str]:
    """Run ``scf ledger verify`` on the home: (passed, output)."""
    result = CliRunner().invoke(app, ["ledger", "verify", "--home", str(home)])
    return result.exit_code == 0, result.output
