"""Settings of one engine home: where the inbox is, how to read it, check parameters, keys.

Everything has a default, so an empty home runs on the embedded default: the local
folder ``<home>/inbox`` and the DuckDB file ``<home>/warehouse.duckdb``.  An optional
``<home>/scf.toml`` overrides (see ``docs/CONFIGURATION.md``); ``SCF_INBOX`` and CLI flags
override the inbox folder.  The file is validated as it is read: an unknown section or key,
a value of the wrong type or form, a missing SFTP setting or a check parameter the catalogue
does not have raises :class:`~connectors.errors.ConfigError` naming the file, the key and the
reason, before the night lands or signs anything.
"""

from __future__ import annotations

import codecs
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.archive import Archive
from connectors.errors import ConfigError
from connectors.sources import LocalFolderSource, Source
from connectors.values import MAX_AMOUNT_FEN
from connectors.warehouse import Warehouse
from ledger.cli import DEFAULT_ORIGIN
from ledger.keys import default_fingerprint_key_path, default_signing_key_path
from reconciliation.catalogue import default_params

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
    max_amount_fen: int = MAX_AMOUNT_FEN

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


CONFIG_FILE = "scf.toml"

SOURCE_KINDS = ("local", "sftp")
_SFTP_REQUIRED = ("host", "username", "key_file", "known_hosts")
_MEMORY_LIMIT = re.compile(r"[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
AMOUNT_CEILING_MAX = 10**15
"""Largest ``[limits] max_amount_fen`` accepted: sums of up to 9,000 such amounts fit BIGINT."""


class _Reader:
    """Typed access to one section of the parsed file; every error names file, key and reason."""

    def __init__(self, file: Path, section: str, table: object, keys: dict[str, type | tuple[type, ...]]) -> None:
        self.file, self.section = file, section
        if not isinstance(table, dict):
            self.fail(None, f"must be a table ([{section}]), not a {type(table).__name__}")
        unknown = sorted(set(table) - set(keys))
        if unknown:
            self.fail(unknown[0], f"unknown key; the keys of [{section}] are {', '.join(keys)}")
        for key, value in table.items():
            wanted = keys[key]
            if isinstance(value, bool) and bool not in (wanted if isinstance(wanted, tuple) else (wanted,)):
                self.fail(key, f"must be {_type_name(wanted)}, not a boolean")
            if not isinstance(value, wanted):
                self.fail(key, f"must be {_type_name(wanted)}, not {type(value).__name__} {value!r}")
        self.table: dict[str, Any] = table

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key, default)

    def fail(self, key: str | None, reason: str) -> None:
        where = f"[{self.section}]" + (f" {key}" if key else "")
        raise ConfigError(f"{self.file}: {where}: {reason}; fix the file and run again")


