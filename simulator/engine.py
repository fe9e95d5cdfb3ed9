"""The night loop: clean trades interleaved with planted scenarios, night after night."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from simulator import anomalies, closures, fake_trades, flows, lookalikes, malformed
from simulator.arrivals import stamp_arrivals
from simulator.catalog import partner_banks
from simulator.context import Sim
from simulator.params import Tuning
from simulator.parties import write_parties
from simulator.planting import Planter
from simulator.timefmt import iso
from simulator.trades import contract_carriers


@dataclass(frozen=True)
class SimulationSummary:
    """What a run wrote (counts of records, not bytes) and where."""

    out_dir: Path
    seed: int
    dates: list[str]
    trades_per_night: int
    companies: int
    totals: dict[str, int] = field(default_factory=dict)
    per_night: list[dict[str, int]] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)

    @property
    def invoices(self) -> int:
        """Blue invoices written over all nights."""
        return self.totals.get("invoices", 0)


def planters(anomalies_on: bool, tuning: Tuning) -> list[Planter]:
    """The scenario kinds to plant each night."""
    out: list[Planter] = []
    if anomalies_on:
        out.extend(anomalies.PLANTERS)
        if tuning.plant_fake_trades:
            out.extend(fake_trades.PLANTERS)
        if tuning.plant_malformed_rows:
            out.extend(malformed.PLANTERS)
        if tuning.plant_closures:
            out.extend(closures.PLANTERS)
    if tuning.plant_lookalikes:
        out.extend(lookalikes.PLANTERS)
    return out


def _run_night(sim: Sim, kinds: list[Planter]) -> None:
    per_kind = sim.tuning.instances_per_kind(sim.trades_per_night)
    target = sim.trades_per_night
    jobs = [(p, sim.night * per_kind + k) for p in kinds for k in range(per_kind)]
    slots = sorted((int(sim.rng.random() * target), j) for j in range(len(jobs)))
    q = 0
    while True:
        done = sim.night_count("invoices")
        while q < len(slots) and slots[q][0] <= done:
            planter, i = jobs[slots[q][1]]
            planter.plant(sim, i)
            q += 1
        if done >= target:
            break
        flows.one_trade(sim)
    for _pos, j in slots[q:]:
        planter, i = jobs[j]
        planter.plant(sim, i)


def simulate(out_dir: Path, *, seed: int = 7, nights: int = 3, start: dt.date = dt.date(2026, 11, 18),
             trades_per_night: int = 200, anomalies: bool = True, tuning: Tuning | None = None) -> SimulationSummary:
    """Generate ``nights`` nightly deliveries under ``out_dir/inbox/<date>/`` (INPUTS.md
    layout), plus ``out_dir/labels.csv`` (planted truth) and ``out_dir/world.json``.

    Deterministic: the same arguments give byte-identical files.  ``trades_per_night``
    is the number of blue invoices to generate per night (planted scenarios included);
    memory stays bounded whatever the volume.  ``anomalies=False`` plants no anomaly
    (look-alikes, being legitimate, are still planted unless ``tuning`` says otherwise).
    An existing ``out_dir/inbox`` is replaced (and the operational faults planted on it,
    ``deliveries/`` and ``schedule.json``: :mod:`simulator.operations`, removed).
    """
    if nights < 1 or trades_per_night < 0:
        raise ValueError("nights must be >= 1 and trades_per_night >= 0")
    tuning = tuning or Tuning()
    partner_banks(tuning.banks)  # too few banks is refused before an earlier inbox is removed
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("inbox", "deliveries"):  # deliveries/ and schedule.json describe an earlier inbox
        if (out_dir / stale).exists():
            shutil.rmtree(out_dir / stale)
    (out_dir / "schedule.json").unlink(missing_ok=True)
    sim = Sim(out_dir, seed=seed, nights=nights, start=start, trades_per_night=trades_per_night,
              anomalies=anomalies, tuning=tuning)
    kinds = planters(anomalies, tuning)
    if not contract_carriers(sim):  # every carrier sends 2015WCCYR: frauds only the contract layout tells are not planted
        kinds = [p for p in kinds if not p.contract_waybill]
    try:
        for night in range(nights):
            sim.begin_night(night)
            if night == 0:
                write_parties(sim.inbox / iso(sim.day) / "reference" / "parties.csv", sim.world)
            _run_night(sim, kinds)
            sim.end_night()
    finally:
        sim.labels.close()
    for day in sim.days:
        stamp_arrivals(sim.inbox / iso(day), dt.date.fromordinal(day))
    sim.world.write_json(out_dir / "world.json")
    return SimulationSummary(
        out_dir=out_dir,
        seed=seed,
        dates=[iso(d) for d in sim.days],
        trades_per_night=trades_per_night,
        companies=len(sim.world.cores) + len(sim.world.suppliers),
        totals=dict(sim.counts.by_kind),
        per_night=sim.per_night,
        labels=dict(sim.labels.counts),
    )
