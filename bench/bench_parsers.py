"""Micro-benchmark: the XML parsers against a bare ``lxml.etree.iterparse`` loop.

Writes a synthetic ``EInvoiceBatch`` of N invoices (1 to 3 lines each) to a temporary
folder, then times (a) iterating ``iterparse`` over it with the usual clearing,
(b) :func:`connectors.kinds.parse_file` record by record in Python (the oracle) and
(c) the same with the columnar path (the default), into a sink that only counts rows.
With ``--night``, the same three over every file the ingest parses of a simulated night folder, by kind
(CPU seconds of this process, each file's three timed one after the other).  With ``--load``,
the night folder is landed once and loaded into a fresh warehouse by each ``--workers`` count in
turn (the loader's parse workers, the cap of one per core lifted; 1: parsed in the writer's own
process): wall seconds, this process's CPU seconds (the writer's, and all the parsing with one
worker: the pool's workers are the forkserver's children, not counted) and where the one writer's
time went (waiting for the parse, inserting — and of that, once the parse had ended — and committing).

    .venv/bin/python bench/bench_parsers.py [--invoices 100000] [--repeat 3]
    .venv/bin/python bench/bench_parsers.py --night bench/out/night/simulated/inbox/2026-11-18
    .venv/bin/python bench/bench_parsers.py --load bench/out/night/simulated/inbox/2026-11-18 --workers 1 2 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import resource
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from lxml import etree
from pyarrow import csv as pacsv

from connectors.kinds import classify, parse_file
from connectors.parsers import ParseContext
from connectors.parsers.base import python_only
from connectors.parsers.csvread import detect_encoding, header_names
from connectors.parsers.layouts import BILL, TAX_INVOICE, WAYBILL_LAYOUTS

_LINE = """      <IssuItemInformation>
        <ItemName>*光学元件*导光板</ItemName><SpecMod>55寸</SpecMod><MeaUnits>片</MeaUnits>
        <Quantity>100</Quantity><UnPrice>1000.00</UnPrice><Amount>100000.00</Amount><TaxRate>{rate}</TaxRate>
        <ComTaxAm>13000.00</ComTaxAm><TotaltaxIncludedAmount>113000.00</TotaltaxIncludedAmount>
        <TaxClassificationCode>1090512990000000000</TaxClassificationCode>
      </IssuItemInformation>
"""
_INVOICE = """  <EInvoice>
    <Header>
      <EIid>{no}</EIid><EInvoiceTag>SWEI3200</EInvoiceTag><Version>0.32</Version>
      <InherentLabel>
        <InIssuType><LabelCode>Y</LabelCode><LabelName>蓝字发票</LabelName></InIssuType>
        <GeneralOrSpecialVAT><LabelCode>01</LabelCode><LabelName>增值税专用发票</LabelName></GeneralOrSpecialVAT>
      </InherentLabel>
    </Header>
    <EInvoiceData>
      <SellerInformation><SellerIdNum>91320500MA1X000024</SellerIdNum><SellerName>苏州恒隆新材料科技有限公司</SellerName></SellerInformation>
      <BuyerInformation><BuyerIdNum>91440300MA5F00001A</BuyerIdNum><BuyerName>深圳市华星电子集团有限公司</BuyerName></BuyerInformation>
      <BasicInformation>
        <TotalAmWithoutTax>{amount}</TotalAmWithoutTax><TotalTaxAm>{tax}</TotalTaxAm>
        <TotalTax-includedAmount>{total}</TotalTax-includedAmount>
        <Drawer>王芳</Drawer><RequestTime>2026-11-12 09:31:05</RequestTime>
      </BasicInformation>
{lines}      <AdditionalInformation><Remark>订单4500012345</Remark></AdditionalInformation>
    </EInvoiceData>
    <TaxSupervisionInfo><InvoiceNumber>{no}</InvoiceNumber><IssueTime>2026-11-12 09:31:05</IssueTime>
      <TaxBureauCode>13200000000</TaxBureauCode><TaxBureauName>国家税务总局江苏省税务局</TaxBureauName></TaxSupervisionInfo>
  </EInvoice>
