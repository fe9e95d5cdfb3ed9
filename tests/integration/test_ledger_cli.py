"""``scf ledger …`` commands on a small warehouse in a temporary home."""

from __future__ import annotations

import base64
import datetime as dt
import json

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from integration.home import init_home, ledger_keys
from integration.ledger_cli import ledger_app
from integration.settings import load_settings
from ledger.checkpoint import DEFAULT_ORIGIN, NoteSigner
from ledger.keys import create_signing_key, default_signing_key_path, load_signing_key, public_key_pem
from ledger.proofcheck import verify_consistency, verify_inclusion
from tests.ledger_nights import SAMPLE_DATE, Harness, NightRows, busy_night, sample_night

runner = CliRunner()
V1 = "V3f9a1c2b4d5e6f71"


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    init_home(home)
    keys = ledger_keys(load_settings(home))
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    h = Harness(con, home / "ledger" / "checkpoints", keys.signer.private_key, DEFAULT_ORIGIN, keys.fingerprint_key)
    sample_night().load(con)
    assert h.run(SAMPLE_DATE).verified
    day2 = SAMPLE_DATE + dt.timedelta(days=1)
    busy_night(day2, 1).load(con)
    assert h.run(day2).verified  # tree of 10 entries, checkpoints 5 and 10
    con.close()
    return home


def run(*args: str):
    return runner.invoke(ledger_app, [str(a) for a in args])


def test_verify_ok(home) -> None:
    result = run("verify", "--home", home)
    assert result.exit_code == 0, result.output
    assert "OK: entries 0..9 verified" in result.output and "checkpoints matched: 5, 10" in result.output
    result = run("verify", "--home", home, "--since", 5, "--nodes", "--state")
    assert result.exit_code == 0, result.output
    assert "entries 5..9" in result.output and "voucher states: 4 match" in result.output
    assert "voucher families: the kept links match" in result.output
    assert "input digests: the kept digests match the input rows" in result.output


def test_verify_state_names_input_rows_rewritten_in_place(home) -> None:
    """Rows rewritten with as many rows, not by the loader: the next night would trust the kept digest; verify does not."""
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("UPDATE voucher_events SET amount_fen = amount_fen + 1 WHERE business_date = ?", [SAMPLE_DATE])
    con.close()
    result = run("verify", "--home", home, "--state")
    assert result.exit_code == 1
    assert f"input digest: voucher_events of {SAMPLE_DATE}: kept " in result.output
    assert "the rows up to it give" in result.output


def test_verify_state_names_a_kept_family_link_that_the_events_do_not_give(home) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("UPDATE ledger_family_links SET family_id = 'V-forged' WHERE rowid = (SELECT min(rowid) FROM ledger_family_links)")
    con.close()
    result = run("verify", "--home", home, "--state")
    assert result.exit_code == 1
    assert "kept V-forged, rebuilt from the events" in result.output


def test_verify_names_the_first_bad_entry(home) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    raw = bytearray(con.execute("SELECT entry FROM ledger_entries WHERE seq = 2").fetchall()[0][0])
    raw[-2] ^= 1
    con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = 2", [bytes(raw)])
    con.close()
    result = run("verify", "--home", home)
    assert result.exit_code == 1
    assert "first bad entry: seq 2" in result.output


def test_verify_pins_the_log_key(home, tmp_path) -> None:
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(public_key_pem(Ed25519PrivateKey.generate()))
    result = run("verify", "--home", home, "--log-key", stranger, "--key-name", DEFAULT_ORIGIN)
    assert result.exit_code == 1 and "not signed by the pinned log key" in result.output
    pub = tmp_path / "log.pub"
    pub.write_bytes(public_key_pem(load_signing_key(default_signing_key_path(home))))
    assert run("verify", "--home", home, "--log-key", pub).exit_code == 0


def test_prove_entries_of_a_voucher_and_consistency(home) -> None:
    result = run("prove", V1, "--home", home, "--old-size", 5)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["tree_size"] == 10 and out["checkpoint"].startswith(DEFAULT_ORIGIN + "\n10\n")
    root = base64.b64decode(out["root"])
    assert [p["seq"] for p in out["inclusion"]] == [1, 2, 3, 4]
    for p in out["inclusion"]:  # re-checked here from the JSON alone
        proof = [base64.b64decode(x) for x in p["proof"]]
        assert verify_inclusion(base64.b64decode(p["leaf_hash"]), p["seq"], 10, proof, root)
    c = out["consistency"]
    assert verify_consistency(5, 10, base64.b64decode(c["old_root"]), root, [base64.b64decode(x) for x in c["proof"]])
    assert json.loads(run("prove", "EV000003", "--home", home, "--size", 4).output)["inclusion"][0]["seq"] == 2
    assert run("prove", "nothing-here", "--home", home).exit_code == 2


