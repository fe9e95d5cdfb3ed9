"""The ledger against independent code: Go's ``sumdb/note`` and ``sumdb/tlog`` (x/mod 0.7.0).

Go verifies our signed checkpoints, our tlog-cosignature v1 cosignatures (as
``scf ledger cosign`` writes them) and the proofs ``scf ledger prove`` prints; it computes
the tree, roots and proofs of our entries itself; and it makes a v1 cosignature we must
accept.  Both sides refuse the same malformed inputs: control characters in a note and a
consistency proof from the empty tree.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from integration.home import init_home, ledger_keys
from integration.ledger_cli import ledger_app
from integration.settings import load_settings
from ledger.checkpoint import (
    COSIGNATURE_V1_ALG,
    DEFAULT_ORIGIN,
    CheckpointError,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    parse_note,
)
from ledger.keys import default_log_vkey_path
from ledger.merkle import EMPTY_ROOT
from ledger.proofcheck import verify_consistency, verify_inclusion
from ledger.store import LedgerStore
from tests.interop.gobuild import GoFailed, Interop
from tests.ledger_nights import SAMPLE_DATE, Harness, busy_night, sample_night

runner = CliRunner()
SEED = bytes(range(32))
WHEN = 1764374400  # 2025-11-29T00:00:00Z


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose ledger holds four nights (26 entries) and their signed checkpoints."""
    home = tmp_path_factory.mktemp("interop") / "home"
    init_home(home)
    nights = [sample_night()] + [
        busy_night(SAMPLE_DATE + dt.timedelta(days=day), chains, prefix=f"N{day}")
        for day, chains in ((1, 1), (2, 3), (3, 1))
    ]
    keys = ledger_keys(load_settings(home))
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        log = Harness(con, home / "ledger" / "checkpoints", keys.signer.private_key, DEFAULT_ORIGIN,
                      keys.fingerprint_key)
        for night in nights:
            night.load(con)
            assert log.run(night.business_date).verified
    return home


def log_vkey(home: Path) -> str:
    return default_log_vkey_path(home).read_text(encoding="ascii").strip()


def latest_note(home: Path) -> Path:
    return max((home / "ledger" / "checkpoints").glob("*.txt"), key=lambda p: int(p.stem))


