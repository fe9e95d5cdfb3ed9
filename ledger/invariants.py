"""The state machine of a voucher, as pure functions: state + event -> new state or refusal.

The invariants of money, enforced before anything is appended:

* only the current holder can split, transfer or finance a voucher;
* a split moves a positive amount no larger than what the parent has left, and the
  child inherits the parent's issuer and maturity;
* TRANSFER and FINANCE act on the whole voucher (its remaining amount);
* nothing financed, settled or cancelled moves again (a financed voucher may still be
  SETTLEd: that is the core enterprise paying the bank at maturity);
* no financing on or after maturity;
* an ISSUE rests on a payable of the core enterprise's ERP;
* a voucher id is created once, and events act only on vouchers that exist;
* a FINANCE event agrees with its row in ``financings`` (voucher, amount, bank, applicant).

Support that has not arrived yet is not a refusal: :func:`decide_event` keeps an ISSUE
whose payable is not in the ERP yet *pending* for the evidence window, and everything done
on a pending voucher is pending with it (its states carry ``pending_since``).

Refusals carry a check id, one sentence with the numbers, and the values compared.  The
functions never mutate what they are given: a refused event leaves the state as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from foundation.values import format_fen, parse_offset_datetime
from foundation.vocabulary import EVENT_TYPES, EventType
from ledger.entries import FinancingRecord, VoucherEvent

# Check ids (other parts of the system depend on these exact strings).
NOT_HOLDER = "LEDGER_NOT_HOLDER"
SPLIT_EXCEEDS = "LEDGER_SPLIT_EXCEEDS"
SPLIT_INHERITANCE = "LEDGER_SPLIT_INHERITANCE"
PARTIAL_MOVE = "LEDGER_PARTIAL_MOVE"
MOVE_AFTER_FINAL = "LEDGER_MOVE_AFTER_FINAL"
FINANCE_AFTER_MATURITY = "LEDGER_FINANCE_AFTER_MATURITY"
ISSUE_WITHOUT_PAYABLE = "LEDGER_ISSUE_WITHOUT_PAYABLE"
UNKNOWN_VOUCHER = "LEDGER_UNKNOWN_VOUCHER"
DUPLICATE_VOUCHER = "LEDGER_DUPLICATE_VOUCHER"
EVENT_CONFLICT = "LEDGER_EVENT_CONFLICT"
FINANCING_MISMATCH = "LEDGER_FINANCING_MISMATCH"
INTEGRITY = "LEDGER_INTEGRITY"
EVIDENCE_PENDING = "LEDGER_EVIDENCE_PENDING"

CHECK_IDS = (
    NOT_HOLDER,
    SPLIT_EXCEEDS,
    SPLIT_INHERITANCE,
    PARTIAL_MOVE,
    MOVE_AFTER_FINAL,
    FINANCE_AFTER_MATURITY,
    ISSUE_WITHOUT_PAYABLE,
    UNKNOWN_VOUCHER,
    DUPLICATE_VOUCHER,
    EVENT_CONFLICT,
    FINANCING_MISMATCH,
    INTEGRITY,
    EVIDENCE_PENDING,
)

ACTIVE, FINANCED, SETTLED, CANCELLED = "ACTIVE", "FINANCED", "SETTLED", "CANCELLED"


class VoucherState(NamedTuple):
    """What the ledger knows of one voucher after the entries appended so far (immutable)."""

    voucher_id: str
    root_voucher_id: str
    parent_voucher_id: str | None
    issuer_uscc: str | None
    holder_uscc: str | None
    tier: int  # 1 = held by the tier-1 supplier the core issued it to; +1 per TRANSFER
    issued_fen: int  # amount at creation (ISSUE amount, or the amount split into it)
    remaining_fen: int
    maturity_date: dt.date | None
    status: str = ACTIVE
    financing_id: str | None = None
    pending_since: dt.date | None = None  # rests on an ISSUE whose payable has not arrived yet


class FinancingTerms(NamedTuple):
    """What a FINANCE event is compared with in its financing (:func:`financing_mismatch`): these
    fields of its :class:`~ledger.entries.FinancingRecord`, read alone for the events
    (:func:`ledger.inputs.first_financings`)."""

    financing_id: str
    asset_voucher_id: str | None
    face_amount_fen: int | None
    bank_code: str | None
    applicant_uscc: str | None


Financed = FinancingRecord | FinancingTerms
"""A financing as a FINANCE event is checked against: the whole record or its terms."""


@dataclass(frozen=True)
class Rejection:
    """An event or financing the ledger refuses, and why."""

    check_id: str
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    refused_on: dt.date | None = None  # when later than the event's delivery (a window ended)


@dataclass(frozen=True)
class Accepted:
    """An accepted event: the voucher states it creates or changes; ``pending_since`` is set
    when it is accepted pending (its support has not arrived yet)."""

    updates: tuple[VoucherState, ...]
    pending_since: dt.date | None = None


Outcome = Accepted | Rejection


def yuan(fen: int | None) -> str:
    """Money for a sentence: ``¥1234.56``."""
    return "¥(none)" if fen is None else "¥" + format_fen(fen)


def event_date(event: VoucherEvent) -> dt.date | None:
    """The China-time date of an event, from its delivered ISO 8601 time."""
    try:
        moment = parse_offset_datetime(event.event_time)
    except ValueError:
        return None
    return moment.date() if moment else None


def apply_accepted(vouchers: MutableMapping[str, VoucherState], outcome: Accepted) -> None:
    """Write an accepted event's new voucher states into ``vouchers``."""
    for state in outcome.updates:
        vouchers[state.voucher_id] = state


