"""Run the catalogue over the warehouse for one night and keep findings and verdicts.

Findings of night D are every problem the checks see in the history up to D (not only
what arrived tonight): a fraud assembled from pieces of several nights is found the night
its last piece arrives, and it stays listed while it stands.  ``finding_id`` depends only
on what the finding is about, so the same problem keeps its id night after night and a
re-run of a night reproduces its findings exactly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import duckdb

from dispositions.effective import ensure_tables as ensure_worklist_tables
from dispositions.effective import store_night_dispositions, waived_sql
from foundation.errors import ScfError
from foundation.vocabulary import CLOSED_STATUSES_SQL
from reconciliation.catalogue import CATALOGUE, Catalogue
from reconciliation.changes import may_narrow, store_changes, verdict_candidates
from reconciliation.check import Category, Check, Severity, severity_rank_sql
from reconciliation.matching import prepare_trade_matches
from reconciliation.scope import (
    WHOLE_FAMILIES,
    Scope,
    carry_findings,
    decide,
    keep_judged_matches,
    match_until_closed,
    narrow,
    settings_digest,
)
from reconciliation.scope import record as record_scope
from reconciliation.session import open_night
from reconciliation.standing import verdicts_as_of
from warehouse.asof_state import Refresh, asof_state_night
from warehouse.registry import create_table
from warehouse.results import FINANCING_VERDICTS, FINDING_FIRST_SEEN, FINDINGS, NIGHT_FINDINGS, TRADE_MATCHES, VERDICT_NIGHTS
from warehouse.transactions import transaction

_SEVERITY_RANK = severity_rank_sql()


class Verdict(StrEnum):
    """The verdicts of OUTPUTS.md, in the order the reports list them."""

    BLOCKED = "blocked"  # any high or critical finding
    REVIEW = "review"  # only medium ones: evidence pending, a row that could not be read …
    CLEAN = "clean"  # nothing above low: the only verdict whose assets may enter a pool
    CLOSED = "closed"  # no longer live, whatever its findings

    @property
    def held(self) -> bool:
        """Whether the financing is held for the back office (``blocked`` or in ``review``)."""
        return self in (Verdict.BLOCKED, Verdict.REVIEW)




def verdict_rank_sql(column: str = "verdict") -> str:
    """SQL ranking a verdict column in :class:`Verdict` order (blocked first)."""
    ranks = " ".join(f"WHEN '{verdict.value}' THEN {rank}" for rank, verdict in enumerate(Verdict))
    return f"CASE {column} {ranks} ELSE {len(Verdict)} END"


#: A finding whose evidence is only pending (INTERFACES: ``"pending": true``) is a data-quality
#: finding whatever its check: evidence not here yet is not evidence of fraud.
_PENDING = "coalesce(json_extract_string(evidence::JSON, '$.pending') = 'true', false)"
_DOCUMENT_COLUMNS = ("financing_id", "voucher_id", "invoice_no", "bill_ref", "waybill_no")


@dataclass
class CheckRun:
    """What one night's run of the catalogue produced."""

    business_date: dt.date
    seconds_by_check: dict[str, float] = field(default_factory=dict)  # and the match's steps, the as-of state, the scope, storing
    findings_by_category: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    asof_build: str = ""  # how the as-of state was made, full or incremental, and why (warehouse.asof_state.Refresh)
    scope: Scope | None = None  # which financings were judged, and why (reconciliation.scope); None: another judge's
    carried: bool = False  # whether the findings outside the scope were carried in yet
    stored: dict[str, int] = field(default_factory=dict)  # rows written tonight: verdicts and matches (changes only)


