"""Signed checkpoints: the signed-note format, cosigning, quorum, pinned keys, refusals."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import stat

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from foundation.errors import IntegrityError
from ledger.checkpoint import (
    COSIGNATURE_V1_ALG,
    Checkpoint,
    CheckpointError,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    cosign,
    cosignature_time,
    decode_note,
    open_checkpoint,
    parse_note,
    public_bytes,
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
from ledger.merkle import EMPTY_ROOT
from ledger.nightly import ingest_night
from ledger.proofcheck import verify_consistency
from ledger.publish import InconsistentCheckpoint, load_checkpoints, publish_checkpoint
from ledger.schema import ensure_schema
from ledger.store import LedgerStore
from ledger.witness import witness_cosign
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
    banks = [NoteSigner(f"bank{i}.example", Ed25519PrivateKey.generate(), COSIGNATURE_V1_ALG) for i in range(3)]
    witnesses = [b.verifier() for b in banks]
    for bank in banks[:2]:
        note = cosign(note, bank, origin=ORIGIN, log=log.verifier())
    assert cosign(note, banks[0], origin=ORIGIN, log=log.verifier()) == note  # idempotent
    assert len(parse_note(note).signatures) == 3
    open_checkpoint(note, origin=ORIGIN, log=log.verifier(), witnesses=witnesses, quorum=2)
    with pytest.raises(CheckpointError, match="2 cosignatures"):
        open_checkpoint(note, origin=ORIGIN, log=log.verifier(), witnesses=witnesses, quorum=3)
    # an unknown cosigner does not count; a known one with a bad signature is fatal
    stranger = NoteSigner("stranger.example", Ed25519PrivateKey.generate(), COSIGNATURE_V1_ALG)
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


# ---- C2SP tlog-cosignature v1 --------------------------------------------------------------

# A real checkpoint of the staging CT log arche2025h1.staging.ct.transparency.dev as published
# with its witnesses' cosignatures (the first line is the log's RFC 6962 signature, type 0x05,
# which this code does not know and must ignore), and the witnesses' published verifier keys.
REAL_ORIGIN = "arche2025h1.staging.ct.transparency.dev"
REAL_NOTE = f"""{REAL_ORIGIN}
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

