"""The content-addressed archive of delivered files and its append-only manifest.

Layout under the archive root (docs/ARCHITECTURE.md, "Archive and manifest"):

* ``objects/<sha[:2]>/<sha>``: the bytes of every file ever received, read-only,
  named by their SHA-256; written through a temp file, fsync and rename.
* ``manifest.jsonl``: one JSON line per *sighting*: ``seq, business_date, rel_path,
  sha256, size, source, received_at, arrived_at (the source's own time of the file, when it gives one),
  prev``. A sighting is appended only when
  ``(business_date, rel_path)`` has no entry yet or its latest entry has other bytes.

The manifest is hash-chained: the chain head after line ``n`` is
``SHA-256(head(n-1) ‖ line n)`` (the line's bytes without its newline; ``head(0)`` is 32
zero bytes), and every line carries the head before it as ``prev`` (hex).  Lines written
before the chain existed carry no ``prev``; they are accepted as a *legacy prefix* only
(hashed into the chain like any line, so the first chained line commits to them).  An
edited, removed or inserted line breaks the chain at the next line; the ledger records
the head each night (:class:`ManifestHead`), which covers the last lines too.
:meth:`Archive.verify` checks the chain and every object's bytes against its name (``scf verify``).
A night checks less, in proportion to the night: reading the manifest checks its whole chain
(cheap: no object is read; the stages of a night read it five times, and each read after the first in
a thread re-hashes the bytes already read, unparsed, and parses only the lines after them), an
object written tonight is hashed as it streams in, and every other object of the night's set (a
re-delivery of older bytes, a re-run) is re-hashed before :meth:`Archive.land_night` returns.  An
altered object of an older night that is not in tonight's set is left to ``scf verify``: no night reads it.

The file set of a night is the latest sighting of each of its paths, including paths
the source no longer lists: nothing received is ever lost. Every status is derived
from the manifest alone, so landing a night again gives the same answer.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from connectors.sources import RemoteFile, Source
from foundation.errors import IntegrityError
from foundation.vocabulary import DeliveryStatus

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
COMMITTING_THREADS = 4
"""Received files whose objects are made durable at once (:meth:`Archive.land_night`): an fsync waits for the disk
without the GIL, and concurrent fsyncs share the file system's journal commits."""
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ArchiveError(Exception):
    """The archive cannot take or give a file as asked."""


class ManifestCorrupt(ArchiveError, IntegrityError):
    """A manifest line cannot be read or breaks the hash chain: the archive needs an operator."""


class ObjectCorrupt(ArchiveError, IntegrityError):
    """An archived object no longer hashes to its name, or is missing: the archive needs an operator."""


ZERO_HEAD = bytes(32)


def chain_next(head: bytes, line: bytes) -> bytes:
    """The chain head after ``line`` (its bytes without the newline) follows ``head``."""
    return hashlib.sha256(head + line).digest()


@dataclass(frozen=True)
class ManifestHead:
    """The manifest's chain head after its first ``lines`` lines (what the ledger records)."""

    lines: int
    head: bytes


@dataclass(frozen=True)
class Sighting:
    """One line of the manifest: bytes seen at a night's path."""

    seq: int
    business_date: dt.date
    rel_path: str
    sha256: str
    size: int
    source: str
    received_at: str  # UTC, ISO 8601
    prev: str | None = None  # hex chain head before this line; None on legacy lines only
    arrived_at: str | None = None  # UTC, ISO 8601: the source's modification time (None: not known)

    def to_json(self) -> str:
        """The manifest line, without its newline."""
        record = {
            "seq": self.seq,
            "business_date": self.business_date.isoformat(),
            "rel_path": self.rel_path,
            "sha256": self.sha256,
            "size": self.size,
            "source": self.source,
            "received_at": self.received_at,
        }
        if self.arrived_at is not None:
            record["arrived_at"] = self.arrived_at
        if self.prev is not None:
            record["prev"] = self.prev
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Sighting:
        """Parse a manifest line; raises ``ValueError`` naming what is wrong."""
        record = json.loads(line)
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        try:
            sighting = cls(
                seq=record["seq"],
                business_date=dt.date.fromisoformat(record["business_date"]),
                rel_path=record["rel_path"],
                sha256=record["sha256"],
                size=record["size"],
                source=record["source"],
                received_at=record["received_at"],
                prev=record.get("prev"),
                arrived_at=record.get("arrived_at"),
            )
        except KeyError as exc:
            raise ValueError(f"missing field {exc}") from exc
        if not (isinstance(sighting.seq, int) and isinstance(sighting.size, int) and sighting.size >= 0):
            raise ValueError("seq and size must be integers, size >= 0")
        if not (isinstance(sighting.sha256, str) and _SHA256.match(sighting.sha256)):
            raise ValueError(f"sha256 {sighting.sha256!r} is not 64 lowercase hex digits")
        if not (isinstance(sighting.rel_path, str) and sighting.rel_path):
            raise ValueError("rel_path must be a non-empty string")
        if sighting.prev is not None and not (isinstance(sighting.prev, str) and _SHA256.match(sighting.prev)):
            raise ValueError(f"prev {sighting.prev!r} is not 64 lowercase hex digits")
        return sighting


