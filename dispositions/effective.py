"""Each night's worklist state of every finding, folded from the dispositions trail.

The night copies new trail lines into the warehouse table ``disposition_log`` (after
checking that every line it copied before is still in the file: a truncated or re-chained
trail stops the night), then :func:`store_night_dispositions` writes ``finding_dispositions``
for the night: one row per finding with its status (:class:`~dispositions.actions.Status`),
assignee, waiver and age in nights.  Only actions recorded after an earlier night was the
latest run count (``after < night``), so a re-run of a night gives the same rows.  A waiver
counts (status ``waived``) only when approved by a second user and the finding's evidence
tonight is the evidence it was waived on; otherwise the finding is ``reopened``.  A finding's age
(the nights it was found on) comes from ``finding_ages``, kept night by night (:func:`keep_ages`).  The
verdicts read the ``waived`` rows of this table and nothing else of the worklist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from dispositions.actions import Action, ActionRecord, DispositionError, Status
from dispositions.trail import Trail, TrailCorrupt, read_trail, trail_path
from warehouse.registry import create_table, insert_rows
from warehouse.results import DISPOSITION_LOG, FINDING_AGES, FINDING_DISPOSITIONS, NIGHT_ACTED

#: Evidence keys that only stamp the night a finding was judged on (the checks' "data until"
#: dates): left out of the evidence a waiver is compared on, or every waiver would reopen.
NIGHT_STAMP_KEYS: tuple[str, ...] = ("data_until", "tax_data_until")


def evidence_fingerprint_sql(column: str = "evidence") -> str:
    """SQL: the SHA-256 hex of a finding's evidence JSON without its :data:`NIGHT_STAMP_KEYS`."""
    removed = "{" + ",".join(f'"{key}":null' for key in NIGHT_STAMP_KEYS) + "}"
    return f"sha256(json_merge_patch(coalesce({column}, '{{}}'), '{removed}'))"


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> Any:
    """The first column of the first row of a query (``None`` without a row)."""
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``disposition_log`` and ``finding_dispositions`` if missing."""
    create_table(con, DISPOSITION_LOG)
    create_table(con, FINDING_DISPOSITIONS)


@dataclass(frozen=True)
class FindingState:
    """A finding's worklist state from the actions on it, before tonight's evidence is compared."""

    acknowledged: bool = False
    assignee: str | None = None
    waived_by: str | None = None  # the maker of the current waiver
    approved_by: str | None = None  # its checker, once approved
    reason_code: str | None = None
    comment: str | None = None
    evidence_sha256: str | None = None  # what the waiver was made on
    confirmed: bool = False
    last: ActionRecord | None = None

    def status(self, evidence_sha256: str | None, first_night: bool) -> Status:
        """The status against tonight's evidence."""
        if self.confirmed:
            return Status.CONFIRMED
        if self.approved_by is not None:
            return Status.WAIVED if evidence_sha256 == self.evidence_sha256 else Status.REOPENED
        if self.waived_by is not None:
            return Status.WAIVER_PENDING
        if self.assignee is not None:
            return Status.ASSIGNED
        if self.acknowledged:
            return Status.ACKNOWLEDGED
        return Status.NEW if first_night else Status.OPEN


def apply(state: FindingState, record: ActionRecord) -> FindingState:
    """The state after one more action; raises :class:`DispositionError` for an action that
    does not fit (an approval or rejection without a pending waiver, or by its maker)."""
    action = record.action
    if action in (Action.APPROVE, Action.REJECT):
        if state.waived_by is None or state.approved_by is not None:
            raise DispositionError(f"{record.finding_id} has no waiver waiting for approval")
        if record.user == state.waived_by:
            raise DispositionError(f"{record.user} waived {record.finding_id}: a second user must {action.value} it")
    state = replace(state, last=record)
    if action is Action.ACKNOWLEDGE:
        return replace(state, acknowledged=True)
    if action is Action.ASSIGN:
        return replace(state, assignee=record.assignee)
    if action is Action.WAIVE:
        return replace(state, waived_by=record.user, approved_by=None, reason_code=record.reason_code.value
                       if record.reason_code else None, comment=record.comment,
                       evidence_sha256=record.evidence_sha256, confirmed=False)
    if action is Action.APPROVE:
        return replace(state, approved_by=record.user)
    if action is Action.REJECT:
        return replace(state, waived_by=None, reason_code=None, evidence_sha256=None, comment=record.comment)
    return replace(state, confirmed=True, waived_by=None, approved_by=None, reason_code=None,
                   evidence_sha256=None, comment=record.comment)  # CONFIRM


