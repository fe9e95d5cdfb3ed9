"""Counts and amounts of a night's findings by severity, bank, product and check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from worklist.rows import NO_BANK, SEVERITIES, FindingRow

#: The summary's dimensions: (key, label Chinese first).
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("severity", "严重度 Severity"), ("bank", "银行 Bank"), ("product", "产品 Product"), ("check", "检查 Check"))


@dataclass(frozen=True)
class Tally:
    """Findings, distinct financings and their financed amount (each financing counted once)."""

    findings: int = 0
    financings: int = 0
    amount_fen: int = 0


def _key(row: FindingRow, dimension: str) -> str:
    if dimension == "severity":
        return row.severity
    if dimension == "bank":
        return row.bank_code or NO_BANK
    if dimension == "product":
        return row.product or "—"
    if dimension == "status":
        return row.status
    return row.check_id


def tally(rows: Sequence[FindingRow], dimension: str) -> dict[str, Tally]:
    """The rows grouped by one dimension (severities in their order, others sorted)."""
    groups: dict[str, tuple[int, dict[str, int]]] = {}
    for row in rows:
        count, financed = groups.get(_key(row, dimension), (0, {}))
        if row.financing_id:
            financed[row.financing_id] = row.amount_fen or 0
        groups[_key(row, dimension)] = (count + 1, financed)
    order = (lambda k: SEVERITIES.index(k) if k in SEVERITIES else len(SEVERITIES)) if dimension == "severity" \
        else (lambda k: k)
    return {k: Tally(groups[k][0], len(groups[k][1]), sum(groups[k][1].values())) for k in sorted(groups, key=order)}


def at_risk_fen(rows: Sequence[FindingRow]) -> int:
    """The financed amount of the distinct financings the rows name."""
    return sum({r.financing_id: r.amount_fen or 0 for r in rows if r.financing_id}.values())
