"""Planter of status changes: a financing that stops being live on a later night.

A clean invoice factoring is booked ACTIVE; on the next night its ``financings.csv`` row
is delivered again as ``REPAID``, ``DEFAULTED`` or ``CANCELLED`` (in turn).  It is labelled
``closed`` from that night: its verdict must be ``closed`` (OUTPUTS.md), and re-running any
night must not append its status change to the ledger again (issue 9 §3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.flows import factor_trade, restate
from simulator.planting import Planter

if TYPE_CHECKING:
    from simulator.context import Sim

CLOSING_STATUSES = ("REPAID", "DEFAULTED", "CANCELLED")


def closed_later(sim: Sim, i: int) -> None:
    """A clean factoring whose row comes again on the next night with a closing status
    (nothing on the last night: its row could only be restated the same night)."""
    if not sim.can_postpone():
        return
    f = factor_trade(sim, sim.trades.tier1())
    status = CLOSING_STATUSES[i % len(CLOSING_STATUSES)]

    def close(s: Sim) -> None:
        restate(s, f, status)
        s.labels.add("closed", s.night, "", "status_change", financing=f, note=f"ACTIVE, then {status}")

    sim.later(1, close)


PLANTERS: tuple[Planter, ...] = (Planter("", "status_change", closed_later),)
