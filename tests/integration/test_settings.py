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


def test_spark_settings_have_defaults_are_validated_and_reach_the_spark_judge(tmp_path, monkeypatch):
    from engines import spark
    from engines.config import SparkSettings
    from integration.resources import ScfHome

    monkeypatch.delenv("SCF_INBOX", raising=False)
    assert load_settings(tmp_path).spark == SparkSettings()
    (tmp_path / "scf.toml").write_text(
        '[findings]\nengine = "spark"\n[spark]\nmaster = "local[*]"\ndriver_memory = "6g"\nexecutor_memory = "8G"\n'
        'shuffle_partitions = 32\nlocal_dir = "spark-scratch"\nmaterialize = "disk"\n', "utf-8")  # fmt: skip
    expected = SparkSettings("local[*]", "6g", "8G", 32, tmp_path.resolve() / "spark-scratch", "disk")
    assert load_settings(tmp_path).spark == expected
    asked = []
    monkeypatch.setattr(spark, "spark_session", lambda settings: asked.append(settings) or "a session")
    judge = ScfHome(home=str(tmp_path)).judge()
    assert asked == [expected] and isinstance(judge, spark.SparkJudge) and judge.settings == expected
    for line, reason in [
        ('driver_memory = "6GB"', "driver_memory.*'6GB' is not a JVM size"),
        ('executor_memory = "256m"', "executor_memory.*below the 450m"),
        ('master = "local[0]"', "master.*is not a Spark master"),
        ("shuffle_partitions = 0", "shuffle_partitions.*0 is not between 1 and 100000"),
        ('materialize = "memory"', "materialize.*'memory' is not one of checkpoint, disk, cache"),
        ('local_dir = ""', "local_dir.*is empty"),
        ('driver_memory = 6', "driver_memory.*must be a string"),
        ('memory = "6g"', "unknown key"),
    ]:
        (tmp_path / "scf.toml").write_text(f"[spark]\n{line}\n", "utf-8")
        with pytest.raises(ConfigError, match=rf"\[spark\] .*{reason}"):
            load_settings(tmp_path)
