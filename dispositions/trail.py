"""The dispositions trail: ``<home>/worklist/dispositions.jsonl``, append-only and hash-chained.

Each line is one :class:`~dispositions.actions.ActionRecord` as compact JSON with ``prev``, the
chain head before it; the head after line *n* is ``SHA-256(head(n-1) ‖ line n)`` with
``head(0)`` = 32 zero bytes — the archive manifest's rule (:func:`connectors.archive.chain_next`).
Editing, inserting or removing a line breaks the chain from there on.  Removing lines from
the end, or rewriting the whole file with a fresh chain, is caught against the copy the
warehouse keeps (:mod:`dispositions.effective`): every line a night has read must still be there.
Appends hold an exclusive lock on the file and fsync it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from connectors.archive import ZERO_HEAD, chain_next
from dispositions.actions import ActionRecord, to_line
from foundation.errors import IntegrityError

TRAIL = Path("worklist") / "dispositions.jsonl"


class TrailCorrupt(IntegrityError):
    """A line of the dispositions trail cannot be read or breaks the hash chain."""


def trail_path(home: Path) -> Path:
    """Where a home keeps its dispositions trail."""
    return home / TRAIL


@dataclass
class Trail:
    """The trail as read and verified: its records, their line bytes and the chain heads."""

    records: list[ActionRecord] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)  # without the newline
    heads: list[bytes] = field(default_factory=lambda: [ZERO_HEAD])  # heads[n]: after n lines

    def add(self, record: ActionRecord, line: bytes) -> None:
        """Take one more line (already checked against the chain)."""
        self.records.append(record)
        self.lines.append(line)
        self.heads.append(chain_next(self.heads[-1], line))


def _parse(path: Path, lineno: int, line: bytes, head: bytes) -> ActionRecord:
    try:
        fields = json.loads(line.decode("utf-8"))
        prev = fields.pop("prev")
        record = ActionRecord.from_fields(fields)
    except (ValueError, KeyError, TypeError, AttributeError) as error:  # UnicodeDecodeError is a ValueError
        raise TrailCorrupt(f"dispositions trail {path}, line {lineno}: unreadable ({error})") from error
    if prev != head.hex():
        raise TrailCorrupt(f"dispositions trail {path}, line {lineno}: the hash chain is broken "
                           "(this line or one before it was edited, inserted or removed)")
    if to_line(record, prev) != line:
        raise TrailCorrupt(f"dispositions trail {path}, line {lineno}: not in its canonical form (edited)")
    return record


def read_trail(path: Path) -> Trail:
    """Read and verify the whole trail (an absent file is an empty trail).

    A last line without its newline is an append a crash cut short: it is ignored (and cut
    off by the next append).  Raises :class:`TrailCorrupt` naming the first bad line."""
    trail = Trail()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return trail
    lines = data.split(b"\n")
    for lineno, line in enumerate(lines[:-1], 1):  # lines[-1]: b"" or a torn tail
        trail.add(_parse(path, lineno, line, trail.heads[-1]), line)
    return trail


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def append_records(path: Path, make: Callable[[Trail], Sequence[ActionRecord]]) -> list[ActionRecord]:
    """Under the trail's lock: read and verify it, let ``make`` decide the records to add
    (it sees the trail as it is, e.g. to refuse a maker approving their own waiver), append
    them and fsync.  Returns the records appended."""
    with _locked(path):
        trail = read_trail(path)
        records = list(make(trail))
        if not records:
            return []
        data = bytearray()
        head = trail.heads[-1]
        for record in records:
            line = to_line(record, head.hex())
            data += line + b"\n"
            head = chain_next(head, line)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, sum(len(line) + 1 for line in trail.lines))  # a torn tail goes
            os.lseek(fd, 0, os.SEEK_END)
            if os.write(fd, bytes(data)) != len(data):
                raise OSError(f"short write appending to {path}")
            os.fsync(fd)
        finally:
            os.close(fd)
        return records
