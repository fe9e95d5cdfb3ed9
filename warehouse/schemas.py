"""Typed tables of the warehouse: the contract between parsers, warehouse and checks.

Every table parsed from a delivered file starts with the same three lineage columns:

* ``business_date`` -- the night the file was delivered for (the inbox folder's date);
* ``src_sha256``    -- the SHA-256 of the archived file the row came from;
* ``src_pos``       -- the row's position in that file: the 1-based line number for CSV
  (header = line 1), the 1-based ordinal of the record element for XML.

Money is always integer fen (``*_fen`` columns, ``int64``): never a float.  Quantities,
unit prices and rates keep their decimal text exactly as ``decimal128``.  Timestamps
are naive, in China Standard Time (UTC+8), which is what every source but the platform
uses; the platform's offset-carrying times are converted to UTC+8.

Each table is declared once here (:class:`warehouse.registry.Table`): its DuckDB table, its
Arrow schema and the named record a parser fills all come from that declaration, so this
module is the single source of truth for the input tables' column names and types.
"""

from __future__ import annotations

import pyarrow as pa

from foundation.vocabulary import FileStatus, FinancingStatus
from warehouse.registry import LINEAGE, Column, Table

QTY = pa.decimal128(18, 4)
PRICE = pa.decimal128(38, 18)  # real 数电票 unit prices carry 10 decimals and more
RATE = pa.decimal128(9, 6)
FEN = pa.int64()



def _parsed(*columns: Column) -> tuple[Column, ...]:
    return (*LINEAGE, *columns)


