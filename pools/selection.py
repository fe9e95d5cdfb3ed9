"""Optimal selection of a pool from the eligible assets: a MILP solved by HiGHS.

Variables: ``x_i`` ∈ {0,1} (asset i in the pool; fixed to 1 for an asset that must stay in it),
``T`` the pool's total (fen), ``y_o`` ∈ {0,1} (obligor o present, when counted), ``t, u_o`` ≥ 0 (top-N linearisation).  With ``a_i`` the
asset's outstanding amount and a share limit ``p = num/den``:

* target: ``(1−tol)·target ≤ T = Σ a_i x_i ≤ (1+tol)·target``;
* single asset: ``den·a_i x_i − num·T ≤ 0``;
* single obligor, each industry division, each province, short remaining term:
  ``den·Σ_{i∈G} a_i x_i − num·T ≤ 0`` for every group G;
* top-N obligors (the sum of the N largest exposures ≤ z·T), linearised exactly:
  ``N·t + Σ_o u_o ≤ z·T`` with ``u_o ≥ S_o − t``, ``u_o, t ≥ 0`` (``S_o`` = Σ_{i∈o} a_i x_i);
* minimum distinct obligors: ``y_o ≤ Σ_{i∈o} x_i``, ``Σ y_o ≥ m``;
* minimum weighted-average rate: ``Σ a_i (r_i − r_min) x_i ≥ 0``.

Share rows have integer coefficients (fen × the limit's denominator), so at an integral
``x`` they hold exactly or are broken by at least one unit.  Every pool the solver returns
is re-measured exactly (:func:`measure`) and refused if any limit fails.

Objective ``wa_yield`` maximises the weighted-average rate Σ a r x / Σ a x by Dinkelbach's
method (maximise Σ a_i (r_i − ρ) x_i, set ρ to the new pool's rate, until it stops rising);
``diversification`` maximises the number of distinct obligors.  When the limits cannot all
hold, elastic versions explain why (:class:`Infeasible`): for each limit alone, the model
with only that limit elastic (a slack, minimised; every other limit hard) says whether
relaxing it suffices and what it would have to be ("the largest pool is ¥412m", "the
single-obligor limit must be 18.20%"); when no single limit suffices, the model with every
limit but the target elastic (sum of relative slacks minimised) gives the closest pool of
the target's size and what it breaks (every limit elastic if the target cannot be met).
"""

from __future__ import annotations

import functools
import math
import operator
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import highspy
import numpy as np

from foundation.values import format_fen
from pools.criteria import Limits

INF = highspy.kHighsInf


@dataclass(frozen=True)
class Asset:
    """What selection needs to know of an eligible asset."""

    key: str
    amount_fen: int
    rate: Fraction
    obligor: str
    industry: str  # the industry division the limit applies to
    region: str  # the province the limit applies to
    remaining_days: int
    fixed: bool = False  # must be in the pool (a replenished pool's remaining assets)


@dataclass(frozen=True)
class Measure:
    """One limit measured on a pool: the value reached, the limit, whether it holds."""

    name: str
    value: Fraction
    limit: Fraction
    holds: bool
    detail: str = ""

    def describe(self) -> str:
        """e.g. ``single_obligor 18.20% (limit 15.00%)``."""
        if self.name in ("target_min", "target_max"):
            return f"{self.name} ¥{format_fen(round(self.value))} (limit ¥{format_fen(round(self.limit))})"
        if self.name == "min_obligors":
            return f"{self.name} {self.value} (limit {self.limit})"
        return f"{self.name} {_pct(self.value)} (limit {_pct(self.limit)}){self.detail}"


@dataclass(frozen=True)
class Selection:
    """The chosen pool."""

    keys: tuple[str, ...]
    total_fen: int
    status: str  # HiGHS model status of the last solve
    mip_gap: float  # relative optimality gap of the objective (WA rate: bound on how far a better pool could be)
    objective: str
    objective_value: Fraction  # WA rate, or number of obligors
    measures: tuple[Measure, ...]
    solves: int = 1


@dataclass(frozen=True)
class Infeasible:
    """No pool meets every limit: which limits bind, and by how much."""

    single: tuple[Measure, ...]  # limits whose relaxation alone gives a pool, at the value it would need
    combined: tuple[Measure, ...]  # when none alone suffices: what the closest pool breaks
    status: str

    def explain(self) -> str:
        """One paragraph naming what cannot hold and what would."""
        if self.single:
            parts = [_alone(m) for m in self.single]
            return "the limits cannot all hold; any one of these would give a pool: " + "; ".join(parts)
        if self.combined:
            return ("no single limit's relaxation gives a pool; the closest pool breaks "
                    + "; ".join(m.describe() for m in self.combined))
        return "no pool exists even with every limit relaxed (no eligible asset)"


