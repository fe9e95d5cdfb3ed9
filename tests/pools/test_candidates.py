"""The candidates of a cut are read by column name: each field holds its own column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pools.candidates import load_candidates
from tests.pools import test_pool_jobs as sample
from tests.pools.test_pool_jobs import BANK, BLOCKED, CLEAN
from warehouse.connection import Warehouse

night_home = sample.night_home


def test_each_candidate_field_holds_its_own_column(night_home: Path) -> None:
    cutoff = dt.date(2026, 11, 20)
    with Warehouse(night_home / "warehouse.duckdb") as wh:
        (tree_size,) = wh.con.execute("SELECT tree_size FROM ledger_tree").fetchone() or (0,)
        by_id = {c.financing_id: c for c in load_candidates(wh.con, bank_code=BANK, cutoff=cutoff, tree_size=tree_size)}
        source = wh.con.execute(
            "SELECT applicant_uscc, debtor_uscc, face_amount_fen, value_date, maturity_date, product, asset_ref "
            "FROM cur_financings WHERE financing_id = ?", [CLEAN]).fetchone()
    clean = by_id[CLEAN]
    assert (clean.originator_uscc, clean.obligor_uscc, clean.outstanding_fen, clean.value_date, clean.maturity_date,
            clean.product, clean.asset_ref) == source
    assert clean.asset_key == f"{clean.product}:{clean.asset_ref}" and clean.cutoff == cutoff
    assert clean.verdict == "clean" and clean.open_checks is None and clean.pooled_in is None
    assert clean.obligor_name and clean.rating  # the obligor's row of the party master, not the originator's
    assert isinstance(clean.ledger_leaf_index, int)
    blocked = by_id[BLOCKED]
    assert blocked.verdict == "blocked" and blocked.open_checks  # its findings' check ids