def cli(*args: object) -> str:
    result = runner.invoke(ledger_app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_go_verifies_our_checkpoints_and_cli_cosignatures(home: Path, go_interop: Interop, tmp_path: Path) -> None:
    vkey = log_vkey(home)
    banks = []
    note_path = tmp_path / "cosigned.txt"
    note_path.write_bytes(latest_note(home).read_bytes())
    for i in range(2):
        key_file = tmp_path / f"bank{i}.pem"
        key_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        out = cli("cosign", note_path, "--key", key_file, "--name", f"bank{i}.example/witness", "--home", home)
        banks.append(out.strip().rsplit(" ", 1)[-1])  # the printed v1 verifier key
    for path in sorted((home / "ledger" / "checkpoints").glob("*.txt")):  # every checkpoint the log signed
        got = go_interop.json("open", "-origin", DEFAULT_ORIGIN, "-log", vkey, stdin=path.read_bytes())
        ours = open_checkpoint(path.read_text(), origin=DEFAULT_ORIGIN, log=NoteVerifier.from_vkey(vkey))
        assert (got["size"], base64.b64decode(got["root"])) == (ours.size, ours.root) and got["size"] == int(path.stem)
    args = ["-origin", DEFAULT_ORIGIN, "-log", vkey, "-witness", banks[0], "-witness", banks[1], "-quorum", "2"]
    got = go_interop.json("open", *args, stdin=note_path.read_bytes())
    assert got["signers"] == [DEFAULT_ORIGIN, "bank0.example/witness", "bank1.example/witness"]
    assert set(got["times"]) == {"bank0.example/witness", "bank1.example/witness"}
    # a cosignature over another body is refused by Go too
    tampered = note_path.read_text().replace(f"\n{got['size']}\n", f"\n{got['size'] + 1}\n")
    with pytest.raises(GoFailed, match="invalid signature|verification"):
        go_interop.run("open", *args, stdin=tampered)


def test_a_stateful_cli_cosigner_follows_the_log_with_proofs(home: Path, go_interop: Interop, tmp_path: Path) -> None:
    """`scf ledger cosign --state --proof` cosigns each checkpoint in turn, as a C2SP witness does."""
    key_file = tmp_path / "witness.pem"
    key_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    state, vkey = tmp_path / "state" / "last.txt", ""
    sizes = sorted(int(p.stem) for p in (home / "ledger" / "checkpoints").glob("*.txt"))
    assert len(sizes) >= 3
    previous = None
    for size in sizes:
        note, proof = home / "ledger" / "checkpoints" / f"{size}.txt", tmp_path / f"proof{size}.json"
        extra: list[object] = []
        if previous is not None:
            proof.write_text(cli("prove", "0", "--home", home, "--size", size, "--old-size", previous))
            extra = ["--proof", proof]
        out = cli("cosign", note, "--key", key_file, "--name", "w.example/w", "--home", home, "--state", state,
                  "--out", tmp_path / f"cosigned{size}.txt", *extra)
        vkey, previous = out.strip().rsplit(" ", 1)[-1], size
        assert state.read_text() == (tmp_path / f"cosigned{size}.txt").read_text()
        go_interop.run("open", "-origin", DEFAULT_ORIGIN, "-log", log_vkey(home), "-witness", vkey, "-quorum", "1",
                       stdin=state.read_bytes())
    first = home / "ledger" / "checkpoints" / f"{sizes[0]}.txt"
    result = runner.invoke(ledger_app, ["cosign", str(first), "--key", str(key_file), "--name", "w.example/w",
                                        "--home", str(home), "--state", str(state), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "already cosigned a larger tree" in result.output
    assert not (tmp_path / "x").exists()


def test_we_accept_a_cosignature_made_by_go(home: Path, go_interop: Interop) -> None:
    vkey = log_vkey(home)
    note = latest_note(home).read_text()
    go_vkey = go_interop.run("vkey", "-name", "witness.example/go", "-seed", SEED.hex()).strip()
    ours = NoteSigner("witness.example/go", Ed25519PrivateKey.from_private_bytes(SEED), COSIGNATURE_V1_ALG)
    assert go_vkey == ours.verifier().vkey()  # same key id, same vkey encoding (type 0x04)
    cosigned = go_interop.run("cosign", "-origin", DEFAULT_ORIGIN, "-log", vkey, "-name", "witness.example/go",
                              "-seed", SEED.hex(), "-time", str(WHEN), stdin=note)
    witness = NoteVerifier.from_vkey(go_vkey)
    checkpoint = open_checkpoint(cosigned, origin=DEFAULT_ORIGIN, log=NoteVerifier.from_vkey(vkey),
                                 witnesses=[witness], quorum=1)
    assert checkpoint.size == int(latest_note(home).stem)
    go_line = parse_note(cosigned).signatures[-1]
    assert go_line.signature[:8] == WHEN.to_bytes(8, "big")
    # Ed25519 is deterministic: our own v1 signer makes the very same line at the same time
    assert ours.sign(parse_note(note).body, timestamp=WHEN) == go_line
    # a legacy (0x01) pin of the same key does not accept Go's v1 line
    with pytest.raises(CheckpointError, match="0 cosignatures"):
        open_checkpoint(cosigned, origin=DEFAULT_ORIGIN, log=NoteVerifier.from_vkey(vkey),
                        witnesses=[NoteVerifier(witness.name, witness.public_key)], quorum=1)


@pytest.mark.parametrize("extension", ["ext\x01line", "tab\there", "carriage\r", "esc\x1b[0m"])
def test_go_and_we_refuse_the_same_forbidden_characters(home: Path, go_interop: Interop, extension: str) -> None:
    keys = ledger_keys(load_settings(home))
    body = parse_note(latest_note(home).read_text()).body
    signer = keys.signer
    for text, allowed in ((body + "a fine extension\n", True), (body + extension + "\n", False)):
        raw = signer.private_key.sign(text.encode("utf-8"))  # signed without our own checks
        note = text + "\n" + NoteSignature(signer.name, signer.verifier().key_id, raw).line()
        if allowed:
            go_interop.run("open", "-origin", DEFAULT_ORIGIN, "-log", log_vkey(home), stdin=note)
            open_checkpoint(note, origin=DEFAULT_ORIGIN, log=signer.verifier())
            continue
        with pytest.raises(GoFailed, match="malformed"):
            go_interop.run("open", "-origin", DEFAULT_ORIGIN, "-log", log_vkey(home), stdin=note)
        with pytest.raises(CheckpointError, match="forbidden control character"):
            open_checkpoint(note, origin=DEFAULT_ORIGIN, log=signer.verifier())


def test_go_checks_the_proofs_scf_ledger_prove_prints(home: Path, go_interop: Interop) -> None:
    size = int(latest_note(home).stem)
    for old in sorted({1, 2, 3, 4, 5, 7, 8, 9, 16, size - 1, size}):  # powers of two, odd sizes, ends
        out = cli("prove", "V3f9a1c2b4d5e6f71", "--home", home, "--old-size", old)
        assert go_interop.run("check", stdin=out).strip() == "ok"
    proof = json.loads(out)
    proof["inclusion"][0]["proof"][0] = b64(b"\x00" * 32)
    with pytest.raises(GoFailed, match="CheckRecord"):
        go_interop.run("check", stdin=json.dumps(proof))


def test_go_and_we_refuse_a_consistency_proof_from_the_empty_tree(home: Path, go_interop: Interop) -> None:
    out = json.loads(cli("prove", "V3f9a1c2b4d5e6f71", "--home", home, "--old-size", 1))
    root = base64.b64decode(out["root"])
    empty = EMPTY_ROOT
    out["consistency"] = {"old_size": 0, "old_root": b64(empty), "proof": []}
    with pytest.raises(GoFailed, match="CheckTree"):
        go_interop.run("check", stdin=json.dumps(out))
    assert not verify_consistency(0, out["tree_size"], empty, root, [])
    result = runner.invoke(ledger_app, ["prove", "V3f9a1c2b4d5e6f71", "--home", str(home), "--old-size", "0"])
    assert result.exit_code == 2 and "--old-size must be between 1" in result.output


def test_go_computes_the_same_tree_roots_and_proofs(home: Path, go_interop: Interop) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        store = LedgerStore(con)
        size = store.head().size
        entries = [store.entry_bytes(seq)[0] for seq in range(size)]  # type: ignore[index]
        inclusion = [(i, n) for n in range(1, size + 1) for i in range(n)]
        consistency = [(m, n) for n in range(1, size + 1) for m in range(1, n)]
        go = go_interop.json("tree", stdin=json.dumps({
            "entries": [b64(e) for e in entries], "inclusion": inclusion, "consistency": consistency}))
        roots = {n: store.root_at(n) for n in range(1, size + 1)}
        assert {int(n): base64.b64decode(r) for n, r in go["roots"].items()} == roots
        leaves = [store.entry_bytes(seq)[1] for seq in range(size)]  # type: ignore[index]
        for (i, n), proof in zip(inclusion, go["inclusion"], strict=True):
            path = [base64.b64decode(p) for p in proof or []]
            assert verify_inclusion(leaves[i], i, n, path, roots[n]), (i, n)
            if n in (size, size - 1, 16, 5):  # and the very proofs our store hands out
                assert path == store.inclusion_proof(i, n), (i, n)
        for (m, n), proof in zip(consistency, go["consistency"], strict=True):
            path = [base64.b64decode(p) for p in proof or []]
            assert verify_consistency(m, n, roots[m], roots[n], path), (m, n)
            if n in (size, 16):
                assert path == store.consistency_proof(m, n), (m, n)
    finally:
        con.close()
