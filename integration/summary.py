"""The short summary of a night that ``scf run`` prints, read back from the warehouse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from warehouse.asof import verdicts_as_of_sql


@dataclass(frozen=True)
class NightSummary:
    """Counts of one night: files, records, quarantine, findings and verdicts."""

    business_date: dt.date
    files_by_status: dict[str, int]
    records: int
    quarantined: int
    findings_by_category: dict[str, int]
    verdicts: dict[str, int]


def night_summary(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> NightSummary:
    """Read the summary of ``business_date`` from the warehouse."""

    def counts(sql: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in con.execute(sql, [business_date]).fetchall()}

    totals = con.execute(
        "SELECT coalesce(sum(rows), 0), coalesce(sum(quarantined), 0) FROM files WHERE business_date = ?",
        [business_date],
    ).fetchone()
    assert totals is not None
    return NightSummary(
        business_date=business_date,
        files_by_status=counts("SELECT status, count(*) FROM files WHERE business_date = ? GROUP BY 1 ORDER BY 1"),
        records=int(totals[0]),
        quarantined=int(totals[1]),
        findings_by_category=counts(
            "SELECT category, count(*) FROM findings WHERE business_date = ? GROUP BY 1 ORDER BY 1"
        ),
        verdicts=counts(f"SELECT verdict, count(*) FROM ({verdicts_as_of_sql('$1')}) GROUP BY 1 ORDER BY 1"),
    )
