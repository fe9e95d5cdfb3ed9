"""Where a night's files come from: the ``Source`` protocol and the local-folder source.

A source holds one folder per business date, named ``YYYY-MM-DD`` (INPUTS.md); inside
it, files are addressed by their posix path relative to that folder (``rel_path``).
Only regular files count: dotfiles and files still being uploaded (``*.part``,
``*.tmp``, ``*.filepart``) are skipped, and so are symbolic links, other special files and
dot folders (with a warning).  Folders under the inbox that are not ``YYYY-MM-DD`` are
reported and skipped; a night folder that is a symbolic link is refused.

Nothing outside the inbox is read: a file is opened component by component from the night
folder with ``O_NOFOLLOW`` and checked with ``fstat`` after opening (a regular file), so a
file swapped for a symbolic link between listing and reading is refused, not followed.

A file whose name holds a character no delivered name may have (a backslash, ``%``, a
control character, a byte that is not UTF-8) is still listed and archived, under its name
escaped as ``%XX`` (:func:`escape_name`); the loader quarantines it (:func:`bad_name_reason`),
so one bad name costs that file only.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import re
import stat
import unicodedata
import urllib.parse
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from foundation.errors import ScfError

log = logging.getLogger(__name__)

_NIGHT_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UPLOAD_SUFFIXES = (".part", ".tmp", ".filepart")


@dataclass(frozen=True)
class RemoteFile:
    """A regular file of a night as a source lists it."""

    rel_path: str  # posix path relative to the night folder, e.g. "tax/inv_001.xml"
    size: int
    mtime: float | None = field(default=None, compare=False)  # when the source wrote it (POSIX seconds): its arrival


class Source(Protocol):
    """A place that holds night folders: a local inbox or an SFTP server."""

    name: str

    def nights(self) -> list[dt.date]:
        """The business dates that have a folder, oldest first."""
        ...

    def list_night(self, business_date: dt.date) -> list[RemoteFile]:
        """Every deliverable file of a night, recursively, sorted by ``rel_path``.

        A night without a folder had no delivery: the list is empty.
        """
        ...

    def open(self, business_date: dt.date, rel_path: str) -> AbstractContextManager[BinaryIO]:
        """Open one file of a night for a streaming binary read."""
        ...

    def has_marker(self, business_date: dt.date, name: str) -> bool:
        """Whether the night folder holds the regular file ``name`` (a sender's completion marker,
        which :meth:`list_night` skips as a dot file)."""
        ...

    def close(self) -> None:
        """Release connections; the source may not be used afterwards."""
        ...


class InboxError(ScfError):
    """The inbox cannot be read as configured."""


class UnsafeEntry(InboxError):
    """An inbox entry that would lead outside the inbox (a symbolic link, a special file)."""


_ESCAPED = frozenset("%\\")


def escape_name(raw: bytes) -> str:
    """A directory entry's name as a ``rel_path`` component: UTF-8 text, with every byte of a
    backslash, ``%``, a control character or invalid UTF-8 written ``%XX``."""
    out: list[str] = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        if "\udc80" <= ch <= "\udcff":  # a byte that is not UTF-8
            out.append(f"%{ord(ch) - 0xDC00:02X}")
        elif ch in _ESCAPED or unicodedata.category(ch) == "Cc":
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def unescape_path(rel_path: str) -> bytes:
    """The raw bytes of a night-relative path :func:`escape_name` wrote."""
    return urllib.parse.unquote_to_bytes(rel_path)


def bad_name_reason(rel_path: str) -> str | None:
    """Why a delivered path's name is refused (it was escaped by :func:`escape_name`), or None."""
    if "%" not in rel_path:
        return None
    return (
        f"file name {rel_path!r} holds a backslash, '%', a control character or bytes that are not UTF-8 "
        "(shown as %XX): it was archived but not parsed; ask the sender to deliver it under a plain name"
    )


def parse_night_name(name: str) -> dt.date | None:
    """The business date a folder name stands for, or ``None`` if it is not ``YYYY-MM-DD``."""
    if not _NIGHT_NAME.match(name):
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


def is_skipped_name(name: str) -> bool:
    """Whether a directory entry is a dotfile or a file still being uploaded."""
    return name.startswith(".") or name.lower().endswith(_UPLOAD_SUFFIXES)


