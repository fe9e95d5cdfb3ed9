"""As-of views across nights: the version of each record as of night D.

Checks of night D look at history through *as-of views* (``cur_<table>``): rows of nights up
to D, the latest version of each natural key, child rows (invoice lines, presented invoices,
endorsements) following their parent's version.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.schemas import NATURAL_KEYS, SCHEMAS

# Child tables follow the version of their parent row: (parent table, join columns).
CHILD_OF: dict[str, tuple[str, tuple[str, ...]]] = {
    "tax_invoice_lines": ("tax_invoices", ("invoice_no",)),
    "bill_endorsements": ("bills", ("cd_no", "range_start")),
    "voucher_event_invoices": ("voucher_events", ("event_id",)),
    "financing_invoices": ("financings", ("financing_id",)),
}


def create_asof_views(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Create temporary ``cur_<table>`` views: history up to ``as_of``, latest version wins.

    The latest version of a natural key is the row of the latest night; within a night,
    the later position in its file.  Child rows are those of their parent's version.
    """
    day = as_of.isoformat()
    for name in SCHEMAS:
        if name in CHILD_OF:
            continue
        keys = ", ".join(NATURAL_KEYS[name])
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW cur_{name} AS
            SELECT * EXCLUDE (_rank) FROM (
              SELECT *, row_number() OVER (PARTITION BY {keys}
                ORDER BY business_date DESC, src_pos DESC, src_sha256 DESC) AS _rank
              FROM {name} WHERE business_date <= DATE '{day}')
            WHERE _rank = 1"""
        )
    for child, (parent, join_cols) in CHILD_OF.items():
        on = " AND ".join(f"c.{col} = p.{col}" for col in join_cols)
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW cur_{child} AS
            SELECT c.* FROM {child} c JOIN cur_{parent} p
              ON {on} AND c.business_date = p.business_date AND c.src_sha256 = p.src_sha256
             AND c.src_pos = p.src_pos"""
        )
