"""The money parser's edge paths: every odd amount is either exact integer fen or a clear
quarantine reason naming the field, never a float and never a crash."""

from __future__ import annotations

import pytest

from connectors.parsers.base import BadRecord
from connectors.parsers.fields import amount_ceiling, fen
from foundation.values import MAX_AMOUNT_DIGITS, MAX_AMOUNT_FEN, format_fen, parse_fen
from foundation.vocabulary import QuarantineReason


@pytest.mark.parametrize(("text", "expected"), [
    ("1234.56", 123456), ("-1234.56", -123456), ("1234.56-", -123456), ("+7", 700), ("0.5", 50),
    ("12.300", 1230),  # zeros beyond the fen are not precision
    ("0007.10", 710), ("0" * 5000 + "1.00", 100),  # leading zeros, even more than Python converts at once
    ("1." + "0" * 5000, 100),
    ("\u30001234.56\u3000", 123456),  # surrounding (ideographic) space goes
    ("-0.00", 0), ("0.00-", 0), ("-0", 0),  # a negative zero is zero: SAP writes 0.00- for an empty credit
    ("", None), ("   ", None), (None, None),
])
def test_exact_amounts_are_integer_fen(text: str | None, expected: int | None) -> None:
    value = parse_fen(text)
    assert value == expected and (value is None or type(value) is int)


@pytest.mark.parametrize(("text", "reason"), [
    ("0.001", "finer than one fen"), ("1.239", "finer than one fen"), ("1.0010", "finer than one fen"),
    ("NaN", "not a money amount"), ("nan", "not a money amount"), ("Infinity", "not a money amount"),
    ("-inf", "not a money amount"),
    ("1e5", "not a money amount"), ("1.5E+2", "not a money amount"), ("12E-2", "not a money amount"),
    ("１２３.４５", "not a money amount"), ("12٣.00", "not a money amount"),  # full-width, Arabic-Indic digits
    ("1,234.56", "not a money amount"), ("1 234.56", "not a money amount"), ("1'234.56", "not a money amount"),
    ("1_000", "not a money amount"),  # Python's int() would take it
    ("¥12.00", "not a money amount"), ("12.00元", "not a money amount"),
    ("-12.00-", "not a money amount"), ("--1", "not a money amount"), ("+-1", "not a money amount"),
    (".5", "not a money amount"), ("5.", "not a money amount"), ("1.2.3", "not a money amount"),
    ("9" * (MAX_AMOUNT_DIGITS + 1), f"{MAX_AMOUNT_DIGITS + 1} digits before the decimal point"),
    ("9" * 5000 + ".00", "5000 digits before the decimal point"),  # beyond Python's 4300-digit conversion limit
])
def test_odd_amounts_are_refused_with_their_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as refused:
        parse_fen(text)
    assert len(str(refused.value)) < 200  # the reason quotes the text cut short, not 5000 digits


@pytest.mark.parametrize(("text", "reason"), [
    ("0.001", "Amount: money amount finer than one fen: '0.001'"),
    ("NaN", "Amount: not a money amount: 'NaN'"),
    ("1,000.00", "Amount: not a money amount: '1,000.00'"),
    (format_fen(MAX_AMOUNT_FEN + 1), "Amount: amount 100000000000.01 is beyond the plausibility ceiling of 100000000000.00 yuan"),
    ("-" + format_fen(MAX_AMOUNT_FEN + 1), "beyond the plausibility ceiling"),
    ("9" * 17, "Amount: money amount of 17 digits before the decimal point, more than 16"),
])
def test_a_refused_amount_quarantines_its_record_naming_the_field(text: str, reason: str) -> None:
    with pytest.raises(BadRecord) as refused:
        fen("Amount", text)
    assert refused.value.reason_code == QuarantineReason.BAD_VALUE and reason in refused.value.reason


def test_the_ceiling_is_inclusive_and_follows_the_setting() -> None:
    assert fen("Amount", format_fen(MAX_AMOUNT_FEN)) == MAX_AMOUNT_FEN
    assert fen("Amount", format_fen(-MAX_AMOUNT_FEN)) == -MAX_AMOUNT_FEN
    with amount_ceiling(100_00):
        assert fen("Amount", "100.00") == 100_00
        with pytest.raises(BadRecord, match="beyond the plausibility ceiling of 100.00 yuan"):
            fen("Amount", "100.01")
