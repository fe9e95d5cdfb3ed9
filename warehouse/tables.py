"""Every table of the warehouse, by name: the one place that gathers the declarations."""

from __future__ import annotations

from warehouse.registry import Table
from warehouse.results import RESULT_TABLES
from warehouse.schemas import FILES, INPUT_TABLES, QUARANTINE

TABLES: dict[str, Table] = {t.name: t for t in (*INPUT_TABLES, QUARANTINE, FILES, *RESULT_TABLES)}


def table(name: str) -> Table:
    """The declaration of a table of the warehouse."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in the schema registry") from None
