"""The SQL session of one night: the as-of views, the parameters, the shared views.

Every check of night D runs on a connection prepared here: ``cur_*`` views holding the
history up to D (:func:`warehouse.asof.create_asof_views`), the catalogue's
parameters as DuckDB variables (configuration overriding the defaults), and the views of
``sql/_prelude.sql`` and ``sql/_prelude_ledger.sql`` shared by the checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from importlib import resources

import duckdb

from ledger.schema import ensure_schema as ensure_ledger_schema
from reconciliation.catalogue import CATALOGUE, Catalogue
from reconciliation.check import severity_macros_sql
from warehouse.asof import create_asof_views
from warehouse.registry import create_table
from warehouse.results import DQ_SOURCE_ISSUES, POOL_ASSETS, POOLS

PRELUDES = ("_prelude.sql", "_prelude_ledger.sql")


def sql_script(name: str) -> str:
    """The text of a SQL file of ``reconciliation/sql``."""
    return resources.files("reconciliation.sql").joinpath(name).read_text("utf-8")


def set_check_variables(
    con: duckdb.DuckDBPyConnection, business_date: dt.date, params: Mapping[str, int | str]
) -> None:
    """Set ``business_date`` and every check parameter as DuckDB variables."""
    con.execute(f"SET VARIABLE business_date = DATE '{business_date.isoformat()}'")
    for name, value in params.items():
        if not name.isidentifier():
            raise ValueError(f"bad parameter name {name!r}")
        con.execute(f"SET VARIABLE {name} = ?", [value])


def open_night(
    con: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    params: Mapping[str, int | str] | None = None,
    catalogue: Catalogue = CATALOGUE,
) -> None:
    """Prepare ``con`` for the checks of ``catalogue`` on ``business_date`` (see the module docstring)."""
    defaults = catalogue.default_params()
    unknown = set(params or {}) - set(defaults)
    if unknown:
        raise ValueError(f"unknown check parameters: {', '.join(sorted(unknown))}")
    ensure_ledger_schema(con)
    for table in (POOLS, POOL_ASSETS, DQ_SOURCE_ISSUES):  # the POOL_* and DQ_* checks read them
        create_table(con, table)
    create_asof_views(con, business_date)
    set_check_variables(con, business_date, {**defaults, **(params or {})})
    con.execute(severity_macros_sql())
    for name in PRELUDES:
        con.execute(sql_script(name))
