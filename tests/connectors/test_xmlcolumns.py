"""The columnar XML path (a compiled walk of the declared layouts' paths, vectorized conversion) gives exactly the
tables and quarantine records of the Python path, its oracle: on the simulator's nights, the spec's
samples and samples-more, and hostile or mutated records."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from connectors.parsers import tax, xmlread
from connectors.parsers.base import python_only
from connectors.parsers.layouts import TAX_INVOICE, TAX_LINE, TAX_LINES, WAYBILL_CONTRACT
from connectors.parsers.xmlcolumns import plan
from simulator.engine import simulate
from simulator.params import Tuning
from tests.conftest import REPO
from tests.parse_oracle import Collected, assert_same_as_python, parse

SAMPLES = REPO / "docs" / "spec" / "samples" / "2026-11-20"
MORE = REPO / "docs" / "spec" / "samples-more"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chunks of 7 records, and the columnar path even for a file of one record."""
    monkeypatch.setattr(xmlread, "CHUNK_RECORDS", 7)
    monkeypatch.setattr(xmlread, "FAST_FROM", 1)
    yield


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim")
    tuning = Tuning(single_file_share=0.05, wccyr_carriers=frozenset(), plant_malformed_rows=True)
    simulate(root / "contract", seed=5, nights=2, start=dt.date(2026, 11, 18), trades_per_night=400, tuning=tuning)
    wccyr = Tuning(wccyr_carriers=frozenset({"*"}))
    simulate(root / "wccyr", seed=6, nights=1, start=dt.date(2026, 11, 18), trades_per_night=100, tuning=wccyr)
    return root


def _xml_files(root: Path) -> list[tuple[Path, str]]:
    out = []
    for night in sorted(root.glob("*/inbox/*")):
        out += [(p, p.relative_to(night).as_posix()) for p in sorted(night.rglob("*.xml"))]
    return out


@pytest.mark.usefixtures("small_chunks")
def test_the_simulators_nights_parse_the_same_both_ways(simulated):
    files = _xml_files(simulated)
    assert {rel.split("/")[0] for _, rel in files} == {"tax", "logistics", "bills"}
    rows = 0
    for path, rel in files:
        result = assert_same_as_python(path, rel)
        rows += sum(t.num_rows for t in result.tables().values()) if isinstance(result, Collected) else 0
    assert rows > 1000


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("path", sorted([*SAMPLES.rglob("*.xml"), *MORE.rglob("*.xml")]), ids=lambda p: p.name)
def test_the_samples_parse_the_same_both_ways(path):
    if path.is_relative_to(SAMPLES):
        rel = path.relative_to(SAMPLES).as_posix()
    else:  # samples-more: where test_layouts delivers them
        rel = {"tax": "tax", "logistics-2015WCCYR": "logistics/91440300MA5F00004K"}[path.parent.name] + "/" + path.name
    assert_same_as_python(path, rel)


# ---- hostile and mutated records ---------------------------------------------------------------

_BASE = (SAMPLES / "tax" / "batch_0001.xml").read_text(encoding="utf-8")
_INVOICE = re.search(r"  <EInvoice>.*?</EInvoice>\n", _BASE, re.S).group()  # type: ignore[union-attr]
_FORGED_LINE = "\n1\t26320000000000099999\tY\t01\t91320500MA1X000024\t伪造\t\t\t1.00\t0.13\t1.13\t\t\t\t\t\t5"


def _set(tag: str, value: str) -> tuple[str, str]:
    """A mutation: the first ``<tag>…</tag>`` of the invoice gets the raw XML ``value`` as its content."""
    return tag, value


