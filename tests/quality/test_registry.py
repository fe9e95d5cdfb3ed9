"""The source registry on hand-built ``files`` histories: what a night should hold, and what
is wrong with tonight's sources (no Dagster, no GX: fast)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from quality.registry import NoDeliveryError, load_registry, source_issues, source_of, store_source_issues
from reconciliation.catalogue import BY_ID, default_params
from warehouse.connection import Warehouse
from warehouse.schemas import FILES

DAY = dt.date(2026, 11, 24)
CORE = "91440300MA5F00001A"
CARRIER = "91310115MA4CAHR40X"


def test_source_ids_group_a_family_of_files():
    assert source_of(f"erp/{CORE}/po_items.csv") == f"erp/{CORE}/po_items.csv"
    assert source_of("tax/batch_0001.xml") == source_of("tax/26320000000000012345.xml") == "tax/*.xml"
    assert source_of(f"logistics/{CARRIER}/waybills_0001.xml") == f"logistics/{CARRIER}/*.xml"
    assert source_of("bills/b1.xml") == "bills/*.xml"
    assert source_of("platform/financings.csv") == "platform/financings.csv"
    assert source_of("notes/readme.txt") is None


def test_registry_checks_are_in_the_catalogue_as_data_quality():
    for check_id in ("DQ_SOURCE_MISSING", "DQ_SOURCE_EMPTY", "DQ_SCHEMA_DRIFT", "DQ_QUARANTINE_RATE", "DQ_VOLUME_DROP"):
        assert BY_ID[check_id].category.value == "data_quality"
    assert {"dq_required_sources", "dq_quarantine_max_percent", "dq_volume_min_percent"} <= set(default_params())


class Deliveries:
    """A warehouse and an archive object folder with hand-made nights."""

    def __init__(self, root: Path) -> None:
        self.objects = root / "objects"
        self.wh = Warehouse(root / "w.duckdb")

    def night(self, day: dt.date, files: dict[str, tuple[str, int, int]], status: str = "loaded") -> None:
        """files: rel_path -> (content, rows, quarantined)."""
        rows = []
        for rel_path, (content, n_rows, quarantined) in files.items():
            sha = hashlib.sha256(content.encode()).hexdigest()
            (self.objects / sha[:2]).mkdir(parents=True, exist_ok=True)
            (self.objects / sha[:2] / sha).write_text(content, "utf-8")
            rows.append(FILES.Row(business_date=day, rel_path=rel_path, sha256=sha, size=len(content), file_kind=None, status=status,
                                  rows=n_rows, quarantined=quarantined, superseded=None, seq=None))
        self.wh.append("files", FILES.arrow(rows))

    def issues(self, day: dt.date = DAY, **params: int | str):
        resolved = {**default_params(), **params}
        registry = load_registry(self.wh.con, day, resolved)
        return {(i.check_id, i.source): i for i in source_issues(self.wh.con, registry, self.objects, resolved)}


@pytest.fixture
def deliveries(tmp_path: Path):
    d = Deliveries(tmp_path)
    yield d
    d.wh.close()


HEADER = "financing_id,bank_code,product\n"


def usual(rows: int = 200) -> dict[str, tuple[str, int, int]]:
    return {
        "platform/financings.csv": (HEADER + f"F{rows}\n", rows, 0),
        "tax/invoice_status.csv": ("invoice_no,status,hcje,change_date\n", 10, 0),
        "tax/b1.xml": ("<x/>", 50, 0),
    }


def history(d: Deliveries, nights: int = 4, rows: int = 200) -> None:
    for i in range(nights, 0, -1):
        d.night(DAY - dt.timedelta(days=i), usual(rows + i))


def test_a_source_delivered_on_most_nights_is_expected(deliveries):
    history(deliveries)
    files = usual()
    del files["tax/invoice_status.csv"]
    deliveries.night(DAY, files)
    issues = deliveries.issues()
    missing = issues[("DQ_SOURCE_MISSING", "tax/invoice_status.csv")]
    assert not missing.blocking and "delivered on 4 of the last 4 nights" in missing.detail
    assert set(issues) == {("DQ_SOURCE_MISSING", "tax/invoice_status.csv")}


def test_a_configured_source_is_required_from_the_first_night_and_blocks(deliveries):
    deliveries.night(DAY, {"tax/b1.xml": ("<x/>", 5, 0)})
    issues = deliveries.issues(dq_required_sources="platform/financings.csv; tax/*.xml")
    assert set(issues) == {("DQ_SOURCE_MISSING", "platform/financings.csv")}
    assert issues[("DQ_SOURCE_MISSING", "platform/financings.csv")].blocking


def test_too_little_history_learns_nothing(deliveries):
    history(deliveries, nights=2)
    deliveries.night(DAY, {"tax/b1.xml": ("<x/>", 5, 0)})
    assert deliveries.issues() == {}


def test_new_column_against_the_previous_delivery_is_drift(deliveries):
    history(deliveries)
    files = usual()
    files["platform/financings.csv"] = ("\ufefffinancing_id,bank_code,product,channel\nF1,B,VOUCHER,web\n", 200, 0)
    deliveries.night(DAY, files)
    drift = deliveries.issues()[("DQ_SCHEMA_DRIFT", "platform/financings.csv")]
    assert drift.blocking and drift.evidence["added"] == ["channel"] and drift.evidence["removed"] == []


def test_quarantine_rate_above_threshold_blocks_only_with_enough_records(deliveries):
    history(deliveries)
    files = usual()
    files["platform/financings.csv"] = (HEADER, 150, 50)
    files["tax/invoice_status.csv"] = ("invoice_no,status,hcje,change_date\n", 5, 5)  # 10 records: not judged
    deliveries.night(DAY, files)
    issues = deliveries.issues()
    rate = issues[("DQ_QUARANTINE_RATE", "platform/financings.csv")]
    assert rate.blocking and rate.evidence == {"quarantined": 50, "records": 200, "max_percent": 10}
    assert ("DQ_QUARANTINE_RATE", "tax/invoice_status.csv") not in issues
    assert ("DQ_QUARANTINE_RATE", "platform/financings.csv") not in deliveries.issues(dq_quarantine_max_percent=30)


def test_volume_collapse_and_empty_source(deliveries):
    history(deliveries)
    files = usual()
    files["platform/financings.csv"] = (HEADER + "F1\n", 40, 0)
    files["tax/invoice_status.csv"] = ("invoice_no,status,hcje,change_date\n", 0, 0)
    deliveries.night(DAY, files)
    issues = deliveries.issues()
    drop = issues[("DQ_VOLUME_DROP", "platform/financings.csv")]
    assert not drop.blocking and drop.evidence["rows"] == 40 and drop.evidence["trailing_median"] == 202.5
    assert ("DQ_SOURCE_EMPTY", "tax/invoice_status.csv") in issues
    assert ("DQ_VOLUME_DROP", "tax/invoice_status.csv") not in issues, "median below dq_volume_min_median"


def test_redelivered_bytes_are_neither_empty_nor_a_volume_drop(deliveries):
    history(deliveries)
    deliveries.night(DAY, {p: (c, 0, 0) for p, (c, _, _) in usual().items()}, status="duplicate")
    assert deliveries.issues() == {}


def test_a_night_without_any_file_is_an_error(deliveries):
    history(deliveries)
    with pytest.raises(NoDeliveryError, match="no file was delivered for business date 2026-11-24"):
        deliveries.issues()


def test_issues_are_stored_per_night_and_replaced_on_rerun(deliveries):
    history(deliveries)
    deliveries.night(DAY, {"tax/b1.xml": ("<x/>", 50, 0)})
    issues = list(deliveries.issues().values())
    store_source_issues(deliveries.wh.con, DAY, issues)
    store_source_issues(deliveries.wh.con, DAY, issues)
    stored = deliveries.wh.con.execute("SELECT check_id, source FROM dq_source_issues ORDER BY 2").fetchall()
    assert stored == [("DQ_SOURCE_MISSING", "platform/financings.csv"), ("DQ_SOURCE_MISSING", "tax/invoice_status.csv")]


def test_issues_become_one_data_quality_finding_per_check(deliveries):
    from reconciliation.findings import run_catalogue

    history(deliveries)
    files = usual()
    files["platform/financings.csv"] = ("financing_id,bank_id,product\n", 0, 1)
    del files["tax/invoice_status.csv"]
    deliveries.night(DAY, files)
    store_source_issues(deliveries.wh.con, DAY, list(deliveries.issues().values()))
    run_catalogue(deliveries.wh.con, DAY)
    found = deliveries.wh.con.execute(
        "SELECT check_id, category, severity, financing_id, detail, evidence::JSON->>'$.sources[0]' FROM findings "
        "WHERE business_date = ? AND check_id LIKE 'DQ_%' ORDER BY 1", [DAY]).fetchall()
    assert [(c, cat, sev, f) for c, cat, sev, f, _, _ in found] == [
        ("DQ_SCHEMA_DRIFT", "data_quality", "high", None),
        ("DQ_SOURCE_MISSING", "data_quality", "medium", None),
    ]
    assert found[1][4].startswith("Source tax/invoice_status.csv delivered nothing for 2026-11-24")
    assert found[0][5] == "platform/financings.csv"
