"""Parsers: the hand-written sample delivery, and what each parser does with bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connectors.kinds import INPUT_KINDS, classify, parse_file
from connectors.parsers import FileRejected, ParseContext
from connectors.parsers.batching import BatchBuilder
from connectors.parsers.xmlread import for_each_record
from foundation.vocabulary import QuarantineReason
from tests.conftest import REPO
from warehouse.schemas import PARSED, SCHEMAS

NIGHT = dt.date(2026, 11, 20)
SAMPLES = REPO / "docs" / "spec" / "samples" / "2026-11-20"
CORE = "91440300MA5F00001A"
CARRIER = "91440300MA5F00004K"


class MemorySink:
    """Collects batches per table (checking each one's schema) and quarantine records."""

    def __init__(self) -> None:
        self.batches: dict[str, list[pa.RecordBatch]] = {}
        self.quarantined: list[tuple[int | None, str, str, str | None]] = []

    def rows(self, table: str, batch: pa.RecordBatch) -> None:
        assert batch.schema.equals(SCHEMAS[table], check_metadata=True), table
        self.batches.setdefault(table, []).append(batch)

    def quarantine(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        self.quarantined.append((src_pos, reason_code, reason, raw))

    def table(self, name: str) -> list[dict[str, Any]]:
        """The rows sent for ``name``, as dicts."""
        batches = self.batches.get(name, [])
        rows: list[dict[str, Any]] = pa.Table.from_batches(batches, schema=SCHEMAS[name]).to_pylist()
        return rows

    def codes(self) -> list[tuple[int | None, str]]:
        return [(pos, code) for pos, code, _, _ in self.quarantined]


def _context(rel: str, data: bytes, **overrides: Any) -> ParseContext:
    kind = classify(rel)
    assert kind is not None, rel
    return ParseContext(NIGHT, rel, hashlib.sha256(data).hexdigest(), kind.name, **overrides)


def parse_bytes(tmp_path: Path, rel: str, data: bytes | str, **overrides: Any) -> MemorySink:
    """Write ``data`` as the night's file ``rel`` and parse it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    sink = MemorySink()
    parse_file(path, _context(rel, raw, **overrides), sink)
    return sink


def parse_sample(rel: str) -> MemorySink:
    path = SAMPLES / rel
    sink = MemorySink()
    parse_file(path, _context(rel, path.read_bytes()), sink)
    return sink


def sample_text(rel: str) -> str:
    return (SAMPLES / rel).read_text(encoding="utf-8")


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


# ---- every sample file ------------------------------------------------------------------

SAMPLE_ROWS = {
    f"erp/{CORE}/vendors.csv": {"erp_vendors": 1},
    f"erp/{CORE}/po_items.csv": {"erp_po_items": 2},
    f"erp/{CORE}/goods_receipts.csv": {"erp_goods_receipts": 2},
    f"erp/{CORE}/ap_open_items.csv": {"erp_ap_items": 2},
    "tax/26320000000000012345.xml": {"tax_invoices": 1, "tax_invoice_lines": 1},
    "tax/batch_0001.xml": {"tax_invoices": 4, "tax_invoice_lines": 4},
    "tax/invoice_status.csv": {"tax_invoice_status": 1},
    f"logistics/{CARRIER}/waybills_0001.xml": {"waybills": 2},
    "bills/bills_0001.xml": {"bills": 1},
    "platform/voucher_events.csv": {"voucher_events": 4, "voucher_event_invoices": 3},
    "platform/financings.csv": {"financings": 2, "financing_invoices": 2},
}


def test_the_sample_delivery_is_covered() -> None:
    delivered = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file()}
    assert delivered == set(SAMPLE_ROWS)


@pytest.mark.parametrize("rel", sorted(SAMPLE_ROWS))
def test_sample_file_parses_cleanly(rel: str) -> None:
    sink = parse_sample(rel)
    assert sink.quarantined == []
    counts = {name: sum(b.num_rows for b in batches) for name, batches in sink.batches.items()}
    assert counts == SAMPLE_ROWS[rel]
    sha = hashlib.sha256((SAMPLES / rel).read_bytes()).hexdigest()
    for name in counts:
        for row in sink.table(name):
            assert (row["business_date"], row["src_sha256"]) == (NIGHT, sha)


def test_every_input_table_is_filled_by_one_declared_kind() -> None:
    filled = [table for kind in INPUT_KINDS.kinds for table in kind.tables]
    assert sorted(filled) == sorted(PARSED), "each parsed table is filled by exactly one input kind"
    assert {classify(rel).name for rel in SAMPLE_ROWS if classify(rel)} == {k.name for k in INPUT_KINDS.kinds} - {"parties"}


# ---- tax ----------------------------------------------------------------------------------


def test_single_invoice_file() -> None:
    sink = parse_sample("tax/26320000000000012345.xml")
    [invoice] = sink.table("tax_invoices")
    assert invoice["src_pos"] == 1
    assert invoice["invoice_no"] == "26320000000000012345"
    assert (invoice["amount_fen"], invoice["tax_fen"], invoice["total_fen"]) == (10000000, 1300000, 11300000)
    assert invoice["is_red"] is False and invoice["original_invoice_no"] is None
    assert (invoice["vat_kind"], invoice["seller_uscc"], invoice["buyer_uscc"]) == ("01", "91320500MA1X000024", CORE)
    assert invoice["issue_time"] == dt.datetime(2026, 11, 12, 9, 31, 5)
    assert (invoice["remark"], invoice["tax_bureau_code"]) == ("订单4500012345", "13200000000")
    assert (invoice["line_count"], invoice["lines_amount_fen"], invoice["lines_tax_fen"]) == (1, 10000000, 1300000)
    assert (invoice["lines_quantity"], invoice["max_line_tax_gap_fen"]) == (Decimal("100"), 0)
    [line] = sink.table("tax_invoice_lines")
    assert (line["src_pos"], line["invoice_no"], line["line_no"]) == (1, "26320000000000012345", 1)
    assert (line["item_name"], line["spec"], line["unit"]) == ("*光学元件*导光板", "55寸", "片")
    assert (line["unit_price"], line["amount_fen"], line["tax_rate"], line["tax_fen"]) == (
        Decimal("1000"),
        10000000,
        Decimal("0.13"),
        1300000,
    )
    assert line["tax_code"] == "1090512990000000000"


def test_batch_file_percent_rate_red_letter_and_bare_date() -> None:
    sink = parse_sample("tax/batch_0001.xml")
    invoices = by(sink.table("tax_invoices"), "invoice_no")
    assert [inv["src_pos"] for inv in invoices.values()] == [1, 2, 3, 4]
    lines = by(sink.table("tax_invoice_lines"), "invoice_no")
    assert lines["26320000000000034567"]["tax_rate"] == Decimal("0.13")  # delivered as 13%
    assert lines["26320000000000034567"]["unit_price"] == Decimal("884.9558")
    red = invoices["26320000000000045679"]
    assert red["is_red"] is True and red["original_invoice_no"] == "26320000000000045678"
    assert (red["total_fen"], red["lines_amount_fen"], red["lines_quantity"]) == (-1000000, -884956, Decimal("-10"))
    assert invoices["26320000000000023456"]["issue_time"] == dt.datetime(2026, 11, 15)


def _invoice(no: str = "26320000000000099999", *, label: str = "Y", total: str = "113.00", extra: str = "",
             lines: str | None = None) -> str:  # fmt: skip
    line = (
        "<IssuItemInformation><ItemName>x</ItemName><Quantity>1</Quantity><Amount>100.00</Amount>"
        "<TaxRate>13%</TaxRate><ComTaxAm>13.00</ComTaxAm>"
        "<TotaltaxIncludedAmount>999.99</TotaltaxIncludedAmount></IssuItemInformation>"
    )
    return (
        f"<EInvoice><Header><EIid>{no}</EIid><InherentLabel><InIssuType><LabelCode>{label}</LabelCode></InIssuType>"
        "</InherentLabel></Header><EInvoiceData>"
        "<SellerInformation><SellerIdNum>91320500MA1X000024</SellerIdNum></SellerInformation>"
        "<BasicInformation><TotalAmWithoutTax>100.00</TotalAmWithoutTax><TotalTaxAm>13.00</TotalTaxAm>"
        f"<TotalTax-includedAmount>{total}</TotalTax-includedAmount></BasicInformation>"
        f"{line if lines is None else lines}{extra}</EInvoiceData></EInvoice>"
    )


def _batch(*invoices: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<EInvoiceBatch>' + "".join(invoices) + "</EInvoiceBatch>"


def test_header_total_is_read_by_its_full_path_not_the_line_total(tmp_path: Path) -> None:
    sink = parse_bytes(tmp_path, "tax/one.xml", _batch(_invoice()))
    [invoice] = sink.table("tax_invoices")
    assert invoice["total_fen"] == 11300
    assert (invoice["buyer_uscc"], invoice["issue_time"], invoice["vat_kind"]) == (None, None, None)


def test_bad_invoices_in_a_batch_are_quarantined_and_the_others_kept(tmp_path: Path) -> None:
    content = _batch(
        _invoice("26320000000000000001"),
        _invoice("2632000000000000002"),  # 19 digits
        _invoice("26320000000000000003", total="113,00"),
        _invoice("26320000000000000004").replace("<SellerIdNum>91320500MA1X000024</SellerIdNum>", ""),
        _invoice("26320000000000000005", lines=_invoice().split("</BasicInformation>")[1].split("</EInvoiceData>")[0]
                 .replace("<Amount>100.00</Amount>", "<Amount>abc</Amount>")),
        _invoice("26320000000000000006", label="X"),
        _invoice("26320000000000000007", total="1.00"),  # does not add up: a business rule, kept
    )  # fmt: skip
    sink = parse_bytes(tmp_path, "tax/batch.xml", content)
    assert sink.codes() == [
        (2, QuarantineReason.BAD_ID),
        (3, QuarantineReason.BAD_VALUE),
        (4, QuarantineReason.MISSING_FIELD),
        (5, QuarantineReason.BAD_VALUE),
        (6, QuarantineReason.BAD_ENUM),
    ]
    assert "TotalTax-includedAmount" in sink.quarantined[1][2]
    assert "IssuItemInformation[1]/Amount" in sink.quarantined[3][2]
    assert (sink.quarantined[0][3] or "").startswith("<EInvoice>")  # the raw record
    kept = sink.table("tax_invoices")
    assert [(r["src_pos"], r["invoice_no"][-1]) for r in kept] == [(1, "1"), (7, "7")]
    assert [r["src_pos"] for r in sink.table("tax_invoice_lines")] == [1, 7]


def test_red_letter_label_alone_or_with_the_original_number(tmp_path: Path) -> None:
    original = "<SpecificInformation><RedEInvoice><OriginalInvoiceCode>26320000000000000009</OriginalInvoiceCode>" \
               "</RedEInvoice></SpecificInformation>"  # fmt: skip
    sink = parse_bytes(
        tmp_path,
        "tax/red.xml",
        _batch(
            _invoice("26320000000000000001", label="N", extra=original),
            _invoice("26320000000000000002", label="N26320000000000000008"),
            _invoice("26320000000000000003", label="N"),
        ),
    )
    rows = sink.table("tax_invoices")
    assert [(r["is_red"], r["original_invoice_no"]) for r in rows] == [
        (True, "26320000000000000009"),
        (True, "26320000000000000008"),
        (True, None),
    ]


def test_line_aggregates_and_tax_gap_rounded_half_up(tmp_path: Path) -> None:
    lines = (
        "<IssuItemInformation><Quantity>1.5</Quantity><Amount>1.50</Amount><TaxRate>0.13</TaxRate>"
        "<ComTaxAm>0.19</ComTaxAm></IssuItemInformation>"  # 0.195 - 0.19 = 0.5 fen -> 1
        "<IssuItemInformation><Quantity>2</Quantity><Amount>98.50</Amount><TaxRate>0.13</TaxRate>"
        "<ComTaxAm>12.81</ComTaxAm></IssuItemInformation>"  # 12.805 - 12.81 = 0.5 fen -> 1
        "<IssuItemInformation><Amount>0.00</Amount><ComTaxAm>0.00</ComTaxAm></IssuItemInformation>"
    )
    sink = parse_bytes(tmp_path, "tax/agg.xml", _batch(_invoice(lines=lines)))
    [invoice] = sink.table("tax_invoices")
    assert invoice["line_count"] == 3
    assert (invoice["lines_amount_fen"], invoice["lines_tax_fen"]) == (10000, 1300)
    assert invoice["lines_quantity"] == Decimal("3.5")
    assert invoice["max_line_tax_gap_fen"] == 1
    assert [line["line_no"] for line in sink.table("tax_invoice_lines")] == [1, 2, 3]

    wide = lines.replace("<ComTaxAm>12.81</ComTaxAm>", "<ComTaxAm>12.70</ComTaxAm>")  # 10.5 fen -> 11
    [invoice] = parse_bytes(tmp_path, "tax/agg2.xml", _batch(_invoice(lines=wide))).table("tax_invoices")
    assert invoice["max_line_tax_gap_fen"] == 11


def test_quantity_finer_than_the_schema_is_quarantined_not_rounded(tmp_path: Path) -> None:
    lines = "<IssuItemInformation><Quantity>0.33333</Quantity><Amount>1.00</Amount><ComTaxAm>0.13</ComTaxAm>" \
            "</IssuItemInformation>"  # fmt: skip
    sink = parse_bytes(tmp_path, "tax/q.xml", _batch(_invoice(lines=lines)))
    assert sink.codes() == [(1, QuarantineReason.BAD_VALUE)] and "Quantity" in sink.quarantined[0][2]
    assert sink.table("tax_invoices") == []


def test_an_element_given_twice_quarantines_the_record(tmp_path: Path) -> None:
    twice = _invoice().replace("</EIid>", "</EIid><EIid>26320000000000099998</EIid>")
    sink = parse_bytes(tmp_path, "tax/twice.xml", _batch(_invoice(), twice))
    assert sink.codes() == [(2, QuarantineReason.DUPLICATE_FIELD)]
    assert len(sink.table("tax_invoices")) == 1


def test_records_are_released_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "batch.xml"
    path.write_text(_batch(*(_invoice(f"2632{i:016d}") for i in range(50))), encoding="utf-8")
    seen: list[tuple[int, int]] = []

    def handle(ordinal: int, elem: Any) -> None:
        earlier = list(elem.itersiblings(preceding=True))
        seen.append((len(earlier), sum(len(e) for e in earlier)))

    for_each_record(path, MemorySink(), "EInvoice", frozenset({"EInvoiceBatch"}), handle)
    assert len(seen) == 50
    assert all(siblings <= 1 and children == 0 for siblings, children in seen)  # at most the previous, emptied


def test_corrupt_xml_rejects_the_file(tmp_path: Path) -> None:
    truncated = _batch(_invoice(), _invoice())[:-40]
    with pytest.raises(FileRejected) as err:
        parse_bytes(tmp_path, "tax/corrupt.xml", truncated)
    assert err.value.reason_code == "MALFORMED_XML"


def test_unexpected_root_rejects_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileRejected) as err:
        parse_bytes(tmp_path, "tax/other.xml", "<Invoices><Invoice/></Invoices>")
    assert err.value.reason_code == "UNEXPECTED_ROOT"


def test_external_entities_are_not_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("26320000000000000001")
    xxe = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>' + _invoice("&e;")
    with pytest.raises(FileRejected):
        parse_bytes(tmp_path, "tax/xxe.xml", xxe)


def test_invoice_status_feed(tmp_path: Path) -> None:
    [row] = parse_sample("tax/invoice_status.csv").table("tax_invoice_status")
    assert (row["src_pos"], row["invoice_no"], row["status"]) == (2, "26320000000000045678", "3")
    assert (row["red_flushed_fen"], row["change_date"]) == (1000000, dt.date(2026, 11, 18))
    bad = "fphm,fpzt,hcje,ztbgrq\n26320000000000045678,9,0.00,2026-11-18\n1234,0,,2026-11-18\n"
    assert parse_bytes(tmp_path, "tax/invoice_status.csv", bad).codes() == [(2, QuarantineReason.BAD_ENUM), (3, QuarantineReason.BAD_ID)]


# ---- erp -----------------------------------------------------------------------------------


def test_pipe_delimited_ap_items() -> None:
    rows = by(parse_sample(f"erp/{CORE}/ap_open_items.csv").table("erp_ap_items"), "belnr")
    item = rows["5100001234"]
    assert (item["src_pos"], item["core_uscc"], item["lifnr"]) == (2, CORE, "0000100001")
    assert (item["ap_ref"], item["amount_fen"], item["debit_credit"]) == ("1000-2026-5100001234-001", 11300000, "H")
    assert (item["baseline_date"], item["payment_days"], item["due_date"]) == (
        dt.date(2026, 11, 13),
        180,
        dt.date(2027, 5, 12),
    )
    assert (item["invoice_no"], item["clearing_date"], item["clearing_doc"]) == ("26320000000000012345", None, None)


def test_po_items_and_goods_receipts_keep_leading_zeros() -> None:
    [po, _] = parse_sample(f"erp/{CORE}/po_items.csv").table("erp_po_items")
    assert (po["ebelp"], po["lifnr"], po["po_date"]) == ("00010", "0000100001", dt.date(2026, 11, 1))
    assert (po["quantity"], po["net_price"], po["net_value_fen"]) == (Decimal("100"), Decimal("1000"), 10000000)
    [gr, _] = parse_sample(f"erp/{CORE}/goods_receipts.csv").table("erp_goods_receipts")
    assert (gr["zeile"], gr["movement_type"], gr["delivery_note"]) == ("0001", "101", "SD20261110001")


AP_HEADER = "BUKRS,LIFNR,GJAHR,BELNR,BUZEI,BUDAT,BLDAT,BLART,SHKZG,WRBTR,WAERS,ZFBDT,ZBD1T,SGTXT,EBELN,AUGDT,AUGBL\n"


def test_trailing_minus_amount_and_clearing(tmp_path: Path) -> None:
    data = AP_HEADER + (
        "1000,0000100001,2026,5100009999,002,20261120,20261120,KG,S,1234.56-,CNY,20261120,,"
        "credit note 26320000000000045679 for 263200000000000456789,,20261121,5100010000\n"
    )
    [row] = parse_bytes(tmp_path, f"erp/{CORE}/ap_open_items.csv", data).table("erp_ap_items")
    assert row["amount_fen"] == -123456
    assert (row["payment_days"], row["due_date"]) == (None, dt.date(2026, 11, 20))
    assert row["invoice_no"] == "26320000000000045679"  # the 21-digit number is not an invoice
    assert (row["clearing_date"], row["clearing_doc"]) == (dt.date(2026, 11, 21), "5100010000")


def test_clearing_columns_may_be_absent(tmp_path: Path) -> None:
    header = AP_HEADER.replace(",AUGDT,AUGBL", "")
    data = header + "1000,1,2026,5100009999,001,20261120,20261120,RE,H,10.00,CNY,20261120,30,x,\n"
    [row] = parse_bytes(tmp_path, f"erp/{CORE}/ap_open_items.csv", data).table("erp_ap_items")
    assert (row["clearing_date"], row["clearing_doc"], row["due_date"]) == (None, None, dt.date(2026, 12, 20))


def test_gb18030_file_is_detected_and_can_be_configured(tmp_path: Path) -> None:
    data = sample_text(f"erp/{CORE}/po_items.csv").encode("gb18030")
    rel = f"erp/{CORE}/po_items.csv"
    detected = parse_bytes(tmp_path, rel, data).table("erp_po_items")
    assert [r["item_text"] for r in detected] == ["导光板 55寸", "扩散板 43寸"]
    configured = parse_bytes(tmp_path, rel, data, csv_encoding="gb18030", csv_delimiter=",").table("erp_po_items")
    assert configured == detected


def test_gb18030_text_past_the_first_megabyte_is_detected(tmp_path: Path) -> None:
    ascii_rows = "".join(f"{100000 + i:010d},ASCII NAME,91320500MA1X000024\n" for i in range(30000))
    data = ("LIFNR,NAME1,STCD5\n" + ascii_rows + "0000200001,深圳供应商,91440300MA5F00001A\n").encode("gb18030")
    assert len(data) > 1 << 20
    rows = parse_bytes(tmp_path, f"erp/{CORE}/vendors.csv", data).table("erp_vendors")
    assert rows[-1]["name"] == "深圳供应商" and rows[-1]["src_pos"] == 30002


def test_utf8_bom_file(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + (SAMPLES / f"erp/{CORE}/vendors.csv").read_bytes()
    [row] = parse_bytes(tmp_path, f"erp/{CORE}/vendors.csv", data).table("erp_vendors")
    assert (row["lifnr"], row["name"], row["vendor_uscc"]) == (
        "0000100001",
        "苏州恒隆新材料科技有限公司",
        "91320500MA1X000024",
    )


def test_bad_csv_rows_are_quarantined_by_line_and_the_others_kept(tmp_path: Path) -> None:
    data = (
        "EBELN,EBELP,LIFNR,BEDAT,MATNR,TXZ01,MENGE,MEINS,NETPR,NETWR\r\n"
        "4500000001,00010,0000100001,20261101,M1,ok,1,PC,1.00,1.00\r\n"  # line 2
        "4500000002,00010,0000100001,20261101,M1,too few\r\n"  # line 3: wrong field count
        '4500000003,00010,0000100001,20261101,M1,"two\r\nlines",1,PC,1.00,1.00\r\n'  # lines 4-5
        "\r\n"  # line 6: blank
        "4500000004,00010,0000100001,20261131,M1,bad date,1,PC,1.00,1.00\r\n"  # line 7
        "4500000005,00010,0000100001,20261101,M1,bad money,1,PC,1.00,1.0O\r\n"  # line 8
        "4500000006,00010,0000100001,20261101,M1,ok,1,PC,1.00,1.00"  # line 9, no final newline
    )
    sink = parse_bytes(tmp_path, f"erp/{CORE}/po_items.csv", data)
    assert sink.codes() == [(3, QuarantineReason.ROW_SHAPE), (7, QuarantineReason.BAD_VALUE), (8, QuarantineReason.BAD_VALUE)]
    assert "BEDAT" in sink.quarantined[1][2] and "NETWR" in sink.quarantined[2][2]
    assert sink.quarantined[0][3] == "4500000002,00010,0000100001,20261101,M1,too few"
    rows = sink.table("erp_po_items")
    assert [(r["src_pos"], r["ebeln"]) for r in rows] == [(2, "4500000001"), (4, "4500000003"), (9, "4500000006")]
    assert rows[1]["item_text"] == "two\r\nlines"


def test_missing_required_column_rejects_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileRejected) as err:
        parse_bytes(tmp_path, f"erp/{CORE}/vendors.csv", "LIFNR,NAME1\n0000100001,x\n")
    assert err.value.reason_code == "MISSING_COLUMN" and "STCD5" in err.value.reason


def test_empty_csv_rejects_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileRejected) as err:
        parse_bytes(tmp_path, f"erp/{CORE}/vendors.csv", b"")
    assert err.value.reason_code == "EMPTY_FILE"


# ---- logistics -------------------------------------------------------------------------


def test_waybills() -> None:
    rows = parse_sample(f"logistics/{CARRIER}/waybills_0001.xml").table("waybills")
    assert [r["src_pos"] for r in rows] == [1, 2]
    first = rows[0]
    assert (first["carrier_dir_uscc"], first["message_ref"]) == (CARRIER, "8f2c1d0e6a7b4c3d9e0f1a2b3c4d5e6f")
    assert (first["waybill_no"], first["po_no"], first["carrier_uscc"]) == ("SD20261110001", "4500012345", CARRIER)
    assert first["receipt_time"] == dt.datetime(2026, 11, 12, 15, 30)
    assert (first["consignor_uscc"], first["consignee_uscc"], first["region_code"]) == (
        "91320500MA1X000024",
        CORE,
        "440305",
    )
    assert (first["quantity"], first["gross_weight"], first["packages"], first["status"]) == (
        Decimal("100"),
        Decimal("850"),
        10,
        "3",
    )


def test_waybill_without_receipt_and_a_bad_body(tmp_path: Path) -> None:
    text = sample_text(f"logistics/{CARRIER}/waybills_0001.xml")
    text = text.replace("<GoodsReceiptDateTime>20261112153000</GoodsReceiptDateTime>", "<GoodsReceiptDateTime/>")
    text = text.replace("<ConsignmentDateTime>20261114090000", "<ConsignmentDateTime>2026-11-14")
    sink = parse_bytes(tmp_path, f"logistics/{CARRIER}/w.xml", text)
    assert sink.codes() == [(2, QuarantineReason.BAD_VALUE)]
    [row] = sink.table("waybills")
    assert (row["src_pos"], row["receipt_time"]) == (1, None)


# ---- bills ----------------------------------------------------------------------------------


def test_bill_sample() -> None:
    [bill] = parse_sample("bills/bills_0001.xml").table("bills")
    assert (bill["cd_no"], bill["splittable"], bill["range_start"], bill["range_end"]) == (
        "731352100001120261101000000123",
        True,
        1,
        5000000,
    )
    assert (bill["amount_fen"], bill["currency"], bill["bill_type"]) == (5000000, "CNY", "AC02")
    assert (bill["issue_date"], bill["due_date"]) == (dt.date(2026, 11, 1), dt.date(2027, 4, 30))
    assert (bill["drawer_uscc"], bill["acceptor_uscc"], bill["payee_uscc"]) == (CORE, CORE, "91320500MA1X000024")
    assert (bill["discount_rate"], bill["discount_amount_fen"], bill["discount_bank"]) == (
        Decimal("0.0265"),
        4940743,
        "313521000011",
    )
    assert (bill["pledge_date"], bill["invoice_nos"]) == (None, ["26320000000000034567"])
    assert (bill["endorsement_count"], bill["holder_uscc"]) == (0, "91320500MA1X000024")


def _endorsement(date: str, endorser: str, endorsee: str) -> str:
    return f"<Endrsmt><Dt>{date}</Dt><Endrsr><CmonId>{endorser}</CmonId></Endrsr>" \
           f"<Endrsee><CmonId>{endorsee}</CmonId></Endrsee></Endrsmt>"  # fmt: skip


def test_unsplittable_bill_endorsements_and_range_mismatch(tmp_path: Path) -> None:
    text = sample_text("bills/bills_0001.xml")
    start, end = text.index("<CdInf>"), text.index("</CdInf>") + len("</CdInf>")
    record = text[start:end]
    chain = _endorsement("2026-11-02", "P", "A") + _endorsement("2026-11-03", "A", "B")
    whole = record.replace("<CdRange>1-5000000</CdRange>", "<CdRange>0</CdRange>").replace(
        "<InvcNb>", chain + "<InvcNb>26320000000000000001</InvcNb><InvcNb>"
    )
    mismatch = record.replace("<CdRange>1-5000000</CdRange>", "<CdRange>1-4999999</CdRange>")
    sink = parse_bytes(tmp_path, "bills/b.xml", text[:start] + whole + mismatch + text[end:])
    assert sink.codes() == [(2, QuarantineReason.RANGE_MISMATCH)]
    [bill] = sink.table("bills")
    assert (bill["splittable"], bill["range_start"], bill["range_end"]) == (False, 1, 5000000)
    assert bill["invoice_nos"] == ["26320000000000000001", "26320000000000034567"]
    assert (bill["endorsement_count"], bill["holder_uscc"]) == (2, "B")
    rows = sink.table("bill_endorsements")
    assert [(r["src_pos"], r["range_start"], r["seq"], r["endorser_uscc"], r["endorsee_uscc"]) for r in rows] == [
        (1, 1, 1, "P", "A"),
        (1, 1, 2, "A", "B"),
    ]
    assert rows[0]["endorsement_date"] == dt.date(2026, 11, 2)


# ---- platform -------------------------------------------------------------------------------


def test_voucher_events() -> None:
    sink = parse_sample("platform/voucher_events.csv")
    events = by(sink.table("voucher_events"), "event_id")
    issue, split = events["EV000001"], events["EV000002"]
    assert (issue["src_pos"], issue["event_type"], issue["amount_fen"]) == (2, "ISSUE", 11300000)
    assert (issue["event_time"], issue["event_time_text"]) == (
        dt.datetime(2026, 11, 14, 10),
        "2026-11-14T10:00:00+08:00",
    )
    assert (issue["ap_ref"], issue["parent_voucher_id"], issue["financing_id"]) == (
        "1000-2026-5100001234-001",
        None,
        None,
    )
    assert (split["parent_voucher_id"], split["invoice_nos"]) == ("V3f9a1c2b4d5e6f70", None)
    assert events["EV000004"]["to_uscc"] == "313521000011"
    invoices = sink.table("voucher_event_invoices")
    assert [(r["src_pos"], r["event_id"], r["invoice_no"], r["amount_fen"]) for r in invoices] == [
        (2, "EV000001", "26320000000000012345", 11300000),
        (4, "EV000003", "26320000000000023456", 3000000),
        (5, "EV000004", "26320000000000023456", 3000000),
    ]


def test_voucher_event_offsets_and_bad_rows(tmp_path: Path) -> None:
    header, first = sample_text("platform/voucher_events.csv").splitlines()[:2]
    rows = [
        first.replace("2026-11-14T10:00:00+08:00", "2026-11-14T02:00:00+00:00"),
        first.replace("ISSUE", "ISUSE"),
        first.replace("V3f9a1c2b4d5e6f70", "V3f9a1c2b4d5e6f7"),
        first.replace("26320000000000012345:113000.00", "2632000000000012345:113000.00"),
        first.replace("2026-11-14T10:00:00+08:00", "2026-11-14 10:00"),
    ]
    sink = parse_bytes(tmp_path, "platform/voucher_events.csv", "\n".join([header, *rows]) + "\n")
    assert sink.codes() == [
        (3, QuarantineReason.BAD_ENUM),
        (4, QuarantineReason.BAD_ID),
        (5, QuarantineReason.BAD_VALUE),
        (6, QuarantineReason.BAD_VALUE),
    ]
    [event] = sink.table("voucher_events")
    assert (event["event_time"], event["event_time_text"]) == (
        dt.datetime(2026, 11, 14, 10),
        "2026-11-14T02:00:00+00:00",
    )
    assert len(sink.table("voucher_event_invoices")) == 1


def test_financings() -> None:
    sink = parse_sample("platform/financings.csv")
    rows = by(sink.table("financings"), "financing_id")
    voucher, bill = rows["F202611200001"], rows["F202611200002"]
    assert (voucher["asset_voucher_id"], voucher["asset_cd_no"], voucher["asset_range_start"]) == (
        "V3f9a1c2b4d5e6f71",
        None,
        None,
    )
    assert (voucher["face_amount_fen"], voucher["financed_amount_fen"], voucher["rate"]) == (
        3000000,
        2957038,
        Decimal("0.0298"),
    )
    assert (bill["asset_cd_no"], bill["asset_range_start"], bill["asset_range_end"]) == (
        "731352100001120261101000000123",
        1,
        5000000,
    )
    assert (bill["value_date"], bill["maturity_date"], bill["status"]) == (
        dt.date(2026, 11, 20),
        dt.date(2027, 4, 30),
        "ACTIVE",
    )
    assert [(r["financing_id"], r["invoice_no"], r["amount_fen"]) for r in sink.table("financing_invoices")] == [
        ("F202611200001", "26320000000000023456", 3000000),
        ("F202611200002", "26320000000000034567", 5000000),
    ]


def test_financing_asset_refs_and_bad_rows(tmp_path: Path) -> None:
    header, _, bill = sample_text("platform/financings.csv").splitlines()[:3]
    cd = "731352100001120261101000000123"
    rows = [
        bill.replace(f"{cd}:1-5000000", cd),
        bill.replace(f"{cd}:1-5000000", f"{cd}:0"),
        bill.replace(f"{cd}:1-5000000", f"{cd}:101-200"),
        bill.replace(",BILL,", ",INVOICE,").replace(f"{cd}:1-5000000", "26320000000000034567"),
        bill.replace(",BILL,", ",LOAN,"),
        bill.replace("313521000011", "31352100001"),
        bill.replace(f"{cd}:1-5000000", f"{cd}:5000000-1"),
        bill.replace(",ACTIVE", ",OPEN"),
    ]
    sink = parse_bytes(tmp_path, "platform/financings.csv", "\n".join([header, *rows]) + "\n")
    assert sink.codes() == [
        (6, QuarantineReason.BAD_ENUM),
        (7, QuarantineReason.BAD_ID),
        (8, QuarantineReason.BAD_VALUE),
        (9, QuarantineReason.BAD_ENUM),
    ]
    parsed = [
        (r["asset_cd_no"], r["asset_range_start"], r["asset_range_end"], r["asset_invoice_no"])
        for r in sink.table("financings")
    ]
    assert parsed == [
        (cd, 1, 5000000, None),
        (cd, 1, 5000000, None),
        (cd, 101, 200, None),
        (None, None, None, "26320000000000034567"),
    ]


# ---- batching ------------------------------------------------------------------------------


def test_batch_builder_flushes_full_batches_with_lineage() -> None:
    sink = MemorySink()
    ctx = ParseContext(NIGHT, "platform/financings.csv", "ab" * 32, "financings")
    builder = BatchBuilder("financing_invoices", ctx, sink, batch_rows=2)
    record = PARSED["financing_invoices"].Record
    for pos in (2, 3, 4):
        builder.add(pos, record(financing_id="F1", invoice_no=f"2632000000000000000{pos}", amount_fen=pos * 100))
    assert [b.num_rows for b in sink.batches["financing_invoices"]] == [2]
    builder.flush()
    builder.flush()  # nothing left: no empty batch
    rows = sink.table("financing_invoices")
    assert [b.num_rows for b in sink.batches["financing_invoices"]] == [2, 1]
    assert rows[2] == {
        "business_date": NIGHT, "src_sha256": "ab" * 32, "src_pos": 4,
        "financing_id": "F1", "invoice_no": "26320000000000000004", "amount_fen": 400,
    }  # fmt: skip
    with pytest.raises(TypeError):
        builder.add(5, ("F1", "x", 1))