\u2014 {REAL_ORIGIN} zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
\u2014 {REAL_ORIGIN} ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
\u2014 transparency.dev/DEV:witness-little-garden \
2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
\u2014 witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
\u2014 remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
\u2014 witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
"""
REAL_LOG_VKEY = f"{REAL_ORIGIN}+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
REAL_WITNESS_VKEYS = [
    "transparency.dev/DEV:witness-little-garden+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM",
    "witness1.smartit.nu/witness1+a48c820f+BPSFWg9G6KPiO7QPryYO5Xq4oYJJ+kAvLKLSimDhoxMO",
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
]


def test_real_witness_cosignatures_are_accepted() -> None:
    log = NoteVerifier.from_vkey(REAL_LOG_VKEY)
    witnesses = [NoteVerifier.from_vkey(v) for v in REAL_WITNESS_VKEYS]
    assert all(w.alg == COSIGNATURE_V1_ALG and w.vkey() == v for w, v in zip(witnesses, REAL_WITNESS_VKEYS, strict=True))
    cp = open_checkpoint(REAL_NOTE, origin=REAL_ORIGIN, log=log, witnesses=witnesses, quorum=3)
    assert cp.size == 1432088532
    note = parse_note(REAL_NOTE)
    assert [cosignature_time(s) for s in note.signatures[2:]] == [1779573024] * 4
    assert signers_of(REAL_NOTE, witnesses) == [w.name for w in witnesses]
    # the cosignature covers the body: another size, or the same key read as a plain 0x01 key, fails
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_checkpoint(REAL_NOTE.replace("1432088532", "1432088533"), origin=REAL_ORIGIN, log=log)
    plain = [NoteVerifier(w.name, w.public_key) for w in witnesses]
    with pytest.raises(CheckpointError, match="0 cosignatures"):
        open_checkpoint(REAL_NOTE, origin=REAL_ORIGIN, log=log, witnesses=plain, quorum=1)


def test_our_cosignature_is_tlog_cosignature_v1() -> None:
    log, note = log_and_checkpoint()
    key = Ed25519PrivateKey.generate()
    bank = NoteSigner("bank.example/witness", key, COSIGNATURE_V1_ALG)
    cosigned = cosign(note, bank, origin=ORIGIN, log=log.verifier(), timestamp=1679315147)
    line = cosigned.splitlines()[-1]
    assert line.startswith("\u2014 bank.example/witness ")
    raw = base64.b64decode(line.split(" ")[2])
    public = public_bytes(key.public_key())
    assert raw[:4] == hashlib.sha256(b"bank.example/witness\n\x04" + public).digest()[:4]
    assert len(raw) == 4 + 8 + 64 and int.from_bytes(raw[4:12], "big") == 1679315147
    body = parse_note(note).body
    # the signed message, checked with the bare Ed25519 primitive (raises if wrong)
    key.public_key().verify(raw[12:], b"cosignature/v1\ntime 1679315147\n" + body.encode())
    vkey = bank.verifier().vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    open_checkpoint(cosigned, origin=ORIGIN, log=log.verifier(), witnesses=[NoteVerifier.from_vkey(vkey)], quorum=1)
    # the timestamp is signed: changing it breaks the cosignature
    forged = base64.b64encode(raw[:4] + (1679315148).to_bytes(8, "big") + raw[12:]).decode()
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_checkpoint(cosigned.replace(line.split(" ")[2], forged), origin=ORIGIN, log=log.verifier(),
                        witnesses=[bank.verifier()])
    too_late = base64.b64encode(raw[:4] + (2**63).to_bytes(8, "big") + raw[12:]).decode()
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_checkpoint(cosigned.replace(line.split(" ")[2], too_late), origin=ORIGIN, log=log.verifier(),
                        witnesses=[bank.verifier()])
    with pytest.raises(CheckpointError, match="0x04"):  # a cosigner never signs a bare 0x01 line
        cosign(note, NoteSigner("bank.example/witness", key), origin=ORIGIN, log=log.verifier())


def test_legacy_cosignatures_count_only_under_a_pinned_legacy_key() -> None:
    """Cosignatures made before v1 (0x01 lines over the bare body) stay verifiable when pinned."""
    log, note = log_and_checkpoint()
    key = Ed25519PrivateKey.generate()
    legacy_signer = NoteSigner("bank2.example", key)
    body = parse_note(note).body
    old_file = note + legacy_signer.sign(body).line()  # what the old `scf ledger cosign` wrote
    legacy_pin, v1_pin = legacy_signer.verifier(), NoteSigner("bank2.example", key, COSIGNATURE_V1_ALG).verifier()
    open_checkpoint(old_file, origin=ORIGIN, log=log.verifier(), witnesses=[legacy_pin], quorum=1)
    with pytest.raises(CheckpointError, match="0 cosignatures"):  # a v1 pin ignores the legacy line
        open_checkpoint(old_file, origin=ORIGIN, log=log.verifier(), witnesses=[v1_pin], quorum=1)
    # cosigning the old file again adds a v1 line; both pins of one key count once
    both = cosign(old_file, NoteSigner("bank2.example", key, COSIGNATURE_V1_ALG), origin=ORIGIN, log=log.verifier())
    assert len(parse_note(both).signatures) == 3
    open_checkpoint(both, origin=ORIGIN, log=log.verifier(), witnesses=[v1_pin], quorum=1)
    with pytest.raises(CheckpointError, match="1 cosignatures"):
        open_checkpoint(both, origin=ORIGIN, log=log.verifier(), witnesses=[legacy_pin, v1_pin], quorum=2)


# ---- forbidden characters (c2sp.org/signed-note) ----------------------------------------


def _raw_signed(signer: NoteSigner, body: str) -> str:
    """A note signed over ``body`` without the signer's own checks (what a hostile log could write)."""
    sig = signer.private_key.sign(body.encode("utf-8"))
    return body + "\n" + NoteSignature(signer.name, signer.verifier().key_id, sig).line()


ROOT_B64 = base64.b64encode(b"\x01" * 32).decode()


