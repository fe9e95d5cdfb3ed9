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


#: The statuses of a financing, as the plain strings a delivered ``status`` is compared with.
FINANCING_STATUSES = frozenset(s.value for s in FinancingStatus)


class EventType(StrEnum):
    """A voucher event's ``event_type`` in ``platform/voucher_events.csv`` (INPUTS.md)."""

    ISSUE = "ISSUE"
    SPLIT = "SPLIT"
    TRANSFER = "TRANSFER"
    FINANCE = "FINANCE"
    SETTLE = "SETTLE"
    CANCEL = "CANCEL"


#: The event types, as the plain strings a delivered ``event_type`` is compared with.
EVENT_TYPES = frozenset(e.value for e in EventType)


class Product(StrEnum):
    """A financing's ``product`` in ``platform/financings.csv``: what its asset is (INPUTS.md)."""

    VOUCHER = "VOUCHER"
    BILL = "BILL"
    INVOICE = "INVOICE"


#: The products, as the plain strings a delivered ``product`` is compared with.
PRODUCTS = frozenset(p.value for p in Product)


class QuarantineReason(StrEnum):
    """Why a delivered file or record was set aside: ``quarantine.reason_code`` (OUTPUTS.md)."""

    # ---- a whole file: none of its rows is loaded
    BAD_FILE_NAME = "BAD_FILE_NAME"  # a path the archive refuses (connectors.sources.bad_name_reason)
    UNKNOWN_FILE = "UNKNOWN_FILE"  # a path that is no input kind of the contract
    EMPTY_FILE = "EMPTY_FILE"
    BAD_ENCODING = "BAD_ENCODING"
    MALFORMED_CSV = "MALFORMED_CSV"
    MISSING_COLUMN = "MISSING_COLUMN"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
    MALFORMED_XML = "MALFORMED_XML"
    UNEXPECTED_ROOT = "UNEXPECTED_ROOT"
    UNKNOWN_LAYOUT = "UNKNOWN_LAYOUT"  # an XML file (or one record) that matches no declared layout
    # ---- one record: the rest of its file is loaded
    ROW_SHAPE = "ROW_SHAPE"  # a CSV row with the wrong number of fields
    LINE_TOO_LONG = "LINE_TOO_LONG"  # a CSV line longer than the reader takes (csvread.MAX_LINE_BYTES)
    MISSING_FIELD = "MISSING_FIELD"  # a required value is empty or absent
    BAD_VALUE = "BAD_VALUE"  # a value that does not parse (money, date, number)
    BAD_ID = "BAD_ID"  # an identifier of the wrong form (invoice no, voucher id, bank code …)
    BAD_ENUM = "BAD_ENUM"  # a code outside its list (event type, product, status …)
    DUPLICATE_FIELD = "DUPLICATE_FIELD"  # a non-repeating XML element given twice
    RANGE_MISMATCH = "RANGE_MISMATCH"  # a sub-bill range whose size differs from its amount


#: A tax invoice's status ``fpzt`` in ``tax/invoice_status.csv``: 0 正常, 1 失控, 2 作废, 3 红冲, 4 异常.
TAX_STATUSES = frozenset({"0", "1", "2", "3", "4"})