class Judge(Protocol):
    """What computes a night's ``night_findings`` and ``night_trade_matches`` (see :func:`judge_night`)."""

    def __call__(self, con: duckdb.DuckDBPyConnection, business_date: dt.date, *,
                 params: Mapping[str, int | str] | None = None, checks: Iterable[Check] | None = None,
                 catalogue: Catalogue = CATALOGUE, on_check: Callable[[Check], None] | None = None,
                 full: bool = False) -> CheckRun: ...


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the findings and verdict tables (and the worklist's) if missing."""
    create_table(con, FINDINGS)
    create_table(con, FINDING_FIRST_SEEN)
    create_table(con, FINANCING_VERDICTS)
    create_table(con, TRADE_MATCHES)
    create_table(con, VERDICT_NIGHTS)
    ensure_worklist_tables(con)


def run_catalogue(
    con: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    *,
    params: Mapping[str, int | str] | None = None,
    checks: Iterable[Check] | None = None,
    catalogue: Catalogue = CATALOGUE,
    judge: Judge | None = None,
    on_check: Callable[[Check], None] | None = None,
    full: bool = False,
) -> CheckRun:
    """Run the checks of ``catalogue`` (all, or ``checks``) for ``business_date`` and replace that
    night's findings and verdicts (``on_check`` is told each check once it has run: progress);
    ``full`` rebuilds the as-of state from every night instead of building on the last night's.

    ``judge`` computes the night's ``night_findings`` and ``night_trade_matches`` (by default
    :func:`judge_night`, on this DuckDB connection; the Spark engine gives its own,
    :mod:`engines.spark`); storing them, the finding ids and the verdicts are the same either way.
    Verdicts and matches are stored as changes (:mod:`reconciliation.changes`): the financings outside
    the judge's scope (``CheckRun.scope``) keep their matches as they stand.
    """
    ensure_tables(con)
    run = (judge or judge_night)(con, business_date, params=params, checks=checks, catalogue=catalogue, on_check=on_check,
                                 full=full)
    _refuse_unknown_severities(con)
    scope = run.scope or Scope(None, "judged by another engine", settings_digest(catalogue, params, checks))
    started = time.perf_counter()
    with transaction(con):
        narrowed = may_narrow(con, business_date, scope.previous)
        _store_night(con, business_date, full=full, previous=scope.previous if narrowed else None)
        run.stored = dict(zip(("financing_verdicts", "trade_matches"),
                              store_changes(con, business_date, whole=scope.whole, narrowed=narrowed, full=full),
                              strict=True))
        record_scope(con, business_date, scope)
    run.seconds_by_check["store"] = time.perf_counter() - started
    run.findings_by_category = dict(
        con.execute(
            "SELECT category, count(*) FROM findings WHERE business_date = ? GROUP BY ALL ORDER BY 1",
            [business_date],
        ).fetchall()
    )
    run.verdicts = dict(  # every financing named: those not judged stand as stored
        con.execute(f"SELECT verdict, count(*) FROM ({verdicts_as_of(con, business_date)}) GROUP BY ALL ORDER BY 1").fetchall()
    )
    return run


def judge_night(
    con: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    *,
    params: Mapping[str, int | str] | None = None,
    checks: Iterable[Check] | None = None,
    catalogue: Catalogue = CATALOGUE,
    on_check: Callable[[Check], None] | None = None,
    full: bool = False,
) -> CheckRun:
    """Open the night's session, match, and run every check into the temporary table
    ``night_findings`` (the match into ``night_trade_matches``); nothing is stored.  The night
    judges only the financings its scope names and carries the others' findings from the previous
    night (:mod:`reconciliation.scope`), unless it must judge every one; ``night_trade_matches`` holds
    the judged financings' matches only (the others' are carried by :func:`run_catalogue` as it stores)."""
    run = CheckRun(business_date)
    started = time.perf_counter()
    chosen = tuple(catalogue.checks if checks is None else checks)
    in_force = {**catalogue.default_params(), **(params or {})}
    digest = settings_digest(catalogue, params, chosen)
    state_night = None if full else asof_state_night(con)
    night_scope: list[Scope] = []

    def narrow_night(refresh: Refresh) -> None:
        scoping = time.perf_counter()
        night_scope.append(decide(con, business_date, refresh, state_night, digest, in_force, full=full))
        narrow(con, night_scope[0], catalogue)
        run.seconds_by_check["scope"] = time.perf_counter() - scoping

    run.asof_build = str(open_night(con, business_date, params, catalogue, full=full, narrow=narrow_night))
    run.scope = night_scope[0]
    run.seconds_by_check["asof_state"] = time.perf_counter() - started - run.seconds_by_check["scope"]
    match_until_closed(con, run.scope, lambda: prepare_trade_matches(con, run.seconds_by_check))
    create_table(con, NIGHT_FINDINGS)
    for check in chosen:
        if check.family in WHOLE_FAMILIES and not run.carried:
            carry_findings(con, run.scope, chosen)  # before the pool's surveillance reads the night's findings
            run.carried = True
        started = time.perf_counter()
        con.execute("SET VARIABLE check_id = ?", [check.check_id])
        con.execute(
            f"""INSERT INTO {NIGHT_FINDINGS.name} BY NAME
            SELECT '{check.check_id}' AS check_id,
                   CASE WHEN {_PENDING} THEN '{Category.DATA_QUALITY.value}' ELSE '{check.category.value}' END AS category,
                   coalesce(severity, '{check.severity.value}') AS severity,
                   financing_id, voucher_id, invoice_no, bill_ref, waybill_no, detail, evidence::VARCHAR AS evidence
            FROM ({catalogue.sql(check.check_id)})"""
        )
        run.seconds_by_check[check.check_id] = time.perf_counter() - started
        if on_check:
            on_check(check)
    if not run.carried:
        carry_findings(con, run.scope, chosen)
    keep_judged_matches(con, run.scope)
    return run


def _refuse_unknown_severities(con: duckdb.DuckDBPyConnection) -> None:
    """Stop the night when a check's query gave a severity outside :class:`Severity` (it would
    rank as ``low`` and block nothing): fail closed, naming the check."""
    known = [s.value for s in Severity]
    bad = con.execute(
        "SELECT check_id, string_agg(DISTINCT coalesce(severity, 'NULL'), ', ') FROM night_findings "
        "WHERE severity IS NULL OR severity NOT IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL ORDER BY 1",
        [known],
    ).fetchall()
    if bad:
        found = "; ".join(f"{check_id} gave {severities}" for check_id, severities in bad)
        raise ScfError(f"check queries gave severities outside {', '.join(known)}: {found} (fix the check's SQL)")


def _store_night(con: duckdb.DuckDBPyConnection, business_date: dt.date, *, full: bool = False,
                 previous: dt.date | None = None) -> None:
    """Store the night's findings and dispositions and make ``night_verdicts``: the verdict of every financing
    named or, judged on top of night ``previous``, of those whose verdict may have changed since
    (:func:`reconciliation.changes.verdict_candidates`)."""
    key = ", ".join(f"coalesce({c}, '')" for c in _DOCUMENT_COLUMNS)
    if full or _first_seen_unkept(con, business_date):
        _rebuild_first_seen(con, business_date)
    con.execute("CREATE OR REPLACE TEMP TABLE night_replaced AS SELECT finding_id FROM findings WHERE business_date = ?",
                [business_date])  # a re-run: the findings the night held before
    con.execute("DELETE FROM findings WHERE business_date = ?", [business_date])
    con.execute(
        f"""INSERT INTO findings BY NAME
        WITH keyed AS (
          SELECT 'FND-' || substr(sha256(concat_ws('|', check_id, {key})), 1, 20) AS finding_id, *
          FROM night_findings
          QUALIFY row_number() OVER (PARTITION BY finding_id ORDER BY {_SEVERITY_RANK}, detail, evidence) = 1
        )
        SELECT k.finding_id, $1 AS business_date, k.check_id, k.category, k.severity, k.financing_id, k.voucher_id,
               k.invoice_no, k.bill_ref, k.waybill_no, k.detail, k.evidence,
               CASE WHEN s.first_seen_date < $1 THEN s.first_seen_date ELSE $1 END AS first_seen_date
        FROM keyed k LEFT JOIN finding_first_seen s USING (finding_id)""",
        [business_date],
    )
    _keep_first_seen(con, business_date)
    store_night_dispositions(con, business_date)
    if previous is not None:
        verdict_candidates(con, business_date, previous)
    candidates = "true" if previous is None else "financing_id IN (SELECT financing_id FROM verdict_candidates)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE night_verdicts AS
        WITH worst AS (
          SELECT financing_id, min({_SEVERITY_RANK}) AS rank,
                 string_agg(DISTINCT check_id, ';' ORDER BY check_id) AS check_ids
          FROM findings WHERE business_date = $1 AND financing_id IS NOT NULL AND {candidates}
            AND finding_id NOT IN ({waived_sql()})  -- an approved waiver (worklist) no longer counts
          GROUP BY financing_id
        ), named AS (  -- every financing named by a delivered row, readable or not
          SELECT financing_id, bank_code, product, applicant_uscc, debtor_uscc, financed_amount_fen, status
          FROM cur_financings
          UNION ALL
          SELECT financing_id, bank_code, product, NULL, NULL, NULL, NULL FROM unreadable_financings u
          WHERE financing_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM cur_financings c WHERE c.financing_id = u.financing_id)
        )
        SELECT f.financing_id,
               CASE WHEN f.status IN ({CLOSED_STATUSES_SQL}) THEN '{Verdict.CLOSED.value}'
                    WHEN w.rank <= {Severity.HIGH.rank} THEN '{Verdict.BLOCKED.value}'
                    WHEN w.rank = {Severity.MEDIUM.rank} THEN '{Verdict.REVIEW.value}'
                    ELSE '{Verdict.CLEAN.value}' END AS verdict,
               coalesce(w.check_ids, '') AS check_ids, f.bank_code, f.product, f.applicant_uscc,
               f.debtor_uscc, f.financed_amount_fen, f.status
        FROM named f LEFT JOIN worst w USING (financing_id) WHERE {candidates}""",
        [business_date],
    )


def _first_seen_unkept(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> bool:
    """Whether ``finding_first_seen`` is not kept yet although other nights have findings (a home
    from before it was kept)."""
    row = con.execute("SELECT NOT EXISTS (FROM finding_first_seen) AND EXISTS (FROM findings WHERE business_date <> ?)",
                      [business_date]).fetchone()
    return bool(row and row[0])


def _rebuild_first_seen(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> None:
    """``finding_first_seen`` from every stored night but ``business_date`` (whose findings are replaced next)."""
    con.execute("DELETE FROM finding_first_seen")
    con.execute("INSERT INTO finding_first_seen BY NAME SELECT finding_id, min(business_date) AS first_seen_date "
                "FROM findings WHERE business_date <> ? GROUP BY finding_id", [business_date])


def _keep_first_seen(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> None:
    """Bring ``finding_first_seen`` (the least night of each finding over every stored night: what
    night D reads of it is exact whenever it is before D) up to date with the night just stored:
    tonight's findings were seen tonight at the latest; a finding a re-run no longer gives, first
    seen tonight, is looked up again in the other nights (rows of the re-run night only)."""
    con.execute(
        """DELETE FROM finding_first_seen s WHERE s.first_seen_date >= $1 AND (
             s.finding_id IN (SELECT finding_id FROM findings WHERE business_date = $1)
             OR (s.first_seen_date = $1 AND s.finding_id IN (SELECT finding_id FROM night_replaced)))""",
        [business_date],
    )
    con.execute(
        """INSERT INTO finding_first_seen BY NAME SELECT finding_id, $1 AS first_seen_date FROM findings f
        WHERE business_date = $1 AND NOT EXISTS (SELECT 1 FROM finding_first_seen s WHERE s.finding_id = f.finding_id)""",
        [business_date],
    )
    if con.execute("SELECT EXISTS (FROM night_replaced)").fetchone() == (True,):
        con.execute(
            """INSERT INTO finding_first_seen BY NAME
            SELECT finding_id, min(business_date) AS first_seen_date FROM findings
            WHERE finding_id IN (SELECT finding_id FROM night_replaced)
              AND finding_id NOT IN (SELECT finding_id FROM finding_first_seen)
            GROUP BY finding_id"""
        )
