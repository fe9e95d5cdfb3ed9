"""VAT rates as the tax system writes them: ``0.13`` or ``13%``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from foundation.values import parse_tax_rate


@pytest.mark.parametrize(("text", "rate"), [("0.13", Decimal("0.13")), ("13%", Decimal("0.13")), (" 9% ", Decimal("0.09")),
                                            ("0%", Decimal("0")), ("", None), (None, None)])
def test_a_rate_is_read_either_way(text: str | None, rate: Decimal | None) -> None:
    assert parse_tax_rate(text) == rate


@pytest.mark.parametrize("text", ["%", " % ", "-%", "abc%", "13%%", "NaN%"])
def test_a_rate_that_is_no_number_is_a_value_error(text: str) -> None:
    """A value error is a quarantined record; anything else (an assertion) rejected the whole file."""
    with pytest.raises(ValueError, match="not a"):
        parse_tax_rate(text)
