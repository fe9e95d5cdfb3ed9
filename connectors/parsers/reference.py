"""reference/: the bank's party master (``parties.csv``: industry, related-party group, rating),
declared as a CSV layout (:mod:`connectors.parsers.csvlayout`).

A row whose USCC fails its GB 32100-2015 check character, whose industry is not a
GB/T 4754-2017 code, or whose rating is not on the bank's scale is quarantined: the
master is the bank's own data, so a bad row is a data error, not a red flag.
"""

from __future__ import annotations

import re

from stdnum.cn import uscc as stdnum_uscc

from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord
from connectors.parsers.csvlayout import CsvField, CsvLayout
from foundation.vocabulary import QuarantineReason

# The bank's internal rating scale, best first: the one declaration of its order.
RATINGS: tuple[str, ...] = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-", "B+", "B", "B-", "CCC", "CC", "C",
)  # fmt: skip
INDUSTRY_CODE = re.compile(r"[A-T][0-9]{2,4}")  # 门类 letter + 大类 digits at least


def _uscc(name: str, value: str | None) -> str:
    """A USCC whose GB 32100-2015 check character holds."""
    code = F.required_ident(name, value)
    if not stdnum_uscc.is_valid(code):
        raise BadRecord(QuarantineReason.BAD_ID, f"{name}: not a valid USCC: {code!r}")
    return code


PARTIES = CsvLayout(
    "parties",
    (
        CsvField("uscc", "uscc", _uscc, required=True),
        CsvField("name", "name"),
        CsvField("industry", "industry", pattern=INDUSTRY_CODE, form="a GB/T 4754-2017 industry code", required=True),
        CsvField("group_id", "group_id", F.ident, required=True),
        CsvField("rating", "rating", choices=frozenset(RATINGS), required=True),
        CsvField("valid_from", "valid_from", required=True),
    ),
)
