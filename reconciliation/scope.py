"""Which financings a night judges again, and what it carries from the previous night (issue 15 §1).

Night D judges only the financings whose evidence changed since the previous night judged, P
(``sql/_scope.sql``: new or restated, a new version of a record their checks read, a ledger refusal
changed, a finding of P of a check whose rows change with the night alone (:func:`dated_checks`:
pending evidence, the night's date in the text), a ring of circular trade), closed over the keys
financings share (``sql/_scope_closure.sql``): the checks read the *judged* financings
(``judged_financings``: the live ones of ``_prelude.sql``), the findings and matches of the *kept*
ones are tonight's, and every other financing's findings and matches are P's, carried unchanged.
Its verdict is recomputed from them as every night.

A night is judged whole (every financing) when that cannot be shown to give the full result:
asked (``--full``), the as-of state was rebuilt (restated or re-run history, a skipped night, a
migration), no night was judged before, the previous night judged is not the one the as-of
state was built on, or the checks, their parameters or the catalogue changed since (a digest is
kept per night, :data:`warehouse.results.JUDGED_NIGHTS`).  The night's log says which and why.
Checks of the families that read no financing's evidence of their own (``source``) or the
findings of the night (``pool``) run whole every night and are never carried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import duckdb

from foundation.errors import ScfError
from reconciliation.catalogue import Catalogue
from reconciliation.check import Check, Family
from reconciliation.session import judge_every_financing, load_preludes, sql_script
from reconciliation.standing import matches_as_of
from warehouse.asof_state import Build, Refresh
from warehouse.registry import create_table, insert_row
from warehouse.results import JUDGED_NIGHTS

#: Families whose checks run over every financing each night (nothing carried).
WHOLE_FAMILIES: frozenset[Family] = frozenset({Family.SOURCE, Family.POOL})
#: The parameters the scope's rules read (the windows of pending evidence, the match and re-issues).
SCOPE_PARAMS: tuple[str, ...] = ("evidence_window_days", "date_window_days", "reissue_window_days", "amount_tolerance_fen",
                                  "amount_tolerance_ratio_ppm")
#: The SQL the scope rests on: any change to it, the preludes or the match judges the next night whole.
SCRIPTS: tuple[str, ...] = ("_scope.sql", "_scope_closure.sql")
WIDEN = "_scope_widen.sql"  # the closure grown by the waybills the night's match linked (widen)
MATCH_MACROS = "match_macros.sql"
_MATCH_AND_PRELUDES: tuple[str, ...] = ("_prelude.sql", "_prelude_ledger.sql", "_prelude_circular.sql", "_prelude_splits.sql",
                                        "_prelude_trade.sql", MATCH_MACROS, "match_trades.sql")
_MAX_WIDENINGS = 8


@dataclass
class Scope:
    """How a night is judged: whole (``previous`` None, and why) or on top of night ``previous``."""

    previous: dt.date | None
    reason: str
    digest: str
    touched: int = 0
    kept: int = 0
    judged: int = 0
    why: dict[str, int] = field(default_factory=dict)  # touched financings by the first rule that touched each

    @property
    def whole(self) -> bool:
        """Whether every financing is judged (nothing carried)."""
        return self.previous is None

    def __str__(self) -> str:
        if self.whole:
            return f"every financing judged ({self.reason})"
        why = ", ".join(f"{rule} {count}" for rule, count in sorted(self.why.items(), key=lambda kv: (-kv[1], kv[0])))
        return (f"{self.kept} financing(s) judged again ({self.touched} touched: {why or 'none'}; {self.judged} read), "
                f"the others carried from {self.previous}")


def settings_digest(catalogue: Catalogue, params: Mapping[str, int | str] | None, checks: Iterable[Check] | None) -> str:
    """The digest of what a night's findings rest on besides the data: the catalogue's checks, the
    parameters in force (``params`` over the defaults), the checks run (``None``: all), and the SQL
    of the session and the match."""
    in_force = {**catalogue.default_params(), **(params or {})}
    run = catalogue.checks if checks is None else checks
    parts = [repr(sorted(in_force.items())), repr([c.check_id for c in run])]
    parts += [f"{c.check_id}|{c.family}|{c.category}|{c.severity}|{sorted(c.params.items())}|{c.body}" for c in catalogue.checks]
    parts += [sql_script(name) for name in (*_MATCH_AND_PRELUDES, *SCRIPTS, WIDEN)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def decide(con: duckdb.DuckDBPyConnection, business_date: dt.date, refresh: Refresh, state_night: dt.date | None,
           digest: str, params: Mapping[str, int | str], *, full: bool) -> Scope:
    """Whether night ``business_date`` may be judged on top of the previous night judged (see the
    module docstring); ``state_night`` is the night the as-of state was of before this night's refresh."""
    if full:  # (nothing read: the Spark engine replays the statements of a full night)
        return Scope(None, "asked (--full)", digest)
    create_table(con, JUDGED_NIGHTS)
    row = con.execute(f"SELECT max(business_date) FROM {JUDGED_NIGHTS.name} WHERE business_date < ?",
                      [business_date]).fetchone()
    previous = row[0] if row else None
    missing = [name for name in SCOPE_PARAMS if name not in params]
    if refresh.build is Build.FULL:
        reason = f"the as-of state was rebuilt: {refresh.reason}"
    elif missing:
        reason = f"the catalogue does not declare {', '.join(missing)}"
    elif previous is None:
        reason = "no earlier night's results"
    elif previous != state_night:
        reason = f"the as-of state was built on {state_night}, not on the last night judged, {previous}"
    elif con.execute(f"SELECT settings_digest FROM {JUDGED_NIGHTS.name} WHERE business_date = ?",
                     [previous]).fetchone() != (digest,):
        reason = f"the checks, their parameters or the catalogue changed since {previous}"
    else:
        return Scope(previous, "", digest)
    return Scope(None, reason, digest)


