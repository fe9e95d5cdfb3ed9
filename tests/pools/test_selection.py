"""Pool selection: the HiGHS MILP against brute force on small random instances, and the
explanation of an infeasible programme."""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pools.criteria import Limits
from pools.selection import Asset, Infeasible, Selection, limit_field, measure, objective_value, select

OBLIGORS = ("O1", "O2", "O3", "O4")


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Asset], Limits, str]:
    n = draw(st.integers(1, 8))
    assets = [
        Asset(
            key=f"A{i}",
            amount_fen=draw(st.integers(1, 50)) * 10_000,
            rate=Fraction(draw(st.integers(200, 400)), 10_000),
            obligor=draw(st.sampled_from(OBLIGORS)),
            industry=draw(st.sampled_from(("C39", "F51"))),
            region=draw(st.sampled_from(("32", "44"))),
            remaining_days=draw(st.integers(30, 200)),
        )
        for i in range(n)
    ]
    total = sum(a.amount_fen for a in assets)
    share = st.none() | st.integers(20, 100).map(lambda p: Fraction(p, 100))
    top_n = draw(st.none() | st.integers(1, 3))
    limits = Limits(
        target_fen=max(1, total * draw(st.integers(20, 100)) // 100),
        tolerance=Fraction(draw(st.integers(0, 30)), 100),
        single_asset=draw(share),
        single_obligor=draw(share),
        top_n=top_n,
        top_n_share=None if top_n is None else Fraction(draw(st.integers(40, 100)), 100),
        industry=draw(share),
        region=draw(share),
        short_term_days=90,
        short_term_share=draw(share),
        min_obligors=draw(st.none() | st.integers(1, 3)),
        min_wa_rate=draw(st.none() | st.integers(200, 350).map(lambda r: Fraction(r, 10_000))),
    )
    return assets, limits, draw(st.sampled_from(("wa_yield", "diversification")))


def brute_force(assets: list[Asset], limits: Limits, objective: str) -> Fraction | None:
    """The best objective value over every subset meeting every limit (exactly), or None."""
    best = None
    for r in range(1, len(assets) + 1):
        for pool in itertools.combinations(assets, r):
            if all(m.holds for m in measure(pool, limits)):
                value = objective_value(pool, objective)
                best = value if best is None or value > best else best
    return best


@settings(max_examples=120, deadline=None)
@given(instances())
def test_milp_is_optimal_and_every_limit_holds(instance: tuple[list[Asset], Limits, str]) -> None:
    assets, limits, objective = instance
    best = brute_force(assets, limits, objective)
    result = select(assets, limits, objective)
    if best is None:
        assert isinstance(result, Infeasible)
        assert result.explain()
        for m in result.single:  # each named relaxation does give a pool, and no smaller one does
            attr = limit_field(m.name)
            if attr is not None:
                assert isinstance(select(assets, replace(limits, **{attr: m.value}), objective), Selection)
                nudge = Fraction(1, 10_000) if attr == "min_wa_rate" else -Fraction(1, 10_000)
                assert isinstance(select(assets, replace(limits, **{attr: m.value + nudge}), objective), Infeasible)
        return
    assert isinstance(result, Selection), result
    pool = [a for a in assets if a.key in set(result.keys)]
    assert all(m.holds for m in measure(pool, limits))
    assert result.total_fen == sum(a.amount_fen for a in pool)
    assert result.objective_value == objective_value(pool, objective)
    assert result.objective_value >= best * (1 - Fraction(1, 10**6))
    assert result.mip_gap <= 1e-6 or result.status == "Optimal"


def _asset(key: str, fen: int, obligor: str, rate: str = "0.03", days: int = 120) -> Asset:
    return Asset(key, fen, Fraction(rate), obligor, "C39", "44", days)


def test_single_obligor_limit_that_cannot_hold_names_the_value_it_needs() -> None:
    # obligors of ¥500, 200, 200, 100: the only pool of ¥1,000 has a 50 % obligor
    assets = [_asset("A", 50_000, "O1"), _asset("B", 20_000, "O2"), _asset("C", 20_000, "O3"),
              _asset("D", 10_000, "O4")]
    limits = Limits(target_fen=100_000, single_obligor=Fraction(40, 100))
    result = select(assets, limits)
    assert isinstance(result, Infeasible)
    text = result.explain()
    assert "single_obligor raised to 50.00% (limit 40.00%)" in text
    # or a smaller pool: without O1, the largest pool is ¥500
    assert "the largest pool under every other limit is ¥500.00" in text


def test_minimum_obligor_count_that_cannot_hold() -> None:
    assets = [_asset("A", 50_000, "O1"), _asset("B", 50_000, "O1")]
    limits = Limits(target_fen=100_000, min_obligors=2)
    result = select(assets, limits)
    assert isinstance(result, Infeasible)
    assert "min_obligors at most 1 (limit 2)" in result.explain()


def test_top_n_is_the_sum_of_the_largest_obligors() -> None:
    # O1 30, O2 25, O3 25, O4 20: the top two hold 55 % of the whole, and more of any smaller pool
    assets = [_asset("A", 30, "O1"), _asset("B", 25, "O2"), _asset("C", 25, "O3"), _asset("D", 20, "O4")]
    limits = Limits(target_fen=100, tolerance=Fraction(1, 2), top_n=2, top_n_share=Fraction(55, 100))
    result = select(assets, limits, "diversification")
    assert isinstance(result, Selection)
    assert set(result.keys) == {"A", "B", "C", "D"}
    tighter = select(assets, replace(limits, top_n_share=Fraction(50, 100)), "diversification")
    assert isinstance(tighter, Infeasible)
    assert "top_2_obligors raised to 55.00% (limit 50.00%)" in tighter.explain()


def test_wa_yield_objective_prefers_higher_rates_at_the_same_size() -> None:
    assets = [_asset("LOW", 100, "O1", "0.0200"), _asset("HIGH", 100, "O2", "0.0400"), _asset("MID", 100, "O3", "0.0300")]
    result = select(assets, Limits(target_fen=200))
    assert isinstance(result, Selection)
    assert set(result.keys) == {"HIGH", "MID"}
    assert result.objective_value == Fraction(35, 1000)


def test_a_large_pool_is_chosen_by_lp_rounding_with_a_proven_gap_and_beats_greedy() -> None:
    from bench.bench_pools import greedy, instance

    assets, limits = instance(20_000, 5)
    result = select(assets, limits, "wa_yield", gap=1e-4)
    assert isinstance(result, Selection)
    assert result.status == "Optimal (LP bound)" and result.mip_gap <= 1e-4
    assert all(m.holds for m in result.measures)
    chosen = set(result.keys)
    assert objective_value([a for a in assets if a.key in chosen], "wa_yield") >= objective_value(
        greedy(assets, limits), "wa_yield")


@given(instances())
@settings(max_examples=25, deadline=None)
def test_assets_that_must_stay_are_kept_and_the_rest_is_optimal(instance: tuple[list[Asset], Limits, str]) -> None:
    assets, limits, objective = instance
    kept = replace(assets[0], fixed=True)
    result = select([kept, *assets[1:]], limits, objective)
    pools_with_it = [
        pool for r in range(1, len(assets) + 1) for pool in itertools.combinations(assets, r)
        if assets[0] in pool and all(m.holds for m in measure(pool, limits))
    ]
    if not pools_with_it:
        assert isinstance(result, Infeasible)
        return
    assert isinstance(result, Selection) and assets[0].key in result.keys
    assert result.objective_value == max(objective_value(p, objective) for p in pools_with_it)
