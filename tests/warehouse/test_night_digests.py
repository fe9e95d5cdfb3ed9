"""The digests the as-of state rests on are kept night by night (issue 15): a night's are computed
from its own rows once, and forgotten when its rows are cleared -- so a restated or re-read earlier
night still forces the state's rebuild, and a night's refresh does not re-read every night."""

from __future__ import annotations

import datetime as dt

from reconciliation.session import KEPT
from tests.factories import insert
from tests.reconciliation.test_incremental_state import FINANCINGS, FIRST, INVOICES, Financing, Invoice, deliver
from warehouse.asof_state import Build, NightDigests, night_digests, refresh_asof_state
from warehouse.connection import Warehouse
from warehouse.schemas import SCHEMAS

SECOND, THIRD = FIRST + dt.timedelta(days=1), FIRST + dt.timedelta(days=2)
ONE = [[Invoice(INVOICES[0], 113_00), Financing(FINANCINGS[0], INVOICES[0], 113_00, "ACTIVE")]]


def definition(wh: Warehouse, up_to: dt.date) -> NightDigests:
    """The digests from every row of every night (what was recomputed every night before)."""
    out: NightDigests = {}
    for name in [*SCHEMAS, "files"]:
        lineage = "business_date, sha256, seq" if name == "files" else "business_date, src_sha256, src_pos"
        out[name] = {night: (count, xor) for night, count, xor in wh.con.execute(
            f"SELECT business_date, count(*), bit_xor(hash({lineage})) FROM {name} WHERE business_date <= ? "
            "GROUP BY business_date", [up_to]).fetchall()}
    return out


def test_kept_digests_equal_the_definition_through_restatements(wh: Warehouse) -> None:
    deliver(wh, FIRST, ONE, 1)
    assert night_digests(wh.con, FIRST) == definition(wh, FIRST)
    deliver(wh, SECOND, [[Invoice(INVOICES[1], 226_00)], [Invoice(INVOICES[2], 113_00)]], 2)
    assert night_digests(wh.con, SECOND) == definition(wh, SECOND)
    assert night_digests(wh.con, FIRST) == definition(wh, FIRST)  # an earlier night (a re-run's view)
    deliver(wh, FIRST, [[Invoice(INVOICES[1], 339_00)]], 4)  # restated
    assert night_digests(wh.con, SECOND) == definition(wh, SECOND)
    assert wh.con.execute("SELECT count(DISTINCT business_date) FROM night_digests").fetchone() == (2,)


def test_a_night_re_read_with_the_same_number_of_rows_forces_a_rebuild(wh: Warehouse) -> None:
    """The same records from another file: only the lineage (file, position) differs."""
    deliver(wh, FIRST, ONE, 1)
    assert refresh_asof_state(wh.con, FIRST, kept=KEPT).build is Build.FULL
    deliver(wh, SECOND, [[Invoice(INVOICES[1], 226_00)]], 2)
    assert refresh_asof_state(wh.con, SECOND, kept=KEPT).build is Build.INCREMENTAL
    deliver(wh, FIRST, ONE, 7)  # night 1 re-read: same rows, from a file of another hash
    deliver(wh, THIRD, [[Invoice(INVOICES[2], 113_00)]], 8)
    rebuilt = refresh_asof_state(wh.con, THIRD, kept=KEPT)
    assert rebuilt.build is Build.FULL and "changed since (restated or re-read)" in rebuilt.reason


def test_rows_added_to_an_earlier_night_behind_the_loader_s_back_force_a_rebuild(wh: Warehouse) -> None:
    """Rows not written through a cleared night leave the kept digests in doubt: all are computed
    again from every row, and the change is seen."""
    deliver(wh, FIRST, ONE, 1)
    deliver(wh, SECOND, [[Invoice(INVOICES[1], 226_00)]], 2)
    refresh_asof_state(wh.con, SECOND, kept=KEPT)
    insert(wh, "tax_invoices", FIRST, src_sha256="f" * 64, src_pos=9, invoice_no=INVOICES[2], total_fen=113_00,
           amount_fen=100_00, tax_fen=13_00, seller_uscc="91320500MA1X000024", buyer_uscc="91440300MA5F00001A",
           issue_time=dt.datetime.combine(FIRST, dt.time(9)))
    deliver(wh, THIRD, [[Invoice(INVOICES[0], 226_00)]], 3)
    rebuilt = refresh_asof_state(wh.con, THIRD, kept=KEPT)
    assert rebuilt.build is Build.FULL and "changed since" in rebuilt.reason
    assert night_digests(wh.con, THIRD) == definition(wh, THIRD)
