"""Money in integer fen: VAT, bill/voucher discounting, and how amounts are written."""

from __future__ import annotations

from foundation.values import format_fen

__all__ = [
    "format_fen",
    "fen_text",
    "sap_amount",
    "tax_of",
    "rate_text",
    "annual_rate_text",
    "discounted",
    "unit_price_text",
    "chinese_amount",
]


def fen_text(fen: int) -> str:
    """Same text as :func:`foundation.values.format_fen`, faster (the writers' hot path)."""
    if fen >= 0:
        return f"{fen // 100}.{fen % 100:02d}"
    return f"-{-fen // 100}.{-fen % 100:02d}"


def sap_amount(fen: int) -> str:
    """SAP export style: unsigned with a trailing minus when negative (``1234.56-``)."""
    return format_fen(-fen) + "-" if fen < 0 else format_fen(fen)


def tax_of(amount: int, rate_pct: int) -> int:
    """VAT on ``amount`` fen at ``rate_pct`` percent, rounded half away from zero."""
    if amount < 0:
        return -((-amount * rate_pct + 50) // 100)
    return (amount * rate_pct + 50) // 100


def rate_text(rate_pct: int, percent: bool) -> str:
    """A line ``TaxRate`` as ``0.13`` or ``13%``."""
    return f"{rate_pct}%" if percent else f"0.{rate_pct:02d}"


def annual_rate_text(rate_bp: int) -> str:
    """An annual discount rate in basis points as a decimal: ``298`` -> ``0.0298``."""
    return f"0.{rate_bp:04d}"


def discounted(face: int, rate_bp: int, days: int) -> int:
    """Cash advanced on ``face`` fen discounted at ``rate_bp`` for ``days`` (ACT/360).

    Interest is rounded half up to the fen, as the samples show (50000.00 at 2.65 % for
    161 days -> 49407.43).
    """
    interest = (face * rate_bp * days * 2 + 3_600_000) // 7_200_000
    return face - interest


def unit_price_text(amount: int, qty: int) -> str:
    """Unit price ``amount / qty`` written with up to 6 decimals (at least 2)."""
    micro = (abs(amount) * 10_000 * 2 + abs(qty)) // (2 * abs(qty))  # 1e-6 yuan, half up
    whole, frac = divmod(micro, 1_000_000)
    frac_text = f"{frac:06d}".rstrip("0")
    if len(frac_text) < 2:
        frac_text = (frac_text + "00")[:2]
    return f"{whole}.{frac_text}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿", "万亿")


def _section(n: int) -> str:
    """Upper-case Chinese of 0 < n < 10000, with inner zeros collapsed."""
    out: list[str] = []
    zero = False
    for pos in range(3, -1, -1):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[d] + _UNITS[pos])
    return "".join(out)


def chinese_amount(fen: int) -> str:
    """The amount in upper-case Chinese as printed on invoices: ``壹拾壹万叁仟圆整``."""
    if fen < 0:
        return "负" + chinese_amount(-fen)
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    parts: list[str] = []
    if yuan:
        sections: list[int] = []
        while yuan:
            yuan, rest = divmod(yuan, 10_000)
            sections.append(rest)
        text = ""
        need_zero = False
        for idx in range(len(sections) - 1, -1, -1):
            sec = sections[idx]
            if sec == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or sec < 1000):
                text += "零"
            text += _section(sec) + _SECTIONS[idx]
            need_zero = False
        parts.append(text + "圆")
    if not cents:
        return ("".join(parts) or "零圆") + "整"
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    elif parts:
        parts.append("零")
    if fen_digit:
        parts.append(_DIGITS[fen_digit] + "分")
    return "".join(parts)
