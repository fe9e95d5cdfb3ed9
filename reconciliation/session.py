"""The SQL session of one night: the as-of state, the parameters, the shared views.

Every check of night D runs on a connection prepared here: ``cur_*`` views over the as-of
state of D (the version of record of every key, :mod:`warehouse.asof_state`: kept night by
night, or rebuilt from all history when asked or in doubt), the catalogue's
parameters as DuckDB variables (configuration overriding the defaults), the cycles of circular
trade (``sql/_prelude_circular.sql``), the financings the night judges (``judged_financings``:
every one, or those :mod:`reconciliation.scope` narrows the night to), and the views of
``sql/_prelude.sql`` and ``sql/_prelude_ledger.sql`` shared by the checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from importlib import resources

import duckdb

from foundation.vocabulary import EventType
from ledger.schema import ensure_schema as ensure_ledger_schema
from reconciliation.catalogue import CATALOGUE, Catalogue
from reconciliation.check import severity_macros_sql
from reconciliation.vocabulary import expand_vocabulary
from warehouse.asof_state import FirstNights, Refresh, create_state_views, refresh_asof_state
from warehouse.registry import create_table
from warehouse.results import DQ_SOURCE_ISSUES, FIRST_FINANCING_NIGHTS, FIRST_VOUCHER_ISSUERS, POOL_ASSETS, POOLS

CYCLES = "_prelude_circular.sql"
SPLITS = "_prelude_splits.sql"  # voucher_splits: read by the scope and the preludes, made once before both
PRELUDES = ("_prelude.sql", "_prelude_ledger.sql")

#: What the checks read of all history, kept night by night with the as-of state: the night each
#: financing was first delivered, its row readable or not (``financing_first_night`` of
#: ``_prelude.sql``), and the issuers of voucher ISSUE events, every delivered event counting (an
#: event's issuer may be restated: ``mt_cores`` of ``match_trades.sql``).
KEPT: tuple[FirstNights, ...] = (
    FirstNights(FIRST_FINANCING_NIGHTS, ("SELECT financing_id AS key, business_date FROM financings",
                                         "SELECT financing_id AS key, business_date FROM financing_rejects")),
    FirstNights(FIRST_VOUCHER_ISSUERS, ("SELECT issuer_uscc AS key, business_date FROM voucher_events "
                                        f"WHERE event_type = '{EventType.ISSUE.value}'",)),
)


def sql_script(name: str) -> str:
    """The text of a SQL file of ``reconciliation/sql``, its vocabulary placeholders expanded."""
    return expand_vocabulary(resources.files("reconciliation.sql").joinpath(name).read_text("utf-8"))


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
    *,
    full: bool = False,
    narrow: Callable[[Refresh], None] | None = None,
) -> Refresh:
    """Prepare ``con`` for the checks of ``catalogue`` on ``business_date`` (see the module docstring);
    ``full`` rebuilds the as-of state from every night; ``narrow``, given how it was made, creates
    ``judged_financings`` (by default every financing is judged).  Returns how the state was made, and why."""
    defaults = catalogue.default_params()
    unknown = set(params or {}) - set(defaults)
    if unknown:
        raise ValueError(f"unknown check parameters: {', '.join(sorted(unknown))}")
    ensure_ledger_schema(con)
    for table in (POOLS, POOL_ASSETS, DQ_SOURCE_ISSUES):  # the POOL_* and DQ_* checks read them
        create_table(con, table)
    refresh = refresh_asof_state(con, business_date, full=full, kept=KEPT)
    create_state_views(con)
    set_check_variables(con, business_date, {**defaults, **(params or {})})
    con.execute(severity_macros_sql())
    con.execute(sql_script(CYCLES))
    con.execute(sql_script(SPLITS))
    if narrow is None:
        judge_every_financing(con)
    else:
        narrow(refresh)
    load_preludes(con)
    return refresh


def judge_every_financing(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``judged_financings`` every financing (the whole universe: no scope)."""
    con.execute("CREATE OR REPLACE TEMP TABLE judged_financings AS SELECT financing_id FROM cur_financings")


def load_preludes(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the shared views and tables of the checks over the night's ``judged_financings``."""
    for name in PRELUDES:
        con.execute(sql_script(name))