def dated_checks(catalogue: Catalogue) -> list[str]:
    """The checks whose rows may change with the night alone (they read the night's date, or wait for
    evidence: ``evidence_pending``): a financing with a finding of one is judged again every night.
    Their rows themselves arise only from evidence (``test_rejudge`` keeps the list reviewed)."""
    return sorted(c.check_id for c in catalogue.checks if c.family not in WHOLE_FAMILIES
                  and ("getvariable('business_date')" in c.body or "evidence_pending(" in c.body))


def narrow(con: duckdb.DuckDBPyConnection, scope: Scope, catalogue: Catalogue) -> None:
    """Create ``judged_financings``, the financings the night's checks read: every one, or the
    night's scope (and ``scope_kept``, the financings whose findings are tonight's)."""
    if scope.previous is None:  # whole (the check narrows the type: no assert, which -O would drop)
        judge_every_financing(con)
        return
    con.execute(f"SET VARIABLE scope_previous = DATE '{scope.previous}'")
    con.execute("SET VARIABLE scope_dated_checks = ?::VARCHAR[]", [dated_checks(catalogue)])
    con.execute(sql_script(MATCH_MACROS))  # amounts_agree: whether an order may be an invoice's candidate
    previous = matches_as_of(con, scope.previous, window_into="scope_window_matches")  # the standing ones read in place
    con.execute(f"CREATE OR REPLACE TEMP VIEW previous_trade_matches AS {previous}")
    for name in SCRIPTS:
        con.execute(sql_script(name))
    _count(con, scope)


def widen(con: duckdb.DuckDBPyConnection, scope: Scope) -> bool:
    """After the night's match: close the scope again over the waybills the judged financings link
    tonight; when it grew, bring the session to it (preludes, ``judged_financings``) and say so:
    the match must run again."""
    if scope.whole:
        return False
    con.execute("""CREATE OR REPLACE TEMP TABLE scope_waybills_added AS
        SELECT DISTINCT financing_id, unnest(waybill_nos) AS waybill_no FROM night_trade_matches WHERE waybill_nos IS NOT NULL
        EXCEPT SELECT financing_id, waybill_no FROM scope_waybills""")
    if con.execute("SELECT EXISTS (FROM scope_waybills_added)").fetchone() != (True,):
        return False
    close_over_added(con)
    grew = con.execute("SELECT EXISTS (FROM judged_financings EXCEPT FROM scope_judged_before) "
                       "OR EXISTS (FROM scope_kept EXCEPT FROM scope_kept_before)").fetchone() == (True,)
    if grew:
        _count(con, scope)
        load_preludes(con)
    return grew


