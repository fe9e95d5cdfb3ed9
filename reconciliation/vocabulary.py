"""The vocabularies the catalogue's SQL names (``{{Vocabulary.MEMBER}}``, :func:`foundation.vocabulary.sql_literals`).

Every SQL text of ``reconciliation/sql`` (check bodies, preludes, the match) is read through
:func:`expand_vocabulary`; a test keeps quoted vocabulary values out of those files.
"""

from __future__ import annotations

from enum import StrEnum

from foundation.vocabulary import FinancingStatus, PoolStatus, sql_literals
from reconciliation.check import Category, Severity

SQL_VOCABULARIES: tuple[type[StrEnum], ...] = (Severity, Category, FinancingStatus, PoolStatus)


def expand_vocabulary(sql: str) -> str:
    """``sql`` with its ``{{Vocabulary.MEMBER}}`` placeholders replaced by the members' values (SQL literals)."""
    return sql_literals(sql, SQL_VOCABULARIES)