INPUT_TABLES: tuple[Table, ...] = (
    # ---- erp/<core_uscc>/ ------------------------------------------------------
    Table(
        "erp_vendors",
        _parsed(
            Column("core_uscc", pa.string()),
            Column("lifnr", pa.string()),
            Column("name", pa.string()),
            Column("vendor_uscc", pa.string()),
        ),
        key=("core_uscc", "lifnr"),
        parsed=True,
    ),
    Table(
        "erp_po_items",
        _parsed(
            Column("core_uscc", pa.string()),
            Column("ebeln", pa.string()),
            Column("ebelp", pa.string()),
            Column("lifnr", pa.string()),
            Column("po_date", pa.date32()),
            Column("matnr", pa.string()),
            Column("item_text", pa.string()),
            Column("quantity", QTY),
            Column("unit", pa.string()),
            Column("net_price", PRICE),
            Column("net_value_fen", FEN),
        ),
        key=("core_uscc", "ebeln", "ebelp"),
        parsed=True,
    ),
    Table(
        "erp_goods_receipts",
        _parsed(
            Column("core_uscc", pa.string()),
            Column("mblnr", pa.string()),
            Column("mjahr", pa.string()),
            Column("zeile", pa.string()),
            Column("movement_type", pa.string(), note="BWART: 101 receipt, 102 reversal"),
            Column("ebeln", pa.string()),
            Column("ebelp", pa.string()),
            Column("quantity", QTY),
            Column("posting_date", pa.date32()),
            Column("delivery_note", pa.string(), note="XBLNR = waybill number"),
        ),
        key=("core_uscc", "mblnr", "mjahr", "zeile"),
        parsed=True,
    ),
    Table(
        "erp_ap_items",
        _parsed(
            Column("core_uscc", pa.string()),
            Column("bukrs", pa.string()),
            Column("lifnr", pa.string()),
            Column("gjahr", pa.string()),
            Column("belnr", pa.string()),
            Column("buzei", pa.string()),
            Column("ap_ref", pa.string(), note="BUKRS-GJAHR-BELNR-BUZEI, as voucher ISSUE events cite it"),
            Column("posting_date", pa.date32()),
            Column("document_date", pa.date32()),
            Column("document_type", pa.string(), note="BLART: RE, KR, KG"),
            Column("debit_credit", pa.string(), note="SHKZG: H credit (payable), S debit"),
            Column("amount_fen", FEN, note="WRBTR as delivered (a trailing minus makes it negative)"),
            Column("currency", pa.string()),
            Column("baseline_date", pa.date32()),
            Column("payment_days", pa.int32(), note="the net period: ZBD3T if set, else ZBD2T if set, else ZBD1T"),
            Column("due_date", pa.date32(), note="SAP's net due date: ZFBDT + payment_days"),
            Column("item_text", pa.string()),
            Column("invoice_no", pa.string(), note="the 20-digit invoice number found in SGTXT, if any"),
            Column("ebeln", pa.string()),
            Column("clearing_date", pa.date32()),
            Column("clearing_doc", pa.string()),
        ),
        key=("core_uscc", "bukrs", "gjahr", "belnr", "buzei"),
        parsed=True,
    ),
    # ---- tax/ -----------------------------------------------------------------
    Table(
        "tax_invoices",
        _parsed(
            Column("invoice_no", pa.string()),
            Column("is_red", pa.bool_(), note="red-letter (negative) invoice"),
            Column("original_invoice_no", pa.string(), note="on a red-letter invoice: the blue one it reverses"),
            Column("vat_kind", pa.string(), note="01 专票, 02 普票"),
            Column("seller_uscc", pa.string()),
            Column("seller_name", pa.string()),
            Column("buyer_uscc", pa.string()),
            Column("buyer_name", pa.string()),
            Column("amount_fen", FEN, note="TotalAmWithoutTax"),
            Column("tax_fen", FEN, note="TotalTaxAm"),
            Column("total_fen", FEN, note="TotalTax-includedAmount"),
            Column("issue_time", pa.timestamp("s")),
            Column("remark", pa.string()),
            Column("tax_bureau_code", pa.string()),
            Column("line_count", pa.int32()),
            Column("lines_amount_fen", FEN, note="sum of line Amount"),
            Column("lines_tax_fen", FEN, note="sum of line ComTaxAm"),
            Column("lines_quantity", QTY, note="sum of line Quantity"),
            Column("max_line_tax_gap_fen", FEN, note="max |Amount x TaxRate - ComTaxAm| over lines"),
        ),
        key=("invoice_no",),
        parsed=True,
    ),
    Table(
        "tax_invoice_lines",
        _parsed(
            Column("invoice_no", pa.string()),
            Column("line_no", pa.int32()),
            Column("item_name", pa.string()),
            Column("spec", pa.string()),
            Column("unit", pa.string()),
            Column("quantity", QTY),
            Column("unit_price", PRICE),
            Column("amount_fen", FEN),
            Column("tax_rate", RATE, note="0.13 whether delivered as \"0.13\" or \"13%\""),
            Column("tax_fen", FEN),
            Column("tax_code", pa.string()),
        ),
        key=("invoice_no", "line_no"),
        child_of=('tax_invoices', ('invoice_no',)),
        parsed=True,
    ),
    Table(
        "tax_invoice_status",
        _parsed(
            Column("invoice_no", pa.string()),
            Column("status", pa.string(), note="0 正常, 1 失控, 2 作废, 3 红冲, 4 异常"),
            Column("red_flushed_fen", FEN, note="hcje: red-flushed so far, total"),
            Column("change_date", pa.date32()),
        ),
        key=("invoice_no",),
        parsed=True,
    ),
    # ---- logistics/<carrier_uscc>/ ------------------------------------------------
    Table(
        "waybills",
        _parsed(
            Column("carrier_dir_uscc", pa.string(), note="the folder it was delivered in"),
            Column("message_ref", pa.string()),
            Column("waybill_no", pa.string()),
            Column("po_no", pa.string(), note="OriginalDocumentNumber = EBELN"),
            Column("carrier_name", pa.string()),
            Column("carrier_uscc", pa.string()),
            Column("consignment_time", pa.timestamp("s")),
            Column("despatch_time", pa.timestamp("s")),
            Column("receipt_time", pa.timestamp("s"), note="null until 签收"),
            Column("consignor_name", pa.string()),
            Column("consignor_uscc", pa.string()),
            Column("consignee_name", pa.string()),
            Column("consignee_uscc", pa.string()),
            Column("receipt_place", pa.string()),
            Column("region_code", pa.string()),
            Column("goods_desc", pa.string()),
            Column("quantity", QTY),
            Column("unit", pa.string()),
            Column("gross_weight", QTY),
            Column("packages", pa.int32()),
            Column("status", pa.string(), note="1 揽收, 2 在途, 3 签收, 4 退签/拒收 (2015WCCYR: from the times)"),
            Column("origin_region", pa.string(), note="ConsignorInfo/CountrySubdivisionCode (2015WCCYR)"),
            Column("layout", pa.string(), note="the layout the waybill came in: contract, 2015WCCYR"),
        ),
        key=("carrier_uscc", "waybill_no"),
        parsed=True,
    ),
    # ---- bills/ -----------------------------------------------------------------
    Table(
        "bills",
        _parsed(
            Column("cd_no", pa.string()),
            Column("splittable", pa.bool_(), note="CdRange != \"0\""),
            Column("range_start", pa.int64(), note="for an unsplittable bill: 1"),
            Column("range_end", pa.int64(), note="for an unsplittable bill: amount in fen"),
            Column("bill_type", pa.string(), note="AC01 bank, AC02 commercial acceptance"),
            Column("amount_fen", FEN),
            Column("currency", pa.string()),
            Column("issue_date", pa.date32()),
            Column("due_date", pa.date32()),
            Column("drawer_name", pa.string()),
            Column("drawer_uscc", pa.string()),
            Column("acceptor_name", pa.string()),
            Column("acceptor_uscc", pa.string()),
            Column("payee_name", pa.string()),
            Column("payee_uscc", pa.string()),
            Column("ban_endorsement", pa.string(), note="EM00 transferable, EM01 not"),
            Column("discount_date", pa.date32()),
            Column("discount_rate", RATE),
            Column("discount_amount_fen", FEN),
            Column("discount_bank", pa.string()),
            Column("pledge_date", pa.date32()),
            Column("pledge_bank", pa.string()),
            Column("bill_status", pa.string(), note="CdSts"),
            Column("circulation_status", pa.string(), note="CircSts"),
            Column("invoice_nos", pa.list_(pa.string())),
            Column("endorsement_count", pa.int32()),
            Column("holder_uscc", pa.string(), note="last endorsee, or the payee when never endorsed"),
        ),
        key=("cd_no", "range_start"),
        parsed=True,
    ),
    Table(
        "bill_endorsements",
        _parsed(
            Column("cd_no", pa.string()),
            Column("range_start", pa.int64()),
            Column("seq", pa.int32(), note="1-based order within the bill record"),
            Column("endorsement_date", pa.date32()),
            Column("endorser_uscc", pa.string()),
            Column("endorsee_uscc", pa.string()),
        ),
        key=("cd_no", "range_start", "seq"),
        child_of=('bills', ('cd_no', 'range_start')),
        parsed=True,
    ),
    # ---- platform/ ----------------------------------------------------------------
    Table(
        "voucher_events",
        _parsed(
            Column("event_id", pa.string()),
            Column("event_time", pa.timestamp("s"), note="converted to UTC+8, naive"),
            Column("event_time_text", pa.string(), note="exactly as delivered (the ledger hashes this)"),
            Column("event_type", pa.string()),
            Column("voucher_id", pa.string()),
            Column("parent_voucher_id", pa.string()),
            Column("issuer_uscc", pa.string()),
            Column("from_uscc", pa.string()),
            Column("to_uscc", pa.string()),
            Column("amount_fen", FEN),
            Column("maturity_date", pa.date32()),
            Column("invoice_nos", pa.string(), note="as delivered: \"no:amount;no:amount\""),
            Column("ap_ref", pa.string()),
            Column("financing_id", pa.string()),
        ),
        key=("event_id",),
        parsed=True,
    ),
    Table(
        "voucher_event_invoices",
        _parsed(
            Column("event_id", pa.string()),
            Column("invoice_no", pa.string()),
            Column("amount_fen", FEN),
        ),
        key=("event_id", "invoice_no"),
        child_of=('voucher_events', ('event_id',)),
        parsed=True,
    ),
    Table(
        "financings",
        _parsed(
            Column("financing_id", pa.string()),
            Column("bank_code", pa.string()),
            Column("product", pa.string(), note="VOUCHER, BILL, INVOICE"),
            Column("applicant_uscc", pa.string()),
            Column("debtor_uscc", pa.string()),
            Column("asset_ref", pa.string()),
            Column("asset_voucher_id", pa.string(), note="asset_ref parsed, by product"),
            Column("asset_cd_no", pa.string()),
            Column("asset_range_start", pa.int64()),
            Column("asset_range_end", pa.int64()),
            Column("asset_invoice_no", pa.string()),
            Column("invoice_nos", pa.string(), note="as delivered"),
            Column("face_amount_fen", FEN),
            Column("financed_amount_fen", FEN),
            Column("rate", RATE),
            Column("value_date", pa.date32()),
            Column("maturity_date", pa.date32()),
            Column("status", pa.string(), note=", ".join(FinancingStatus)),
        ),
        key=("financing_id",),
        parsed=True,
    ),
    Table(
        "financing_invoices",
        _parsed(
            Column("financing_id", pa.string()),
            Column("invoice_no", pa.string()),
            Column("amount_fen", FEN),
        ),
        key=("financing_id", "invoice_no"),
        child_of=('financings', ('financing_id',)),
        parsed=True,
    ),
    # A financings.csv row that failed parsing (it is also quarantined): what of it could be
    # read, so that the financing it names still gets a verdict and counts against its asset.
    Table(
        "financing_rejects",
        _parsed(
            Column("financing_id", pa.string()),
            Column("bank_code", pa.string()),
            Column("product", pa.string()),
            Column("asset_ref", pa.string()),
            Column("asset_voucher_id", pa.string(), note="asset_ref parsed, where product and asset_ref can be read"),
            Column("asset_cd_no", pa.string()),
            Column("asset_range_start", pa.int64()),
            Column("asset_range_end", pa.int64()),
            Column("asset_invoice_no", pa.string()),
            Column("reason_code", pa.string()),
            Column("reason", pa.string()),
        ),
        key=("src_sha256", "src_pos"),
        parsed=True,
    ),
    # ---- reference/ ---------------------------------------------------------------
    Table(
        "parties",
        _parsed(
            Column("uscc", pa.string()),
            Column("name", pa.string()),
            Column("industry", pa.string(), note="GB/T 4754-2017 code, e.g. C3976"),
            Column("group_id", pa.string(), note="related-party group"),
            Column("rating", pa.string(), note="the bank's internal rating, AAA … C"),
            Column("valid_from", pa.date32()),
        ),
        key=("uscc", "valid_from"),
        parsed=True,
    ),
)

