"""Where a night's files come from: the ``Source`` protocol and the local-folder source.

A source holds one folder per business date, named ``YYYY-MM-DD`` (INPUTS.md); inside
it, files are addressed by their posix path relative to that folder (``rel_path``).
Only regular files count: dotfiles and files still being uploaded (``*.part``,
``*.tmp``, ``*.filepart``) are skipped, and so are symbolic links and dot folders.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import stat
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

log = logging.getLogger(__name__)

_NIGHT_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UPLOAD_SUFFIXES = (".part", ".tmp", ".filepart")


@dataclass(frozen=True)
class RemoteFile:
    """A regular file of a night as a source lists it."""

    rel_path: str  # posix path relative to the night folder, e.g. "tax/inv_001.xml"
    size: int


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

    def close(self) -> None:
        """Release connections; the source may not be used afterwards."""
        ...


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


class LocalFolderSource:
    """Night folders under a local directory, e.g. a mounted inbox."""

    def __init__(self, root: Path, *, name: str | None = None) -> None:
        """``root`` holds the ``YYYY-MM-DD`` folders; ``name`` defaults to ``local:<root>``."""
        self.root = Path(root)
        self.name = name or f"local:{self.root}"

    def nights(self) -> list[dt.date]:
        """The business dates that have a folder under ``root``, oldest first."""
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.name}: inbox folder {self.root} does not exist")
        dates = (parse_night_name(entry.name) for entry in os.scandir(self.root) if entry.is_dir())
        return sorted(d for d in dates if d is not None)

    def list_night(self, business_date: dt.date) -> list[RemoteFile]:
        """Regular files of the night, recursively, sorted by ``rel_path``; empty if no folder."""
        night = self.root / business_date.isoformat()
        if not night.is_dir():
            log.warning("%s: no folder for night %s (%s): no delivery", self.name, business_date, night)
            return []
        files: list[RemoteFile] = []
        self._walk(night, "", files)
        return sorted(files, key=lambda f: f.rel_path)

    def _walk(self, folder: Path, prefix: str, out: list[RemoteFile]) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if is_skipped_name(entry.name):
                    continue
                rel_path = prefix + entry.name
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    self._walk(Path(entry.path), rel_path + "/", out)
                elif stat.S_ISREG(info.st_mode):
                    out.append(RemoteFile(rel_path, info.st_size))
                else:
                    log.warning("%s: skipping %s: not a regular file", self.name, entry.path)

    def open(self, business_date: dt.date, rel_path: str) -> AbstractContextManager[BinaryIO]:
        """Open a file of the night for reading (a buffered binary file)."""
        path = self.root / business_date.isoformat() / checked_rel_path(rel_path)
        return path.open("rb")

    def close(self) -> None:
        """Nothing to release for a local folder."""

    def __enter__(self) -> LocalFolderSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
