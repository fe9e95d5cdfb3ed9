"""Field converters shared by the parsers: :mod:`connectors.values` plus the field's name.

Each converter takes the field's name (as the source spells it, so a quarantine reason
points at the culprit) and its raw text, and returns the typed value or raises
:class:`~connectors.parsers.base.BadRecord`.  Optional fields give ``None`` when empty.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import pyarrow as pa

from connectors import values
from connectors.parsers.base import BAD_ENUM, BAD_ID, BAD_VALUE, MISSING_FIELD, BadRecord

T = TypeVar("T")

_INT64_MAX = 2**63 - 1

INVOICE_NO = re.compile(r"[0-9]{20}")
VOUCHER_ID = re.compile(r"V[0-9A-Fa-f]{16}")
BANK_CODE = re.compile(r"[0-9]{12}")
CD_NO = re.compile(r"[0-9]{30}")


def text(value: str | None) -> str | None:
    """The stripped text, or ``None`` when empty."""
    if value is None:
        return None
    return value.strip() or None


def required(name: str, value: str | None) -> str:
    """The stripped text of a field that must not be empty."""
    s = text(value)
    if s is None:
        raise BadRecord(MISSING_FIELD, f"{name} is empty")
    return s


def convert(name: str, parse: Callable[[str | None], T | None], value: str | None, *, need: bool = False) -> T | None:
    """Apply a :mod:`connectors.values` parser, naming the field in any error."""
    try:
        result = parse(value)
    except ValueError as err:
        raise BadRecord(BAD_VALUE, f"{name}: {err}") from None
    if result is None and need:
        raise BadRecord(MISSING_FIELD, f"{name} is empty")
    return result


def fen(name: str, value: str | None) -> int | None:
    """An optional money amount in integer fen (fits ``int64``)."""
    amount = convert(name, values.parse_fen, value)
    if amount is not None and abs(amount) > _INT64_MAX:
        raise BadRecord(BAD_VALUE, f"{name}: amount out of range: {value!r}")
    return amount


def required_fen(name: str, value: str | None) -> int:
    """A money amount in integer fen that must be there."""
    amount = fen(name, value)
    if amount is None:
        raise BadRecord(MISSING_FIELD, f"{name} is empty")
    return amount


def decimal(
    name: str,
    value: str | None,
    dtype: pa.Decimal128Type,
    *,
    parse: Callable[[str | None], Decimal | None] = values.parse_decimal,
) -> Decimal | None:
    """A decimal number (quantity, price, rate) that fits ``dtype`` exactly."""
    number = convert(name, parse, value)
    return None if number is None else fit(name, number, dtype)


def fit(name: str, number: Decimal, dtype: pa.Decimal128Type) -> Decimal:
    """``number`` with the scale of ``dtype``, if it fits exactly."""
    try:
        return values.fit_decimal(number, dtype.precision, dtype.scale)
    except ValueError as err:
        raise BadRecord(BAD_VALUE, f"{name}: {err}") from None


def integer(name: str, value: str | None, *, bits: int = 32) -> int | None:
    """A non-negative whole number that fits a signed integer of ``bits`` bits."""
    number = convert(name, values.parse_int, value)
    if number is not None and number >= 2 ** (bits - 1):
        raise BadRecord(BAD_VALUE, f"{name}: number out of range: {value!r}")
    return number


def ymd(name: str, value: str | None) -> dt.date | None:
    """An SAP date ``yyyymmdd`` (``00000000`` = none)."""
    return convert(name, values.parse_yyyymmdd, value)


def iso_date(name: str, value: str | None) -> dt.date | None:
    """An ISO date ``YYYY-MM-DD``."""
    return convert(name, values.parse_iso_date, value)


def identifier(name: str, value: str | None, pattern: re.Pattern[str], form: str) -> str:
    """An identifier that must be there and match ``pattern`` in full (``form`` describes it)."""
    s = required(name, value)
    if pattern.fullmatch(s) is None:
        raise BadRecord(BAD_ID, f"{name}: not {form}: {s!r}")
    return s


def optional_identifier(name: str, value: str | None, pattern: re.Pattern[str], form: str) -> str | None:
    """Like :func:`identifier`, but an empty field gives ``None``."""
    return None if text(value) is None else identifier(name, value, pattern, form)


def choice(name: str, value: str | None, allowed: frozenset[str], *, need: bool = True) -> str | None:
    """A code that must be one of ``allowed``."""
    s = required(name, value) if need else text(value)
    if s is not None and s not in allowed:
        raise BadRecord(BAD_ENUM, f"{name}: {s!r} is not one of {', '.join(sorted(allowed))}")
    return s


def invoice_refs(name: str, value: str | None) -> list[tuple[str, int]]:
    """``no:amount;no:amount`` as ``[(invoice_no, fen), ...]`` (see :func:`values.parse_invoice_refs`)."""
    refs = convert(name, values.parse_invoice_refs, value) or []
    for number, amount in refs:
        if abs(amount) > _INT64_MAX:
            raise BadRecord(BAD_VALUE, f"{name}: amount of invoice {number} out of range")
    return refs
