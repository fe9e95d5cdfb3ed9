"""Load one night from the archive into the warehouse: parse every file, quarantine the bad.

The whole night is one transaction: the night's old rows are deleted and the new ones
inserted together, so a reader never sees half a night.  Each file is parsed on its own
(:mod:`connectors.spool`, in worker processes for a large night): a file the parser rejects
as a whole (corrupt XML, missing header) loads no rows and leaves one file-level quarantine
record; a record that breaks the format leaves a record-level quarantine record and the
rest of the file is kept.  An unexpected parser error is treated like a rejected file, so
one file never stops a night.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import select
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from connectors.kinds import classify
from connectors.parsers import ParseContext
from connectors.quarantine import QuarantineLog
from connectors.sources import bad_name_reason
from connectors.spool import PARSING_SOURCES, SPOOL_FROM_ROWS, SpoolGroup, SpoolResult, parse_files_to_spool, parse_to_spool
from foundation.values import MAX_AMOUNT_FEN
from foundation.vocabulary import DeliveryStatus, FileStatus, QuarantineReason
from warehouse.connection import Warehouse
from warehouse.schemas import FILES

log = logging.getLogger(__name__)

SPOOL_PREFIX = "spool-"
"""Spool folders are ``<warehouse folder>/spool-*``; a killed night's are removed by the next load."""

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
    @property
    def seq(self) -> int | None: ...


@dataclass
class FileOutcome:
    """What became of one delivered file tonight."""

    rel_path: str
    sha256: str
    kind: str | None
    status: FileStatus
    table_rows: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    waited_s: float = 0.0  # for its parse, once its turn to be stored came
    parse_cpu_s: float = 0.0  # CPU seconds of its parse (in a worker process, or in this one)

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
    inserting_s: float = 0.0  # the writer inserting rows and quarantine records …
    inserting_after_parse_s: float = 0.0  # … of which once every file was parsed (nothing else runs then)
    committing_s: float = 0.0  # the night's one transaction committing

    @property
    def quarantined(self) -> int:
        """Quarantine records written tonight (records and whole files)."""
        return sum(f.quarantined for f in self.files)

    @property
    def records(self) -> int:
        """Rows loaded into the warehouse tonight."""
        return sum(self.rows_by_table.values())

    @property
    def seconds(self) -> dict[str, float]:
        """Where the writer's time went: ``waiting_for_parse`` (the parse is the limit), ``inserting`` (and of
        that, ``inserting_after_parse``: the rows left to insert once the last file was parsed) and ``committing``;
        and ``parsing_cpu``, the CPU seconds the parse took in all processes (against the stage's wall time: how
        busy the parse kept the cores)."""
        return {
            "parsing_cpu": sum(f.parse_cpu_s for f in self.files),
            "waiting_for_parse": sum(f.waited_s for f in self.files),
            "inserting": self.inserting_s,
            "inserting_after_parse": self.inserting_after_parse_s,
            "committing": self.committing_s,
        }