"""


def write_batch(path: Path, invoices: int) -> None:
    """Write a synthetic batch of ``invoices`` invoices (1 to 3 lines each)."""
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<EInvoiceBatch>\n')
        for i in range(invoices):
            k = 1 + i % 3
            lines = "".join(_LINE.format(rate="13%" if n % 2 else "0.13") for n in range(k))
            f.write(
                _INVOICE.format(
                    no=f"2632{i:016d}", amount=f"{100000 * k}.00", tax=f"{13000 * k}.00", total=f"{113000 * k}.00",
                    lines=lines,
                )
            )  # fmt: skip
        f.write("</EInvoiceBatch>\n")


def bare_loop(path: Path, tag: str = "EInvoice") -> int:
    """Iterate the records with iterparse and clear them, doing nothing else."""
    count = 0
    for _, elem in etree.iterparse(str(path), events=("end",), tag=tag):
        count += 1
        elem.clear()
        while elem.getprevious() is not None:
            del elem.getparent()[0]
    return count


class CountingSink:
    """A sink that counts rows and quarantine records and drops them."""

    def __init__(self) -> None:
        self.rows_by_table: dict[str, int] = {}
        self.quarantined = 0

    def rows(self, table: str, batch: pa.RecordBatch) -> None:
        self.rows_by_table[table] = self.rows_by_table.get(table, 0) + batch.num_rows

    def quarantine(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        self.quarantined += 1


def run_parser(path: Path, rel: str = "tax/batch.xml") -> CountingSink:
    """Parse a file with the real parser of its kind (the columnar path where there is one)."""
    kind = classify(rel)
    assert kind is not None, rel
    ctx = ParseContext(dt.date(2026, 11, 20), rel, hashlib.sha256(b"bench").hexdigest(), kind.name)
    sink = CountingSink()
    parse_file(path, ctx, sink)
    return sink


def run_python(path: Path, rel: str = "tax/batch.xml") -> CountingSink:
    """Parse a file record by record in Python (the columnar path's oracle: the parser before it)."""
    with python_only():
        return run_parser(path, rel)


def _best(fn, *args, repeat: int = 1) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - start)
    return best


_TAGS = {"tax_invoice_xml": TAX_INVOICE.record, "waybill_xml": WAYBILL_LAYOUTS[0].record, "bill_xml": BILL.record}


def ingested_files(night_dir: Path) -> list[tuple[Path, str | None]]:
    """Every file of the night the ingest stage parses, with its XML record tag (``None``: a CSV)."""
    files = []
    for path in sorted(p for p in night_dir.rglob("*") if p.is_file()):
        kind = classify(path.relative_to(night_dir).as_posix())
        if kind is not None:
            files.append((path, _TAGS[kind.name] if kind.csv is None else None))
    return files


def bare_parse(files: list[tuple[Path, str | None]]) -> float:
    """Seconds of the bare parse of the same files: XML records by iterparse, CSVs by a pyarrow CSV
    read of texts with the encoding and delimiter the parser would find."""
    started = time.perf_counter()
    for path, tag in files:
        if tag is not None:
            bare_loop(path, tag)
            continue
        encoding = detect_encoding(path)
        with path.open(encoding=encoding) as f:
            delimiter, names = header_names(f.readline().lstrip("\ufeff").rstrip("\r\n"))
        reader = pacsv.open_csv(
            path, pacsv.ReadOptions(encoding=encoding, use_threads=False), pacsv.ParseOptions(delimiter=delimiter),
            pacsv.ConvertOptions(column_types=dict.fromkeys(names, "string")),
        )  # fmt: skip
        for _ in reader:
            pass
    return time.perf_counter() - started