def fold(records: Iterable[ActionRecord]) -> dict[str, FindingState]:
    """Every finding's state after the actions, in trail order."""
    states: dict[str, FindingState] = {}
    for record in records:
        states[record.finding_id] = apply(states.get(record.finding_id, FindingState()), record)
    return states


def trail_problem(con: duckdb.DuckDBPyConnection, trail: Trail) -> str | None:
    """The first line the warehouse copied that the trail no longer holds as it was, if any."""
    if not scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'disposition_log'"):
        return None
    copied = con.execute("SELECT seq, head FROM disposition_log ORDER BY seq").fetchall()
    if len(copied) > len(trail.lines):
        return (f"the dispositions trail has {len(trail.lines)} lines but the warehouse copied "
                f"{len(copied)}: lines were removed")
    for seq, head in copied:
        if trail.heads[seq].hex() != head:
            return f"the dispositions trail's line {seq} is not the line the warehouse copied: it was rewritten"
    return None


def sync_trail(con: duckdb.DuckDBPyConnection, home: Path) -> Trail:
    """Verify ``<home>``'s trail (chain, and against the warehouse's copy) and copy its new lines.

    Raises :class:`~dispositions.trail.TrailCorrupt` naming the problem: the night stops."""
    ensure_tables(con)
    path = trail_path(home)
    trail = read_trail(path)
    problem = trail_problem(con, trail)
    if problem is not None:
        raise TrailCorrupt(f"{path}: {problem} (restore it from backup, then run `scf verify`)")
    start = scalar(con, "SELECT count(*) FROM disposition_log")
    insert_rows(con, DISPOSITION_LOG, [
        DISPOSITION_LOG.Row(seq=seq, line=line.decode("utf-8"), head=trail.heads[seq].hex(), night=r.night, after_night=r.after,
                            finding_id=r.finding_id, action=r.action.value, user=r.user, assignee=r.assignee,
                            reason_code=r.reason_code.value if r.reason_code else None, comment=r.comment,
                            evidence_sha256=r.evidence_sha256, recorded_at=r.at)
        for seq, (r, line) in enumerate(zip(trail.records, trail.lines, strict=True), 1) if seq > start
    ])  # fmt: skip
    return trail


def _logged(con: duckdb.DuckDBPyConnection, before: dt.date) -> list[ActionRecord]:
    rows = con.execute(
        'SELECT recorded_at, night, after_night, finding_id, action, "user", assignee, reason_code, comment, '
        "evidence_sha256 FROM disposition_log WHERE after_night < ? ORDER BY seq", [before]).fetchall()
    keys = ("at", "night", "after", "finding_id", "action", "user", "assignee", "reason_code", "comment",
            "evidence_sha256")
    return [ActionRecord.from_fields({k: (v.isoformat() if isinstance(v, dt.date) else v)
                                      for k, v in zip(keys, row, strict=True)}) for row in rows]


