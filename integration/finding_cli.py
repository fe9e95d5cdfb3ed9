"""``scf finding …``: the worklist from the command line (act on findings, load a workbook, list)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import typer
from rich.console import Console

from dispositions.actions import Action, DispositionError, ReasonCode, Request, Status
from dispositions.effective import scalar
from dispositions.record import record_actions
from dispositions.trail import read_trail, trail_path
from integration.settings import load_settings

finding_app = typer.Typer(no_args_is_help=True)
console = Console()
HomeOption = typer.Option(None, "--home", help="Engine home. Default: $SCF_HOME or ./home.")
UserOption = typer.Option(..., "--user", help="Who acts (a named user: recorded in the audit trail).")
NightOption = typer.Option(None, "--night", help="The night whose report you act on (default: the latest run).")
CommentOption = typer.Option(None, "--comment", help="A comment kept in the trail.")


def _night(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise typer.BadParameter(f"not a date YYYY-MM-DD: {text}") from None


def _act(home: Path | None, night: str | None, requests: list[Request]) -> None:
    records = record_actions(load_settings(home).home, requests, night=_night(night))
    for r in records:
        console.print(f"{r.finding_id}: {r.action.value} by {r.user} recorded (night {r.night}; counts from the "
                      f"night after {r.after})", markup=False, soft_wrap=True)


@finding_app.command("ack")
def ack(finding_ids: list[str], user: str = UserOption, comment: str = CommentOption, night: str = NightOption,
        home: Path = HomeOption) -> None:
    """Acknowledge findings: seen, being worked on."""
    _act(home, night, [Request(f, Action.ACKNOWLEDGE, user, comment=comment) for f in finding_ids])


@finding_app.command("assign")
def assign(finding_ids: list[str], to: str = typer.Option(..., "--to", help="The user it is given to."),
           user: str = UserOption, night: str = NightOption, home: Path = HomeOption) -> None:
    """Assign findings to a user."""
    _act(home, night, [Request(f, Action.ASSIGN, user, assignee=to) for f in finding_ids])


@finding_app.command("waive")
def waive(finding_ids: list[str], reason: ReasonCode = typer.Option(..., "--reason", help="Why it is a false positive."),
          comment: str = typer.Option(..., "--comment", help="What was checked (kept in the trail)."),
          user: str = UserOption, night: str = NightOption, home: Path = HomeOption) -> None:
    """Waive findings as false positives; a second user must approve before a verdict changes."""
    _act(home, night, [Request(f, Action.WAIVE, user, reason_code=reason, comment=comment) for f in finding_ids])


@finding_app.command("approve")
def approve(finding_ids: list[str], user: str = UserOption, comment: str = CommentOption, night: str = NightOption,
            home: Path = HomeOption) -> None:
    """Approve pending waivers (the checker: not the user who waived)."""
    _act(home, night, [Request(f, Action.APPROVE, user, comment=comment) for f in finding_ids])


@finding_app.command("reject")
def reject(finding_ids: list[str], user: str = UserOption, comment: str = CommentOption, night: str = NightOption,
           home: Path = HomeOption) -> None:
    """Reject pending waivers: the findings are open again."""
    _act(home, night, [Request(f, Action.REJECT, user, comment=comment) for f in finding_ids])


@finding_app.command("confirm")
def confirm(finding_ids: list[str], user: str = UserOption, comment: str = CommentOption, night: str = NightOption,
            home: Path = HomeOption) -> None:
    """Confirm (escalate) findings: a real problem."""
    _act(home, night, [Request(f, Action.CONFIRM, user, comment=comment) for f in finding_ids])


@finding_app.command("load")
def load(workbook: Path, user: str = UserOption, home: Path = HomeOption) -> None:
    """Load the actions filled in the ``action`` column of an ``exceptions.xlsx`` (all or none)."""
    from worklist.workbook import read_requests

    night, requests = read_requests(workbook, user)
    if not requests:
        raise DispositionError(f"{workbook}: no action filled in")
    _act(home, night.isoformat(), requests)


@finding_app.command("list")
def list_(status: list[Status] = typer.Option([], "--status", help="Only these statuses (repeatable)."),
          night: str = NightOption, home: Path = HomeOption) -> None:
    """The night's findings with their worklist status, age in nights and assignee."""
    settings = load_settings(home)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        day = _night(night) or scalar(con, "SELECT max(business_date) FROM finding_dispositions")
        rows = con.execute(
            "SELECT d.finding_id, f.severity, f.check_id, coalesce(f.financing_id, ''), d.status, d.age_nights, "
            "coalesce(d.assignee, '') FROM finding_dispositions d JOIN findings f USING (business_date, finding_id) "
            "WHERE d.business_date = ? AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], d.status)) "
            "ORDER BY d.age_nights DESC, d.finding_id",
            [day, [s.value for s in status], [s.value for s in status]]).fetchall()
    finally:
        con.close()
    layout = "{:<24}  {:<8}  {:<34}  {:<20}  {:<14}  {:>5}  {}"  # plain lines: ids whole, easy to copy
    console.print(f"Findings of night {day}", markup=False)
    console.print(layout.format("finding", "severity", "check", "financing", "status", "age", "assignee"),
                  markup=False, soft_wrap=True)
    for row in rows:
        console.print(layout.format(*map(str, row)), markup=False, soft_wrap=True)


@finding_app.command("history")
def history(finding_id: str, home: Path = HomeOption) -> None:
    """Every action on a finding, from the verified trail."""
    for r in read_trail(trail_path(load_settings(home).home)).records:
        if r.finding_id == finding_id:
            extra = " ".join(f"{k}={v}" for k, v in (("to", r.assignee), ("reason", r.reason_code and r.reason_code.value),
                                                     ("comment", r.comment)) if v)
            console.print(f"{r.at} night {r.night}: {r.action.value} by {r.user} {extra}".rstrip(), markup=False)
