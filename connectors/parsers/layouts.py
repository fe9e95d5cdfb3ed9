"""The XML layouts counterparties send (docs/spec/INPUTS.md), declared as data.

Each source family has a tuple of layouts; :func:`connectors.parsers.layout.detect` picks
one per file.  Columns a layout lacks are ``None`` in its rows, and the row's ``layout``
column names the layout, so that the checks can tell "not carried" from "different".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.parsers import fields as F
from connectors.parsers import vectorized as V
from connectors.parsers.base import BadRecord
from connectors.parsers.layout import Field, XmlLayout, joined, total
from foundation import values
from foundation.vocabulary import QuarantineReason
from warehouse.schemas import PRICE, QTY, RATE

# ---- field types: (path, text) -> typed value --------------------------------------------


def _text(path: str, text: str | None) -> str | None:
    return F.text(text)


def _time(path: str, text: str | None) -> Any:
    return F.convert(path, values.parse_compact_datetime, text)


def _quantity(path: str, text: str | None) -> Any:
    return F.decimal(path, text, QTY)


def _price(path: str, text: str | None) -> Any:
    return F.decimal(path, text, PRICE)


def _tax_rate(path: str, text: str | None) -> Any:
    return F.decimal(path, text, RATE, parse=values.parse_tax_rate)


def _invoice_no(path: str, text: str | None) -> str:
    return F.identifier(path, text, F.INVOICE_NO, F.INVOICE_NO_FORM)


def _invoice_time(path: str, text: str | None) -> Any:
    return F.convert(path, values.parse_invoice_time, text)


def _iso_date(path: str, text: str | None) -> Any:
    return F.iso_date(path, text)


def _rate(path: str, text: str | None) -> Any:
    return F.decimal(path, text, RATE)


def _cd_no(path: str, text: str | None) -> str:
    return F.identifier(path, text, F.CD_NO, "a 30-digit bill number")


def _waybill_status(path: str, text: str | None) -> str | None:
    return F.choice(path, text, WAYBILL_STATUSES, need=False)


def _count_total(counts: list[int]) -> int:
    """Packages of several vehicles, added up (bounded like one count)."""
    n = total(counts)
    if n >= 2**31:
        raise BadRecord(QuarantineReason.BAD_VALUE, f"TotalNumberOfPackages: total out of range: {n}")
    return n


# ---- logistics/<carrier_uscc>/: 电子路单 ---------------------------------------------------

#: ``Status`` codes: 1 揽收, 2 在途, 3 签收, 4 退签/拒收.
WAYBILL_STATUSES = frozenset({"1", "2", "3", "4"})
#: The element naming a waybill file's layout (absent from the contract layout).
_WAYBILL_VERSION = "Header/DocumentVersionNumber"

#: Fields of ``Body`` both waybill layouts carry at the same paths.
_WAYBILL_COMMON = (
    Field("waybill_no", "ShippingNoteNumber", F.ident, required=True),
    Field("po_no", "OriginalDocumentNumber", F.ident),
    Field("carrier_name", "Carrier", _text),
    Field("carrier_uscc", "UnifiedSocialCreditIdentifier", F.ident),
    Field("consignment_time", "ConsignmentDateTime", _time),
    Field("despatch_time", "DespatchActualDateTime", _time),
    Field("receipt_time", "GoodsReceiptDateTime", _time),
    Field("receipt_place", "ConsigneeInfo/GoodsReceiptPlace", _text),
    Field("origin_region", "ConsignorInfo/CountrySubdivisionCode", _text),
    Field("region_code", "ConsigneeInfo/CountrySubdivisionCode", _text),
)


def _status_from_times(row: Mapping[str, Any]) -> str:
    """A 2015WCCYR waybill's state from its times: 签收 once received (INPUTS.md), else 在途
    once despatched, else 揽收.  Rejection (4) is not told by this layout."""
    return "3" if row["receipt_time"] else "2" if row["despatch_time"] else "1"


WAYBILL_CONTRACT = XmlLayout(
    name="contract",
    record="Body",
    roots=frozenset({"Root"}),
    version_path=_WAYBILL_VERSION,
    fields=(
        *_WAYBILL_COMMON,
        Field("consignor_name", "ConsignorInfo/Consignor", _text),
        Field("consignor_uscc", "ConsignorInfo/ConsignorID", F.ident),
        Field("consignee_name", "ConsigneeInfo/Consignee", _text),
        Field("consignee_uscc", "ConsigneeInfo/ConsigneeID", F.ident),
        Field("goods_desc", "GoodsInfo/DescriptionOfGoods", _text),
        Field("quantity", "GoodsInfo/Quantity", _quantity),
        Field("unit", "GoodsInfo/MeaUnits", _text),
        Field("gross_weight", "GoodsInfo/GoodsItemGrossWeight", _quantity),
        Field("packages", "GoodsInfo/TotalNumberOfPackages", F.integer),
        Field("status", "Status", _waybill_status),
    ),
)

#: 无车承运人/网络货运 电子路单 as uploaded to the transport authority: parties by name and
#: region only, goods per vehicle (weight and packages, no quantity), no status.
WAYBILL_2015WCCYR = XmlLayout(
    name="2015WCCYR",
    record="Body",
    roots=frozenset({"Root"}),
    version="2015WCCYR",
    version_path=_WAYBILL_VERSION,
    marker="VehicleInfo",
    fields=(
        *_WAYBILL_COMMON,
        Field("consignor_name", "ConsignorInfo/Consignor", _text, required=True),
        Field("consignee_name", "ConsigneeInfo/Consignee", _text, required=True),
        Field("goods_desc", "VehicleInfo/GoodsInfo/DescriptionOfGoods", _text, combine=joined),
        Field("gross_weight", "VehicleInfo/GoodsInfo/GoodsItemGrossWeight", _quantity, combine=total),
        Field("packages", "VehicleInfo/GoodsInfo/TotalNumberOfPackages", F.integer, combine=_count_total),
    ),
    derived={"status": _status_from_times},
)

WAYBILL_LAYOUTS: tuple[XmlLayout, ...] = (WAYBILL_2015WCCYR, WAYBILL_CONTRACT)


# ---- tax/: 数电票 --------------------------------------------------------------------------

#: The invoice lines of an ``EInvoice``: a group of :data:`TAX_INVOICE`, each read by :data:`TAX_LINE`.
TAX_LINES = "EInvoiceData/IssuItemInformation"

#: An ``EInvoice`` (one per file, or many in an ``EInvoiceBatch``), every field by its full path:
#: the header total ``TotalTax-includedAmount`` and the line total ``TotaltaxIncludedAmount``
#: differ only by case and hyphen.  ``issue_label`` (``Y`` blue, ``N…`` red-letter) is read for
#: the parser to derive ``is_red``.
TAX_INVOICE = XmlLayout(
    name="contract",
    record="EInvoice",
    roots=frozenset({"EInvoiceBatch"}),
    fields=(
        Field("invoice_no", "Header/EIid", _invoice_no, required=True),
        Field("issue_label", "Header/InherentLabel/InIssuType/LabelCode", _text, required=True),
        Field("vat_kind", "Header/InherentLabel/GeneralOrSpecialVAT/LabelCode", _text),
        Field("seller_uscc", "EInvoiceData/SellerInformation/SellerIdNum", F.ident, required=True),
        Field("seller_name", "EInvoiceData/SellerInformation/SellerName", _text),
        Field("buyer_uscc", "EInvoiceData/BuyerInformation/BuyerIdNum", F.ident),
        Field("buyer_name", "EInvoiceData/BuyerInformation/BuyerName", _text),
        Field("amount_fen", "EInvoiceData/BasicInformation/TotalAmWithoutTax", F.fen, required=True),
        Field("tax_fen", "EInvoiceData/BasicInformation/TotalTaxAm", F.fen, required=True),
        Field("total_fen", "EInvoiceData/BasicInformation/TotalTax-includedAmount", F.fen, required=True),
        Field("issue_time", "EInvoiceData/BasicInformation/RequestTime", _invoice_time),
        Field("original_invoice_no", "EInvoiceData/SpecificInformation/RedEInvoice/OriginalInvoiceCode", F.ident),
        Field("remark", "EInvoiceData/AdditionalInformation/Remark", _text),
        Field("tax_bureau_code", "TaxSupervisionInfo/TaxBureauCode", _text),
    ),
    groups=(TAX_LINES,),
)

#: One ``IssuItemInformation``; the unit price keeps its real precision (10 decimals and more).
TAX_LINE = XmlLayout(
    name="contract",
    record="IssuItemInformation",
    roots=frozenset(),
    fields=(
        Field("item_name", "ItemName", _text),
        Field("spec", "SpecMod", _text),
        Field("unit", "MeaUnits", _text),
        Field("quantity", "Quantity", _quantity),
        Field("unit_price", "UnPrice", _price),
        Field("amount_fen", "Amount", F.fen, required=True),
        Field("tax_rate", "TaxRate", _tax_rate),
        Field("tax_fen", "ComTaxAm", F.fen, required=True),
        Field("tax_code", "TaxClassificationCode", _text),
    ),
)


# ---- bills/: 票交所 bill records ---------------------------------------------------------------

#: The endorsements of a ``CdInf`` (a group of :data:`BILL`, in order), each read by :data:`ENDORSEMENT`.
ENDORSEMENTS = "Endrsmt"


def _party_fields(tag: str, column: str) -> tuple[Field, Field]:
    return Field(f"{column}_name", f"{tag}/Nm", _text), Field(f"{column}_uscc", f"{tag}/CmonId", F.ident)


#: A ``CdInf`` of a ``CdInfList``.  ``cd_range_text`` (``start-end``, or ``0`` = not splittable)
#: is read for the parser to derive ``splittable`` and the range.
BILL = XmlLayout(
    name="contract",
    record="CdInf",
    roots=frozenset({"CdInfList"}),
    fields=(
        Field("cd_no", "CdNo", _cd_no, required=True),
        Field("cd_range_text", "CdRange", _text, required=True),
        Field("bill_type", "Tp", _text),
        Field("amount_fen", "CdAmt", F.fen, required=True),
        Field("currency", "CdAmt/@Ccy", _text),
        Field("issue_date", "IsseDt", _iso_date),
        Field("due_date", "DueDt", _iso_date),
        *_party_fields("Drwr", "drawer"),
        *_party_fields("Accptr", "acceptor"),
        *_party_fields("Pyee", "payee"),
        Field("ban_endorsement", "BanEndrsmtMk", _text),
        Field("discount_date", "Dscnt/Dt", _iso_date),
        Field("discount_rate", "Dscnt/IntrstRate", _rate),
        Field("discount_amount_fen", "Dscnt/Amt", F.fen),
        Field("discount_bank", "Dscnt/DscntBk", F.ident),
        Field("pledge_date", "Collztn/Dt", _iso_date),
        Field("pledge_bank", "Collztn/CollztnBk", F.ident),
        Field("bill_status", "CdSts", _text),
        Field("circulation_status", "CircSts", _text),
        Field("invoice_nos", "InvcNb", F.ident, combine=list),
    ),
    groups=(ENDORSEMENTS,),
)

#: One ``Endrsmt``.
ENDORSEMENT = XmlLayout(
    name="contract",
    record="Endrsmt",
    roots=frozenset(),
    fields=(
        Field("endorsement_date", "Dt", _iso_date),
        Field("endorser_uscc", "Endrsr/CmonId", F.ident),
        Field("endorsee_uscc", "Endrsee/CmonId", F.ident),
    ),
)


#: The vectorized form of each field type above (:mod:`connectors.parsers.vectorized`), for the
#: columnar path (:mod:`connectors.parsers.xmlcolumns`); the Python converters stay the definition.
VECTORIZED: dict[Any, V.Vector] = {
    **V.SHARED,
    _text: V.text,
    _time: V.compact_time,
    _quantity: V.decimal(QTY),
    _price: V.decimal(PRICE),
    _tax_rate: V.tax_rate(RATE),
    _invoice_no: V.identifier(F.INVOICE_NO),
    _invoice_time: V.invoice_time,
    _iso_date: V.iso_date,
    _rate: V.decimal(RATE),
    _cd_no: V.identifier(F.CD_NO),
    _waybill_status: V.choice(WAYBILL_STATUSES),
}
