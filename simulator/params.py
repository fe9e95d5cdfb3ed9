"""Tunable knobs of the simulator: file layout, state bounds, planting switches.

The defaults produce the delivery INPUTS.md describes; tests shrink the batch sizes to
exercise file rolling on small runs.  Probabilities of the clean business flows live
next to the code that uses them (:mod:`simulator.flows`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    """Knobs that change the shape of the output, not its business meaning."""

    tax_batch_size: int = 50_000
    """Invoices per ``tax/batch_NNNN.xml`` before a new batch file is started."""
    waybill_batch_size: int = 50_000
    """Waybill ``Body`` elements per ``logistics/<carrier>/waybills_NNNN.xml``."""
    bill_batch_size: int = 50_000
    """``CdInf`` records per ``bills/bills_NNNN.xml``."""
    single_file_share: float = 0.03
    """Share of invoices / waybills delivered one per file instead of in a batch."""
    max_single_files: int = 300
    """Cap on one-per-file invoices (and, separately, waybills per carrier) per night."""
    per_kind: int | None = None
    """Instances of each anomaly and look-alike kind planted per night; ``None``: 1 below
    500 trades a night, 2 below 20,000, else 3."""
    plant_fake_trades: bool = True
    """Plant the fake-trade catalogue (only when ``anomalies=True``)."""
    plant_lookalikes: bool = True
    """Plant look-alikes (legitimate but suspicious-looking cases) on every run."""
    plant_malformed_rows: bool = False
    """Plant malformed financings.csv rows (:mod:`simulator.malformed`; only when
    ``anomalies=True``)."""
    plant_closures: bool = True
    """Plant financings closed on a later night (:mod:`simulator.closures`; only when
    ``anomalies=True``: they carry ``closed`` labels)."""
    wccyr_carriers: frozenset[str] = frozenset()
    """Carriers (by USCC, or ``"*"`` for all) that send their waybills in the real 2015WCCYR
    layout instead of the contract one (same trades, what that layout carries)."""
    pending_cap: int = 20_000
    """Most actions (voucher steps, late financing rows) kept for later nights."""
    reservoir_size: int = 64
    """Past clean invoice financings remembered to draw cross-night duplicates from."""
    guard_bits: int = 27
    """log2 of the bitmap that keeps clean invoices of one seller/buyer pair from
    sharing a total (2**27 bits = 16 MiB)."""
    tier1_per_core: int | None = None
    """Tier-1 suppliers per core enterprise; ``None`` scales with ``trades_per_night``."""
    banks: int | None = None
    """Partner banks booking financings on the platform (at least 3; ``None``: the catalogue's
    seven, :func:`simulator.catalog.partner_banks`).  Every bank's financings arrive in the one
    ``platform/financings.csv`` (INPUTS.md), each row with its ``bank_code``; the night's volume
    stays ``trades_per_night`` for the whole platform — a bench that models B banks of n trades
    each asks for ``B * n``."""

    def waybill_layout(self, carrier_uscc: str) -> str:
        """The layout a carrier's waybills are delivered in."""
        return "2015WCCYR" if {"*", carrier_uscc} & self.wccyr_carriers else "contract"

    def instances_per_kind(self, trades_per_night: int) -> int:
        """How many of each scenario kind to plant per night."""
        if self.per_kind is not None:
            return self.per_kind
        return 1 if trades_per_night < 500 else 2 if trades_per_night < 20_000 else 3
