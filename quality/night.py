"""The data-quality stage of a night: source registry, GX suites, Data Docs, scorecard.

:func:`run_data_quality` is what the nightly ``data_quality`` asset does; the asset checks
read what it stored (``dq_source_issues``, ``dq_results``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from quality.registry import NoDeliveryError, SourceIssue, load_registry, no_delivery_issues, source_issues, store_source_issues
from quality.scorecard import write_scorecard
from quality.timeliness import ArrivedFile, late_sources, timeliness_results
from quality.validate import NightValidation, no_delivery_result, store_results, validate_night


@dataclass(frozen=True)
class QualityNight:
    """What the data-quality stage found and wrote for one night."""

    business_date: dt.date
    issues: list[SourceIssue]
    validation: NightValidation
    reports: list[Path]

    @property
    def blocking(self) -> list[SourceIssue]:
        """The issues that keep the night's reports from being published as final."""
        return [i for i in self.issues if i.blocking]


def run_data_quality(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    *,
    home: Path,
    objects: Path,
    params: Mapping[str, int | str],
    files: Iterable[ArrivedFile] = (),
    deadline: dt.datetime | None = None,
) -> QualityNight:
    """Check tonight's sources and validate tonight's tables; store the results, write the reports.

    ``params`` are the resolved check parameters (defaults overridden by configuration);
    ``objects`` is the archive's object folder (CSV headers are read from it); ``files`` the
    night's landed files, judged for timeliness against ``deadline`` (None: not judged).
    Raises :class:`quality.registry.NoDeliveryError` for a night without any delivered file,
    after storing its failed completeness (blocking issues, a ``dq_results`` row) and its scorecard.
    """
    registry = load_registry(con, day, params)
    reports = home / "reports" / day.isoformat()
    try:
        issues = source_issues(con, registry, objects, params)
    except NoDeliveryError:
        store_source_issues(con, day, no_delivery_issues(registry))
        store_results(con, day, [no_delivery_result(day)])
        write_scorecard(con, day, reports)
        raise
    files = list(files)
    if deadline is not None:
        issues += late_sources(files, day, deadline)
    store_source_issues(con, day, issues)
    validation = validate_night(
        con, day, reports, more_results=timeliness_results(files, day, deadline) if deadline is not None else [],
        history=registry.history if len(registry.history) >= int(params["dq_learned_min_nights"]) else [],
        volume_min_percent=int(params["dq_volume_min_percent"]),
        volume_min_median=int(params["dq_volume_min_median"]),
    )
    paths = write_scorecard(con, day, reports)
    return QualityNight(day, issues, validation, [validation.data_docs, *paths])