def night(folder: Path, repeat: int) -> None:
    """The bare parse (:func:`bare_parse`), the Python path and the columnar path (XML:
    :mod:`connectors.parsers.xmlcolumns`, CSV: :mod:`connectors.parsers.csvcolumns`) over every file of a
    night folder the ingest parses, by kind."""
    seconds: dict[str, list[float]] = {}
    for path, tag in ingested_files(folder):
        rel = path.relative_to(folder).as_posix()
        kind = classify(rel)
        assert kind is not None
        times = seconds.setdefault(kind.name, [0.0, 0.0, 0.0, 0.0])
        times[0] += _best(bare_parse, [(path, tag)], repeat=repeat)
        times[1] += _best(run_python, path, rel, repeat=repeat)
        times[2] += _best(run_parser, path, rel, repeat=repeat)
        times[3] += 1
    total = [sum(t[i] for t in seconds.values()) for i in range(4)]
    print(f"{'kind':16} {'files':>6} {'bare s':>8} {'python s':>9} {'columnar s':>11} {'python/bare':>12} {'columnar/bare':>14}")
    for name, (bare, python, columnar, files) in [*seconds.items(), ("all", total)]:
        print(f"{name:16} {files:6.0f} {bare:8.2f} {python:9.2f} {columnar:11.2f} {python / bare:12.2f} {columnar / bare:14.2f}")


def load(folder: Path, workers: list[int]) -> None:
    """Land ``folder`` (a night of an inbox) once, then load it with each number of parse workers."""
    from connectors import loader
    from connectors.archive import Archive
    from connectors.sources import LocalFolderSource
    from warehouse.connection import Warehouse

    night = dt.date.fromisoformat(folder.name)
    with tempfile.TemporaryDirectory() as tmp:
        landed = Archive(Path(tmp) / "archive").land_night(LocalFolderSource(folder.parent), night).files
        loader._MAX_WORKERS = max(workers)  # the bench may try more workers than cores
        print(f"{'workers':>7} {'wall s':>7} {'writer CPU s':>13} {'writer waiting s':>17} {'writer inserting s':>19} "
              f"{'after the parse s':>18} {'commit s':>9} {'rows':>9}")  # fmt: skip
        for count in workers:
            cpu = time.process_time()
            started = time.perf_counter()
            with Warehouse(Path(tmp) / f"w{count}.duckdb") as warehouse:
                result = loader.load_night(warehouse, night, landed, workers=count)
            wall = time.perf_counter() - started
            used = time.process_time() - cpu
            seconds = result.seconds
            print(f"{count:7} {wall:7.1f} {used:13.1f} {seconds['waiting_for_parse']:17.1f} {seconds['inserting']:19.1f} "
                  f"{seconds['inserting_after_parse']:18.2f} {seconds['committing']:9.2f} {result.records:9}")  # fmt: skip
            (Path(tmp) / f"w{count}.duckdb").unlink()


def main() -> None:
    """Generate the batch, time both loops, print invoices per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--night", type=Path, help="a night folder: time its XML files by kind instead")
    parser.add_argument("--load", type=Path, help="a night folder: load it with each --workers count instead")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    if args.night:
        night(args.night, args.repeat)
        return
    if args.load:
        load(args.load, args.workers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.xml"
        write_batch(path, args.invoices)
        size_mb = path.stat().st_size / 1e6
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sink = run_parser(path)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert sink.rows_by_table.get("tax_invoices") == args.invoices and sink.quarantined == 0, sink.rows_by_table
        bare = _best(bare_loop, path, repeat=args.repeat)
        python = _best(run_python, path, repeat=args.repeat)
        parsed = _best(run_parser, path, repeat=args.repeat)
    n = args.invoices
    print(f"{n} invoices, {sink.rows_by_table['tax_invoice_lines']} lines, {size_mb:.0f} MB (best of {args.repeat}, CPU s)")
    print(f"bare iterparse loop : {bare:6.2f} s  {n / bare:9,.0f} invoices/s  {size_mb / bare:6.1f} MB/s")
    print(f"tax parser, Python  : {python:6.2f} s  {n / python:9,.0f} invoices/s  {size_mb / python:6.1f} MB/s")
    print(f"tax parser, columnar: {parsed:6.2f} s  {n / parsed:9,.0f} invoices/s  {size_mb / parsed:6.1f} MB/s")
    print(f"Python / bare       : {python / bare:6.2f}x")
    print(f"columnar / bare     : {parsed / bare:6.2f}x")
    print(f"peak RSS            : {rss_before / 1024:.0f} MB before parsing, {rss_after / 1024:.0f} MB after")


if __name__ == "__main__":
    main()