MUTATIONS = [
    # identifiers
    _set("EIid", " 26320000000000034567"), _set("EIid", "２６３２0000000000034567"), _set("EIid", "2632000000000003456"),
    _set("EIid", "263200000000000345678"), _set("EIid", ""), _set("EIid", "2632\t0000000000034567"),
    _set("EIid", "<b>26320000000000034567</b>"), _set("EIid", "<b/>26320000000000034567"),
    _set("SellerIdNum", "91320500MA1X 00024"), _set("SellerIdNum", "91320500MA1X000024\u200b"), _set("SellerIdNum", "&#127;9132"),
    _set("SellerIdNum", ""), _set("BuyerIdNum", "ｂ９１"),
    # free text: separators, controls, whitespace, lengths, markup
    _set("SellerName", "甲\t乙"), _set("SellerName", "甲&#10;乙"), _set("SellerName", "甲&#13;乙"), _set("SellerName", "甲&#9;乙"),
    _set("SellerName", "甲" + _FORGED_LINE.replace("\n", "&#10;").replace("\t", "&#9;")),
    _set("BuyerName", "x" + _FORGED_LINE), _set("SellerName", "  甲  "), _set("SellerName", "\u3000甲"), _set("SellerName", "甲\x85"),
    _set("SellerName", "&#127;"), _set("SellerName", "a" * 4096), _set("SellerName", "a" * 4097), _set("SellerName", "甲<b>乙</b>丙"),
    _set("SellerName", "<b>乙</b>丙"), _set("SellerName", "甲<!-- x -->乙"), _set("SellerName", "<![CDATA[甲\t<乙>]]>"),
    _set("SellerName", "&amp;&lt;&gt;"), _set("BuyerName", ""), _set("BuyerName", "   "),
    _set("SellerName", "甲<![CDATA[乙]]>丙"), _set("SellerName", "<![CDATA[]]>"), _set("SellerName", "甲<?pi x?>乙"),
    # money
    _set("TotalAmWithoutTax", "-0.00"), _set("TotalAmWithoutTax", "0.00-"), _set("TotalAmWithoutTax", "+1.00"),
    _set("TotalAmWithoutTax", "1.005"), _set("TotalAmWithoutTax", "1.000"), _set("TotalAmWithoutTax", "1.5"),
    _set("TotalAmWithoutTax", "7"),
    _set("TotalAmWithoutTax", "1e3"), _set("TotalAmWithoutTax", "1,000.00"), _set("TotalAmWithoutTax", " 12.00"),
    _set("TotalAmWithoutTax", "99999999999999999.00"), _set("TotalAmWithoutTax", "9999999999999999.00"),
    _set("TotalAmWithoutTax", "100000000000.00"), _set("TotalAmWithoutTax", "100000000000.01"),
    _set("TotalAmWithoutTax", "-100000000000.01"),
    _set("TotalAmWithoutTax", "1."), _set("TotalAmWithoutTax", "."), _set("TotalTaxAm", ""), _set("TotalTaxAm", "１２.００"),
    _set("Amount", "-3.10"), _set("Amount", ""), _set("ComTaxAm", "1.001"),
    # times
    _set("RequestTime", "2026-02-30 10:00:00"), _set("RequestTime", "2026-02-29"), _set("RequestTime", "2028-02-29"),
    _set("RequestTime", "2026-11-13 24:00:00"), _set("RequestTime", "2026-11-13T10:00:00"), _set("RequestTime", "0001-01-01 00:00:00"),
    _set("RequestTime", "2026-11-13 9:00:00"), _set("RequestTime", "2026-W47-1"), _set("RequestTime", "20261113"), _set("RequestTime", ""),
    _set("RequestTime", "2026-11-13 10:00:60"), _set("RequestTime", "0000-01-01 00:00:00"), _set("RequestTime", "0000-01-01"),
    # rates, quantities, prices
    _set("TaxRate", "13%"), _set("TaxRate", "13.5%"), _set("TaxRate", "0.135"), _set("TaxRate", "130%"), _set("TaxRate", "1.0000001"),
    _set("TaxRate", "-0.13"), _set("TaxRate", "0%"), _set("TaxRate", "13.12345%"), _set("TaxRate", ""), _set("TaxRate", "%"),
    _set("TaxRate", "1234"), _set("Quantity", "-0"), _set("Quantity", "1.23456"), _set("Quantity", "123456789012345"),
    _set("Quantity", "99999999999999"), _set("Quantity", "00000000000000012"), _set("Quantity", "NaN"), _set("Quantity", "Infinity"),
    _set("UnPrice", "1.1234567890123456789"),
    _set("UnPrice", "12345678901.5"), _set("UnPrice", "1234567890.5"), _set("UnPrice", "0.000000000000000001"), _set("UnPrice", "1E+5"),
    # the issue label
    _set("LabelCode", "N"), _set("LabelCode", "N26320000000000012345"), _set("LabelCode", "X"), _set("LabelCode", "Y "),
    _set("LabelCode", "N 123"), _set("LabelCode", "N２６"), _set("LabelCode", ""), _set("LabelCode", "n"),
]  # fmt: skip
STRUCTURE = [
    ("<Remark>x</Remark>", "<Remark>x</Remark><Remark>y</Remark>"),  # duplicate (no such field in the sample: both new)
    ("<Version>0.32</Version>", "<Version>0.32</Version><EIid>26320000000000034567</EIid>"),  # a field given twice
    ("<BuyerInformation>", "<BuyerInformation><BuyerIdNum>91440300MA5F00001A</BuyerIdNum>"),
    ("<SellerInformation>", "<SellerInformation/><SellerInformation>"),
    ("</BasicInformation>", "</BasicInformation><AdditionalInformation><Remark/></AdditionalInformation>"),
    ("</BasicInformation>", "</BasicInformation><AdditionalInformation><Remark>备注</Remark></AdditionalInformation>"),
    ("<Quantity>50</Quantity>", "<Quantity>50</Quantity><Quantity>1</Quantity>"),
    ("</EInvoiceData>", "<IssuItemInformation><Amount>1.00</Amount><ComTaxAm>0.13</ComTaxAm></IssuItemInformation></EInvoiceData>"),
    ("</EInvoiceData>", "<IssuItemInformation><Amount>99999999999.00</Amount><ComTaxAm>0.13</ComTaxAm><Quantity>99999999999999</Quantity>"
                        "</IssuItemInformation></EInvoiceData>"),
    ("</EInvoiceData>", "<IssuItemInformation/></EInvoiceData>"),
    ("<IssuItemInformation>", "<IssuItemInformation><Nothing/></IssuItemInformation><IssuItemInformation>"),
    ("<TaxRate>13%</TaxRate>", ""),
    # namespaces: a field element in one is not the layout's field (the compiled walk matches names in no namespace)
    ("<SellerInformation>", '<SellerInformation><p:SellerName xmlns:p="urn:x">伪</p:SellerName>'),
    ("<SellerInformation>", '<SellerInformation xmlns="urn:x">'),
    ("<EIid>", '<EIid xmlns="">'),
    ("<IssuItemInformation>", '<IssuItemInformation xmlns="urn:x">'),
]  # fmt: skip


