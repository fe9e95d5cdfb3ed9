"""Four-flow matching: each invoice behind a financing against the other flows of its trade.

For every invoice a live financing presents (``presented_invoices``), the match looks for

* the **purchase order** (tier 1 only): the orders the invoice's remark (``订单4500012345``)
  or the payables citing it state; without any stated order number, the buyer's orders
  from the seller worth the invoice's amount without tax (within tolerance) and dated up
  to ``date_window_days`` before its issue;
* the **payable** (tier 1 only): the buyer's vendor items whose text (SGTXT) cites the
  invoice number;
* the **goods receipts** (tier 1 only): the movements 101/102 of the matched order(s);
* the **waybill(s)**: with an order number known, every waybill citing it
  (``OriginalDocumentNumber``) or named by a goods receipt (``XBLNR``), shipped by the
  seller or to the buyer -- one order may travel on several waybills; without one, the
  waybills from the seller to the buyer consigned within ``date_window_days`` of the issue,
  grouped by the order they cite, whose quantity agrees with the invoice's;
* the **voucher step or bill** presenting it: the ``ISSUE``/``TRANSFER`` of the financed
  voucher or of any voucher it was split from whose invoice list holds it, or the bill
  record of the financed range listing it.

A trade is *tier 1* when the invoice's buyer is a core enterprise (it delivers ERP files, or issues
vouchers on the platform: a core whose ERP has not arrived yet is still a core);
deeper tiers have no ERP, and their ERP links are ``not_applicable``.  Each link ends
``matched``, ``missing``, ``ambiguous`` (more than one inferred candidate qualifies: the
engine never picks one silently) or ``not_applicable``, with its candidate count.  A link
stated by a document (a remark, a payable, a delivery note) is matched whatever the number
of documents.

The match runs in DuckDB, set-based, after the as-of views (``cur_*``), the check
parameters (DuckDB variables) and ``_prelude.sql`` exist: :func:`prepare_trade_matches`
builds the temporary table ``night_trade_matches`` (and the per-link candidate tables
``mt_*``) and the shared views of the trade checks; the night's judge stores what changed in
the warehouse table ``trade_matches`` (:mod:`reconciliation.changes`).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping

import duckdb

from reconciliation.session import open_night, sql_script
from warehouse.registry import create_table
from warehouse.results import TRADE_MATCHES
from warehouse.transactions import transaction

#: The parameters the match reads (DuckDB variables, defaults in the trade checks' params).
MATCH_PARAMS: tuple[str, ...] = (
    "amount_tolerance_fen",
    "amount_tolerance_ratio_ppm",
    "quantity_tolerance_ppm",
    "date_window_days",
)
#: The links of a trade, as prefixes of their ``*_outcome`` columns.
LINKS: tuple[str, ...] = ("po", "ap", "gr", "waybill", "instrument")
#: SQL scripts run, in order, by :func:`prepare_trade_matches`.
SCRIPTS: tuple[str, ...] = ("match_macros.sql", "match_trades.sql", "_prelude_trade.sql")

_CREATED_TABLE = re.compile(r"(?:--[^\n]*\n\s*)*CREATE OR REPLACE TEMP TABLE (\w+)", re.IGNORECASE)

def prepare_trade_matches(con: duckdb.DuckDBPyConnection, timings: dict[str, float] | None = None) -> int:
    """Match the night's trades into the temp table ``night_trade_matches``; return its rows.

    Needs the as-of views of the night, the check parameters set as DuckDB variables and the
    views of ``_prelude.sql`` (as :func:`reconciliation.findings.run_catalogue` prepares
    them).  Also defines the macros and shared views the trade checks read.  ``timings``, if
    given, receives the seconds spent building each temporary table.
    """
    missing = [name for name in MATCH_PARAMS
               if con.execute("SELECT getvariable(?)", [name]).fetchall()[0][0] is None]  # fmt: skip
    if missing:
        raise ValueError(f"match parameters not set: {', '.join(missing)}")
    for name in SCRIPTS:
        for statement in con.extract_statements(sql_script(name)):
            started = time.perf_counter()
            con.execute(statement.query)
            table = _CREATED_TABLE.match(statement.query.lstrip())
            if timings is not None and table:
                timings[table.group(1)] = time.perf_counter() - started
    return con.execute("SELECT count(*) FROM night_trade_matches").fetchall()[0][0]


def store_trade_matches(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> int:
    """Replace the night's rows of ``trade_matches`` by ``night_trade_matches`` (every one: the match of a
    night on its own, :func:`match_night`, for tests and ``bench/bench_matching.py``; a night judged by
    :func:`reconciliation.findings.run_catalogue` stores its changes only, :mod:`reconciliation.changes`);
    return their count.  Runs inside the caller's transaction, if any.
    """
    create_table(con, TRADE_MATCHES)
    con.execute("DELETE FROM trade_matches WHERE business_date = ?", [business_date])
    con.execute(
        "INSERT INTO trade_matches BY NAME SELECT ?::DATE AS business_date, * FROM night_trade_matches",
        [business_date],
    )
    return con.execute("SELECT count(*) FROM trade_matches WHERE business_date = ?", [business_date]).fetchall()[0][0]


def match_night(
    con: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    params: Mapping[str, int | str] | None = None,
    timings: dict[str, float] | None = None,
) -> int:
    """Match one night on its own, without running the checks, and store it; return the rows.

    ``params`` override the defaults of the catalogue and of the trade checks; ``timings``
    receives the seconds of each step (see :func:`prepare_trade_matches`).
    """
    open_night(con, business_date, params)
    prepare_trade_matches(con, timings)
    with transaction(con):
        return store_trade_matches(con, business_date)