def apply_event(
    event: VoucherEvent,
    vouchers: Mapping[str, VoucherState],
    *,
    payable_exists: bool = False,
    financing: Financed | None = None,
) -> Outcome:
    """Decide one voucher event against the current states.

    ``payable_exists`` tells whether an ISSUE's ``ap_ref`` is a payable of the issuer's
    core enterprise (looked up by the caller); ``financing`` is the FINANCE event's row
    in ``financings`` when it has arrived.
    """
    kind = event.event_type
    if kind not in EVENT_TYPES:
        return Rejection(
            EVENT_CONFLICT,
            f"Event {event.event_id} has event type {kind!r}, which is none of {', '.join(EventType)}.",
            {"event_type": kind},
        )
    if kind == "ISSUE":
        return _issue(event, vouchers, payable_exists)
    if kind == "SPLIT":
        return _split(event, vouchers)
    voucher = vouchers.get(event.voucher_id or "")
    if voucher is None:
        return _unknown(event, event.voucher_id)
    if kind in ("TRANSFER", "FINANCE"):
        return _move(event, voucher, financing)
    if kind == "SETTLE":
        if voucher.status in (SETTLED, CANCELLED):
            return _after_final(event, voucher)
        return Accepted((voucher._replace(status=SETTLED),))
    # CANCEL
    if voucher.status != ACTIVE:
        return _after_final(event, voucher)
    return Accepted((voucher._replace(status=CANCELLED),))


def window_end(first_night: dt.date, window_days: int) -> dt.date:
    """The last night on which the support of an event first delivered on ``first_night``
    may arrive; it is voided on the night after."""
    return first_night + dt.timedelta(days=window_days)


def decide_event(
    event: VoucherEvent,
    vouchers: Mapping[str, VoucherState],
    *,
    as_of: dt.date,
    first_night: dt.date,
    window_days: int,
    payable_night: dt.date | None,
    financing: Financed | None = None,
) -> Outcome:
    """Decide one voucher event as of night ``as_of``, two-phase.

    ``first_night`` is the night the event was first delivered; ``payable_night`` the night
    the ISSUE's payable first appeared in its core's ERP (``None``: not yet).  An ISSUE whose
    payable has not arrived is accepted *pending* until :func:`window_end`, then refused
    (``LEDGER_ISSUE_WITHOUT_PAYABLE``); a payable that arrives after the window does not
    count.  An event on a pending voucher is pending with it.
    """
    pending: dt.date | None = None
    payable_exists = True
    if event.event_type == "ISSUE":
        deadline = window_end(first_night, window_days)
        if payable_night is None or payable_night > min(as_of, deadline):
            if as_of <= deadline:
                pending = first_night
            else:
                payable_exists = False
    else:
        touched = (vouchers.get(v) for v in (event.voucher_id, event.parent_voucher_id) if v)
        pending = min((s.pending_since for s in touched if s and s.pending_since), default=None)
    outcome = apply_event(event, vouchers, payable_exists=payable_exists, financing=financing)
    if isinstance(outcome, Rejection):
        if not payable_exists and outcome.check_id == ISSUE_WITHOUT_PAYABLE and (event.amount_fen or 0) > 0:
            return Rejection(
                ISSUE_WITHOUT_PAYABLE,
                f"{outcome.reason[:-1]}: it was pending from {first_night} and the evidence window of "
                f"{window_days} days ended on {deadline}.",
                {**outcome.evidence, "pending_since": first_night, "window_ended": deadline},
                refused_on=deadline + dt.timedelta(days=1),
            )
        return outcome
    if pending is None:
        return outcome
    return Accepted(tuple(s._replace(pending_since=pending) for s in outcome.updates), pending)


