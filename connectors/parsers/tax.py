"""tax/: 数电票 ``EInvoice`` XML (one per file or an ``EInvoiceBatch``) and the status feed (a CSV layout).

Invoices and their lines are read through the declared layouts :data:`~connectors.parsers.layouts.TAX_INVOICE`
and :data:`~connectors.parsers.layouts.TAX_LINE`: every field by its full path below ``EInvoice`` (the line total
``TotaltaxIncludedAmount`` and the header total ``TotalTax-includedAmount`` differ only
by case and hyphen).  An invoice that breaks the format (number not 20 digits, no
seller, an amount that does not parse …) is quarantined with its ordinal in the file;
business rules (totals that do not add up, an invalid USCC) are left to the checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord, ParseContext, Sink
from connectors.parsers.csvlayout import CsvField, CsvLayout
from connectors.parsers.layouts import TAX_INVOICE, TAX_LINE, TAX_LINES, VECTORIZED
from connectors.parsers.xmlcolumns import ChunkReader
from connectors.parsers.xmlread import Columnar, Decided, parse_parent_child_records
from foundation.vocabulary import TAX_STATUSES, QuarantineReason
from warehouse.schemas import PARSED, QTY

_ISSUE_LABEL = "issue_label"

_ONE_FEN = Decimal(1)
_INVOICES, _LINES = PARSED["tax_invoices"], PARSED["tax_invoice_lines"]


def parse_invoices(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a 数电票 XML file into ``tax_invoices`` and ``tax_invoice_lines`` (layout :data:`TAX_INVOICE`):
    the common invoices through the columnar path (:func:`_columnar`), the others by :func:`_invoice`."""
    parse_parent_child_records(
        path, ctx, sink, TAX_INVOICE.record, TAX_INVOICE.roots, ("tax_invoices", "tax_invoice_lines"), _invoice, _COLUMNAR
    )


def _invoice(elem: etree._Element) -> tuple[Any, list[Any]]:
    read = TAX_INVOICE.read(elem)
    label = read[_ISSUE_LABEL]
    if label != "Y" and not label.startswith("N"):
        raise BadRecord(QuarantineReason.BAD_ENUM, f"{TAX_INVOICE.path(_ISSUE_LABEL)}: {label!r} is neither Y (blue) nor N (red-letter)")
    read["is_red"] = is_red = label != "Y"
    # The red-letter label may carry the reversed invoice's number after the N.
    if read["original_invoice_no"] is None and is_red:
        read["original_invoice_no"] = F.ident(TAX_INVOICE.path(_ISSUE_LABEL), label[1:])
    lines = [_line(read["invoice_no"], n, line) for n, line in enumerate(read[TAX_LINES], 1)]
    read.update(_line_aggregates(lines))
    return _INVOICES.pick(read), [line for line, _ in lines]


_READER = ChunkReader(
    TAX_INVOICE, {f.name: f.type for schema in (_LINES.schema, _INVOICES.schema) for f in schema}, VECTORIZED, (TAX_LINES, TAX_LINE)
)
_LABEL_NUMBER = VECTORIZED[F.ident]
_WHOLE = pa.decimal128(19, 0)
_QTY_LIMIT = pa.scalar(Decimal(10) ** (QTY.precision - QTY.scale), pa.decimal128(QTY.precision + 1, 0))