def checked_rel_path(rel_path: str) -> PurePosixPath:
    """Validate a night-relative posix path and return it; refuse anything escaping the night."""
    if "\\" in rel_path or any(part in ("", ".", "..") for part in rel_path.split("/")):
        raise ValueError(f"not a relative path inside a night folder: {rel_path!r}")
    return PurePosixPath(rel_path)


def _open_at(parent: int, name: bytes, flags: int, where: str) -> int:
    """Open ``name`` inside the folder ``parent`` (closed either way) without following links."""
    try:
        return os.open(name, flags, dir_fd=parent)
    except OSError as err:
        if err.errno == errno.ELOOP or (err.errno == errno.ENOTDIR and flags & os.O_DIRECTORY):
            raise UnsafeEntry(
                f"{where}: {os.fsdecode(name)} is a symbolic link or not a folder (swapped while being read?): "
                "refused, nothing outside the inbox is read; remove the link from the inbox"
            ) from None
        raise
    finally:
        os.close(parent)


class LocalFolderSource:
    """Night folders under a local directory, e.g. a mounted inbox."""

    def __init__(self, root: Path, *, name: str | None = None) -> None:
        """``root`` holds the ``YYYY-MM-DD`` folders; ``name`` defaults to ``local:<root>``."""
        self.root = Path(root)
        self.name = name or f"local:{self.root}"

    def nights(self) -> list[dt.date]:
        """The business dates that have a folder under ``root``, oldest first; other folders are
        reported and skipped."""
        if not self.root.is_dir():
            raise InboxError(f"{self.name}: inbox folder {self.root} does not exist; create it or fix --inbox")
        dates = []
        for entry in os.scandir(self.root):
            if entry.is_dir() and not entry.name.startswith("."):
                day = parse_night_name(entry.name)
                if day is None:
                    log.warning("%s: skipping folder %r: not a night folder YYYY-MM-DD", self.name, entry.name)
                else:
                    dates.append(day)
        return sorted(dates)

    def list_night(self, business_date: dt.date) -> list[RemoteFile]:
        """Regular files of the night, recursively, sorted by ``rel_path``; empty if no folder."""
        night = self.root / business_date.isoformat()
        if night.is_symlink():
            raise UnsafeEntry(
                f"{self.name}: night folder {night} is a symbolic link: refused (it could lead outside the "
                "inbox); deliver the night as a real folder"
            )
        if not night.is_dir():
            log.warning("%s: no folder for night %s (%s): no delivery", self.name, business_date, night)
            return []
        files: list[RemoteFile] = []
        self._walk(os.fsencode(night), "", files)
        return sorted(files, key=lambda f: f.rel_path)

    def _walk(self, folder: bytes, prefix: str, out: list[RemoteFile]) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = escape_name(entry.name)
                if is_skipped_name(name):
                    continue
                rel_path = prefix + name
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    self._walk(entry.path, rel_path + "/", out)
                elif stat.S_ISREG(info.st_mode):
                    out.append(RemoteFile(rel_path, info.st_size, info.st_mtime))
                else:
                    log.warning("%s: skipping %s: not a regular file (not read)", self.name, os.fsdecode(entry.path))

    def open(self, business_date: dt.date, rel_path: str) -> AbstractContextManager[BinaryIO]:
        """Open a file of the night for reading (a buffered binary file), never following a
        symbolic link: each folder and the file are opened with ``O_NOFOLLOW`` from the night
        folder, and the file must be a regular file once open (:class:`UnsafeEntry` if not)."""
        checked_rel_path(rel_path)
        where = f"{self.name}: {business_date}/{rel_path}"
        parts = unescape_path(rel_path).split(b"/")
        folder_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in (business_date.isoformat().encode(), *parts[:-1]):
            fd = _open_at(fd, part, folder_flags, where)  # closes the folder it opened from
        fd = _open_at(fd, parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, where)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafeEntry(f"{where} is not a regular file: not read; remove it from the inbox")
        except BaseException:
            os.close(fd)
            raise
        return os.fdopen(fd, "rb")

    def has_marker(self, business_date: dt.date, name: str) -> bool:
        """Whether ``<root>/<date>/<name>`` is a regular file (a symbolic link is not a marker)."""
        try:
            return stat.S_ISREG(os.lstat(self.root / business_date.isoformat() / name).st_mode)
        except FileNotFoundError:
            return False

    def close(self) -> None:
        """Nothing to release for a local folder."""

    def __enter__(self) -> LocalFolderSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
