"""The input kinds of INPUTS.md, each declared once: where its files sit, how they are read,
which tables they fill and how data quality names their source.

An :class:`InputKind` is read by everything that handles a delivered file: :func:`classify`
(the loader, the archive's registers), :func:`parse_file` (the parser dispatch),
:mod:`quality.registry` (source ids, header drift) and :mod:`quality.suites` (a suite per
table).  A CSV kind is its :class:`~connectors.parsers.csvlayout.CsvLayout` (a mapping of
header names to the columns of its table in :mod:`warehouse.schemas`); an XML kind names the
parser that reads its declared XML layouts (:mod:`connectors.parsers.layouts`).  A new input
kind is a declaration here plus its table(s) in :mod:`warehouse.schemas`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from connectors.parsers import bills, erp, logistics, platform, reference, tax
from connectors.parsers.base import ParseContext, Sink
from connectors.parsers.csvlayout import CsvLayout, parse_csv
from connectors.parsers.fields import amount_ceiling

Parser = Callable[[Path, ParseContext, Sink], None]

_USCC_DIR = "[0-9A-Z]{18}"


@dataclass(frozen=True)
class InputKind:
    """One kind of delivered file.

    ``name``: its id (``files.file_kind``, ``quarantine.file_kind``); ``path``: the pattern its path
    relative to the night folder matches in full; ``csv``: its CSV layout, or ``parser`` and
    ``tables``: the parser of an XML kind and the tables it fills; ``source``: its data-quality
    source id, ``None`` for the path itself, else a template naming the stream its files belong
    to, filled from the named groups of ``path`` (``{folder}``: the USCC of its sub-folder);
    ``header_drift``: whether a change of its header is schema drift (every CSV kind, unless
    declared otherwise)."""

    name: str
    path: re.Pattern[str]
    csv: CsvLayout | None = None
    parser: Parser | None = None
    tables: tuple[str, ...] = ()
    source: str | None = None
    header_drift: bool | None = None
    _parse: Parser = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.csv is None) == (self.parser is None):
            raise ValueError(f"input kind {self.name}: declare a CSV layout or a parser, one of the two")
        if self.csv is not None:
            object.__setattr__(self, "tables", self.csv.tables)
        elif not self.tables:
            raise ValueError(f"input kind {self.name}: name the tables its parser fills")
        if self.header_drift is None:
            object.__setattr__(self, "header_drift", self.csv is not None)
        object.__setattr__(self, "_parse", partial(parse_csv, self.csv) if self.csv is not None else self.parser)

    def parse(self, path: Path, ctx: ParseContext, sink: Sink) -> None:
        """Parse one file of this kind into ``sink``."""
        self._parse(path, ctx, sink)

    def source_of(self, rel_path: str) -> str:
        """The data-quality source a file of this kind belongs to."""
        match = self.path.fullmatch(rel_path)
        if match is None:
            raise ValueError(f"{rel_path} is not a file of the input kind {self.name}")
        return rel_path if self.source is None else self.source.format(**match.groupdict())


class Catalogue:
    """The declared input kinds, in the order their path patterns are tried."""

    def __init__(self, kinds: Iterable[InputKind]) -> None:
        self.kinds = tuple(kinds)
        self._by_name = {k.name: k for k in self.kinds}
        if len(self._by_name) != len(self.kinds):
            raise ValueError("an input kind is declared twice")

    def classify(self, rel_path: str) -> InputKind | None:
        """The kind of a path relative to the night folder, or ``None`` if it is none of them."""
        return next((k for k in self.kinds if k.path.fullmatch(rel_path)), None)

    def named(self, name: str) -> InputKind:
        """The kind called ``name``."""
        return self._by_name[name]

    def adding(self, kind: InputKind) -> Catalogue:
        """These kinds and one more."""
        return Catalogue((*self.kinds, kind))


def _erp(name: str, file_name: str, layout: CsvLayout) -> InputKind:
    return InputKind(name, re.compile(rf"erp/{_USCC_DIR}/{re.escape(file_name)}"), csv=layout)


INPUT_KINDS = Catalogue((
    _erp("erp_vendors", "vendors.csv", erp.VENDORS),
    _erp("erp_po_items", "po_items.csv", erp.PO_ITEMS),
    _erp("erp_goods_receipts", "goods_receipts.csv", erp.GOODS_RECEIPTS),
    _erp("erp_ap_items", "ap_open_items.csv", erp.AP_ITEMS),
    InputKind("tax_status", re.compile(r"tax/invoice_status\.csv"), csv=tax.STATUS),
    InputKind("tax_invoice_xml", re.compile(r"tax/[^/]+\.xml", re.IGNORECASE), parser=tax.parse_invoices,
              tables=("tax_invoices", "tax_invoice_lines"), source="tax/*.xml"),
    InputKind("waybill_xml", re.compile(rf"logistics/(?P<folder>{_USCC_DIR})/[^/]+\.xml", re.IGNORECASE), parser=logistics.parse_waybills,
              tables=("waybills",), source="logistics/{folder}/*.xml"),
    InputKind("bill_xml", re.compile(r"bills/[^/]+\.xml", re.IGNORECASE), parser=bills.parse_bills,
              tables=("bills", "bill_endorsements"), source="bills/*.xml"),
    InputKind("voucher_events", re.compile(r"platform/voucher_events\.csv"), csv=platform.VOUCHER_EVENTS),
    InputKind("financings", re.compile(r"platform/financings\.csv"), csv=platform.FINANCINGS),
    # the bank's own master, never judged for header drift (as before the kinds were declared)
    InputKind("parties", re.compile(r"reference/parties\.csv"), csv=reference.PARTIES, header_drift=False),
))  # fmt: skip
"""Every input kind of the contract (docs/spec/INPUTS.md)."""


def declared() -> tuple[InputKind, ...]:
    """Every declared input kind."""
    return INPUT_KINDS.kinds


def classify(rel_path: str) -> InputKind | None:
    """The kind of a path relative to the night folder, or ``None`` if it is none of the declared ones."""
    return INPUT_KINDS.classify(rel_path)


def parse_file(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse the file at ``path`` (the archived bytes of ``ctx.rel_path``, of kind ``ctx.kind``) into ``sink``."""
    with amount_ceiling(ctx.max_amount_fen):
        INPUT_KINDS.named(ctx.kind).parse(Path(path), ctx, sink)
