"""Vocabularies that several layers read, one enum each, and how SQL says their values.

SQL never spells a vocabulary's value by hand: it writes ``{{Vocabulary.MEMBER}}``, which
:func:`sql_literals` replaces by the member's value as a SQL string literal when the text is
read (``{{Severity.HIGH}}`` → ``'high'``), so renaming a value is one edit to its enum.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


class PoolStatus(StrEnum):
    """An ABS pool's ``status`` (``pools`` table): active from its cut until released."""

    ACTIVE = "ACTIVE"
    RELEASED = "RELEASED"


class DeliveryStatus(StrEnum):
    """What a file of a night's set means for loading that night (the archive's manifest decides it)."""

    NEW = "new"  # first sighting of these bytes anywhere is this night and path: parse
    RESTATED = "restated"  # like NEW, and replaces earlier bytes of the same night and path: parse
    DUPLICATE = "duplicate"  # bytes first sighted under another night or path: archived, not parsed


class FileStatus(StrEnum):
    """What became of a delivered file tonight: ``files.status``, the file register."""

    LOADED = "loaded"  # parsed: its rows loaded, its refused records quarantined
    REJECTED = "rejected"  # quarantined whole: a bad name, or it could not be read
    DUPLICATE = DeliveryStatus.DUPLICATE.value  # bytes already delivered: archived, not parsed
    UNKNOWN_KIND = "unknown_kind"  # not a file kind of the input contract: quarantined whole


def sql_literal(member: StrEnum) -> str:
    """A vocabulary member's value as a SQL string literal."""
    return "'" + member.value.replace("'", "''") + "'"


#: The statuses of a closed financing, as SQL literals for ``IN (…)``.
CLOSED_STATUSES_SQL = ", ".join(sql_literal(s) for s in FinancingStatus if s.closed)

_PLACEHOLDER = re.compile(r"\{\{(\w+)\.(\w+)\}\}")


def sql_literals(text: str, vocabularies: Iterable[type[StrEnum]]) -> str:
    """``text`` with every ``{{Vocabulary.MEMBER}}`` replaced by :func:`sql_literal` of that member
    of one of ``vocabularies``; an unknown vocabulary or member raises ``ValueError`` naming it."""
    by_name = {vocabulary.__name__: vocabulary for vocabulary in vocabularies}

    def literal(match: re.Match[str]) -> str:
        vocabulary = by_name.get(match[1])
        if vocabulary is None:
            raise ValueError(f"{match[0]}: no vocabulary {match[1]} (known: {', '.join(by_name)})")
        try:
            return sql_literal(vocabulary[match[2]])
        except KeyError:
            raise ValueError(f"{match[0]}: {match[1]} has no member {match[2]} ({', '.join(vocabulary.__members__)})") from None

    return _PLACEHOLDER.sub(literal, text)
