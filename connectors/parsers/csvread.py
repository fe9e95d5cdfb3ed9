"""Read a delivered CSV file row by row with pyarrow's streaming reader.

Shared by every CSV input kind (through :mod:`connectors.parsers.csvlayout`).  The reader

* detects the encoding (UTF-8 with or without BOM, else GB18030: the whole file is
  checked with an incremental UTF-8 decoder) and the delimiter (``|`` if the header line
  has one, else ``,``), unless the parse context overrides them;
* checks the header for the wanted columns (a missing required one rejects the file);
* reads every column as text and hands each row to the parser's handler with its 1-based
  physical line number (header = line 1; a quoted value holding newlines moves the
  lines of the rows after it, as it does in an editor);
* quarantines rows with the wrong number of fields, and rows whose handler raises
  :class:`~connectors.parsers.base.BadRecord`; skips blank lines;
* quarantines a line longer than :data:`MAX_LINE_BYTES` (the reader could not take it in one
  block): it is blanked in a temporary copy of the file, so the rest of the file is read.
"""

from __future__ import annotations

import codecs
import operator
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from connectors.parsers.base import BadRecord, FileRejected, ParseContext, Sink, python_only_in_force
from foundation.vocabulary import QuarantineReason

Row = tuple[str | None, ...]
RowHandler = Callable[[int, Row], None]

_CHUNK = 1 << 20
_BLOCK = 1 << 20
MAX_LINE_BYTES = _BLOCK // 4
"""Longest CSV line read; a longer one is quarantined (a row of a few such lines still fits a block)."""
_RAW_SHOWN = 200  # bytes of a too-long line kept in its quarantine record


def detect_encoding(path: Path) -> str:
    """``utf-8`` if the whole file decodes as UTF-8 (a BOM is allowed), else ``gb18030``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FileRejected(QuarantineReason.BAD_ENCODING, f"unknown encoding {name!r}") from None


def _header(path: Path, encoding: str) -> str:
    with path.open("rb") as f:
        first = f.readline()
    try:
        line = first.decode(encoding)
    except UnicodeDecodeError as err:
        raise FileRejected(QuarantineReason.BAD_ENCODING, f"header line is not {encoding}: {err}") from None
    line = line.lstrip("\ufeff").rstrip("\r\n")
    if not line.strip():
        raise FileRejected(QuarantineReason.MISSING_COLUMN, "the header line (line 1) is blank")
    return line


def header_names(header: str, delimiter: str | None = None) -> tuple[str, list[str]]:
    """(delimiter, column names) of a header line: the configured delimiter, else ``|`` if the
    line holds one, else ``,``; names stripped of blanks and quotes."""
    delimiter = delimiter or ("|" if "|" in header else ",")
    return delimiter, [n.strip().strip('"').strip() for n in header.split(delimiter)]


class _Layout:
    """Where the wanted columns are in the file's header."""

    def __init__(self, names: list[str], required: Sequence[str], optional: Sequence[str]) -> None:
        missing = [c for c in required if c not in names]
        if missing:
            raise FileRejected(QuarantineReason.MISSING_COLUMN, f"missing column(s) {', '.join(missing)}; header: {'|'.join(names)}")
        wanted = [*required, *optional]
        doubled = sorted({c for c in wanted if names.count(c) > 1})
        if doubled:
            raise FileRejected(QuarantineReason.DUPLICATE_COLUMN, f"column(s) {', '.join(doubled)} appear more than once")
        self.width = len(names)
        absent = self.width  # index of an all-None column appended per batch
        self.indexes = indexes = [names.index(c) if c in names else absent for c in wanted]
        # picks the wanted fields of a row (padded with one None) as a tuple, in C
        self.pick: Callable[[tuple[str | None, ...]], Row] = picker(indexes)