def pending_notice(event: VoucherEvent, since: dt.date, window_days: int) -> Rejection:
    """The ``LEDGER_EVIDENCE_PENDING`` finding of an ISSUE accepted pending (not a refusal:
    a notice, medium, that the voucher and what is built on it wait for the payable)."""
    until = window_end(since, window_days)
    return Rejection(
        EVIDENCE_PENDING,
        f"Evidence pending since {since}: payable {event.ap_ref or '(none)'} of core {event.issuer_uscc} "
        f"is not in its ERP yet; ISSUE {event.event_id} of voucher {event.voucher_id} for "
        f"{yuan(event.amount_fen)}, and what is built on it, wait for it until {until}.",
        {
            "pending": True,
            "pending_since": since,
            "window_ends": until,
            "ap_ref": event.ap_ref,
            "issuer_uscc": event.issuer_uscc,
            "amount_fen": event.amount_fen,
        },
    )


def _unknown(event: VoucherEvent, voucher_id: str | None) -> Rejection:
    return Rejection(
        UNKNOWN_VOUCHER,
        f"{event.event_type} {event.event_id} acts on voucher {voucher_id or '(none)'}, "
        "which was never issued.",
        {"voucher_id": voucher_id},
    )


def _after_final(event: VoucherEvent, voucher: VoucherState) -> Rejection:
    return Rejection(
        MOVE_AFTER_FINAL,
        f"{event.event_type} {event.event_id} refused: voucher {voucher.voucher_id} is already "
        f"{voucher.status}" + (f" (financing {voucher.financing_id})." if voucher.financing_id else "."),
        {"voucher_id": voucher.voucher_id, "status": voucher.status, "financing_id": voucher.financing_id},
    )


def _not_holder(event: VoucherEvent, voucher: VoucherState, claimed: str | None) -> Rejection:
    return Rejection(
        NOT_HOLDER,
        f"{event.event_type} {event.event_id} of voucher {voucher.voucher_id} by {claimed or '(none)'} "
        f"refused: the voucher is held by {voucher.holder_uscc}.",
        {"voucher_id": voucher.voucher_id, "claimed_holder": claimed, "holder": voucher.holder_uscc},
    )


def _issue(event: VoucherEvent, vouchers: Mapping[str, VoucherState], payable_exists: bool) -> Outcome:
    vid = event.voucher_id
    if not vid:
        return _unknown(event, vid)
    if vid in vouchers:
        return Rejection(
            DUPLICATE_VOUCHER,
            f"ISSUE {event.event_id} creates voucher {vid}, which already exists.",
            {"voucher_id": vid},
        )
    evidence = {"ap_ref": event.ap_ref, "issuer_uscc": event.issuer_uscc, "amount_fen": event.amount_fen}
    if event.amount_fen is None or event.amount_fen <= 0:
        return Rejection(
            ISSUE_WITHOUT_PAYABLE,
            f"ISSUE {event.event_id} of voucher {vid} is for {yuan(event.amount_fen)}: "
            "only a positive amount can rest on a payable.",
            evidence,
        )
    if not payable_exists:
        return Rejection(
            ISSUE_WITHOUT_PAYABLE,
            f"ISSUE {event.event_id} of voucher {vid} for {yuan(event.amount_fen)} cites payable "
            f"{event.ap_ref or '(none)'}, which the ERP of {event.issuer_uscc} does not show.",
            evidence,
        )
    if event.from_uscc and event.from_uscc != event.issuer_uscc:
        return Rejection(
            NOT_HOLDER,
            f"ISSUE {event.event_id} of voucher {vid} comes from {event.from_uscc}, not from its "
            f"issuer {event.issuer_uscc}.",
            {"voucher_id": vid, "claimed_holder": event.from_uscc, "holder": event.issuer_uscc},
        )
    return Accepted(
        (
            VoucherState(
                voucher_id=vid,
                root_voucher_id=vid,
                parent_voucher_id=None,
                issuer_uscc=event.issuer_uscc,
                holder_uscc=event.to_uscc,
                tier=1,
                issued_fen=event.amount_fen,
                remaining_fen=event.amount_fen,
                maturity_date=event.maturity_date,
            ),
        )
    )


