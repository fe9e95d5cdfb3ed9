"""Transactions on the warehouse connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

_OPEN: set[int] = set()
"""The connections (by ``id``) in a block of :func:`transaction`: DuckDB has no nested transactions, and a
``BEGIN`` refused inside one aborts it ("Current transaction is aborted"), so a nested block must not begin."""


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: committed if it returns, rolled back if it raises.

    Inside a block of this function on the same connection, the block joins the open
    transaction: the outer block commits or rolls back the whole.
    """
    if id(con) in _OPEN:
        yield con
        return
    con.begin()
    _OPEN.add(id(con))
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    else:
        con.commit()
    finally:
        _OPEN.discard(id(con))
