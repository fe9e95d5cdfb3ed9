"""The Dagster resource that gives assets the engine's settings, warehouse and archive."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from integration.settings import Settings, load_settings


class ScfHome(dg.ConfigurableResource):
    """The engine's home folder (warehouse, archive, ledger, reports) and its inbox.

    Empty strings mean: ``SCF_HOME`` / ``SCF_INBOX`` from the environment, else the
    defaults of :func:`integration.settings.load_settings`.
    """

    home: str = ""
    inbox: str = ""

    def settings(self) -> Settings:
        """The settings of this home, with the configured overrides applied."""
        return load_settings(Path(self.home) if self.home else None, Path(self.inbox) if self.inbox else None)
