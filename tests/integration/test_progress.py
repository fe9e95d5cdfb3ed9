"""Progress of long stages: one interface, shown as a live bar by the CLI and as lines in Dagster's event log."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
from typer.testing import CliRunner

from integration import cli
from integration.home import init_home
from integration.instance import instance_for
from integration.progress import DagsterRenderer, Stage, rendered_by, stage
from integration.runner import failure_messages, run_night
from integration.summary import NightSummary
from reconciliation.catalogue import CHECKS
from tests.conftest import SAMPLE_NIGHT

NIGHT = dt.date(2026, 11, 18)


def _fake_night(day: dt.date, **_: object) -> SimpleNamespace:
    """What a night's run does to progress, without the night: one stage advancing to its total."""
    with stage("typed_tables", total=21, unit="files") as files:
        for _ in range(21):
            files.advance()
    return SimpleNamespace(success=True)


def test_scf_run_renders_a_stage_as_a_progress_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_home(tmp_path / "home")
    (tmp_path / "inbox" / NIGHT.isoformat()).mkdir(parents=True)
    monkeypatch.setattr(cli, "run_night", _fake_night)
    monkeypatch.setattr(cli, "night_summary", lambda con, day: NightSummary(day, {}, 0, 0, {}, {}))

    out = CliRunner().invoke(cli.app, ["run", "--all", "--home", str(tmp_path / "home"),
                                       "--inbox", str(tmp_path / "inbox")], terminal_width=160)

    assert out.exit_code == 0, out.output
    bar = next(line for line in out.output.splitlines() if line.startswith("typed_tables"))
    assert "21/21" in bar and "files" in bar


def test_a_stage_without_a_renderer_only_counts() -> None:
    with stage("quiet", total=2, unit="things") as quiet:
        quiet.advance(2)
    assert quiet.done == 2 and quiet.line().startswith("quiet: 2/2 things (100%")


def test_stages_land_in_dagsters_event_log_and_metadata() -> None:
    @dg.asset
    def slow(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        with rendered_by(DagsterRenderer(context.log, every=0.0)) as shown:
            with stage("slow", total=3, unit="entries") as entries:
                for _ in range(3):
                    entries.advance()
            return dg.MaterializeResult(metadata=shown.metadata("slow"))

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([slow], instance=instance)
        messages = [e.user_message for e in instance.all_logs(result.run_id)]
        materialized = result.asset_materializations_for_node("slow")[0]

    assert "progress slow: 0/3 entries (0%" in next(m for m in messages if m.endswith("started"))
    assert any(m.startswith("progress slow: 2/3 entries (67%") for m in messages)
    assert "progress slow: 3/3 entries (100%" in next(m for m in messages if m.endswith("done"))
    assert materialized.metadata["progress.entries"].value == 3


def test_a_renderer_stops_seeing_stages_once_its_block_ends() -> None:
    seen: list[str] = []

    class Recorder:
        def started(self, s: Stage) -> None:
            seen.append(f"start {s.name}")

        def advanced(self, s: Stage) -> None:
            seen.append(f"{s.name} {s.done}")

        def finished(self, s: Stage) -> None:
            seen.append(f"end {s.name}")

    with rendered_by(Recorder()), stage("inside", total=1) as inside:
        inside.advance()
    with stage("outside") as outside:
        outside.advance()
    assert seen == ["start inside", "inside 1", "end inside"]


def test_the_nights_long_stages_report_progress_to_dagster(tmp_path: Path, sample_inbox: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    result = run_night(dt.date.fromisoformat(SAMPLE_NIGHT), home=home, inbox=sample_inbox)
    assert result.success, failure_messages(result)
    metadata = {m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
                for m in result.asset_materializations_for_node("night")}
    with instance_for(home) as instance:
        lines = [e.user_message for e in instance.all_logs(result.run_id) if e.user_message.startswith("progress ")]

    typed = metadata["typed_tables"]
    assert typed["progress.rows"] == typed["records"] and typed["progress.files"] >= 1
    ledger = metadata["voucher_ledger"]
    assert ledger["progress.entries"] == ledger["appended"] >= 1 and ledger["progress.verified"] >= ledger["appended"]
    assert metadata["findings"]["progress.checks"] == len(CHECKS)
    assert metadata["nightly_reports"]["progress.files"] == len(metadata["nightly_reports"]["files"])
    assert metadata["landed_files"]["progress.files"] == metadata["landed_files"]["files"]
    for step in ("landed_files", "typed_tables", "voucher_ledger", "findings", "nightly_reports"):
        assert any(line.startswith(f"progress {step}: ") and line.endswith(" done") for line in lines), step

    verified = CliRunner().invoke(cli.app, ["ledger", "verify", "--home", str(home)], terminal_width=160)
    assert verified.exit_code == 0, verified.output
    tree_size = metadata["voucher_ledger"]["tree_size"]
    bar = next(line for line in verified.output.splitlines() if line.startswith("ledger verify"))
    assert f"{tree_size}/{tree_size}" in bar and "entries" in bar
