"""Benchmark: pool selection (HiGHS MILP) over N eligible candidates, against a greedy baseline.

Generates N synthetic eligible assets (amounts ¥50k–¥5m, rates 2.0–4.5 %, 2,000 obligors
with a skewed size distribution, 12 industry divisions, 20 provinces, terms 30–360 days)
and a programme (target = 40 % of the eligible amount ± 2 %, single asset 0.5 %, single
obligor 2 %, top-10 15 %, industry 25 %, province 20 %, short term 30 %, ≥ 100 obligors,
WA rate ≥ 3.0 %), then times

* :func:`pools.selection.select` (objective ``wa_yield``) at a relative gap of 1e-4 (LP bound
  and rounding, the MILP when rounding cannot prove the gap);
* a greedy baseline in the same run: assets by rate, best first, each taken if every share
  limit still holds against the target's minimum size and the pool stays under its maximum.

and reports, for both, wall and CPU seconds (the machine is shared: CPU time is the fairer
measure), the pool size, WA rate and every limit that fails.

    .venv/bin/python bench/bench_pools.py [--candidates 50000 200000] [--seed 5]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from fractions import Fraction

from foundation.values import format_fen
from pools.criteria import Limits
from pools.selection import Asset, Selection, measure, select, wa_rate


def instance(n: int, seed: int) -> tuple[list[Asset], Limits]:
    """N synthetic eligible assets and the programme's limits."""
    rng = random.Random(seed)
    obligors = [f"O{i:04d}" for i in range(2000)]
    weights = [1 / (1 + i) ** 0.7 for i in range(len(obligors))]
    assets = [
        Asset(
            key=f"A{i:07d}",
            amount_fen=rng.randint(50_000, 5_000_000) * 100,
            rate=Fraction(rng.randint(200, 450), 10_000),
            obligor=(ob := rng.choices(obligors, weights)[0]),
            industry=f"C{int(ob[1:]) % 12:02d}",
            region=f"{11 + int(ob[1:]) * 7 % 20}",
            remaining_days=rng.randint(30, 360),
        )
        for i in range(n)
    ]
    total = sum(a.amount_fen for a in assets)
    limits = Limits(
        target_fen=total * 40 // 100,
        tolerance=Fraction(2, 100),
        single_asset=Fraction(5, 1000),
        single_obligor=Fraction(2, 100),
        top_n=10,
        top_n_share=Fraction(15, 100),
        industry=Fraction(25, 100),
        region=Fraction(20, 100),
        short_term_share=Fraction(30, 100),
        min_obligors=100,
        min_wa_rate=Fraction(3, 100),
    )
    return assets, limits


def greedy(assets: list[Asset], limits: Limits) -> list[Asset]:
    """Best rate first; take an asset if the pool stays under its maximum and every group
    share, measured against the target's minimum size, still holds."""
    floor = limits.min_total_fen
    total = 0
    sums: dict[tuple[str, str], int] = defaultdict(int)
    chosen = []
    for a in sorted(assets, key=lambda a: a.rate, reverse=True):
        groups = [("obligor", a.obligor, limits.single_obligor), ("industry", a.industry, limits.industry),
                  ("region", a.region, limits.region)]
        if a.remaining_days < limits.short_term_days:
            groups.append(("short", "", limits.short_term_share))
        if total + a.amount_fen > limits.max_total_fen:
            continue
        if limits.single_asset is not None and a.amount_fen > limits.single_asset * floor:
            continue
        if any(share is not None and sums[(kind, key)] + a.amount_fen > share * floor for kind, key, share in groups):
            continue
        chosen.append(a)
        total += a.amount_fen
        for kind, key, _ in groups:
            sums[(kind, key)] += a.amount_fen
    return chosen


def report(name: str, seconds: tuple[float, float], pool: list[Asset], limits: Limits, extra: str = "") -> None:
    broken = [m.describe() for m in measure(pool, limits) if not m.holds]
    total = sum(a.amount_fen for a in pool)
    print(f"  {name:7s} {seconds[0]:7.2f} s wall {seconds[1]:7.2f} s cpu  {len(pool):6d} assets  ¥{format_fen(total):>18s}  "
          f"WA {float(wa_rate(pool)) * 100:.4f}%  {extra}")
    print(f"          limits broken: {'; '.join(broken) if broken else 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=300.0)
    args = parser.parse_args()
    for n in args.candidates:
        assets, limits = instance(n, args.seed)
        print(f"{n:,} eligible candidates, target ¥{format_fen(limits.target_fen)} ± 2 %")
        started, cpu = time.perf_counter(), time.process_time()
        result = select(assets, limits, "wa_yield", gap=1e-4, time_limit=args.time_limit)
        seconds = (time.perf_counter() - started, time.process_time() - cpu)
        if isinstance(result, Selection):
            chosen = set(result.keys)
            report("select", seconds, [a for a in assets if a.key in chosen], limits,
                   f"{result.status}, gap {result.mip_gap:.1e}, {result.solves} solves")
        else:
            print(f"  select  {seconds[0]:7.2f} s  infeasible: {result.explain()}")
        started, cpu = time.perf_counter(), time.process_time()
        pool = greedy(assets, limits)
        report("greedy", (time.perf_counter() - started, time.process_time() - cpu), pool, limits)


if __name__ == "__main__":
    main()
