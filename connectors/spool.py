"""Parse one delivered file into Arrow IPC spool files: the unit of work of parallel ingest.

The loader hands each file to :func:`parse_to_spool` (small files several at a time:
:func:`parse_files_to_spool`), in a worker process when the night is large.  The worker streams
the parser's record batches into one Arrow IPC file per table and returns what it wrote, with
the file's quarantine records; a table of a few rows (a file of one invoice or waybill, most of a
night's files) is returned as it is, without a file.  A file the parser rejects leaves no spool
file behind.  The loader then inserts the spool files into the
warehouse in a fixed order, so the result never depends on which worker finished first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from connectors.kinds import parse_file
from connectors.parsers import FileRejected, ParseContext
from foundation.errors import ScfError

log = logging.getLogger(__name__)

_PARSING_PACKAGES = ("connectors", "foundation", "warehouse")


def _sources_digest() -> str:
    """A digest of the sources parsing runs, as they are on disk now (the packages a worker imports)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in _PARSING_PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


PARSING_SOURCES = _sources_digest()
"""The parsing code this process runs (read when it imported this module, ~3 ms).  The night's
process hands its own to every worker task; a worker started after the code on disk changed (an
upgrade in place during a run) refuses the task instead of parsing with other code than the night
expects (a changed result shape once loaded a table's rows as none, silently)."""


class ParsingCodeChanged(ScfError):
    """A parse worker runs other code than the night's process: the code on disk changed during the run."""


def _same_sources(night: str) -> None:
    if night != PARSING_SOURCES:
        raise ParsingCodeChanged(
            "the parsing code on disk changed while this night ran (an upgrade during the run?): its parse workers "
            "would run other code than the night; nothing of the night was loaded — re-run it with the new code"
        )


QuarantineEntry = tuple[int | None, str, str, str | None]
"""(src_pos, reason_code, reason, raw) of one refused record or file."""


@dataclass
class SpoolResult:
    """What parsing one file produced (picklable: it crosses the process boundary)."""

    table_files: dict[str, Path] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)
    small_tables: dict[str, pa.Table] = field(default_factory=dict)  # the tables of few rows: no spool file
    quarantine: list[QuarantineEntry] = field(default_factory=list)
    rejected: QuarantineEntry | None = None  # the whole file was refused
    parse_cpu_s: float = 0.0  # CPU seconds its parse took in the parsing process

    @property
    def tables(self) -> list[str]:
        """The tables this file gave rows to."""
        return [*self.small_tables, *self.table_files]

    def read(self, table: str) -> pa.Table:
        """The rows parsed for ``table`` (a spool file's memory-mapped, not copied)."""
        if table in self.small_tables:
            return self.small_tables[table]
        with pa.memory_map(str(self.table_files[table])) as source:
            return pa.ipc.open_file(source).read_all()

    def discard(self) -> None:
        """Delete the spool files."""
        for path in self.table_files.values():
            path.unlink(missing_ok=True)


SPOOL_FROM_ROWS = 4096
"""A table's rows are kept in memory (and cross the process boundary pickled) until there are this many;
then they go to its spool file."""


