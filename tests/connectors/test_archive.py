"""The content-addressed archive and its manifest, landed from real local folders."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from connectors import archive as archive_module
from connectors.archive import (
    ZERO_HEAD,
    Archive,
    ArchiveError,
    ManifestCorrupt,
    ManifestHead,
    NightManifest,
    ObjectCorrupt,
    Sighting,
)
from connectors.sources import LocalFolderSource, RemoteFile
from foundation.vocabulary import DeliveryStatus

D1 = dt.date(2024, 3, 1)
D2 = dt.date(2024, 3, 2)
VENDORS = "erp/91310000MA1FL1MMXL/vendors.csv"


def put(inbox: Path, night: dt.date, rel_path: str, data: bytes) -> Path:
    path = inbox / night.isoformat() / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def by_path(manifest: NightManifest) -> dict[str, tuple[DeliveryStatus, str, tuple[str, ...]]]:
    return {f.rel_path: (f.status, f.sha256, f.superseded) for f in manifest.files}


def manifest_lines(archive: Archive) -> list[dict[str, object]]:
    return [json.loads(line) for line in archive.manifest_path.read_text("utf-8").splitlines()]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path / "home" / "archive")


@pytest.fixture
def source(inbox: Path) -> LocalFolderSource:
    inbox.mkdir()
    return LocalFolderSource(inbox)


def test_first_landing_archives_every_file_as_new(inbox: Path, archive: Archive, source: LocalFolderSource) -> None:
    files = {VENDORS: b"LIFNR,NAME1,STCD5\n", "tax/inv_001.xml": b"<EInvoice/>", "tax/empty.xml": b""}
    for rel_path, data in files.items():
        put(inbox, D1, rel_path, data)

    manifest = archive.land_night(source, D1)

    assert manifest.business_date == D1
    assert [f.rel_path for f in manifest.files] == sorted(files)
    for landed in manifest.files:
        data = files[landed.rel_path]
        assert (landed.status, landed.sha256, landed.size, landed.superseded) == (DeliveryStatus.NEW, sha(data), len(data), ())
        assert landed.object_path == archive.root / "objects" / sha(data)[:2] / sha(data)
        assert landed.object_path.read_bytes() == data
        assert stat.S_IMODE(landed.object_path.stat().st_mode) == 0o444
    assert manifest.to_parse() == manifest.files
    lines = manifest_lines(archive)
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert list(lines[0]) == ["seq", "business_date", "rel_path", "sha256", "size", "source", "received_at", "arrived_at", "prev"]
    assert lines[0]["prev"] == "0" * 64, "the chain starts from the zero head"
    assert {line["business_date"] for line in lines} == {"2024-03-01"}
    assert {line["source"] for line in lines} == {source.name}
    received = dt.datetime.fromisoformat(str(lines[0]["received_at"]))
    assert received.utcoffset() == dt.timedelta(0)
    assert list((archive.root / "tmp").iterdir()) == []


def test_same_bytes_in_a_later_night_are_a_duplicate(inbox: Path, archive: Archive, source: LocalFolderSource) -> None:
    vendors = b"LIFNR,NAME1,STCD5\n0001,Acme,91310000MA1FL1MMXL\n"
    put(inbox, D1, VENDORS, vendors)
    put(inbox, D2, VENDORS, vendors)
    put(inbox, D2, "tax/inv_002.xml", b"<EInvoice>2</EInvoice>")

    first = archive.land_night(source, D1)
    second = archive.land_night(source, D2)

    assert by_path(first) == {VENDORS: (DeliveryStatus.NEW, sha(vendors), ())}
    assert by_path(second)[VENDORS] == (DeliveryStatus.DUPLICATE, sha(vendors), ())
    assert by_path(second)["tax/inv_002.xml"][0] is DeliveryStatus.NEW
    assert [f.rel_path for f in second.to_parse()] == ["tax/inv_002.xml"]
    assert len(list(archive.objects_dir.glob("*/*"))) == 2  # the repeated bytes are stored once
    assert len(manifest_lines(archive)) == 3  # but each night's sighting is recorded
    # statuses come from first sightings: re-landing either night changes nothing
    assert archive.land_night(source, D1) == first
    assert archive.land_night(source, D2) == second


def test_same_bytes_under_another_path_of_the_night_are_a_duplicate(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    put(inbox, D1, "bills/a.xml", b"<CdInfList/>")
    put(inbox, D1, "bills/b.xml", b"<CdInfList/>")

    statuses = {f.rel_path: f.status for f in archive.land_night(source, D1).files}

    assert statuses == {"bills/a.xml": DeliveryStatus.NEW, "bills/b.xml": DeliveryStatus.DUPLICATE}


def test_restated_file_keeps_both_versions_and_the_later_wins(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    v1, v2 = b"fphm,fpzt\n1,0\n", b"fphm,fpzt\n1,3\n"
    path = put(inbox, D1, "tax/invoice_status.csv", v1)
    archive.land_night(source, D1)
    path.write_bytes(v2)

    restated = archive.land_night(source, D1)

    assert by_path(restated) == {"tax/invoice_status.csv": (DeliveryStatus.RESTATED, sha(v2), (sha(v1),))}
    assert restated.to_parse() == restated.files
    assert archive.object_path(sha(v1)).read_bytes() == v1
    assert archive.object_path(sha(v2)).read_bytes() == v2

    path.write_bytes(v1)  # a revert is a restatement too: v1 becomes the latest again
    reverted = archive.land_night(source, D1)

    assert by_path(reverted) == {"tax/invoice_status.csv": (DeliveryStatus.RESTATED, sha(v1), (sha(v2),))}
    assert [line["sha256"] for line in manifest_lines(archive)] == [sha(v1), sha(v2), sha(v1)]


def test_rerun_is_idempotent(inbox: Path, archive: Archive, source: LocalFolderSource) -> None:
    put(inbox, D1, VENDORS, b"v")
    put(inbox, D1, "logistics/91310000MA1FL1MMXL/wb_1.xml", b"<Root/>")
    put(inbox, D1, "logistics/91310000MA1FL1MMXL/wb_2.xml", b"<Root/>")
    first = archive.land_night(source, D1)
    manifest_bytes = archive.manifest_path.read_bytes()

    again = archive.land_night(source, D1)

    assert again == first
    assert archive.manifest_path.read_bytes() == manifest_bytes
    assert archive.night_manifest(D1) == first
    assert Archive(archive.root).night_manifest(D1) == first  # from the archive alone
    assert archive.night_manifest(D2) == NightManifest(D2, ())


def test_file_removed_from_the_inbox_stays_in_the_night(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    put(inbox, D1, VENDORS, b"v")
    put(inbox, D1, "platform/financings.csv", b"financing_id\n")
    first = archive.land_night(source, D1)
    (inbox / D1.isoformat() / "platform" / "financings.csv").unlink()  # inbox cleaned after pick-up

    assert archive.land_night(source, D1) == first
    assert "platform/financings.csv" in by_path(archive.night_manifest(D1))


def test_objects_are_read_only_and_verify_finds_tampering(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    put(inbox, D1, "tax/a.xml", b"<a/>")
    put(inbox, D1, "tax/b.xml", b"<b/>")
    put(inbox, D1, "tax/c.xml", b"<c/>")
    landed = {f.rel_path: f for f in archive.land_night(source, D1).files}
    assert archive.verify().ok
    assert archive.verify().checked == 3

    tampered = landed["tax/a.xml"].object_path
    assert stat.S_IMODE(tampered.stat().st_mode) == 0o444
    if os.geteuid() != 0:  # root ignores mode bits
        with pytest.raises(PermissionError):
            tampered.open("r+b")
    tampered.chmod(0o644)
    tampered.write_bytes(b"<a>forged</a>")
    landed["tax/b.xml"].object_path.chmod(0o644)
    landed["tax/b.xml"].object_path.unlink()

    report = archive.verify()

    assert not report.ok
    assert report.checked == 2
    assert [(c.path, c.expected_sha256, c.actual_sha256) for c in report.corrupt] == [
        (tampered, sha(b"<a/>"), sha(b"<a>forged</a>"))
    ]
    assert report.missing == (sha(b"<b/>"),)


def test_missing_night_is_empty_and_logged(
    archive: Archive, source: LocalFolderSource, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.sources"):
        manifest = archive.land_night(source, D1)

    assert manifest == NightManifest(D1, ())
    assert "no folder for night 2024-03-01" in caplog.text


def test_listing_skips_dotfiles_uploads_and_links(inbox: Path, source: LocalFolderSource) -> None:
    for rel_path in ["tax/b.xml", "tax/a.xml", "erp/X/po_items.csv", ".DS_Store", "tax/.~lock.xml",
                     "tax/c.xml.part", "tax/d.xml.TMP", "tax/e.xml.filepart", ".git/config"]:
        put(inbox, D1, rel_path, b"12345")
    (inbox / D1.isoformat() / "tax" / "link.xml").symlink_to(inbox / D1.isoformat() / "tax" / "a.xml")

    assert source.list_night(D1) == [
        RemoteFile("erp/X/po_items.csv", 5),
        RemoteFile("tax/a.xml", 5),
        RemoteFile("tax/b.xml", 5),
    ]


def test_nights_are_date_folders_only(inbox: Path, source: LocalFolderSource) -> None:
    for name in ["2024-03-02", "2024-03-01", "2024-13-01", "20240303", "incoming"]:
        (inbox / name).mkdir()
    (inbox / "2024-03-04").write_text("a file, not a night")

    assert source.nights() == [D1, D2]


def test_open_refuses_paths_outside_the_night(inbox: Path, source: LocalFolderSource) -> None:
    put(inbox, D1, "tax/a.xml", b"x")
    for bad in ["../2024-03-02/tax/a.xml", "/etc/passwd", "tax//a.xml", "tax\\a.xml", ""]:
        with pytest.raises(ValueError, match="not a relative path inside a night folder"):
            source.open(D1, bad)
    with source.open(D1, "tax/a.xml") as stream:
        assert stream.read() == b"x"


class _GrowingSource(LocalFolderSource):
    """A local inbox whose files keep growing after they are listed: an upload in progress."""

    def list_night(self, business_date: dt.date) -> list[RemoteFile]:
        listed = super().list_night(business_date)
        for remote in listed:
            with (self.root / business_date.isoformat() / remote.rel_path).open("ab") as stream:
                stream.write(b"more")
        return listed


def test_file_changing_during_pick_up_is_refused(inbox: Path, archive: Archive) -> None:
    inbox.mkdir()
    put(inbox, D1, "tax/a.xml", b"<EInvoice>")

    with pytest.raises(ArchiveError, match="listed with 10 bytes but 14 were read"):
        archive.land_night(_GrowingSource(inbox), D1)

    assert archive.night_manifest(D1).files == ()
    assert list((archive.root / "tmp").iterdir()) == []
    assert list(archive.objects_dir.glob("*/*")) == []


def test_torn_last_manifest_line_is_ignored_then_cut(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    put(inbox, D1, "tax/a.xml", b"a")
    first = archive.land_night(source, D1)
    with archive.manifest_path.open("ab") as stream:
        stream.write(b'{"seq":2,"business_date":"2024-03-0')  # a crash in the middle of an append

    assert archive.night_manifest(D1) == first
    put(inbox, D1, "tax/b.xml", b"b")
    archive.land_night(source, D1)

    assert [line["seq"] for line in manifest_lines(archive)] == [1, 2]
    assert archive.verify().ok, "the line appended after the cut continues the chain"


def test_unreadable_manifest_line_is_reported(archive: Archive, inbox: Path, source: LocalFolderSource) -> None:
    put(inbox, D1, "tax/a.xml", b"a")
    archive.land_night(source, D1)
    with archive.manifest_path.open("ab") as stream:
        stream.write(b'{"seq":2}\n')

    with pytest.raises(ManifestCorrupt, match=r"manifest.jsonl, line 2: missing field 'business_date'"):
        archive.night_manifest(D1)


def _rewrite_line(archive: Archive, index: int, edit) -> None:
    lines = archive.manifest_path.read_bytes().splitlines(keepends=True)
    lines[index] = edit(lines[index])
    archive.manifest_path.write_bytes(b"".join(lines))


def _without_prev(line: bytes) -> bytes:
    """The line as written before the chain existed."""
    record = {k: v for k, v in json.loads(line).items() if k != "prev"}
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def test_manifest_is_hash_chained_and_an_edited_line_breaks_it(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    put(inbox, D1, "tax/a.xml", b"<a/>")
    put(inbox, D1, "tax/b.xml", b"<b/>")
    put(inbox, D2, "tax/c.xml", b"<c/>")
    archive.land_night(source, D1)
    archive.land_night(source, D2)
    report = archive.verify()
    assert report.ok and report.head.lines == 3
    raw = archive.manifest_path.read_bytes().splitlines()
    head = ZERO_HEAD
    for line in raw:  # the chain as documented: SHA-256(previous head ‖ line)
        assert json.loads(line)["prev"] == head.hex()
        head = hashlib.sha256(head + line).digest()
    assert archive.head() == ManifestHead(3, head) == report.head

    # Point line 1 at other (existing) bytes: every field still parses, the chain does not.
    _rewrite_line(archive, 0, lambda line: line.replace(sha(b"<a/>").encode(), sha(b"<b/>").encode()))
    report = archive.verify()
    assert not report.ok
    assert report.first_problem() == (
        f"{archive.manifest_path}, line 2: the chain is broken: prev does not match the lines before it "
        "(an earlier line was edited, removed or inserted)"
    )
    with pytest.raises(ManifestCorrupt, match="line 2: the chain is broken"):
        archive.land_night(source, D2)


def test_legacy_lines_are_a_prefix_the_chain_commits_to(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    put(inbox, D1, "tax/a.xml", b"<a/>")
    archive.land_night(source, D1)
    # A manifest written before the chain existed: its line has no prev.
    _rewrite_line(archive, 0, _without_prev)
    assert archive.verify().ok
    put(inbox, D2, "tax/b.xml", b"<b/>")
    archive.land_night(source, D2)
    legacy, chained = archive.manifest_path.read_bytes().splitlines()
    assert json.loads(chained)["prev"] == hashlib.sha256(ZERO_HEAD + legacy).digest().hex()
    assert archive.verify().ok

    # A line without prev after a chained one is refused: legacy lines are a prefix only.
    put(inbox, D2, "tax/c.xml", b"<c/>")
    archive.land_night(source, D2)
    _rewrite_line(archive, 2, _without_prev)
    assert "line 3: no chain hash (prev) on a line after chained lines" in archive.verify().first_problem()


def test_verify_names_an_altered_object(inbox: Path, archive: Archive, source: LocalFolderSource) -> None:
    put(inbox, D1, "tax/a.xml", b"<a/>")
    landed = archive.land_night(source, D1).files[0]
    landed.object_path.chmod(0o644)
    landed.object_path.write_bytes(b"<a>forged</a>")
    assert archive.verify().first_problem() == (
        f"archive object {landed.object_path} was altered: its bytes hash to {sha(b'<a>forged</a>')}"
    )


def test_a_night_rehashes_only_its_own_objects_and_names_an_altered_one(
    inbox: Path, archive: Archive, source: LocalFolderSource
) -> None:
    """Landing is O(night): an altered object of another night is left to `verify` (the full
    walk); an altered object of tonight's set (bytes re-delivered, or a re-run) stops the landing."""
    put(inbox, D1, "tax/a.xml", b"<a/>")
    put(inbox, D1, "tax/b.xml", b"<b/>")
    old = {f.rel_path: f for f in archive.land_night(source, D1).files}
    for name in ("tax/a.xml", "tax/b.xml"):
        old[name].object_path.chmod(0o644)
        old[name].object_path.write_bytes(b"<forged/>")

    put(inbox, D2, "tax/c.xml", b"<c/>")
    assert [f.rel_path for f in archive.land_night(source, D2).files] == ["tax/c.xml"], "D1's objects are not read"
    assert archive.verify(objects=False).ok, "the nightly check reads the manifest only"
    assert len(archive.verify().corrupt) == 2

    put(inbox, D2, "tax/a-again.xml", b"<a/>")  # older bytes delivered again: the stored object is re-hashed
    with pytest.raises(ObjectCorrupt, match=f"archive object {old['tax/a.xml'].object_path} was altered"):
        archive.land_night(source, D2)
    with pytest.raises(ObjectCorrupt, match="was altered"):
        archive.land_night(source, D1)  # a re-run of the night
    old["tax/b.xml"].object_path.unlink()
    (inbox / D1.isoformat() / "tax" / "b.xml").unlink()
    with pytest.raises(ObjectCorrupt, match=f"archive object {sha(b'<b/>')} named by the manifest is missing"):
        archive.check_objects([sha(b"<b/>")])


