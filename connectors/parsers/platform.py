"""platform/: the SCF platform's voucher events and the partner banks' financings, declared as
CSV layouts (:mod:`connectors.parsers.csvlayout`).

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

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.parsers import fields as F
from connectors.parsers import vectorized as V
from connectors.parsers.base import BadRecord
from connectors.parsers.csvlayout import Children, CsvField, CsvLayout, Rejects, verbatim
from foundation import values
from foundation.vocabulary import EVENT_TYPES, FINANCING_STATUSES, PRODUCTS
from warehouse.schemas import PARSED

_VOUCHER_ID = "a voucher id (V + 16 hex)"
_REJECT = PARSED["financing_rejects"].Record
_NO_ASSET = dict.fromkeys(("asset_voucher_id", "asset_cd_no", "asset_range_start", "asset_range_end", "asset_invoice_no"))


def _event_time(name: str, value: str | None) -> Any:
    return F.convert(name, values.parse_offset_datetime, value)


def _invoice_refs(name: str, value: str | None) -> list[tuple[Any, ...]]:
    return list(F.invoice_refs(name, value))


def _invoice_ref_columns(texts: pa.StringArray) -> tuple[pa.Array, list[pa.Array], pa.BooleanArray]:
    """:func:`_invoice_refs` vectorized: per reference, its row and (invoice number, amount); per row, whether decided."""
    parent, numbers, amounts, ok = V.invoice_refs(texts)
    return parent, [numbers, amounts], ok



VOUCHER_EVENTS = CsvLayout(
    "voucher_events",
    (
        CsvField("event_id", "event_id", F.ident, required=True),
        CsvField("event_time", "event_time", _event_time, required=True),
        CsvField("event_time_text", "event_time", verbatim),  # verbatim: the ledger hashes it
        CsvField("event_type", "event_type", choices=EVENT_TYPES, required=True),
        CsvField("voucher_id", "voucher_id", pattern=F.VOUCHER_ID, form=_VOUCHER_ID, required=True),
        CsvField("parent_voucher_id", "parent_voucher_id", pattern=F.VOUCHER_ID, form=_VOUCHER_ID),
        CsvField("issuer_uscc", "issuer_uscc", F.ident),
        CsvField("from_uscc", "from_uscc", F.ident),
        CsvField("to_uscc", "to_uscc", F.ident),
        CsvField("amount_fen", "amount", required=True),
        CsvField("maturity_date", "maturity_date"),
        CsvField("invoice_nos", "invoice_nos"),
        CsvField("ap_ref", "ap_ref", F.ident),
        CsvField("financing_id", "financing_id", F.ident),
    ),
    children=Children("voucher_event_invoices", "invoice_nos", _invoice_refs, _invoice_ref_columns),
    vectors={_event_time: V.offset_time},
)


def _asset_columns(row: dict[str, Any]) -> None:
    """The financing's hook: its ``asset_ref`` parsed by product (:func:`_asset`)."""
    row.update(_asset(row["product"], row["asset_ref"], row["face_amount_fen"]))


def _readable(column: str, texts: Mapping[str, str | None]) -> Any:
    """A field of a failed row read as a parsed row would have it, or ``None`` when it cannot be read."""
    try:
        return FINANCINGS.value(column, texts)
    except BadRecord:
        return None