def picker(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """``operator.itemgetter`` of ``keys`` (the items picked in C), always giving a tuple."""
    if len(keys) == 1:
        (key,) = keys
        return lambda items: (items[key],)
    return operator.itemgetter(*keys)


Columns = list[pa.Array]
"""A batch's wanted columns, in the ``required`` then ``optional`` order (an absent optional one all null)."""
BatchHandler = Callable[[Columns, pa.Array, Callable[[pa.BooleanArray | None], None]], None]
"""``(columns, lines, rest)``: read a batch of rows (``lines``: each row's line, null for a blank one) and call
``rest(decided)`` once, which hands every row not decided (``None``: no row) to the row handler, in line order."""


def for_each_row(
    path: Path,
    ctx: ParseContext,
    sink: Sink,
    required: Sequence[str],
    handle: RowHandler,
    optional: Sequence[str] = (),
    batches: BatchHandler | None = None,
) -> None:
    """Call ``handle(line, row)`` for every data row; ``row`` holds the ``required`` then the
    ``optional`` columns' texts (``None`` for an optional column the file lacks).

    With ``batches`` (and unless :func:`~connectors.parsers.base.python_only` is in force), each batch
    the reader gives is first handed to it whole; ``handle`` then sees only the rows it left.

    Raises :class:`FileRejected` when the file is empty, lacks a required column, or
    cannot be decoded or parsed.
    """
    if path.stat().st_size == 0:
        raise FileRejected(QuarantineReason.EMPTY_FILE, "empty file")
    encoding = _codec(ctx.csv_encoding) if ctx.csv_encoding else detect_encoding(path)
    header = _header(path, encoding)
    delimiter, names = header_names(header, ctx.csv_delimiter)
    layout = _Layout(names, required, optional)
    columnar = None if python_only_in_force() else batches

    def one(line: int, fields: tuple[str, ...]) -> None:
        try:
            handle(line, layout.pick((*fields, None)))
        except BadRecord as err:
            sink.quarantine(line, err.reason_code, err.reason, delimiter.join(fields))

    with _short_lines(path, encoding, sink, ctx.scratch_dir) as readable:
        for batch, lines, shapes in _batches(readable, encoding, delimiter, layout.width):
            if columnar is None:
                _rest(sink, batch, lines, shapes, None, one)
                continue
            wanted = [batch.column(i) if i < layout.width else pa.nulls(batch.num_rows, pa.string()) for i in layout.indexes]
            columnar(wanted, lines, partial(_rest, sink, batch, lines, shapes, one=one))


def _rest(
    sink: Sink,
    batch: pa.RecordBatch,
    lines: pa.Array,
    shapes: Shapes,
    decided: pa.BooleanArray | None,
    one: Callable[[int, tuple[str, ...]], None],
) -> None:
    """Hand the rows of ``batch`` not ``decided`` (nor blank) to ``one``, and quarantine the rows of
    the wrong shape among them, all in line order."""
    left = pc.is_valid(lines) if decided is None else pc.and_not(pc.is_valid(lines), decided)
    index = pc.indices_nonzero(left)
    rows = batch.take(index)
    events: list[tuple[int, tuple[str, ...] | pacsv.InvalidRow]] = [*shapes]
    events += zip(pc.take(lines, index).to_pylist(), zip(*(c.to_pylist() for c in rows.columns), strict=True), strict=True)
    if shapes:
        events.sort(key=operator.itemgetter(0))
    for line, event in events:
        if isinstance(event, pacsv.InvalidRow):  # a named tuple: asked first
            sink.quarantine(line, QuarantineReason.ROW_SHAPE, f"expected {event.expected_columns} fields, found {event.actual_columns}",
                            event.text)  # fmt: skip
        else:
            one(line, event)


def long_lines(path: Path) -> list[int]:
    """The 1-based numbers of the lines longer than :data:`MAX_LINE_BYTES` (one pass, C speed)."""
    found: list[int] = []
    line, run = 1, 0  # the current line's number, and its bytes seen so far
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            parts = chunk.split(b"\n")  # parts[0] goes on with the current line; the last is unfinished
            lengths = [run + len(parts[0]), *map(len, parts[1:])]
            if max(lengths) > MAX_LINE_BYTES:
                for i, length in enumerate(lengths):
                    if length > MAX_LINE_BYTES and (not found or found[-1] != line + i):
                        found.append(line + i)
            run = lengths[-1]
            line += len(parts) - 1
    return found


@contextmanager
def _short_lines(path: Path, encoding: str, sink: Sink, scratch_dir: str | None) -> Iterator[Path]:
    """``path`` itself, or a temporary copy with its too-long lines blanked (each quarantined)."""
    lines = long_lines(path)
    if not lines:
        yield path
        return
    if lines[0] == 1:
        raise FileRejected(QuarantineReason.LINE_TOO_LONG, f"the header line is longer than {MAX_LINE_BYTES} bytes", 1)
    fd, name = tempfile.mkstemp(prefix="short-lines-", suffix=".csv", dir=scratch_dir)
    try:
        with path.open("rb") as source, os.fdopen(fd, "wb") as copy:
            wanted = set(lines)
            for number, raw in enumerate(source, 1):
                if number in wanted:
                    shown = raw[:_RAW_SHOWN].decode(encoding, "replace")
                    size = len(raw.rstrip(b"\r\n"))
                    reason = f"line of {size} bytes, longer than {MAX_LINE_BYTES}: skipped"
                    sink.quarantine(number, QuarantineReason.LINE_TOO_LONG, reason, shown)
                    raw = b"\n" if raw.endswith(b"\n") else b""
                copy.write(raw)
        yield Path(name)
    finally:
        os.unlink(name)


Shapes = list[tuple[int, pacsv.InvalidRow]]
"""Rows of the wrong number of fields, each with its line."""


def _batches(path: Path, encoding: str, delimiter: str, width: int) -> Iterator[tuple[pa.RecordBatch, pa.Array, Shapes]]:
    """Yield each batch of well-shaped rows with each row's line (null for a blank row) and the rows of the
    wrong shape before its last row (with their lines); the wrong-shaped rows after the last batch come last."""
    broken: dict[int, pacsv.InvalidRow] = {}  # by record number (header = 1)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        broken[row.number] = row
        return "skip"

    column_names = [f"c{i}" for i in range(width)]
    reader_encoding = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=False,  # InvalidRow.number is only known when reading serially
                block_size=_BLOCK,
                skip_rows=1,
                column_names=column_names,
                encoding=reader_encoding,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,  # keeps pyarrow's record numbers equal to ours
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in column_names}),
        )
        record, line = 1, 2  # the last record read, the line of the next
        for batch in reader:
            n = batch.num_rows
            records = np.arange(record + 1, record + 1 + n)
            spans = 1 + _newlines(batch)
            shapes: list[tuple[int, int]] = []  # (record, lines) of each wrong-shaped row among the batch's
            for number in sorted(broken):
                if n == 0 or number > records[-1]:
                    break
                records[records >= number] += 1
                shapes.append((number, 1 + broken[number].text.count("\n")))
            starts = line + np.cumsum(spans) - spans
            placed = []
            for number, span in shapes:
                at = int(np.searchsorted(records, number))
                placed.append((int(starts[at]), broken.pop(number)))  # a row of the batch comes after it
                starts[at:] += span
            if n:
                record, line = int(records[-1]), int(starts[-1] + spans[-1])
            blank = _blank(batch)
            yield batch, pa.array(starts, mask=blank), placed
        last: Shapes = []
        for number in sorted(broken):
            last.append((line, broken[number]))
            line += 1 + broken[number].text.count("\n")
        if last:
            yield pa.RecordBatch.from_pylist([], schema=pa.schema([(c, pa.string()) for c in column_names])), pa.array([], pa.int64()), last
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        encoding_error = isinstance(err, UnicodeDecodeError) or "UTF8" in str(err)
        code = QuarantineReason.BAD_ENCODING if encoding_error else QuarantineReason.MALFORMED_CSV
        raise FileRejected(code, f"{encoding} CSV: {err}") from None


def _blank(batch: pa.RecordBatch) -> np.ndarray:
    """Per row, whether every field is empty (a blank line: skipped)."""
    filled = np.zeros(batch.num_rows, dtype=bool)
    for column in batch.columns:
        filled |= pc.greater(pc.binary_length(column), 0).to_numpy(zero_copy_only=False)
    return ~filled


def _newlines(batch: pa.RecordBatch) -> np.ndarray:
    """Per row, how many newlines its quoted values hold (each moves later rows one line)."""
    counts = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        if _may_hold_newline(column):
            counts += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    return counts


def _may_hold_newline(column: pa.Array) -> bool:
    """False if no value of ``column`` (a string column without nulls) holds a newline: one scan of its characters'
    bytes instead of a search per value (most columns of most batches hold none); True otherwise, or if unsure."""
    if not pa.types.is_string(column.type) or column.null_count:
        return True
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32, count=len(column) + 1, offset=4 * column.offset)
    data = column.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    return data is not None and end > start and bool(np.any(np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start) == 10))
