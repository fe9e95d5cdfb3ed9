"""Signed checkpoints: the signed-note format, cosigning, quorum, pinned keys, refusals."""

from __future__ import annotations

import base64
import datetime as dt
import stat

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.errors import IntegrityError
from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    cosign,
    open_checkpoint,
    parse_note,
    sign_checkpoint,
    signers_of,
)
from ledger.keys import (
    create_fingerprint_key,
    create_signing_key,
    load_fingerprint_key,
    load_signing_key,
    load_verifier,
    public_key_pem,
)
from ledger.nightly import ingest_night
from ledger.publish import InconsistentCheckpoint, publish_checkpoint
from ledger.schema import ensure_schema
from tests.ledger_nights import Harness, busy_night

# golang.org/x/mod/sumdb/note (note_test.go) and c2sp.org/signed-note published vectors
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
ORIGIN = "bank.example/voucher-ledger"


def go_signer() -> NoteSigner:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert seed[0] == 1
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


def test_known_answer_of_the_go_note_package() -> None:
    signer = go_signer()
    assert signer.verifier().vkey() == GO_VKEY
    assert signer.sign(GO_TEXT).line() == PETER_SIG  # Ed25519 is deterministic
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    verifiers = [NoteVerifier.from_vkey(GO_VKEY), NoteVerifier.from_vkey(ENOCH_VKEY)]
    assert signers_of(note, verifiers) == ["PeterNeumann", "EnochRoot"]
    assert signers_of(note.replace("cryptography", "cryptographY"), verifiers) == []


def test_spec_example_note_verifies() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    note = parse_note(SPEC_NOTE)
    assert note.body == "This is an example message.\n"
    assert verifier.verify(note.body, note.signatures[0])
    with pytest.raises(CheckpointError):
        NoteVerifier.from_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))


def log_and_checkpoint(size: int = 12, root: bytes = b"\x01" * 32) -> tuple[NoteSigner, str]:
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    return signer, sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)


def test_checkpoint_format_and_open() -> None:
    signer, note = log_and_checkpoint()
    body, sig = note.split("\n\n")
    root_b64 = base64.b64encode(b"\x01" * 32).decode()
    assert body == f"{ORIGIN}\n12\n{root_b64}"
    assert sig.startswith(f"\u2014 {ORIGIN} ") and sig.endswith("=\n")
    raw = base64.b64decode(sig.split(" ")[2])
    assert raw[:4] == signer.verifier().key_id and len(raw) == 4 + 64
    cp = open_checkpoint(note, origin=ORIGIN, log=signer.verifier())
    assert cp == Checkpoint(ORIGIN, 12, b"\x01" * 32)


def test_pinned_origin_and_key() -> None:
    signer, note = log_and_checkpoint()
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(note, origin="other.example/log", log=signer.verifier())
    impostor = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="pinned log key"):
        open_checkpoint(note, origin=ORIGIN, log=impostor.verifier())
    forged = note.replace("\n12\n", "\n13\n")
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_checkpoint(forged, origin=ORIGIN, log=signer.verifier())


def test_cosign_and_quorum() -> None:
    log, note = log_and_checkpoint()
    banks = [NoteSigner(f"bank{i}.example", Ed25519PrivateKey.generate()) for i in range(3)]
    witnesses = [b.verifier() for b in banks]
    for bank in banks[:2]:
        note = cosign(note, bank, origin=ORIGIN, log=log.verifier())
    assert cosign(note, banks[0], origin=ORIGIN, log=log.verifier()) == note  # idempotent
    assert len(parse_note(note).signatures) == 3
    open_checkpoint(note, origin=ORIGIN, log=log.verifier(), witnesses=witnesses, quorum=2)
    with pytest.raises(CheckpointError, match="2 cosignatures"):
        open_checkpoint(note, origin=ORIGIN, log=log.verifier(), witnesses=witnesses, quorum=3)
    # an unknown cosigner does not count; a known one with a bad signature is fatal
    stranger = NoteSigner("stranger.example", Ed25519PrivateKey.generate())
    with_stranger = cosign(note, stranger, origin=ORIGIN, log=log.verifier())
    with pytest.raises(CheckpointError):
        open_checkpoint(with_stranger, origin=ORIGIN, log=log.verifier(), witnesses=witnesses, quorum=3)
    lines = note.splitlines(keepends=True)
    bad = lines[-1][:-10] + ("A" if lines[-1][-10] != "A" else "B") + lines[-1][-9:]
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_checkpoint("".join(lines[:-1]) + bad, origin=ORIGIN, log=log.verifier(), witnesses=witnesses)
    # a cosigner checks the log's signature first
    impostor = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError):
        cosign(sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x02" * 32), impostor), banks[2], origin=ORIGIN,
               log=log.verifier())