def _type_name(wanted: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", dict: "a table", bool: "true or false"}
    types = wanted if isinstance(wanted, tuple) else (wanted,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def _read_toml(config_file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(config_file.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{config_file}: not valid TOML ({err}); fix the file and run again") from None
    except OSError as err:
        raise ConfigError(f"{config_file}: cannot be read ({err.strerror}); check its permissions") from None


def _sftp(source: _Reader) -> SftpSettings:
    missing = [key for key in _SFTP_REQUIRED if source.get(key) is None]
    if missing:
        source.fail(missing[0], f'missing: kind = "sftp" needs {", ".join(_SFTP_REQUIRED)}')
    port = source.get("port", 22)
    if not 0 < port < 65536:
        source.fail("port", f"{port} is not a TCP port (1-65535)")
    return SftpSettings(
        host=source.get("host"),
        username=source.get("username"),
        key_file=Path(source.get("key_file")),
        known_hosts=Path(source.get("known_hosts")),
        root=source.get("root", "."),
        port=port,
    )


def _csv_override(file: Path, prefix: str, table: object) -> tuple[str | None, str | None]:
    opts = _Reader(file, f'csv."{prefix}"', table, {"encoding": str, "delimiter": str})
    encoding, delimiter = opts.get("encoding"), opts.get("delimiter")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            opts.fail("encoding", f"unknown encoding {encoding!r} (e.g. \"utf-8\", \"gb18030\")")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\"\r\n"):
        opts.fail("delimiter", f"must be one character other than a quote or line break, not {delimiter!r}")
    return encoding, delimiter


def _check_params(file: Path, table: object) -> dict[str, int | str]:
    defaults = default_params()
    checks = _Reader(file, "checks", table, {name: type(value) for name, value in defaults.items()})
    return dict(checks.table)


def load_settings(home: Path | None = None, inbox: Path | None = None) -> Settings:
    """Read and validate ``<home>/scf.toml`` (if present), then apply the environment and the
    explicit overrides; raises :class:`ConfigError` for a configuration that cannot be right."""
    home = (home or Path(os.environ.get("SCF_HOME", DEFAULT_HOME))).resolve()
    config_file = home / CONFIG_FILE
    config = _read_toml(config_file) if config_file.exists() else {}
    sections = ("source", "csv", "warehouse", "checks", "ledger", "limits")
    unknown = sorted(set(config) - set(sections))
    if unknown:
        raise ConfigError(
            f"{config_file}: [{unknown[0]}]: unknown section; the sections are {', '.join(sections)}; "
            "fix the file and run again"
        )
    source = _Reader(
        config_file, "source", config.get("source", {}),
        {"kind": str, "inbox": str, "host": str, "port": int, "username": str, "key_file": str,
         "known_hosts": str, "root": str},
    )  # fmt: skip
    kind = source.get("kind", "local")
    if kind not in SOURCE_KINDS:
        source.fail("kind", f"{kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    stray = [key for key in (*_SFTP_REQUIRED, "port", "root") if kind == "local" and source.get(key) is not None]
    if stray:
        source.fail(stray[0], 'is an SFTP setting but kind is "local"; set kind = "sftp" or remove it')
    if kind == "sftp" and source.get("inbox") is not None:
        source.fail("inbox", 'is a local folder but kind is "sftp"; remove it or set kind = "local"')
    sftp = _sftp(source) if kind == "sftp" else None
    inbox = inbox or (Path(os.environ["SCF_INBOX"]) if os.environ.get("SCF_INBOX") else None)
    if inbox is not None:
        sftp = None  # an explicit local inbox replaces the configured source
    inbox_path = Path(inbox or source.get("inbox") or home / "inbox").resolve()
    csv_table = config.get("csv", {})
    if not isinstance(csv_table, dict):
        raise ConfigError(f"{config_file}: [csv]: must hold tables [csv.\"<path prefix>\"]; fix the file and run again")
    csv_overrides = {
        prefix.rstrip("/") + "/": _csv_override(config_file, prefix, opts) for prefix, opts in csv_table.items()
    }
    ledger = _Reader(
        config_file, "ledger", config.get("ledger", {}),
        {"origin": str, "key_name": str, "signing_key_file": str, "fingerprint_key_file": str},
    )  # fmt: skip
    warehouse = _Reader(config_file, "warehouse", config.get("warehouse", {}), {"memory_limit": str})
    memory_limit = warehouse.get("memory_limit", Settings.warehouse_memory_limit)
    if not _MEMORY_LIMIT.fullmatch(memory_limit):
        warehouse.fail("memory_limit", f"{memory_limit!r} is not a size such as \"4GB\" or \"512MiB\"")
    limits = _Reader(config_file, "limits", config.get("limits", {}), {"max_amount_fen": int})
    max_amount_fen = limits.get("max_amount_fen", MAX_AMOUNT_FEN)
    if not 0 < max_amount_fen <= AMOUNT_CEILING_MAX:
        limits.fail("max_amount_fen", f"{max_amount_fen} is not between 1 and {AMOUNT_CEILING_MAX}")
    check_params = _check_params(config_file, config.get("checks", {}))
    for name, ppm in {**default_params(), **check_params}.items():
        if name.endswith("_ppm") and isinstance(ppm, int) and not 0 <= ppm * max_amount_fen < 2**63:
            reason = "is negative" if ppm < 0 else f"times [limits] max_amount_fen = {max_amount_fen} overflows 64 bits"
            raise ConfigError(f"{config_file}: [checks] {name} = {ppm} {reason}; fix the file and run again")
    return Settings(
        home,
        inbox_path,
        sftp,
        csv_overrides,
        check_params,
        LedgerSettings(**{k: Path(v) if k.endswith("_file") else v for k, v in ledger.table.items()}),
        memory_limit,
        max_amount_fen,
    )
