"""platform/: the SCF platform's voucher events and the partner banks' financings.

Each CSV row gives one parent row (``voucher_events`` / ``financings``) and one child row
per invoice of its ``invoice_nos`` (``no:amount;…``), all with the row's line number.
Codes (event type, product, status) of the wrong form quarantine the row.  Every
identifier (event, voucher, financing and bill ids, USCCs, ``ap_ref``, invoice numbers,
bank codes) goes through the one identifier rule (:func:`foundation.values.normalise_identifier`:
full-width characters and stray spaces at the ends normalised, inner whitespace or control
characters refused), and those of a fixed form (voucher id, invoice number, bank code, bill
number) must match it.  A financings.csv row that is
quarantined also leaves a ``financing_rejects`` row with what of it can be read (financing
id, bank, product, asset), so that its financing never vanishes from the verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord, ParseContext, Sink
from connectors.parsers.batching import BatchBuilder, flush_all
from connectors.parsers.csvread import Row, for_each_row
from foundation import values
from warehouse.schemas import RATE

EVENT_TYPES = frozenset({"ISSUE", "SPLIT", "TRANSFER", "FINANCE", "SETTLE", "CANCEL"})
PRODUCTS = frozenset({"VOUCHER", "BILL", "INVOICE"})
FINANCING_STATUSES = frozenset({"ACTIVE", "REPAID", "DEFAULTED", "CANCELLED"})

_VOUCHER_ID = "a voucher id (V + 16 hex)"

_EVENT_COLUMNS = (
    "event_id", "event_time", "event_type", "voucher_id", "parent_voucher_id", "issuer_uscc", "from_uscc",
    "to_uscc", "amount", "maturity_date", "invoice_nos", "ap_ref", "financing_id",
)  # fmt: skip
_FINANCING_COLUMNS = (
    "financing_id", "bank_code", "product", "applicant_uscc", "debtor_uscc", "asset_ref", "invoice_nos",
    "face_amount", "financed_amount", "rate", "value_date", "maturity_date", "status",
)  # fmt: skip


def parse_voucher_events(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse ``voucher_events.csv`` into ``voucher_events`` and ``voucher_event_invoices``."""
    _parse_with_invoices(path, ctx, sink, "voucher_events", "voucher_event_invoices", _EVENT_COLUMNS, _event)


