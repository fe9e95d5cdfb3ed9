"""Files parsed together in one worker task give each file exactly what it gives parsed alone."""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
from pathlib import Path

import pyarrow as pa

from connectors import loader
from connectors.kinds import classify
from connectors.parsers import ParseContext
from connectors.spool import SpoolGroup, SpoolResult, parse_files_to_spool, parse_to_spool
from tests.conftest import SAMPLE_NIGHT


def _job(night: Path, path: Path) -> tuple[Path, ParseContext]:
    rel = path.relative_to(night).as_posix()
    kind = classify(rel)
    assert kind is not None, rel
    return path, ParseContext(dt.date.fromisoformat(SAMPLE_NIGHT), rel, hashlib.sha256(path.read_bytes()).hexdigest(), kind.name)


def _as_parsed(result: SpoolResult) -> tuple:
    return result.small_tables, result.table_rows, result.quarantine, result.rejected, result.table_files


def test_files_parsed_together_cross_as_one_table_each_and_split_back_as_parsed_alone(sample_inbox, tmp_path):
    """The night's small files, a broken one and a file of another kind among them: one Arrow table per table
    crosses the process boundary (pickled), and each file's rows, quarantine and rejection come back as alone
    (the broken file keeps no row and takes none of its batch-mates' down)."""
    night = sample_inbox / SAMPLE_NIGHT
    (night / "tax" / "26320000000000099999.xml").write_text("<EInvoiceBatch><EInvoice>", "utf-8")  # cut short
    invoice = night / "tax" / "26320000000000012345.xml"
    for n in range(3):
        (night / "tax" / f"2632000000000001234{6 + n}.xml").write_bytes(invoice.read_bytes())
    jobs = [_job(night, p) for p in sorted([*(night / "tax").glob("2632*.xml"), night / "tax" / "invoice_status.csv"])]
    alone = [parse_to_spool(path, ctx, tmp_path) for path, ctx in jobs]
    group = parse_files_to_spool(jobs, tmp_path)
    assert all(not r.small_tables for r in group.results), "the rows travel in the gathered tables only"
    assert sorted(group.tables) == ["tax_invoice_lines", "tax_invoice_status", "tax_invoices"]
    assert all(t.column(0).num_chunks == 1 for t in group.tables.values())
    together = pickle.loads(pickle.dumps(group)).split()
    assert [_as_parsed(r) for r in together] == [_as_parsed(r) for r in alone]
    assert [r.rejected is not None for r in together] == [False, False, False, False, True, False]
    assert [r.table_rows.get("tax_invoices", 0) for r in together] == [1, 1, 1, 1, 0, 0]


def test_a_table_of_another_schema_stays_with_its_file():
    one = pa.table({"a": [1]})
    other = pa.table({"a": ["x"]})
    results = [SpoolResult(small_tables={"t": one}), SpoolResult(small_tables={"t": other}), SpoolResult(small_tables={"t": one})]
    group = SpoolGroup.gather(results)
    assert group.tables["t"].num_rows == 2 and results[1].small_tables == {"t": other}
    assert [r.small_tables["t"].to_pylist() for r in group.split()] == [[{"a": 1}], [{"a": "x"}], [{"a": 1}]]


def test_the_writer_inserts_runs_of_small_tables_as_one_chunk_in_order():
    """A run of one-row tables (files of one invoice) is copied into one chunk (DuckDB inserts one-row chunks
    ~30x slower); a large table is passed as it is; the order of the rows never changes."""
    small = [pa.table({"n": [i]}) for i in range(5)]
    large = pa.table({"n": list(range(100, 100 + loader.SPOOL_FROM_ROWS))})
    gathered = loader._gathered([*small[:3], large, *small[3:]])
    assert [t.num_rows for t in gathered] == [3, loader.SPOOL_FROM_ROWS, 2]
    assert gathered[1] is large and all(t.column(0).num_chunks == 1 for t in gathered)
    assert pa.concat_tables(gathered).column("n").to_pylist() == [0, 1, 2, *range(100, 100 + loader.SPOOL_FROM_ROWS), 3, 4]
