"""What a check is: its id, family, category, severity, rule for a back-office reader, parameters.

A check is a SQL query (``reconciliation/sql/<check_id>.sql``, whose header block declares
everything else: :mod:`reconciliation.catalogue` reads it) over the as-of views of the
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

    @property
    def rank(self) -> int:
        """0 for the gravest, increasing (the order of the enum)."""
        return list(Severity).index(self)

    @property
    def blocks(self) -> bool:
        """Whether a finding of this severity makes its financing ``blocked``."""
        return self.rank <= Severity.HIGH.rank


class Family(StrEnum):
    """What a check reads, in the order the families run: the delivered rows (``first``), the
    four-flow match (``trade``), the ledger's refusals (``ledger``), the night's source issues
    (``source``), and the findings of every other family (``pool``: the surveillance runs last)."""

    FIRST = "first"
    TRADE = "trade"
    LEDGER = "ledger"
    SOURCE = "source"
    POOL = "pool"


def severity_rank_sql(column: str = "severity") -> str:
    """SQL ranking a severity column gravest first (:attr:`Severity.rank`; anything else as ``low``)."""
    ranks = " ".join(f"WHEN '{severity.value}' THEN {severity.rank}" for severity in Severity)
    return f"CASE {column} {ranks} ELSE {Severity.LOW.rank} END"


def severity_macros_sql() -> str:
    """The session's SQL macro of the severity vocabulary, ``severity_rank(s)``, for the check bodies."""
    return f"CREATE OR REPLACE TEMP MACRO severity_rank(s) AS {severity_rank_sql('s')};\n"


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue (read from a header of ``source``, a SQL file whose body,
    ``body``, may be shared by a family of checks: it reads ``getvariable('check_id')``)."""

    check_id: str
    family: Family
    category: Category
    severity: Severity
    title: str
    rule: str
    body: str = field(repr=False)
    source: str = ""
    params: dict[str, int | str] = field(default_factory=dict)

    def sql(self) -> str:
        """The check's executable query (its file without the header blocks)."""
        return self.body