@dataclass(frozen=True)
class LandedFile:
    """A file of a night's set: the latest bytes of one path of that night."""

    rel_path: str
    sha256: str
    size: int
    object_path: Path
    status: DeliveryStatus
    superseded: tuple[str, ...]  # earlier other bytes of this night and path, oldest first
    received_at: str | None = None  # when the engine landed these bytes (UTC, ISO 8601)
    arrived_at: str | None = None  # when the source wrote them (UTC, ISO 8601; None: not known)
    seq: int | None = None  # the manifest seq of this sighting: the file's delivery order (warehouse.asof)

    @property
    def to_parse(self) -> bool:
        """Whether the night's load must parse this file (``new`` or ``restated``)."""
        return self.status is not DeliveryStatus.DUPLICATE


@dataclass(frozen=True)
class NightManifest:
    """The file set of one night, sorted by ``rel_path``."""

    business_date: dt.date
    files: tuple[LandedFile, ...]

    def to_parse(self) -> tuple[LandedFile, ...]:
        """The files whose rows belong to this night: ``new`` and ``restated`` ones."""
        return tuple(f for f in self.files if f.to_parse)


@dataclass(frozen=True)
class CorruptObject:
    """An object whose bytes no longer hash to its name."""

    path: Path
    expected_sha256: str
    actual_sha256: str


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :meth:`Archive.verify`."""

    checked: int
    corrupt: tuple[CorruptObject, ...]
    missing: tuple[str, ...]  # sha256s the manifest names with no object on disk
    manifest_problem: str | None = None  # the manifest is unreadable or its chain is broken
    heads: tuple[bytes, ...] = (ZERO_HEAD,)  # heads[n]: the chain head after n lines

    @property
    def ok(self) -> bool:
        """True when the manifest verifies, every object is intact and every sighting has its object."""
        return self.manifest_problem is None and not self.corrupt and not self.missing

    @property
    def head(self) -> ManifestHead:
        """The chain head after the last line."""
        return ManifestHead(len(self.heads) - 1, self.heads[-1])

    def first_problem(self) -> str | None:
        """One line naming the first problem (the manifest line or object), or None."""
        if self.manifest_problem is not None:
            return self.manifest_problem
        if self.corrupt:
            c = self.corrupt[0]
            return f"archive object {c.path} was altered: its bytes hash to {c.actual_sha256}"
        if self.missing:
            return f"archive object {self.missing[0]} named by the manifest is missing"
        return None


class _Index:
    """The manifest in memory: sightings per night and path, and each sha's first sighting; and
    how many bytes of the file it was read from (``size``) with their SHA-256 (``digest``)."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.nights: dict[dt.date, dict[str, list[Sighting]]] = {}
        self.first_by_sha: dict[str, Sighting] = {}
        self.heads = [ZERO_HEAD]  # heads[n]: the chain head after n lines
        self._chained = False  # a chained line was read: every later line must be chained
        self.size = 0  # bytes of the manifest these lines are (each line and its newline)
        self.digest = hashlib.sha256()  # of those bytes

    @property
    def head(self) -> bytes:
        return self.heads[-1]

    def add(self, sighting: Sighting, line: bytes) -> None:
        """Add a sighting read (or about to be written) as ``line``; check its chain link."""
        if sighting.seq <= self.last_seq:
            raise ValueError(f"seq {sighting.seq} does not follow seq {self.last_seq}")
        if sighting.prev is None:
            if self._chained:
                raise ValueError("no chain hash (prev) on a line after chained lines")
        elif sighting.prev != self.head.hex():
            raise ValueError(
                "the chain is broken: prev does not match the lines before it (an earlier line was edited, "
                "removed or inserted)"
            )
        self._chained = sighting.prev is not None
        self.heads.append(chain_next(self.head, line))
        self.size += len(line) + 1
        self.digest.update(line + b"\n")
        self.last_seq = sighting.seq
        self.nights.setdefault(sighting.business_date, {}).setdefault(sighting.rel_path, []).append(sighting)
        self.first_by_sha.setdefault(sighting.sha256, sighting)

    def latest(self, business_date: dt.date, rel_path: str) -> Sighting | None:
        history = self.nights.get(business_date, {}).get(rel_path)
        return history[-1] if history else None

    def night_manifest(self, business_date: dt.date, archive: Archive) -> NightManifest:
        paths = self.nights.get(business_date, {})
        return NightManifest(
            business_date,
            tuple(self._landed(history, archive) for _, history in sorted(paths.items())),
        )

    def _landed(self, history: list[Sighting], archive: Archive) -> LandedFile:
        latest = history[-1]
        first = self.first_by_sha[latest.sha256]
        superseded = tuple(dict.fromkeys(s.sha256 for s in history if s.sha256 != latest.sha256))
        if (first.business_date, first.rel_path) != (latest.business_date, latest.rel_path):
            status = DeliveryStatus.DUPLICATE
        elif superseded:
            status = DeliveryStatus.RESTATED
        else:
            status = DeliveryStatus.NEW
        return LandedFile(
            latest.rel_path, latest.sha256, latest.size, archive.object_path(latest.sha256), status, superseded,
            latest.received_at, latest.arrived_at, latest.seq,
        )


