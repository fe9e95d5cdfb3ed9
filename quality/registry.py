"""The source registry: which sources a night should hold, and what is wrong with tonight's.

A *source* is one delivery stream of INPUTS.md: an ERP file of one core enterprise
(``erp/<uscc>/po_items.csv``), a carrier's waybills (``logistics/<uscc>/*.xml``), the tax
invoices (``tax/*.xml``), the tax status feed, the bills, the platform's two CSVs.
A night is expected to hold

* the *configured* sources (check parameter ``dq_required_sources``, ``;``-separated ids);
* the *learned* ones: delivered on more than half of the trailing 20 nights (at least
  ``dq_learned_min_nights`` of history).

Tonight's problems, one :class:`SourceIssue` per source and kind, are stored in the
warehouse table ``dq_source_issues`` and become ``DQ_*`` findings
(``reconciliation/sql/DQ_SOURCE.sql``): a source missing, empty, its CSV header changed
(schema drift), a quarantine rate above ``dq_quarantine_max_percent`` (judged from
``dq_quarantine_min_records`` records up), a volume below
``dq_volume_min_percent`` % of its trailing median (for sources whose median reaches
``dq_volume_min_median`` rows: below, nightly volumes vary too much to judge).  Whether an issue *blocks* the night's
reports (a required source missing, schema drift, quarantine above the threshold) is
decided here too.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from connectors.kinds import classify
from connectors.parsers.csvread import header_names
from foundation.errors import ScfError
from foundation.vocabulary import FileStatus, QuarantineReason
from warehouse.registry import create_table, insert_rows
from warehouse.results import DQ_SOURCE_ISSUES

TRAILING_NIGHTS = 20
"""How many earlier nights (with deliveries) the registry learns from."""

_DRIFT_REASONS = (QuarantineReason.MISSING_COLUMN, QuarantineReason.DUPLICATE_COLUMN)


NO_DELIVERY_SOURCE = "*"
"""The source named by the issues and results of a night without any delivered file: every source."""


class NoDeliveryError(ScfError):
    """A night has no delivered file at all: nothing to reconcile is not a success."""


def source_of(rel_path: str) -> str | None:
    """The source id of a delivered path, or None for a path outside the input contract."""
    kind = classify(rel_path)
    return None if kind is None else kind.source_of(rel_path)


@dataclass(frozen=True)
class SourceIssue:
    """One problem of one source tonight."""

    check_id: str
    source: str
    blocking: bool
    detail: str
    evidence: dict[str, object]


@dataclass
class SourceNight:
    """What one source delivered on one night."""

    files: int = 0
    rows: int = 0
    quarantined: int = 0
    duplicates: int = 0
    csv_files: list[tuple[str, str]] = field(default_factory=list)  # (rel_path, sha256)


@dataclass
class Registry:
    """Tonight's sources against the expected ones."""

    business_date: dt.date
    history: list[dt.date]
    tonight: dict[str, SourceNight]
    past: dict[dt.date, dict[str, SourceNight]]
    required: set[str]
    learned: set[str]

    @property
    def expected(self) -> set[str]:
        """Every source the night should hold."""
        return self.required | self.learned

    def trailing_rows(self, source: str) -> list[int]:
        """The rows the source delivered on each trailing night it delivered new bytes."""
        return [n[source].rows for n in self.past.values() if source in n and not n[source].duplicates]


def _by_source(rows: list[tuple]) -> dict[dt.date, dict[str, SourceNight]]:
    nights: dict[dt.date, dict[str, SourceNight]] = defaultdict(dict)
    for day, rel_path, sha256, status, n_rows, quarantined in rows:
        kind = classify(rel_path)
        if kind is None:
            continue
        source = kind.source_of(rel_path)
        s = nights[day].setdefault(source, SourceNight())
        s.files += 1
        s.rows += n_rows or 0
        s.quarantined += quarantined or 0
        s.duplicates += status == FileStatus.DUPLICATE
        if kind.header_drift:  # a CSV source: its header is compared night to night
            s.csv_files.append((rel_path, sha256))
    return nights