def _alone(m: Measure) -> str:
    if m.name == "target_min":
        return f"a smaller target: the largest pool under every other limit is ¥{format_fen(round(m.value))}"
    if m.name == "target_max":
        return f"a larger target: the smallest pool under every other limit is ¥{format_fen(round(m.value))}"
    if m.name == "min_obligors":
        return f"min_obligors at most {m.value} (limit {m.limit})"
    if m.name == "min_wa_rate":
        return f"min_wa_rate at most {_pct(m.value)} (limit {_pct(m.limit)})"
    return f"{m.name} raised to {_pct(m.value)} (limit {_pct(m.limit)}){m.detail}"


def _pct(value: Fraction) -> str:
    return f"{float(value) * 100:.2f}%"


def _groups(assets: Sequence[Asset], attr: Callable[[Asset], str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(assets):
        out[attr(a)].append(i)
    return dict(out)


def _share_limits(limits: Limits) -> list[tuple[str, Fraction, Callable[[Asset], str] | None]]:
    """(name, share, grouping) of every group share limit that is set."""
    named: list[tuple[str, Fraction | None, Callable[[Asset], str] | None]] = [
        ("single_asset", limits.single_asset, None),
        ("single_obligor", limits.single_obligor, lambda a: a.obligor),
        ("industry", limits.industry, lambda a: a.industry),
        ("region", limits.region, lambda a: a.region),
        ("short_term_share", limits.short_term_share,
         lambda a: "short" if a.remaining_days < limits.short_term_days else ""),
    ]
    return [(n, p, g) for n, p, g in named if p is not None]


def measure(assets: Sequence[Asset], limits: Limits) -> list[Measure]:
    """Every limit measured exactly on the pool ``assets``."""
    total = sum(a.amount_fen for a in assets)
    out = [
        Measure("target_min", Fraction(total), limits.min_total_fen, total >= limits.min_total_fen),
        Measure("target_max", Fraction(total), limits.max_total_fen, total <= limits.max_total_fen),
    ]

    def share(part: int) -> Fraction:
        return Fraction(part, total) if total else Fraction(0)

    for name, limit, group in _share_limits(limits):
        if group is None:
            worst_key, worst = max(((a.key, a.amount_fen) for a in assets), key=lambda kv: kv[1], default=("", 0))
        else:
            sums: dict[str, int] = defaultdict(int)
            for a in assets:
                sums[group(a)] += a.amount_fen
            if name == "short_term_share":
                worst_key, worst = "short", sums.get("short", 0)
            else:
                worst_key, worst = max(sums.items(), key=lambda kv: kv[1], default=("", 0))
        value = share(worst)
        out.append(Measure(name, value, limit, value <= limit, f" [{worst_key}]" if worst_key else ""))
    if limits.top_n is not None and limits.top_n_share is not None:
        sums = defaultdict(int)
        for a in assets:
            sums[a.obligor] += a.amount_fen
        top = share(sum(sorted(sums.values(), reverse=True)[: limits.top_n]))
        out.append(Measure(f"top_{limits.top_n}_obligors", top, limits.top_n_share, top <= limits.top_n_share))
    if limits.min_obligors is not None:
        count = len({a.obligor for a in assets})
        out.append(Measure("min_obligors", Fraction(count), Fraction(limits.min_obligors),
                           count >= limits.min_obligors))
    if limits.min_wa_rate is not None:
        wa = wa_rate(assets)
        out.append(Measure("min_wa_rate", wa, limits.min_wa_rate, total > 0 and wa >= limits.min_wa_rate))
    return out


def wa_rate(assets: Iterable[Asset]) -> Fraction:
    """The amount-weighted average rate (0 for an empty pool)."""
    items = list(assets)
    total = sum(a.amount_fen for a in items)
    return sum((a.rate * a.amount_fen for a in items), Fraction(0)) / total if total else Fraction(0)


def objective_value(assets: Sequence[Asset], objective: str) -> Fraction:
    """The value the objective ranks pools by (WA rate, or distinct obligors)."""
    return wa_rate(assets) if objective == "wa_yield" else Fraction(len({a.obligor for a in assets}))


def _quiet_highs() -> highspy.Highs:
    """A HiGHS instance, without the banner its C++ constructor prints on the process's stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class _Model:
    """The MILP of one selection; the limits named in ``elastic`` get a slack each."""

    def __init__(self, assets: Sequence[Asset], limits: Limits, objective: str, *,
                 elastic: Callable[[str], bool] = lambda name: False, gap: float = 1e-6,
                 time_limit: float | None = None, relaxed: bool = False) -> None:
        self.relaxed = relaxed  # the LP relaxation: x and y continuous in [0, 1]
        self.assets = assets
        self.limits = limits
        self.elastic = elastic
        self.h = _quiet_highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("mip_rel_gap", gap)
        self.h.setOptionValue("threads", 1)
        if time_limit is not None:
            self.h.setOptionValue("time_limit", time_limit)
        self.ncols = 0
        self.slacks: dict[str, int] = {}
        self.slack_scale: dict[str, float] = {}
        n = len(assets)
        self.x = self._cols(n, 0.0, 1.0, integer=True)
        kept = np.array([x for x, a in zip(self.x, assets, strict=True) if a.fixed], dtype=np.int32)
        if len(kept):
            self.h.changeColsBounds(len(kept), kept, np.ones(len(kept)), np.ones(len(kept)))
        (self.T,) = self._cols(1, 0.0, INF)
        self._row([*self.x, self.T], [*(a.amount_fen for a in assets), -1], 0.0, 0.0)
        target = limits.target_fen
        low = float(limits.min_total_fen)
        high = float(limits.max_total_fen)
        self._limit_row("target_min", [self.T], [1.0], low, INF, float(target))
        self._limit_row("target_max", [self.T], [1.0], -INF, high, float(target))
        for name, share, group in _share_limits(limits):
            num, den = share.numerator, share.denominator
            if group is None:
                groups = [[i] for i in range(n)]
            else:
                by = _groups(assets, group)
                groups = [by.get("short", [])] if name == "short_term_share" else list(by.values())
            for idx in filter(None, groups):
                group_fen = sum(assets[i].amount_fen for i in idx)
                if den * group_fen <= num * limits.min_total_fen and not self.elastic("target_min"):
                    continue  # holds in any pool of the target's size: no row needed
                if name == "single_asset" and den * group_fen > num * limits.max_total_fen \
                        and not self.elastic("target_max") and not self.elastic(name) and not assets[idx[0]].fixed:
                    self.h.changeColBounds(self.x[idx[0]], 0.0, 0.0)  # too large for any pool
                    continue
                cols = [self.x[i] for i in idx] + [self.T]
                coefs = [den * assets[i].amount_fen for i in idx] + [-num]
                self._limit_row(name, cols, coefs, -INF, 0.0, float(den) * target)
        obligors = _groups(assets, lambda a: a.obligor)
        self.y: dict[str, int] = {}
        if limits.min_obligors is not None or objective == "diversification":
            ys = self._cols(len(obligors), 0.0, 1.0, integer=True)
            for y, (o, idx) in zip(ys, obligors.items(), strict=True):
                self.y[o] = y
                self._row([y, *(self.x[i] for i in idx)], [1, *(-1 for _ in idx)], -INF, 0.0)
            if limits.min_obligors is not None:
                self._limit_row("min_obligors", ys, [1] * len(ys), float(limits.min_obligors), INF, 1.0)
        if limits.top_n is not None and limits.top_n_share is not None:
            num, den = limits.top_n_share.numerator, limits.top_n_share.denominator
            (t,) = self._cols(1, 0.0, INF)
            us = self._cols(len(obligors), 0.0, INF)
            for u, idx in zip(us, obligors.values(), strict=True):  # u_o ≥ S_o − t
                self._row([u, t, *(self.x[i] for i in idx)], [1, 1, *(-assets[i].amount_fen for i in idx)], 0.0, INF)
            self._limit_row(f"top_{limits.top_n}_obligors", [t, *us, self.T],
                            [den * limits.top_n, *(den for _ in us), -num], -INF, 0.0, float(den) * target)
        if limits.min_wa_rate is not None:
            r_min = limits.min_wa_rate
            scale = _lcm_denominator([a.rate - r_min for a in assets])
            coefs = [int((a.rate - r_min) * scale) * a.amount_fen for a in assets]
            self._limit_row("min_wa_rate", self.x, coefs, 0.0, INF, float(scale) * target * 1e-4)
        if self.slacks:
            costs = np.array([1.0 / self.slack_scale[name] for name in self.slacks])
            self.h.changeColsCost(len(costs), np.array(list(self.slacks.values()), dtype=np.int32), costs)
            self.h.changeObjectiveSense(highspy.ObjSense.kMinimize)

    def _cols(self, count: int, low: float, high: float, *, integer: bool = False) -> list[int]:
        if count == 0:
            return []
        self.h.addVars(count, np.full(count, low), np.full(count, high))
        cols = list(range(self.ncols, self.ncols + count))
        self.ncols += count
        if integer and not self.relaxed:
            self.h.changeColsIntegrality(count, np.array(cols, dtype=np.int32),
                                         np.full(count, highspy.HighsVarType.kInteger))
        return cols

    def _row(self, cols: list[int], coefs: Sequence[float | int], low: float, high: float) -> None:
        self.h.addRow(low, high, len(cols), np.array(cols, dtype=np.int32), np.array(coefs, dtype=np.float64))

    def _limit_row(self, name: str, cols: list[int], coefs: Sequence[float | int], low: float, high: float,
                   scale: float) -> None:
        """A limit's row; an elastic limit gets its slack (one per limit)."""
        if self.elastic(name):
            if name not in self.slacks:
                (self.slacks[name],) = self._cols(1, 0.0, INF)
                self.slack_scale[name] = max(scale, 1.0)
            sign = 1.0 if high == INF else -1.0  # ≥ rows gain slack, ≤ rows lose it
            cols, coefs = [*cols, self.slacks[name]], [*coefs, sign]
        self._row(cols, coefs, low, high)

    def maximise(self, coefs: dict[int, float], abs_gap: float | None = None) -> None:
        """Set a maximisation objective over the given columns (optionally an absolute gap)."""
        if abs_gap is not None:
            self.h.setOptionValue("mip_abs_gap", abs_gap)
        self.h.changeColsCost(len(coefs), np.array(list(coefs), dtype=np.int32), np.array(list(coefs.values())))
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def solve(self) -> tuple[str, list[int] | None]:
        self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        if self.h.getInfo().primal_solution_status != 2:  # no feasible solution
            return status, None
        values = self.h.getSolution().col_value
        return status, [i for i, col in enumerate(self.x) if values[col] > 0.5]

    def solve_relaxation(self) -> tuple[float, np.ndarray] | None:
        """Solve the LP relaxation: its optimal objective and the asset columns' values (``None``
        when it has no optimal solution)."""
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        values = np.asarray(self.h.getSolution().col_value)
        return float(self.h.getInfo().objective_function_value), values[np.asarray(self.x, dtype=np.int64)]

    @property
    def gap(self) -> float:
        return float(self.h.getInfo().mip_gap)

    @property
    def dual_bound(self) -> float:
        return float(self.h.getInfo().mip_dual_bound)

    def warm_start(self) -> None:
        """Start the next solve from the last solution (still feasible: only the objective changes)."""
        self.h.setSolution(self.h.getSolution())


def _lcm_denominator(values: Iterable[Fraction]) -> int:
    out = 1
    for v in values:
        out = out * v.denominator // np.gcd(out, v.denominator)
    return int(out)


class SelectionError(RuntimeError):
    """The solver returned a pool that breaks a limit when measured exactly (never silent)."""


def _tightened(limits: Limits, margin_fen: int, spread: Fraction) -> Limits | None:
    """``limits`` with room for ``margin_fen`` of assets to leave the pool: the minimum total
    raised by it, every share tightened by the share of the pool it is and the minimum WA rate
    raised by that share of ``spread`` (how far a rate can be from it), to 1e-6; ``None`` when
    no room is left."""
    low, high = limits.min_total_fen, limits.max_total_fen
    target = math.floor((low + high + margin_fen + 1) / 2)
    if target <= 0 or 2 * target - high < low + margin_fen or target > high:
        return None
    shrink = 1 - Fraction(margin_fen, math.floor(low)) if low >= 1 else Fraction(0)

    def share(p: Fraction | None) -> Fraction | None:
        return None if p is None else Fraction(math.floor(p * shrink * 10**6), 10**6)

    rate = None if limits.min_wa_rate is None else Fraction(
        math.ceil((limits.min_wa_rate + Fraction(margin_fen, math.floor(low)) * spread) * 10**6), 10**6)
    return replace(limits, target_fen=target, tolerance=Fraction(high - target, target),
                   single_asset=share(limits.single_asset), single_obligor=share(limits.single_obligor),
                   top_n_share=share(limits.top_n_share), industry=share(limits.industry),
                   region=share(limits.region), short_term_share=share(limits.short_term_share),
                   min_wa_rate=rate)


def _yield_weights(model: _Model, assets: Sequence[Asset], rho: Fraction) -> dict[int, float]:
    """Dinkelbach's objective at ``rho``: Σ a_i (r_i − ρ) x_i."""
    return {x: float((a.rate - rho) * a.amount_fen) for x, a in zip(model.x, assets, strict=True)}


def _relax_and_round(assets: Sequence[Asset], limits: Limits, gap: float,
                     time_limit: float | None) -> tuple[list[int], float, int] | None:
    """The WA-yield pool by LP relaxation and rounding, with its proven gap, when that suffices.

    Each Dinkelbach step at ``ρ`` solves the LP relaxation under the real limits — its optimum
    ``U`` bounds every pool (every pool's WA rate ≤ ρ + U / minimum total) — and under limits
    tightened by the room that the fractional assets of that LP take (:func:`_tightened`); that
    LP's fractional assets are dropped, and the pool is kept only if it holds every limit when
    measured exactly (the room is quadrupled, up to four times, until it does).  Returns the
    chosen asset indexes, the relative gap proven and the number of LP solves; ``None`` when
    rounding gives no pool (the MILP decides then)."""
    bound = _Model(assets, limits, "wa_yield", time_limit=time_limit, relaxed=True)
    largest = max((a.amount_fen for a in assets), default=0)
    spread = max((abs(a.rate - (limits.min_wa_rate or 0)) for a in assets), default=Fraction(0))
    rounders: dict[int, _Model] = {}
    rho = limits.min_wa_rate or Fraction(0)
    chosen: list[int] | None = None
    best, wa_gap, solves = Fraction(0), math.inf, 0
    while solves < 60:
        bound.maximise(_yield_weights(bound, assets, rho))
        relaxation = bound.solve_relaxation()
        solves += 1
        if relaxation is None:
            return None
        upper_value, values = relaxation
        room = max(1, int(((values > 1e-9) & (values < 1 - 1e-9)).sum()))
        pool = None
        for _ in range(4):
            if room not in rounders:
                tight = _tightened(limits, room * largest, spread)
                if tight is None:
                    return None
                rounders[room] = _Model(assets, tight, "wa_yield", time_limit=time_limit, relaxed=True)
            model = rounders[room]
            model.maximise(_yield_weights(model, assets, rho))
            rounded = model.solve_relaxation()
            solves += 1
            if rounded is not None:
                picked = [int(i) for i in np.flatnonzero(rounded[1] > 1 - 1e-9)]
                if all(m.holds for m in measure([assets[i] for i in picked], limits)):
                    pool = picked
                    break
            room *= 4
        if pool is None:
            return None
        found = wa_rate(assets[i] for i in pool)
        if chosen is None or found > best:
            chosen, best = pool, found
        upper = rho + Fraction(max(0.0, upper_value)) / limits.min_total_fen
        wa_gap = float((upper - best) / best) if best > 0 else math.inf
        if wa_gap <= gap or found <= rho:
            break
        rho = best
    return (chosen, wa_gap, solves) if chosen is not None and wa_gap <= gap else None


def select(assets: Sequence[Asset], limits: Limits, objective: str = "wa_yield", *,
           gap: float = 1e-6, time_limit: float | None = None) -> Selection | Infeasible:
    """The optimal pool under ``limits`` (to the relative ``gap``), or an explanation of why none
    exists.  ``wa_yield`` first tries LP relaxation and rounding (:func:`_relax_and_round`),
    which proves its own gap; the MILP runs when that does not reach ``gap``."""
    if objective == "wa_yield" and assets:
        rounded = _relax_and_round(assets, limits, gap, time_limit)
        if rounded is not None:
            return _selection(assets, limits, objective, rounded[0], "Optimal (LP bound)", rounded[1], rounded[2])
    model = _Model(assets, limits, objective, gap=gap, time_limit=time_limit)
    solves = 0
    if objective == "diversification":
        model.maximise({y: 1.0 for y in model.y.values()})
        status, chosen = model.solve()
        solves = 1
    else:
        rho = limits.min_wa_rate or Fraction(0)
        status, chosen, best, wa_gap = "", None, Fraction(0), 0.0
        while solves < 50:
            # Dinkelbach's objective tends to 0: its gap is absolute, ``gap`` of the pool's interest
            model.maximise({x: float((a.rate - rho) * a.amount_fen) for x, a in zip(model.x, assets, strict=True)},
                           abs_gap=gap * float(max(rho, Fraction(1, 10**4)) * limits.target_fen))
            status, found = model.solve()
            solves += 1
            if found is None:
                break
            new_rho = wa_rate(assets[i] for i in found)
            if chosen is None or new_rho > best:
                chosen, best = found, new_rho
            # every pool (total ≥ the target's minimum) has a WA rate ≤ ρ + dual bound / minimum
            upper = rho + Fraction(max(0.0, model.dual_bound)) / limits.min_total_fen
            wa_gap = float((upper - best) / best) if best > 0 else 0.0
            if new_rho <= rho or best >= upper * (1 - Fraction(gap)):
                break
            rho = best
            model.warm_start()
    if chosen is None:
        return _explain(assets, limits, objective, gap, time_limit)
    return _selection(assets, limits, objective, chosen, status,
                      model.gap if objective == "diversification" else wa_gap, solves)


def _selection(assets: Sequence[Asset], limits: Limits, objective: str, chosen: list[int], status: str,
               gap_reached: float, solves: int) -> Selection:
    """The chosen pool, measured exactly; a pool that breaks a limit is never returned."""
    pool = [assets[i] for i in chosen]
    measures = measure(pool, limits)
    broken = [m for m in measures if not m.holds]
    if broken:
        raise SelectionError("the solver's pool breaks " + ", ".join(m.describe() for m in broken)
                             + ": report this instance")
    return Selection(tuple(a.key for a in pool), sum(a.amount_fen for a in pool), status, gap_reached,
                     objective, objective_value(pool, objective), tuple(measures), solves)


def _explain(assets: Sequence[Asset], limits: Limits, objective: str, gap: float,
             time_limit: float | None) -> Infeasible:
    names = [m.name for m in measure([], limits)]
    single = []
    status = ""
    for name in names:
        model = _Model(assets, limits, objective, elastic=functools.partial(operator.eq, name), gap=gap,
                       time_limit=time_limit)
        status, chosen = model.solve()
        if chosen:  # relaxing this limit alone gives a (non-empty) pool
            pool = [assets[i] for i in chosen]
            single += [_least(assets, limits, objective, m, gap, time_limit)
                       for m in measure(pool, limits) if m.name == name and not m.holds]
    if single:
        return Infeasible(tuple(single), (), status)
    # the closest pool of the target's size, else the closest pool of any size
    model = _Model(assets, limits, objective, elastic=lambda n: not n.startswith("target_"), gap=gap,
                   time_limit=time_limit)
    status, chosen = model.solve()
    if chosen is None:
        model = _Model(assets, limits, objective, elastic=lambda n: True, gap=gap, time_limit=time_limit)
        status, chosen = model.solve()
    pool = [assets[i] for i in chosen or []]
    return Infeasible((), tuple(m for m in measure(pool, limits) if not m.holds), status)


def limit_field(name: str) -> str | None:
    """The :class:`Limits` field of a share or rate limit (None for counts and the target)."""
    if name.startswith("top_"):
        return "top_n_share"
    return name if name in ("single_asset", "single_obligor", "industry", "region", "short_term_share",
                            "min_wa_rate") else None


def _least(assets: Sequence[Asset], limits: Limits, objective: str, found: Measure, gap: float,
           time_limit: float | None) -> Measure:
    """The least relaxation of one share or rate limit that gives a pool, to 0.01 % (bisection;
    the elastic pool's value is feasible).  Counts and the target are exact already."""
    attr = limit_field(found.name)
    if attr is None:
        return found
    step = 10_000

    def feasible(k: int) -> bool:
        change: dict[str, Any] = {attr: Fraction(k, step)}
        relaxed = replace(limits, **change)
        return bool(_Model(assets, relaxed, objective, gap=gap, time_limit=time_limit).solve()[1])

    if attr == "min_wa_rate":  # lowered: the feasible side is below
        good, bad = math.floor(found.value * step), math.ceil(found.limit * step)
        while bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if feasible(mid) else (good, mid)
    else:  # raised: the feasible side is above
        bad, good = math.floor(found.limit * step), math.ceil(found.value * step)
        while good - bad > 1:
            mid = (good + bad) // 2
            bad, good = (bad, mid) if feasible(mid) else (mid, good)
    return replace(found, value=Fraction(good, step), detail="")
