"""What every planter shares: the :class:`Planter` record and scenario building blocks
(each a clean piece the planters then bend)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator import flows
from simulator.documents import Financing, Trade
from simulator.platform import Position, Voucher
from simulator.trades import CLEAN, Tweaks
from simulator.world import Bank, Company

if TYPE_CHECKING:
    from simulator.context import Sim


@dataclass(frozen=True)
class Planter:
    """Plants instance ``i`` of one scenario kind into the current night."""

    check_id: str
    kind: str
    plant: Callable[[Sim, int], None]


def tonight_or_next(sim: Sim, action: Callable[[Sim], None]) -> None:
    """Run ``action`` on the next night when there is one, else now."""
    if not sim.later(1, action):
        action(sim)


def other_tier1(sim: Sim, than: Company) -> Company:
    """Another clean tier-1 supplier of the same core."""
    firsts = sim.world.tier1[than.root.core_no]
    pool = [c for c in firsts if c is not than]
    return flows.pick(sim, pool)


def tier1_of_other_core(sim: Sim, than: Company) -> Company:
    """A clean tier-1 supplier of a different core."""
    cores = [c for c in sim.world.cores if c is not than.root]
    core = cores[int(sim.rng.random() * len(cores))]
    return flows.pick(sim, sim.world.tier1[core.core_no])


def issued_voucher(sim: Sim, trade: Trade | None = None) -> tuple[Trade, Voucher, Position]:
    """A clean tier-1 trade and the voucher issued on its payable."""
    trade = trade or sim.trades.tier1()
    v, pos = sim.platform.issue(trade)
    return trade, v, pos


def finance_now(sim: Sim, v: Voucher, refs: list[tuple[str, int]], bank: Bank | None = None,
                by: Company | None = None) -> Financing:
    """FINANCE with the row delivered tonight."""
    return sim.platform.finance_voucher(v, refs, bank=bank, by=by, row_delay=0)


def passed_down(sim: Sim, tw: Tweaks = CLEAN,
                seller_for: Callable[[Company], Company] | None = None) -> tuple[Financing, Trade, Voucher]:
    """A tier-1 holder splits its voucher and transfers the child to its supplier against a
    deeper-tier trade built with ``tw``, sold by the transferee (or by ``seller_for(holder)``);
    the transferee finances the child presenting that invoice."""
    _trade, v, _pos = issued_voucher(sim)
    holder = v.holder
    child = sim.platform.split(v, flows.percent_of(sim, v.amount, 30, 70))
    nxt = flows.pick(sim, holder.children)
    seller = seller_for(holder) if seller_for is not None else nxt
    deep = sim.trades.deep(seller, holder, tw=tw, target_total=child.amount)
    refs = [(deep.invoice.no, child.amount)]
    sim.platform.transfer(child, nxt, refs)
    f = finance_now(sim, child, refs)
    return f, deep, child
