"""The worklist points each finding at the delivered row the checks judged: the version of record
of warehouse/asof.py (the file delivered later in the night wins), not a rule of its own."""

from __future__ import annotations

import datetime as dt

from tests.factories import insert
from warehouse.connection import Warehouse
from warehouse.registry import insert_rows
from warehouse.results import FINDINGS
from warehouse.schemas import FILES
from worklist.rows import load_findings

NIGHT = dt.date(2026, 3, 2)
# The file received first holds the record at the later position: a position-first rule chose it.
FIRST, LATER = "f" * 64, "0" * 64


def test_a_findings_source_is_the_version_the_checks_read(wh: Warehouse) -> None:
    for sha, seq, pos in ((FIRST, 3, 9), (LATER, 7, 2)):
        wh.append("files", FILES.arrow([FILES.Row(business_date=NIGHT, rel_path=f"platform/{seq}.csv", sha256=sha, size=1,
                                                  file_kind="financings", status="loaded", rows=1, quarantined=0,
                                                  superseded=None, seq=seq)]))
        insert(wh, "financings", NIGHT, src_sha256=sha, src_pos=pos, financing_id="FIN-1")
    insert_rows(wh.con, FINDINGS, [FINDINGS.Row(
        finding_id="FND-1", business_date=NIGHT, check_id="X", category="duplicate", severity="high", financing_id="FIN-1",
        voucher_id=None, invoice_no=None, bill_ref=None, waybill_no=None, detail="d", evidence=None, first_seen_date=NIGHT)])
    (row,) = load_findings(wh.con, NIGHT)
    assert [(s.document, s.rel_path, s.sha256, s.position) for s in row.sources] == [("financing", "platform/7.csv", LATER, 2)]