QUARANTINE = Table(
    "quarantine",
    (
        Column("business_date", pa.date32(), False),
        Column("src_sha256", pa.string()),
        Column("src_path", pa.string(), False, "path relative to the night's folder"),
        Column("src_pos", pa.int64(), note="line / record ordinal; null when the whole file failed"),
        Column("file_kind", pa.string()),
        Column("reason_code", pa.string(), False),
        Column("reason", pa.string(), False),
        Column("raw", pa.string(), note="the offending text, truncated to 2,000 characters"),
    ),
    "What was set aside from a night's delivery, with file, position and reason (connectors.quarantine).",
)

FILES = Table(
    "files",
    (
        Column("business_date", pa.date32(), False),
        Column("rel_path", pa.string(), False),
        Column("sha256", pa.string(), False),
        Column("size", pa.int64()),
        Column("file_kind", pa.string()),
        Column("status", pa.string(), note=", ".join(FileStatus)),
        Column("rows", pa.int64()),
        Column("quarantined", pa.int64()),
        Column("superseded", pa.string(), note="sha256s of earlier versions, ';'-separated"),
        Column("seq", pa.int64(), note="the archive manifest's seq of the file: its delivery order (warehouse.asof)"),
    ),
    "The files register: every delivered file of a night and what became of it.",
)

# Views of the declarations above, by table name (the parsed tables only).
PARSED: dict[str, Table] = {t.name: t for t in INPUT_TABLES}
SCHEMAS: dict[str, pa.Schema] = {t.name: t.schema for t in INPUT_TABLES}
NATURAL_KEYS: dict[str, tuple[str, ...]] = {t.name: t.key for t in INPUT_TABLES}
CHILD_OF: dict[str, tuple[str, tuple[str, ...]]] = {t.name: t.child_of for t in INPUT_TABLES if t.child_of}
