"""Exact parsing of the scalar values found in deliveries.

Every function raises :class:`ValueError` with a message fit for a quarantine record
when the text does not have the expected form; an empty text gives ``None`` where the
field is optional.  Money never passes through a float: it is parsed digit by digit
into integer fen.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

CST = dt.timezone(dt.timedelta(hours=8))

MAX_AMOUNT_FEN = 10**13
"""Default plausibility ceiling of one money amount: 100 billion yuan (10^13 fen).

Any amount (and any sub-bill range end, one unit per fen) beyond it is refused where it is
parsed. It keeps every value far from the 64-bit limit: 2^63 / 10^13 ≈ 922,000 amounts at the
ceiling may be added before a BIGINT sum could overflow (DuckDB sums BIGINT into HUGEINT anyway)."""

MAX_TEXT_CHARS = 4096
"""Longest text value a delivered field may hold (a longer one is a broken record)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")


def _bounded(text: str, refused: re.Pattern[str], what: str, forbidden: str) -> str:
    """``text`` if it has at most ``MAX_TEXT_CHARS`` characters and none matching ``refused``
    (``forbidden`` names them in the error)."""
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"{what} of {len(text)} characters, more than {MAX_TEXT_CHARS}: {text[:40]!r}…")
    bad = refused.search(text)
    if bad is not None:
        raise ValueError(f"{what} holds {forbidden} U+{ord(bad.group()):04X}: {text[:80]!r}")
    return text


def check_text(text: str) -> str:
    """``text`` if it is bounded (``MAX_TEXT_CHARS``) and free of control characters (NUL, ESC …;
    tab and line breaks are allowed in free text); else :class:`ValueError`."""
    return _bounded(text, _CONTROL, "text", "the control character")


def normalise_identifier(text: str | None) -> str | None:
    """The one normalisation rule for identifiers, in every column and file.

    NFKC (full-width digits and letters become ASCII: ``９１４４`` → ``9144``), then surrounding
    whitespace (ideographic space included) is stripped; an empty result gives ``None``.
    Whitespace, a control or an invisible format character (zero-width space …) inside the
    identifier, or more than ``MAX_TEXT_CHARS`` characters, is refused with :class:`ValueError`:
    it is never silently joined up.
    """
    if text is None:
        return None
    s = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip()
    return _bounded(s, _WHITESPACE_OR_CONTROL, "identifier", "whitespace or a control character") if s else None


def check_amount(fen: int, ceiling: int = MAX_AMOUNT_FEN) -> int:
    """``fen`` if its magnitude is within the plausibility ceiling, else :class:`ValueError`."""
    if abs(fen) > ceiling:
        raise ValueError(f"amount {format_fen(fen)} is beyond the plausibility ceiling of {format_fen(ceiling)} yuan")
    return fen

_MONEY = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]+))?(-?)")

MAX_AMOUNT_DIGITS = 16
"""Most digits of an amount's whole yuan (leading zeros aside): 10^16 yuan is beyond any ceiling a
setting may give, and every amount parsed stays inside a signed 64-bit number of fen."""


def _shown(text: str) -> str:
    """``text`` quoted for an error message, cut at 40 characters."""
    return repr(text) if len(text) <= 40 else f"{text[:40]!r}…"


def parse_fen(text: str | None) -> int | None:
    """Parse a decimal money string (``1234.56``, ``-1234.56``, ``1234.56-``) into fen.

    ASCII digits and one decimal point only: no exponent, thousands separator, full-width
    digit, NaN or infinity.  Digits beyond the second decimal place must be zeros: money that
    is not a whole number of fen is malformed, never rounded.  More than
    :data:`MAX_AMOUNT_DIGITS` whole digits is refused before any conversion.  A negative zero
    (``-0.00``, SAP's ``0.00-``) is zero.
    """
    if text is None:
        return None
    s = text.strip()
    if not s:
        return None
    m = _MONEY.fullmatch(s)
    if m is None or (m.group(1) == "-" and m.group(4) == "-"):
        raise ValueError(f"not a money amount: {_shown(text)}")
    sign, whole, frac, trailing = m.groups()
    frac = frac or ""
    if len(frac) > 2 and frac[2:].strip("0"):
        raise ValueError(f"money amount finer than one fen: {_shown(text)}")
    digits = len(whole.lstrip("0"))
    if digits > MAX_AMOUNT_DIGITS:
        raise ValueError(f"money amount of {digits} digits before the decimal point, more than {MAX_AMOUNT_DIGITS}: {_shown(text)}")
    fen = int(whole.lstrip("0") or "0") * 100 + int((frac + "00")[:2])
    return -fen if (sign == "-" or trailing == "-") else fen