def test_checkpoint_and_cosign(home, tmp_path) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    day3 = SAMPLE_DATE + dt.timedelta(days=2)
    NightRows(day3).load(con)
    busy_night(day3, 1, prefix="Z").load(con)
    from ledger.nightly import ingest_night

    ingest_night(con, day3, fingerprint_key=b"k" * 32, evidence_window_days=7)
    con.close()
    result = run("checkpoint", "--home", home)
    assert result.exit_code == 0, result.output
    note_path = home / "ledger" / "checkpoints" / "15.txt"
    assert note_path.exists()
    bank_key = tmp_path / "bank2.pem"
    create_signing_key(bank_key)
    result = run("cosign", note_path, "--key", bank_key, "--name", "bank2.example", "--home", home)
    assert result.exit_code == 0, result.output
    vkey = result.output.split("verifier key ")[1].split()[0]
    assert vkey.startswith("bank2.example+")
    assert run("verify", "--home", home, "--witness", vkey, "--quorum", 1).exit_code == 1  # 5 and 10 lack it
    for size in (5, 10):
        assert run("cosign", home / "ledger" / "checkpoints" / f"{size}.txt", "--key", bank_key,
                   "--name", "bank2.example", "--home", home).exit_code == 0
    assert run("verify", "--home", home, "--witness", vkey, "--quorum", 1).exit_code == 0
    assert run("verify", "--home", home, "--witness", vkey, "--quorum", 2).exit_code == 1
    # checkpoint again: same size, the cosignature stays
    assert run("checkpoint", "--home", home).exit_code == 0
    assert "bank2.example" in note_path.read_text()


def test_cosign_refuses_a_note_the_log_did_not_sign(home, tmp_path) -> None:
    note_path = home / "ledger" / "checkpoints" / "10.txt"
    other = NoteSigner(DEFAULT_ORIGIN, Ed25519PrivateKey.generate())
    body = note_path.read_text().split("\n\n")[0] + "\n"
    fake = tmp_path / "fake.txt"
    fake.write_text(body + "\n" + other.sign(body).line())
    create_signing_key(tmp_path / "b.pem")
    result = run("cosign", fake, "--key", tmp_path / "b.pem", "--name", "bank2.example", "--home", home)
    assert result.exit_code == 1 and "refused" in result.output


def test_lineage(home) -> None:
    result = run("lineage", V1, "--home", home)
    assert result.exit_code == 0, result.output
    assert "tier 2" in result.output and "F202611200001" in result.output
    data = json.loads(run("lineage", V1, "--home", home, "--json").output)
    assert [s["event_type"] for s in data["steps"]] == ["ISSUE", "SPLIT", "TRANSFER", "FINANCE"]
    assert run("lineage", "V-none", "--home", home).exit_code == 2


def test_export_fingerprints_and_missing_home(home, tmp_path) -> None:
    out = tmp_path / "fps.csv"
    assert run("export-fingerprints", out, "--home", home).exit_code == 0
    assert out.read_text().splitlines()[1] == "kind,digest,first_seen,amount_fen"
    assert run("verify", "--home", tmp_path / "nowhere").exit_code == 2


def test_verify_without_a_pinned_log_key_refuses(home) -> None:
    (home / "ledger" / "keys" / "log.vkey").unlink()
    result = run("verify", "--home", home)
    assert result.exit_code == 2 and "no pinned log key" in result.output and "scf init" in result.output


def test_checkpoint_never_creates_a_signing_key(home) -> None:
    default_signing_key_path(home).unlink()
    result = run("checkpoint", "--home", home)
    assert result.exit_code == 2 and "no signing key at" in result.output
    assert not default_signing_key_path(home).exists()


def test_prove_refuses_a_rewritten_index_column(home) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("UPDATE ledger_entries SET financing_id = 'F-FORGED' WHERE seq = 4")
    con.close()
    result = run("prove", "F-FORGED", "--home", home)
    assert result.exit_code == 1 and "the index of entry 4 names 'F-FORGED' but the entry does not" in result.output
