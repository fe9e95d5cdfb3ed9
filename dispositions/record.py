"""Record clerks' actions: check them against the warehouse and the trail, then append them.

An action names a finding of a night's report (default: the latest night run); a waiver
keeps the fingerprint of the finding's evidence on that night
(:func:`~dispositions.effective.evidence_fingerprint_sql`), so a change reopens it.  Every
action is checked in trail order with :func:`dispositions.effective.apply` before anything is
written (all of a batch, or none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from dispositions.actions import Action, ActionRecord, DispositionError, Request
from dispositions.effective import FindingState, apply, evidence_fingerprint_sql, fold, scalar
from dispositions.trail import Trail, append_records, trail_path


def _nights(warehouse: Path, night: dt.date | None) -> tuple[dt.date, dt.date]:
    """(the night acted on, the latest night run)."""
    if not warehouse.exists():
        raise DispositionError(f"no warehouse at {warehouse}: run a night first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        latest = scalar(con, "SELECT max(business_date) FROM findings")
    except duckdb.CatalogException:
        latest = None
    finally:
        con.close()
    if latest is None:
        raise DispositionError("no night has findings yet: nothing to act on")
    return (night or latest), latest


def _evidence(warehouse: Path, night: dt.date, finding_ids: Sequence[str]) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            f"SELECT finding_id, {evidence_fingerprint_sql()} FROM findings WHERE business_date = ? "
            "AND finding_id IN (SELECT unnest(?::VARCHAR[]))", [night, list(finding_ids)]).fetchall()
    finally:
        con.close()
    return dict(rows)


def record_actions(home: Path, requests: Sequence[Request], *, night: dt.date | None = None,
                   now: dt.datetime | None = None) -> list[ActionRecord]:
    """Check and append ``requests`` (all or none) to ``<home>``'s trail; return the records.

    Raises :class:`~dispositions.actions.DispositionError` naming the first request that does not
    fit: a finding not in the night's report, a waiver without reason or comment, an approval
    by the waiver's maker or without a waiver pending."""
    warehouse = home / "warehouse.duckdb"
    seen, latest = _nights(warehouse, night)
    evidence = _evidence(warehouse, seen, [r.finding_id for r in requests])
    at = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    records = []
    for request in requests:
        if request.finding_id not in evidence:
            raise DispositionError(f"{request.finding_id} is not a finding of night {seen}")
        records.append(ActionRecord.of(
            request, at=at, night=seen, after=latest,
            evidence_sha256=evidence[request.finding_id] if request.action is Action.WAIVE else None))

    def checked(trail: Trail) -> list[ActionRecord]:
        states = fold(trail.records)
        for record in records:
            states[record.finding_id] = apply(states.get(record.finding_id, FindingState()), record)
        return records

    return append_records(trail_path(home), checked)
