"""Settings of an engine home: defaults, scf.toml, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.sftp import SftpSource
from connectors.sources import LocalFolderSource
from foundation.errors import ConfigError
from integration.settings import load_settings


def test_empty_home_runs_on_the_embedded_default(tmp_path, monkeypatch):
    monkeypatch.delenv("SCF_INBOX", raising=False)
    settings = load_settings(tmp_path)
    assert settings.inbox == tmp_path / "inbox"
    assert settings.warehouse_path == tmp_path / "warehouse.duckdb"
    assert isinstance(settings.source(), LocalFolderSource)
    assert settings.csv_override("erp/91440300MA5F00001A/po_items.csv") == (None, None)


def test_scf_toml_configures_sftp_csv_overrides_and_check_parameters(tmp_path, monkeypatch):
    monkeypatch.delenv("SCF_INBOX", raising=False)
    (tmp_path / "scf.toml").write_text(
        """
[source]
kind = "sftp"
host = "127.0.0.1"
port = 2222
username = "scf"
key_file = "/keys/id"
known_hosts = "/keys/known_hosts"
root = "/outbound"
[csv."erp"]
delimiter = ","
[csv."erp/91440300MA5F00001A"]
encoding = "gb18030"
delimiter = "|"
[checks]
over_value_tolerance_fen = 500
[ledger]
key_name = "bank-a"
signing_key_file = "/secure/ledger.pem"
""",
        "utf-8",
    )
    settings = load_settings(tmp_path)
    assert isinstance(settings.source(), SftpSource)
    assert settings.csv_override("erp/91440300MA5F00001A/ap_open_items.csv") == ("gb18030", "|")
    assert settings.csv_override("erp/91110000100000000X/vendors.csv") == (None, ",")
    assert settings.csv_override("platform/financings.csv") == (None, None)
    assert settings.check_params == {"over_value_tolerance_fen": 500}
    assert settings.ledger.key_name == "bank-a"
    assert settings.under_home(settings.ledger.signing_key_file) == Path("/secure/ledger.pem")
    assert settings.under_home(settings.ledger.fingerprint_key_file) == tmp_path / "ledger/keys/fingerprint.key"
    assert settings.ledger.signer_name == "bank-a"
    # A local inbox given explicitly replaces the configured SFTP source.
    assert isinstance(load_settings(tmp_path, inbox=tmp_path / "copy").source(), LocalFolderSource)


def test_the_store_is_written_on_spark_nights_or_when_configured(tmp_path, monkeypatch):
    monkeypatch.delenv("SCF_INBOX", raising=False)
    assert not load_settings(tmp_path).writes_store
    (tmp_path / "scf.toml").write_text("[store]\nwrite = true\n", "utf-8")
    assert load_settings(tmp_path).writes_store
    (tmp_path / "scf.toml").write_text('[findings]\nengine = "spark"\n', "utf-8")
    assert load_settings(tmp_path).writes_store
    (tmp_path / "scf.toml").write_text('[store]\nwrite = "yes"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"\[store\] write.*must be true or false"):
        load_settings(tmp_path)


def test_findings_engine_is_duckdb_unless_configured_and_validated(tmp_path, monkeypatch):
    monkeypatch.delenv("SCF_INBOX", raising=False)
    assert load_settings(tmp_path).findings_engine == "duckdb"
    (tmp_path / "scf.toml").write_text('[findings]\nengine = "spark"\n', "utf-8")
    assert load_settings(tmp_path).findings_engine == "spark"
    (tmp_path / "scf.toml").write_text('[findings]\nengine = "trino"\n', "utf-8")
    with pytest.raises(ConfigError, match="engine.*'trino' is not one of duckdb, spark"):
        load_settings(tmp_path)
