"""Refused events and financings, and pending events (``ledger_rejections``), and the
financings they implicate.

The rows of a night (``as_of``) are the ledger's decisions as of that night, computed from
what was delivered up to it: running the night again replaces them, with the same rows
when the deliveries are the same, and the rows the corrected deliveries imply when they
are not.  Readers take the night's rows through the ``ledger_rejections_as_of(d)`` table
macro (rows written before nights were kept apart have no ``as_of`` and count from their
night on).  Which financings a refusal implicates is decided in one place, the checks'
``ledger_implications`` (``reconciliation/sql/_prelude_ledger.sql``, read by ``LEDGER.sql``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from ledger.store import insert_arrow

EVENT, FINANCING, LEDGER = "EVENT", "FINANCING", "LEDGER"

RejectionKey = tuple[str, str | None, bytes | None]
"""(subject, subject id, content hash)."""


@dataclass(frozen=True)
class RejectionRecord:
    """One row of ``ledger_rejections``."""

    business_date: dt.date
    subject: str
    subject_id: str | None
    content_hash: bytes | None
    check_id: str
    event_id: str | None
    voucher_id: str | None
    financing_id: str | None
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> RejectionKey:
        """What identifies the refused thing across nights."""
        return (self.subject, self.subject_id, self.content_hash)


def to_json(evidence: Mapping[str, Any]) -> str:
    """Evidence as canonical JSON (sorted keys; dates and bytes as text)."""

    def default(value: Any) -> Any:
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if isinstance(value, bytes):
            return value.hex()
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    return json.dumps(evidence, sort_keys=True, ensure_ascii=False, default=default)


def known_rejections(
    con: duckdb.DuckDBPyConnection, subject: str, subject_ids: Iterable[str]
) -> dict[RejectionKey, dt.date]:
    """Existing rejections of the given subjects: key -> night first refused."""
    ids = sorted(set(subject_ids))
    if not ids:
        return {}
    con.register("_ledger_wanted_subjects", pa.table({"subject_id": pa.array(ids, pa.string())}))
    try:
        rows = con.execute(
            "SELECT r.subject_id, r.content_hash, min(r.business_date) FROM ledger_rejections r "
            "JOIN _ledger_wanted_subjects w USING (subject_id) WHERE r.subject = ? "
            "GROUP BY r.subject_id, r.content_hash",
            [subject],
        ).fetchall()
    finally:
        con.unregister("_ledger_wanted_subjects")
    return {(subject, r[0], bytes(r[1]) if r[1] is not None else None): r[2] for r in rows}


AS_OF_MACRO = """
CREATE OR REPLACE MACRO ledger_rejections_as_of(d) AS TABLE
SELECT * FROM ledger_rejections WHERE as_of = d OR (as_of IS NULL AND business_date <= d)
"""


def store_night(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    records: Iterable[RejectionRecord],
    *,
    carried: tuple[dt.date, str, str] | None = None,
) -> None:
    """Make the event and financing rows of night ``as_of`` exactly ``records``
    (``LEDGER_INTEGRITY`` rows are never dropped).

    ``carried`` = (earlier night, table of event ids, table of financing ids): the night
    decided only those events and financings again; the earlier night's rows about the
    others stand, and are kept as this night's too.
    """
    con.execute("DELETE FROM ledger_rejections WHERE as_of = ? AND subject IN (?, ?)", [as_of, EVENT, FINANCING])
    if carried is not None:
        base, events, financings = carried
        con.execute(
            f"INSERT INTO ledger_rejections BY NAME SELECT * REPLACE (CAST($d AS DATE) AS as_of) FROM ledger_rejections "
            f"WHERE as_of = $base AND ((subject = $event AND subject_id NOT IN (SELECT event_id FROM {events})) "
            f"OR (subject = $financing AND subject_id NOT IN (SELECT financing_id FROM {financings})))",
            {"d": as_of, "base": base, "event": EVENT, "financing": FINANCING},
        )
    insert_rejections(con, records, as_of=as_of)


def insert_rejections(
    con: duckdb.DuckDBPyConnection, records: Iterable[RejectionRecord], *, as_of: dt.date | None = None
) -> None:
    """Append rows to ``ledger_rejections`` (decisions of night ``as_of``, if given)."""
    rows = list(records)
    if not rows:
        return
    insert_arrow(
        con,
        "ledger_rejections",
        pa.table(
            {
                "business_date": pa.array([r.business_date for r in rows], pa.date32()),
                "subject": pa.array([r.subject for r in rows], pa.string()),
                "subject_id": pa.array([r.subject_id for r in rows], pa.string()),
                "content_hash": pa.array([r.content_hash for r in rows], pa.binary()),
                "check_id": pa.array([r.check_id for r in rows], pa.string()),
                "event_id": pa.array([r.event_id for r in rows], pa.string()),
                "voucher_id": pa.array([r.voucher_id for r in rows], pa.string()),
                "financing_id": pa.array([r.financing_id for r in rows], pa.string()),
                "reason": pa.array([r.reason for r in rows], pa.string()),
                "evidence": pa.array([to_json(r.evidence) for r in rows], pa.string()),
                "as_of": pa.array([as_of] * len(rows), pa.date32()),
            }
        ),
    )