def _columnar(records: list[etree._Element]) -> Decided:
    """The invoices of a chunk whose fields and lines all convert in their plain form, as
    :func:`_invoice` reads them (anything unusual is left to it)."""
    n = len(records)
    invoices, lines = _READER.read(records)
    assert lines is not None
    bad_lines = pc.unique(pc.filter(lines.record, pc.invert(lines.ok)))
    label = invoices.values[_ISSUE_LABEL]
    is_red = pc.fill_null(pc.starts_with(label, "N"), False)
    # a red-letter label may carry the reversed invoice's number after the N (read like the field when it lacks)
    original, original_ok = _LABEL_NUMBER(pc.utf8_slice_codeunits(label, 1), pa.string())
    lacks = pc.and_(is_red, pc.is_null(invoices.values["original_invoice_no"]))
    ok = pc.and_(pc.and_(invoices.ok, pc.or_(is_red, pc.fill_null(pc.equal(label, "Y"), False))),
                 pc.and_(pc.or_(pc.invert(lacks), original_ok), pc.invert(pc.is_in(invoices.record, value_set=bad_lines))))  # fmt: skip
    values = lines.values
    gap = pc.subtract(pc.multiply(values["amount_fen"].cast(_WHOLE), values["tax_rate"]), values["tax_fen"].cast(_WHOLE))
    sums = pa.table({
        "record": lines.record, "amount": values["amount_fen"], "tax": values["tax_fen"], "quantity": values["quantity"],
        "gap": pc.round(pc.abs(gap), 0, round_mode="half_up"),
    }).group_by("record").aggregate(
        [("record", "count"), ("amount", "sum"), ("tax", "sum"), ("quantity", "sum"), ("gap", "max")]
    )  # fmt: skip
    at = np.full(n, -1)
    at[sums["record"].to_numpy() - 1] = np.arange(sums.num_rows)
    index = pa.array(at, mask=at < 0)
    quantity = pc.take(sums["quantity_sum"], index)
    ok = pc.and_(ok, pc.fill_null(pc.less(pc.abs(quantity), _QTY_LIMIT), True))  # what F.fit refuses is left to it
    columns = dict(invoices.values)
    columns.update(
        is_red=is_red,
        original_invoice_no=pc.if_else(lacks, original, invoices.values["original_invoice_no"]),
        line_count=pc.fill_null(pc.take(sums["record_count"], index), 0),
        lines_amount_fen=pc.fill_null(pc.take(sums["amount_sum"], index), 0),
        lines_tax_fen=pc.fill_null(pc.take(sums["tax_sum"], index), 0),
        lines_quantity=quantity,
        max_line_tax_gap_fen=pc.take(sums["gap_max"], index),
    )
    line_kept = pc.take(ok, pc.subtract(lines.record, 1))
    line_columns = {c: pc.filter(a, line_kept) for c, a in values.items()}
    line_columns.update(
        invoice_no=pc.take(invoices.values["invoice_no"], pc.subtract(pc.filter(lines.record, line_kept), 1)),
        line_no=pc.filter(lines.seq, line_kept),
    )
    return ok.to_pylist(), {
        "tax_invoices": (pc.filter(invoices.record, ok), {c: pc.filter(a, ok) for c, a in columns.items()}),
        "tax_invoice_lines": (pc.filter(lines.record, line_kept), line_columns),
    }


_COLUMNAR = Columnar(_columnar, {"tax_invoices": ("src_pos",), "tax_invoice_lines": ("src_pos", "line_no")})


def _line(invoice_no: str, line_no: int, elem: etree._Element) -> tuple[Any, int | None]:
    """One ``IssuItemInformation``: the line row and its tax gap in fen (None without a rate)."""
    try:
        read = TAX_LINE.read(elem)
    except BadRecord as err:
        raise BadRecord(err.reason_code, f"{TAX_LINES}[{line_no}]/{err.reason}") from None
    amount, rate, tax = read["amount_fen"], read["tax_rate"], read["tax_fen"]
    gap = None if rate is None else int(abs(amount * rate - tax).quantize(_ONE_FEN, ROUND_HALF_UP))
    read.update(invoice_no=invoice_no, line_no=line_no)
    return _LINES.pick(read), gap


def _line_aggregates(lines: Iterable[tuple[Any, int | None]]) -> dict[str, Any]:
    """The invoice's columns that sum up its lines, by name."""
    count = amount = tax = 0
    quantity: Decimal | None = None
    gap: int | None = None
    for row, line_gap in lines:
        count += 1
        amount += row.amount_fen
        tax += row.tax_fen
        if row.quantity is not None:
            quantity = row.quantity if quantity is None else quantity + row.quantity
        if line_gap is not None and (gap is None or line_gap > gap):
            gap = line_gap
    if quantity is not None:
        quantity = F.fit("lines_quantity", quantity, QTY)
    return {"line_count": count, "lines_amount_fen": amount, "lines_tax_fen": tax, "lines_quantity": quantity,
            "max_line_tax_gap_fen": gap}


#: ``tax/invoice_status.csv``: one row of ``tax_invoice_status`` per line.
STATUS = CsvLayout(
    "tax_invoice_status",
    (
        CsvField("invoice_no", "fphm", pattern=F.INVOICE_NO, form=F.INVOICE_NO_FORM, required=True),
        CsvField("status", "fpzt", choices=TAX_STATUSES, required=True),
        CsvField("red_flushed_fen", "hcje"),
        CsvField("change_date", "ztbgrq"),
    ),
)