def keep_ages(con: duckdb.DuckDBPyConnection, night: dt.date) -> str:
    """Bring ``finding_ages`` to ``night`` (whose findings are stored): on top of the kept ages when
    they stop at an earlier night and no findings are stored between (only tonight's findings read),
    else counted from every night up to ``night`` (a re-run, a gap, a first night: the definition).
    Returns how (``incremental`` or ``full``)."""
    create_table(con, FINDING_AGES)
    last = scalar(con, f"SELECT max(last_night) FROM {FINDING_AGES.name}")
    tonight = "SELECT finding_id, count(*)::INTEGER AS n FROM findings WHERE business_date = $1 GROUP BY finding_id"
    if last is not None and last < night and not scalar(
            con, "SELECT count(*) FROM findings WHERE business_date > $1 AND business_date < $2", [last, night]):
        con.execute(f"UPDATE {FINDING_AGES.name} a SET age_nights = a.age_nights + t.n, last_night = $1 FROM ({tonight}) t "
                    "WHERE a.finding_id = t.finding_id", [night])
        con.execute(f"INSERT INTO {FINDING_AGES.name} BY NAME SELECT finding_id, n AS age_nights, $1 AS last_night "
                    f"FROM ({tonight}) WHERE finding_id NOT IN (SELECT finding_id FROM {FINDING_AGES.name})", [night])
        return "incremental"
    con.execute(f"DELETE FROM {FINDING_AGES.name}")
    con.execute(f"INSERT INTO {FINDING_AGES.name} BY NAME SELECT finding_id, count(*)::INTEGER AS age_nights, "
                "max(business_date) AS last_night FROM findings WHERE business_date <= $1 GROUP BY finding_id", [night])
    return "full"


def store_night_dispositions(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> None:
    """Replace the night's ``finding_dispositions``: one row per finding of the night's
    ``findings`` (which must be stored first)."""
    ensure_tables(con)
    try:
        states = fold(_logged(con, business_date))
    except DispositionError as error:  # the trail itself was checked when recorded: this is tampering
        raise TrailCorrupt(f"dispositions trail: {error} (the warehouse copy was altered)") from error
    evidence = dict(con.execute(
        f"SELECT finding_id, {evidence_fingerprint_sql()} FROM findings WHERE business_date = ? AND finding_id IN "
        "(SELECT unnest(?::VARCHAR[]))", [business_date, list(states)]).fetchall()) if states else {}
    acted = [
        NIGHT_ACTED.Row(finding_id=fid, status=s.status(evidence[fid], False).value, assignee=s.assignee,
                        reason_code=s.reason_code, comment=s.comment, waived_by=s.waived_by, approved_by=s.approved_by,
                        last_action=s.last.action.value if s.last else None, last_user=s.last.user if s.last else None,
                        last_at=s.last.at if s.last else None)
        for fid, s in states.items() if fid in evidence
    ]
    create_table(con, NIGHT_ACTED)
    insert_rows(con, NIGHT_ACTED, acted)
    con.execute("DELETE FROM finding_dispositions WHERE business_date = ?", [business_date])
    keep_ages(con, business_date)
    con.execute(
        f"""INSERT INTO finding_dispositions BY NAME
        WITH ages AS (SELECT finding_id, age_nights FROM {FINDING_AGES.name} WHERE last_night = $1)
        SELECT $1 AS business_date, f.finding_id,
               coalesce(a.status, CASE WHEN f.first_seen_date = $1 THEN '{Status.NEW.value}'
                                       ELSE '{Status.OPEN.value}' END) AS status,
               g.age_nights, a.assignee, a.reason_code, a.comment, a.waived_by, a.approved_by, a.last_action,
               a.last_user, a.last_at
        FROM findings f JOIN ages g USING (finding_id) LEFT JOIN {NIGHT_ACTED.name} a USING (finding_id)
        WHERE f.business_date = $1""",
        [business_date],
    )


def waived_sql(business_date_param: str = "$1") -> str:
    """SQL selecting the ``finding_id`` of the night's findings whose waiver counts (the one
    place a disposition touches a verdict)."""
    return (f"SELECT finding_id FROM finding_dispositions WHERE business_date = {business_date_param} "
            f"AND status = '{Status.WAIVED.value}'")
