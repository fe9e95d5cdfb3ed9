"""The data-quality checks of the source registry (:mod:`quality.registry`).

The nightly ``data_quality`` asset records tonight's source problems in ``dq_source_issues``;
these checks turn them into ``data_quality`` findings, one per check and night listing every
source concerned.  They share one query, ``sql/DQ_SOURCE.sql``.  A problem that keeps the
night's reports from being published as final (a required source missing, schema drift,
quarantine above the threshold) is ``high``; the others are ``medium``.
"""

from __future__ import annotations

from reconciliation.check import REQUIRED_SOURCES, Category, Check, Severity

_WINDOW = {"dq_learned_min_nights": 3}


def _dq(check_id: str, severity: Severity, title: str, rule: str, params: dict[str, int | str]) -> Check:
    return Check(check_id, Category.DATA_QUALITY, severity, title, rule, params, query="DQ_SOURCE")


SOURCE_CHECKS: tuple[Check, ...] = (
    _dq("DQ_SOURCE_MISSING", Severity.MEDIUM, "Expected source missing",
        "A source the night should hold delivered nothing: one the configuration requires "
        "(dq_required_sources, ';'-separated source ids such as platform/financings.csv — high, and "
        "the night's reports are not published as final) or one that delivered on more than half of the "
        "trailing 20 nights, with at least dq_learned_min_nights of history (medium).",
        {**REQUIRED_SOURCES, **_WINDOW}),
    _dq("DQ_SOURCE_LATE", Severity.MEDIUM, "Source delivered late",
        "A source's file for the night arrived (its modification time at the source) after the night's cut-off, "
        "[nightly] cutoff (Asia/Shanghai) on the next day, when the scheduled night runs with what has arrived. "
        "While it is the source's last delivery, a document not found that it would hold is pending.", {}),
    _dq("DQ_SOURCE_EMPTY", Severity.MEDIUM, "Source delivered no record",
        "A source delivered files holding no record (an empty file or a header alone). While it is the "
        "source's last delivery, a document not found that it would hold is pending.", {}),
    _dq("DQ_SCHEMA_DRIFT", Severity.HIGH, "Source changed its columns",
        "A CSV source's header lacks a required column (a renamed or dropped column: the file is refused) or "
        "differs from its previous delivery (new, dropped or reordered columns). The night's reports are not "
        "published as final.", {}),
    _dq("DQ_QUARANTINE_RATE", Severity.HIGH, "Too many records quarantined",
        "A source's quarantine records exceed dq_quarantine_max_percent % of its records "
        "(loaded rows plus quarantined ones; a refused file counts as one), judged for sources of at least "
        "dq_quarantine_min_records records. The night's reports are not "
        "published as final.", {"dq_quarantine_max_percent": 10, "dq_quarantine_min_records": 50}),
    _dq("DQ_VOLUME_DROP", Severity.MEDIUM, "Volume collapse",
        "A source delivered fewer rows than dq_volume_min_percent % of the median of its "
        "trailing deliveries of new bytes (at least dq_learned_min_nights of them, with a median of at least "
        "dq_volume_min_median rows: smaller sources vary too much from night to night to judge).",
        {"dq_volume_min_percent": 50, "dq_volume_min_median": 100, **_WINDOW}),
)
