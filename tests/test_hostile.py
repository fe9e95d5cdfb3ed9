"""Hostile input and faults (issue 13 §2-§6): each case gets a clear error or a quarantine of the
bad record or file only, and the rest of the night is processed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.errors import ConfigError
from integration.cli import app
from integration.settings import load_settings
from tests.conftest import SAMPLE_NIGHT

NIGHT = dt.date.fromisoformat(SAMPLE_NIGHT)

_SFTP = """[source]
kind = "sftp"
host = "127.0.0.1"
username = "scf"
key_file = "/keys/id"
known_hosts = "/keys/known_hosts"
"""


def _home_with(tmp_path: Path, toml: str) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "scf.toml").write_text(toml, "utf-8")
    return home


# -- one validated configuration (§2) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('[sourc]\nkind = "local"\n', ["[sourc]", "unknown section"]),
        ('[source]\nkind = "ftp"\n', ["[source] kind", "'ftp'", "local, sftp"]),
        ('[source]\nknd = "local"\n', ["[source] knd", "unknown key"]),
        ('[source]\nkind = "sftp"\nhost = "h"\n', ["[source] username", "missing"]),
        (_SFTP + "port = \"22\"\n", ["[source] port", "must be an integer"]),
        (_SFTP + "port = 70000\n", ["[source] port", "not a TCP port"]),
        ('[source]\ninbox = "/in"\nhost = "h"\n', ["[source] host", "SFTP setting"]),
        ("[checks]\nover_value_tolerance = 5\n", ["[checks] over_value_tolerance", "unknown key"]),
        ('[checks]\nover_value_tolerance_fen = "5"\n', ["[checks] over_value_tolerance_fen", "integer"]),
        ("[checks]\nover_value_tolerance_fen = true\n", ["over_value_tolerance_fen", "boolean"]),
        ('[warehouse]\nmemory_limit = "lots"\n', ["[warehouse] memory_limit", "'lots'"]),
        ('[csv."erp"]\nencoding = "klingon"\n', ['[csv."erp"] encoding', "unknown encoding"]),
        ('[csv."erp"]\ndelimiter = ";;"\n', ['[csv."erp"] delimiter', "one character"]),
        ('[ledger]\norign = "x"\n', ["[ledger] orign", "unknown key"]),
        ("[limits]\nmax_amount_fen = 0\n", ["[limits] max_amount_fen", "between"]),
        ("[limits]\nmax_amount_fen = 100000000000000000\n", ["[limits] max_amount_fen", "between"]),
        ("source = 3\n", ["[source]", "must be a table"]),
        ("[source\n", ["not valid TOML"]),
    ],
)
def test_bad_configuration_is_refused_at_load_with_file_key_and_reason(tmp_path, toml, names):
    home = _home_with(tmp_path, toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(home)
    message = str(raised.value)
    assert str(home / "scf.toml") in message and "\n" not in message
    for name in names:
        assert name in message


def test_a_valid_configuration_loads_typed(tmp_path, monkeypatch):
    monkeypatch.delenv("SCF_INBOX", raising=False)
    home = _home_with(tmp_path, _SFTP + '[warehouse]\nmemory_limit = "512MiB"\n[limits]\nmax_amount_fen = 500\n')
    settings = load_settings(home)
    assert settings.sftp is not None and settings.sftp.port == 22
    assert (settings.warehouse_memory_limit, settings.max_amount_fen) == ("512MiB", 500)


def test_bad_configuration_stops_scf_run_before_anything_is_landed(tmp_path, sample_inbox, capsys):
    home = _home_with(tmp_path, "[checks]\nover_value_tolerance = 5\n")
    with pytest.raises(SystemExit) as exited:
        app(args=["run", "--date", SAMPLE_NIGHT, "--home", str(home), "--inbox", str(sample_inbox)])
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "[checks] over_value_tolerance" in err[0]
    assert "ConfigError" in (home / "logs" / "scf.log").read_text("utf-8")
    assert not (home / "archive").exists() and not (home / "warehouse.duckdb").exists()


def test_scf_run_honours_an_sftp_source(tmp_path, capsys, monkeypatch):
    """`scf run` takes the configured SFTP source (it used to read <home>/inbox and report an empty
    night): with an unreachable key file, it fails naming the SFTP key."""
    monkeypatch.delenv("SCF_INBOX", raising=False)
    home = _home_with(tmp_path, _SFTP.replace("/keys/id", str(tmp_path / "no-such-key")))
    with pytest.raises(SystemExit):
        app(args=["run", "--date", SAMPLE_NIGHT, "--home", str(home)])
    err = capsys.readouterr().err
    assert err.startswith("error: night 2026-11-20 failed: landed_files:") and "no-such-key" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unexpected_failure_is_one_line_naming_the_cause(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse.duckdb").write_text("not a database", "utf-8")
    with pytest.raises(SystemExit):
        app(args=["run", "--date", SAMPLE_NIGHT, "--home", str(home), "--inbox", str(tmp_path / "empty")])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: night 2026-11-20 failed: ")
    assert (home / "logs" / "scf.log").stat().st_size > 0
