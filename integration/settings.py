"""Settings of one engine home: where the inbox is, how to read it, check parameters, keys.

Everything has a default, so an empty home runs on the embedded default: the local
folder ``<home>/inbox`` and the DuckDB file ``<home>/warehouse.duckdb``.  An optional
``<home>/scf.toml`` overrides (see ``docs/CONFIGURATION.md``); ``SCF_INBOX`` and CLI flags
override the inbox folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from connectors.archive import Archive
from connectors.errors import ConfigError
from connectors.parsers.fields import BANK_CODE
from connectors.sources import LocalFolderSource, Source
from connectors.warehouse import Warehouse
from ledger.cli import DEFAULT_ORIGIN
from ledger.keys import default_fingerprint_key_path, default_signing_key_path

DEFAULT_HOME = Path("home")


@dataclass(frozen=True)
class SftpSettings:
    """An SFTP inbox: key authentication, host key pinned by a known_hosts file."""

    host: str
    username: str
    key_file: Path
    known_hosts: Path
    root: str = "."
    port: int = 22


@dataclass(frozen=True)
class LedgerSettings:
    """The log's identity and the files holding its keys (relative paths: under home).

    The defaults are those of ``scf ledger``, so its commands verify what the nightly job
    signed without options."""

    origin: str = DEFAULT_ORIGIN
    key_name: str | None = None  # default: the origin
    signing_key_file: Path = default_signing_key_path(Path())
    fingerprint_key_file: Path = default_fingerprint_key_path(Path())

    @property
    def signer_name(self) -> str:
        """The key name on the log's signature lines."""
        return self.key_name or self.origin


@dataclass(frozen=True)
class Settings:
    """All settings of an engine home."""

    home: Path
    inbox: Path
    sftp: SftpSettings | None = None
    csv_overrides: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    check_params: dict[str, int | str] = field(default_factory=dict)
    ledger: LedgerSettings = LedgerSettings()
    warehouse_memory_limit: str = "4GB"
    bank_code: str | None = None  # [bank] code: the bank's own 12-digit CNAPS code (pools)

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file."""
        return self.home / "warehouse.duckdb"

    @property
    def archive_root(self) -> Path:
        """Where the archive lives."""
        return self.home / "archive"

    @property
    def checkpoint_dir(self) -> Path:
        """Where signed ledger checkpoints are written."""
        return self.home / "ledger" / "checkpoints"

    def open_warehouse(self) -> Warehouse:
        """Open the warehouse file with the configured memory limit (the caller closes it)."""
        return Warehouse(self.warehouse_path, memory_limit=self.warehouse_memory_limit)

    def archive(self) -> Archive:
        """The immutable archive of every delivered byte."""
        return Archive(self.archive_root)

    def under_home(self, path: Path) -> Path:
        """A configured path, relative ones taken under the home folder."""
        return path if path.is_absolute() else self.home / path

    def source(self) -> Source:
        """The configured inbox: SFTP when configured, else the local folder."""
        if self.sftp is not None:
            from connectors.sftp import SftpSource

            s = self.sftp
            return SftpSource(s.host, s.port, s.username, s.key_file, s.known_hosts, s.root)
        return LocalFolderSource(self.inbox)

    def csv_override(self, rel_path: str) -> tuple[str | None, str | None]:
        """(encoding, delimiter) configured for a delivered path: the longest matching prefix."""
        matches = [prefix for prefix in self.csv_overrides if rel_path.startswith(prefix)]
        return self.csv_overrides[max(matches, key=len)] if matches else (None, None)


def load_settings(home: Path | None = None, inbox: Path | None = None) -> Settings:
    """Read ``<home>/scf.toml`` (if present) and apply the environment and explicit overrides."""
    home = (home or Path(os.environ.get("SCF_HOME", DEFAULT_HOME))).resolve()
    config: dict = {}
    config_file = home / "scf.toml"
    if config_file.exists():
        config = tomllib.loads(config_file.read_text("utf-8"))
    source = config.get("source", {})
    inbox = inbox or (Path(os.environ["SCF_INBOX"]) if "SCF_INBOX" in os.environ else None)
    sftp = None
    if inbox is None and source.get("kind") == "sftp":
        sftp = SftpSettings(
            host=source["host"],
            username=source["username"],
            key_file=Path(source["key_file"]),
            known_hosts=Path(source["known_hosts"]),
            root=source.get("root", "."),
            port=int(source.get("port", 22)),
        )
    inbox_path = Path(inbox or source.get("inbox", home / "inbox")).resolve()
    csv_overrides = {
        prefix.rstrip("/") + "/": (opts.get("encoding"), opts.get("delimiter"))
        for prefix, opts in config.get("csv", {}).items()
    }
    ledger = LedgerSettings(**{k: Path(v) if k.endswith("_file") else v for k, v in config.get("ledger", {}).items()})
    memory_limit = config.get("warehouse", {}).get("memory_limit", Settings.warehouse_memory_limit)
    bank_code = config.get("bank", {}).get("code")
    if bank_code is not None and not (isinstance(bank_code, str) and BANK_CODE.fullmatch(bank_code)):
        raise ConfigError(f"{config_file}: [bank] code must be the bank's 12-digit CNAPS code, not {bank_code!r}")
    return Settings(home, inbox_path, sftp, csv_overrides, dict(config.get("checks", {})), ledger, memory_limit,
                    bank_code)
