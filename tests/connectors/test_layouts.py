"""XML layouts as data: every file of docs/spec/samples-more/ parses, layouts are detected per
file, a missing required field quarantines its record naming the field, and a file matching no
known layout is rejected, never loaded as empty rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.kinds import classify, parse_file
from connectors.parsers import FileRejected, ParseContext
from connectors.parsers.layouts import WAYBILL_LAYOUTS
from foundation.vocabulary import QuarantineReason
from tests.conftest import REPO
from tests.connectors.test_fuzz_parsers import FUZZ
from tests.connectors.test_fuzz_parsers import _parse as fuzz_parse
from tests.connectors.test_parsers import (
    CARRIER,
    NIGHT,
    MemorySink,
    parse_bytes,
    parse_sample,
)
from warehouse.schemas import SCHEMAS

MORE = REPO / "docs" / "spec" / "samples-more"
WCCYR = MORE / "logistics-2015WCCYR" / "waybills_0001.xml"


def parse_more(path: Path, rel: str) -> MemorySink:
    kind = classify(rel)
    assert kind is not None, rel
    sink = MemorySink()
    parse_file(path, ParseContext(NIGHT, rel, hashlib.sha256(path.read_bytes()).hexdigest(), kind.name), sink)
    return sink


# where each file of samples-more/ is delivered in a night folder
MORE_FILES = {
    "logistics-2015WCCYR/waybills_0001.xml": (f"logistics/{CARRIER}/waybills_0001.xml", {"waybills": 2}),
    "tax/26320000000000012346.xml": ("tax/26320000000000012346.xml", {"tax_invoices": 1, "tax_invoice_lines": 1}),
    "reference/parties.csv": ("reference/parties.csv", {"parties": 4}),
}


def test_every_file_of_samples_more_is_covered() -> None:
    files = {p.relative_to(MORE).as_posix() for p in MORE.rglob("*") if p.is_file() and p.name != "README.md"}
    assert files == set(MORE_FILES)


@pytest.mark.parametrize("name", sorted(MORE_FILES))
def test_samples_more_parse_whole(name: str) -> None:
    rel, expected = MORE_FILES[name]
    sink = parse_more(MORE / name, rel)
    assert sink.quarantined == []
    assert {t: len(sink.table(t)) for t in sink.batches} == expected


def test_real_invoice_keeps_its_ten_decimal_unit_price() -> None:
    sink = parse_more(MORE / "tax/26320000000000012346.xml", "tax/26320000000000012346.xml")
    [line] = sink.table("tax_invoice_lines")
    assert line["unit_price"] == Decimal("990.0990099010")
    assert (line["quantity"], line["amount_fen"], line["tax_fen"]) == (Decimal(101), 10_000_000, 1_300_000)
    [inv] = sink.table("tax_invoices")
    assert (inv["total_fen"], inv["lines_amount_fen"]) == (11_300_000, 10_000_000)


def test_unit_prices_keep_fifteen_decimals(tmp_path: Path) -> None:
    text = (MORE / "tax/26320000000000012346.xml").read_text(encoding="utf-8")
    text = text.replace("<UnPrice>990.0990099010</UnPrice>", "<UnPrice>990.099009900990099</UnPrice>")
    [line] = parse_bytes(tmp_path, "tax/26320000000000012346.xml", text).table("tax_invoice_lines")
    assert line["unit_price"] == Decimal("990.099009900990099")
    assert SCHEMAS["tax_invoice_lines"].field("unit_price").type.scale >= 15


def test_2015wccyr_waybills_carry_parties_by_name_region_weight_and_packages() -> None:
    rows = parse_more(WCCYR, f"logistics/{CARRIER}/waybills_0001.xml").table("waybills")
    first, second = rows
    assert (first["layout"], first["waybill_no"], first["po_no"], first["carrier_uscc"]) == (
        "2015WCCYR", "SD20261110001", "4500012345", CARRIER)
    assert (first["consignor_name"], first["origin_region"]) == ("苏州恒隆新材料科技有限公司", "320506")
    assert (first["consignee_name"], first["region_code"]) == ("深圳市华星电子集团有限公司", "440305")
    assert (first["gross_weight"], first["packages"], first["goods_desc"]) == (Decimal(850), 10, "导光板 55寸")
    # what the layout does not carry stays unknown, never a made-up value
    assert (first["quantity"], first["unit"], first["consignor_uscc"], first["consignee_uscc"]) == (None,) * 4
    # received when GoodsReceiptDateTime is set
    assert (first["receipt_time"], first["status"]) == (dt.datetime(2026, 11, 12, 15, 30), "3")
    assert second["status"] == "3"


def test_the_contract_sample_is_read_in_the_contract_layout() -> None:
    rows = parse_sample(f"logistics/{CARRIER}/waybills_0001.xml").table("waybills")
    assert {r["layout"] for r in rows} == {"contract"}


def _wccyr_text() -> str:
    return WCCYR.read_text(encoding="utf-8")


def test_2015wccyr_without_its_version_is_told_by_its_vehicles(tmp_path: Path) -> None:
    text = _wccyr_text().replace("<DocumentVersionNumber>2015WCCYR</DocumentVersionNumber>", "")
    rows = parse_bytes(tmp_path, f"logistics/{CARRIER}/w.xml", text).table("waybills")
    assert [r["layout"] for r in rows] == ["2015WCCYR", "2015WCCYR"]
    assert rows[0]["packages"] == 10


def test_goods_of_several_vehicles_add_up(tmp_path: Path) -> None:
    first_vehicle = _wccyr_text().split("<VehicleInfo>")[1].split("</VehicleInfo>")[0]
    text = _wccyr_text().replace("</VehicleInfo>", "</VehicleInfo><VehicleInfo>" + first_vehicle + "</VehicleInfo>", 1)
    rows = parse_bytes(tmp_path, f"logistics/{CARRIER}/w.xml", text).table("waybills")
    assert (rows[0]["gross_weight"], rows[0]["packages"], rows[0]["goods_desc"]) == (Decimal(1700), 20, "导光板 55寸")


def test_a_missing_required_field_quarantines_the_record_naming_it(tmp_path: Path) -> None:
    text = _wccyr_text().replace("<Consignee>深圳市华星电子集团有限公司</Consignee>", "")
    sink = parse_bytes(tmp_path, f"logistics/{CARRIER}/w.xml", text)
    [(pos, code, reason, _raw)] = sink.quarantined
    assert (pos, code) == (1, QuarantineReason.MISSING_FIELD)
    assert "ConsigneeInfo/Consignee" in reason and "2015WCCYR" in reason
    assert [r["waybill_no"] for r in sink.table("waybills")] == ["SD20261114009"]


def test_an_unknown_layout_version_rejects_the_file(tmp_path: Path) -> None:
    text = _wccyr_text().replace(">2015WCCYR<", ">2099XYZ<")
    with pytest.raises(FileRejected) as err:
        parse_bytes(tmp_path, f"logistics/{CARRIER}/w.xml", text)
    assert err.value.reason_code == QuarantineReason.UNKNOWN_LAYOUT and "2099XYZ" in err.value.reason


def test_a_file_whose_records_match_no_layout_is_rejected_not_loaded_empty(tmp_path: Path) -> None:
    text = ('<?xml version="1.0" encoding="UTF-8"?><Root><Header><MessageReferenceNumber>x</MessageReferenceNumber>'
            "</Header><Body><Waybill><No>1</No></Waybill></Body><Body><Other/></Body></Root>")
    with pytest.raises(FileRejected) as err:
        parse_bytes(tmp_path, f"logistics/{CARRIER}/w.xml", text)
    assert err.value.reason_code == QuarantineReason.UNKNOWN_LAYOUT


def test_one_stray_record_is_quarantined_the_rest_loaded(tmp_path: Path) -> None:
    text = _wccyr_text().replace("</Root>", "<Body><Unknown>1</Unknown></Body></Root>")
    sink = parse_bytes(tmp_path, f"logistics/{CARRIER}/w.xml", text)
    assert sink.codes() == [(3, QuarantineReason.UNKNOWN_LAYOUT)]
    assert len(sink.table("waybills")) == 2


def test_every_layout_column_is_a_waybills_column() -> None:
    columns = set(SCHEMAS["waybills"].names)
    for layout in WAYBILL_LAYOUTS:
        assert {f.column for f in layout.fields} | set(layout.derived) <= columns, layout.name


@pytest.mark.parametrize("name", ["logistics-2015WCCYR/waybills_0001.xml", "tax/26320000000000012346.xml"])
@FUZZ
@given(data=st.data())
def test_byte_mutations_of_the_real_layouts_never_crash_a_parser(tmp_path, name, data):
    raw = bytearray((MORE / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at : at + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=8))
    fuzz_parse(tmp_path, MORE_FILES[name][0], bytes(raw))


@pytest.mark.parametrize(("rel", "text"), [
    ("tax/x.xml", "<EInvoiceBatch><EInvoice><Kopf><Nr>1</Nr></Kopf></EInvoice><EInvoice/></EInvoiceBatch>"),
    ("bills/x.xml", "<CdInfList><CdInf><Number>1</Number></CdInf></CdInfList>"),
])
def test_invoices_or_bills_matching_no_layout_reject_their_file(tmp_path: Path, rel: str, text: str) -> None:
    with pytest.raises(FileRejected) as err:
        parse_bytes(tmp_path, rel, '<?xml version="1.0" encoding="UTF-8"?>' + text)
    assert err.value.reason_code == QuarantineReason.UNKNOWN_LAYOUT