def load_night(
    warehouse: Warehouse,
    business_date: dt.date,
    landed: Iterable[LandedFileLike],
    *,
    csv_override: CsvOverride | None = None,
    workers: int | None = None,
    max_amount_fen: int = MAX_AMOUNT_FEN,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> NightLoad:
    """Replace the warehouse's rows of ``business_date`` by the parse of the landed files.

    Files are parsed by ``workers`` processes (default: one per core) when the night is
    large enough to repay starting them, and their rows inserted in path order either way,
    many files' rows of a table in one insert (:class:`_Inserts`).  A money amount beyond
    ``max_amount_fen`` quarantines its record.  ``on_file`` is told each file's outcome as
    soon as its rows are taken by the writer (progress).
    """
    files = sorted(landed, key=lambda f: f.rel_path)
    jobs = {f.rel_path: _parse_job(business_date, f, csv_override, max_amount_fen) for f in files}
    parse_bytes = sum(f.size for f in files if jobs[f.rel_path] is not None)
    result = NightLoad(business_date)
    _remove_stale_spools(warehouse.path.parent)
    with (
        tempfile.TemporaryDirectory(prefix=SPOOL_PREFIX, dir=warehouse.path.parent) as spool,
        _executor(workers, parse_bytes) as pool,
    ):
        with warehouse.transaction():
            _load_files(warehouse, business_date, files, jobs, pool, Path(spool), result, on_file)
            committing = time.perf_counter()
        result.committing_s = time.perf_counter() - committing
    for outcome in result.files:
        result.rows_by_table.update(outcome.table_rows)
    return result


def _load_files(
    warehouse: Warehouse,
    business_date: dt.date,
    files: list[LandedFileLike],
    jobs: dict[str, ParseContext | None],
    pool: Executor | None,
    spool: Path,
    result: NightLoad,
    on_file: Callable[[FileOutcome], None] | None,
) -> None:
    """The body of :func:`load_night`'s transaction: clear the night, parse and insert every file in path order, register them."""
    warehouse.clear_night(business_date)
    inserts = _Inserts(warehouse)
    pending: deque[tuple[LandedFileLike, Future[SpoolResult] | None]] = deque()
    pending_bytes = 0

    def store_next() -> None:
        nonlocal pending_bytes
        landed_file, parsed = pending.popleft()
        while parsed is not None and not parsed.done() and inserts.insert_largest(IDLE_INSERT_ROWS):
            pass  # the parse of the next file is not done: insert rows queued meanwhile
        pending_bytes -= landed_file.size
        result.files.append(_store(inserts, business_date, landed_file, parsed))
        if on_file:
            on_file(result.files[-1])

    for group in _groups(files, jobs):
        for landed_file, parsed in zip(group, _submit(pool, [(f, jobs[f.rel_path]) for f in group], spool), strict=True):
            pending.append((landed_file, parsed))
            pending_bytes += landed_file.size
        while len(pending) > IN_FLIGHT_FILES or (len(pending) > 2 * _MAX_WORKERS and pending_bytes > IN_FLIGHT_BYTES):
            store_next()
    while pending:
        store_next()
    while_parsing = inserts.seconds
    inserts.flush()
    result.inserting_s = inserts.seconds
    result.inserting_after_parse_s = inserts.seconds - while_parsing
    _register_files(warehouse, business_date, files, result.files)


_MAX_WORKERS = max(1, os.cpu_count() or 1)
PARALLEL_FROM_BYTES = 64 * 2**20
"""Below this much to parse, worker processes cost more than they save."""
IN_FLIGHT_FILES = 4096
"""Files handed to the parse workers ahead of the writer: many small files keep the workers busy
while the writer inserts or waits for a large file the other worker parses (a waybill or an invoice is
often a file of its own; at 256, only 8 tasks of small files, a worker sat idle 0.8–1.8 s per large
waybill file of the 100k night) …"""
IN_FLIGHT_BYTES = 256 * 2**20
"""… as long as their bytes stay within this (their spool files wait on disk until stored)."""
SMALL_FILE_BYTES = 64 * 2**10
"""A file smaller than this is parsed in one worker task with the small files next to it …"""
GROUP_FILES = 32
"""… up to this many: a one-invoice file costs less than handing it to a worker on its own."""
INSERT_ROWS = 500_000
"""Rows of a table gathered from consecutive files before one insert (one insert per small file
cost more than its rows) …"""
IDLE_INSERT_ROWS = 50_000
"""… or as soon as this many, while the writer would wait for the parse workers (so that fewer rows are
left to insert once the parsing ends, when nothing else runs)."""


class _Inserts:
    """The writer's pending rows: per table, the Arrow tables of consecutive files, inserted
    together in file order once they reach :data:`INSERT_ROWS` rows, when the writer is idle
    (:meth:`insert_largest`) or at :meth:`flush`."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse
        self._tables: dict[str, list[pa.Table]] = {}
        self._rows: Counter[str] = Counter()
        self.seconds = 0.0

    def add(self, table: str, rows: pa.Table) -> None:
        """Queue ``rows`` for ``table``; insert the table's queue once it is large."""
        started = time.perf_counter()
        self._tables.setdefault(table, []).append(rows)
        self._rows[table] += rows.num_rows
        if self._rows[table] >= INSERT_ROWS:
            self._insert(table)
        self.seconds += time.perf_counter() - started

    def insert_largest(self, at_least: int) -> bool:
        """Insert the queue of the table with the most rows queued if it holds ``at_least`` rows; return whether it did."""
        table, rows = max(self._rows.items(), key=lambda queued: queued[1], default=(None, 0))
        if table is None or rows < at_least:
            return False
        started = time.perf_counter()
        self._insert(table)
        self.seconds += time.perf_counter() - started
        return True

    def flush(self) -> None:
        """Insert everything queued."""
        started = time.perf_counter()
        for table in list(self._tables):
            self._insert(table)
        self.seconds += time.perf_counter() - started

    def _insert(self, table: str) -> None:
        queued = self._tables.pop(table)
        self._rows.pop(table)
        self._warehouse.append(table, queued[0] if len(queued) == 1 else pa.concat_tables(_gathered(queued)))


def _gathered(tables: list[pa.Table]) -> list[pa.Table]:
    """``tables`` in order, each run of consecutive small ones (under :data:`SPOOL_FROM_ROWS` rows: a file of one
    invoice or waybill) copied into one table of one chunk: DuckDB inserts a table of 640 one-row chunks 30× slower
    than the same rows in one chunk."""
    out: list[pa.Table] = []
    run: list[pa.Table] = []
    for rows in [*tables, None]:
        if rows is not None and rows.num_rows < SPOOL_FROM_ROWS:
            run.append(rows)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else pa.concat_tables(run).combine_chunks())
            run = []
        if rows is not None:
            out.append(rows)
    return out


