"""``manifest.json``: what a pool is, every file's SHA-256, the ledger checkpoint, a signature.

The manifest is canonical JSON (sorted keys, UTF-8, no insignificant whitespace beyond the
indent) and is signed with the ledger's Ed25519 key as a C2SP signed note whose body names
the pool and the SHA-256 of the manifest without its ``signature`` member.  So the bank's
one published verifier key checks both its ledger checkpoints and its pools.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ledger.checkpoint import NoteSigner, NoteVerifier, parse_note

NOTE_ORIGIN = "scf-recon pool manifest"


def canonical(doc: dict[str, Any]) -> bytes:
    """The manifest's bytes, without its signature: what is hashed and signed."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")


def _note_body(pool_id: str, doc: dict[str, Any]) -> str:
    return f"{NOTE_ORIGIN}\n{pool_id}\n{hashlib.sha256(canonical(doc)).hexdigest()}\n"


def sign(doc: dict[str, Any], signer: NoteSigner) -> dict[str, Any]:
    """The manifest with its ``signature`` member: the signed note and the verifier key."""
    body = _note_body(doc["pool_id"], doc)
    note = body + "\n" + signer.sign(body).line()
    return {**doc, "signature": {"note": note, "verifier_key": signer.verifier().vkey()}}


def check_signature(doc: dict[str, Any], verifier: NoteVerifier) -> str | None:
    """``None`` when the trusted key signed exactly this manifest, else what is wrong."""
    signature = doc.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("note"), str):
        return "the manifest is not signed"
    try:
        note = parse_note(signature["note"])
    except ValueError as err:
        return f"the manifest's signature is malformed: {err}"
    if note.body != _note_body(str(doc.get("pool_id")), doc):
        return "the manifest does not match its signed hash (it was changed after signing)"
    if not any(verifier.matches(s) and verifier.verify(note.body, s) for s in note.signatures):
        return f"the manifest is not signed by the ledger key {verifier.name}"
    return None


def write(path: Path, doc: dict[str, Any]) -> str:
    """Write the signed manifest; return its SHA-256."""
    data = json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
