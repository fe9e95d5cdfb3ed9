"""Whether a night's delivery is complete: what the arrival sensor waits for (docs/OPERATIONS.md).

A night's delivery is complete when its folder in the inbox (local or SFTP) holds the marker
file ``.complete`` (the sender writes it last), or when every source the night is expected to
hold is in the folder: the sources of :mod:`quality.registry` (the configured
``dq_required_sources`` and those learned from the trailing nights). While no source is
expected (a new home without ``dq_required_sources``), only the marker completes a night;
the cut-off runs it anyway, and what is missing becomes ``DQ_*`` findings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from integration.settings import Settings
from quality.registry import load_registry, source_of
from reconciliation.catalogue import default_params
from warehouse.registry import create_table
from warehouse.schemas import FILES

COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class Delivery:
    """What the inbox holds of one night, against what the night is expected to hold."""

    business_date: dt.date
    marker: bool  # the folder holds COMPLETE_MARKER
    expected: frozenset[str]
    present: frozenset[str]

    @property
    def missing(self) -> tuple[str, ...]:
        """The expected sources not in the folder, sorted."""
        return tuple(sorted(self.expected - self.present))

    @property
    def complete(self) -> bool:
        """Marked complete, or holding every expected source (at least one being expected)."""
        return self.marker or (bool(self.expected) and not self.missing)

    def waiting_for(self) -> str:
        """Why the night is not complete yet (for the sensor's skip reason)."""
        sources = f" or its missing sources {', '.join(self.missing)}" if self.expected else ""
        return f"night {self.business_date}: waiting for its {COMPLETE_MARKER} marker{sources}, or the cut-off"


def expected_sources(settings: Settings, day: dt.date) -> frozenset[str]:
    """The sources night ``day`` is expected to hold, as the data-quality registry judges them
    from the home's warehouse (read-only; ``duckdb.IOException`` while a night holds it)."""
    params = {**default_params(), **settings.check_params}
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            if con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'files'").fetchone():
                return frozenset(load_registry(con, day, params).expected)
    with duckdb.connect() as con:  # a home that has landed nothing yet: the configured sources only
        create_table(con, FILES)
        return frozenset(load_registry(con, day, params).expected)


def delivery(settings: Settings, day: dt.date) -> Delivery:
    """What the configured inbox holds of night ``day`` (raises the source's errors: host key, …)."""
    expected = expected_sources(settings, day)
    source = settings.source()
    try:
        marker = source.has_marker(day, COMPLETE_MARKER)
        present = frozenset(s for f in source.list_night(day) if (s := source_of(f.rel_path)) is not None)
    finally:
        source.close()
    return Delivery(day, marker, expected, present)
