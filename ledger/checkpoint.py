"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-note envelopes.

A checkpoint body is ``<origin>\\n<tree size>\\n<base64 root>\\n``.  A signed note is the
body, a blank line, then one line per signature::

    — <key name> <base64(key id ‖ signature)>

with key id = the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ type ‖ public key).  A note is
valid UTF-8 with no control character other than newline, anywhere (c2sp.org/signed-note).

Two signature types are spoken (the type byte is part of the key id, so a key's lines say
which one they are):

* ``0x01`` -- Ed25519 over the note text: the *log's* signature.
* ``0x04`` -- ``tlog-cosignature`` v1: a *cosigner* (another bank, a witness) signs
  ``"cosignature/v1\\ntime <unix>\\n" + body`` and the line carries an 8-byte big-endian
  timestamp ‖ the Ed25519 signature.  Every cosignature this code makes is v1.

Cosignatures made before v1 (type 0x01 lines over the bare body by a cosigner's key) stay
verifiable as *legacy* cosignatures, but only by a verifier that pins that cosigner's
0x01 verifier key -- the form the old ``scf ledger cosign`` printed.  A v1 (0x04) pin
never accepts a 0x01 line: the key ids differ, so such a line is simply an unknown signature.

A verifier pins the log's origin and key, and may demand a quorum of cosigners it knows.
Verifier keys are exchanged in the signed-note text form
``<name>+<hex key id>+<base64(type ‖ public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_ALG = 0x01  # signed-note Ed25519: the log's signatures (and legacy cosignatures)
COSIGNATURE_V1_ALG = 0x04  # c2sp.org/tlog-cosignature v1: timestamped Ed25519 cosignatures
SIGNATURE_TYPES = (ED25519_ALG, COSIGNATURE_V1_ALG)
COSIGNATURE_V1_HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
TIMESTAMP_BYTES = 8
SIG_PREFIX = "\u2014 "  # em dash + space
MAX_SIGNATURES = 100
DEFAULT_ORIGIN = "scf-recon.local/voucher-ledger"
"""The checkpoints' origin line (the log's name) unless ``[ledger] origin`` sets another."""
_FORBIDDEN = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII control characters other than newline


class CheckpointError(ValueError):
    """A note or checkpoint is malformed, unsigned, or signed by the wrong keys."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"not base64: {text[:40]!r}") from None


def check_note_text(text: str) -> None:
    """Refuse text a signed note may not hold: invalid UTF-8 or a control character but newline."""
    bad = _FORBIDDEN.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise CheckpointError(f"note line {line} holds the forbidden control character U+{ord(bad.group()):04X}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError("note is not valid UTF-8") from None


def decode_note(data: bytes) -> str:
    """The text of a note file; raises :class:`CheckpointError` unless it is valid UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("note is not valid UTF-8") from None


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise CheckpointError(f"invalid key name {name!r}: no spaces and no '+'")
    check_note_text(name)


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: bytes, alg: int = ED25519_ALG) -> bytes:
    """C2SP key id of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()[:4]


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a tlog-cosignature v1 signs: ``cosignature/v1\\ntime <unix>\\n`` + the note body."""
    return f"{COSIGNATURE_V1_HEADER}time {timestamp}\n{body}".encode()


def cosignature_time(sig: NoteSignature) -> int:
    """The timestamp (seconds since the epoch) a v1 cosignature line carries."""
    if len(sig.signature) != TIMESTAMP_BYTES + 64:
        raise CheckpointError(f"signature of {sig.name} is not a tlog-cosignature v1")
    return int.from_bytes(sig.signature[:TIMESTAMP_BYTES], "big")


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
        check_note_text(self.origin)
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body (non-empty extension lines after the root are allowed and ignored)."""
        check_note_text(body)
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
    """Split a signed note into body and signatures; raises :class:`CheckpointError`.

    The body ends at the note's last blank line (c2sp.org/signed-note); a checkpoint body
    may not hold one (:meth:`Checkpoint.parse`).
    """
    check_note_text(text)
    if not text.endswith("\n"):
        raise CheckpointError("note must end with a newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    body, sig_text = text[: split + 1], text[split + 2 :]
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
    """A named Ed25519 public key that checks note signatures of one type.

    ``alg`` 0x01 checks Ed25519 signatures over the note text (the log; legacy
    cosignatures); 0x04 checks tlog-cosignature v1 lines.
    """

    name: str
    public_key: bytes
    alg: int = ED25519_ALG

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise CheckpointError("an Ed25519 public key is 32 bytes")
        if self.alg not in SIGNATURE_TYPES:
            raise CheckpointError(f"unsupported signature type 0x{self.alg:02x}")

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id."""
        return key_id(self.name, self.public_key, self.alg)

    @property
    def is_cosignature_v1(self) -> bool:
        """True for a tlog-cosignature v1 (type 0x04) key."""
        return self.alg == COSIGNATURE_V1_ALG

    def matches(self, sig: NoteSignature) -> bool:
        """True if the signature line claims to be by this key."""
        return sig.name == self.name and sig.key_id == self.key_id

    def verify(self, body: str, sig: NoteSignature) -> bool:
        """True if ``sig`` is a valid signature of ``body`` by this key."""
        if not self.matches(sig):
            return False
        signature, message = sig.signature, body.encode("utf-8")
        if self.is_cosignature_v1:
            if len(signature) != TIMESTAMP_BYTES + 64:
                return False
            timestamp = cosignature_time(sig)
            if timestamp > MAX_TIMESTAMP:
                return False
            signature, message = signature[TIMESTAMP_BYTES:], cosignature_message(body, timestamp)
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        """The verifier key text ``name+hexid+base64(type ‖ key)``."""
        encoded = base64.b64encode(bytes([self.alg]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        """Parse a verifier key text (type 0x01 or 0x04); the key id in it must be right."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointError("verifier key must be name+keyid+key")
        name, hex_id, b64 = parts
        raw = _b64decode(b64)
        if len(raw) != 33 or raw[0] not in SIGNATURE_TYPES:
            raise CheckpointError("verifier key is not an Ed25519 key of type 0x01 or 0x04")
        verifier = cls(name, raw[1:], raw[0])
        if verifier.key_id.hex() != hex_id.lower():
            raise CheckpointError("verifier key id does not match the key")
        return verifier


@dataclass(frozen=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes (0x01) or cosigns checkpoints (0x04)."""

    name: str
    private_key: Ed25519PrivateKey
    alg: int = ED25519_ALG

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.alg not in SIGNATURE_TYPES:
            raise CheckpointError(f"unsupported signature type 0x{self.alg:02x}")

    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return NoteVerifier(self.name, public_bytes(self.private_key.public_key()), self.alg)

    def sign(self, body: str, *, timestamp: int | None = None) -> NoteSignature:
        """Sign a note body; a v1 cosigner stamps it with ``timestamp`` (default: now)."""
        check_note_text(body)
        if not body.endswith("\n"):
            raise CheckpointError("a note body ends with a newline")
        kid = self.verifier().key_id
        if self.alg != COSIGNATURE_V1_ALG:
            return NoteSignature(self.name, kid, self.private_key.sign(body.encode("utf-8")))
        when = int(time.time()) if timestamp is None else timestamp
        if not 0 <= when <= MAX_TIMESTAMP:
            raise CheckpointError(f"cosignature timestamp {when} is out of range")
        stamp = when.to_bytes(TIMESTAMP_BYTES, "big")
        return NoteSignature(self.name, kid, stamp + self.private_key.sign(cosignature_message(body, when)))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The signed note of a checkpoint."""
    body = checkpoint.body()
    return Note(body, (signer.sign(body),)).render()


def cosign(
    note_text: str, signer: NoteSigner, *, origin: str, log: NoteVerifier, timestamp: int | None = None
) -> str:
    """Add ``signer``'s tlog-cosignature v1 to a checkpoint the pinned log signed.

    The cosigner checks the log's signature and origin first; a note it already cosigned
    is returned unchanged.  ``signer`` must be a v1 (0x04) cosigner: a bare 0x01 line
    would read as a second log signature.
    """
    if signer.alg != COSIGNATURE_V1_ALG:
        raise CheckpointError("a cosigner signs tlog-cosignature v1 (key type 0x04)")
    open_checkpoint(note_text, origin=origin, log=log)
    note = parse_note(note_text)
    mine = signer.verifier()
    if any(mine.verify(note.body, s) for s in note.signatures):
        return note.render()
    others = tuple(s for s in note.signatures if not mine.matches(s))
    return Note(note.body, others + (signer.sign(note.body, timestamp=timestamp),)).render()


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
