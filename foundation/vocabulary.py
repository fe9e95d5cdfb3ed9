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
