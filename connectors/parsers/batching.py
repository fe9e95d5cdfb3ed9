"""Accumulate parsed rows and hand them to the sink as Arrow record batches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.parsers.base import ParseContext, Sink
from warehouse.registry import LINEAGE
from warehouse.schemas import PARSED

_LINEAGE_WIDTH = len(LINEAGE)


class BatchBuilder:
    """Rows of one typed table, flushed to the sink every ``batch_rows`` rows.

    A row is the table's named record (``PARSED[table].Record``: its columns after the
    lineage ones, built by keyword); ``business_date`` and ``src_sha256`` come from the
    context and ``src_pos`` from :meth:`add`.  Rows are kept as tuples and turned into columns once
    per batch (``zip(*rows)`` runs in C: about 4x cheaper per row than appending to one
    list per column), then each column becomes one typed Arrow array.
    """

    def __init__(self, table: str, ctx: ParseContext, sink: Sink, batch_rows: int = 50_000) -> None:
        self.table = table
        declared = PARSED[table]
        self.schema = declared.schema
        self._record = declared.Record
        self._ctx = ctx
        self._sink = sink
        self._batch_rows = batch_rows
        self._positions: list[int] = []
        self._rows: list[tuple[Any, ...]] = []

    def add(self, src_pos: int, row: tuple[Any, ...]) -> None:
        """Append one named record (columns after the lineage ones); flush when the batch is full.

        A plain tuple is refused: its values would land by position, so two swapped columns
        would load into each other's places without a word."""
        if type(row) is not self._record:
            raise TypeError(f"{self.table}: a row is {self._record.__name__}(column=…), not {type(row).__name__}")
        self._positions.append(src_pos)
        self._rows.append(row)
        if len(self._rows) >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        """Send the rows added since the last flush, if any, as one record batch."""
        if not self._rows:
            return
        n = len(self._rows)
        fields = list(self.schema)
        arrays = [
            pa.repeat(pa.scalar(self._ctx.business_date, fields[0].type), n),
            pa.repeat(pa.scalar(self._ctx.sha256, fields[1].type), n),
            pa.array(self._positions, type=fields[2].type),
        ]
        columns = zip(*self._rows, strict=True)
        arrays.extend(pa.array(values, type=f.type) for values, f in zip(columns, fields[_LINEAGE_WIDTH:], strict=True))
        self._positions = []
        self._rows = []
        self._sink.rows(self.table, pa.RecordBatch.from_arrays(arrays, schema=self.schema))


def flush_all(*builders: BatchBuilder) -> None:
    """Flush several builders (at the end of a file)."""
    for builder in builders:
        builder.flush()


class ChunkRows:
    """A sink in front of a parser's sink for a file read in chunks (:mod:`connectors.parsers.xmlcolumns`):
    per table, the rows the columnar path decided and the rows the Python path built for the same
    chunk are merged in the order the Python path alone gives (by ``order``: ``src_pos``, then the
    position within the record), and handed on ``batch_rows`` at a time; quarantine records pass
    straight through (the Python path writes them in record order)."""

    def __init__(self, ctx: ParseContext, sink: Sink, order: Mapping[str, tuple[str, ...]], batch_rows: int = 50_000) -> None:
        self._ctx = ctx
        self._sink = sink
        self._order = order
        self._batch_rows = batch_rows
        self._chunk: dict[str, list[pa.Table]] = {table: [] for table in order}
        self._done: dict[str, list[pa.Table]] = {table: [] for table in order}

    def rows(self, table: str, batch: pa.RecordBatch) -> None:
        """Take rows of the Python path (a :class:`BatchBuilder` flushing into this sink)."""
        self._chunk[table].append(pa.Table.from_batches([batch]))

    def quarantine(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        """Pass a quarantine record on."""
        self._sink.quarantine(src_pos, reason_code, reason, raw)

    def decided(self, table: str, first: int, record: pa.Array, columns: dict[str, pa.Array]) -> None:
        """Take the columnar path's rows of ``table``: ``record`` is each row's 1-based record in the chunk
        whose first record has the ordinal ``first``; ``columns`` the table's columns after the lineage ones."""
        schema = PARSED[table].schema
        n = len(record)
        arrays = [
            pa.repeat(pa.scalar(self._ctx.business_date, schema[0].type), n),
            pa.repeat(pa.scalar(self._ctx.sha256, schema[1].type), n),
            pc.add(record.cast(schema[2].type), first - 1),
            *(columns[f.name].cast(f.type) for f in list(schema)[_LINEAGE_WIDTH:]),
        ]
        self._chunk[table].append(pa.Table.from_arrays(arrays, schema=schema))

    def end_chunk(self) -> None:
        """Merge the chunk's rows of each table in order; hand on what has grown to a batch."""
        for table, parts in self._chunk.items():
            if len(parts) == 1:  # one path's rows only: already in order
                self._done[table].append(parts.pop())
            elif parts:
                merged = pa.concat_tables(parts)
                self._done[table].append(merged.sort_by([(c, "ascending") for c in self._order[table]]))
                parts.clear()
            if sum(t.num_rows for t in self._done[table]) >= self._batch_rows:
                self._hand_on(table)

    def close(self) -> None:
        """Hand on everything left."""
        self.end_chunk()
        for table in self._done:
            self._hand_on(table)

    def _hand_on(self, table: str) -> None:
        done = self._done[table]
        if done:
            for batch in pa.concat_tables(done).combine_chunks().to_batches():
                self._sink.rows(table, batch)
            done.clear()
