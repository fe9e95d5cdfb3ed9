"""The scope closed again after the match linked waybills (reconciliation.scope.close_over_added, by the
waybills added only) is the closure of _scope_closure.sql computed again over every link."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.scope import close_over_added
from reconciliation.session import sql_script

FINANCINGS = [f"F{n}" for n in range(8)]
links = st.sets(st.tuples(st.sampled_from(FINANCINGS), st.sampled_from(["W1", "W2", "W3", "W4"])), max_size=10)


def fill(con: duckdb.DuckDBPyConnection, table: str, rows: set[tuple[str, ...]]) -> None:
    for row in sorted(rows):
        con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in row)})", list(row))


def session(waybills: set[tuple[str, str]], invoices: set[tuple[str, str]], touched: set[str]) -> duckdb.DuckDBPyConnection:
    """A session holding what the closure reads: financings sharing waybills and invoices, nothing else."""
    con = duckdb.connect()
    for name, value in (("reissue_window_days", 15), ("amount_tolerance_fen", 100), ("amount_tolerance_ratio_ppm", 1000)):
        con.execute(f"SET VARIABLE {name} = {value}")
    con.execute(sql_script("match_macros.sql"))
    assets = "financing_id VARCHAR, asset_voucher_id VARCHAR, asset_cd_no VARCHAR, asset_invoice_no VARCHAR"
    for table in ("financings", "financing_rejects", "cur_financings", "cur_financing_rejects"):
        con.execute(f"CREATE TEMP TABLE {table} ({assets})")
    con.execute("CREATE TEMP TABLE cur_tax_invoices (invoice_no VARCHAR, seller_uscc VARCHAR, buyer_uscc VARCHAR, "
                "issue_time TIMESTAMP, total_fen BIGINT, is_red BOOLEAN)")
    con.execute("CREATE TEMP TABLE scope_previous_matches (financing_id VARCHAR, invoice_no VARCHAR, seller_uscc VARCHAR, "
                "buyer_uscc VARCHAR, invoice_date DATE, invoice_total_fen BIGINT)")
    for table, rows, column in (("financing_invoices", invoices, "invoice_no"), ("cur_financing_invoices", invoices, "invoice_no"),
                                ("scope_waybills", waybills, "waybill_no")):
        con.execute(f"CREATE TEMP TABLE {table} (financing_id VARCHAR, {column} VARCHAR)")
        fill(con, table, rows)
    con.execute("CREATE TEMP TABLE scope_touched (financing_id VARCHAR)")
    fill(con, "scope_touched", {(f,) for f in touched})
    con.execute(sql_script("_scope_closure.sql"))
    return con


def sets(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    return ({r[0] for r in con.execute("FROM scope_kept").fetchall()}, {r[0] for r in con.execute("FROM judged_financings").fetchall()})


@settings(max_examples=100, deadline=None)
@given(waybills=links, added=links, invoices=st.sets(st.tuples(st.sampled_from(FINANCINGS), st.sampled_from(["I1", "I2"])), max_size=6),
       touched=st.sets(st.sampled_from(FINANCINGS), min_size=1, max_size=3))
def test_the_scope_grown_by_the_waybills_added_is_the_closure_over_every_link(waybills, added, invoices, touched) -> None:  # noqa: ANN001
    grown = session(waybills, invoices, touched)
    grown.execute("CREATE TEMP TABLE scope_waybills_added (financing_id VARCHAR, waybill_no VARCHAR)")
    fill(grown, "scope_waybills_added", added - waybills)
    close_over_added(grown)
    assert sets(grown) == sets(session(waybills | added, invoices, touched))
