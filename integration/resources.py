"""The Dagster resource that gives assets the engine's settings, warehouse and archive."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from engines.store import export_night, store_root, stored_tables
from foundation.errors import ScfError
from integration.nights import config_hash
from integration.settings import Settings, load_settings
from reconciliation.findings import Judge

LOCK_FILE = "night.lock"


class NightBusyError(ScfError):
    """Another night is running on the same home."""


class ScfHome(dg.ConfigurableResource):
    """The engine's home folder (warehouse, archive, ledger, reports) and its inbox.

    Empty strings mean: ``SCF_HOME`` / ``SCF_INBOX`` from the environment, else the
    defaults of :func:`integration.settings.load_settings`. A night holds the home's
    ``night.lock`` from start to end: one night at a time per home, whoever started it.
    """

    home: str = ""
    inbox: str = ""
    full: bool = False  # recompute the night from every night (the as-of state, the ledger's decisions): the oracle

    def judge(self) -> Judge | None:
        """What judges the night's findings: ``None`` (DuckDB, :func:`reconciliation.findings.judge_night`)
        or the catalogue on Spark over the home's open store, as ``[findings] engine`` says, in the
        session ``[spark]`` describes.  A DuckDB night never starts a JVM; pyspark is imported only
        for a Spark night."""
        settings = self.settings()
        if settings.findings_engine != "spark":
            return None
        from engines.spark import SparkJudge, spark_session

        return SparkJudge(spark_session(settings.spark), store_root(settings.home), settings.spark)

    def write_store(self, con: duckdb.DuckDBPyConnection, business_date: dt.date) -> None:
        """The night's tables into the home's open store, when the night writes it
        (:attr:`integration.settings.Settings.writes_store`): tonight's partition of every nightly
        table, typed tables, trade matches, findings and verdicts included (engines/store.py)."""
        settings = self.settings()
        if settings.writes_store:
            export_night(con, store_root(settings.home), business_date, stored_tables(con))

    def settings(self) -> Settings:
        """The settings of this home, with the configured overrides applied."""
        return load_settings(Path(self.home) if self.home else None, Path(self.inbox) if self.inbox else None)

    def config_hash(self) -> str:
        """The fingerprint of the home's ``scf.toml`` (recorded with each night's run)."""
        path = self.settings().home / "scf.toml"
        return config_hash(path.read_bytes() if path.exists() else b"")

    @contextmanager
    def night_lock(self) -> Iterator[None]:
        """Hold the home's night lock while a night runs; refuse at once if another night holds it."""
        home = self.settings().home
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise NightBusyError(
                    f"another night is running on {home} ({home / LOCK_FILE} is held): wait for it to finish"
                ) from None
            yield
        finally:
            os.close(fd)