def close_over_added(con: duckdb.DuckDBPyConnection) -> None:
    """Add ``scope_waybills_added`` to ``scope_waybills`` and grow ``scope_kept`` and ``judged_financings`` to
    what ``_scope_closure.sql`` gives over them (``_scope_widen.sql``: by the waybills added only), keeping
    the sets before in ``scope_kept_before`` and ``scope_judged_before``."""
    con.execute("INSERT INTO scope_waybills FROM scope_waybills_added")
    con.execute("CREATE OR REPLACE TEMP TABLE scope_judged_before AS FROM judged_financings")
    con.execute("CREATE OR REPLACE TEMP TABLE scope_kept_before AS FROM scope_kept")
    con.execute(sql_script(WIDEN))


def match_until_closed(con: duckdb.DuckDBPyConnection, scope: Scope, match: Callable[[], object]) -> None:
    """Run ``match`` (the night's match) until the scope no longer grows (the sets only grow, bounded
    by the financings: a scope still growing after a few rounds is judged in the widest it reached)."""
    for _ in range(_MAX_WIDENINGS):
        match()
        if not widen(con, scope):
            return
    raise ScfError(f"the night's scope still grew after {_MAX_WIDENINGS} rounds of the match: run the night with --full")


def carry_findings(con: duckdb.DuckDBPyConnection, scope: Scope, checks: Iterable[Check]) -> None:
    """In ``night_findings``, replace the rows of every financing outside the kept scope by its
    findings of the previous night (checks ``checks``, of the carried families)."""
    if scope.whole:
        return
    carried = sorted(c.check_id for c in checks if c.family not in WHOLE_FAMILIES)
    con.execute("DELETE FROM night_findings WHERE financing_id NOT IN (SELECT financing_id FROM scope_kept) "
                "AND check_id IN (SELECT unnest(?::VARCHAR[]))", [carried])
    con.execute(
        """INSERT INTO night_findings BY NAME
        SELECT check_id, category, severity, financing_id, voucher_id, invoice_no, bill_ref, waybill_no, detail, evidence
        FROM findings WHERE business_date = ? AND financing_id NOT IN (SELECT financing_id FROM scope_kept)
          AND check_id IN (SELECT unnest(?::VARCHAR[]))""",
        [scope.previous, carried],
    )


def keep_judged_matches(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    """Leave in ``night_trade_matches`` only the rows of the kept scope's financings: the others'
    matches stand as stored (:mod:`reconciliation.changes`)."""
    if not scope.whole:
        con.execute("DELETE FROM night_trade_matches WHERE financing_id NOT IN (SELECT financing_id FROM scope_kept)")


def record(con: duckdb.DuckDBPyConnection, business_date: dt.date, scope: Scope) -> None:
    """Keep how night ``business_date`` was judged and the digest of its settings (in the caller's transaction)."""
    create_table(con, JUDGED_NIGHTS)
    con.execute(f"DELETE FROM {JUDGED_NIGHTS.name} WHERE business_date >= ?", [business_date])
    insert_row(con, JUDGED_NIGHTS, JUDGED_NIGHTS.Row(business_date=business_date, settings_digest=scope.digest, scope=str(scope)))


def _count(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    row = con.execute("SELECT (SELECT count(*) FROM scope_touched), (SELECT count(*) FROM scope_kept), "
                      "(SELECT count(*) FROM judged_financings)").fetchone()
    assert row is not None
    scope.touched, scope.kept, scope.judged = row
    scope.why = dict(con.execute("SELECT rule, count(*) FROM scope_touched GROUP BY rule").fetchall())
