"""Key files of the ledger: the Ed25519 checkpoint key and the fingerprint HMAC key.

The ledger itself never reads configuration: callers load keys with these helpers and
pass them in.  Keys are created only on purpose (``scf init``): loading never creates
one.  Files are created with mode 0600 inside a 0700 folder.  The HMAC key is never
logged or printed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoint import NoteVerifier, public_bytes

FINGERPRINT_KEY_BYTES = 32


def default_signing_key_path(home: Path) -> Path:
    """``<home>/ledger/keys/signing_key.pem``."""
    return Path(home) / "ledger" / "keys" / "signing_key.pem"


def default_fingerprint_key_path(home: Path) -> Path:
    """``<home>/ledger/keys/fingerprint.key``."""
    return Path(home) / "ledger" / "keys" / "fingerprint.key"


def _create_private_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def default_log_vkey_path(home: Path) -> Path:
    """``<home>/ledger/keys/log.vkey``: the log's verifier key, pinned by ``scf init``."""
    return Path(home) / "ledger" / "keys" / "log.vkey"


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from an unencrypted PEM (PKCS#8) file."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Generate a new Ed25519 key into ``path`` (PEM, mode 0600); refuses if the file exists."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _create_private_file(Path(path), pem)
    return key


def create_fingerprint_key(path: Path) -> bytes:
    """Generate a new HMAC key into ``path`` (hex text, mode 0600); refuses if the file exists."""
    key = secrets.token_bytes(FINGERPRINT_KEY_BYTES)
    _create_private_file(Path(path), key.hex().encode("ascii") + b"\n")
    return key


def load_fingerprint_key(path: Path) -> bytes:
    """The HMAC key at ``path`` (hex text, at least 16 bytes)."""
    path = Path(path)
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path} does not hold a hex fingerprint key") from None
    if len(key) < 16:
        raise ValueError(f"the fingerprint key in {path} is shorter than 16 bytes")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The PEM (SubjectPublicKeyInfo) of a key's public half."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_verifier(spec: str, name: str | None = None) -> NoteVerifier:
    """A verifier from a verifier-key text (``name+id+key``) or a PEM file (public or private).

    A PEM carries no name: ``name`` is then required.
    """
    path = Path(spec)
    if not path.exists():
        return NoteVerifier.from_vkey(spec)
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        public = load_signing_key(path).public_key()
    elif b"PUBLIC KEY" in data:
        loaded = serialization.load_pem_public_key(data)
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError(f"{path} does not hold an Ed25519 public key")
        public = loaded
    else:
        return NoteVerifier.from_vkey(data.decode("ascii"))
    if not name:
        raise ValueError(f"{path} holds a bare key: a key name is needed")
    return NoteVerifier(name, public_bytes(public))
