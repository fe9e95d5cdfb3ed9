"""Transactions on the warehouse connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: committed if it returns, rolled back if it raises.

    Inside a transaction the caller already opened, the block joins it: the caller
    commits or rolls back the whole.
    """
    try:
        con.begin()
    except duckdb.TransactionException:  # the caller's transaction is open
        yield con
        return
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()