def _parse_job(
    business_date: dt.date, landed: LandedFileLike, csv_override: CsvOverride | None, max_amount_fen: int
) -> ParseContext | None:
    """The parse context of a file to parse, or None for a duplicate, a bad name or an unknown kind."""
    kind = classify(landed.rel_path)
    if landed.status == DeliveryStatus.DUPLICATE or kind is None or bad_name_reason(landed.rel_path):
        return None
    encoding, delimiter = csv_override(landed.rel_path) if csv_override else (None, None)
    return ParseContext(business_date, landed.rel_path, landed.sha256, kind.name, encoding, delimiter, max_amount_fen)


def _remove_stale_spools(folder: Path) -> None:
    """Remove spool folders a killed night left (safe: this process holds the warehouse's write lock)."""
    for stale in folder.glob(SPOOL_PREFIX + "*"):
        log.warning("removing the spool folder %s a killed run left behind", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _die_with(night_pid: int) -> None:
    """Worker initializer: a daemon thread ends the worker as soon as the night's process exits,
    even by ``kill -9`` (a pidfd becomes readable then), so no parse worker outlives its run.
    (The worker's parent is the forkserver, which the workers themselves keep alive, so the
    parent-death signal would not do.)"""
    try:
        pidfd = os.pidfd_open(night_pid)
    except ProcessLookupError:  # the night died before this worker started
        os._exit(1)
    except OSError as error:  # a kernel without pidfds (before Linux 5.3): parse on, unwatched
        log.warning("parse worker cannot watch the night's process (%s): it may outlive a killed run", error)
        return

    def watch() -> None:
        select.select([pidfd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="die-with-the-night", daemon=True).start()


_WORKER_IMPORTS = ("connectors.loader",)
"""What a parse worker imports (the task's functions, every parser): imported once, in the process the workers are forked from."""


@functools.cache
def _main_script_imports() -> tuple[str, ...]:
    """The modules the night's main script imports at its top level.  Each worker runs that script again before its
    first task (multiprocessing's ``__mp_main__``; Python 3.11's forkserver cannot preload the script itself): for
    ``scf``, whose script imports ``integration.cli`` (Dagster and all), that took 23–25 s at load 8–9 before a worker
    parsed its first file, against 2–3 s for a script importing nothing.  Imported once in the forkserver instead,
    the workers find them imported.  None for a main run as a module (``-m``) or without a file."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(main, "__spec__", None) is not None:
        return ()
    try:
        body = ast.parse(Path(path).read_bytes()).body
    except (OSError, SyntaxError, ValueError):
        return ()
    names = [alias.name for node in body if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module for node in body if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module]
    return tuple(name for name in dict.fromkeys(names) if name != "__future__")


def _forkserver() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*_WORKER_IMPORTS, *_main_script_imports()])
    return context


def warm_parse_workers(night_bytes: int) -> None:
    """For a night of ``night_bytes`` to parse (so far) that :func:`load_night` will parse in worker processes: start
    now the process they are forked from, the parsing code imported in it meanwhile, so that they start parsing at
    once (each imported it first: ~1 s with both cores idle at the start of the load).  Call it while the night
    lands; it does nothing for a smaller night, or if that process runs already (started by another part of this
    process, perhaps without these imports)."""
    if _MAX_WORKERS > 1 and night_bytes >= PARALLEL_FROM_BYTES:
        _start_forkserver()


@functools.cache
def _start_forkserver() -> None:
    """Start the forkserver, once a process (it is called for every file landed past the threshold; a forkserver
    that died since is started again by the pool itself)."""
    _forkserver()
    multiprocessing.forkserver.ensure_running()


@contextmanager
def _executor(workers: int | None, parse_bytes: int) -> Iterator[Executor | None]:
    """A process pool for a large night, None (parse in this process) for a small one."""
    count = min(workers or _MAX_WORKERS, _MAX_WORKERS)
    if count <= 1 or parse_bytes < PARALLEL_FROM_BYTES:
        yield None
        return
    with ProcessPoolExecutor(count, _forkserver(), initializer=_die_with, initargs=(os.getpid(),)) as pool:
        yield pool


def _groups(files: list[LandedFileLike], jobs: dict[str, ParseContext | None]) -> Iterator[list[LandedFileLike]]:
    """The files in order, consecutive small ones to parse (:data:`SMALL_FILE_BYTES`) together by
    :data:`GROUP_FILES`, every other file on its own."""
    group: list[LandedFileLike] = []
    for landed in files:
        if jobs[landed.rel_path] is None or landed.size >= SMALL_FILE_BYTES:
            if group:
                yield group
                group = []
            yield [landed]
            continue
        group.append(landed)
        if len(group) == GROUP_FILES:
            yield group
            group = []
    if group:
        yield group


def _submit(
    pool: Executor | None, group: list[tuple[LandedFileLike, ParseContext | None]], spool: Path
) -> list[Future[SpoolResult] | None]:
    """The parse of each file of ``group`` (``None``: not to parse), by one worker task."""
    if pool is None or len(group) == 1:
        return [_submit_one(pool, ctx, landed, spool) for landed, ctx in group]
    files = [(landed.object_path, ctx) for landed, ctx in group if ctx is not None]
    whole = pool.submit(parse_files_to_spool, files, spool, PARSING_SOURCES)
    parts: list[Future[SpoolResult]] = [Future() for _ in group]

    def split(done: Future[SpoolGroup]) -> None:
        try:  # whatever fails here fails every part: the writer waiting for one must not wait forever
            results = done.result().split()
            if len(results) != len(parts):  # a group holds files to parse only
                raise RuntimeError(f"a parse task of {len(parts)} files gave {len(results)} results")
        except BaseException as error:
            for part in parts:
                part.set_exception(error)
            return
        for part, result in zip(parts, results, strict=True):
            part.set_result(result)

    whole.add_done_callback(split)
    return list(parts)


def _submit_one(pool: Executor | None, ctx: ParseContext | None, landed: LandedFileLike, spool: Path) -> Future[SpoolResult] | None:
    if ctx is None:
        return None
    if pool is not None:
        return pool.submit(parse_to_spool, landed.object_path, ctx, spool, PARSING_SOURCES)
    done: Future[SpoolResult] = Future()
    done.set_result(parse_to_spool(landed.object_path, ctx, spool))
    return done


def _store(
    inserts: _Inserts, business_date: dt.date, landed: LandedFileLike, parsed: Future[SpoolResult] | None
) -> FileOutcome:
    """Queue one parsed file's rows and quarantine records for insertion; return what became of it."""
    kind = classify(landed.rel_path)
    outcome = FileOutcome(landed.rel_path, landed.sha256, kind.name if kind else None, FileStatus.LOADED)
    quarantine = QuarantineLog(business_date, landed.rel_path, landed.sha256, outcome.kind)
    bad_name = bad_name_reason(landed.rel_path)
    if landed.status == DeliveryStatus.DUPLICATE:
        outcome.status = FileStatus.DUPLICATE
    elif bad_name is not None:
        outcome.status = FileStatus.REJECTED
        quarantine.add(None, QuarantineReason.BAD_FILE_NAME, bad_name, None)
    elif parsed is None:
        outcome.status = FileStatus.UNKNOWN_KIND
        quarantine.add(None, QuarantineReason.UNKNOWN_FILE, f"{landed.rel_path} is not a file kind of the input contract", None)
    else:
        waiting = time.perf_counter()
        spooled = parsed.result()
        outcome.waited_s = time.perf_counter() - waiting
        outcome.parse_cpu_s = spooled.parse_cpu_s
        if spooled.rejected is not None:
            outcome.status = FileStatus.REJECTED
            quarantine.add(*spooled.rejected)
        for table in spooled.tables:
            inserts.add(table, spooled.read(table))
        spooled.discard()  # the rows read stay mapped until inserted
        outcome.table_rows = dict(spooled.table_rows)
        for entry in spooled.quarantine:
            quarantine.add(*entry)
    outcome.quarantined = len(quarantine.records)
    if quarantine.records:
        inserts.add("quarantine", quarantine.table())
    return outcome


def _register_files(
    warehouse: Warehouse,
    business_date: dt.date,
    landed: Iterable[LandedFileLike],
    outcomes: list[FileOutcome],
) -> None:
    by_path = {f.rel_path: f for f in landed}
    rows = [
        FILES.Row(
            business_date=business_date,
            rel_path=o.rel_path,
            sha256=o.sha256,
            size=by_path[o.rel_path].size,
            file_kind=o.kind,
            status=o.status,
            rows=o.rows,
            quarantined=o.quarantined,
            superseded=";".join(by_path[o.rel_path].superseded) or None,
            seq=by_path[o.rel_path].seq,
        )
        for o in outcomes
    ]
    warehouse.append("files", FILES.arrow(rows))
