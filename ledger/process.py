"""Deciding one night's records: accept, no-op (re-delivery), or refuse with a reason.

:class:`NightProcessor` holds the night's working state -- the vouchers its events touch,
what it accepted so far -- and decides events (in event-time order) and then financings
(in id order).  It reads the warehouse but writes nothing: :mod:`ledger.nightly` appends
``pending``, saves ``changed`` vouchers and stores the rejections in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from ledger import inputs
from ledger.entries import (
    FinancingRecord,
    Record,
    VoucherEvent,
    diff_fields,
    encode_content,
    record_to_dict,
)
from ledger.fingerprints import financing_fingerprints
from ledger.invariants import (
    EVENT_CONFLICT,
    Accepted,
    Rejection,
    VoucherState,
    apply_accepted,
    apply_event,
    financing_mismatch,
)
from ledger.rejections import EVENT, FINANCING, RejectionKey, RejectionRecord, known_rejections
from ledger.state import load_vouchers
from ledger.store import LedgerStore, PendingEntry


def _latest_entries(
    con: duckdb.DuckDBPyConnection, column: str, ids: list[str], where: str
) -> dict[str, tuple[int, bytes]]:
    """Latest (seq, content hash) of entries whose ``column`` is one of ``ids``."""
    if not ids:
        return {}
    con.register("_ledger_wanted_ids", pa.table({"id": pa.array(sorted(set(ids)), pa.string())}))
    try:
        rows = con.execute(
            f"SELECT e.{column}, max(e.seq), arg_max(e.content_hash, e.seq) FROM ledger_entries e "
            f"JOIN _ledger_wanted_ids w ON w.id = e.{column} WHERE {where} GROUP BY e.{column}"
        ).fetchall()
    finally:
        con.unregister("_ledger_wanted_ids")
    return {r[0]: (int(r[1]), bytes(r[2])) for r in rows}


@dataclass
class NightProcessor:
    """The decisions of one night."""

    con: duckdb.DuckDBPyConnection
    business_date: dt.date
    fingerprint_key: bytes = field(repr=False)  # never logged
    start_seq: int = 0
    pending: list[PendingEntry] = field(default_factory=list)
    vouchers: dict[str, VoucherState] = field(default_factory=dict)
    changed: dict[str, VoucherState] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    new_rejections: list[RejectionRecord] = field(default_factory=list)
    kept: set[RejectionKey] = field(default_factory=set)
    redelivered: int = 0

    def __post_init__(self) -> None:
        self.store = LedgerStore(self.con)
        self.start_seq = self.store.head().size
        self._accepted_finance: dict[str, VoucherEvent] = {}
        self._refused: set[RejectionKey] = set()

    # ---- shared -------------------------------------------------------------------

    def _append(self, record: Record, content: bytes, annex: Any = None) -> int:
        self.pending.append(PendingEntry(record, annex, content))
        return self.start_seq + len(self.pending) - 1

    def _refuse(
        self, subject: str, record: Record, chash: bytes, rejection: Rejection,
        known: dict[RejectionKey, dt.date],
    ) -> None:
        key: RejectionKey = (subject, _subject_id(record), chash)
        if key in known or key in self.kept or key in self._refused:
            return
        self._refused.add(key)
        is_event = isinstance(record, VoucherEvent)
        self.new_rejections.append(
            RejectionRecord(
                business_date=self.business_date,
                subject=subject,
                subject_id=key[1],
                content_hash=chash,
                check_id=rejection.check_id,
                event_id=record.event_id if is_event else None,
                voucher_id=record.voucher_id if is_event else record.asset_voucher_id,
                financing_id=record.financing_id,
                reason=rejection.reason,
                evidence={**({"event_type": record.event_type} if is_event else {}), **rejection.evidence},
            )
        )

    def _seen_before(self, key: RejectionKey, known: dict[RejectionKey, dt.date]) -> bool:
        """A refused record delivered again: a no-op; reproduced if refused this very night."""
        first = known.get(key)
        if first is None:
            return False
        if first == self.business_date:
            self.kept.add(key)
        return True

    def _conflict(self, seq: int, old: Record, new: Record) -> Rejection:
        names = diff_fields(old, new)
        before, after = record_to_dict(old), record_to_dict(new)
        what = "event" if isinstance(new, VoucherEvent) else "financing"
        return Rejection(
            EVENT_CONFLICT,
            f"The {what} {_subject_id(new)} was delivered again with a different "
            f"{', '.join(names)} than the one recorded as entry {seq}.",
            {"entry_seq": seq, **{n: {"ledger": before[n], "delivered": after[n]} for n in names}},
        )

    def _recorded(self, seq: int) -> Record:
        entry = self.store.entry(seq)
        assert entry is not None
        return entry.record

    # ---- events -------------------------------------------------------------------

    def process_events(self, events: list[VoucherEvent]) -> None:
        """Decide the night's voucher events, in the order given."""
        ids = [e.event_id for e in events]
        recorded = _latest_entries(self.con, "event_id", ids, "e.entry_type <> 'FINANCING'")
        known = known_rejections(self.con, EVENT, ids)
        self.vouchers.update(
            load_vouchers(self.con, [v for e in events for v in (e.voucher_id, e.parent_voucher_id)])
        )
        payables = inputs.known_payables(
            self.con, [(e.issuer_uscc, e.ap_ref) for e in events if e.event_type == "ISSUE"], self.business_date
        )
        financings = inputs.latest_financings(
            self.con, [e.financing_id for e in events if e.event_type == "FINANCE"], self.business_date
        )
        tonight: dict[str, tuple[int, bytes, VoucherEvent]] = {}
        for event in events:
            content, chash = encode_content(event)
            key: RejectionKey = (EVENT, event.event_id, chash)
            if self._seen_before(key, known) or key in self._refused:
                continue  # refused before, or an exact repeat of one refused tonight
            if event.event_id in tonight or event.event_id in recorded:
                seq, old_hash, old = tonight.get(event.event_id) or (*recorded[event.event_id], None)
                if old_hash == chash:
                    self.redelivered += 1
                else:
                    prior = old if old is not None else self._recorded(seq)
                    self._refuse(EVENT, event, chash, self._conflict(seq, prior, event), known)
                continue
            outcome = apply_event(
                event,
                self.vouchers,
                payable_exists=(event.issuer_uscc, event.ap_ref) in payables,
                financing=financings.get(event.financing_id or ""),
            )
            if isinstance(outcome, Rejection):
                self._refuse(EVENT, event, chash, outcome, known)
                continue
            assert isinstance(outcome, Accepted)
            seq = self._append(event, content)
            tonight[event.event_id] = (seq, chash, event)
            apply_accepted(self.vouchers, outcome)
            for state in outcome.updates:
                self.changed[state.voucher_id] = state
                self.last_seq[state.voucher_id] = seq
            if event.event_type == "FINANCE" and event.financing_id:
                self._accepted_finance[event.financing_id] = event

    # ---- financings ---------------------------------------------------------------

    def _finance_events(self, financing_ids: list[str]) -> dict[str, VoucherEvent]:
        found = dict(self._accepted_finance)
        recorded = _latest_entries(self.con, "financing_id", financing_ids, "e.entry_type = 'FINANCE'")
        for fid, (seq, _) in recorded.items():
            if fid not in found:
                record = self._recorded(seq)
                assert isinstance(record, VoucherEvent)
                found[fid] = record
        return found

    def process_financings(self, financings: list[FinancingRecord]) -> None:
        """Decide the night's financings: new, re-delivered, status revision, or conflict."""
        ids = [f.financing_id for f in financings]
        recorded = _latest_entries(self.con, "financing_id", ids, "e.entry_type = 'FINANCING'")
        known = known_rejections(self.con, FINANCING, ids)
        events = self._finance_events(ids)
        facts = inputs.tax_invoice_facts(
            self.con,
            [n for f in financings for n in [f.asset_invoice_no, *(i.invoice_no for i in f.invoices)]],
            self.business_date,
        )
        tonight: dict[str, tuple[int, bytes, FinancingRecord]] = {}
        for fin in financings:
            content, chash = encode_content(fin)
            key: RejectionKey = (FINANCING, fin.financing_id, chash)
            if self._seen_before(key, known) or key in self._refused:
                continue
            if fin.financing_id in tonight or fin.financing_id in recorded:
                seq, old_hash, old = tonight.get(fin.financing_id) or (*recorded[fin.financing_id], None)
                if old_hash == chash:
                    self.redelivered += 1
                    continue
                prior = old if old is not None else self._recorded(seq)
                if diff_fields(prior, fin) == ["status"]:
                    annex = financing_fingerprints(fin, facts, self.fingerprint_key)
                    tonight[fin.financing_id] = (self._append(fin, content, annex), chash, fin)
                else:
                    self._refuse(FINANCING, fin, chash, self._conflict(seq, prior, fin), known)
                continue
            event = events.get(fin.financing_id)
            mismatch = financing_mismatch(event, fin) if event is not None else None
            if mismatch is not None:
                self._refuse(FINANCING, fin, chash, mismatch, known)
                continue
            annex = financing_fingerprints(fin, facts, self.fingerprint_key)
            tonight[fin.financing_id] = (self._append(fin, content, annex), chash, fin)


def _subject_id(record: Record) -> str:
    return record.event_id if isinstance(record, VoucherEvent) else record.financing_id