@pytest.mark.parametrize("body", [
    f"{ORIGIN}\n12\n{ROOT_B64}\nextension\x01line\n",  # control character in an extension line
    f"{ORIGIN}\n12\n{ROOT_B64}\nextension\ttab\n",
    f"{ORIGIN}\n12\n{ROOT_B64}\r\n",
    f"{ORIGIN}\x00\n12\n{ROOT_B64}\n",
    f"{ORIGIN}\n12\n{ROOT_B64}\n\x1b[31mred\n",
])
def test_notes_with_forbidden_characters_are_refused(body: str) -> None:
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    note = _raw_signed(signer, body)
    with pytest.raises(CheckpointError, match="forbidden control character"):
        open_checkpoint(note, origin=ORIGIN, log=signer.verifier())
    with pytest.raises(CheckpointError, match="forbidden control character"):
        signer.sign(body)
    with pytest.raises(CheckpointError, match="forbidden control character"):
        Checkpoint.parse(body)


def test_forbidden_characters_elsewhere_are_refused() -> None:
    signer, note = log_and_checkpoint()
    open_checkpoint(note + "\u2014 other.example AAAAAAA=\n", origin=ORIGIN, log=signer.verifier())
    with pytest.raises(CheckpointError, match="U\\+0007"):  # in a signature line, even an unknown one
        open_checkpoint(note + "\u2014 other\x07.example AAAAAAA=\n", origin=ORIGIN, log=signer.verifier())
    with pytest.raises(CheckpointError, match="forbidden"):
        Checkpoint(ORIGIN + "\x7f\x08", 1, b"\x00" * 32).body()
    with pytest.raises(CheckpointError, match="UTF-8"):
        decode_note(note.encode() + b"\xff\n")
    with pytest.raises(CheckpointError, match="UTF-8"):
        parse_note(note.replace(ORIGIN, ORIGIN + "\udcff"))
    # an extension line without control characters is still allowed; an empty one is not
    with_extension = f"{ORIGIN}\n12\n{ROOT_B64}\nan extension\n"
    assert open_checkpoint(_raw_signed(signer, with_extension), origin=ORIGIN, log=signer.verifier()).size == 12
    with pytest.raises(CheckpointError):
        open_checkpoint(_raw_signed(signer, f"{ORIGIN}\n12\n{ROOT_B64}\n\nafter a blank line\n"),
                        origin=ORIGIN, log=signer.verifier())


def test_a_note_text_may_hold_blank_lines() -> None:
    """signed-note: the text ends at the *last* blank line (the spec's own example has one)."""
    signer = NoteSigner("quasimodo.example/salvatore", Ed25519PrivateKey.generate())
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n"
    note = Note(text, (signer.sign(text),)).render()
    assert parse_note(note).body == text
    assert signers_of(note, [signer.verifier()]) == [signer.name]


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


def test_a_signed_empty_tree_is_extended_without_a_proof_from_size_0(tmp_path) -> None:
    """RFC 9162 has no consistency proof from size 0: the empty checkpoint is checked by its root."""
    h = Harness(duckdb.connect(), tmp_path / "checkpoints", origin=ORIGIN)
    ensure_schema(h.con)
    signer = NoteSigner(ORIGIN, h.signing_key)
    empty = publish_checkpoint(h.con, checkpoint_dir=h.checkpoint_dir, signer=signer, origin=ORIGIN)
    assert empty.checkpoint.size == 0 and empty.checkpoint.root == EMPTY_ROOT
    assert not verify_consistency(0, 1, EMPTY_ROOT, b"\x02" * 32, [])  # would "prove" any new root
    busy_night(dt.date(2026, 11, 20), 2).load(h.con)
    assert h.run(dt.date(2026, 11, 20)).verified
    assert (h.checkpoint_dir / "10.txt").is_file()
    # a signed "empty" checkpoint with another root is a contradiction, not a prefix
    bad = Harness(duckdb.connect(), tmp_path / "bad", h.signing_key, ORIGIN)
    ensure_schema(bad.con)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "0.txt").write_text(sign_checkpoint(Checkpoint(ORIGIN, 0, b"\x03" * 32), signer))
    busy_night(dt.date(2026, 11, 20), 1).load(bad.con)
    assert ingest_night(bad.con, dt.date(2026, 11, 20), fingerprint_key=b"k" * 32, evidence_window_days=7)["appended"]
    with pytest.raises(InconsistentCheckpoint, match="size 0"):
        publish_checkpoint(bad.con, checkpoint_dir=tmp_path / "bad", signer=signer, origin=ORIGIN)


