"""Deciding one night's records: accept, no-op (re-delivery), or refuse with a reason.

:class:`NightProcessor` decides the night's events (in event-time order) and then its
financings (in id order), a batch at a time.  At the end of each batch it appends the
records it accepted, saves the vouchers they changed and writes their fingerprints, so the
next batch finds them in the ledger like those of earlier nights: what it holds in memory
is one batch and the night's rejections.  :mod:`ledger.nightly` runs it inside one
transaction and stores the rejections at the end.
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
    decode_entry,
    diff_fields,
    encode_content,
    record_to_dict,
)
from ledger.fingerprints import financing_fingerprints, record_fingerprints
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
from ledger.state import load_vouchers, save_vouchers
from ledger.store import LedgerStore, PendingEntry


def _latest_entries(
    con: duckdb.DuckDBPyConnection, column: str, ids: list[str], where: str, value: str = "e.content_hash"
) -> dict[str, tuple[int, bytes]]:
    """For each of ``ids``: (seq, ``value``) of the latest entry matching ``where`` whose
    ``column`` is that id."""
    if not ids:
        return {}
    con.register("_ledger_wanted_ids", pa.table({"id": pa.array(sorted(set(ids)), pa.string())}))
    try:
        rows = con.execute(
            f"SELECT e.{column}, max(e.seq), arg_max({value}, e.seq) FROM ledger_entries e "
            f"JOIN _ledger_wanted_ids w ON w.id = e.{column} WHERE {where} GROUP BY e.{column}"
        ).fetchall()
    finally:
        con.unregister("_ledger_wanted_ids")
    return {r[0]: (int(r[1]), bytes(r[2])) for r in rows}


@dataclass
class NightProcessor:
    """The decisions of one night, and what it appended so far."""

    con: duckdb.DuckDBPyConnection
    business_date: dt.date
    fingerprint_key: bytes = field(repr=False)  # never logged
    new_rejections: list[RejectionRecord] = field(default_factory=list)
    kept: set[RejectionKey] = field(default_factory=set)
    redelivered: int = 0
    appended: int = 0
    fingerprints: int = 0

    def __post_init__(self) -> None:
        self.store = LedgerStore(self.con)
        self._next_seq = self.store.head().size
        self._pending: list[PendingEntry] = []
        self._changed: dict[str, VoucherState] = {}
        self._last_seq: dict[str, int] = {}
        self._refused: set[RejectionKey] = set()

    # ---- shared -------------------------------------------------------------------

    def _append(self, record: Record, content: bytes, annex: Any = None) -> int:
        self._pending.append(PendingEntry(record, annex, content))
        return self._next_seq + len(self._pending) - 1

    def _persist(self) -> None:
        """Append the batch's accepted records, save the vouchers they changed, write
        their fingerprints, and forget them."""
        appended = self.store.append(self._pending, self.business_date)
        save_vouchers(self.con, self._changed, self._last_seq)
        self.fingerprints += record_fingerprints(self.con, appended, self.business_date)
        self.appended += len(appended)
        self._next_seq += len(appended)
        self._pending, self._changed, self._last_seq = [], {}, {}

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
        """Decide a batch of the night's voucher events, in the order given, and persist
        those accepted (batches must come in the night's order)."""
        ids = [e.event_id for e in events]
        recorded = _latest_entries(self.con, "event_id", ids, "e.entry_type <> 'FINANCING'")
        known = known_rejections(self.con, EVENT, ids)
        vouchers = load_vouchers(self.con, [v for e in events for v in (e.voucher_id, e.parent_voucher_id)])
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
                vouchers,
                payable_exists=(event.issuer_uscc, event.ap_ref) in payables,
                financing=financings.get(event.financing_id or ""),
            )
            if isinstance(outcome, Rejection):
                self._refuse(EVENT, event, chash, outcome, known)
                continue
            assert isinstance(outcome, Accepted)
            seq = self._append(event, content)
            tonight[event.event_id] = (seq, chash, event)
            apply_accepted(vouchers, outcome)
            for state in outcome.updates:
                self._changed[state.voucher_id] = state
                self._last_seq[state.voucher_id] = seq
        self._persist()

    # ---- financings ---------------------------------------------------------------

    def _finance_events(self, financing_ids: list[str]) -> dict[str, VoucherEvent]:
        """The latest FINANCE event recorded (tonight's included) for each financing."""
        found: dict[str, VoucherEvent] = {}
        latest = _latest_entries(self.con, "financing_id", financing_ids, "e.entry_type = 'FINANCE'", "e.entry")
        for fid, (_, entry) in latest.items():
            record = decode_entry(entry).record
            assert isinstance(record, VoucherEvent)
            found[fid] = record
        return found

    def process_financings(self, financings: list[FinancingRecord]) -> None:
        """Decide a batch of the night's financings (new, re-delivered, status revision, or
        conflict) and persist those accepted; after the events, in the night's order."""
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
        self._persist()


def _subject_id(record: Record) -> str:
    return record.event_id if isinstance(record, VoucherEvent) else record.financing_id
