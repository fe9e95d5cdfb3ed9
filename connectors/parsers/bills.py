"""bills/: 票交所 bill records, ``CdInfList`` holding ``CdInf`` elements.

Each ``CdInf`` (``src_pos`` = its ordinal), read through the declared layout
:data:`~connectors.parsers.layouts.BILL`, gives one ``bills`` row and one
``bill_endorsements`` row per ``Endrsmt``, in document order.  A splittable range must
hold exactly its amount (one unit per fen), else the record is quarantined; an
unsplittable bill (``CdRange`` ``0``) is stored as the range ``1-<amount in fen>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord, ParseContext, Sink
from connectors.parsers.layouts import BILL, ENDORSEMENT, ENDORSEMENTS
from connectors.parsers.xmlread import parse_parent_child_records
from foundation.vocabulary import QuarantineReason
from warehouse.schemas import PARSED

_BILLS, _ENDORSEMENTS = PARSED["bills"], PARSED["bill_endorsements"]


def parse_bills(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a bill XML file into ``bills`` and ``bill_endorsements`` (layout :data:`BILL`)."""
    parse_parent_child_records(path, ctx, sink, BILL.record, BILL.roots, ("bills", "bill_endorsements"), _bill)


def _bill(elem: etree._Element) -> tuple[Any, list[Any]]:
    read = BILL.read(elem)
    cd_no, amount = read["cd_no"], read["amount_fen"]
    cd_range = F.cd_range(BILL.path("cd_range_text"), read["cd_range_text"])
    if cd_range is None:
        start, end = 1, amount
    else:
        start, end = cd_range
        if end - start + 1 != amount:
            raise BadRecord(
                QuarantineReason.RANGE_MISMATCH, f"CdRange {start}-{end} holds {end - start + 1} fen but CdAmt is {amount} fen"
            )
    endorsements = [_endorsement(cd_no, start, seq, e) for seq, e in enumerate(read[ENDORSEMENTS], 1)]
    read.update(
        splittable=cd_range is not None,
        range_start=start,
        range_end=end,
        invoice_nos=read["invoice_nos"] or [],
        endorsement_count=len(endorsements),
        holder_uscc=endorsements[-1].endorsee_uscc if endorsements else read["payee_uscc"],  # the last endorsee holds the bill
    )
    return _BILLS.pick(read), endorsements


def _endorsement(cd_no: str, range_start: int, seq: int, elem: etree._Element) -> Any:
    try:
        read = ENDORSEMENT.read(elem)
    except BadRecord as err:
        raise BadRecord(err.reason_code, f"{ENDORSEMENTS}[{seq}]/{err.reason}") from None
    read.update(cd_no=cd_no, range_start=range_start, seq=seq)
    return _ENDORSEMENTS.pick(read)