def _parsed_lines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every manifest line parsed from now on."""
    parsed: list[str] = []
    from_json = Sighting.from_json.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Sighting], line: str) -> Sighting:
        parsed.append(line)
        return from_json(cls, line)

    monkeypatch.setattr(Sighting, "from_json", classmethod(spy))
    return parsed


def _read_afresh(archive: Archive, night: dt.date) -> tuple[NightManifest, ManifestHead]:
    """The night and the head as a new process reads them (every line parsed)."""
    archive_module._LAST_READ.take(archive.manifest_path)
    return archive.night_manifest(night), archive.head()


def test_a_later_read_parses_only_the_lines_appended_since(
    inbox: Path, archive: Archive, source: LocalFolderSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(inbox, D1, "tax/a.xml", b"<a/>")
    put(inbox, D1, "tax/b.xml", b"<b/>")
    archive.land_night(source, D1)
    parsed = _parsed_lines(monkeypatch)
    put(inbox, D2, "tax/a.xml", b"<a/>")  # a duplicate: its status rests on the first night's lines
    put(inbox, D2, "tax/c.xml", b"<c/>")

    landed = archive.land_night(source, D2)
    assert parsed == [], "the lines this thread read or wrote are not parsed again"
    assert archive.night_manifest(D2) == landed and archive.verify(objects=False).head == archive.head()
    assert parsed == []
    with archive.manifest_path.open("ab") as stream:  # another process appends a line
        stream.write(Sighting(5, D2, "tax/d.xml", sha(b"<d/>"), 4, "other", "2024-03-03T00:00:00+00:00",
                              prev=archive.head().head.hex()).to_json().encode() + b"\n")
    later = archive.night_manifest(D2)

    assert [json.loads(line)["seq"] for line in parsed] == [5]
    assert {f.rel_path: f.status for f in later.files} == {
        "tax/a.xml": DeliveryStatus.DUPLICATE, "tax/c.xml": DeliveryStatus.NEW, "tax/d.xml": DeliveryStatus.NEW}
    assert (later, archive.head()) == _read_afresh(archive, D2)
    parsed.clear()
    with ThreadPoolExecutor(1) as other:  # another thread reads every line: it never shares this one's index
        assert other.submit(archive.night_manifest, D2).result() == later
    assert len(parsed) == 5


def test_a_rewritten_manifest_is_read_again_whole(
    inbox: Path, archive: Archive, source: LocalFolderSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(inbox, D1, "tax/a.xml", b"<a/>")
    put(inbox, D1, "tax/b.xml", b"<b/>")
    archive.land_night(source, D1)
    before = archive.head()
    # Line 1 pointed at other bytes and line 2 chained again over it: the chain holds, the bytes differ.
    first, second = archive.manifest_path.read_bytes().splitlines()
    first = first.replace(sha(b"<a/>").encode(), sha(b"<b/>").encode())
    record = json.loads(second) | {"prev": hashlib.sha256(ZERO_HEAD + first).hexdigest()}
    second = json.dumps(record, separators=(",", ":")).encode()
    archive.manifest_path.write_bytes(first + b"\n" + second + b"\n")
    parsed = _parsed_lines(monkeypatch)

    night, head = archive.night_manifest(D1), archive.head()

    assert len(parsed) == 2, "the file no longer begins with the bytes read before: every line is read"
    assert {f.rel_path: f.sha256 for f in night.files}["tax/a.xml"] == sha(b"<b/>")
    assert head != before, "the ledger's recorded head no longer matches (audit.manifest_anchor_problem)"
    assert (night, head) == _read_afresh(archive, D1)
    archive.manifest_path.write_bytes(first + b"\n")  # cut to fewer bytes than were read
    assert archive.head().lines == 1
