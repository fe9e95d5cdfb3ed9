"""What a check is: its id, category, severity, rule for a back-office reader, parameters.

A check is a SQL query (``reconciliation/sql/<check_id>.sql``) over the as-of views of the
warehouse (``cur_*``, see :func:`warehouse.asof.create_asof_views`) and the shared
views of the night's session (:mod:`reconciliation.session`).  Its rows name what it
implicates and explain it:

``financing_id, voucher_id, invoice_no, bill_ref, waybill_no, severity, detail, evidence``

``severity`` may be NULL (the check's default applies) or one of :class:`Severity`, for
checks whose gravity depends on the case.  Parameters are DuckDB variables the query reads
with ``getvariable('name')``; their defaults are the check's ``params`` and configuration
overrides them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources


class Category(StrEnum):
    """The finding categories of OUTPUTS.md."""

    DUPLICATE = "duplicate"
    FAKE_TRADE = "fake_trade"
    LEDGER = "ledger"
    DATA_QUALITY = "data_quality"


class Severity(StrEnum):
    """Severities, from the gravest; ``high`` and ``critical`` block a financing."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


#: The window within which evidence that has not arrived yet is *pending*, not absent (one
#: declaration: every check that waits for evidence lists it among its parameters).
EVIDENCE_WINDOW: dict[str, int | str] = {"evidence_window_days": 7}

#: The sources the configuration requires every night (``;``-separated source ids of the
#: data-quality registry): the registry reports them missing, "not found" checks await them.
REQUIRED_SOURCES: dict[str, int | str] = {"dq_required_sources": ""}

#: Rule text shared by the checks whose finding is "not found": when it is only not yet here.
PENDING_RULE = (
    " Not yet is not absent: a source is judged at the grain of whoever delivers it (one core's ERP "
    "file, one carrier's waybills, the tax platform's nightly invoices). When the source that would "
    "hold the record has not delivered since a "
    "night from evidence_window_days before the financing's first night on (or never has; a late "
    "delivery brings the nights it missed), or its last delivery in that time arrived after the night's "
    "cut-off (DQ_SOURCE_LATE) or held no record (DQ_SOURCE_EMPTY), or a file of it was quarantined whole in that time, or a "
    "quarantined record of it names the document, the finding is pending (medium, data_quality, "
    "\"Evidence pending since …\", naming the source) until evidence_window_days after the "
    "financing's first night; then the finding stands."
)


def severity_rank_sql(column: str = "severity") -> str:
    """SQL ranking a severity column gravest first: 0 critical, 1 high, 2 medium, 3 low (or other)."""
    ranks = " ".join(f"WHEN '{severity.value}' THEN {rank}" for rank, severity in enumerate(Severity))
    return f"CASE {column} {ranks} ELSE {len(Severity) - 1} END"


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue."""

    check_id: str
    category: Category
    severity: Severity
    title: str
    rule: str
    params: dict[str, int | str] = field(default_factory=dict)
    query: str | None = None  # a SQL file shared by a family of checks (it reads getvariable('check_id'))

    def sql(self) -> str:
        """The check's query text."""
        name = self.query or self.check_id
        return resources.files("reconciliation.sql").joinpath(f"{name}.sql").read_text("utf-8")
