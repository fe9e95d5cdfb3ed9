"""A late or empty source feeds "evidence not yet here": when the last delivery of the source
that would hold a document was late (after the night's cut-off) or held no record, a finding
that the document is missing is pending (medium, review) for the evidence window, per source
— the other sources' findings stand; once the source delivers on time again, the finding stands."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from quality.registry import SourceIssue, store_source_issues
from tests.factories import delivered
from tests.trade_factories import make_uscc, run_trade_catalogue, tier1_trade
from warehouse.connection import Warehouse

D1, D2, D3 = (dt.date(2026, 11, 19) + dt.timedelta(days=i) for i in range(3))
LATE_CORE, ON_TIME_CORE = make_uscc("440306"), make_uscc("440305")
LATE_AP, ON_TIME_AP = (f"erp/{c}/ap_open_items.csv" for c in (LATE_CORE, ON_TIME_CORE))
OTHERS = ("tax/a.xml", "logistics/91440300MA5F00004K/w.xml")


def doubtful(wh: Warehouse, day: dt.date, check_id: str) -> None:
    """What the data-quality stage stores for the late core's payables file of ``day``."""
    store_source_issues(wh.con, day, [SourceIssue(check_id, LATE_AP, False, "doubtful", {})])


def no_payable(wh: Warehouse, day: dt.date) -> dict[str, tuple[str, str, dict]]:
    rows = wh.con.execute("SELECT financing_id, severity, detail, evidence FROM findings "
                          "WHERE business_date = ? AND check_id = 'TRADE_NO_PAYABLE'", [day]).fetchall()
    return {f: (s, d, json.loads(e)) for f, s, d, e in rows}


@pytest.mark.parametrize(("check_id", "reason"), [("DQ_SOURCE_LATE", "delivered late for"),
                                                  ("DQ_SOURCE_EMPTY", "delivered no record for")])
def test_a_late_or_empty_source_makes_the_findings_it_feeds_pending(wh, check_id, reason):
    delivered(wh, D1, LATE_AP, ON_TIME_AP, *OTHERS)
    delivered(wh, D2, LATE_AP, ON_TIME_AP, *OTHERS)
    doubtful(wh, D2, check_id)
    waiting = tier1_trade(wh, D2, core=LATE_CORE, seller=make_uscc(), with_payable=False)
    missing = tier1_trade(wh, D2, core=ON_TIME_CORE, seller=make_uscc(), with_payable=False)
    run_trade_catalogue(wh, D2)
    found = no_payable(wh, D2)
    assert found[missing.financing_id][0] == "high", "a source delivered on time is judged"
    severity, detail, evidence = found[waiting.financing_id]
    assert severity == "medium"
    assert detail.startswith(f"Evidence pending since {D2}: awaited from {LATE_AP} ({LATE_AP} {reason} {D2}")
    assert evidence["pending"] is True and evidence["awaited_sources"] == [LATE_AP]

    delivered(wh, D3, LATE_AP, ON_TIME_AP, *OTHERS)  # on time again, still without the payable: it stands
    run_trade_catalogue(wh, D3)
    assert no_payable(wh, D3)[waiting.financing_id][0] == "high"


def test_a_late_delivery_before_the_last_one_does_not_keep_a_finding_pending(wh):
    delivered(wh, D1, LATE_AP, ON_TIME_AP, *OTHERS)
    doubtful(wh, D1, "DQ_SOURCE_LATE")
    delivered(wh, D2, LATE_AP, ON_TIME_AP, *OTHERS)
    waiting = tier1_trade(wh, D2, core=LATE_CORE, seller=make_uscc(), with_payable=False)
    run_trade_catalogue(wh, D2)
    assert no_payable(wh, D2)[waiting.financing_id][0] == "high"