def load_registry(con: duckdb.DuckDBPyConnection, business_date: dt.date, params: Mapping[str, int | str]) -> Registry:
    """Read tonight's and the trailing nights' deliveries from the warehouse's ``files`` table."""
    history = [
        d for (d,) in con.execute(
            "SELECT DISTINCT business_date FROM files WHERE business_date < ? ORDER BY 1 DESC LIMIT ?",
            [business_date, TRAILING_NIGHTS],
        ).fetchall()
    ]
    rows = con.execute(  # the range first: zone maps skip the nights before the trailing ones
        "SELECT business_date, rel_path, sha256, status, rows, quarantined FROM files "
        "WHERE business_date BETWEEN ? AND ? AND (business_date = ? OR list_contains(?, business_date)) "
        "ORDER BY business_date, rel_path",
        [min([business_date, *history]), business_date, business_date, history],
    ).fetchall()
    nights = _by_source(rows)
    past = {d: nights.get(d, {}) for d in history}
    required = {s.strip() for s in str(params["dq_required_sources"]).split(";") if s.strip()}
    learned: set[str] = set()
    if len(history) >= int(params["dq_learned_min_nights"]):
        seen: dict[str, int] = defaultdict(int)
        for night in past.values():
            for source in night:
                seen[source] += 1
        learned = {s for s, n in seen.items() if 2 * n > len(history)}
    return Registry(business_date, history, nights.get(business_date, {}), past, required, learned)


def csv_header(path: Path) -> list[str]:
    """The column names of a delivered CSV's header line (UTF-8 with or without BOM, else GB18030;
    only the first line is read)."""
    with path.open("rb") as f:
        raw = f.readline().rstrip(b"\r\n")
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        line = raw.decode("gb18030", errors="replace")
    return header_names(line)[1]


def _previous_csv(registry: Registry, source: str) -> tuple[str, str] | None:
    for day in registry.history:  # most recent first
        night = registry.past[day].get(source)
        if night and night.csv_files:
            return night.csv_files[-1]
    return None


def source_issues(
    con: duckdb.DuckDBPyConnection, registry: Registry, objects: Path, params: Mapping[str, int | str]
) -> list[SourceIssue]:
    """Tonight's problems, source by source (``objects``: the archive's object folder)."""
    day = registry.business_date
    if not registry.tonight and not con.execute("SELECT 1 FROM files WHERE business_date = ? LIMIT 1", [day]).fetchone():
        raise NoDeliveryError(
            f"no file was delivered for business date {day}: the inbox folder {day} is empty or absent; "
            "check the delivery (or the --inbox / [source] setting) and run the night again"
        )
    issues: list[SourceIssue] = []
    for source in sorted(registry.expected - set(registry.tonight)):
        required = source in registry.required
        delivered = sum(source in n for n in registry.past.values())
        issues.append(SourceIssue(
            "DQ_SOURCE_MISSING", source, required,
            f"Source {source} delivered nothing for {day}"
            + (" although the configuration requires it." if required else
               f" although it delivered on {delivered} of the last {len(registry.history)} nights."),
            {"required": required, "nights_delivered": delivered, "nights": len(registry.history)},
        ))
    file_rejections = _file_rejections(con, day)
    for source, night in sorted(registry.tonight.items()):
        issues += _night_issues(registry, source, night, file_rejections, objects, params)
    return issues


def no_delivery_issues(registry: Registry) -> list[SourceIssue]:
    """The issues of a night without any delivered file: each expected source missing (or, with
    none expected yet, every source), all blocking — the night stops before its reports."""
    day = registry.business_date
    return [
        SourceIssue("DQ_SOURCE_MISSING", source, True,
                    f"Source {source} delivered nothing for {day}: no file at all was delivered for the night.",
                    {"required": source in registry.required, "no_delivery": True})
        for source in sorted(registry.expected) or [NO_DELIVERY_SOURCE]
    ]


def _file_rejections(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, tuple[str, str]]:
    rows = con.execute(
        "SELECT src_path, reason_code, reason FROM quarantine WHERE business_date = ? AND src_pos IS NULL",
        [day],
    ).fetchall()
    return {path: (code, reason) for path, code, reason in rows}