def test_republishing_keeps_cosignatures(ledger: Harness) -> None:
    path = ledger.checkpoint_dir / "10.txt"
    bank = NoteSigner("bank2.example", Ed25519PrivateKey.generate(), COSIGNATURE_V1_ALG)
    path.write_text(cosign(path.read_text(), bank, origin=ORIGIN, log=ledger.verifier()))
    assert ledger.run(dt.date(2026, 11, 20)).verified
    open_checkpoint(path.read_text(), origin=ORIGIN, log=ledger.verifier(), witnesses=[bank.verifier()], quorum=1)


def test_an_old_checkpoint_with_a_legacy_cosignature_stays_verifiable(ledger: Harness) -> None:
    """A file cosigned before v1 keeps its line through a re-run and still meets a legacy-pinned quorum."""
    path = ledger.checkpoint_dir / "10.txt"
    key = Ed25519PrivateKey.generate()
    legacy = NoteSigner("bank2.example", key)
    path.write_text(path.read_text() + legacy.sign(parse_note(path.read_text()).body).line())
    assert ledger.run(dt.date(2026, 11, 20)).verified  # the nightly re-signs: the old line is kept
    found, problems = load_checkpoints(ledger.con, ledger.checkpoint_dir, origin=ORIGIN, log=ledger.verifier(),
                                       witnesses=[legacy.verifier()], quorum=1)
    assert not problems and [s.checkpoint.size for s in found if s.source.endswith("10.txt")] == [10]
    v1 = NoteSigner("bank2.example", key, COSIGNATURE_V1_ALG).verifier()
    _, problems = load_checkpoints(ledger.con, ledger.checkpoint_dir, origin=ORIGIN, log=ledger.verifier(),
                                   witnesses=[v1], quorum=1)
    assert problems == [f"checkpoint {path}: 0 cosignatures from known keys; 1 required"]


def test_a_witness_cosigns_only_what_extends_its_last_cosignature(ledger: Harness) -> None:
    """The v1 statement ("the largest consistent tree I have seen") is kept true by the cosigner's state."""
    bank = NoteSigner("bank2.example/witness", Ed25519PrivateKey.generate(), COSIGNATURE_V1_ALG)
    log = ledger.verifier()
    ten = (ledger.checkpoint_dir / "10.txt").read_text()
    state = witness_cosign(ten, bank, origin=ORIGIN, log=log, previous=None)  # first use
    busy_night(dt.date(2026, 11, 21), 1, prefix="W").load(ledger.con)
    assert ledger.run(dt.date(2026, 11, 21)).verified
    fifteen = (ledger.checkpoint_dir / "15.txt").read_text()
    proof = LedgerStore(ledger.con).consistency_proof(10, 15)
    with pytest.raises(CheckpointError, match="no valid consistency proof from size 10 to 15"):
        witness_cosign(fifteen, bank, origin=ORIGIN, log=log, previous=state)
    with pytest.raises(CheckpointError, match="no valid consistency proof"):
        witness_cosign(fifteen, bank, origin=ORIGIN, log=log, previous=state, proof=proof[::-1])
    newer = witness_cosign(fifteen, bank, origin=ORIGIN, log=log, previous=state, proof=proof)
    open_checkpoint(newer, origin=ORIGIN, log=log, witnesses=[bank.verifier()], quorum=1)
    with pytest.raises(CheckpointError, match="larger tree"):  # a rollback
        witness_cosign(ten, bank, origin=ORIGIN, log=log, previous=newer)
    other = sign_checkpoint(Checkpoint(ORIGIN, 15, b"\x05" * 32), NoteSigner(ORIGIN, ledger.signing_key))
    with pytest.raises(CheckpointError, match="split view"):
        witness_cosign(other, bank, origin=ORIGIN, log=log, previous=newer)
    assert witness_cosign(newer, bank, origin=ORIGIN, log=log, previous=newer) == newer  # same tree again
    with pytest.raises(CheckpointError, match="state is not a checkpoint it cosigned"):  # a state it never signed
        witness_cosign(fifteen, bank, origin=ORIGIN, log=log, previous=ten)


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