def _mutated(invoice: str, tag: str, value: str) -> str:
    return re.sub(rf"<{tag}>[^<]*</{tag}>", lambda _: f"<{tag}>{value}</{tag}>", invoice, count=1)


def _hostile_batch() -> str:
    records = [_INVOICE] * 3
    for tag, value in MUTATIONS:
        records += [_mutated(_INVOICE, tag, value), _INVOICE]
    for old, new in STRUCTURE:
        assert old in _INVOICE or old == "<Remark>x</Remark>", old
        remark = f"<AdditionalInformation>{new}</AdditionalInformation></EInvoiceData>"
        records += [_INVOICE.replace(old, new, 1) if old in _INVOICE else _INVOICE.replace("</EInvoiceData>", remark), _INVOICE]
    commented = _INVOICE.replace("<IssuItemInformation>", "<!-- -->\n<IssuItemInformation>")
    records += ["  <EInvoice><Nothing/></EInvoice>\n", "  <EInvoice/>\n", commented]
    return '<?xml version="1.0" encoding="UTF-8"?>\n<EInvoiceBatch>\n' + "".join(records) + "</EInvoiceBatch>\n"


@pytest.mark.usefixtures("small_chunks")
def test_hostile_invoices_parse_the_same_both_ways(tmp_path, monkeypatch):
    path = tmp_path / "tax" / "batch_0001.xml"
    path.parent.mkdir()
    path.write_text(_hostile_batch(), encoding="utf-8")
    python_reads = []
    invoice = tax._invoice
    monkeypatch.setattr(tax, "_invoice", lambda elem: python_reads.append(1) or invoice(elem))
    with python_only():
        oracle = parse(path, "tax/batch_0001.xml")
    assert isinstance(oracle, Collected)
    records = len(MUTATIONS) * 2 + len(STRUCTURE) * 2 + 6
    assert len(python_reads) == records and len(oracle.quarantined) > len(MUTATIONS) // 2
    python_reads.clear()
    result = assert_same_as_python(path, "tax/batch_0001.xml")
    assert isinstance(result, Collected)
    assert len(python_reads) - records < records / 2  # the plain invoices were read by the columnar path
    invoices = result.tables()["tax_invoices"]
    assert "26320000000000099999" not in invoices["invoice_no"].to_pylist()  # a forged line is never a row
    assert any("\t" in (name or "") for name in invoices["seller_name"].to_pylist())  # a tab in free text is kept as Python keeps it


