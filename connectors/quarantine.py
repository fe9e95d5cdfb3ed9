"""Quarantine: what was set aside from a night's delivery, with file, position and reason.

Nothing bad is dropped silently: every record the parsers refuse, and every file that
cannot be parsed or is not part of the input contract, leaves one quarantine record in
the warehouse (table ``quarantine``), kept per business date like the parsed rows.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from warehouse.schemas import QUARANTINE

RAW_LIMIT = 2000
"""Characters of the offending text kept in a quarantine record."""


class QuarantineLog:
    """The quarantine records of one delivered file, written when the file is done."""

    def __init__(self, business_date: dt.date, rel_path: str, sha256: str, kind: str | None) -> None:
        self._fixed = (business_date, sha256, rel_path, kind)
        self.records: list[tuple] = []

    def add(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        """Record one refused record (``src_pos``) or the whole file (``src_pos`` None)."""
        business_date, sha256, rel_path, kind = self._fixed
        clipped = raw[:RAW_LIMIT] if raw is not None else None
        self.records.append(QUARANTINE.Row(business_date=business_date, src_sha256=sha256, src_path=rel_path, src_pos=src_pos,
                                           file_kind=kind, reason_code=reason_code, reason=reason, raw=clipped))

    def table(self) -> pa.Table:
        """The records as an Arrow table of the warehouse's ``quarantine`` schema."""
        return QUARANTINE.arrow(self.records)
