"""An engine home's keys and folders: created once by ``scf init``, checked before every use.

``scf init --home H`` creates what the home lacks -- its folders, an ``scf.toml`` template,
the ledger's signing key and fingerprint key -- and pins them: the log's verifier key
(``ledger/keys/log.vkey``) and the fingerprint key's commitment
(``ledger/keys/fingerprint.commitment``).  Nothing else ever creates a key: a night, or a
command that needs a key, refuses to run without it (:func:`ledger_keys`), and a key that
no longer matches its pin is an integrity failure, never silently replaced.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from foundation.errors import ConfigError, IntegrityError
from integration.instance import install_instance_config
from integration.settings import Settings, load_settings
from ledger.checkpoint import CheckpointError, NoteSigner, NoteVerifier
from ledger.fingerprints import key_commitment
from ledger.keys import (
    create_fingerprint_key,
    create_signing_key,
    default_log_vkey_path,
    load_fingerprint_key,
    load_signing_key,
)

FOLDERS = ("inbox", "archive", "ledger/checkpoints", "reports", "logs")
CONFIG_TEMPLATE = """\
# scf-recon configuration of this engine home. Every setting has a default: uncomment to
# override (all settings and their meaning: docs/CONFIGURATION.md).

# [source]
# kind = "local"                       # or "sftp" (host, port, username, key_file, known_hosts, root)
# inbox = "/data/inbox"

# [warehouse]
# memory_limit = "4GB"

# [checks]
# over_value_tolerance_fen = 100

# [limits]
# max_amount_fen = 10000000000000      # plausibility ceiling of one money amount (10^13 fen)

# [bank]
# code = "313521000011"                # the bank's CNAPS code, for `scf pool` (docs/POOLS.md)

# [ledger]
# origin = "scf-recon.local/voucher-ledger"
# signing_key_file = "ledger/keys/signing_key.pem"
# fingerprint_key_file = "ledger/keys/fingerprint.key"
# verify_lap_nights = 0                # the nightly gate re-hashes every older ledger entry once in this many nights (0: auto)
"""


@dataclass(frozen=True)
class LedgerKeys:
    """The keys a night signs and fingerprints with, checked against their pins."""

    signer: NoteSigner
    fingerprint_key: bytes = field(repr=False)


def fingerprint_commitment_path(home: Path) -> Path:
    """``<home>/ledger/keys/fingerprint.commitment``: the pinned commitment to the fingerprint key."""
    return Path(home) / "ledger" / "keys" / "fingerprint.commitment"


def _init_hint(settings: Settings) -> str:
    return f"run `scf init --home {settings.home}`"


def pinned_log_verifier(settings: Settings) -> NoteVerifier:
    """The log key pinned at init (``ledger/keys/log.vkey``)."""
    path = default_log_vkey_path(settings.home)
    if not path.is_file():
        raise ConfigError(f"no pinned log key at {path}: {_init_hint(settings)}")
    try:
        return NoteVerifier.from_vkey(path.read_text(encoding="ascii"))
    except (CheckpointError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"the pinned log key at {path} is unreadable ({exc}): restore it from backup") from None


def ledger_keys(settings: Settings) -> LedgerKeys:
    """Load the signing and fingerprint keys and check them against their pins.

    Raises :class:`ConfigError` when a key or pin is missing (the fix: ``scf init``) and
    :class:`IntegrityError` when a key is not the one pinned.
    """
    ledger = settings.ledger
    signing_path = settings.under_home(ledger.signing_key_file)
    fingerprint_path = settings.under_home(ledger.fingerprint_key_file)
    for what, path in (("signing key", signing_path), ("fingerprint key", fingerprint_path)):
        if not path.is_file():
            raise ConfigError(f"no {what} at {path}: {_init_hint(settings)}")
    try:
        signer = NoteSigner(ledger.signer_name, load_signing_key(signing_path))
    except (ValueError, CheckpointError) as exc:
        raise ConfigError(f"cannot load the signing key at {signing_path}: {exc}") from None
    try:
        fingerprint_key = load_fingerprint_key(fingerprint_path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot load the fingerprint key at {fingerprint_path}: {exc}") from None
    pinned = pinned_log_verifier(settings)
    if signer.verifier() != pinned:
        raise IntegrityError(
            f"the signing key at {signing_path} (key name {signer.name!r}) is not the log key pinned in "
            f"{default_log_vkey_path(settings.home)} ({pinned.name!r}): restore the original key or [ledger] settings"
        )
    commitment_path = fingerprint_commitment_path(settings.home)
    if not commitment_path.is_file():
        raise ConfigError(f"no pinned fingerprint key commitment at {commitment_path}: {_init_hint(settings)}")
    if not hmac.compare_digest(commitment_path.read_text(encoding="ascii").strip(), key_commitment(fingerprint_key)):
        raise IntegrityError(
            f"the fingerprint key at {fingerprint_path} is not the one pinned in {commitment_path}: "
            "restore the original key (fingerprints under another key match neither history nor peer banks)"
        )
    return LedgerKeys(signer, fingerprint_key)


def _write_new(path: Path, text: str, created: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    created.append(path)


def init_home(home: Path | None) -> list[Path]:
    """Create what the engine home lacks (folders, scf.toml template, keys, pins); return it.

    Never replaces a file.  A home whose keys were pinned before but are now missing is
    refused (:class:`IntegrityError`): a new key would not match the ledger's signed
    history nor the fingerprints peer banks hold -- restore the key from backup.  A home
    whose keys predate pinning gets them pinned as they are.
    """
    created: list[Path] = []
    settings = load_settings(home)  # the template holds only comments: the same settings
    if not (settings.home / "scf.toml").exists():
        _write_new(settings.home / "scf.toml", CONFIG_TEMPLATE, created)
    for folder in FOLDERS:
        path = settings.home / folder
        if not path.is_dir():
            path.mkdir(parents=True)
            created.append(path)
    vkey_path = default_log_vkey_path(settings.home)
    commitment_path = fingerprint_commitment_path(settings.home)
    signing_path = settings.under_home(settings.ledger.signing_key_file)
    fingerprint_path = settings.under_home(settings.ledger.fingerprint_key_file)
    for pin, key_path in ((vkey_path, signing_path), (commitment_path, fingerprint_path)):
        if pin.exists() and not key_path.exists():
            raise IntegrityError(
                f"{key_path} is missing but {pin} pins it: restore the key from backup "
                "(a new key would not match what was signed or fingerprinted with the old one)"
            )
    if not signing_path.exists():
        create_signing_key(signing_path)
        created.append(signing_path)
    if not fingerprint_path.exists():
        create_fingerprint_key(fingerprint_path)
        created.append(fingerprint_path)
    if not vkey_path.exists():
        signer = NoteSigner(settings.ledger.signer_name, load_signing_key(signing_path))
        _write_new(vkey_path, signer.verifier().vkey() + "\n", created)
    if not commitment_path.exists():
        _write_new(commitment_path, key_commitment(load_fingerprint_key(fingerprint_path)) + "\n", created)
    ledger_keys(settings)  # what is there now must load and match its pins
    created += filter(None, [install_instance_config(settings.home)])  # the home's Dagster instance (ops)
    return created