def _night_issues(
    registry: Registry,
    source: str,
    night: SourceNight,
    rejections: dict[str, tuple[str, str]],
    objects: Path,
    params: Mapping[str, int | str],
) -> list[SourceIssue]:
    issues: list[SourceIssue] = []
    day = registry.business_date
    codes = {p: rejections[p] for p, _ in night.csv_files if p in rejections}
    empty = night.duplicates == 0 and night.rows == 0 and (
        night.quarantined == 0 or any(c == QuarantineReason.EMPTY_FILE for c, _ in codes.values()))
    if empty:
        issues.append(SourceIssue("DQ_SOURCE_EMPTY", source, False,
                                  f"Source {source} delivered {night.files} file(s) for {day} holding no record.",
                                  {"files": night.files}))
    drift = _drift(registry, source, night, codes, objects)
    if drift:
        what = f"Source {source} changed its columns for {day}: {drift['what']}."
        issues.append(SourceIssue("DQ_SCHEMA_DRIFT", source, True, what, drift))
    total = night.rows + night.quarantined
    max_percent = int(params["dq_quarantine_max_percent"])
    refused = night.rows == 0 and night.quarantined > 0  # nothing of the source could be loaded
    judged = total >= int(params["dq_quarantine_min_records"])  # a rate over a few records means little
    if judged and not (refused and drift) and night.quarantined and night.quarantined * 100 > max_percent * total:
        share = night.quarantined / total
        issues.append(SourceIssue(
            "DQ_QUARANTINE_RATE", source, True,
            f"Source {source} had {night.quarantined} of {total} records quarantined for {day} "
            f"({share:.1%}, above the {max_percent}% allowed).",
            {"quarantined": night.quarantined, "records": total, "max_percent": max_percent},
        ))
    trailing = registry.trailing_rows(source)
    # a refused source is reported as drift or quarantine, re-delivered bytes hold no new rows
    if len(trailing) >= int(params["dq_learned_min_nights"]) and not (empty or refused or night.duplicates):
        median = statistics.median(trailing)
        min_percent = int(params["dq_volume_min_percent"])
        if median >= int(params["dq_volume_min_median"]) and night.rows * 100 < min_percent * median:
            issues.append(SourceIssue(
                "DQ_VOLUME_DROP", source, False,
                f"Source {source} delivered {night.rows} rows for {day}, against a median of {median:g} "
                f"over its last {len(trailing)} deliveries.",
                {"rows": night.rows, "trailing_median": median, "trailing_nights": len(trailing), "min_percent": min_percent},
            ))
    return issues


def _drift(
    registry: Registry, source: str, night: SourceNight, codes: dict[str, tuple[str, str]], objects: Path
) -> dict[str, object] | None:
    """Schema drift of a CSV source: a header the parser refused, or other columns than last time."""
    refused = {p: reason for p, (code, reason) in codes.items() if code in _DRIFT_REASONS}
    if refused:
        path, reason = sorted(refused.items())[0]
        return {"what": reason, "file": path}
    previous = _previous_csv(registry, source)
    if previous is None or not night.csv_files:
        return None
    rel_path, sha = night.csv_files[-1]
    before, now = (csv_header(objects / s[:2] / s) for s in (previous[1], sha))
    if before == now:
        return None
    added, removed = sorted(set(now) - set(before)), sorted(set(before) - set(now))
    what = "; ".join(filter(None, [
        f"new column(s) {', '.join(added)}" if added else "",
        f"column(s) no longer delivered {', '.join(removed)}" if removed else "",
        "columns reordered" if not added and not removed else "",
    ]))
    return {"what": what, "file": rel_path, "added": added, "removed": removed}


def store_source_issues(con: duckdb.DuckDBPyConnection, business_date: dt.date, issues: list[SourceIssue]) -> None:
    """Replace the night's rows of ``dq_source_issues``."""
    create_table(con, DQ_SOURCE_ISSUES)
    con.execute("DELETE FROM dq_source_issues WHERE business_date = ?", [business_date])
    insert_rows(con, DQ_SOURCE_ISSUES, [
        DQ_SOURCE_ISSUES.Row(business_date=business_date, check_id=i.check_id, source=i.source, blocking=i.blocking,
                             detail=i.detail, evidence=json.dumps(i.evidence, default=str))
        for i in issues])  # fmt: skip
