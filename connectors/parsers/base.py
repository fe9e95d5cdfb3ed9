"""What every parser shares: the parse context, the sink protocol and the two error kinds.

A parser reports a record that breaks the format by raising :class:`BadRecord` from its
record handler: the file reader (CSV or XML) catches it, quarantines that record with its
position and goes on.  A file that cannot be parsed at all raises :class:`FileRejected`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from foundation.values import MAX_AMOUNT_FEN


@dataclass(frozen=True)
class ParseContext:
    """Everything a parser needs to know about the file besides its bytes."""

    business_date: dt.date
    rel_path: str  # posix path relative to the night folder, e.g. "erp/<uscc>/po_items.csv"
    sha256: str
    kind: str  # the input kind's name (connectors.kinds)
    csv_encoding: str | None = None  # configured override ("utf-8", "gb18030"); None = detect
    csv_delimiter: str | None = None  # configured override ("," or "|"); None = detect
    max_amount_fen: int = MAX_AMOUNT_FEN  # plausibility ceiling of one money amount (configured)
    scratch_dir: str | None = None  # where a parser may write temporary files (the night's spool folder)


class Sink(Protocol):
    """Where a parser sends its output."""

    def rows(self, table: str, batch: pa.RecordBatch) -> None:
        """Receive a batch whose schema is ``SCHEMAS[table]``."""

    def quarantine(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        """Receive one record that broke the format (it was skipped)."""


class FileRejected(Exception):
    """The whole file is unusable (corrupt XML, no header …): the loader drops all its rows."""

    def __init__(self, reason_code: str, reason: str, src_pos: int | None = None) -> None:
        super().__init__(f"{reason_code}: {reason}")
        self.reason_code = reason_code
        self.reason = reason
        self.src_pos = src_pos


class BadRecord(ValueError):
    """One record breaks the format: it is quarantined and the file goes on."""

    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


def folder_uscc(rel_path: str) -> str | None:
    """The USCC naming the sub-folder of ``erp/`` or ``logistics/``, if the path has one."""
    parts = rel_path.split("/")
    if len(parts) == 3 and parts[0] in ("erp", "logistics"):
        return parts[1]
    return None


_PYTHON_ONLY: ContextVar[bool] = ContextVar("python_only", default=False)


@contextmanager
def python_only() -> Iterator[None]:
    """Within the block, every record (XML) and row (CSV) is read one by one in Python (the oracle of the columnar paths)."""
    token = _PYTHON_ONLY.set(True)
    try:
        yield
    finally:
        _PYTHON_ONLY.reset(token)


def python_only_in_force() -> bool:
    """Whether :func:`python_only` is in force."""
    return _PYTHON_ONLY.get()
