"""Timeliness: the archive keeps each file's arrival (its time at the source), and a file of
business date D arriving after the night's cut-off (D + 1, Asia/Shanghai) is late."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from connectors.archive import Archive
from connectors.sources import LocalFolderSource
from integration.nights import BUSINESS_TZ
from quality.timeliness import arrival_deadline, late_sources, timeliness_results
from reconciliation.catalogue import BY_ID
from simulator.arrivals import LATE, ON_TIME, arrival, stamp_arrivals

DAY = dt.date(2026, 11, 21)
CUTOFF = dt.time(3, 30)
DEADLINE = arrival_deadline(DAY, CUTOFF, BUSINESS_TZ)


@dataclass(frozen=True)
class Landed:
    rel_path: str
    arrived_at: str | None


def at(hour: int, minute: int = 0) -> str:
    """An arrival on the day after DAY, China time, written as the archive writes it (UTC)."""
    local = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(hour, minute), tzinfo=BUSINESS_TZ)
    return local.astimezone(dt.UTC).isoformat(timespec="seconds")


def test_the_deadline_is_the_cut_off_on_the_next_day_in_china():
    assert DEADLINE.isoformat() == "2026-11-22T03:30:00+08:00"


def test_a_file_arriving_after_the_cut_off_makes_its_source_late():
    files = [Landed("tax/batch_0001.xml", at(1)), Landed("tax/26320000000000012345.xml", at(9, 15)),
             Landed("bills/b1.xml", at(3, 30)), Landed("platform/financings.csv", None),
             Landed("notes/readme.txt", at(23))]
    [issue] = late_sources(files, DAY, DEADLINE)
    assert (issue.check_id, issue.source, issue.blocking) == ("DQ_SOURCE_LATE", "tax/*.xml", False)
    assert "after the night's cut-off 2026-11-22T03:30+08:00" in issue.detail and "2026-11-22T09:15+08:00" in issue.detail
    assert issue.evidence["files"] == [{"file": "tax/26320000000000012345.xml", "arrived_at": "2026-11-22T01:15:00+00:00"}]
    assert issue.evidence["late_minutes"] == 5 * 60 + 45
    assert BY_ID["DQ_SOURCE_LATE"].category.value == "data_quality"


def test_each_source_of_known_arrival_gets_a_timeliness_result():
    files = [Landed("tax/batch_0001.xml", at(1)), Landed("tax/26320000000000012345.xml", at(9, 15)),
             Landed("bills/b1.xml", at(3, 30)), Landed("platform/financings.csv", None)]
    rows = {r[1]: r for r in timeliness_results(files, DAY, DEADLINE)}
    assert set(rows) == {"tax/*.xml", "bills/*.xml"}, "a file of unknown arrival is not judged"
    day, _, suite, _, dimension, success, observed, files_judged, late, share, sample = rows["tax/*.xml"]
    assert (day, suite, dimension, success, files_judged, late, share) == (DAY, "timeliness", "timeliness", False, 2, 1, 0.5)
    assert observed == "last arrival 2026-11-22T09:15+08:00"
    assert json.loads(sample) == [{"value": "2026-11-22T09:15+08:00", "file": "tax/26320000000000012345.xml", "pos": None}]
    assert rows["bills/*.xml"][5] is True and rows["bills/*.xml"][10] is None


def test_on_time_files_and_files_of_unknown_arrival_are_not_late():
    assert late_sources([Landed("bills/b1.xml", at(3, 29)), Landed("bills/b2.xml", None)], DAY, DEADLINE) == []


def test_the_archive_keeps_the_sources_time_of_a_file_not_the_landing_time(tmp_path: Path):
    night = tmp_path / "inbox" / DAY.isoformat() / "bills"
    night.mkdir(parents=True)
    (night / "b1.xml").write_bytes(b"<bills/>")
    (night / "b2.xml").write_bytes(b"<bills></bills>")
    stamp_arrivals(night.parent, DAY)
    os.utime(night / "b2.xml", (arrival(DAY, LATE),) * 2)
    archive = Archive(tmp_path / "archive")
    archive.land_night(LocalFolderSource(tmp_path / "inbox"), DAY)
    landed = {f.rel_path: f for f in archive.night_manifest(DAY).files}
    assert landed["bills/b1.xml"].arrived_at == "2026-11-21T17:00:00+00:00"  # 01:00 in China, on time
    [issue] = late_sources(landed.values(), DAY, DEADLINE)
    assert [f["file"] for f in issue.evidence["files"]] == ["bills/b2.xml"]
    line = json.loads((tmp_path / "archive" / "manifest.jsonl").read_text("utf-8").splitlines()[0])
    assert line["arrived_at"] == "2026-11-21T17:00:00+00:00" and "received_at" in line
    assert ON_TIME < CUTOFF < LATE


def test_a_manifest_line_without_arrival_is_read_as_unknown(tmp_path: Path):
    night = tmp_path / "inbox" / DAY.isoformat() / "bills"
    night.mkdir(parents=True)
    (night / "b1.xml").write_bytes(b"<bills/>")
    archive = Archive(tmp_path / "archive")
    archive.land_night(LocalFolderSource(tmp_path / "inbox"), DAY)
    manifest = tmp_path / "archive" / "manifest.jsonl"
    record = json.loads(manifest.read_text("utf-8"))
    del record["arrived_at"], record["prev"]  # a legacy line, before arrivals and the chain
    manifest.write_text(json.dumps(record) + "\n", "utf-8")
    [landed] = Archive(tmp_path / "archive").night_manifest(DAY).files
    assert landed.arrived_at is None and late_sources([landed], DAY, DEADLINE) == []
