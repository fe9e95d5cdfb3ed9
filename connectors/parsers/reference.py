"""reference/: the bank's party master (``parties.csv``: industry, related-party group, rating).

A row whose USCC fails its GB 32100-2015 check character, whose industry is not a
GB/T 4754-2017 code, or whose rating is not on the bank's scale is quarantined: the
master is the bank's own data, so a bad row is a data error, not a red flag.
"""

from __future__ import annotations

import re
from pathlib import Path

from stdnum.cn import uscc as stdnum_uscc

from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord, ParseContext, Sink
from connectors.parsers.batching import BatchBuilder, flush_all
from connectors.parsers.csvread import Row, for_each_row
from foundation import values
from foundation.vocabulary import QuarantineReason
from warehouse.schemas import PARSED

# The bank's internal rating scale, best first: the one declaration of its order.
RATINGS: tuple[str, ...] = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-", "B+", "B", "B-", "CCC", "CC", "C",
)  # fmt: skip
INDUSTRY_CODE = re.compile(r"[A-T][0-9]{2,4}")  # 门类 letter + 大类 digits at least
_COLUMNS = ("uscc", "name", "industry", "group_id", "rating", "valid_from")
_PARTY = PARSED["parties"].Record


def parse_parties(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse ``reference/parties.csv`` into ``parties``."""
    rows = BatchBuilder("parties", ctx, sink)
    for_each_row(path, ctx, sink, _COLUMNS, lambda line, row: rows.add(line, _party(row)))
    flush_all(rows)


def _party(row: Row) -> tuple[object, ...]:
    uscc, name, industry, group_id, rating, valid_from = row
    code = F.required_ident("uscc", uscc)
    if not stdnum_uscc.is_valid(code):
        raise BadRecord(QuarantineReason.BAD_ID, f"uscc: not a valid USCC: {code!r}")
    return _PARTY(
        uscc=code,
        name=F.text(name),
        industry=F.identifier("industry", industry, INDUSTRY_CODE, "a GB/T 4754-2017 industry code"),
        group_id=F.required_ident("group_id", group_id),
        rating=F.choice("rating", rating, frozenset(RATINGS)),
        valid_from=F.convert("valid_from", values.parse_iso_date, valid_from, need=True),
    )