class _SpoolSink:
    """A parser :class:`~connectors.parsers.Sink` writing one IPC file per table of more than
    :data:`SPOOL_FROM_ROWS` rows, keeping the smaller ones in memory."""

    def __init__(self, spool_dir: Path, result: SpoolResult) -> None:
        self._dir = spool_dir
        self._stem = uuid.uuid4().hex
        self._writers: dict[str, pa.ipc.RecordBatchFileWriter] = {}
        self._held: dict[str, list[pa.RecordBatch]] = {}
        self._result = result

    def rows(self, table: str, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        rows = self._result.table_rows[table] = self._result.table_rows.get(table, 0) + batch.num_rows
        writer = self._writers.get(table)
        if writer is None and rows < SPOOL_FROM_ROWS:
            self._held.setdefault(table, []).append(batch)
            return
        if writer is None:
            path = self._dir / f"{self._stem}-{table}.arrow"
            writer = self._writers[table] = pa.ipc.new_file(str(path), batch.schema)
            self._result.table_files[table] = path
            for held in self._held.pop(table, ()):
                writer.write_batch(held)
        writer.write_batch(batch)

    def quarantine(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        self._result.quarantine.append((src_pos, reason_code, reason, raw))

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        for table, batches in self._held.items():
            self._result.small_tables[table] = pa.Table.from_batches(batches)


def parse_to_spool(path: Path, ctx: ParseContext, spool_dir: Path, night_sources: str = PARSING_SOURCES) -> SpoolResult:
    """Parse ``path`` into spool files under ``spool_dir``; never raises for bad input.

    A file the parser rejects, or one it fails on unexpectedly (a parser bug must not
    stop the night), gives a result with ``rejected`` set and no rows.  ``night_sources`` is the
    night process's :data:`PARSING_SOURCES`: other than this process's raises
    :class:`ParsingCodeChanged` (the night stops).
    """
    _same_sources(night_sources)
    started = time.process_time()
    result = SpoolResult()
    sink = _SpoolSink(spool_dir, result)
    try:
        parse_file(path, dataclasses.replace(ctx, scratch_dir=str(spool_dir)), sink)
    except FileRejected as rejected:
        result.rejected = (rejected.src_pos, rejected.reason_code, rejected.reason, None)
    except Exception as error:
        log.exception("parser failed on %s", ctx.rel_path)
        result.rejected = (None, "PARSER_ERROR", f"{type(error).__name__}: {error}", None)
    finally:
        sink.close()
    if result.rejected is not None:
        result.discard()
        result.table_files.clear()
        result.small_tables.clear()
        result.table_rows.clear()
        result.quarantine.clear()
    result.parse_cpu_s = time.process_time() - started
    return result


@dataclass
class SpoolGroup:
    """The results of several files parsed in one worker task, their in-memory tables gathered: per table, the
    rows of every file in file order in one Arrow table (``tables``) and how many of them each file gave
    (``rows``, by position in ``results``).  A one-row Arrow table costs ~1 ms to pickle and unpickle, mostly its
    schema, and a one-row chunk as much to insert; one table per task crosses the process boundary instead."""

    results: list[SpoolResult]
    tables: dict[str, pa.Table] = field(default_factory=dict)
    rows: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def gather(cls, results: list[SpoolResult]) -> SpoolGroup:
        """Move the in-memory tables of ``results`` into one table per table name (a table whose schema
        differs from the first file's of that name stays with its file)."""
        group = cls(results)
        parts: dict[str, list[pa.Table]] = {}
        for i, result in enumerate(results):
            for table, rows in list(result.small_tables.items()):
                gathered = parts.setdefault(table, [])
                if gathered and not rows.schema.equals(gathered[0].schema, check_metadata=True):
                    continue
                gathered.append(rows)
                group.rows.setdefault(table, []).append((i, rows.num_rows))
                del result.small_tables[table]
        group.tables = {table: pa.concat_tables(tables).combine_chunks() for table, tables in parts.items()}
        return group

    def split(self) -> list[SpoolResult]:
        """The results, each file's rows back in its ``small_tables`` (slices of the gathered tables: no copy)."""
        for table, counts in self.rows.items():
            offset = 0
            for i, rows in counts:
                self.results[i].small_tables[table] = self.tables[table].slice(offset, rows)
                offset += rows
        return self.results


def parse_files_to_spool(files: list[tuple[Path, ParseContext]], spool_dir: Path, night_sources: str = PARSING_SOURCES) -> SpoolGroup:
    """:func:`parse_to_spool` of several files in turn (one worker task for many small files), their
    in-memory tables gathered (:class:`SpoolGroup`); a file's failure is its own, as alone."""
    return SpoolGroup.gather([parse_to_spool(path, ctx, spool_dir, night_sources) for path, ctx in files])
