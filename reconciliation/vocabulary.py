"""The vocabularies the catalogue's SQL names (``{{Vocabulary.MEMBER}}``, :func:`foundation.vocabulary.sql_literals`).

Every SQL text of ``reconciliation/sql`` (check bodies, preludes, the match) is read through
:func:`expand_vocabulary`; a test keeps quoted vocabulary values out of those files.
"""

from __future__ import annotations

from enum import StrEnum

from foundation.vocabulary import EventType, FinancingStatus, PoolStatus, Product, sql_literals
from ledger.fingerprints import FingerprintKind
from reconciliation.check import Category, Severity


class LinkOutcome(StrEnum):
    """How one link of a trade's four-flow match ends (``trade_matches.<link>_outcome``, :mod:`reconciliation.matching`)."""

    MATCHED = "matched"  # one candidate, or a document states it
    MISSING = "missing"  # no candidate
    AMBIGUOUS = "ambiguous"  # more than one inferred candidate qualifies: the engine never picks one silently
    NOT_APPLICABLE = "not_applicable"  # the link does not exist for this trade (a deeper tier has no ERP)


SQL_VOCABULARIES: tuple[type[StrEnum], ...] = (
    Severity, Category, FinancingStatus, PoolStatus, Product, EventType, LinkOutcome, FingerprintKind,
)


def expand_vocabulary(sql: str) -> str:
    """``sql`` with its ``{{Vocabulary.MEMBER}}`` placeholders replaced by the members' values (SQL literals)."""
    return sql_literals(sql, SQL_VOCABULARIES)
