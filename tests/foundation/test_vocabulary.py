"""One vocabulary per fact: a delivered file's status for the archive and for the file register
share their one common value, and SQL gets a value from its enum, quoted."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.archive import Archive
from connectors.loader import load_night
from connectors.sources import LocalFolderSource
from foundation.vocabulary import DeliveryStatus, FileStatus, FinancingStatus, sql_literal, sql_literals
from tests.conftest import SAMPLE_NIGHT, copy_samples
from warehouse.connection import Warehouse


def test_a_duplicate_is_the_same_word_for_the_archive_and_the_file_register():
    assert FileStatus.DUPLICATE == DeliveryStatus.DUPLICATE


def test_every_file_status_the_loader_writes_is_in_the_vocabulary(tmp_path):
    inbox = copy_samples(tmp_path / "inbox")
    (inbox / SAMPLE_NIGHT / "platform" / "notes.txt").write_text("not a file of the contract", "utf-8")
    night = dt.date.fromisoformat(SAMPLE_NIGHT)
    landed = Archive(tmp_path / "archive").land_night(LocalFolderSource(inbox), night)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load_night(wh, night, landed.files)
        statuses = {s for (s,) in wh.con.execute("SELECT DISTINCT status FROM files").fetchall()}
    assert {FileStatus.LOADED, FileStatus.UNKNOWN_KIND} <= statuses <= set(FileStatus)


def test_a_member_is_quoted_for_sql():
    assert sql_literal(FinancingStatus.CANCELLED) == "'CANCELLED'"
    with pytest.raises(ValueError, match="no member"):
        sql_literals("{{FinancingStatus.GONE}}", [FinancingStatus])
