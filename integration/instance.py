"""The Dagster instance of an engine home: ``<home>/dagster`` (``DAGSTER_HOME`` for ``dagster dev``).

Its ``dagster.yaml`` is the one the project ships (``integration/dagster.yaml``: telemetry
off, run queue of one), installed when the home is initialised or first run; an operator's
edits to the installed copy are kept.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

SHIPPED_INSTANCE_CONFIG = Path(__file__).with_name("dagster.yaml")


def dagster_home(home: Path) -> Path:
    """The home's Dagster instance folder."""
    return home / "dagster"


def install_instance_config(home: Path) -> Path | None:
    """Install the project's ``dagster.yaml`` in the home's instance folder if it has none; return it if created."""
    folder = dagster_home(home)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if config.exists():
        return None
    config.write_bytes(SHIPPED_INSTANCE_CONFIG.read_bytes())
    return config


def instance_for(home: Path) -> dg.DagsterInstance:
    """The home's persistent Dagster instance (the caller disposes of it: ``with instance_for(home) as i``)."""
    install_instance_config(home)
    return dg.DagsterInstance.from_config(str(dagster_home(home)))
