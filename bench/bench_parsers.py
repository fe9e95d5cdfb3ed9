"""Micro-benchmark: the 数电票 parser against a bare ``lxml.etree.iterparse`` loop.

Writes a synthetic ``EInvoiceBatch`` of N invoices (1 to 3 lines each) to a temporary
folder, then times (a) iterating ``iterparse`` over it with the usual clearing and
(b) :func:`connectors.kinds.parse_file` into a sink that only counts rows.

    .venv/bin/python bench/bench_parsers.py [--invoices 100000] [--repeat 3]
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

from connectors.kinds import parse_file
from connectors.parsers import ParseContext

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


def bare_loop(path: Path) -> int:
    """Iterate the invoices with iterparse and clear them, doing nothing else."""
    count = 0
    for _, elem in etree.iterparse(str(path), events=("end",), tag="EInvoice"):
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


def run_parser(path: Path) -> CountingSink:
    """Parse the batch with the real tax parser."""
    ctx = ParseContext(
        dt.date(2026, 11, 20), "tax/batch.xml", hashlib.sha256(b"bench").hexdigest(), "tax_invoice_xml"
    )
    sink = CountingSink()
    parse_file(path, ctx, sink)
    return sink


def _best(fn, path: Path, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Generate the batch, time both loops, print invoices per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.xml"
        write_batch(path, args.invoices)
        size_mb = path.stat().st_size / 1e6
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sink = run_parser(path)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert sink.rows_by_table.get("tax_invoices") == args.invoices and sink.quarantined == 0, sink.rows_by_table
        bare = _best(bare_loop, path, args.repeat)
        parsed = _best(run_parser, path, args.repeat)
    n = args.invoices
    print(f"{n} invoices, {sink.rows_by_table['tax_invoice_lines']} lines, {size_mb:.0f} MB (best of {args.repeat})")
    print(f"bare iterparse loop : {bare:6.2f} s  {n / bare:9,.0f} invoices/s  {size_mb / bare:6.1f} MB/s")
    print(f"tax parser          : {parsed:6.2f} s  {n / parsed:9,.0f} invoices/s  {size_mb / parsed:6.1f} MB/s")
    print(f"parser / bare       : {parsed / bare:6.2f}x")
    print(f"peak RSS            : {rss_before / 1024:.0f} MB before parsing, {rss_after / 1024:.0f} MB after")


if __name__ == "__main__":
    main()
