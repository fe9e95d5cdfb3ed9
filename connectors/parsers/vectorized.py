"""Vectorized forms of the field converters of :mod:`connectors.parsers.fields`: a column of raw
texts becomes a typed column and a mask of the rows the vectorized form decided.

Each form accepts only the plain, common spelling of its type (``1234.56`` for money, ``0.13``
or ``13%`` for a rate, ASCII digits for times …) and converts it with pyarrow compute kernels;
a row it does not accept (an empty required field, a sign, surrounding whitespace, a control
character, a value beyond the ceiling, a calendar date that does not exist …) is left to the
Python converter, which stays the one definition of the type (the oracle) and writes the exact
quarantine record.  So a form may refuse more than the Python converter does, never accept a
text the Python converter would read differently (``tests/connectors/test_xmlcolumns.py``).
An empty text (the field is absent or empty) gives null, as the Python converters give ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import getcontext
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.parsers import fields as F
from foundation import values

Vector = Callable[[pa.StringArray, pa.DataType], tuple[pa.Array, pa.BooleanArray]]
"""A vectorized converter: (texts, the column's Arrow type) → (typed column, decided mask)."""

#: Every character ``str.strip`` removes (Python's whitespace, outside the ASCII controls too).
_SPACE = "".join(f"\\x{{{c:x}}}" for c in range(0x10000) if chr(c).isspace())
#: The control characters :func:`foundation.values.check_text` refuses, and tab and line breaks
#: (allowed in free text, but the fast path leaves any text holding one to the Python converter).
_CONTROL = "\\x00-\\x1f\\x7f"
_TEXT = f"^[^{_SPACE}{_CONTROL}](?:[^{_CONTROL}]*[^{_SPACE}{_CONTROL}])?$"
"""A free text the Python converter keeps as it is: no surrounding whitespace, no control character."""


def _empty(texts: pa.StringArray) -> pa.BooleanArray:
    return pc.equal(pc.binary_length(texts), 0)


def _matches(texts: pa.StringArray, pattern: str) -> pa.BooleanArray:
    return pc.fill_null(pc.match_substring_regex(texts, pattern), False)


def _identifier_ok(texts: pa.StringArray) -> pa.BooleanArray:
    """An identifier :func:`foundation.values.normalise_identifier` keeps as it is, within the text bound: one to
    :data:`~foundation.values.MAX_TEXT_CHARS` printable ASCII characters, no space (what ``^[!-~]+$`` matches,
    without a regex: ~2× faster on a night's identifier columns; an ASCII text's bytes are its characters)."""
    plain = pc.and_not(pc.ascii_is_printable(texts), pc.match_substring(texts, " "))
    length = pc.binary_length(texts)
    return pc.fill_null(pc.and_(plain, pc.and_(pc.greater(length, 0), pc.less_equal(length, values.MAX_TEXT_CHARS))), False)


def _typed(texts: pa.StringArray, ok: pa.BooleanArray, converted: pa.Array, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """``converted`` (cast to ``dtype``) where the text is not empty, null where it is; ``ok`` or empty decided."""
    empty = _empty(texts)
    typed = pc.if_else(empty, pa.scalar(None, dtype), converted.cast(dtype))
    return typed, pc.or_(empty, ok)


def _cast_where(texts: pa.StringArray, ok: pa.BooleanArray, dtype: pa.DataType) -> pa.Array:
    """``texts`` cast to ``dtype`` where ``ok`` (the others are nulled first, so they cannot fail the cast)."""
    return pc.if_else(ok, texts, pa.scalar(None, pa.string())).cast(dtype)


def text(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """:func:`connectors.parsers.fields.text`: kept as delivered when it needs no stripping and is bounded."""
    ok = pc.and_(_matches(texts, _TEXT), pc.less_equal(pc.utf8_length(texts), values.MAX_TEXT_CHARS))
    return _typed(texts, ok, texts, dtype)


def ident(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """:func:`connectors.parsers.fields.ident`: printable ASCII without spaces, bounded."""
    return _typed(texts, _identifier_ok(texts), texts, dtype)


def verbatim(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """:func:`connectors.parsers.csvlayout.verbatim`: the text exactly as delivered (an empty one too)."""
    return texts.cast(dtype), pa.repeat(True, len(texts))


def _pattern_ok(texts: pa.StringArray, pattern: re.Pattern[str]) -> pa.BooleanArray:
    return pc.and_(_identifier_ok(texts), _matches(texts, f"^(?:{pattern.pattern})$"))


def identifier(pattern: re.Pattern[str]) -> Vector:
    """:func:`connectors.parsers.fields.identifier` with ``pattern``: a required identifier matching it."""

    def convert(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
        ok = _pattern_ok(texts, pattern)
        return pc.if_else(ok, texts, pa.scalar(None, pa.string())).cast(dtype), ok

    return convert


def optional_identifier(pattern: re.Pattern[str]) -> Vector:
    """:func:`connectors.parsers.fields.optional_identifier` with ``pattern``: empty, or an identifier matching it."""

    def convert(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
        return _typed(texts, _pattern_ok(texts, pattern), texts, dtype)

    return convert


def choice(allowed: frozenset[str]) -> Vector:
    """:func:`connectors.parsers.fields.choice` (optional): one of ``allowed``, as delivered."""
    codes = pa.array(sorted(allowed), pa.string())

    def convert(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
        return _typed(texts, pc.is_in(texts, value_set=codes), texts, dtype)

    return convert


_FEN = pa.decimal128(values.MAX_AMOUNT_DIGITS + 2, 2)
_MONEY = f"^-?[0-9]{{1,{values.MAX_AMOUNT_DIGITS}}}(?:\\.[0-9]{{1,2}})?$"
"""A plain money amount (a leading minus at most): at most :data:`~foundation.values.MAX_AMOUNT_DIGITS` whole digits, at most
two decimals (what :func:`foundation.values.parse_fen` reads as ``whole * 100 + fen``)."""


def fen(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """:func:`connectors.parsers.fields.fen`: integer fen within the plausibility ceiling in force."""
    plain = _matches(texts, _MONEY)
    amount = pc.multiply(_cast_where(texts, plain, _FEN), pa.scalar(100, pa.decimal128(3, 0))).cast(pa.int64())
    ok = pc.fill_null(pc.and_(plain, pc.less_equal(pc.abs(amount), F.ceiling())), False)
    return _typed(texts, ok, amount, dtype)


def _number_pattern(whole: int, scale: int, suffix: str = "", sign: str = "-?") -> str:
    return f"^{sign}[0-9]{{1,{whole}}}(?:\\.[0-9]{{1,{scale}}})?{suffix}$"


def decimal(number: pa.Decimal128Type) -> Vector:
    """:func:`connectors.parsers.fields.decimal` into ``number``: a plain number (a leading minus at most) that fits it
    exactly, and whose digits at its scale fit the precision of Python's decimal context (beyond it
    :func:`foundation.values.fit_decimal` refuses the number: 10 whole digits of a price of 18 decimals)."""

    def convert(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
        whole = min(number.precision, getcontext().prec) - number.scale
        ok = _matches(texts, _number_pattern(whole, number.scale))
        return _typed(texts, ok, _cast_where(texts, ok, number), dtype)

    return convert


def tax_rate(rate: pa.Decimal128Type) -> Vector:
    """:func:`foundation.values.parse_tax_rate` into ``rate``: ``0.13`` as a plain number, ``13%`` as
    a percentage below 100 (its digits read at two decimal places less: the same scaled integer)."""
    plain = decimal(rate)
    percent_pattern = _number_pattern(2, rate.scale - 2, "%", sign="")
    percent_type = pa.decimal128(rate.precision, rate.scale - 2)

    def convert(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
        number, ok = plain(texts, dtype)
        percent = _matches(texts, percent_pattern)
        hundredths = _cast_where(pc.utf8_slice_codeunits(texts, 0, -1), percent, percent_type).view(rate).cast(dtype)
        return pc.if_else(percent, hundredths, number), pc.or_(ok, percent)

    return convert


def integer(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """:func:`connectors.parsers.fields.integer`: ASCII digits, at most nine (always within 32 bits)."""
    ok = _matches(texts, "^[0-9]{1,9}$")
    return _typed(texts, ok, _cast_where(texts, ok, pa.int64()), dtype)


_PARTS = {"Y": (4, pc.year), "m": (2, pc.month), "d": (2, pc.day), "H": (2, pc.hour), "M": (2, pc.minute), "S": (2, pc.second)}
"""Per ``strptime`` code of a fixed width: its width and the part of a time it writes."""
_CARRIED = frozenset("dS")
"""The codes whose digits ``strptime`` accepts beyond what the time has, and carries over (day 31 of a 30-day month, second
60): the others it refuses out of range (month 13, hour 24, minute 60), so only these parts are compared with their digits."""


def _parts(codes: str) -> list[tuple[int, int, Callable[[pa.Array], pa.Array]]]:
    """Where each :data:`_CARRIED` code of ``codes`` (fixed-width codes and literal characters only) is in a text: (start, width, part)."""
    found, at, i = [], 0, 0
    while i < len(codes):
        if codes[i] == "%":
            width, part = _PARTS[codes[i + 1]]
            if codes[i + 1] in _CARRIED:
                found.append((at, width, part))
            at, i = at + width, i + 2
        else:
            at, i = at + 1, i + 1
    return found


def timestamp(*forms: tuple[str, str]) -> Vector:
    """A time in one of ``forms``: (a pattern its text matches, its ``strptime`` codes); a text whose time
    does not have the parts its digits write (a day that does not exist, second 60, which ``strptime``
    carries over into the next month or minute: :data:`_CARRIED`) is left to the Python converter."""
    parts = [_parts(codes) for _, codes in forms]

    def convert(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
        times, decided = pa.nulls(len(texts), pa.timestamp("s")), pa.repeat(False, len(texts))
        year_zero = pc.starts_with(texts, "0000")  # a year Python's dates do not have (pyarrow's do)
        for (pattern, codes), where in zip(forms, parts, strict=True):
            shaped = pc.and_not(_matches(texts, pattern), year_zero)
            parsed = pc.strptime(pc.if_else(shaped, texts, pa.scalar(None, pa.string())), codes, unit="s", error_is_null=True)
            same = pc.is_valid(parsed)
            for start, width, part in where:
                digits = pc.utf8_slice_codeunits(texts, start, start + width)
                same = pc.and_(same, pc.equal(part(parsed), _cast_where(digits, shaped, pa.int64())))
            same = pc.fill_null(same, False)
            times, decided = pc.if_else(same, parsed, times), pc.or_(decided, same)
        return _typed(texts, decided, times, dtype)

    return convert


_DATE = ("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d")
invoice_time = timestamp(("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", "%Y-%m-%d %H:%M:%S"), _DATE)
""":func:`foundation.values.parse_invoice_time`: a time, or a bare date (its midnight)."""
compact_time = timestamp(("^[0-9]{14}$", "%Y%m%d%H%M%S"))
""":func:`foundation.values.parse_compact_datetime`."""
iso_date = timestamp(_DATE)
""":func:`foundation.values.parse_iso_date` in its plain form."""

_YMD = timestamp(("^[0-9]{8}$", "%Y%m%d"))


def ymd(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """:func:`connectors.parsers.fields.ymd`: an SAP date ``yyyymmdd``, ``00000000`` none."""
    none = pc.equal(texts, "00000000")
    dates, decided = _YMD(pc.if_else(none, "", texts), dtype)
    return dates, pc.or_(decided, none)


_OFFSET_TIME = "^[1-8][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$"
"""``YYYY-MM-DDThh:mm:ss±hh:mm`` (years 1000-8999: China time stays within Python's datetimes)."""
_LOCAL_TIME = timestamp(("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", "%Y-%m-%dT%H:%M:%S"))
_CHINA_OFFSET = int(values.CST.utcoffset(None).total_seconds())


def offset_time(texts: pa.StringArray, dtype: pa.DataType) -> tuple[pa.Array, pa.BooleanArray]:
    """:func:`foundation.values.parse_offset_datetime` in its plain form: the local time with its offset, as China time."""
    shaped = _matches(texts, _OFFSET_TIME)
    plain = pc.if_else(shaped, texts, "")
    local, decided = _LOCAL_TIME(pc.utf8_slice_codeunits(plain, 0, 19), pa.timestamp("s"))
    sign = pc.if_else(pc.equal(pc.utf8_slice_codeunits(plain, 19, 20), "-"), -1, 1)
    hours = pc.utf8_slice_codeunits(plain, 20, 22)
    minutes = pc.utf8_slice_codeunits(plain, 23, 25)
    offset = pc.multiply(sign, pc.add(pc.multiply(_cast_where(hours, shaped, pa.int64()), 3600),
                                      pc.multiply(_cast_where(minutes, shaped, pa.int64()), 60)))  # fmt: skip
    seconds = pc.add(pc.subtract(local.cast(pa.int64()), offset), _CHINA_OFFSET)
    return _typed(texts, pc.and_(shaped, decided), seconds.cast(pa.timestamp("s")), dtype)


_REF = f"[0-9]{{20}}:{_MONEY[1:-1]}"
_REFS = f"^{_REF}(?:;{_REF})*$"
"""``no:amount;no:amount`` in its plain form (:func:`foundation.values.parse_invoice_refs`): no blanks, no empty part."""


def invoice_refs(texts: pa.StringArray) -> tuple[pa.Array, pa.Array, pa.Array, pa.BooleanArray]:
    """:func:`connectors.parsers.fields.invoice_refs` of each text: (per reference, the index of its text, its invoice
    number, its amount in fen) and, per text, whether every reference was decided (an empty text has none)."""
    shaped = _matches(texts, _REFS)
    refs = pc.split_pattern(pc.if_else(shaped, texts, ""), ";")
    parent = pc.list_parent_indices(refs)
    pairs = pc.split_pattern(pc.list_flatten(refs), ":", max_splits=1)
    kept = pc.greater(pc.list_value_length(pairs), 1)  # the one empty part of a text that is not plain
    pairs, parent = pc.filter(pairs, kept), pc.filter(parent, kept)
    amounts, decided = fen(pc.list_element(pairs, 1), pa.int64())
    refused = pc.filter(parent, pc.invert(decided))
    every = pc.invert(pc.is_in(pa.array(range(len(texts)), pa.int64()), value_set=refused.cast(pa.int64())))
    ok = pc.and_(pc.or_(shaped, _empty(texts)), every)
    return parent, pc.list_element(pairs, 0), amounts, ok


#: The vectorized form of the shared field converters (the layouts add their own, :data:`connectors.parsers.layouts.VECTORIZED`).
SHARED: dict[Any, Vector] = {F.fen: fen, F.ident: ident, F.integer: integer, F.ymd: ymd, F.iso_date: iso_date}
