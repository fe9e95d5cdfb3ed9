"""One transaction per block, and a nested block joins the open one (DuckDB has no nested transactions)."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.transactions import transaction


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    return con


def _rows(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [r[0] for r in con.execute("SELECT x FROM t ORDER BY x").fetchall()]


def test_a_nested_block_joins_the_open_transaction(con: duckdb.DuckDBPyConnection) -> None:
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        with transaction(con):
            con.execute("INSERT INTO t VALUES (2)")
        con.execute("INSERT INTO t VALUES (3)")  # the outer transaction is not aborted by the inner block
    assert _rows(con) == [1, 2, 3]


def test_an_error_in_a_nested_block_rolls_back_the_whole(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(RuntimeError), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        with transaction(con):
            con.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("stop")
    assert _rows(con) == []
    with transaction(con):  # the connection is free again
        con.execute("INSERT INTO t VALUES (4)")
    assert _rows(con) == [4]
