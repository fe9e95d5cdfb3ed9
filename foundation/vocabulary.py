"""Vocabularies of the delivered data that several layers read, one enum each."""

from __future__ import annotations

from enum import StrEnum


class FinancingStatus(StrEnum):
    """A financing's ``status`` in ``platform/financings.csv`` (INPUTS.md)."""

    ACTIVE = "ACTIVE"
    REPAID = "REPAID"
    DEFAULTED = "DEFAULTED"
    CANCELLED = "CANCELLED"

    @property
    def closed(self) -> bool:
        """Whether the financing is no longer live: its verdict is ``closed`` whatever its findings."""
        return self is not FinancingStatus.ACTIVE


#: The statuses of a closed financing, as SQL literals for ``IN (…)``.
CLOSED_STATUSES_SQL = ", ".join(f"'{s.value}'" for s in FinancingStatus if s.closed)
