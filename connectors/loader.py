"""Load one night from the archive into the warehouse: parse every file, quarantine the bad.

The whole night is one transaction: the night's old rows are deleted and the new ones
inserted together, so a reader never sees half a night.  Inside it, each file is parsed
on its own: a file the parser rejects as a whole (corrupt XML, missing header) has its
rows removed again and leaves one file-level quarantine record; a record that breaks the
format leaves a record-level quarantine record and the rest of the file is kept.  Any
unexpected parser error is treated like a rejected file, so one file never stops a night.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from connectors.kinds import classify
from connectors.parsers import FileRejected, ParseContext, parse_file
from connectors.schemas import SCHEMAS
from connectors.warehouse import FILES_SCHEMA, Warehouse, rows_to_table
from quality.quarantine import QuarantineLog

log = logging.getLogger(__name__)

CsvOverride = Callable[[str], tuple[str | None, str | None]]
"""Given a file's path relative to the night folder: (encoding, delimiter) overrides."""


class LandedFileLike(Protocol):
    """What the loader needs of an archived file (see :class:`connectors.archive.LandedFile`)."""

    @property
    def rel_path(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def superseded(self) -> tuple[str, ...]: ...
    @property
    def object_path(self) -> Path: ...


@dataclass
class FileOutcome:
    """What became of one delivered file tonight."""

    rel_path: str
    sha256: str
    kind: str | None
    status: str  # loaded, rejected, duplicate, unknown_kind
    table_rows: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0

    @property
    def rows(self) -> int:
        """Rows this file put into the warehouse."""
        return sum(self.table_rows.values())


@dataclass
class NightLoad:
    """The result of loading a night: per file, per table, and the quarantine count."""

    business_date: dt.date
    files: list[FileOutcome] = field(default_factory=list)
    rows_by_table: Counter[str] = field(default_factory=Counter)

    @property
    def quarantined(self) -> int:
        """Quarantine records written tonight (records and whole files)."""
        return sum(f.quarantined for f in self.files)

    @property
    def records(self) -> int:
        """Rows loaded into the warehouse tonight."""
        return sum(self.rows_by_table.values())


class _WarehouseSink:
    """The parsers' :class:`~connectors.parsers.Sink`, writing straight into the warehouse."""

    def __init__(self, warehouse: Warehouse, quarantine: QuarantineLog) -> None:
        self._warehouse = warehouse
        self._quarantine = quarantine
        self.counts: Counter[str] = Counter()

    def rows(self, table: str, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._warehouse.append(table, batch)
            self.counts[table] += batch.num_rows

    def quarantine(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        self._quarantine.add(src_pos, reason_code, reason, raw)


def load_night(
    warehouse: Warehouse,
    business_date: dt.date,
    landed: Iterable[LandedFileLike],
    *,
    csv_override: CsvOverride | None = None,
) -> NightLoad:
    """Replace the warehouse's rows of ``business_date`` by the parse of the landed files."""
    result = NightLoad(business_date)
    with warehouse.transaction():
        warehouse.clear_night(business_date)
        for landed_file in sorted(landed, key=lambda f: f.rel_path):
            outcome = _load_file(warehouse, business_date, landed_file, csv_override)
            result.files.append(outcome)
        _register_files(warehouse, business_date, landed, result.files)
    for outcome in result.files:
        result.rows_by_table.update(outcome.table_rows)
    return result


def _load_file(
    warehouse: Warehouse,
    business_date: dt.date,
    landed: LandedFileLike,
    csv_override: CsvOverride | None,
) -> FileOutcome:
    kind = classify(landed.rel_path)
    outcome = FileOutcome(landed.rel_path, landed.sha256, kind.value if kind else None, "loaded")
    quarantine = QuarantineLog(business_date, landed.rel_path, landed.sha256, outcome.kind)
    if landed.status == "duplicate":
        outcome.status = "duplicate"
        return outcome
    if kind is None:
        outcome.status = "unknown_kind"
        quarantine.add(None, "UNKNOWN_FILE", f"{landed.rel_path} is not a file kind of the input contract", None)
    else:
        encoding, delimiter = csv_override(landed.rel_path) if csv_override else (None, None)
        ctx = ParseContext(business_date, landed.rel_path, landed.sha256, kind, encoding, delimiter)
        sink = _WarehouseSink(warehouse, quarantine)
        try:
            parse_file(landed.object_path, ctx, sink)
            outcome.table_rows = dict(sink.counts)
        except FileRejected as rejected:
            _forget_file(warehouse, business_date, landed.sha256)
            quarantine.replace_by_file_record(rejected.src_pos, rejected.reason_code, rejected.reason)
            outcome.status = "rejected"
        except Exception as error:  # a parser bug must not stop the night: quarantine the file
            log.exception("parser failed on %s", landed.rel_path)
            _forget_file(warehouse, business_date, landed.sha256)
            quarantine.replace_by_file_record(None, "PARSER_ERROR", f"{type(error).__name__}: {error}")
            outcome.status = "rejected"
    outcome.quarantined = len(quarantine.records)
    if quarantine.records:
        warehouse.append("quarantine", quarantine.table())
    return outcome


def _forget_file(warehouse: Warehouse, business_date: dt.date, sha256: str) -> None:
    """Remove the rows a rejected file had written before the parser gave up."""
    for table in SCHEMAS:
        warehouse.con.execute(
            f"DELETE FROM {table} WHERE business_date = ? AND src_sha256 = ?", [business_date, sha256]
        )


def _register_files(
    warehouse: Warehouse,
    business_date: dt.date,
    landed: Iterable[LandedFileLike],
    outcomes: list[FileOutcome],
) -> None:
    by_path = {f.rel_path: f for f in landed}
    rows = [
        (
            business_date,
            o.rel_path,
            o.sha256,
            by_path[o.rel_path].size,
            o.kind,
            o.status,
            o.rows,
            o.quarantined,
            ";".join(by_path[o.rel_path].superseded) or None,
        )
        for o in outcomes
    ]
    warehouse.append("files", rows_to_table(rows, FILES_SCHEMA))
