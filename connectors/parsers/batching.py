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
    per batch, all of them by one conversion of the tuples to a struct array (a one-row batch, a file of
    one waybill, costs a third of one conversion per column; a large batch no more).
    """

    def __init__(self, table: str, ctx: ParseContext, sink: Sink, batch_rows: int = 50_000) -> None:
        self.table = table
        declared = PARSED[table]
        self.schema = declared.schema
        self._record = declared.Record
        self._struct = pa.struct(list(self.schema)[_LINEAGE_WIDTH:])
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
        arrays.extend(pa.array(self._rows, type=self._struct).flatten())
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
    position within the record), and handed on at the end of each chunk; quarantine records pass
    straight through (the Python path writes them in record order)."""

    def __init__(self, ctx: ParseContext, sink: Sink, order: Mapping[str, tuple[str, ...]]) -> None:
        self._ctx = ctx
        self._sink = sink
        self._order = order
        self._chunk: dict[str, list[pa.Table]] = {table: [] for table in order}

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
        """Merge the chunk's rows of each table in order and hand them on (a chunk's rows are not copied into larger batches)."""
        for table, parts in self._chunk.items():
            if not parts:
                continue
            merged = parts[0] if len(parts) == 1 else pa.concat_tables(parts).sort_by([(c, "ascending") for c in self._order[table]])
            parts.clear()  # one path's rows only are already in order
            for batch in merged.to_batches():
                self._sink.rows(table, batch)

    def close(self) -> None:
        """Hand on everything left."""
        self.end_chunk()
