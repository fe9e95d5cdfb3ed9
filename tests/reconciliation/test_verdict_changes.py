"""Verdicts stored as changes (reconciliation.changes): a night writes rows only for what changed,
the as-of reader gives each night what it computed, a financing no longer named is said dropped
once, and a night re-run after later nights leaves their as-of views as they computed them."""

from __future__ import annotations

import datetime as dt

from reconciliation.catalogue import CATALOGUE
from reconciliation.check import Family
from reconciliation.findings import run_catalogue as run_all
from tests.factories import financing, invoice
from tests.reconciliation.test_incremental_state import standing_is_the_definition
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse

D1, D2, D3 = dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)
INV_A, INV_B, INV_C = "26320000000000000001", "26320000000000000002", "26320000000000000003"


def judge(wh: Warehouse, day: dt.date) -> None:
    run_all(wh.con, day, checks=CATALOGUE.of(Family.FIRST))
    standing_is_the_definition(wh)  # kept on top of the night before, or made again (a re-run)


def as_of(wh: Warehouse, day: dt.date) -> dict[str, tuple]:
    """Each financing's (verdict, check_ids, verdict_since) as of ``day``."""
    rows = wh.con.execute(f"SELECT financing_id, verdict, check_ids, verdict_since FROM ({verdicts_as_of_sql()})", [day]).fetchall()
    return {f: (v, c, s) for f, v, c, s in rows}


def written(wh: Warehouse, day: dt.date) -> dict[str, bool]:
    """The verdict rows stored for ``day``: financing -> dropped."""
    return dict(wh.con.execute("SELECT financing_id, dropped FROM financing_verdicts WHERE business_date = ?", [day]).fetchall())


def test_a_night_writes_only_the_financings_whose_verdict_changed(wh):
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    invoice(wh, D1, INV_B, 20_000_00, issued=D1)
    financing(wh, D1, "F2", "INVOICE", invoices={INV_B: 20_000_00})
    judge(wh, D1)
    assert written(wh, D1) == {"F1": False, "F2": False}
    judge(wh, D2)  # nothing arrived
    assert written(wh, D2) == {}
    assert as_of(wh, D2) == as_of(wh, D1) == {"F1": ("blocked", "INVOICE_NOT_IN_TAX_DATA", D1), "F2": ("clean", "", D1)}
    invoice(wh, D3, INV_A, 10_000_00, issued=D1)
    judge(wh, D3)
    assert written(wh, D3) == {"F1": False}
    assert as_of(wh, D3) == {"F1": ("clean", "", D3), "F2": ("clean", "", D1)}
    assert as_of(wh, D2)["F1"] == ("blocked", "INVOICE_NOT_IN_TAX_DATA", D1)  # history a query away


def test_a_financing_no_longer_named_is_dropped_once_and_keeps_its_history(wh):
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    financing(wh, D1, "F2", "INVOICE", invoices={INV_B: 10_000_00})
    judge(wh, D1)
    judge(wh, D2)
    wh.con.execute("DELETE FROM financings WHERE financing_id = 'F2'")  # its file restated without it
    wh.con.execute("DELETE FROM financing_invoices WHERE financing_id = 'F2'")
    judge(wh, D3)
    assert written(wh, D3) == {"F2": True}
    assert set(as_of(wh, D3)) == {"F1"}
    assert set(as_of(wh, D2)) == {"F1", "F2"}


def test_a_night_rerun_after_later_nights_leaves_their_views_as_they_computed_them(wh):
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    invoice(wh, D1, INV_B, 20_000_00, issued=D1)
    financing(wh, D1, "F2", "INVOICE", invoices={INV_B: 20_000_00})
    judge(wh, D1)
    invoice(wh, D2, INV_A, 10_000_00, issued=D1)
    judge(wh, D2)
    judge(wh, D3)
    before = {day: as_of(wh, day) for day in (D2, D3)}
    assert before[D3]["F1"] == ("clean", "", D2)
    # D1 restated: F2's invoice never arrived that night, and a new financing F3 came with it
    wh.con.execute("DELETE FROM tax_invoices WHERE invoice_no = ?", [INV_B])
    financing(wh, D1, "F3", "INVOICE", invoices={INV_C: 5_000_00})
    judge(wh, D1)
    assert as_of(wh, D1) == {"F1": ("blocked", "INVOICE_NOT_IN_TAX_DATA", D1), "F2": ("blocked", "INVOICE_NOT_IN_TAX_DATA", D1),
                             "F3": ("blocked", "INVOICE_NOT_IN_TAX_DATA", D1)}
    assert {day: as_of(wh, day) for day in (D2, D3)} == before  # the later nights stand as they ran
    judge(wh, D2)  # replayed, in order: what D2 gives now, D3 standing as it ran
    assert as_of(wh, D2) == {"F1": ("clean", "", D2), "F2": ("blocked", "INVOICE_NOT_IN_TAX_DATA", D1),
                             "F3": ("blocked", "INVOICE_NOT_IN_TAX_DATA", D1)}
    assert as_of(wh, D3) == before[D3]
    judge(wh, D3)
    assert as_of(wh, D3) == as_of(wh, D2)


def test_nights_replayed_after_a_rerun_give_what_they_gave_in_order(wh):
    """A replayed night is judged on top of the re-run one while later nights are still stored: its
    verdicts are every financing's, not only those that may have changed (changes.may_narrow)."""
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    invoice(wh, D1, INV_B, 20_000_00, issued=D1)
    financing(wh, D1, "F2", "INVOICE", invoices={INV_B: 20_000_00})
    for day in (D1, D2, D3):
        judge(wh, day)
    in_order = {day: as_of(wh, day) for day in (D1, D2, D3)}
    for day in (D1, D2, D3):  # the first night re-run, the later ones replayed in order
        judge(wh, day)
        assert as_of(wh, day) == in_order[day], day
    assert written(wh, D2) == written(wh, D3) == {}