def _split(event: VoucherEvent, vouchers: Mapping[str, VoucherState]) -> Outcome:
    child_id, parent = event.voucher_id, vouchers.get(event.parent_voucher_id or "")
    if parent is None:
        return _unknown(event, event.parent_voucher_id)
    if not child_id:
        return _unknown(event, child_id)
    if child_id in vouchers:
        return Rejection(
            DUPLICATE_VOUCHER,
            f"SPLIT {event.event_id} of voucher {parent.voucher_id} creates voucher {child_id}, "
            "which already exists.",
            {"voucher_id": child_id, "parent_voucher_id": parent.voucher_id},
        )
    if parent.status != ACTIVE:
        return _after_final(event, parent)
    for claimed in (event.from_uscc, event.to_uscc):
        if claimed != parent.holder_uscc:
            return _not_holder(event, parent, claimed)
    differs = {
        name: {"parent": theirs, "child": ours}
        for name, theirs, ours in (
            ("issuer_uscc", parent.issuer_uscc, event.issuer_uscc),
            ("maturity_date", parent.maturity_date, event.maturity_date),
        )
        if ours is not None and ours != theirs
    }
    if differs:
        said = "; ".join(f"{k} {v['child']} instead of {v['parent']}" for k, v in differs.items())
        return Rejection(
            SPLIT_INHERITANCE,
            f"SPLIT {event.event_id} gives child {child_id} of voucher {parent.voucher_id} {said}.",
            {"voucher_id": child_id, "parent_voucher_id": parent.voucher_id, **differs},
        )
    amount = event.amount_fen
    if amount is None or amount <= 0 or amount > parent.remaining_fen:
        return Rejection(
            SPLIT_EXCEEDS,
            f"SPLIT {event.event_id} moves {yuan(amount)} out of voucher {parent.voucher_id}, "
            f"which has {yuan(parent.remaining_fen)} left.",
            {
                "voucher_id": child_id,
                "parent_voucher_id": parent.voucher_id,
                "split_fen": amount,
                "parent_remaining_fen": parent.remaining_fen,
            },
        )
    child = VoucherState(
        voucher_id=child_id,
        root_voucher_id=parent.root_voucher_id,
        parent_voucher_id=parent.voucher_id,
        issuer_uscc=parent.issuer_uscc,
        holder_uscc=parent.holder_uscc,
        tier=parent.tier,
        issued_fen=amount,
        remaining_fen=amount,
        maturity_date=parent.maturity_date,
    )
    return Accepted((parent._replace(remaining_fen=parent.remaining_fen - amount), child))


def _move(event: VoucherEvent, voucher: VoucherState, financing: Financed | None) -> Outcome:
    if voucher.status != ACTIVE:
        return _after_final(event, voucher)
    if event.from_uscc != voucher.holder_uscc:
        return _not_holder(event, voucher, event.from_uscc)
    if event.amount_fen != voucher.remaining_fen:
        return Rejection(
            PARTIAL_MOVE,
            f"{event.event_type} {event.event_id} moves {yuan(event.amount_fen)} of voucher "
            f"{voucher.voucher_id}, which has {yuan(voucher.remaining_fen)} left: it must move the "
            "whole voucher (split first).",
            {"voucher_id": voucher.voucher_id, "amount_fen": event.amount_fen, "remaining_fen": voucher.remaining_fen},
        )
    if event.event_type == "TRANSFER":
        return Accepted((voucher._replace(holder_uscc=event.to_uscc, tier=voucher.tier + 1),))
    day = event_date(event)
    if day is not None and voucher.maturity_date is not None and day >= voucher.maturity_date:
        return Rejection(
            FINANCE_AFTER_MATURITY,
            f"FINANCE {event.event_id} of voucher {voucher.voucher_id} on {day} refused: the voucher "
            f"matures on {voucher.maturity_date}.",
            {"voucher_id": voucher.voucher_id, "event_date": str(day), "maturity_date": str(voucher.maturity_date)},
        )
    if financing is not None:
        mismatch = financing_mismatch(event, financing)
        if mismatch is not None:
            return mismatch
    return Accepted(
        (voucher._replace(holder_uscc=event.to_uscc, status=FINANCED, financing_id=event.financing_id),)
    )


def financing_mismatch(event: VoucherEvent, financing: Financed) -> Rejection | None:
    """LEDGER_FINANCING_MISMATCH if a FINANCE event and its financings row disagree."""
    compared = (
        ("voucher", event.voucher_id, financing.asset_voucher_id),
        ("amount_fen", event.amount_fen, financing.face_amount_fen),
        ("bank", event.to_uscc, financing.bank_code),
        ("applicant", event.from_uscc, financing.applicant_uscc),
    )
    differs = {name: {"event": ours, "financing": theirs} for name, ours, theirs in compared if ours != theirs}
    if not differs:
        return None

    def show(name: str, value: Any) -> str:
        return yuan(value) if name == "amount_fen" else str(value)

    said = "; ".join(
        f"{name.replace('_fen', '')} {show(name, v['event'])} vs {show(name, v['financing'])}"
        for name, v in differs.items()
    )
    return Rejection(
        FINANCING_MISMATCH,
        f"FINANCE {event.event_id} and financing {financing.financing_id} disagree: {said}.",
        {"voucher_id": event.voucher_id, "financing_id": financing.financing_id, **differs},
    )
