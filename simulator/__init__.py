"""The synthetic bank: a seeded generator of nightly deliveries (INPUTS.md) and of the
planted truth (``labels.csv``) the reconciliation engine is scored against.

>>> from simulator import simulate                                # doctest: +SKIP
>>> summary = simulate(Path("demo"), seed=7, nights=3, trades_per_night=200)
"""

from __future__ import annotations

from simulator.engine import SimulationSummary, simulate
from simulator.params import Tuning

__all__ = ["SimulationSummary", "Tuning", "simulate"]
