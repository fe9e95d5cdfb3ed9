"""Planters of malformed ``financings.csv`` rows (issue 9 §4: nothing vanishes).

A row that cannot be read as delivered still names a financing, and often the asset it
finances: the financing must get a verdict that is not ``clean``, and the asset must still
count against the financings of it that were read.

* ``fullwidth_asset_ref_twin``: a voucher financed at one bank is booked again at another
  bank on a row whose ``asset_ref`` carries a full-width character — one identifier
  rule (NFKC) makes it the same voucher: both financings are duplicates;
* ``nineteen_digit_invoice_twin``: the same, on a row presenting an invoice number one
  digit short (19 digits): the row is unreadable (``DQ_FINANCING_ROW_UNREADABLE``) and
  the financing it duplicates is still caught;
* look-alike ``fullwidth_asset_ref_only``: a voucher's only financing, on a row whose
  ``asset_ref`` carries a full-width character: the same voucher, financed once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.documents import RowEdit
from simulator.planting import Planter, finance_now, issued_voucher

if TYPE_CHECKING:
    from simulator.context import Sim

ASSET_REF, INVOICE_NOS = 5, 6  # positions in render.FINANCING_COLUMNS
_FULL_WIDTH = 0xFEE0  # U+FF01..U+FF5E are U+0021..U+007E in full width


def full_width_first(text: str, skip: int = 1) -> str:
    """``text`` with its first digit after ``skip`` characters (else its first letter) in
    full width: ``V3f9…`` → ``V３f9…``."""
    for wanted in (str.isdigit, str.isalpha):
        for i in range(skip, len(text)):
            if text[i].isascii() and wanted(text[i]):
                return text[:i] + chr(ord(text[i]) + _FULL_WIDTH) + text[i + 1:]
    raise ValueError(f"nothing to widen in {text!r}")


def _fullwidth_asset_ref(fields: tuple[str, ...]) -> tuple[str, ...]:
    return (*fields[:ASSET_REF], full_width_first(fields[ASSET_REF]), *fields[ASSET_REF + 1:])


def _nineteen_digit_invoice(fields: tuple[str, ...]) -> tuple[str, ...]:
    refs = fields[INVOICE_NOS]
    no, rest = refs.split(":", 1)
    return (*fields[:INVOICE_NOS], f"{no[:-1]}:{rest}", *fields[INVOICE_NOS + 1:])


def _twin(sim: Sim, kind: str, check_id: str, edit: RowEdit) -> None:
    """A voucher financed at one bank and booked again at another on a row bent by ``edit``."""
    trade, v, pos = issued_voucher(sim)
    refs = pos.take(v.amount)
    first = finance_now(sim, v, refs)
    second = sim.platform.book("VOUCHER", sim.platform.bank(first.bank), trade.seller.uscc, v.issuer.uscc, v.id,
                               refs, v.amount, v.maturity, row_delay=0, as_delivered=edit)
    note = f"voucher {v.id} financed by {first.id} and, on a malformed row, {second.id}"
    sim.labels.anomaly(sim.night, "DUP_VOUCHER_MULTI_FINANCED", kind, financing=first, voucher_id=v.id, note=note)
    sim.labels.anomaly(sim.night, check_id, kind, financing=second, voucher_id=v.id, note=note)


def fullwidth_asset_ref_twin(sim: Sim, i: int) -> None:
    """A voucher financed twice, the second row's asset_ref with a full-width character."""
    _twin(sim, "fullwidth_asset_ref_twin", "DUP_VOUCHER_MULTI_FINANCED", _fullwidth_asset_ref)


def nineteen_digit_invoice_twin(sim: Sim, i: int) -> None:
    """A voucher financed twice, the second row presenting a 19-digit invoice number."""
    _twin(sim, "nineteen_digit_invoice_twin", "DQ_FINANCING_ROW_UNREADABLE", _nineteen_digit_invoice)


def fullwidth_asset_ref_only(sim: Sim, i: int) -> None:
    """A voucher's only financing, its row's asset_ref with a full-width character."""
    _trade, v, pos = issued_voucher(sim)
    f = sim.platform.finance_voucher(v, pos.take(v.amount), row_delay=0, as_delivered=_fullwidth_asset_ref)
    sim.labels.lookalike(sim.night, "DUP_VOUCHER_MULTI_FINANCED", "fullwidth_asset_ref_only", financing=f,
                         voucher_id=v.id, note=f"{v.id} written with a full-width character, financed once")


PLANTERS: tuple[Planter, ...] = (
    Planter("DUP_VOUCHER_MULTI_FINANCED", "fullwidth_asset_ref_twin", fullwidth_asset_ref_twin),
    Planter("DQ_FINANCING_ROW_UNREADABLE", "nineteen_digit_invoice_twin", nineteen_digit_invoice_twin),
    Planter("DUP_VOUCHER_MULTI_FINANCED", "fullwidth_asset_ref_only", fullwidth_asset_ref_only),
)
