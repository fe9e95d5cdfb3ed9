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

The DuckDB tables are created from these schemas (see :mod:`warehouse.connection`), so
this module is the single source of truth for column names and types.
"""

from __future__ import annotations

import pyarrow as pa

QTY = pa.decimal128(18, 4)
PRICE = pa.decimal128(38, 18)  # real 数电票 unit prices carry 10 decimals and more
RATE = pa.decimal128(9, 6)
FEN = pa.int64()

LINEAGE = [
    pa.field("business_date", pa.date32(), nullable=False),
    pa.field("src_sha256", pa.string(), nullable=False),
    pa.field("src_pos", pa.int64(), nullable=False),
]


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema(LINEAGE + [pa.field(name, dtype) for name, dtype in fields])


SCHEMAS: dict[str, pa.Schema] = {
    # ---- erp/<core_uscc>/ ------------------------------------------------------
    "erp_vendors": _schema(
        ("core_uscc", pa.string()),
        ("lifnr", pa.string()),
        ("name", pa.string()),
        ("vendor_uscc", pa.string()),
    ),
    "erp_po_items": _schema(
        ("core_uscc", pa.string()),
        ("ebeln", pa.string()),
        ("ebelp", pa.string()),
        ("lifnr", pa.string()),
        ("po_date", pa.date32()),
        ("matnr", pa.string()),
        ("item_text", pa.string()),
        ("quantity", QTY),
        ("unit", pa.string()),
        ("net_price", PRICE),
        ("net_value_fen", FEN),
    ),
    "erp_goods_receipts": _schema(
        ("core_uscc", pa.string()),
        ("mblnr", pa.string()),
        ("mjahr", pa.string()),
        ("zeile", pa.string()),
        ("movement_type", pa.string()),  # BWART: 101 receipt, 102 reversal
        ("ebeln", pa.string()),
        ("ebelp", pa.string()),
        ("quantity", QTY),
        ("posting_date", pa.date32()),
        ("delivery_note", pa.string()),  # XBLNR = waybill number
    ),
    "erp_ap_items": _schema(
        ("core_uscc", pa.string()),
        ("bukrs", pa.string()),
        ("lifnr", pa.string()),
        ("gjahr", pa.string()),
        ("belnr", pa.string()),
        ("buzei", pa.string()),
        ("ap_ref", pa.string()),  # BUKRS-GJAHR-BELNR-BUZEI, as voucher ISSUE events cite it
        ("posting_date", pa.date32()),
        ("document_date", pa.date32()),
        ("document_type", pa.string()),  # BLART: RE, KR, KG
        ("debit_credit", pa.string()),  # SHKZG: H credit (payable), S debit
        ("amount_fen", FEN),  # WRBTR as delivered (a trailing minus makes it negative)
        ("currency", pa.string()),
        ("baseline_date", pa.date32()),
        ("payment_days", pa.int32()),  # the net period: ZBD3T if set, else ZBD2T if set, else ZBD1T
        ("due_date", pa.date32()),  # SAP's net due date: ZFBDT + payment_days
        ("item_text", pa.string()),
        ("invoice_no", pa.string()),  # the 20-digit invoice number found in SGTXT, if any
        ("ebeln", pa.string()),
        ("clearing_date", pa.date32()),
        ("clearing_doc", pa.string()),
    ),
    # ---- tax/ -----------------------------------------------------------------
    "tax_invoices": _schema(
        ("invoice_no", pa.string()),
        ("is_red", pa.bool_()),  # red-letter (negative) invoice
        ("original_invoice_no", pa.string()),  # on a red-letter invoice: the blue one it reverses
        ("vat_kind", pa.string()),  # 01 专票, 02 普票
        ("seller_uscc", pa.string()),
        ("seller_name", pa.string()),
        ("buyer_uscc", pa.string()),
        ("buyer_name", pa.string()),
        ("amount_fen", FEN),  # TotalAmWithoutTax
        ("tax_fen", FEN),  # TotalTaxAm
        ("total_fen", FEN),  # TotalTax-includedAmount
        ("issue_time", pa.timestamp("s")),
        ("remark", pa.string()),
        ("tax_bureau_code", pa.string()),
        ("line_count", pa.int32()),
        ("lines_amount_fen", FEN),  # sum of line Amount
        ("lines_tax_fen", FEN),  # sum of line ComTaxAm
        ("lines_quantity", QTY),  # sum of line Quantity
        ("max_line_tax_gap_fen", FEN),  # max |Amount x TaxRate - ComTaxAm| over lines
    ),
    "tax_invoice_lines": _schema(
        ("invoice_no", pa.string()),
        ("line_no", pa.int32()),
        ("item_name", pa.string()),
        ("spec", pa.string()),
        ("unit", pa.string()),
        ("quantity", QTY),
        ("unit_price", PRICE),
        ("amount_fen", FEN),
        ("tax_rate", RATE),  # 0.13 whether delivered as "0.13" or "13%"
        ("tax_fen", FEN),
        ("tax_code", pa.string()),
    ),
    "tax_invoice_status": _schema(
        ("invoice_no", pa.string()),
        ("status", pa.string()),  # 0 正常, 1 失控, 2 作废, 3 红冲, 4 异常
        ("red_flushed_fen", FEN),  # hcje: red-flushed so far, total
        ("change_date", pa.date32()),
    ),
    # ---- logistics/<carrier_uscc>/ ------------------------------------------------
    "waybills": _schema(
        ("carrier_dir_uscc", pa.string()),  # the folder it was delivered in
        ("message_ref", pa.string()),
        ("waybill_no", pa.string()),
        ("po_no", pa.string()),  # OriginalDocumentNumber = EBELN
        ("carrier_name", pa.string()),
        ("carrier_uscc", pa.string()),
        ("consignment_time", pa.timestamp("s")),
        ("despatch_time", pa.timestamp("s")),
        ("receipt_time", pa.timestamp("s")),  # null until 签收
        ("consignor_name", pa.string()),
        ("consignor_uscc", pa.string()),
        ("consignee_name", pa.string()),
        ("consignee_uscc", pa.string()),
        ("receipt_place", pa.string()),
        ("region_code", pa.string()),
        ("goods_desc", pa.string()),
        ("quantity", QTY),
        ("unit", pa.string()),
        ("gross_weight", QTY),
        ("packages", pa.int32()),
        ("status", pa.string()),  # 1 揽收, 2 在途, 3 签收, 4 退签/拒收 (2015WCCYR: from the times)
        ("origin_region", pa.string()),  # ConsignorInfo/CountrySubdivisionCode (2015WCCYR)
        ("layout", pa.string()),  # the layout the waybill came in: contract, 2015WCCYR
    ),
    # ---- bills/ -----------------------------------------------------------------
    "bills": _schema(
        ("cd_no", pa.string()),
        ("splittable", pa.bool_()),  # CdRange != "0"
        ("range_start", pa.int64()),  # for an unsplittable bill: 1
        ("range_end", pa.int64()),  # for an unsplittable bill: amount in fen
        ("bill_type", pa.string()),  # AC01 bank, AC02 commercial acceptance
        ("amount_fen", FEN),
        ("currency", pa.string()),
        ("issue_date", pa.date32()),
        ("due_date", pa.date32()),
        ("drawer_name", pa.string()),
        ("drawer_uscc", pa.string()),
        ("acceptor_name", pa.string()),
        ("acceptor_uscc", pa.string()),
        ("payee_name", pa.string()),
        ("payee_uscc", pa.string()),
        ("ban_endorsement", pa.string()),  # EM00 transferable, EM01 not
        ("discount_date", pa.date32()),
        ("discount_rate", RATE),
        ("discount_amount_fen", FEN),
        ("discount_bank", pa.string()),
        ("pledge_date", pa.date32()),
        ("pledge_bank", pa.string()),
        ("bill_status", pa.string()),  # CdSts
        ("circulation_status", pa.string()),  # CircSts
        ("invoice_nos", pa.list_(pa.string())),
        ("endorsement_count", pa.int32()),
        ("holder_uscc", pa.string()),  # last endorsee, or the payee when never endorsed
    ),
    "bill_endorsements": _schema(
        ("cd_no", pa.string()),
        ("range_start", pa.int64()),
        ("seq", pa.int32()),  # 1-based order within the bill record
        ("endorsement_date", pa.date32()),
        ("endorser_uscc", pa.string()),
        ("endorsee_uscc", pa.string()),
    ),
    # ---- platform/ ----------------------------------------------------------------
    "voucher_events": _schema(
        ("event_id", pa.string()),
        ("event_time", pa.timestamp("s")),  # converted to UTC+8, naive
        ("event_time_text", pa.string()),  # exactly as delivered (the ledger hashes this)
        ("event_type", pa.string()),
        ("voucher_id", pa.string()),
        ("parent_voucher_id", pa.string()),
        ("issuer_uscc", pa.string()),
        ("from_uscc", pa.string()),
        ("to_uscc", pa.string()),
        ("amount_fen", FEN),
        ("maturity_date", pa.date32()),
        ("invoice_nos", pa.string()),  # as delivered: "no:amount;no:amount"
        ("ap_ref", pa.string()),
        ("financing_id", pa.string()),
    ),
    "voucher_event_invoices": _schema(
        ("event_id", pa.string()),
        ("invoice_no", pa.string()),
        ("amount_fen", FEN),
    ),
    "financings": _schema(
        ("financing_id", pa.string()),
        ("bank_code", pa.string()),
        ("product", pa.string()),  # VOUCHER, BILL, INVOICE
        ("applicant_uscc", pa.string()),
        ("debtor_uscc", pa.string()),
        ("asset_ref", pa.string()),
        ("asset_voucher_id", pa.string()),  # asset_ref parsed, by product
        ("asset_cd_no", pa.string()),
        ("asset_range_start", pa.int64()),
        ("asset_range_end", pa.int64()),
        ("asset_invoice_no", pa.string()),
        ("invoice_nos", pa.string()),  # as delivered
        ("face_amount_fen", FEN),
        ("financed_amount_fen", FEN),
        ("rate", RATE),
        ("value_date", pa.date32()),
        ("maturity_date", pa.date32()),
        ("status", pa.string()),  # ACTIVE, REPAID, DEFAULTED, CANCELLED
    ),
    "financing_invoices": _schema(
        ("financing_id", pa.string()),
        ("invoice_no", pa.string()),
        ("amount_fen", FEN),
    ),
    # A financings.csv row that failed parsing (it is also quarantined): what of it could be
    # read, so that the financing it names still gets a verdict and counts against its asset.
    "financing_rejects": _schema(
        ("financing_id", pa.string()),
        ("bank_code", pa.string()),
        ("product", pa.string()),
        ("asset_ref", pa.string()),
        ("asset_voucher_id", pa.string()),  # asset_ref parsed, where product and asset_ref can be read
        ("asset_cd_no", pa.string()),
        ("asset_range_start", pa.int64()),
        ("asset_range_end", pa.int64()),
        ("asset_invoice_no", pa.string()),
        ("reason_code", pa.string()),
        ("reason", pa.string()),
    ),
    # ---- reference/ ---------------------------------------------------------------
    "parties": _schema(
        ("uscc", pa.string()),
        ("name", pa.string()),
        ("industry", pa.string()),  # GB/T 4754-2017 code, e.g. C3976
        ("group_id", pa.string()),  # related-party group
        ("rating", pa.string()),  # the bank's internal rating, AAA … C
        ("valid_from", pa.date32()),
    ),
}

# Natural key of each parsed table: several nights may deliver the same record; the
# ``current_<table>`` views keep the latest version of each key (see warehouse.py).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "erp_vendors": ("core_uscc", "lifnr"),
    "erp_po_items": ("core_uscc", "ebeln", "ebelp"),
    "erp_goods_receipts": ("core_uscc", "mblnr", "mjahr", "zeile"),
    "erp_ap_items": ("core_uscc", "bukrs", "gjahr", "belnr", "buzei"),
    "tax_invoices": ("invoice_no",),
    "tax_invoice_lines": ("invoice_no", "line_no"),
    "tax_invoice_status": ("invoice_no",),
    "waybills": ("carrier_uscc", "waybill_no"),
    "bills": ("cd_no", "range_start"),
    "bill_endorsements": ("cd_no", "range_start", "seq"),
    "voucher_events": ("event_id",),
    "voucher_event_invoices": ("event_id", "invoice_no"),
    "financings": ("financing_id",),
    "financing_invoices": ("financing_id", "invoice_no"),
    "financing_rejects": ("src_sha256", "src_pos"),  # every unreadable row stands on its own
    "parties": ("uscc", "valid_from"),
}

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("business_date", pa.date32(), nullable=False),
        pa.field("src_sha256", pa.string()),
        pa.field("src_path", pa.string(), nullable=False),  # path relative to the night's folder
        pa.field("src_pos", pa.int64()),  # line / record ordinal; null when the whole file failed
        pa.field("file_kind", pa.string()),
        pa.field("reason_code", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),  # the offending text, truncated to 2,000 characters
    ]
)
