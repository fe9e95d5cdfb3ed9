"""Benchmark of the checks and the session's statements of one night, statement by statement (not a test).

Opens the night's session on a copy of a home whose night ran up to findings (``bench_stages.py findings
--until``), judged on top of the previous night as the findings stage judges it (the scope is made whatever
the settings digest says, so that two versions of the SQL are timed on the same financings), matches, and
then runs every statement of the preludes and the match and every check but the pool's ``--rounds`` times, printing each
one's CPU seconds (``process_time``: every thread of this process) and wall seconds, the least and the
median, and a fingerprint of the match's rows and of each check's (their count and a sum of their hashes) to compare two
versions of the SQL.  Nothing is stored: the session's tables are temporary.

The first run on a copy brings its as-of state to the night (as the findings stage would); later runs on
the same copy find it there and reuse it, so that old and new code can be timed alternately on one copy:

    PYTHONPATH=/tmp/old .venv/bin/python bench/bench_checks.py /tmp/checks/h --night 2026-10-29
    PYTHONPATH=$PWD .venv/bin/python bench/bench_checks.py /tmp/checks/h --night 2026-10-29
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

SCRIPTS = ("_prelude_circular.sql", "_prelude.sql", "_prelude_ledger.sql", "match_macros.sql", "match_trades.sql",
           "_prelude_trade.sql")


def profiled(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Print DuckDB's plan of ``query`` as it ran: each operator's seconds and rows, indented by depth."""
    print(f"-- {' '.join(query.split()[:12])}", file=sys.stderr)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        con.execute("SET enable_profiling = 'json'")
        con.execute(f"SET profiling_output = '{out.name}'")
        try:
            con.execute(query)
        finally:
            con.execute("RESET enable_profiling")
        tree = json.loads(Path(out.name).read_text())

    def walk(node: dict, depth: int) -> None:
        extra = node.get("extra_info") or {}
        what = "; ".join(f"{k}: {' '.join(str(v).split())[:90]}" for k, v in extra.items()
                         if k in ("Table", "Conditions", "Filters", "Join Type", "CTE Name", "Groups", "Aggregates"))
        print(f"{'  ' * depth}{node.get('name', '')[:24]:24} {node.get('timing', 0):8.3f} s "
              f"{node.get('intermediate_rows', 0):>10} rows  {what}", file=sys.stderr)
        for child in node.get("children", []):
            walk(child, depth + 1)

    for node in tree.get("operator", []):
        walk(node, 0)


class StatementTimer:
    """A connection whose ``execute`` runs a script statement by statement, each timed (CPU and wall seconds,
    summed by its first words), for the scope's statements (``reconciliation.scope.narrow``); the rest delegated."""

    def __init__(self, con: duckdb.DuckDBPyConnection, profile: bool) -> None:
        self.con, self.profile = con, profile
        self.seconds: dict[str, list[float]] = {}

    def execute(self, query: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        if parameters is not None:  # (one statement with parameters: the scope's variables and small reads)
            return self.con.execute(query, parameters)
        result = self.con
        for statement in self.con.extract_statements(query):
            text = statement.query.strip()
            label = " ".join(text.split()[:7])
            if self.profile and "TEMP TABLE" in text:  # (run once more, profiled)
                profiled(self.con, text)
            c, w = time.process_time(), time.perf_counter()
            result = self.con.execute(text)
            spent = self.seconds.setdefault(label, [0.0, 0.0])
            spent[0] += time.process_time() - c
            spent[1] += time.perf_counter() - w
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self.con, name)


