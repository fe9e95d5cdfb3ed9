"""Settings of one engine home: where the inbox is, how to read it, check parameters, keys.

Everything has a default, so an empty home runs on the embedded default: the local
folder ``<home>/inbox`` and the DuckDB file ``<home>/warehouse.duckdb``.  An optional
``<home>/scf.toml`` overrides (see ``docs/CONFIGURATION.md``); ``SCF_INBOX`` and CLI flags
override the inbox folder.  The file is validated as it is read: an unknown section or key,
a value of the wrong type or form, a missing SFTP setting or a check parameter the catalogue
does not have raises :class:`~foundation.errors.ConfigError` naming the file, the key and the
reason, before the night lands or signs anything.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from connectors.archive import Archive
from connectors.parsers.fields import BANK_CODE
from connectors.sources import LocalFolderSource, Source
from engines.config import DEFAULT_SPARK, JVM_SIZE, MASTER, MATERIALIZE, MIN_DRIVER_MEMORY_MIB, SparkSettings
from foundation.errors import ConfigError
from foundation.values import MAX_AMOUNT_FEN
from ledger.checkpoint import DEFAULT_ORIGIN
from ledger.keys import default_fingerprint_key_path, default_signing_key_path
from reconciliation.catalogue import default_params
from warehouse.connection import Warehouse

DEFAULT_HOME = Path("home")
DEFAULT_FIRST_NIGHT = dt.date(2026, 1, 1)


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
    verify_lap_nights: int = 0  # the nightly gate re-hashes every older entry once in this many nights (0: as many as signed)

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
    first_night: dt.date = DEFAULT_FIRST_NIGHT  # [nightly] first_night: the go-live business date
    cutoff: dt.time = dt.time(3, 30)  # [nightly] cutoff: Asia/Shanghai time a night runs even if incomplete
    alert_command: tuple[str, ...] = ()  # [nightly] alert_command: argv run with a failed night's alert file
    bank_code: str | None = None  # [bank] code: the bank's own 12-digit CNAPS code (pools)
    findings_engine: str = "duckdb"  # [findings] engine: where the catalogue runs (FINDINGS_ENGINES)
    store_write: bool = False  # [store] write: the night's tables also written to the open store (Spark nights always)
    spark: SparkSettings = DEFAULT_SPARK  # [spark]: the Spark engine's master, memory, partitions, scratch

    @property
    def writes_store(self) -> bool:
        """Whether the night writes the open store ``<home>/store/`` (engines/store.py)."""
        return self.store_write or self.findings_engine == "spark"

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

SECTIONS = ("source", "csv", "warehouse", "checks", "ledger", "limits", "nightly", "bank", "findings", "store", "spark")
#: Where the findings stage may run the catalogue: the embedded DuckDB, or Spark over the open
#: store (engines/, docs/SCALE.md); the ledger always runs on DuckDB.
FINDINGS_ENGINES = ("duckdb", "spark")
SOURCE_KINDS = ("local", "sftp")
_SOURCE_KEYS = {
    "kind": str, "inbox": str, "host": str, "port": int, "username": str, "key_file": str, "known_hosts": str,
    "root": str,
}  # fmt: skip
_SFTP_REQUIRED = ("host", "username", "key_file", "known_hosts")
_LEDGER_KEYS = {"origin": str, "key_name": str, "signing_key_file": str, "fingerprint_key_file": str, "verify_lap_nights": int}
_MEMORY_LIMIT = re.compile(r"[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
AMOUNT_CEILING_MAX = 10**15
"""Largest ``[limits] max_amount_fen`` accepted (10 trillion yuan).  The checks multiply amounts
by ``*_ppm`` parameters, so the product of the ceiling with each of them is checked as well."""


def _invalid(file: Path, where: str, reason: str) -> ConfigError:
    """The error of a bad setting: one line with the file, where in it, the reason and the fix."""
    return ConfigError(f"{file}: {where}: {reason}; fix the file and run again")


class _Reader:
    """Typed access to one section of the parsed file; every error names file, key and reason."""

    def __init__(self, file: Path, section: str, table: object, keys: Mapping[str, type]) -> None:
        self.file, self.section = file, section
        if not isinstance(table, dict):
            self.fail(None, f"must be a table ([{section}]), not a {type(table).__name__}")
        unknown = sorted(set(table) - set(keys))
        if unknown:
            self.fail(unknown[0], f"unknown key; the keys of [{section}] are {', '.join(keys)}")
        for key, value in table.items():
            if isinstance(value, bool) is not (keys[key] is bool) or not isinstance(value, keys[key]):
                self.fail(key, f"must be {_TYPE_NAMES.get(keys[key], keys[key].__name__)}, not {value!r}")
        self.table: dict[str, Any] = table

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key, default)

    def fail(self, key: str | None, reason: str) -> NoReturn:
        raise _invalid(self.file, f"[{self.section}]" + (f" {key}" if key else ""), reason)


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false"}


def _read_toml(config_file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(config_file.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{config_file}: not valid TOML ({err}); fix the file and run again") from None
    except OSError as err:
        raise ConfigError(f"{config_file}: cannot be read ({err.strerror}); check its permissions") from None


def _source(file: Path, table: object) -> tuple[_Reader, SftpSettings | None]:
    """The ``[source]`` section and, for ``kind = "sftp"``, its SFTP settings."""
    source = _Reader(file, "source", table, _SOURCE_KEYS)
    kind = source.get("kind", "local")
    if kind not in SOURCE_KINDS:
        source.fail("kind", f"{kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    if kind == "local":
        stray = [key for key in (*_SFTP_REQUIRED, "port", "root") if source.get(key) is not None]
        if stray:
            source.fail(stray[0], 'is an SFTP setting but kind is "local"; set kind = "sftp" or remove it')
        return source, None
    if source.get("inbox") is not None:
        source.fail("inbox", 'is a local folder but kind is "sftp"; remove it or set kind = "local"')
    missing = [key for key in _SFTP_REQUIRED if source.get(key) is None]
    if missing:
        source.fail(missing[0], f'missing: kind = "sftp" needs {", ".join(_SFTP_REQUIRED)}')
    port = source.get("port", 22)
    if not 0 < port < 65536:
        source.fail("port", f"{port} is not a TCP port (1-65535)")
    return source, SftpSettings(
        host=source.get("host"),
        username=source.get("username"),
        key_file=Path(source.get("key_file")),
        known_hosts=Path(source.get("known_hosts")),
        root=source.get("root", "."),
        port=port,
    )


def _csv_overrides(file: Path, table: object) -> dict[str, tuple[str | None, str | None]]:
    """``[csv."<prefix>"]`` tables: (encoding, delimiter) by path prefix."""
    if not isinstance(table, dict):
        raise _invalid(file, "[csv]", 'must hold tables [csv."<path prefix>"]')
    overrides = {}
    for prefix, options in table.items():
        opts = _Reader(file, f'csv."{prefix}"', options, {"encoding": str, "delimiter": str})
        encoding, delimiter = opts.get("encoding"), opts.get("delimiter")
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError:
                opts.fail("encoding", f'unknown encoding {encoding!r} (e.g. "utf-8", "gb18030")')
        if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
            opts.fail("delimiter", f"must be one character other than a quote or line break, not {delimiter!r}")
        overrides[prefix.rstrip("/") + "/"] = (encoding, delimiter)
    return overrides


def _memory_limit(file: Path, table: object) -> str:
    warehouse = _Reader(file, "warehouse", table, {"memory_limit": str})
    memory_limit: str = warehouse.get("memory_limit", Settings.warehouse_memory_limit)
    if not _MEMORY_LIMIT.fullmatch(memory_limit):
        warehouse.fail("memory_limit", f'{memory_limit!r} is not a size such as "4GB" or "512MiB"')
    return memory_limit


def _checks_and_ceiling(file: Path, checks: object, limits: object) -> tuple[dict[str, int | str], int]:
    """``[checks]`` (names and types of the catalogue's parameters) and ``[limits] max_amount_fen``."""
    defaults = default_params()
    params = dict(_Reader(file, "checks", checks, {name: type(value) for name, value in defaults.items()}).table)
    ceiling_reader = _Reader(file, "limits", limits, {"max_amount_fen": int})
    ceiling: int = ceiling_reader.get("max_amount_fen", MAX_AMOUNT_FEN)
    if not 0 < ceiling <= AMOUNT_CEILING_MAX:
        ceiling_reader.fail("max_amount_fen", f"{ceiling} is not between 1 and {AMOUNT_CEILING_MAX}")
    for name, ppm in {**defaults, **params}.items():
        if name.endswith("_ppm") and isinstance(ppm, int) and not 0 <= ppm * ceiling < 2**63:
            reason = "is negative" if ppm < 0 else f"times [limits] max_amount_fen = {ceiling} overflows 64 bits"
            raise _invalid(file, f"[checks] {name} = {ppm}", reason)
    return params, ceiling


def _nightly(file: Path, table: object) -> tuple[dt.date, dt.time, tuple[str, ...]]:
    """``[nightly]``: the go-live night (a TOML date), the cut-off (a TOML time), the alert command."""
    nightly = _Reader(file, "nightly", table, {"first_night": dt.date, "cutoff": dt.time, "alert_command": list})
    first_night = nightly.get("first_night", DEFAULT_FIRST_NIGHT)
    if isinstance(first_night, dt.datetime):
        nightly.fail("first_night", f"must be a date (e.g. 2026-11-01), not {first_night!r}")
    command = nightly.get("alert_command", [])
    if not all(isinstance(arg, str) and arg for arg in command):
        nightly.fail("alert_command", f"must be a list of non-empty strings (a program and its arguments), not {command!r}")
    return first_night, nightly.get("cutoff", Settings.cutoff), tuple(command)


def _bank_code(file: Path, table: object) -> str | None:
    """``[bank] code``: the bank's own 12-digit CNAPS code, whose financings ``scf pool`` cuts."""
    bank = _Reader(file, "bank", table, {"code": str})
    code: str | None = bank.get("code")
    if code is not None and BANK_CODE.fullmatch(code) is None:
        bank.fail("code", f"{code!r} is not the bank's 12-digit CNAPS code")
    return code


def _findings_engine(file: Path, table: object) -> str:
    """``[findings] engine``: one of :data:`FINDINGS_ENGINES`."""
    findings = _Reader(file, "findings", table, {"engine": str})
    engine: str = findings.get("engine", Settings.findings_engine)
    if engine not in FINDINGS_ENGINES:
        findings.fail("engine", f"{engine!r} is not one of {', '.join(FINDINGS_ENGINES)}")
    return engine


def _store_write(file: Path, table: object) -> bool:
    """``[store] write``: true or false."""
    return bool(_Reader(file, "store", table, {"write": bool}).get("write", Settings.store_write))


def _spark(file: Path, home: Path, table: object) -> SparkSettings:
    """``[spark]``: each key of :class:`engines.config.SparkSettings`, checked as Spark would read it
    (a relative ``local_dir`` is under the home)."""
    spark = _Reader(file, "spark", table, {
        "master": str, "driver_memory": str, "executor_memory": str, "shuffle_partitions": int, "local_dir": str,
        "materialize": str})  # fmt: skip
    defaults = DEFAULT_SPARK
    if not MASTER.fullmatch(master := spark.get("master", defaults.master)):
        spark.fail("master", f'{master!r} is not a Spark master such as "local[2]", "local[*]" or "spark://host:7077"')
    for key in ("driver_memory", "executor_memory"):
        if not JVM_SIZE.fullmatch(size := spark.get(key, getattr(defaults, key))):
            spark.fail(key, f'{size!r} is not a JVM size such as "6g" or "512m"')
        if SparkSettings.memory_mib(size) < MIN_DRIVER_MEMORY_MIB:
            spark.fail(key, f"{size!r} is below the {MIN_DRIVER_MEMORY_MIB}m a Spark JVM needs to start")
    if not 1 <= (partitions := spark.get("shuffle_partitions", defaults.shuffle_partitions)) <= 100_000:
        spark.fail("shuffle_partitions", f"{partitions} is not between 1 and 100000")
    if (materialize := spark.get("materialize", defaults.materialize)) not in MATERIALIZE:
        spark.fail("materialize", f"{materialize!r} is not one of {', '.join(MATERIALIZE)}")
    local_dir = spark.get("local_dir")
    if local_dir == "":
        spark.fail("local_dir", "is empty; remove it for the system temp folder, or name a folder")
    return SparkSettings(master, spark.get("driver_memory", defaults.driver_memory),
                         spark.get("executor_memory", defaults.executor_memory), partitions,
                         None if local_dir is None else home / local_dir, materialize)  # fmt: skip


def _ledger_fields(table: Mapping[str, Any]) -> dict[str, Any]:
    """The [ledger] section as LedgerSettings fields (``*_file`` keys are paths)."""
    return {k: Path(v) if k.endswith("_file") else v for k, v in table.items()}


def load_settings(home: Path | None = None, inbox: Path | None = None) -> Settings:
    """Read and validate ``<home>/scf.toml`` (if present), then apply the environment and the
    explicit overrides; raises :class:`ConfigError` for a configuration that cannot be right."""
    home = (home or Path(os.environ.get("SCF_HOME", DEFAULT_HOME))).resolve()
    config_file = home / CONFIG_FILE
    config = _read_toml(config_file) if config_file.exists() else {}
    unknown = sorted(set(config) - set(SECTIONS))
    if unknown:
        raise _invalid(config_file, f"[{unknown[0]}]", f"unknown section; the sections are {', '.join(SECTIONS)}")
    source, sftp = _source(config_file, config.get("source", {}))
    inbox = inbox or (Path(os.environ["SCF_INBOX"]) if os.environ.get("SCF_INBOX") else None)
    if inbox is not None:
        sftp = None  # an explicit local inbox replaces the configured source
    ledger = _Reader(config_file, "ledger", config.get("ledger", {}), _LEDGER_KEYS)
    if ledger.get("verify_lap_nights", 0) < 0:
        ledger.fail("verify_lap_nights", f"must be a number of nights, or 0 (as many as the lap's entries were signed on), "
                                         f"not {ledger.get('verify_lap_nights')}")
    check_params, max_amount_fen = _checks_and_ceiling(config_file, config.get("checks", {}), config.get("limits", {}))
    return Settings(
        home,
        Path(inbox or source.get("inbox") or home / "inbox").resolve(),
        sftp,
        _csv_overrides(config_file, config.get("csv", {})),
        check_params,
        LedgerSettings(**_ledger_fields(ledger.table)),
        _memory_limit(config_file, config.get("warehouse", {})),
        max_amount_fen,
        *_nightly(config_file, config.get("nightly", {})),
        _bank_code(config_file, config.get("bank", {})),
        _findings_engine(config_file, config.get("findings", {})),
        _store_write(config_file, config.get("store", {})),
        _spark(config_file, home, config.get("spark", {})),
    )
