"""Integrity is a gate (issue 13 §1): each kind of tampering with a home's evidence is named by
`scf verify` and stops the next night before anything is landed, judged or reported."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.archive import Archive
from foundation.errors import IntegrityError
from integration.cli import app
from integration.home import init_home, ledger_keys
from integration.runner import failure_messages, run_night
from integration.settings import load_settings
from ledger.entries import ArchiveManifest, decode_entry
from ledger.keys import (
    create_fingerprint_key,
    create_signing_key,
    default_fingerprint_key_path,
    default_signing_key_path,
    public_key_pem,
)
from tests.conftest import SAMPLE_NIGHT, copy_samples
from tests.integration.test_pipeline import NIGHT, query, run_ok
from warehouse.connection import Warehouse

NEXT = NIGHT + dt.timedelta(days=1)
runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path]:
    """A home after the sample night, and an inbox holding the next night too."""
    root = tmp_path_factory.mktemp("gate")
    inbox = root / "inbox"
    copy_samples(inbox)
    later = inbox / NEXT.isoformat() / "tax" / "26320000000000012345.xml"
    later.parent.mkdir(parents=True)
    later.write_bytes((inbox / SAMPLE_NIGHT / "tax" / "26320000000000012345.xml").read_bytes())
    run_ok(root / "home", inbox)
    return root / "home", inbox


@pytest.fixture
def home(pristine, tmp_path) -> tuple[Path, Path]:
    source, inbox = pristine
    shutil.copytree(source, tmp_path / "home")
    return tmp_path / "home", inbox


def scf_verify(home: Path):
    return runner.invoke(app, ["verify", "--home", str(home)])


def assert_night_stops_at_landing(home: Path, inbox: Path, cause: str, night: dt.date = NEXT) -> None:
    """The night fails naming the cause, before anything of it is landed, loaded, judged or reported."""
    manifest = home / "archive" / "manifest.jsonl"
    before = manifest.read_bytes() if manifest.exists() else None
    result = run_night(night, home=home, inbox=inbox)
    assert not result.success
    messages = failure_messages(result)
    assert any(cause in m for m in messages), messages
    assert (manifest.read_bytes() if manifest.exists() else None) == before, "nothing landed"
    assert not (home / "reports" / night.isoformat()).exists(), "no reports for a night that failed"
    if (home / "warehouse.duckdb").exists():
        tables = {t for (t,) in query(home, "SELECT table_name FROM information_schema.tables")}
        for table in {"files", "financing_verdicts", "findings"} & tables:
            assert query(home, f"SELECT count(*) FROM {table} WHERE business_date = ?", night) == [(0,)], table


def writable(path: Path) -> Path:
    path.chmod(0o644)
    return path


def tamper_object(home: Path) -> str:
    night = Archive(home / "archive").night_manifest(NIGHT)
    target = next(f for f in night.files if f.rel_path == "platform/financings.csv")
    writable(target.object_path).write_bytes(target.object_path.read_bytes().replace(b"ACTIVE", b"REPAID", 1))
    return f"archive object {target.object_path} was altered"


def edit_manifest_line(home: Path) -> str:
    manifest = home / "archive" / "manifest.jsonl"
    lines = manifest.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"source":"', b'"source":"x', 1)
    manifest.write_bytes(b"".join(lines))
    return "line 2: the chain is broken"


def edit_last_manifest_line(home: Path) -> str:
    """The last line has no successor to break: the head the ledger recorded catches it."""
    manifest = home / "archive" / "manifest.jsonl"
    lines = manifest.read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"source":"', b'"source":"x', 1)
    manifest.write_bytes(b"".join(lines))
    return f"first {len(lines)} lines no longer hash to the head ledger entry"


def tamper_ledger_entry(home: Path) -> str:
    with Warehouse(home / "warehouse.duckdb") as wh:
        raw = bytearray(wh.con.execute("SELECT entry FROM ledger_entries WHERE seq = 2").fetchall()[0][0])
        raw[-10] ^= 1
        wh.con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = 2", [bytes(raw)])
    return "first bad entry: seq 2"


def rewrite_index_column(home: Path) -> str:
    with Warehouse(home / "warehouse.duckdb") as wh:
        wh.con.execute("UPDATE ledger_entries SET financing_id = 'F-DOES-NOT-EXIST' WHERE financing_id = 'F202611200001'")
    return "column financing_id of entry 3 reads 'F-DOES-NOT-EXIST', the entry says 'F202611200001'"


def rewrite_fingerprint(home: Path) -> str:
    """A digest changed so that a duplicate at a peer bank or in our history would go unseen."""
    with Warehouse(home / "warehouse.duckdb") as wh:
        seq = wh.con.execute("SELECT min(seq) FROM ledger_fingerprints").fetchall()[0][0]
        wh.con.execute("UPDATE ledger_fingerprints SET digest = ? WHERE seq = ?", [b"\x00" * 32, seq])
    return f"the fingerprints recorded for entry {seq} are not those its entry carries"


def delete_latest_checkpoint(home: Path) -> str:
    latest = max((home / "ledger" / "checkpoints").glob("*.txt"), key=lambda p: int(p.stem))
    latest.unlink()
    return f"checkpoint {latest} is missing"


@pytest.mark.parametrize(
    "tamper",
    [edit_manifest_line, edit_last_manifest_line, tamper_ledger_entry, rewrite_index_column,
     rewrite_fingerprint, delete_latest_checkpoint],
)
def test_tampering_is_named_by_scf_verify_and_stops_the_next_night(
    home: tuple[Path, Path], tamper: Callable[[Path], str]
) -> None:
    engine, inbox = home
    verified = scf_verify(engine)
    assert verified.exit_code == 0, verified.output
    cause = tamper(engine)
    verified = scf_verify(engine)
    assert verified.exit_code == 1
    assert verified.output.startswith("error: ") and cause in verified.output, verified.output
    assert len(verified.output.strip().splitlines()) == 1, "one line naming the first problem"
    assert_night_stops_at_landing(engine, inbox, cause)


def test_an_altered_old_object_is_named_by_scf_verify_and_stops_the_night_that_reads_it(
    home: tuple[Path, Path],
) -> None:
    """A night re-hashes only its own set's objects (O(night)): an altered object of an older
    night is named by `scf verify` (the full walk), leaves the next night alone (no night reads
    it), and stops a re-run of its own night before anything is loaded."""
    engine, inbox = home
    cause = tamper_object(engine)
    verified = scf_verify(engine)
    assert verified.exit_code == 1 and verified.output.startswith("error: ") and cause in verified.output
    run_ok(engine, inbox, NEXT)
    loaded_before = query(engine, "SELECT count(*) FROM files WHERE business_date = ?", NIGHT)
    result = run_night(NIGHT, home=engine, inbox=inbox)
    assert not result.success
    assert any(cause in m for m in failure_messages(result)), failure_messages(result)
    assert query(engine, "SELECT count(*) FROM files WHERE business_date = ?", NIGHT) == loaded_before, "not reloaded"


def test_an_intact_home_verifies_and_each_night_records_its_manifest_head(home: tuple[Path, Path]) -> None:
    engine, inbox = home
    verified = scf_verify(engine)
    assert verified.exit_code == 0, verified.output
    assert "manifest chain of 11 lines holds" in verified.output and "index columns and fingerprints match" in verified.output
    run_ok(engine, inbox, NEXT)
    rows = query(engine, "SELECT business_date, entry FROM ledger_entries WHERE entry_type = 'ARCHIVE_MANIFEST' ORDER BY seq")
    heads = [(day, decode_entry(bytes(raw)).record) for day, raw in rows]
    archive = Archive(engine / "archive").head()
    assert [day for day, _ in heads] == [NIGHT, NEXT]
    assert heads[-1][1] == ArchiveManifest(archive.lines, archive.head) and archive.lines == 12
    run_ok(engine, inbox, NEXT)  # a re-run of the night records nothing new
    assert query(engine, "SELECT count(*) FROM ledger_entries WHERE entry_type = 'ARCHIVE_MANIFEST'") == [(2,)]
    # A manifest head is no event nor financing: nothing the ledger decides about events or
    # financings may take it for one (every other entry names its event or its financing).
    assert query(engine, "SELECT count(*) FROM ledger_entries WHERE entry_type <> 'ARCHIVE_MANIFEST' "
                         "AND event_id IS NULL AND financing_id IS NULL") == [(0,)]
    assert scf_verify(engine).exit_code == 0


def test_a_home_without_keys_refuses_to_run(tmp_path, sample_inbox) -> None:
    key = default_signing_key_path((tmp_path / "home").resolve())
    assert_night_stops_at_landing(tmp_path / "home", sample_inbox, f"no signing key at {key}: run `scf init --home",
                                  NIGHT)
    assert not key.exists(), "a missing key is never created by a night"


def test_a_replaced_signing_key_stops_the_night(home: tuple[Path, Path]) -> None:
    engine, inbox = home
    key = default_signing_key_path(engine)
    key.unlink()
    with pytest.raises(IntegrityError, match="is missing but .*log.vkey pins it: restore the key from backup"):
        init_home(engine)  # init refuses to create a new key for a home whose key was pinned
    create_signing_key(key)  # a key made by hand
    assert_night_stops_at_landing(engine, inbox, "is not the log key pinned in")


def test_init_creates_a_home_once(tmp_path) -> None:
    created = runner.invoke(app, ["init", "--home", str(tmp_path / "h")])
    assert created.exit_code == 0, created.output
    home = (tmp_path / "h").resolve()
    for path in ("scf.toml", "ledger/keys/signing_key.pem", "ledger/keys/fingerprint.key", "ledger/keys/log.vkey",
                 "ledger/keys/fingerprint.commitment", "inbox", "archive", "ledger/checkpoints", "reports"):
        assert (home / path).exists(), path
    keys = {p: p.read_bytes() for p in (home / "ledger" / "keys").iterdir()}
    again = runner.invoke(app, ["init", "--home", str(home)])
    assert again.exit_code == 0 and "nothing to create" in again.output
    assert {p: p.read_bytes() for p in (home / "ledger" / "keys").iterdir()} == keys


def test_init_refuses_to_replace_a_pinned_key(home: tuple[Path, Path]) -> None:
    engine, _ = home
    (engine / "ledger" / "keys" / "fingerprint.key").unlink()
    result = runner.invoke(app, ["init", "--home", str(engine)])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "fingerprint.key is missing but" in result.output
    assert not (engine / "ledger" / "keys" / "fingerprint.key").exists()


def test_init_pins_the_keys_of_a_home_made_before_it(tmp_path) -> None:
    home = (tmp_path / "old").resolve()
    signing = create_signing_key(default_signing_key_path(home))
    fingerprint = create_fingerprint_key(default_fingerprint_key_path(home))
    assert "no pinned log key" in runner.invoke(app, ["verify", "--home", str(home)]).output
    init_home(home)
    keys = ledger_keys(load_settings(home))
    assert public_key_pem(keys.signer.private_key) == public_key_pem(signing) and keys.fingerprint_key == fingerprint
    assert runner.invoke(app, ["verify", "--home", str(home)]).exit_code == 0


def test_a_ledger_holding_a_pending_event_passes_the_gate(tmp_path, sample_inbox) -> None:
    """A status entry's index columns are read as the ledger wrote them: no false alarm."""
    for ap_items in (sample_inbox / SAMPLE_NIGHT / "erp").glob("*/ap_open_items.csv"):
        ap_items.unlink()  # the ISSUE's payable has not arrived: the ledger holds it pending
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    assert query(home, "SELECT count(*) FROM ledger_entries WHERE entry_type = 'PENDING'")[0][0] >= 1
    assert scf_verify(home).exit_code == 0
    redelivered = sample_inbox / NEXT.isoformat() / "platform"
    redelivered.mkdir(parents=True)  # a night with a delivery (an empty one is an error of its own)
    shutil.copy(sample_inbox / SAMPLE_NIGHT / "platform" / "voucher_events.csv", redelivered)
    run_ok(home, sample_inbox, NEXT)
