"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-note envelopes.

A checkpoint body is ``<origin>\\n<tree size>\\n<base64 root>\\n``.  A signed note is the
body, a blank line, then one line per signature::

    — <key name> <base64(key id ‖ Ed25519 signature over the body)>

with key id = the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key).  The log
signs; other banks *cosign* by adding their own line over the same body.  A verifier pins
the log's origin and key, and may demand a quorum of cosigners it knows.

Verifier keys are exchanged in the signed-note text form
``<name>+<hex key id>+<base64(0x01 ‖ public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_ALG = 0x01
SIG_PREFIX = "\u2014 "  # em dash + space
MAX_SIGNATURES = 100


class CheckpointError(ValueError):
    """A note or checkpoint is malformed, unsigned, or signed by the wrong keys."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"not base64: {text[:40]!r}") from None


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise CheckpointError(f"invalid key name {name!r}: no spaces and no '+'")


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP key id of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519_ALG]) + public_key).digest()[:4]


# --------------------------------------------------------------------------------------
# Checkpoint bodies
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The note text of this checkpoint."""
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be one non-empty line")
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body (extension lines after the root are allowed and ignored)."""
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3 or any(not line for line in lines):
            raise CheckpointError("checkpoint body needs origin, size and root on non-empty lines")
        origin, size_text, root_text = lines[:3]
        if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
            raise CheckpointError(f"bad tree size {size_text!r}")
        root = _b64decode(root_text)
        if len(root) != 32:
            raise CheckpointError("root hash must be 32 bytes")
        return cls(origin, int(size_text), root)


# --------------------------------------------------------------------------------------
# Signed notes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line, newline included."""
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(self.key_id + self.signature).decode('ascii')}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note: its text (body) and signature lines, in order."""

    body: str
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        """The note as text."""
        return self.body + "\n" + "".join(s.line() for s in self.signatures)


def parse_note(text: str) -> Note:
    """Split a signed note into body and signatures; raises :class:`CheckpointError`."""
    if not text.endswith("\n"):
        raise CheckpointError("note must end with a newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    body, sig_text = text[: split + 1], text[split + 2 :]
    if "\n\n" in body:
        raise CheckpointError("note body contains a blank line")
    sigs = []
    for line in sig_text[:-1].split("\n") if sig_text else []:
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError(f"malformed signature line {line[:40]!r}")
        name, sep, b64 = line[len(SIG_PREFIX) :].partition(" ")
        _check_name(name)
        raw = _b64decode(b64) if sep else b""
        if len(raw) < 5:
            raise CheckpointError(f"signature of {name} is too short")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    if not sigs:
        raise CheckpointError("note has no signatures")
    if len(sigs) > MAX_SIGNATURES:
        raise CheckpointError("too many signatures")
    return Note(body, tuple(sigs))


@dataclass(frozen=True)
class NoteVerifier:
    """A named Ed25519 public key that checks note signatures."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise CheckpointError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id."""
        return key_id(self.name, self.public_key)

    def matches(self, sig: NoteSignature) -> bool:
        """True if the signature line claims to be by this key."""
        return sig.name == self.name and sig.key_id == self.key_id

    def verify(self, body: str, sig: NoteSignature) -> bool:
        """True if ``sig`` is a valid signature of ``body`` by this key."""
        if not self.matches(sig):
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(sig.signature, body.encode("utf-8"))
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        """The verifier key text ``name+hexid+base64(0x01 ‖ key)``."""
        encoded = base64.b64encode(bytes([ED25519_ALG]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        """Parse a verifier key text; the key id in it must be right."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointError("verifier key must be name+keyid+key")
        name, hex_id, b64 = parts
        raw = _b64decode(b64)
        if len(raw) != 33 or raw[0] != ED25519_ALG:
            raise CheckpointError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise CheckpointError("verifier key id does not match the key")
        return verifier


@dataclass(frozen=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return NoteVerifier(self.name, public_bytes(self.private_key.public_key()))

    def sign(self, body: str) -> NoteSignature:
        """Sign a note body."""
        return NoteSignature(self.name, self.verifier().key_id, self.private_key.sign(body.encode("utf-8")))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The signed note of a checkpoint."""
    body = checkpoint.body()
    return Note(body, (signer.sign(body),)).render()


def cosign(note_text: str, signer: NoteSigner, *, origin: str, log: NoteVerifier) -> str:
    """Add ``signer``'s signature to a checkpoint the pinned log signed.

    The cosigner checks the log's signature and origin first; signing twice is a no-op.
    """
    open_checkpoint(note_text, origin=origin, log=log)
    note = parse_note(note_text)
    mine = signer.verifier()
    if any(mine.verify(note.body, s) for s in note.signatures):
        return note.render()
    others = tuple(s for s in note.signatures if not mine.matches(s))
    return Note(note.body, others + (signer.sign(note.body),)).render()


def merge_signatures(existing_text: str, new_text: str) -> str:
    """One note with the signatures of both (same body), each key once, in first-seen order."""
    a, b = parse_note(existing_text), parse_note(new_text)
    if a.body != b.body:
        raise CheckpointError("cannot merge notes with different bodies")
    seen: dict[tuple[str, bytes], NoteSignature] = {}
    for s in a.signatures + b.signatures:
        seen.setdefault((s.name, s.key_id), s)
    return Note(a.body, tuple(seen.values())).render()


def open_checkpoint(
    note_text: str,
    *,
    origin: str,
    log: NoteVerifier,
    witnesses: Sequence[NoteVerifier] = (),
    quorum: int = 0,
) -> Checkpoint:
    """Verify a signed checkpoint against a pinned origin and log key, and a cosigner quorum.

    Raises :class:`CheckpointError` unless the note is well formed, its origin is
    ``origin``, the log's key signed it, no known key's signature is invalid, and at
    least ``quorum`` distinct ``witnesses`` cosigned it.
    """
    note = parse_note(note_text)
    checkpoint = Checkpoint.parse(note.body)
    if checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not the pinned {origin!r}")
    known = [log, *witnesses]
    valid: set[bytes] = set()
    for sig in note.signatures:
        for verifier in known:
            if verifier.matches(sig):
                if not verifier.verify(note.body, sig):
                    raise CheckpointError(f"invalid signature by {sig.name}")
                valid.add(verifier.public_key)
    if log.public_key not in valid:
        raise CheckpointError(f"checkpoint is not signed by the pinned log key {log.name}")
    cosigners = {w.public_key for w in witnesses if w.public_key != log.public_key} & valid
    if len(cosigners) < quorum:
        raise CheckpointError(f"{len(cosigners)} cosignatures from known keys; {quorum} required")
    return checkpoint


def signers_of(note_text: str, verifiers: Iterable[NoteVerifier]) -> list[str]:
    """Names of the given keys that validly signed the note."""
    note = parse_note(note_text)
    return [v.name for v in verifiers if any(v.verify(note.body, s) for s in note.signatures)]