@pytest.mark.parametrize("text", [
    "origin\n12\nAQ==\n",  # root too short
    "origin\n012\n" + base64.b64encode(b"x" * 32).decode() + "\n",  # leading zero
    "origin\n12\n" + base64.b64encode(b"x" * 32).decode(),  # no final newline
    "origin\n\n" + base64.b64encode(b"x" * 32).decode() + "\n",
    "origin\n-1\n" + base64.b64encode(b"x" * 32).decode() + "\n",
])
def test_malformed_checkpoint_bodies(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_malformed_notes() -> None:
    _, note = log_and_checkpoint()
    for bad in (note[:-1], note.replace("\n\n", "\n"), note + "junk\n", note.replace("\u2014", "--")):
        with pytest.raises(CheckpointError):
            parse_note(bad)


# ---- refusing to sign an inconsistent checkpoint ---------------------------------------


@pytest.fixture
def ledger(tmp_path) -> Harness:
    h = Harness(duckdb.connect(), tmp_path / "checkpoints", origin=ORIGIN)
    busy_night(dt.date(2026, 11, 20), 2).load(h.con)
    assert h.run(dt.date(2026, 11, 20)).verified
    return h


def test_refuses_a_rewritten_history(ledger: Harness) -> None:
    other = Harness(duckdb.connect(), ledger.checkpoint_dir, ledger.signing_key, ORIGIN)
    busy_night(dt.date(2026, 11, 20), 3, prefix="X").load(other.con)  # 15 entries, another history
    with pytest.raises(IntegrityError, match="size 10"):  # the nightly sees at once it does not hold checkpoint 10
        other.run(dt.date(2026, 11, 20))
    assert ingest_night(other.con, dt.date(2026, 11, 20), fingerprint_key=b"k" * 32, evidence_window_days=7)["appended"] == 15
    with pytest.raises(InconsistentCheckpoint, match="does not extend the checkpoint of size 10"):
        publish_checkpoint(other.con, checkpoint_dir=ledger.checkpoint_dir,
                           signer=NoteSigner(ORIGIN, ledger.signing_key), origin=ORIGIN)
    assert not (ledger.checkpoint_dir / "15.txt").exists()


def test_refuses_same_size_other_root_and_shrinking(ledger: Harness) -> None:
    signer = NoteSigner(ORIGIN, ledger.signing_key)
    other = duckdb.connect()
    busy_night(dt.date(2026, 11, 20), 2, prefix="Y").load(other)
    assert ingest_night(other, dt.date(2026, 11, 20), fingerprint_key=b"k" * 32, evidence_window_days=7)["appended"] == 10
    with pytest.raises(InconsistentCheckpoint, match="another root"):
        publish_checkpoint(other, checkpoint_dir=ledger.checkpoint_dir, signer=signer, origin=ORIGIN)
    empty = duckdb.connect()
    ensure_schema(empty)
    with pytest.raises(InconsistentCheckpoint, match="only 0 entries"):
        publish_checkpoint(empty, checkpoint_dir=ledger.checkpoint_dir, signer=signer, origin=ORIGIN)


def test_republishing_keeps_cosignatures(ledger: Harness) -> None:
    path = ledger.checkpoint_dir / "10.txt"
    bank = NoteSigner("bank2.example", Ed25519PrivateKey.generate())
    path.write_text(cosign(path.read_text(), bank, origin=ORIGIN, log=ledger.verifier()))
    assert ledger.run(dt.date(2026, 11, 20)).verified
    open_checkpoint(path.read_text(), origin=ORIGIN, log=ledger.verifier(), witnesses=[bank.verifier()], quorum=1)


# ---- key files --------------------------------------------------------------------------


def test_key_files(tmp_path, caplog) -> None:
    key_path = tmp_path / "keys" / "signing_key.pem"
    key = create_signing_key(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    again = load_signing_key(key_path)
    assert public_key_pem(again) == public_key_pem(key)
    with pytest.raises(FileExistsError):  # a key is never replaced
        create_signing_key(key_path)
    fp_path = tmp_path / "keys" / "fingerprint.key"
    secret = create_fingerprint_key(fp_path)
    assert len(secret) == 32 and load_fingerprint_key(fp_path) == secret
    with pytest.raises(FileExistsError):
        create_fingerprint_key(fp_path)
    assert stat.S_IMODE(fp_path.stat().st_mode) == 0o600
    pub = tmp_path / "log.pub"
    pub.write_bytes(public_key_pem(key))
    expected = NoteSigner("log.example", key).verifier()
    assert load_verifier(str(pub), "log.example") == expected
    assert load_verifier(str(key_path), "log.example") == expected
    assert load_verifier(expected.vkey()) == expected
    assert secret.hex() not in caplog.text