def _financing_reject(texts: Mapping[str, str | None], err: BadRecord) -> Any:
    """A ``financing_rejects`` row: whatever of a failed financings.csv row can be read."""
    kind, ref, face = (_readable(c, texts) for c in ("product", "asset_ref", "face_amount_fen"))
    asset: dict[str, Any] | None = None
    if kind is not None and ref is not None:
        try:
            asset = _asset(kind, ref, face)
        except BadRecord:
            asset = None
    return _REJECT(
        financing_id=_readable("financing_id", texts),
        bank_code=_readable("bank_code", texts),
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
        return {**_NO_ASSET, "asset_invoice_no": F.identifier("asset_ref", ref, F.INVOICE_NO, F.INVOICE_NO_FORM)}
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


_CD_REF = "^(?P<cd_no>[^:]*)(?P<sep>:?)(?P<range>.*)$"  # str.partition(":")
_CD_RANGE = "^(?P<start>[0-9]{1,18})-(?P<end>[0-9]{1,18})$"  # values.parse_cd_range's form, within 64 bits


def _asset_vector(columns: Mapping[str, pa.Array]) -> tuple[dict[str, pa.Array], pa.BooleanArray]:
    """:func:`_asset_columns` vectorized: a voucher id, an invoice number, a bill number with its whole range
    (``CdNo``, ``CdNo:0``) or a plain sub-range; anything else is left to it."""
    product, ref, face = columns["product"], columns["asset_ref"], columns["face_amount_fen"]
    voucher, voucher_ok = V.identifier(F.VOUCHER_ID)(ref, pa.string())
    invoice, invoice_ok = V.identifier(F.INVOICE_NO)(ref, pa.string())
    parts = pc.extract_regex(ref, _CD_REF)
    cd, cd_ok = V.identifier(F.CD_NO)(pc.struct_field(parts, [0]), pa.string())
    sub = pc.struct_field(parts, [2])
    whole = pc.or_(pc.equal(pc.struct_field(parts, [1]), ""), pc.equal(sub, "0"))
    bounds = pc.extract_regex(sub, _CD_RANGE)
    start, end = (pc.struct_field(bounds, [i]).cast(pa.int64()) for i in (0, 1))
    ranged = pc.and_(pc.and_(pc.greater_equal(start, 1), pc.greater_equal(end, start)), pc.less_equal(end, F.ceiling()))
    is_voucher, is_invoice = pc.equal(product, "VOUCHER"), pc.equal(product, "INVOICE")
    is_bill = pc.invert(pc.or_(is_voucher, is_invoice))
    bill_ok = pc.and_(cd_ok, pc.or_(whole, pc.fill_null(ranged, False)))
    ok = pc.if_else(is_voucher, voucher_ok, pc.if_else(is_invoice, invoice_ok, bill_ok))
    nothing = pa.scalar(None, pa.string())
    return {
        "asset_voucher_id": pc.if_else(is_voucher, voucher, nothing),
        "asset_invoice_no": pc.if_else(is_invoice, invoice, nothing),
        "asset_cd_no": pc.if_else(is_bill, cd, nothing),
        "asset_range_start": pc.if_else(is_bill, pc.if_else(whole, pa.scalar(1, pa.int64()), start), pa.scalar(None, pa.int64())),
        "asset_range_end": pc.if_else(is_bill, pc.if_else(whole, face, end), pa.scalar(None, pa.int64())),
    }, ok


FINANCINGS = CsvLayout(
    "financings",
    (  # read in this order: the first field that does not read is the one named
        CsvField("product", "product", choices=PRODUCTS, required=True),
        CsvField("face_amount_fen", "face_amount", required=True),
        CsvField("asset_ref", "asset_ref", F.ident, required=True),
        CsvField("financing_id", "financing_id", F.ident, required=True),
        CsvField("bank_code", "bank_code", pattern=F.BANK_CODE, form="a 12-digit CNAPS bank code", required=True),
        CsvField("applicant_uscc", "applicant_uscc", F.ident),
        CsvField("debtor_uscc", "debtor_uscc", F.ident),
        CsvField("invoice_nos", "invoice_nos"),
        CsvField("financed_amount_fen", "financed_amount", required=True),
        CsvField("rate", "rate"),
        CsvField("value_date", "value_date"),
        CsvField("maturity_date", "maturity_date"),
        CsvField("status", "status", choices=FINANCING_STATUSES, required=True),
    ),
    derive=_asset_columns,
    children=Children("financing_invoices", "invoice_nos", _invoice_refs, _invoice_ref_columns),
    rejects=Rejects("financing_rejects", _financing_reject),
    derive_columns=_asset_vector,
)
