"""bills/: 票交所 bill records, ``CdInfList`` holding ``CdInf`` elements.

Each ``CdInf`` (``src_pos`` = its ordinal) gives one ``bills`` row and one
``bill_endorsements`` row per ``Endrsmt``, in document order.  A splittable range must
hold exactly its amount (one unit per fen), else the record is quarantined; an
unsplittable bill (``CdRange`` ``0``) is stored as the range ``1-<amount in fen>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from connectors.parsers import fields as F
from connectors.parsers.base import RANGE_MISMATCH, BadRecord, ParseContext, Sink
from connectors.parsers.xmlread import Paths, parse_parent_child_records
from connectors.schemas import RATE

_ROOTS = frozenset({"CdInfList"})
_BILL = Paths(
    ["CdNo", "CdRange", "Tp", "CdAmt", "IsseDt", "DueDt", "Drwr/Nm", "Drwr/CmonId", "Accptr/Nm", "Accptr/CmonId",
     "Pyee/Nm", "Pyee/CmonId", "BanEndrsmtMk", "Dscnt/Dt", "Dscnt/IntrstRate", "Dscnt/Amt", "Dscnt/DscntBk",
     "Collztn/Dt", "Collztn/CollztnBk", "CdSts", "CircSts"],
    repeated=["InvcNb", "Endrsmt"],
)  # fmt: skip
_ENDORSEMENT = Paths(["Dt", "Endrsr/CmonId", "Endrsee/CmonId"])


def parse_bills(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a bill XML file into ``bills`` and ``bill_endorsements``."""
    parse_parent_child_records(path, ctx, sink, "CdInf", _ROOTS, ("bills", "bill_endorsements"), _bill)


def _bill(elem: etree._Element) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    texts, groups = _BILL.read(elem)
    get = texts.get
    cd_no = F.identifier("CdNo", get("CdNo"), F.CD_NO, "a 30-digit bill number")
    amount = F.required_fen("CdAmt", get("CdAmt"))
    cd_range = F.cd_range("CdRange", F.required("CdRange", get("CdRange")))
    if cd_range is None:
        start, end = 1, amount
    else:
        start, end = cd_range
        if end - start + 1 != amount:
            raise BadRecord(
                RANGE_MISMATCH, f"CdRange {start}-{end} holds {end - start + 1} fen but CdAmt is {amount} fen"
            )
    endorsements = [_endorsement(cd_no, start, seq, e) for seq, e in enumerate(groups.get("Endrsmt", ()), 1)]
    payee_uscc = F.ident("Pyee/CmonId", get("Pyee/CmonId"))
    amount_elem = elem.find("CdAmt")
    row = (
        cd_no,
        cd_range is not None,
        start,
        end,
        F.text(get("Tp")),
        amount,
        F.text(amount_elem.get("Ccy")) if amount_elem is not None else None,
        F.iso_date("IsseDt", get("IsseDt")),
        F.iso_date("DueDt", get("DueDt")),
        F.text(get("Drwr/Nm")),
        F.ident("Drwr/CmonId", get("Drwr/CmonId")),
        F.text(get("Accptr/Nm")),
        F.ident("Accptr/CmonId", get("Accptr/CmonId")),
        F.text(get("Pyee/Nm")),
        payee_uscc,
        F.text(get("BanEndrsmtMk")),
        F.iso_date("Dscnt/Dt", get("Dscnt/Dt")),
        F.decimal("Dscnt/IntrstRate", get("Dscnt/IntrstRate"), RATE),
        F.fen("Dscnt/Amt", get("Dscnt/Amt")),
        F.ident("Dscnt/DscntBk", get("Dscnt/DscntBk")),
        F.iso_date("Collztn/Dt", get("Collztn/Dt")),
        F.ident("Collztn/CollztnBk", get("Collztn/CollztnBk")),
        F.text(get("CdSts")),
        F.text(get("CircSts")),
        [no for no in (F.ident("InvcNb", e.text) for e in groups.get("InvcNb", ())) if no is not None],
        len(endorsements),
        endorsements[-1][-1] if endorsements else payee_uscc,  # the last endorsee holds the bill
    )
    return row, endorsements


def _endorsement(cd_no: str, range_start: int, seq: int, elem: etree._Element) -> tuple[Any, ...]:
    get = _ENDORSEMENT.read(elem)[0].get
    return (
        cd_no,
        range_start,
        seq,
        F.iso_date(f"Endrsmt[{seq}]/Dt", get("Dt")),
        F.ident("Endrsr/CmonId", get("Endrsr/CmonId")),
        F.ident("Endrsee/CmonId", get("Endrsee/CmonId")),
    )
