"""Numbered migrations and ``schema_version``: a home written by the previous release opens,
is migrated once, runs its next night and verifies; a home newer than the code is refused."""

from __future__ import annotations

import datetime as dt
import tarfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from integration.cli import app
from integration.runner import failure_messages, run_night
from tests.conftest import REPO
from warehouse.connection import Warehouse
from warehouse.migrations import SchemaVersionError, migrate, migrations, schema_version

RELEASE_0_1_0 = REPO / "tests" / "fixtures" / "homes" / "release-0.1.0.tar.gz"
NEXT_NIGHT = dt.date(2026, 11, 21)  # the fixture's home ran 2026-11-20 (simulator, seed 7, 20 trades)


def _versions(path: Path) -> list[tuple[int, str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()


def test_a_new_home_has_every_migration_recorded_and_a_second_open_changes_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    recorded = _versions(path)
    assert recorded == [(m.number, m.name) for m in migrations()]
    with Warehouse(path) as wh:
        assert migrate(wh.con) == []
    assert _versions(path) == recorded


def test_a_home_of_release_0_1_0_is_migrated_runs_its_next_night_and_verifies(tmp_path):
    with tarfile.open(RELEASE_0_1_0) as archive:
        archive.extractall(tmp_path, filter="data")
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert schema_version(con) is None  # written before schema_version
        findings_before = con.execute("SELECT count(*) FROM findings").fetchone()
    with Warehouse(home / "warehouse.duckdb") as wh:
        assert schema_version(wh.con) == len(migrations())
        assert wh.con.execute("SELECT count(*) FROM findings").fetchone() == findings_before  # nothing lost
    recorded = _versions(home / "warehouse.duckdb")
    assert [v for v, _ in recorded] == [m.number for m in migrations()]

    result = run_night(NEXT_NIGHT, home=home, inbox=inbox)
    assert result.success, failure_messages(result)
    assert (home / "reports" / NEXT_NIGHT.isoformat() / "financing_status.csv").exists()
    assert _versions(home / "warehouse.duckdb") == recorded  # the second open applied nothing
    verified = CliRunner().invoke(app, ["verify", "--home", str(home)])
    assert verified.exit_code == 0, verified.output


def test_a_home_newer_than_the_code_is_refused_with_one_line(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    newer = len(migrations()) + 1
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, 'from_the_future', now()::TIMESTAMP_S)", [newer])
    for read_only in (False, True):
        with pytest.raises(SchemaVersionError, match=f"schema version {newer}, newer than this release") as refused:
            Warehouse(path, read_only=read_only)
        assert "\n" not in str(refused.value)


def test_a_forgotten_migration_stops_the_open_naming_table_and_column(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE waybills DROP COLUMN layout")  # as if the registry had gained it without a migration
    with pytest.raises(SchemaVersionError, match="table waybills column layout: the registry declares VARCHAR, the warehouse lacks it"):
        Warehouse(path)