@pytest.mark.usefixtures("small_chunks")
def test_internal_entities_parse_the_same_both_ways(tmp_path):
    """Text from an internal entity of the document's DTD is read as the Python path reads it (whether the
    parser's settings expand it or leave an entity reference node)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE EInvoiceBatch [<!ENTITY co "恒隆">]>\n<EInvoiceBatch>\n'
    records = [_INVOICE, _mutated(_INVOICE, "SellerName", "苏州&co;公司"), _mutated(_INVOICE, "SellerName", "&co;"),
               _mutated(_INVOICE, "BuyerName", "&co;甲")] * 2  # fmt: skip
    path = tmp_path / "tax" / "batch_0001.xml"
    path.parent.mkdir()
    path.write_text(head + "".join(records) + "</EInvoiceBatch>\n", encoding="utf-8")
    result = assert_same_as_python(path, "tax/batch_0001.xml")
    assert isinstance(result, Collected) and result.tables()["tax_invoices"].num_rows == len(records)


WAYBILL_MUTATIONS = [
    _set("ShippingNoteNumber", ""), _set("ShippingNoteNumber", " WB1"), _set("ShippingNoteNumber", "WB\t1"),
    _set("ConsignmentDateTime", "20260230120000"), _set("ConsignmentDateTime", "2026111312000"),
    _set("ConsignmentDateTime", "20261113240000"),
    _set("ConsignmentDateTime", "２０２６1113120000"), _set("DespatchActualDateTime", ""), _set("GoodsReceiptDateTime", "20261113120060"),
    _set("TotalNumberOfPackages", "2147483648"), _set("TotalNumberOfPackages", "999999999"), _set("TotalNumberOfPackages", "0009"),
    _set("TotalNumberOfPackages", "-1"), _set("TotalNumberOfPackages", "1.0"), _set("Status", "5"), _set("Status", ""),
    _set("Status", " 3"),
    _set("Quantity", "1.00005"), _set("GoodsItemGrossWeight", "-2.5"), _set("Carrier", "承运\n人"), _set("Consignor", "甲" + _FORGED_LINE),
]  # fmt: skip


@pytest.mark.usefixtures("small_chunks")
def test_hostile_waybills_parse_the_same_both_ways(tmp_path):
    base = (SAMPLES / "logistics" / "91440300MA5F00004K" / "waybills_0001.xml").read_text(encoding="utf-8")
    body = re.search(r"  <Body>.*?</Body>\n", base, re.S).group()  # type: ignore[union-attr]
    records = [body] * 3
    for tag, value in WAYBILL_MUTATIONS:
        assert f"<{tag}>" in body, tag
        records += [_mutated(body, tag, value), body]
    records += [body.replace("<Status>", "<Status>3</Status><Status>"), "  <Body><Nothing/></Body>\n", body]
    head = base[: base.index("  <Body>")]
    path = tmp_path / "logistics" / "91440300MA5F00004K" / "waybills_0001.xml"
    path.parent.mkdir(parents=True)
    path.write_text(head + "".join(records) + "</Root>\n", encoding="utf-8")
    result = assert_same_as_python(path, "logistics/91440300MA5F00004K/waybills_0001.xml")
    assert isinstance(result, Collected) and result.quarantined


def test_a_plan_is_compiled_from_the_declared_layout():
    """The compiled reader walks every field path of the layouts and the group path, none other (no second copy of the paths)."""
    for layout, group in ((TAX_INVOICE, (TAX_LINES, TAX_LINE)), (WAYBILL_CONTRACT, None)):
        for declared, group_path in ((layout, group and group[0]), *(((group[1], None),) if group else ())):
            steps = plan(declared, group_path)

            def path(i: int, steps: tuple[tuple[bytes, int, int, int], ...] = steps) -> str:
                tag, parent, _, _ = steps[i]
                return tag.decode() if parent < 0 else f"{path(parent)}/{tag.decode()}"

            fields = {field: path(i) for i, (_, _, field, _) in enumerate(steps) if field >= 0}
            assert fields == {i: f.path for i, f in enumerate(declared.fields)}
            assert [path(i) for i, step in enumerate(steps) if step[3]] == ([group_path] if group_path else [])
            assert all(parent < i for i, (_, parent, _, _) in enumerate(steps))


@pytest.mark.usefixtures("small_chunks")
def test_a_chunk_is_dropped_from_the_tree_once_read(tmp_path):
    """Memory stays bounded: when a chunk is handed over, the records of the chunks before it are gone."""
    path = tmp_path / "batch.xml"
    path.write_text('<?xml version="1.0"?>\n<EInvoiceBatch>\n' + _INVOICE * 50 + "</EInvoiceBatch>\n", encoding="utf-8")
    seen: list[tuple[int, int, int]] = []

    def chunk(tree: etree._ElementTree, records: list[etree._Element], first: int, one: object) -> None:
        root = tree.getroot()
        seen.append((first, len(records), root.index(records[0])))

    xmlread.for_each_record(path, Collected(), "EInvoice", frozenset({"EInvoiceBatch"}), lambda n, e: None, chunk)
    assert [(first, size) for first, size, _ in seen] == [(1 + 7 * i, 7) for i in range(7)] + [(50, 1)]
    assert all(at == 0 for _, _, at in seen)  # nothing before the chunk's first record is left