def parse_financings(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse ``financings.csv`` into ``financings`` and ``financing_invoices``; a row that fails
    is quarantined and what of it can be read goes to ``financing_rejects``."""
    rejects = BatchBuilder("financing_rejects", ctx, sink)

    def reject(line: int, row: Row, err: BadRecord) -> None:
        rejects.add(line, _financing_reject(row, err))

    _parse_with_invoices(path, ctx, sink, "financings", "financing_invoices", _FINANCING_COLUMNS, _financing, reject)
    rejects.flush()


Converted = tuple[tuple[Any, ...], list[tuple[str, int]]]
RejectHandler = Callable[[int, Row, BadRecord], None]


def _parse_with_invoices(
    path: Path,
    ctx: ParseContext,
    sink: Sink,
    table: str,
    invoice_table: str,
    columns: tuple[str, ...],
    convert: Callable[[Row], Converted],
    on_reject: RejectHandler | None = None,
) -> None:
    """Rows of ``table`` plus, per invoice ref, ``(row's first column, invoice_no, fen)``;
    ``on_reject`` sees each row that fails (before the reader quarantines it)."""
    parents = BatchBuilder(table, ctx, sink)
    children = BatchBuilder(invoice_table, ctx, sink)

    def handle(line: int, row: Row) -> None:
        try:
            parent, invoices = convert(row)
        except BadRecord as err:
            if on_reject is not None:
                on_reject(line, row, err)
            raise
        parents.add(line, parent)
        for number, amount in invoices:
            children.add(line, (parent[0], number, amount))

    for_each_row(path, ctx, sink, columns, handle)
    flush_all(parents, children)


def _event(row: Row) -> Converted:
    (event_id, event_time, event_type, voucher_id, parent_voucher_id, issuer_uscc, from_uscc, to_uscc, amount,
     maturity_date, invoice_nos, ap_ref, financing_id) = row  # fmt: skip
    parent = (
        F.required_ident("event_id", event_id),
        F.convert("event_time", values.parse_offset_datetime, event_time, need=True),
        event_time,  # verbatim: the ledger hashes it
        F.choice("event_type", event_type, EVENT_TYPES),
        F.identifier("voucher_id", voucher_id, F.VOUCHER_ID, _VOUCHER_ID),
        F.optional_identifier("parent_voucher_id", parent_voucher_id, F.VOUCHER_ID, _VOUCHER_ID),
        F.ident("issuer_uscc", issuer_uscc),
        F.ident("from_uscc", from_uscc),
        F.ident("to_uscc", to_uscc),
        F.required_fen("amount", amount),
        F.iso_date("maturity_date", maturity_date),
        F.text(invoice_nos),
        F.ident("ap_ref", ap_ref),
        F.ident("financing_id", financing_id),
    )
    return parent, F.invoice_refs("invoice_nos", invoice_nos)


def _financing_id(value: str | None) -> str:
    return F.required_ident("financing_id", value)


def _bank_code(value: str | None) -> str:
    return F.identifier("bank_code", value, F.BANK_CODE, "a 12-digit CNAPS bank code")


def _product(value: str | None) -> str | None:
    return F.choice("product", value, PRODUCTS)


def _asset_ref(value: str | None) -> str:
    return F.required_ident("asset_ref", value)


def _face(value: str | None) -> int:
    return F.required_fen("face_amount", value)


def _financing(row: Row) -> Converted:
    (financing_id, bank_code, product, applicant_uscc, debtor_uscc, asset_ref, invoice_nos, face_amount,
     financed_amount, rate, value_date, maturity_date, status) = row  # fmt: skip
    kind = _product(product)
    face = _face(face_amount)
    ref = _asset_ref(asset_ref)
    parent = (
        _financing_id(financing_id),
        _bank_code(bank_code),
        kind,
        F.ident("applicant_uscc", applicant_uscc),
        F.ident("debtor_uscc", debtor_uscc),
        ref,
        *_asset(kind, ref, face),
        F.text(invoice_nos),
        face,
        F.required_fen("financed_amount", financed_amount),
        F.decimal("rate", rate, RATE),
        F.iso_date("value_date", value_date),
        F.iso_date("maturity_date", maturity_date),
        F.choice("status", status, FINANCING_STATUSES),
    )
    return parent, F.invoice_refs("invoice_nos", invoice_nos)


T = TypeVar("T")


def _readable(convert: Callable[[str | None], T], value: str | None) -> T | None:
    """The field converted as a parsed row would have it, or ``None`` when it cannot be read."""
    try:
        return convert(value)
    except BadRecord:
        return None


def _financing_reject(row: Row, err: BadRecord) -> tuple[Any, ...]:
    """A ``financing_rejects`` row: whatever of a failed financings.csv row can be read."""
    financing_id, bank_code, product, _applicant, _debtor, asset_ref, _invoices, face_amount, *_rest = row
    kind = _readable(_product, product)
    ref = _readable(_asset_ref, asset_ref)
    face = _readable(_face, face_amount)
    asset: tuple[Any, ...] | None = None
    if kind is not None and ref is not None:
        asset = _readable(lambda text: _asset(kind, text or "", face), ref)
    return (
        _readable(_financing_id, financing_id),
        _readable(_bank_code, bank_code),
        kind,
        ref,
        *(asset or (None,) * 5),
        err.reason_code,
        err.reason,
    )


def _asset(product: str | None, ref: str, face_fen: int | None) -> tuple[Any, ...]:
    """asset_voucher_id, asset_cd_no, asset_range_start, asset_range_end, asset_invoice_no."""
    if product == "VOUCHER":
        return F.identifier("asset_ref", ref, F.VOUCHER_ID, _VOUCHER_ID), None, None, None, None
    if product == "INVOICE":
        return None, None, None, None, F.identifier("asset_ref", ref, F.INVOICE_NO, "a 20-digit invoice number")
    # BILL: "CdNo:start-end"; "CdNo" or "CdNo:0" is the whole unsplittable bill
    cd_no, sep, cd_range = ref.partition(":")
    sub_range = F.cd_range("asset_ref", cd_range) if sep else None
    start: int | None
    end: int | None
    if sub_range is not None:
        start, end = sub_range
    elif face_fen is not None:
        start, end = 1, face_fen
    else:  # a reject whose face amount cannot be read: the range is unknown
        start = end = None
    return None, F.identifier("asset_ref", cd_no, F.CD_NO, "a 30-digit bill number"), start, end, None