def format_fen(fen: int) -> str:
    """Render fen as a yuan string with two decimals: ``-123456`` -> ``-1234.56``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def parse_decimal(text: str | None) -> Decimal | None:
    """Parse a decimal quantity or price; a trailing minus is accepted as SAP writes it."""
    if text is None:
        return None
    s = text.strip()
    if not s:
        return None
    if s.endswith("-"):
        s = "-" + s[:-1]
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def parse_tax_rate(text: str | None) -> Decimal | None:
    """Parse a VAT rate written either ``0.13`` or ``13%`` into ``Decimal('0.13')``."""
    if text is None or not text.strip():
        return None
    s = text.strip()
    percent = s.endswith("%")
    value = parse_decimal(s[:-1] if percent else s)
    if value is None:  # a lone "%"
        raise ValueError(f"not a tax rate: {text!r}")
    return value / 100 if percent else value


def parse_yyyymmdd(text: str | None) -> dt.date | None:
    """Parse an SAP date ``yyyymmdd``; ``00000000`` (SAP's empty date) gives ``None``."""
    if text is None:
        return None
    s = text.strip()
    if not s or s == "00000000":
        return None
    if len(s) != 8 or not s.isdigit():
        raise ValueError(f"not a yyyymmdd date: {text!r}")
    try:
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        raise ValueError(f"not a calendar date: {text!r}") from None


def parse_iso_date(text: str | None) -> dt.date | None:
    """Parse an ISO date ``YYYY-MM-DD``."""
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO date: {text!r}") from None


def parse_compact_datetime(text: str | None) -> dt.datetime | None:
    """Parse a waybill time ``YYYYMMDDhhmmss`` (naive, China time)."""
    if text is None or not text.strip():
        return None
    s = text.strip()
    if len(s) != 14 or not s.isdigit():
        raise ValueError(f"not a YYYYMMDDhhmmss time: {text!r}")
    try:
        if s.isascii():  # as strptime reads 14 ASCII digits, 8x faster
            return dt.datetime(int(s[:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12]), int(s[12:]))
        return dt.datetime.strptime(s, "%Y%m%d%H%M%S")
    except ValueError:
        raise ValueError(f"not a calendar time: {text!r}") from None


_INVOICE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def parse_invoice_time(text: str | None) -> dt.datetime | None:
    """Parse a 数电票 ``RequestTime``: ``YYYY-MM-DD hh:mm:ss`` or a bare date."""
    if text is None or not text.strip():
        return None
    s = text.strip()
    try:
        if len(s) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(s), dt.time())
        if _INVOICE_TIME.fullmatch(s):  # what strptime reads the same, 8x faster
            return dt.datetime(int(s[:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:]))
        return dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"not an invoice time: {text!r}") from None


def parse_offset_datetime(text: str | None) -> dt.datetime | None:
    """Parse an ISO 8601 time with offset and return it as naive China time (UTC+8)."""
    if text is None or not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"ISO 8601 time without offset: {text!r}")
    try:
        return value.astimezone(CST).replace(tzinfo=None)
    except OverflowError:  # China time before year 1 or after 9999
        raise ValueError(f"ISO 8601 time out of range: {text!r}") from None


INVOICE_NO = re.compile(r"[0-9]{20}")
"""A tax invoice number (发票号码): 20 digits, the one pattern parsers and data-quality suites check."""


def parse_invoice_refs(text: str | None, ceiling: int = MAX_AMOUNT_FEN) -> list[tuple[str, int]]:
    """Parse ``no:amount;no:amount`` into ``[(invoice_no, fen), ...]``.

    Each invoice number (after :func:`normalise_identifier`) must be 20 digits and each
    amount a money amount within ``ceiling``.
    """
    if text is None or not text.strip():
        return []
    refs: list[tuple[str, int]] = []
    for part in text.strip().split(";"):
        part = part.strip()
        if not part:
            continue
        raw_number, sep, amount = part.partition(":")
        number = normalise_identifier(raw_number) or ""
        if not INVOICE_NO.fullmatch(number):
            raise ValueError(f"not a 20-digit invoice number: {number!r}")
        if not sep:
            raise ValueError(f"invoice {number} has no amount (expected no:amount)")
        fen = parse_fen(amount)
        if fen is None:
            raise ValueError(f"invoice {number} has an empty amount")
        refs.append((number, check_amount(fen, ceiling)))
    return refs


_QUANTA: dict[int, Decimal] = {}  # scale -> Decimal("1E-<scale>")


def fit_decimal(value: Decimal, precision: int, scale: int) -> Decimal:
    """Return ``value`` with exactly ``scale`` decimals, or raise if that would change it.

    Used before storing into ``decimal128(precision, scale)``: extra decimals that are not
    zeros, or more integer digits than ``precision - scale``, are malformed, never rounded.
    """
    quantum = _QUANTA.get(scale)
    if quantum is None:
        quantum = _QUANTA.setdefault(scale, Decimal(1).scaleb(-scale))
    try:
        fitted = value.quantize(quantum)
    except InvalidOperation:
        raise ValueError(f"number too large: {value}") from None
    if fitted != value:
        raise ValueError(f"more than {scale} decimal places: {value}")
    if fitted.adjusted() >= precision - scale:
        raise ValueError(f"more than {precision - scale} integer digits: {value}")
    return fitted


def parse_int(text: str | None) -> int | None:
    """Parse a non-negative whole number written in digits (``180``, ``007``)."""
    if text is None or not text.strip():
        return None
    s = text.strip()
    if not s.isascii() or not s.isdigit():
        raise ValueError(f"not a whole number: {text!r}")
    return int(s)


_CD_RANGE = re.compile(r"([0-9]+)-([0-9]+)")


def parse_cd_range(text: str | None, ceiling: int = MAX_AMOUNT_FEN) -> tuple[int, int] | None:
    """Parse a sub-bill range ``start-end`` (1-based, inclusive, one unit per fen, so ``end`` is
    at most ``ceiling``); ``0`` (not splittable) gives ``None``."""
    if text is None or not text.strip():
        raise ValueError("empty sub-bill range")
    s = text.strip()
    if s == "0":
        return None
    m = _CD_RANGE.fullmatch(s)
    if m is None:
        raise ValueError(f"not a sub-bill range start-end: {text!r}")
    start, end = int(m.group(1)), int(m.group(2))
    if start < 1 or end < start:
        raise ValueError(f"sub-bill range must have 1 <= start <= end: {text!r}")
    if end > ceiling:
        raise ValueError(f"sub-bill range ends beyond the plausibility ceiling of {ceiling} units: {text[:80]!r}")
    return start, end