def timed(rounds: int, run: Callable[[], object]) -> dict[str, float]:
    """Run ``run`` ``rounds`` times; the least and median CPU and wall seconds."""
    cpu, wall = [], []
    for _ in range(rounds):
        c, w = time.process_time(), time.perf_counter()
        run()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return {"cpu_min": round(min(cpu), 4), "cpu_med": round(statistics.median(cpu), 4),
            "wall_min": round(min(wall), 4), "wall_med": round(statistics.median(wall), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="a copy of a home whose night ran up to findings")
    parser.add_argument("--night", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated statement names or check ids (default: all)")
    parser.add_argument("--profile", action="store_true", help="print the plan of each statement run, with its timings")
    parser.add_argument("--scope", action="store_true",
                        help="also time the scope's statements (narrow, run --rounds times before the match; CPU and wall summed)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}

    from integration.resources import ScfHome
    from reconciliation import session
    from reconciliation.catalogue import CATALOGUE
    from reconciliation.check import Family
    from reconciliation.matching import prepare_trade_matches
    from reconciliation.scope import Scope, match_until_closed, narrow, settings_digest
    from warehouse.asof_state import Build, Refresh, asof_state_night, refresh_asof_state

    settings = ScfHome(home=str(args.home), inbox="").settings()
    params = settings.check_params
    with settings.open_warehouse() as warehouse:
        con = warehouse.con
        state_night = asof_state_night(con)
        previous = con.execute("SELECT max(business_date) FROM judged_nights WHERE business_date < ?",
                               [args.night]).fetchone()[0]

        def refresh(con_: duckdb.DuckDBPyConnection, as_of: dt.date, **kwargs: object) -> Refresh:
            if state_night == args.night:  # a later run on the copy: the state is already the night's
                return Refresh(Build.INCREMENTAL, "kept by an earlier run of this bench")
            return refresh_asof_state(con_, as_of, **kwargs)  # type: ignore[arg-type]

        session.refresh_asof_state = refresh  # type: ignore[assignment]
        scope = Scope(previous, "", settings_digest(CATALOGUE, params, None))
        timer = StatementTimer(con, args.profile)

        def narrow_timed(_: Refresh) -> None:
            for _round in range(args.rounds if args.scope else 1):
                narrow(timer if args.scope else con, scope, CATALOGUE)  # type: ignore[arg-type]

        started = time.process_time()
        session.open_night(con, args.night, params, narrow=narrow_timed)
        match_until_closed(con, scope, lambda: prepare_trade_matches(con))
        matches = con.execute("SELECT count(*), coalesce(sum(hash(m)::HUGEINT), 0)::VARCHAR FROM night_trade_matches m").fetchone()
        result: dict[str, object] = {"night": str(args.night), "previous": str(previous),
                                     "open_and_match_cpu_s": round(time.process_time() - started, 2),
                                     "judged": con.execute("SELECT count(*) FROM judged_financings").fetchone()[0],
                                     "matches": list(matches)}
        statements: dict[str, dict[str, float]] = {}
        for name in SCRIPTS:
            for number, statement in enumerate(con.extract_statements(session.sql_script(name)), 1):
                key = f"{name}#{number}"
                text = statement.query.strip()
                label = " ".join(text.split()[:6])
                if only and key not in only and name not in only:
                    continue
                if args.profile:
                    profiled(con, text)
                statements[key] = {"what": label, **timed(args.rounds, lambda q=text: con.execute(q))}  # type: ignore[dict-item]
        checks: dict[str, dict[str, object]] = {}
        for check in CATALOGUE.checks:
            if check.family is Family.POOL or (only and check.check_id not in only):  # the pool reads the night's findings
                continue
            con.execute("SET VARIABLE check_id = ?", [check.check_id])
            query = f"CREATE OR REPLACE TEMP TABLE bench_rows AS SELECT * FROM ({CATALOGUE.sql(check.check_id)})"
            if args.profile:
                profiled(con, query)
            times = timed(args.rounds, lambda q=query: con.execute(q))
            rows, fingerprint = con.execute(
                "SELECT count(*), coalesce(sum(hash(financing_id, voucher_id, invoice_no, bill_ref, waybill_no, severity, "
                "detail, evidence::VARCHAR)::HUGEINT), 0)::VARCHAR FROM bench_rows").fetchone()
            checks[check.check_id] = {**times, "rows": rows, "fingerprint": fingerprint}
        scope_statements = {label: {"cpu_s": round(cpu, 4), "wall_s": round(wall, 4)} for label, (cpu, wall) in timer.seconds.items()}
        result |= {"load_average_1_5_15": [round(x, 1) for x in os.getloadavg()], "scope": str(scope),
                   "scope_statements": scope_statements, "statements": statements, "checks": checks}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
