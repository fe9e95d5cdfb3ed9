"""Timeliness: each delivered file's arrival against its night's cut-off.

A file's *arrival* is the time its source last wrote it (the inbox's or the SFTP server's
modification time), which the archive records with each sighting (``arrived_at``): unlike
the landing time, it does not move when a night is replayed or caught up later.  The files
of business date D are due by the night's cut-off, ``[nightly] cutoff`` (Asia/Shanghai) on
D + 1, when the scheduled night runs with whatever has arrived.  A file that arrived later
(a late delivery, a restatement sent after the night ran) is *late*: one ``DQ_SOURCE_LATE``
issue per source, which warns: the night reconciles what the late source brought, but a
document not found that the source would hold is only *pending* while its last delivery is the
late one (``evidence_pending`` in ``reconciliation/sql/_prelude.sql``), since the night may have
run without it and what a late source sends is not known complete. A file whose source gave no
time is not judged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from quality.registry import SourceIssue, source_of
from warehouse.results import DQ_RESULTS


class ArrivedFile(Protocol):
    """A landed file as the archive describes it (:class:`connectors.archive.LandedFile`)."""

    @property
    def rel_path(self) -> str: ...

    @property
    def arrived_at(self) -> str | None: ...


def arrival_deadline(day: dt.date, cutoff: dt.time, zone: ZoneInfo) -> dt.datetime:
    """When the files of business date ``day`` are due: the cut-off on the next day, in ``zone``."""
    return dt.datetime.combine(day + dt.timedelta(days=1), cutoff, tzinfo=zone)


def _arrivals(files: Iterable[ArrivedFile]) -> dict[str, list[tuple[str, dt.datetime]]]:
    """Each source's files of known arrival: (path, arrival)."""
    arrivals: dict[str, list[tuple[str, dt.datetime]]] = defaultdict(list)
    for f in files:
        source = source_of(f.rel_path)
        if source is not None and f.arrived_at is not None:
            arrivals[source].append((f.rel_path, dt.datetime.fromisoformat(f.arrived_at)))
    return arrivals


def timeliness_results(files: Iterable[ArrivedFile], day: dt.date, deadline: dt.datetime) -> list[Any]:
    """One ``dq_results`` row (dimension timeliness) per source of ``day`` whose arrivals are known:
    the share of its files that arrived by ``deadline``, the late ones as the sample."""
    rows = []
    for source, arrivals in sorted(_arrivals(files).items()):
        late = sorted((p, a) for p, a in arrivals if a > deadline)
        last = max(a for _, a in arrivals).astimezone(deadline.tzinfo)
        sample = [{"value": a.astimezone(deadline.tzinfo).isoformat(timespec="minutes"), "file": p, "pos": None} for p, a in late]
        rows.append(DQ_RESULTS.Row(
            business_date=day, source=source, suite="timeliness",
            expectation=f"expect_files_to_arrive_by_cutoff({deadline.isoformat(timespec='minutes')})",
            dimension="timeliness", success=not late, observed_value=f"last arrival {last.isoformat(timespec='minutes')}",
            element_count=len(arrivals), unexpected_count=len(late), unexpected_share=len(late) / len(arrivals),
            sample=json.dumps(sample) if sample else None))
    return rows


def late_sources(files: Iterable[ArrivedFile], day: dt.date, deadline: dt.datetime) -> list[SourceIssue]:
    """One ``DQ_SOURCE_LATE`` issue per source with a file of ``day`` that arrived after ``deadline``."""
    late = {source: [(p, a) for p, a in arrivals if a > deadline] for source, arrivals in _arrivals(files).items()}
    issues = []
    for source, arrivals in sorted((s, a) for s, a in late.items() if a):
        arrivals.sort()
        last = max(a for _, a in arrivals)
        due = deadline.isoformat(timespec="minutes")
        issues.append(SourceIssue(
            "DQ_SOURCE_LATE", source, False,
            f"Source {source} delivered {len(arrivals)} file(s) for {day} after the night's cut-off {due}: "
            f"the last arrived {last.astimezone(deadline.tzinfo).isoformat(timespec='minutes')}.",
            {"deadline": due, "files": [{"file": p, "arrived_at": a.isoformat()} for p, a in arrivals],
             "late_minutes": int((last - deadline).total_seconds() // 60)},
        ))
    return issues
