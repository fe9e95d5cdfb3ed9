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
from foundation.vocabulary import EVENT_TYPES, FINANCING_STATUSES, PRODUCTS
from warehouse.schemas import PARSED, RATE

_VOUCHER_ID = "a voucher id (V + 16 hex)"
_EVENT, _FINANCING, _REJECT = (PARSED[t].Record for t in ("voucher_events", "financings", "financing_rejects"))
_NO_ASSET = dict.fromkeys(("asset_voucher_id", "asset_cd_no", "asset_range_start", "asset_range_end", "asset_invoice_no"))

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


Converted = tuple[Any, list[tuple[str, int]]]
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
    """Rows of ``table`` plus, per invoice ref, a row of ``invoice_table`` (its parent's key,
    ``invoice_no``, ``amount_fen``); ``on_reject`` sees each row that fails (before the reader
    quarantines it)."""
    parents = BatchBuilder(table, ctx, sink)
    children = BatchBuilder(invoice_table, ctx, sink)
    child_of = PARSED[invoice_table].child_of
    assert child_of is not None and child_of[0] == table
    (parent_key,) = child_of[1]
    child = PARSED[invoice_table].Record

    def handle(line: int, row: Row) -> None:
        try:
            parent, invoices = convert(row)
        except BadRecord as err:
            if on_reject is not None:
                on_reject(line, row, err)
            raise
        parents.add(line, parent)
        key = {parent_key: getattr(parent, parent_key)}
        for number, amount in invoices:
            children.add(line, child(**key, invoice_no=number, amount_fen=amount))

    for_each_row(path, ctx, sink, columns, handle)
    flush_all(parents, children)


def _event(row: Row) -> Converted:
    (event_id, event_time, event_type, voucher_id, parent_voucher_id, issuer_uscc, from_uscc, to_uscc, amount,
     maturity_date, invoice_nos, ap_ref, financing_id) = row  # fmt: skip
    parent = _EVENT(
        event_id=F.required_ident("event_id", event_id),
        event_time=F.convert("event_time", values.parse_offset_datetime, event_time, need=True),
        event_time_text=event_time,  # verbatim: the ledger hashes it
        event_type=F.choice("event_type", event_type, EVENT_TYPES),
        voucher_id=F.identifier("voucher_id", voucher_id, F.VOUCHER_ID, _VOUCHER_ID),
        parent_voucher_id=F.optional_identifier("parent_voucher_id", parent_voucher_id, F.VOUCHER_ID, _VOUCHER_ID),
        issuer_uscc=F.ident("issuer_uscc", issuer_uscc),
        from_uscc=F.ident("from_uscc", from_uscc),
        to_uscc=F.ident("to_uscc", to_uscc),
        amount_fen=F.required_fen("amount", amount),
        maturity_date=F.iso_date("maturity_date", maturity_date),
        invoice_nos=F.text(invoice_nos),
        ap_ref=F.ident("ap_ref", ap_ref),
        financing_id=F.ident("financing_id", financing_id),
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
    parent = _FINANCING(
        financing_id=_financing_id(financing_id),
        bank_code=_bank_code(bank_code),
        product=kind,
        applicant_uscc=F.ident("applicant_uscc", applicant_uscc),
        debtor_uscc=F.ident("debtor_uscc", debtor_uscc),
        asset_ref=ref,
        **_asset(kind, ref, face),
        invoice_nos=F.text(invoice_nos),
        face_amount_fen=face,
        financed_amount_fen=F.required_fen("financed_amount", financed_amount),
        rate=F.decimal("rate", rate, RATE),
        value_date=F.iso_date("value_date", value_date),
        maturity_date=F.iso_date("maturity_date", maturity_date),
        status=F.choice("status", status, FINANCING_STATUSES),
    )
    return parent, F.invoice_refs("invoice_nos", invoice_nos)


T = TypeVar("T")


def _readable(convert: Callable[[str | None], T], value: str | None) -> T | None:
    """The field converted as a parsed row would have it, or ``None`` when it cannot be read."""
    try:
        return convert(value)
    except BadRecord:
        return None


def _financing_reject(row: Row, err: BadRecord) -> Any:
    """A ``financing_rejects`` row: whatever of a failed financings.csv row can be read."""
    financing_id, bank_code, product, _applicant, _debtor, asset_ref, _invoices, face_amount, *_rest = row
    kind = _readable(_product, product)
    ref = _readable(_asset_ref, asset_ref)
    face = _readable(_face, face_amount)
    asset: dict[str, Any] | None = None
    if kind is not None and ref is not None:
        asset = _readable(lambda text: _asset(kind, text or "", face), ref)
    return _REJECT(
        financing_id=_readable(_financing_id, financing_id),
        bank_code=_readable(_bank_code, bank_code),
        product=kind,
        asset_ref=ref,
        **(asset or _NO_ASSET),
        reason_code=err.reason_code,
        reason=err.reason,
    )


def _asset(product: str | None, ref: str, face_fen: int | None) -> dict[str, Any]:
    """The asset_ref parsed by product: asset_voucher_id, asset_cd_no, asset_range_start, asset_range_end, asset_invoice_no."""
    if product == "VOUCHER":
        return {**_NO_ASSET, "asset_voucher_id": F.identifier("asset_ref", ref, F.VOUCHER_ID, _VOUCHER_ID)}
    if product == "INVOICE":
        return {**_NO_ASSET, "asset_invoice_no": F.identifier("asset_ref", ref, F.INVOICE_NO, "a 20-digit invoice number")}
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
    cd = F.identifier("asset_ref", cd_no, F.CD_NO, "a 30-digit bill number")
    return {**_NO_ASSET, "asset_cd_no": cd, "asset_range_start": start, "asset_range_end": end}
