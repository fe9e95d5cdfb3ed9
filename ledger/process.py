"""Deciding the ledger as of one night: replay what was delivered, append what changed.

:class:`NightProcessor` recomputes the ledger's decisions as of night D from everything
delivered up to D, so that a re-run, a restated delivery, a corrected configuration or
nights run out of order end in the state the right deliveries would have given in order:

* events, in replay order (:func:`ledger.state.replay_order`), through
  :func:`ledger.invariants.decide_event`: posted, pending (support not arrived yet, within
  the evidence window) or refused.  The first delivered version of an event stands; a
  later version with other content is a conflict (a version after a refused one is
  decided in its turn);
* financings, per id in delivery order: the first version, then status revisions; other
  changes are conflicts; a financing that disagrees with its accepted FINANCE event is
  refused.  (A FINANCE event is checked against its financing's first version.)

The tree records decisions sparsely and append-only: an event's entry (which alone means
*posted*) the first time it is accepted, and a status entry (:class:`EventStatus`:
pending, posted, voided) whenever its decision as of D differs from the tree's as of D
(the latest entry about the event dated D or earlier); a financing entry whenever the
financing as of D differs from the tree's as of D (voided counts as absent), or its
fingerprints cover more; a financing status entry (:class:`FinancingStatus`, voided)
when a financing the tree holds as of D is refused or no longer delivered.  A re-run
therefore appends nothing already there.  The night's refusals and pending notices are
left in :attr:`NightProcessor.decisions` for :func:`ledger.rejections.store_night`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from ledger import inputs
from ledger.entries import (
    EVENT_STATUSES,
    PENDING,
    POSTED,
    VOIDED,
    EventStatus,
    FinancingRecord,
    FinancingStatus,
    FingerprintAnnex,
    Record,
    VoucherEvent,
    diff_fields,
    encode_content,
    record_to_dict,
)
from ledger.families import keep_families
from ledger.fingerprints import financing_fingerprints, record_fingerprints
from ledger.inputs import DeliveredEvent, DeliveredFinancing
from ledger.invariants import (
    EVENT_CONFLICT,
    FINANCING_MISMATCH,
    Accepted,
    Rejection,
    VoucherState,
    apply_accepted,
    decide_event,
    financing_mismatch,
    pending_notice,
)
from ledger.pool_membership import sold_assets
from ledger.rejections import EVENT, FINANCING, RejectionRecord, store_night
from ledger.schema import FINANCING_ENTRIES, FINANCINGS_AS_OF
from ledger.state import save_vouchers
from ledger.store import LedgerStore, PendingEntry
from ledger.touched import (
    FAMILY_VOUCHERS,
    TOUCHED_EVENTS,
    TOUCHED_FINANCINGS,
    Touched,
    drop_touched,
    incremental_base,
    mark_touched,
    save_progress,
)

_T = TypeVar("_T")
_STATUS_LIST = ", ".join(f"'{s}'" for s in EVENT_STATUSES)


@dataclass
class TreeEvent:
    """What the tree says of an event as of the night: its effective status and version
    (``status`` ``None``: nothing dated that night or earlier), and every version of it
    the tree holds (content hash -> seq of its entry)."""

    status: str | None = None
    version: bytes | None = None
    seq: int | None = None
    versions: dict[bytes, int] = field(default_factory=dict)


def _query_ids(con: duckdb.DuckDBPyConnection, ids: Iterable[str], sql: str, params: Sequence[Any]) -> list[tuple]:
    """Run ``sql``, which joins ``_ledger_wanted_ids(id)``, for the given ids."""
    con.register("_ledger_wanted_ids", pa.table({"id": pa.array(sorted(set(ids)), pa.string())}))
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.unregister("_ledger_wanted_ids")


_TREE = "_ledger_tree_entries"
"""Temporary table: the entries about the ids a chunk decides, read from ``ledger_entries`` in one scan."""


def _entries_about(con: duckdb.DuckDBPyConnection, ids: Iterable[str], column: str, types: str = "") -> None:
    """Fill :data:`_TREE` (``ledger_entries``' id, type, content hash, seq and night columns) with the
    entries whose ``column`` is one of ``ids`` (and whose type is one of ``types``, an SQL list, if
    given): one scan of the ledger's history, whatever is asked of them then."""
    _query_ids(
        con, ids,
        f"CREATE OR REPLACE TEMP TABLE {_TREE} AS SELECT e.{column}, e.entry_type, e.content_hash, e.seq, e.business_date "
        f"FROM ledger_entries e JOIN _ledger_wanted_ids w ON w.id = e.{column}"
        + (f" WHERE e.entry_type IN ({types})" if types else ""),
        [],
    )


def tree_events(con: duckdb.DuckDBPyConnection, ids: Sequence[str], as_of: dt.date) -> dict[str, TreeEvent]:
    """:class:`TreeEvent` of each of ``ids`` the tree holds."""
    found: dict[str, TreeEvent] = {}
    _entries_about(con, ids, "event_id")
    try:
        for event_id, chash, seq in con.execute(
            f"SELECT event_id, content_hash, min(seq) FROM {_TREE} WHERE entry_type NOT IN ({_STATUS_LIST}) GROUP BY ALL"
        ).fetchall():
            found.setdefault(event_id, TreeEvent()).versions[bytes(chash)] = int(seq)
        for event_id, status, version, seq in con.execute(_STANDING.format(source=_TREE), [as_of]).fetchall():
            tree = found.setdefault(event_id, TreeEvent())
            tree.status, tree.version, tree.seq = standing(status), bytes(version), int(seq)
    finally:
        con.execute(f"DROP TABLE {_TREE}")
    return found


_STANDING = (
    "SELECT e.event_id, e.entry_type, e.content_hash, e.seq FROM {source} e "
    "WHERE e.event_id IS NOT NULL AND e.business_date <= ? "
    "QUALIFY row_number() OVER (PARTITION BY e.event_id ORDER BY e.business_date DESC, e.seq DESC) = 1"
)
"""Per event, its latest entry dated the night (``?``) or earlier among the entries of ``{source}``
(``ledger_entries``, or those of a chunk's events, :data:`_TREE`): (event id, entry type, the
content hash of the event version it is about, seq).  A status entry's ``content_hash`` column
is that of the event version it is about (:func:`ledger.store.content_hash_column`, checked
against the entry by the integrity gate), so the entry itself is not read."""


def standing(entry_type: str) -> str:
    """An event's status from its latest entry (an event entry alone means posted)."""
    return entry_type if entry_type in EVENT_STATUSES else POSTED


def standing_events(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[tuple[str, str, bytes]]:
    """(event id, status, version content hash) of every event the tree holds as of a night."""
    rows = con.execute(_STANDING.format(source="ledger_entries") + " ORDER BY e.event_id", [as_of]).fetchall()
    return [(event_id, standing(kind), bytes(chash)) for event_id, kind, chash, _ in rows]


def _grouped(batches: Iterable[list[_T]], key: Callable[[_T], str], rows: int) -> Iterator[list[list[_T]]]:
    """Consecutive rows of equal ``key`` as groups, about ``rows`` rows of groups at a time
    (a group is never split between two chunks)."""
    chunk: list[list[_T]] = []
    size = 0
    for _, group in itertools.groupby(itertools.chain.from_iterable(batches), key):
        chunk.append(list(group))
        size += len(chunk[-1])
        if size >= rows:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _distinct_versions(
    rows: Sequence[Any], record: Callable[[Any], Record], night: dt.date, known: Container[bytes]
) -> tuple[list[tuple[Any, bytes, bytes]], int]:
    """(row, content, content hash) of each distinct content among ``rows``, first delivery
    first; and how many rows of ``night`` re-deliver a content in ``known``."""
    if len(rows) == 1:  # most records are delivered once
        content, chash = encode_content(record(rows[0]))
        return [(rows[0], content, chash)], int(rows[0].night == night and chash in known)
    seen: set[bytes] = set()
    out = []
    redelivered = 0
    for row in rows:
        content, chash = encode_content(record(row))
        redelivered += row.night == night and chash in known
        if chash not in seen:
            seen.add(chash)
            out.append((row, content, chash))
    return out, redelivered


def _covers(annex: FingerprintAnnex) -> list[tuple[str, int | None]]:
    """What a financing's fingerprints cover (kinds and amounts, not the keyed digests): an
    entry is appended again when more is known (an invoice's content arrived), not when the
    fingerprint key changed."""
    return sorted((fp.kind, fp.amount_fen) for fp in annex.fingerprints)


@dataclass
class NightProcessor:
    """The ledger's decisions as of one night, and what it appended so far."""

    con: duckdb.DuckDBPyConnection
    business_date: dt.date
    fingerprint_key: bytes = field(repr=False)  # never logged
    window_days: int = field(kw_only=True)
    on_appended: Callable[[int], None] | None = field(default=None, kw_only=True)  # progress: entries appended
    decisions: list[RejectionRecord] = field(default_factory=list)  # refusals and pending notices
    redelivered: int = 0
    replayed: int = 0  # events decided
    appended: int = 0
    fingerprints: int = 0

    def __post_init__(self) -> None:
        self.store = LedgerStore(self.con)
        self._next_seq = self.store.head().size
        self._pending: list[PendingEntry] = []
        self.vouchers: dict[str, VoucherState] = {}
        self._last_seq: dict[str, int] = {}
        self._finance_events: dict[str, VoucherEvent] = {}  # accepted FINANCE events by financing id
        self.base: dt.date | None = None  # the night whose decisions this one builds on (None: replay all)
        self.touched: Touched | None = None
        self._sold = sold_assets(self.con, self.business_date)  # assets sold with an ABS pool

    # ---- shared -------------------------------------------------------------------

    def _append(self, record: Record, content: bytes | None = None, annex: Any = None, chash: bytes | None = None) -> int:
        self._pending.append(PendingEntry(record, annex, content, chash))
        return self._next_seq + len(self._pending) - 1

    def _persist(self) -> None:
        """Append the chunk's entries and write their fingerprints."""
        appended = self.store.append(self._pending, self.business_date)
        self.fingerprints += record_fingerprints(self.con, appended, self.business_date)
        self.appended += len(appended)
        self._next_seq += len(appended)
        self._pending = []
        if self.on_appended:
            self.on_appended(len(appended))

    def _refuse(self, record: VoucherEvent | FinancingRecord, chash: bytes, rejection: Rejection,
                night: dt.date) -> None:
        if isinstance(record, VoucherEvent):
            subject, subject_id, event_id, voucher_id = EVENT, record.event_id, record.event_id, record.voucher_id
            context = {"event_type": record.event_type}
        else:
            subject, subject_id, event_id, voucher_id = FINANCING, record.financing_id, None, record.asset_voucher_id
            context = {}
        self.decisions.append(
            RejectionRecord(
                business_date=night,
                subject=subject,
                subject_id=subject_id,
                content_hash=chash,
                check_id=rejection.check_id,
                event_id=event_id,
                voucher_id=voucher_id,
                financing_id=record.financing_id,
                reason=rejection.reason,
                evidence={**context, **rejection.evidence},
            )
        )

    @staticmethod
    def _conflict(seq: int | None, old: Record, new: Record) -> Rejection:
        names = diff_fields(old, new)
        before, after = record_to_dict(old), record_to_dict(new)
        is_event = isinstance(new, VoucherEvent)
        what, subject_id = ("event", new.event_id) if is_event else ("financing", new.financing_id)  # type: ignore[union-attr]
        return Rejection(
            EVENT_CONFLICT,
            f"The {what} {subject_id} was delivered again with a different "
            f"{', '.join(names)} than the one recorded as entry {seq}.",
            {"entry_seq": seq, **{n: {"ledger": before[n], "delivered": after[n]} for n in names}},
        )

    # ---- events -------------------------------------------------------------------

    def process_events(self, groups: list[list[DeliveredEvent]]) -> None:
        """Decide a chunk of events (each group: the delivered rows of one event), in
        replay order (chunks must come in that order), and append what changed."""
        ids = [g[0].event.event_id for g in groups]
        self.replayed += len(ids)
        tree = tree_events(self.con, ids, self.business_date)
        rows = [d.event for g in groups for d in g]
        payables = inputs.payable_nights(
            self.con, [(e.issuer_uscc, e.ap_ref) for e in rows if e.event_type == "ISSUE"], self.business_date
        )
        financings = inputs.first_financings(
            self.con, [e.financing_id for e in rows if e.event_type == "FINANCE"], self.business_date
        )
        for group in groups:
            known = tree.get(group[0].event.event_id) or TreeEvent()
            versions, redelivered = _distinct_versions(group, lambda d: d.event, self.business_date, known.versions)
            self.redelivered += redelivered
            accepted: tuple[VoucherEvent, bytes] | None = None
            first_refusal: Rejection | None = None
            for delivered, content, chash in versions:
                event = delivered.event
                if accepted is not None:
                    seq = known.versions.get(accepted[1])
                    self._refuse(event, chash, self._conflict(seq, accepted[0], event), delivered.night)
                    continue
                financing = financings.get(event.financing_id or "")
                outcome = decide_event(
                    event, self.vouchers, as_of=self.business_date, first_night=delivered.night,
                    window_days=self.window_days, payable_night=payables.get((event.issuer_uscc or "", event.ap_ref or "")),
                    financing=financing.terms if financing else None,
                )
                if isinstance(outcome, Rejection):
                    night = outcome.refused_on or delivered.night
                    if outcome.check_id == FINANCING_MISMATCH and financing:  # its row may come later
                        night = max(night, financing.night)
                    self._refuse(event, chash, outcome, night)
                    first_refusal = first_refusal or outcome
                    continue
                self._record_accepted(event, content, chash, outcome, known)
                accepted = (event, chash)
                if outcome.pending_since is not None and event.event_type == "ISSUE":
                    self._refuse(event, chash, pending_notice(event, outcome.pending_since, self.window_days),
                                 outcome.pending_since)
            if accepted is None and first_refusal is not None and known.status in (POSTED, PENDING):
                assert known.version is not None
                self._append(EventStatus(group[0].event.event_id, known.version, VOIDED,
                                         check_id=first_refusal.check_id, reason=first_refusal.reason))
        self._persist()

    def _record_accepted(
        self, event: VoucherEvent, content: bytes, chash: bytes, outcome: Accepted, known: TreeEvent
    ) -> None:
        """Apply an accepted event to the states and make the tree say so (``known`` learns
        the entry of a version appended now)."""
        status = PENDING if outcome.pending_since is not None else POSTED
        if chash not in known.versions:
            seq = known.versions[chash] = self._append(event, content, chash=chash)
            if status == PENDING:
                seq = self._append(EventStatus(event.event_id, chash, PENDING, outcome.pending_since))
        elif (known.status, known.version) != (status, chash):
            seq = self._append(EventStatus(event.event_id, chash, status, outcome.pending_since))
        else:
            assert known.seq is not None
            seq = known.seq
        apply_accepted(self.vouchers, outcome)
        for state in outcome.updates:
            self._last_seq[state.voucher_id] = seq
        if event.event_type == "FINANCE" and event.financing_id:
            self._finance_events[event.financing_id] = event

    def void_undelivered(self) -> None:
        """Void the events the tree holds as posted or pending, and the financings it holds,
        as of the night that are no longer delivered up to it (a restated delivery dropped
        them, or a corrected configuration reads them otherwise).

        A night built on an earlier one (:func:`ledger.touched.incremental_base`) skips this:
        the rows up to that night are unchanged and none lies between, so what is undelivered
        now was undelivered then, and that night voided it already."""
        gone = [
            r[0] for r in self.con.execute(
                "SELECT DISTINCT event_id FROM ledger_entries WHERE event_id IS NOT NULL AND business_date <= $d "
                "EXCEPT SELECT event_id FROM voucher_events WHERE business_date <= $d",
                {"d": self.business_date},
            ).fetchall()
        ]
        for event_id, known in sorted(tree_events(self.con, gone, self.business_date).items()) if gone else ():
            if known.status in (POSTED, PENDING):
                assert known.version is not None
                self._append(EventStatus(event_id, known.version, VOIDED,
                                         reason=f"Event {event_id} is no longer delivered."))
        for fid, chash in self.con.execute(
            "SELECT financing_id, content_hash FROM ledger_financings_as_of($d) WHERE financing_id NOT IN "
            "(SELECT financing_id FROM financings WHERE business_date <= $d AND financing_id IS NOT NULL) "
            "ORDER BY financing_id",
            {"d": self.business_date},
        ).fetchall():
            self._append(FinancingStatus(fid, bytes(chash), VOIDED, reason=f"Financing {fid} is no longer delivered."))
        self._persist()

    # ---- financings ---------------------------------------------------------------

    def _tree_financings(
        self, ids: Sequence[str]
    ) -> tuple[dict[str, set[bytes]], dict[str, tuple[int, bytes, list[tuple[str, int | None]]]]]:
        """Versions of each financing in the tree (any night), and its effective entry as of
        the night (seq, content hash, what its fingerprints cover), unless it stands voided."""
        versions: dict[str, set[bytes]] = {}
        _entries_about(self.con, ids, "financing_id", FINANCING_ENTRIES)
        try:
            for fid, chash in self.con.execute(
                f"SELECT DISTINCT financing_id, content_hash FROM {_TREE} WHERE entry_type = 'FINANCING'"
            ).fetchall():
                versions.setdefault(fid, set()).add(bytes(chash))
            effective = {
                fid: (int(seq), bytes(chash), sorted(tuple(c) for c in covers or []))
                for fid, seq, chash, covers in self.con.execute(
                    f"WITH e AS ({FINANCINGS_AS_OF.format(source=_TREE, d='?')}) "
                    "SELECT e.financing_id, e.seq, e.content_hash, list((f.kind, f.amount_fen)) FILTER (WHERE f.kind IS NOT NULL) "
                    "FROM e LEFT JOIN ledger_fingerprints f USING (seq) GROUP BY ALL",
                    [self.business_date],
                ).fetchall()
            }
        finally:
            self.con.execute(f"DROP TABLE {_TREE}")
        return versions, effective

    def process_financings(self, groups: list[list[DeliveredFinancing]]) -> None:
        """Decide a chunk of financings (each group: one financing's versions by night),
        after every event, and append what changed."""
        ids = [g[0].financing.financing_id for g in groups]
        known_versions, effective = self._tree_financings(ids)
        facts = inputs.tax_invoice_facts(
            self.con,
            [n for g in groups for d in g for n in [d.financing.asset_invoice_no, *(i.invoice_no for i in d.financing.invoices)]],
            self.business_date,
        )
        for group in groups:
            fid = group[0].financing.financing_id
            accepted: tuple[FinancingRecord, bytes, bytes] | None = None  # the record, its content and hash
            refusal: Rejection | None = None
            conflicts: list[tuple[FinancingRecord, FinancingRecord, bytes, dt.date]] = []
            versions, redelivered = _distinct_versions(
                group, lambda d: d.financing, self.business_date, known_versions.get(fid, set())
            )
            self.redelivered += redelivered
            for delivered, content, chash in versions:
                fin = delivered.financing
                if accepted is not None:
                    if diff_fields(accepted[0], fin) == ["status"]:
                        accepted = (fin, content, chash)
                    else:
                        conflicts.append((accepted[0], fin, chash, delivered.night))
                    continue
                sold = None if fid in known_versions else self._sold.refusal(fin)
                if sold is not None:  # a new financing of an asset sold with a pool
                    self._refuse(fin, chash, sold, delivered.night)
                    continue
                event = self._finance_events.get(fid)
                mismatch = financing_mismatch(event, fin) if event is not None else None
                if mismatch is not None:
                    self._refuse(fin, chash, mismatch, delivered.night)
                    refusal = refusal or mismatch
                    continue
                accepted = (fin, content, chash)
            seq = effective[fid][0] if fid in effective else None
            if accepted is None and refusal is not None and fid in effective:  # refused after it was appended
                self._append(FinancingStatus(fid, effective[fid][1], VOIDED, refusal.check_id, refusal.reason))
            if accepted is not None:
                fin, content, chash = accepted
                annex = financing_fingerprints(fin, facts, self.fingerprint_key)
                if fid not in effective or effective[fid][1:] != (chash, _covers(annex)):
                    seq = self._append(fin, content, annex, chash)
            for old, fin, chash, night in conflicts:
                self._refuse(fin, chash, self._conflict(seq, old, fin), night)
        self._persist()

    # ---- the night ----------------------------------------------------------------

    def run(self) -> None:
        """Decide the night: events, undelivered events, financings; save the states.

        When the decisions as of an earlier night can be built on (:mod:`ledger.touched`),
        only the voucher families and financings the night touches are decided again; the
        rest stand as decided.  Otherwise every event and financing delivered so far is.
        """
        rows = inputs.BATCH_ROWS
        self.base = incremental_base(self.con, self.business_date, self.window_days)
        keep_families(self.con, self.base, self.business_date)
        events, financings = None, None
        if self.base is not None:
            self.touched = mark_touched(self.con, self.base, self.business_date)
            events, financings = TOUCHED_EVENTS, TOUCHED_FINANCINGS  # families: no event acts across them
        for chunk in _grouped(
            inputs.events_as_of(self.con, self.business_date, among=events), lambda d: d.event.event_id, rows
        ):
            self.process_events(chunk)
        if self.base is None:  # built on a night: nothing it held is undelivered now (void_undelivered)
            self.void_undelivered()
        for fchunk in _grouped(
            inputs.financings_as_of(self.con, self.business_date, among=financings),
            lambda d: d.financing.financing_id, rows,
        ):
            self.process_financings(fchunk)
        save_vouchers(self.con, self.vouchers, self._last_seq, self.business_date,
                      among=None if self.base is None else FAMILY_VOUCHERS)

    def store_decisions(self) -> None:
        """Make the night's refusals and pending notices those decided tonight plus, when the
        night built on an earlier one, that night's about what it did not decide again."""
        carried = None if self.base is None else (self.base, TOUCHED_EVENTS, TOUCHED_FINANCINGS)
        store_night(self.con, self.business_date, self.decisions, carried=carried)
        save_progress(self.con, self.business_date, self.window_days, base=self.base)
        drop_touched(self.con)