class _LastRead(threading.local):
    """The manifest index this thread read last, and of which file (one at most): a later read of a file
    that still begins with its bytes parses only the lines after them (``Archive._read_index``).  Kept
    per thread: an index being read or extended is never another thread's."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.index: _Index | None = None

    def take(self, path: Path) -> _Index | None:
        """The index read last if it was of ``path``; forgotten either way (kept again once read whole)."""
        index = self.index if self.path == path else None
        self.path = self.index = None
        return index

    def keep(self, path: Path, index: _Index) -> None:
        """Remember ``index`` as read from ``path``."""
        self.path, self.index = path, index


_LAST_READ = _LastRead()


class Archive:
    """The archive folder: immutable objects plus the manifest of sightings."""

    def __init__(self, root: Path) -> None:
        """``root`` is the archive folder (``<home>/archive``); it is created on first landing."""
        self.root = Path(root)
        self.objects_dir = self.root / "objects"
        self.manifest_path = self.root / "manifest.jsonl"
        self._tmp_dir = self.root / "tmp"
        self._lock_path = self.root / "manifest.lock"

    def object_path(self, sha256: str) -> Path:
        """Where the object with this SHA-256 lives (whether or not it exists)."""
        return self.objects_dir / sha256[:2] / sha256

    def land_night(
        self, source: Source, business_date: dt.date, on_file: Callable[[RemoteFile], None] | None = None
    ) -> NightManifest:
        """Download every file the source lists for the night, record sightings, return the night's set.

        Each file is streamed into an object while hashed; its object is fsynced (in a thread,
        while the next files stream in) before it takes its name, and its sighting is appended
        after that, in listed order; the manifest is fsynced once, before this returns.  An
        interrupted landing keeps the objects it stored and the sightings that reached the disk;
        the next landing of the night appends what is missing.  Holds an exclusive lock on the
        archive while it runs.  ``on_file`` is told each listed file once it is stored (progress).

        Every object of the returned set is intact: written (and hashed) by this landing, or
        re-hashed here; else :class:`ObjectCorrupt` names it.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked():
            index = self._read_index(repair=True)
            self._clear_tmp()
            listed = source.list_night(business_date)
            appended = 0
            written: set[str] = set()  # objects whose bytes were hashed as they were written tonight
            with self._appender() as append:
                for remote, (sha256, size, new_object) in self._stored(source, business_date, listed):
                    if new_object:
                        written.add(sha256)
                    if on_file:
                        on_file(remote)
                    latest = index.latest(business_date, remote.rel_path)
                    if latest is not None and latest.sha256 == sha256:
                        continue
                    sighting = Sighting(
                        seq=index.last_seq + 1,
                        business_date=business_date,
                        rel_path=remote.rel_path,
                        sha256=sha256,
                        size=size,
                        source=source.name,
                        received_at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                        prev=index.head.hex(),
                        arrived_at=None if remote.mtime is None else dt.datetime.fromtimestamp(
                            remote.mtime, dt.UTC).isoformat(timespec="seconds"),
                    )
                    index.add(sighting, append(sighting))
                    log.info(
                        "night %s: %s sighted (%s, %d bytes)%s", business_date, remote.rel_path, sha256[:12], size,
                        "" if latest is None else f", replacing {latest.sha256[:12]}",
                    )
                    appended += 1
            manifest = index.night_manifest(business_date, self)
            self.check_objects(f.sha256 for f in manifest.files if f.sha256 not in written)
        counts = {status.value: sum(f.status is status for f in manifest.files) for status in DeliveryStatus}
        log.info(
            "night %s from %s: %d files listed, %d new sightings; set of %d files: %s",
            business_date, source.name, len(listed), appended, len(manifest.files), counts,
        )
        return manifest

    def night_manifest(self, business_date: dt.date) -> NightManifest:
        """The night's file set from the manifest alone (no source needed)."""
        return self._read_index(repair=False).night_manifest(business_date, self)

    def head(self) -> ManifestHead:
        """The manifest's chain head (raises :class:`ManifestCorrupt` if the chain is broken)."""
        heads = self._read_index(repair=False).heads
        return ManifestHead(len(heads) - 1, heads[-1])

    def verify(self, *, objects: bool = True) -> VerifyReport:
        """Check the manifest's hash chain and, with ``objects``, re-hash every object and check
        that every sighting's object exists (``scf verify``: that part grows with the archive).
        Without ``objects`` (a night, before landing) only the manifest is read."""
        try:
            index = self._read_index(repair=False)
        except ManifestCorrupt as exc:
            log.error("%s", exc)
            return VerifyReport(0, (), (), manifest_problem=str(exc))
        if not objects:
            return VerifyReport(0, (), (), heads=tuple(index.heads))
        paths = [
            path for path in sorted(self.objects_dir.glob("??/*"))
            if _SHA256.match(path.name) and path.parent.name == path.name[:2]
        ]
        corrupt = _altered(paths)
        missing = tuple(sorted(sha for sha in index.first_by_sha if not self.object_path(sha).is_file()))
        for sha in missing:
            log.error("archive object %s named by the manifest is missing", sha)
        return VerifyReport(len(paths), corrupt, missing, heads=tuple(index.heads))

    def check_objects(self, sha256s: Iterable[str]) -> int:
        """Re-hash the named objects; raise :class:`ObjectCorrupt` on the first one altered or
        missing.  Returns how many were checked."""
        paths = [self.object_path(sha) for sha in dict.fromkeys(sha256s)]
        missing = next((path for path in paths if not path.is_file()), None)
        if missing is not None:
            raise ObjectCorrupt(f"archive object {missing.name} named by the manifest is missing")
        corrupt = _altered(paths)
        if corrupt:
            raise ObjectCorrupt(VerifyReport(len(paths), corrupt, ()).first_problem() or "")
        return len(paths)

    # -- manifest -------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read_index(self, *, repair: bool) -> _Index:
        """Read the manifest, checking its whole chain.

        The index this thread read last (:data:`_LAST_READ`) is reused when the file still begins
        with the very bytes it was read from (their SHA-256 computed again; no line of them parsed):
        only the lines after them are read and chained on.  Any other file is read from its first line.

        A last line without its newline is a write cut short by a crash (its landing
        never returned): ignored, and with ``repair`` (under the lock) cut off the file.
        """
        known = _LAST_READ.take(self.manifest_path)
        try:
            stream = self.manifest_path.open("rb")
        except FileNotFoundError:
            index = _Index()
            _LAST_READ.keep(self.manifest_path, index)
            return index
        with stream:
            index = _read_before(stream, known)
            for lineno, line in enumerate(stream, len(index.heads)):
                if not line.endswith(b"\n"):
                    self._torn_tail(index.size, line, repair)
                    break
                try:
                    index.add(Sighting.from_json(line.decode("utf-8")), line[:-1])
                except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
                    raise ManifestCorrupt(f"{self.manifest_path}, line {lineno}: {exc}") from exc
        _LAST_READ.keep(self.manifest_path, index)
        return index

    def _torn_tail(self, offset: int, tail: bytes, repair: bool) -> None:
        if not repair:
            log.debug("%s: ignoring an incomplete last line", self.manifest_path)
            return
        log.warning("%s: cutting off an incomplete last line left by a crash: %r", self.manifest_path, tail)
        with self.manifest_path.open("r+b") as stream:
            stream.truncate(offset)
            os.fsync(stream.fileno())

    @contextmanager
    def _appender(self) -> Iterator[Callable[[Sighting], bytes]]:
        created = not self.manifest_path.exists()
        fd = os.open(self.manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if created:
                _fsync_dir(self.root)

            def append(sighting: Sighting) -> bytes:
                """Write the sighting's line; return its bytes (without the newline)."""
                line = sighting.to_json().encode("utf-8")
                data = line + b"\n"
                if os.write(fd, data) != len(data):
                    raise ArchiveError(f"short write appending to {self.manifest_path}")
                return line

            yield append
            os.fsync(fd)  # once, for the lines of the landing (a torn last line is cut by the next landing)
        finally:
            os.close(fd)

    # -- objects --------------------------------------------------------------------

    def _clear_tmp(self) -> None:
        """Remove temp files a crashed landing left behind (safe: the lock is held)."""
        self._tmp_dir.mkdir(exist_ok=True)
        for stale in self._tmp_dir.iterdir():
            log.warning("archive: removing stale temp file %s", stale)
            stale.unlink()

    def _stored(
        self, source: Source, business_date: dt.date, listed: list[RemoteFile]
    ) -> Iterator[tuple[RemoteFile, tuple[str, int, bool]]]:
        """Each listed file, in listed order, once stored (:meth:`_receive` here, one file at a time from the
        source; :meth:`_commit` in :data:`COMMITTING_THREADS` threads, so that the objects' fsyncs overlap the
        next files' copying and each other), with its SHA-256, size and whether its object was written now.  On an
        error every file received is still committed (an object no sighting names yet: the next landing finds it)."""
        with ThreadPoolExecutor(COMMITTING_THREADS) as pool:
            committing: deque[tuple[RemoteFile, str, int, Future[bool]]] = deque()
            for remote in listed:
                tmp, sha256, size = self._receive(source, business_date, remote)
                committing.append((remote, sha256, size, pool.submit(self._commit, tmp, sha256)))
                while committing and committing[0][3].done():
                    done, sha256, size, commit = committing.popleft()
                    yield done, (sha256, size, commit.result())
            while committing:
                done, sha256, size, commit = committing.popleft()
                yield done, (sha256, size, commit.result())

    def _receive(self, source: Source, business_date: dt.date, remote: RemoteFile) -> tuple[Path, str, int]:
        """Stream one remote file into a temp file of the archive while hashing it; return it, its SHA-256 and size."""
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp_dir, prefix="incoming-")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out, source.open(business_date, remote.rel_path) as stream:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                os.fchmod(out.fileno(), 0o444)
            if size != remote.size:
                raise ArchiveError(
                    f"{source.name}: {business_date}/{remote.rel_path} was listed with {remote.size} bytes "
                    f"but {size} were read: it changed while being picked up (still uploading?); "
                    "land the night again once the delivery is complete"
                )
            return tmp, digest.hexdigest(), size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _commit(self, tmp: Path, sha256: str) -> bool:
        """Give a received temp file its object's name, its bytes on disk first (fsync, rename, fsync of the
        folder); return whether the object was written now (else it was there already, and ``tmp`` is dropped)."""
        try:
            target = self.object_path(sha256)
            if target.exists():
                tmp.unlink()
                return False
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
            return True
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _read_before(stream: BinaryIO, known: _Index | None) -> _Index:
    """``known`` (a manifest index read before), with ``stream`` after its bytes, if the file still begins
    with them (their SHA-256 computed again); else a new index, with ``stream`` at the start."""
    if known is None:
        return _Index()
    digest, remaining = hashlib.sha256(), known.size
    while remaining and (chunk := stream.read(min(_CHUNK, remaining))):
        digest.update(chunk)
        remaining -= len(chunk)
    if remaining == 0 and digest.digest() == known.digest.digest():
        return known
    stream.seek(0)
    return _Index()


def _altered(paths: list[Path]) -> tuple[CorruptObject, ...]:
    """The objects among ``paths`` whose bytes no longer hash to their names (hashed in threads)."""
    corrupt: list[CorruptObject] = []
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # hashlib releases the GIL: one core each
        for path, actual in zip(paths, pool.map(_hash_file, paths), strict=True):
            if actual != path.name:
                log.error("archive object %s is corrupt: its bytes hash to %s", path, actual)
                corrupt.append(CorruptObject(path, path.name, actual))
    return tuple(corrupt)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
