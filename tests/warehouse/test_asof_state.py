"""A night's as-of state reads a child table's rows only when its parent's state lost a row
(:func:`warehouse.asof_state.refresh_asof_state`): the state is that of every night all the same."""

from __future__ import annotations

import datetime as dt

from reconciliation.session import KEPT
from tests.reconciliation.test_incremental_state import (
    FINANCINGS,
    FIRST,
    INVOICES,
    Financing,
    Invoice,
    assert_state_is_the_definition,
    deliver,
)
from warehouse.asof_state import Build, refresh_asof_state
from warehouse.connection import Warehouse
from warehouse.schemas import CHILD_OF, NATURAL_KEYS


def test_a_child_joins_its_parent_on_the_parents_natural_key() -> None:
    """What skipping a child rests on: its rows in the state are found by the parent's key alone."""
    for child, (parent, join_cols) in CHILD_OF.items():
        assert join_cols == NATURAL_KEYS[parent], child
        assert parent not in CHILD_OF, child


def test_children_stand_on_a_night_restating_no_parent_and_follow_a_restated_one(wh: Warehouse) -> None:
    second, third = FIRST + dt.timedelta(days=1), FIRST + dt.timedelta(days=2)
    deliver(wh, FIRST, [[Invoice(INVOICES[0], 113_00), Financing(FINANCINGS[0], INVOICES[0], 113_00, "ACTIVE")]], 1)
    assert refresh_asof_state(wh.con, FIRST, kept=KEPT).build is Build.FULL
    deliver(wh, second, [[Invoice(INVOICES[1], 226_00), Financing(FINANCINGS[1], INVOICES[1], 226_00, "ACTIVE")]], 2)
    assert refresh_asof_state(wh.con, second, kept=KEPT).build is Build.INCREMENTAL  # new keys only
    assert_state_is_the_definition(wh, second)
    assert wh.con.execute("SELECT count(*) FROM asof_tax_invoice_lines").fetchone() == (2,)
    deliver(wh, third, [[Invoice(INVOICES[0], 339_00), Financing(FINANCINGS[0], INVOICES[1], 339_00, "REPAID")]], 3)
    assert refresh_asof_state(wh.con, third, kept=KEPT).build is Build.INCREMENTAL  # both restated
    assert_state_is_the_definition(wh, third)
    assert wh.con.execute("SELECT invoice_no FROM asof_financing_invoices WHERE financing_id = ?",
                          [FINANCINGS[0]]).fetchall() == [(INVOICES[1],)]
