"""Landing a night into the archive: every object durable before its sighting, a cut-short landing
completed by the next one, the same manifest whatever order the objects' fsyncs finish in."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import archive as archive_module
from connectors.archive import Archive, ArchiveError
from connectors.sources import LocalFolderSource, RemoteFile
from foundation.vocabulary import DeliveryStatus
from tests.connectors.test_archive import manifest_lines, put, sha

D1 = dt.date(2024, 3, 1)
FILES = {f"tax/{n:03}.xml": f"<EInvoice>{n}</EInvoice>".encode() for n in range(40)} | {"tax/again.xml": b"<EInvoice>7</EInvoice>"}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    for rel_path, data in FILES.items():
        put(tmp_path / "inbox", D1, rel_path, data)
    return tmp_path / "inbox"


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every fsync of the landing, in order: ("object", inode) for a file, ("manifest", inode) for the manifest."""
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()
    fsync = os.fsync

    def recording(fd: int) -> None:
        fsync(fd)
        target = os.readlink(f"/proc/self/fd/{fd}")
        with lock:
            seen.append(("manifest" if target.endswith("manifest.jsonl") else "object", os.fstat(fd).st_ino))

    monkeypatch.setattr(archive_module.os, "fsync", recording)
    yield seen


def test_every_object_is_fsynced_before_the_manifest_once(inbox: Path, tmp_path: Path, fsyncs: list[tuple[str, int]]) -> None:
    archive = Archive(tmp_path / "archive")
    night = archive.land_night(LocalFolderSource(inbox), D1)

    assert [f.rel_path for f in night.files] == sorted(FILES)
    objects = {f.object_path.stat().st_ino for f in night.files}
    synced = [ino for kind, ino in fsyncs if kind == "object"]
    assert objects <= set(synced)  # each object's bytes (its temp file, the same inode) …
    assert [kind for kind, _ in fsyncs][-1] == "manifest"  # … before the manifest, fsynced once, last
    assert [kind for kind, _ in fsyncs].count("manifest") == 1
    assert [line["rel_path"] for line in manifest_lines(archive)] == sorted(FILES)  # listed order, whatever thread finished first
    assert archive.verify().ok


class _FailingSource(LocalFolderSource):
    """A local inbox whose ``rel_path`` grows between listing and reading (an upload still running)."""

    def __init__(self, root: Path, rel_path: str) -> None:
        super().__init__(root)
        self._rel_path = rel_path

    def list_night(self, business_date: dt.date) -> list[RemoteFile]:
        listed = super().list_night(business_date)
        with (self.root / business_date.isoformat() / self._rel_path).open("ab") as stream:
            stream.write(b"more")
        return listed


def test_a_landing_cut_short_is_completed_by_the_next(inbox: Path, tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    with pytest.raises(ArchiveError, match="tax/020.xml was listed with"):
        archive.land_night(_FailingSource(inbox, "tax/020.xml"), D1)

    assert list((archive.root / "tmp").iterdir()) == []  # every file received was committed or dropped
    before = [f.rel_path for f in archive.night_manifest(D1).files]
    assert before == sorted(FILES)[: len(before)] and "tax/020.xml" not in before
    for rel_path in sorted(FILES)[:20]:  # received before the failure: their objects are there
        assert archive.object_path(sha(FILES[rel_path])).is_file()

    put(inbox, D1, "tax/020.xml", FILES["tax/020.xml"])
    night = archive.land_night(LocalFolderSource(inbox), D1)

    assert [f.rel_path for f in night.files] == sorted(FILES)
    assert [line["seq"] for line in manifest_lines(archive)] == list(range(1, len(FILES) + 1))
    assert archive.verify().ok
    assert {f.rel_path: f.status for f in night.files}["tax/again.xml"] is DeliveryStatus.DUPLICATE
