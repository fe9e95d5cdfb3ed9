"""The ledger vouches for the pool: POOL_RESERVE / POOL_RELEASE / POOL_SELL entries, an asset in
at most one active pool, a sold asset never pooled or financed again, and `scf pool verify`
catching a register or ledger that disagrees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from foundation.errors import ConfigError
from ledger.entries import PoolReserve, PoolSell, decode_entry
from ledger.pool_membership import ASSET_SOLD, append_membership, replay
from pools.tape import read_tape_csv
from tests.integration.test_pipeline import query, read_csv, run_ok
from tests.pools import test_pool_jobs as sample
from tests.pools.test_pool_jobs import BANK, CLEAN, POOL, cut, scf, verify
from warehouse.connection import Warehouse

night_home, home = sample.night_home, sample.home  # the sample night's home, and a copy of it per test

ASSET = "VOUCHER:V3f9a1c2b4d5e6f71"


def said(result) -> str:  # type: ignore[no-untyped-def]
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def entries(home: Path, kind: str) -> list:
    rows = query(home, "SELECT entry FROM ledger_entries WHERE entry_type = ? ORDER BY seq", kind)
    return [decode_entry(bytes(r[0])).record for r in rows]


def test_a_cut_reserves_each_asset_in_the_ledger_under_a_signed_checkpoint(home: Path) -> None:
    assert cut(home).exit_code == 0
    (row,) = read_tape_csv(home / "pools" / POOL / "tape.csv")
    (reserve,) = entries(home, "POOL_RESERVE")
    assert reserve == PoolReserve(POOL, CLEAN, ASSET, 3_000_000, int(row["ledger_leaf_index"]))
    (seq,) = query(home, "SELECT seq FROM ledger_entries WHERE entry_type = 'POOL_RESERVE'")[0]
    assert row["reserve_leaf_index"] == str(seq)
    size = query(home, "SELECT tree_size FROM ledger_tree")[0][0]
    assert (home / "ledger" / "checkpoints" / f"{size}.txt").is_file()  # the reservation is signed at once
    assert scf("verify", "--home", str(home)).exit_code == 0  # the integrity gate accepts pool entries
    assert scf("ledger", "verify", "--home", str(home)).exit_code == 0


def test_the_ledger_refuses_an_asset_in_two_active_pools(home: Path) -> None:
    assert cut(home).exit_code == 0
    with Warehouse(home / "warehouse.duckdb") as wh, pytest.raises(ConfigError, match=f"already in active pool {POOL}"):
        append_membership(wh.con, [PoolReserve("POOL-X", CLEAN, ASSET, 3_000_000, None)], dt.date(2026, 11, 21))


def test_verify_fails_when_the_register_and_the_ledger_disagree(home: Path) -> None:
    assert cut(home).exit_code == 0
    with Warehouse(home / "warehouse.duckdb") as wh:  # a register row the ledger never recorded
        wh.con.execute("INSERT INTO pool_assets (pool_id, financing_id, asset_key, outstanding_fen) "
                       "VALUES (?, 'F-FORGED', 'BILL:forged', 100)", [POOL])
    result = verify(home, POOL)
    assert result.exit_code == 1
    assert f"asset BILL:forged of pool {POOL}: the register says active, the ledger does not" in said(result)


def test_a_forged_reserve_leaf_fails_verify(home: Path) -> None:
    assert cut(home).exit_code == 0
    (row,) = read_tape_csv(home / "pools" / POOL / "tape.csv")
    tape = home / "pools" / POOL / "tape.csv"
    tape.write_text(tape.read_text("utf-8").replace(f",{row['reserve_leaf_index']}\n",
                                                    f",{row['ledger_leaf_index']}\n"), "utf-8")
    result = verify(home, POOL)
    assert result.exit_code == 1
    assert f"{CLEAN}: leaf {row['ledger_leaf_index']} is not the POOL_RESERVE of asset {ASSET}" in said(result)


def test_a_sold_asset_is_never_pooled_or_financed_again(home: Path) -> None:
    assert cut(home).exit_code == 0
    sold = scf("pool", "sell", POOL, "--on", "2026-11-20", "--home", str(home))
    assert sold.exit_code == 0, sold.output
    assert entries(home, "POOL_SELL") == [PoolSell(POOL, CLEAN, ASSET, 3_000_000, None)]
    assert scf("pool", "release", POOL, "--on", "2026-11-21", "--home", str(home)).exit_code == 0
    again = cut(home)  # released, but sold: never pooled again
    assert again.exit_code == 1 and "IN_ACTIVE_POOL" in again.output
    with Warehouse(home / "warehouse.duckdb") as wh:
        assert replay(wh.con).sold == {ASSET: POOL} and replay(wh.con).active == {}
    # a new financing of the sold voucher, delivered a night later, is refused by the ledger
    inbox = home.parent / "inbox2"
    (inbox / "2026-11-21" / "platform").mkdir(parents=True)
    (inbox / "2026-11-21" / "platform" / "financings.csv").write_text(
        "financing_id,bank_code,product,applicant_uscc,debtor_uscc,asset_ref,invoice_nos,face_amount,"
        "financed_amount,rate,value_date,maturity_date,status\n"
        f"F202611210009,{BANK},VOUCHER,91320500MA1X000037,91440300MA5F00001A,V3f9a1c2b4d5e6f71,"
        "26320000000000023456:30000.00,30000.00,29570.38,0.0298,2026-11-21,2027-05-12,ACTIVE\n", "utf-8")
    run_ok(home, inbox, dt.date(2026, 11, 21))
    findings = read_csv(home / "reports" / "2026-11-21" / "findings.csv")
    refused = [f for f in findings if f["check_id"] == ASSET_SOLD]
    assert [(f["financing_id"], f["severity"]) for f in refused] == [("F202611210009", "critical")]
    assert f"sold with ABS pool {POOL}" in refused[0]["detail"]
    status = {r["financing_id"]: r["verdict"] for r in read_csv(home / "reports" / "2026-11-21" / "financing_status.csv")}
    assert status["F202611210009"] == "blocked"
    assert query(home, "SELECT count(*) FROM ledger_entries WHERE financing_id = 'F202611210009'")[0][0] == 0
    assert verify(home, POOL).exit_code == 0  # released and sold: register and ledger agree


def test_a_sub_range_of_a_sold_bill_range_is_refused_too() -> None:
    from ledger.entries import FinancingRecord
    from ledger.pool_membership import SoldAssets

    sold = SoldAssets({"BILL:731352100001120261101000000123:1-5000000": POOL},
                      {"731352100001120261101000000123": [(1, 5_000_000, "BILL:731352100001120261101000000123:1-5000000")]})

    def bill(start: int, end: int, cd: str = "731352100001120261101000000123") -> FinancingRecord:
        return FinancingRecord("F-NEW", BANK, "BILL", None, None, f"{cd}:{start}-{end}", None, cd, start, end, None,
                               (), None, None, None, None, None, "ACTIVE")

    inside = sold.refusal(bill(4_000_001, 6_000_000))
    assert inside is not None and inside.check_id == ASSET_SOLD and f"sold with ABS pool {POOL}" in inside.reason
    assert sold.refusal(bill(5_000_001, 6_000_000)) is None  # the next range of the same bill
    assert sold.refusal(bill(1, 5_000_000, cd="731352100001120261101000000999")) is None  # another bill
