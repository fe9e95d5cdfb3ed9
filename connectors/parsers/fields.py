"""Field converters shared by the parsers: :mod:`foundation.values` plus the field's name.

Each converter takes the field's name (as the source spells it, so a quarantine reason
points at the culprit) and its raw text, and returns the typed value or raises
:class:`~connectors.parsers.base.BadRecord`.  Optional fields give ``None`` when empty.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import TypeVar

import pyarrow as pa

from connectors.parsers.base import BadRecord
from foundation import values
from foundation.vocabulary import QuarantineReason

T = TypeVar("T")

_CEILING: ContextVar[int] = ContextVar("amount_ceiling", default=values.MAX_AMOUNT_FEN)


@contextmanager
def amount_ceiling(fen: int) -> Iterator[None]:
    """Within the block, money amounts (and sub-bill range ends) beyond ``fen`` quarantine their record."""
    token = _CEILING.set(fen)
    try:
        yield
    finally:
        _CEILING.reset(token)

def ceiling() -> int:
    """The plausibility ceiling of one money amount in force (:func:`amount_ceiling`)."""
    return _CEILING.get()


Convert = Callable[[str, str | None], T]
"""A field's type: ``(name, text)`` → typed value (``None`` when empty), raising :class:`BadRecord`."""
_REMEMBERED = 1 << 16
"""Distinct texts a :func:`remembered` converter keeps results for (then it starts afresh)."""


def remembered(convert: Convert[T]) -> Convert[T]:
    """``convert`` (a field's type: ``(name, text)`` → value, one converter per field name) that
    converts each distinct text once: a repeated unit, rate, name or date costs a dict lookup.
    A converter bound by the amount ceiling (:func:`fen`, :func:`required_fen`) is returned as it
    is, since its result is not a function of the text alone; a text that does not convert raises
    every time it is met (only results are kept)."""
    if convert in _CEILING_BOUND:
        return convert
    results: dict[str | None, T] = {}

    def converted(name: str, value: str | None) -> T:
        try:
            return results[value]
        except KeyError:
            pass
        result = convert(name, value)
        if len(results) >= _REMEMBERED:
            results.clear()
        results[value] = result
        return result

    return converted


INVOICE_NO = values.INVOICE_NO  # declared once, in foundation.values (parse_invoice_refs reads it too)
INVOICE_NO_FORM = "a 20-digit invoice number"
"""How a quarantine message names :data:`INVOICE_NO`'s form."""
VOUCHER_ID = re.compile(r"V[0-9A-Fa-f]{16}")
BANK_CODE = re.compile(r"[0-9]{12}")
CD_NO = re.compile(r"[0-9]{30}")


def text(value: str | None) -> str | None:
    """The stripped text, or ``None`` when empty; a control character (NUL …) or a text longer
    than :data:`values.MAX_TEXT_CHARS` quarantines the record."""
    if value is None:
        return None
    try:
        return values.check_text(value.strip()) or None
    except ValueError as err:
        raise BadRecord(QuarantineReason.BAD_VALUE, str(err)) from None


def required(name: str, value: str | None) -> str:
    """The stripped text of a field that must not be empty."""
    s = text(value)
    if s is None:
        raise BadRecord(QuarantineReason.MISSING_FIELD, f"{name} is empty")
    return s


def convert(name: str, parse: Callable[[str | None], T | None], value: str | None, *, need: bool = False) -> T | None:
    """Apply a :mod:`foundation.values` parser, naming the field in any error."""
    try:
        result = parse(value)
    except ValueError as err:
        raise BadRecord(QuarantineReason.BAD_VALUE, f"{name}: {err}") from None
    if result is None and need:
        raise BadRecord(QuarantineReason.MISSING_FIELD, f"{name} is empty")
    return result


def fen(name: str, value: str | None) -> int | None:
    """An optional money amount in integer fen, within the plausibility ceiling (:func:`amount_ceiling`)."""
    return convert(name, _bounded_fen, value)


def _bounded_fen(value: str | None) -> int | None:
    amount = values.parse_fen(value)
    return None if amount is None else values.check_amount(amount, _CEILING.get())


def required_fen(name: str, value: str | None) -> int:
    """A money amount in integer fen that must be there."""
    amount = fen(name, value)
    if amount is None:
        raise BadRecord(QuarantineReason.MISSING_FIELD, f"{name} is empty")
    return amount


_CEILING_BOUND = frozenset({fen, required_fen})


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
        raise BadRecord(QuarantineReason.BAD_VALUE, f"{name}: {err}") from None


def integer(name: str, value: str | None, *, bits: int = 32) -> int | None:
    """A non-negative whole number that fits a signed integer of ``bits`` bits."""
    number = convert(name, values.parse_int, value)
    if number is not None and number >= 2 ** (bits - 1):
        raise BadRecord(QuarantineReason.BAD_VALUE, f"{name}: number out of range: {value!r}")
    return number


def ymd(name: str, value: str | None) -> dt.date | None:
    """An SAP date ``yyyymmdd`` (``00000000`` = none)."""
    return convert(name, values.parse_yyyymmdd, value)


def iso_date(name: str, value: str | None) -> dt.date | None:
    """An ISO date ``YYYY-MM-DD``."""
    return convert(name, values.parse_iso_date, value)


def ident(name: str, value: str | None) -> str | None:
    """An optional identifier of free form (a USCC, a document number), normalised by
    :func:`values.normalise_identifier` (the one rule for identifiers); empty gives ``None``."""
    try:
        return values.normalise_identifier(value)
    except ValueError as err:
        raise BadRecord(QuarantineReason.BAD_ID, f"{name}: {err}") from None


def required_ident(name: str, value: str | None) -> str:
    """Like :func:`ident`, for an identifier that must be there."""
    s = ident(name, value)
    if s is None:
        raise BadRecord(QuarantineReason.MISSING_FIELD, f"{name} is empty")
    return s


def identifier(name: str, value: str | None, pattern: re.Pattern[str], form: str) -> str:
    """An identifier that must be there and, once normalised, match ``pattern`` in full
    (``form`` describes it)."""
    s = required_ident(name, value)
    if pattern.fullmatch(s) is None:
        raise BadRecord(QuarantineReason.BAD_ID, f"{name}: not {form}: {s!r}")
    return s


def optional_identifier(name: str, value: str | None, pattern: re.Pattern[str], form: str) -> str | None:
    """Like :func:`identifier`, but an empty field gives ``None``."""
    return None if ident(name, value) is None else identifier(name, value, pattern, form)


def choice(name: str, value: str | None, allowed: frozenset[str], *, need: bool = True) -> str | None:
    """A code that must be one of ``allowed``."""
    s = required(name, value) if need else text(value)
    if s is not None and s not in allowed:
        raise BadRecord(QuarantineReason.BAD_ENUM, f"{name}: {s!r} is not one of {', '.join(sorted(allowed))}")
    return s


def invoice_refs(name: str, value: str | None) -> list[tuple[str, int]]:
    """``no:amount;no:amount`` as ``[(invoice_no, fen), ...]`` (see :func:`values.parse_invoice_refs`)."""
    return convert(name, lambda v: values.parse_invoice_refs(v, _CEILING.get()), value) or []


def cd_range(name: str, value: str | None) -> tuple[int, int] | None:
    """A sub-bill range ``start-end`` (``0``: ``None``), its end within the plausibility ceiling."""
    return convert(name, lambda v: values.parse_cd_range(v, _CEILING.get()), value)
