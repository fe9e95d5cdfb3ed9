"""The as-of state kept night by night equals the one rebuilt from every night (issue 15 §1).

Random multi-night histories (records restated on later nights, several files a night delivered
in any order, a file superseded by a later version the same night, an earlier night restated or
re-run, the later nights replayed after it, a late file for an earlier night, a new version of an
earlier night's file loaded before the next night runs, a night skipped, the checks' parameters changed
between nights and back, findings waived and approved or confirmed between nights) are run night
by night: the incremental ``asof_*`` state must equal the full definition (``cur_*`` views over all
history) and the versions of record worked out from the deliveries, and the findings, their
dispositions and the verdicts of an incremental home equal those of a home run with ``full`` on the
same parameters and the same dispositions trail.  Some financings are delivered with their invoice
and nothing else ever names them (:class:`Settled`): untouched, they are carried night after night,
across re-runs and replays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dispositions.actions import Action, ReasonCode, Request
from dispositions.effective import fold, sync_trail
from dispositions.record import record_actions
from dispositions.trail import read_trail, trail_path
from reconciliation.findings import run_catalogue
from reconciliation.session import KEPT
from reconciliation.standing import matches_as_of, standing_night, verdicts_as_of
from tests.factories import insert
from warehouse.asof import create_asof_views, matches_as_of_sql, verdicts_as_of_sql
from warehouse.asof_state import Build, refresh_asof_state, state_table
from warehouse.connection import Warehouse
from warehouse.schemas import FILES, SCHEMAS

FIRST = dt.date(2026, 3, 2)
INVOICES = ("26320000000000000001", "26320000000000000002", "26320000000000000003")
FINANCINGS = ("FIN-A", "FIN-B")


@dataclass(frozen=True)
class Invoice:
    invoice_no: str
    total_fen: int


@dataclass(frozen=True)
class Financing:
    financing_id: str
    invoice_no: str
    face_fen: int
    status: str


@dataclass(frozen=True)
class Issue:
    """A voucher ISSUE by the invoices' buyer: it makes the buyer a core (tier 1: payables awaited)."""

    event_id: str


@dataclass(frozen=True)
class Unreadable:
    """A financings.csv row that could not be read (financing_rejects): it counts for the financing's first night."""

    financing_id: str


@dataclass(frozen=True)
class Settled:
    """A financing delivered with its own invoice, of the same total, whose buyer never becomes a core: no
    finding (but an amount above a ceiling lowered by :data:`SETTINGS`), and untouched (judged on top of the
    night before, carried) on every night that does not deliver it again."""

    financing_id: str
    total_fen: int


BUYER = "91440300MA5F00001A"
SETTLED_BUYER = "91440300MA5F00002B"  # issues no voucher: its invoices await no payable
BOOK, SETTLED = "FIN-S1", "FIN-S2"  # the book's settled financing (delivered once), one the nights may deliver
OWN_INVOICES = {BOOK: "26320000000000000011", SETTLED: "26320000000000000012"}  # each settled financing's invoice
Record = Invoice | Financing | Issue | Unreadable | Settled
amounts = st.integers(1, 4).map(lambda n: n * 113_00)
records = st.one_of(
    st.builds(Invoice, st.sampled_from(INVOICES), amounts),
    st.builds(Financing, st.sampled_from(FINANCINGS), st.sampled_from(INVOICES), amounts,
              st.sampled_from(("ACTIVE", "ACTIVE", "REPAID"))),
    st.builds(Issue, st.sampled_from(("EV-1", "EV-2"))),
    st.builds(Unreadable, st.sampled_from((*FINANCINGS, "FIN-C"))),
    st.builds(Settled, st.just(SETTLED), amounts),
)
# the files of a night, in delivery order (a file may hold no row: a night that touches nothing)
nights = st.lists(st.lists(records, max_size=4), min_size=1, max_size=3)
#: The checks' parameters a night may be run with (over the catalogue's defaults): a plausibility ceiling that
#: financings of more than 200 yuan exceed (DQ_FINANCING_AMOUNT_IMPLAUSIBLE: a finding that waits for no evidence, so
#: an untouched financing's is carried), and a window after which evidence still missing is no longer pending
#: (medium) but stands (high).  A night run on other parameters than the night it would build on must be judged
#: whole (the settings digest, reconciliation.scope).
SETTINGS: tuple[Mapping[str, int], ...] = ({}, {"financing_amount_ceiling_fen": 200_00}, {"evidence_window_days": 1})
settings_of = st.sampled_from(range(len(SETTINGS)))
# A step: run the next night (or run it with --full: the incremental home too; or deliver its last file as a new
# version of an earlier one of its files, superseded the same night); restate an earlier night (then run the last
# again); re-run an earlier night (alone, or with the later nights replayed in order after it, as `scf run` does);
# deliver a late file for an earlier night (its files so far stay) and run it, replaying the later ones; load an
# earlier night again with a new version of its first file but judge only the next night (the earlier night's
# results stand as judged: a re-run stopped after the load, or rows loaded some other way; the state's digests
# must see it); skip a night (delivered, not run); or, between nights, waive (and approve) every finding of one
# financing of the latest night, or confirm them when they are waived already (:func:`waive`).  Every night a
# step runs is run on its settings.
STEPS = ("next", "next", "full", "supersede", "restate", "rerun", "replay", "replay", "late", "restate_file", "skip",
         "waive")
step = st.tuples(st.sampled_from(STEPS), st.integers(0, 5), nights, settings_of)
steps = st.lists(step, min_size=2, max_size=6)
Delivered = list[tuple[int, str, list[Record]]]  # a night's files in the order received: (delivery number, path, rows)
Plan = list[tuple[str, int, list[list[Record]], int]]


def _opened(book: Settled, opening: list[tuple[list[list[Record]], int]], later: Plan) -> Plan:
    """The nights ``opening`` (files, settings) run in order, the first receiving ``book`` first (a file of its
    own), then ``later``."""
    return [("next", 0, [[book], *files] if not night else files, setting)
            for night, (files, setting) in enumerate(opening)] + later


# A history for incremental = full: the book's financing delivered on the first of three nights run in order, then
# steps. A re-run and replay needs three nights to leave one judged on top of the re-run night while a later night
# is stored; no later night delivers the book's financing (a restated first night may take it away): it is carried,
# untouched, across re-runs and replays.
histories = st.builds(_opened, st.builds(Settled, st.just(BOOK), amounts),
                      st.lists(st.tuples(nights, settings_of), min_size=3, max_size=3), st.lists(step, min_size=1, max_size=3))


def deliver(wh: Warehouse, night: dt.date, files: list[list[Record]], seq_start: int) -> int:
    """Replace the rows of ``night`` by ``files`` (received in that order, numbered from ``seq_start``);
    return the next number."""
    deliver_numbered(wh, night, [(seq, f"f{seq}.csv", rows) for seq, rows in enumerate(files, start=seq_start)])
    return seq_start + len(files)


def _invoice(wh: Warehouse, night: dt.date, lineage: dict[str, object], invoice_no: str, total_fen: int, buyer: str) -> None:
    tax = total_fen * 13 // 113
    insert(wh, "tax_invoices", night, **lineage, invoice_no=invoice_no, total_fen=total_fen, amount_fen=total_fen - tax,
           tax_fen=tax, seller_uscc="91320500MA1X000024", buyer_uscc=buyer, issue_time=dt.datetime.combine(night, dt.time(9)))
    insert(wh, "tax_invoice_lines", night, **lineage, invoice_no=invoice_no, line_no=1, amount_fen=total_fen - tax)


def _financing(wh: Warehouse, night: dt.date, lineage: dict[str, object], record: Financing) -> None:
    insert(wh, "financings", night, **lineage, financing_id=record.financing_id, bank_code="313521000011",
           product="INVOICE", asset_ref=record.invoice_no, asset_invoice_no=record.invoice_no,
           invoice_nos=f"{record.invoice_no}:{record.face_fen // 100}.00", face_amount_fen=record.face_fen,
           financed_amount_fen=record.face_fen * 98 // 100, value_date=night, status=record.status)
    insert(wh, "financing_invoices", night, **lineage, financing_id=record.financing_id,
           invoice_no=record.invoice_no, amount_fen=record.face_fen)


def _sha(night: dt.date, path: str, content: list[Record]) -> str:
    """The stand-in for a file's SHA-256: its bytes are its rows (the same rows again: the same bytes), and
    neither another path's nor another night's (a file seen before is a duplicate the loader does not read)."""
    return hashlib.sha256(f"{night}|{path}|{content!r}".encode()).hexdigest()


def deliver_numbered(wh: Warehouse, night: dt.date, files: Delivered) -> None:
    """Replace the rows of ``night`` by what the loader leaves of ``files``: the latest version of each path,
    registered under the number it was received by (a file restated the same night is delivered after the files
    received between) with the hashes of the versions it superseded; the rows of those are not loaded."""
    wh.clear_night(night)
    versions: dict[str, list[tuple[int, str, list[Record]]]] = {}
    for seq, path, content in files:
        versions.setdefault(path, []).append((seq, _sha(night, path, content), content))
    for path, history in versions.items():
        seq, sha, content = history[-1]
        superseded = ";".join(dict.fromkeys(old for _, old, _ in history if old != sha)) or None
        wh.append("files", FILES.arrow([FILES.Row(business_date=night, rel_path=path, sha256=sha, size=1, file_kind="x",
                                                  status="loaded", rows=len(content), quarantined=0, superseded=superseded,
                                                  seq=seq)]))
        for pos, record in enumerate(content, start=2):
            lineage = {"src_sha256": sha, "src_pos": 100 - pos}  # positions in another order too
            if isinstance(record, Invoice):
                _invoice(wh, night, lineage, record.invoice_no, record.total_fen, BUYER)
            elif isinstance(record, Settled):
                own = OWN_INVOICES[record.financing_id]
                _invoice(wh, night, lineage, own, record.total_fen, SETTLED_BUYER)
                _financing(wh, night, lineage, Financing(record.financing_id, own, record.total_fen, "ACTIVE"))
            elif isinstance(record, Issue):
                insert(wh, "voucher_events", night, **lineage, event_id=record.event_id, event_type="ISSUE",
                       voucher_id=f"V-{record.event_id}", issuer_uscc=BUYER, amount_fen=113_00)
            elif isinstance(record, Unreadable):
                insert(wh, "financing_rejects", night, **lineage, financing_id=record.financing_id, bank_code="313521000011",
                       product="INVOICE", reason_code="bad_amount", reason="amount unreadable")
            else:
                _financing(wh, night, lineage, record)


def schedule(plan: Plan) -> Iterator[tuple[dt.date, dt.date, Delivered | None, bool, Mapping[str, int], int | None]]:
    """(night delivered or restated, night run, its files now, run with --full, the checks' parameters, the financing
    whose findings are waived before, by its place: see :func:`waive`) for each night ``plan`` delivers or runs and
    each waiver, in order; files None: deliver nothing.  Files are numbered in the order they are received."""
    last = FIRST - dt.timedelta(days=1)
    received: dict[dt.date, Delivered] = {}  # each night's files so far
    seq = 1

    def receive(night: dt.date, files: list[list[Record]], *, late: bool = False, supersede: int | None = None) -> Delivered:
        """``files`` received for ``night`` (after its files so far when ``late``); ``supersede``: the last is a
        new version of the night's file of that place among those before it (the same path)."""
        nonlocal seq
        new = [(seq + n, f"f{seq + n}.csv", rows) for n, rows in enumerate(files)]
        received[night] = (received.get(night, []) if late else []) + new
        if supersede is not None and len(received[night]) > 1:
            number, _, rows = received[night][-1]
            received[night][-1] = (number, received[night][supersede % (len(received[night]) - 1)][1], rows)
        seq += len(files)
        return received[night]

    for kind, back, files, setting in plan:
        params = SETTINGS[setting]
        earlier = max(FIRST, last - dt.timedelta(days=back))
        if kind in ("rerun", "replay", "late") and last >= FIRST:
            first = receive(earlier, files, late=True) if kind == "late" else None
            for replayed in range((last - earlier).days + 1 if kind != "rerun" else 1):
                night = earlier + dt.timedelta(days=replayed)
                yield night, night, first if replayed == 0 else None, False, params, None
            continue
        if kind == "restate" and last >= FIRST:
            yield earlier, last, receive(earlier, files), False, params, None
            continue
        if kind == "waive" and last >= FIRST:
            yield last, FIRST - dt.timedelta(days=1), None, False, params, back
            continue
        if kind == "restate_file" and last >= FIRST:  # the earlier night's results stand as judged: not run again
            yield earlier, FIRST - dt.timedelta(days=1), receive(earlier, files[:1], late=True, supersede=0), False, params, None
            files = files[1:] or [[]]
        last += dt.timedelta(days=1)
        # skip: delivered, not run (the last night runs again); the next night runs over the gap
        yield (last, last - dt.timedelta(days=1) if kind == "skip" else last,
               receive(last, files, supersede=back if kind == "supersede" else None), kind == "full", params, None)


# A settled financing, then nothing for two nights; the first night re-run and the later two replayed: the second,
# judged on top of the re-run first while the third is stored, carries the financing (6bd6227: written as dropped).
CARRIED_ACROSS_A_REPLAY = _opened(Settled(BOOK, 113_00), [([[]], 0)] * 3, [("replay", 2, [], 0)])
# The book's financing (226 yuan) and FIN-B, presenting an invoice that never arrives; the nights after run on a
# ceiling the book's exceeds, on the defaults again, then on a window that makes FIN-B's finding stand: no night may
# carry a finding or a verdict made on other parameters (the book's financing, untouched, would be carried).
MISSING_INVOICE = [Financing(FINANCINGS[1], INVOICES[1], 113_00, "ACTIVE")]
SETTINGS_CHANGED_AND_BACK = _opened(Settled(BOOK, 226_00), [([MISSING_INVOICE], 0), ([[]], 1), ([[]], 0)],
                                    [("next", 0, [[]], 2)])
# The first night's second file is superseded the same night by an empty version, delivered after its third file:
# the invoice only the superseded version held is not delivered (FIN-B's evidence is missing); the next night
# supersedes its first file by one delivered after the other, restating the invoice it holds.
SUPERSEDED_THE_SAME_NIGHT: Plan = [
    ("supersede", 1, [[Settled(BOOK, 113_00)], [Invoice(INVOICES[1], 113_00)], MISSING_INVOICE, []], 0),
    ("supersede", 0, [[Invoice(INVOICES[0], 226_00)], [Invoice(INVOICES[0], 339_00)], [Invoice(INVOICES[0], 113_00)]], 0)]
# The second night's files give FIN-A two statuses (the later file's stands: active); its first file is delivered
# again, the same bytes, and loaded before the fourth night, which alone is judged: that file is now the later one,
# FIN-A is repaid (closed) again, and the state the third night left is stale.
RESENT_BEFORE_THE_NEXT_NIGHT = _opened(
    Settled(BOOK, 113_00),
    [([[Invoice(INVOICES[0], 113_00)]], 0),
     ([[Financing(FINANCINGS[0], INVOICES[0], 113_00, "REPAID")], [Financing(FINANCINGS[0], INVOICES[0], 113_00, "ACTIVE")]], 0),
     ([[]], 0)],
    [("restate_file", 1, [[Financing(FINANCINGS[0], INVOICES[0], 113_00, "REPAID")], []], 0)])

# The book's financing, above the ceiling of the nights' settings (a finding that waits for no evidence: carried,
# untouched) and FIN-B, judged every night (its evidence pending); the book's finding is waived and approved after
# the first night (clean), then confirmed after the second (in review again): nothing delivered changes its verdict.
WAIVED_AND_CONFIRMED: Plan = [("next", 0, [[Settled(BOOK, 226_00)], MISSING_INVOICE], 1), ("waive", 1, [], 1),
                              ("next", 0, [[]], 1), ("waive", 1, [], 1), ("next", 0, [[]], 1)]


def state_rows(wh: Warehouse, relation: str) -> list[tuple]:
    return sorted(map(repr, wh.con.execute(f"SELECT * FROM {relation}").fetchall()))  # type: ignore[arg-type]


def assert_state_is_the_definition(wh: Warehouse, night: dt.date) -> None:
    create_asof_views(wh.con, night)
    for name in SCHEMAS:
        assert state_rows(wh, state_table(name)) == state_rows(wh, f"cur_{name}"), name
    for fact in KEPT:  # the first nights kept with the state (financing_first_night, mt_cores' issuers)
        kept = sorted(wh.con.execute(f"SELECT key, since FROM {fact.table.name}").fetchall())
        assert kept == sorted(wh.con.execute(fact.definition_sql(), {"d": night}).fetchall()), fact.table.name


def of_record(received: Mapping[dt.date, Delivered], as_of: dt.date) -> tuple[dict[str, int], dict[str, tuple]]:
    """The invoices' totals and the financings' (invoice, face, status) of record as of ``as_of``, worked out from
    the deliveries themselves: of each path of a night only the version received last counts, under the number it
    was received by, and the latest row wins (night, file received last, position: warehouse.asof's order)."""
    invoices: dict[str, tuple[tuple, int]] = {}
    financings: dict[str, tuple[tuple, tuple]] = {}
    for night, files in received.items():
        latest = {path: (seq, _sha(night, path, content), content) for seq, path, content in files}  # in received order
        for seq, sha, content in latest.values() if night <= as_of else ():
            for pos, record in enumerate(content, start=2):
                order = (night, seq, 100 - pos, sha)
                if isinstance(record, Settled):
                    own = OWN_INVOICES[record.financing_id]
                    invoices[own] = max(invoices.get(own, (order, 0)), (order, record.total_fen))
                    record = Financing(record.financing_id, own, record.total_fen, "ACTIVE")
                if isinstance(record, Invoice):
                    invoices[record.invoice_no] = max(invoices.get(record.invoice_no, (order, 0)), (order, record.total_fen))
                elif isinstance(record, Financing):
                    value = (record.invoice_no, record.face_fen, record.status)
                    financings[record.financing_id] = max(financings.get(record.financing_id, (order, value)), (order, value))
    return ({key: total for key, (_, total) in invoices.items()},
            {key: value for key, (_, value) in financings.items()})


def assert_state_is_of_record(wh: Warehouse, received: Mapping[dt.date, Delivered], night: dt.date) -> None:
    """The state holds the versions :func:`of_record` works out (an oracle that shares no code with the state's)."""
    invoices, financings = of_record(received, night)
    assert dict(wh.con.execute("SELECT invoice_no, total_fen FROM asof_tax_invoices").fetchall()) == invoices
    assert {key: tuple(value) for key, *value in wh.con.execute(
        "SELECT financing_id, asset_invoice_no, face_amount_fen, status FROM asof_financings").fetchall()} == financings


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
@example(plan=SUPERSEDED_THE_SAME_NIGHT)
@example(plan=RESENT_BEFORE_THE_NEXT_NIGHT)
def test_incremental_state_equals_the_full_definition(tmp_path_factory: pytest.TempPathFactory, plan) -> None:  # noqa: ANN001
    with Warehouse(tmp_path_factory.mktemp("asof") / "w.duckdb") as wh:
        builds = []
        received: dict[dt.date, Delivered] = {}
        for delivered, run, files, full, _, _ in schedule(plan):
            if files is not None:
                deliver_numbered(wh, delivered, files)
                received[delivered] = list(files)
            if run >= FIRST:
                builds.append(refresh_asof_state(wh.con, run, full=full, kept=KEPT).build)
                assert_state_is_the_definition(wh, run)
                assert_state_is_of_record(wh, received, run)
        assert builds[:1] in ([], [Build.FULL])  # (a plan may run no night: one skipped, then waivers)


def test_a_night_on_top_of_the_last_is_incremental_and_doubt_rebuilds(wh: Warehouse) -> None:
    one = [[Invoice(INVOICES[0], 113_00), Financing(FINANCINGS[0], INVOICES[0], 113_00, "ACTIVE")]]
    deliver(wh, FIRST, one, 1)
    assert refresh_asof_state(wh.con, FIRST, kept=KEPT).build is Build.FULL
    deliver(wh, FIRST + dt.timedelta(days=1), [[Invoice(INVOICES[0], 226_00)]], 2)
    assert refresh_asof_state(wh.con, FIRST + dt.timedelta(days=1), kept=KEPT).build is Build.INCREMENTAL
    deliver(wh, FIRST, [[Invoice(INVOICES[1], 339_00)]], 3)  # an earlier night restated
    deliver(wh, FIRST + dt.timedelta(days=2), one, 4)
    restated = refresh_asof_state(wh.con, FIRST + dt.timedelta(days=2), kept=KEPT)
    assert restated.build is Build.FULL and "changed since (restated or re-read)" in restated.reason  # the night's log says why
    rerun = refresh_asof_state(wh.con, FIRST + dt.timedelta(days=2), kept=KEPT)
    assert rerun.build is Build.FULL and "a re-run" in rerun.reason
    assert refresh_asof_state(wh.con, FIRST + dt.timedelta(days=3), full=True, kept=KEPT).build is Build.FULL
    assert_state_is_the_definition(wh, FIRST + dt.timedelta(days=3))


def _night_results(wh: Warehouse, night: dt.date) -> tuple[list[tuple], list[tuple]]:
    findings = wh.con.execute("SELECT * FROM findings WHERE business_date = ? ORDER BY finding_id", [night]).fetchall()
    verdicts = wh.con.execute(f"SELECT * FROM ({verdicts_as_of_sql()}) ORDER BY financing_id",
                              [night]).fetchall()
    return findings, verdicts


def standing_is_the_definition(wh: Warehouse) -> None:
    """The standing verdicts and matches kept night by night are those of the last night stored, by the
    window over every row (reconciliation.standing)."""
    last = wh.con.execute("SELECT max(business_date) FROM verdict_nights").fetchone()[0]
    assert standing_night(wh.con) == last
    pairs = ((verdicts_as_of(wh.con, last), verdicts_as_of_sql()), (matches_as_of(wh.con, last), matches_as_of_sql()))
    for kept_sql, window_sql in pairs:
        kept = wh.con.execute(f"SELECT * FROM ({kept_sql}) ORDER BY ALL").fetchall()
        assert kept == wh.con.execute(f"SELECT * FROM ({window_sql}) ORDER BY ALL", [last]).fetchall()


def waive(homes: tuple[Path, ...], place: int) -> None:
    """In each home, as a clerk does between nights (``scf`` dispositions): waive (alice) and approve (bob) every
    finding of the financing at ``place`` (cyclically) among those with findings on the latest night, or confirm
    them (the waiver withdrawn: they count again) when all are waived already."""
    with Warehouse(homes[0] / "warehouse.duckdb") as wh:
        named = wh.con.execute("SELECT financing_id, list(finding_id ORDER BY finding_id) FROM findings WHERE business_date = "
                               "(SELECT max(business_date) FROM findings) AND financing_id IS NOT NULL GROUP BY ALL ORDER BY 1").fetchall()
    if not named:
        return
    found = named[place % len(named)][1]
    states = fold(read_trail(trail_path(homes[0])).records)
    if all(fid in states and states[fid].approved_by is not None for fid in found):
        requests = [Request(fid, Action.CONFIRM, "carol", comment="counts again") for fid in found]
    else:
        requests = [Request(fid, Action.WAIVE, "alice", reason_code=ReasonCode.DOCUMENT_VERIFIED, comment="checked")
                    for fid in found] + [Request(fid, Action.APPROVE, "bob") for fid in found]
    for home in homes:
        record_actions(home, requests, now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))


def _night_dispositions(wh: Warehouse, night: dt.date) -> list[tuple]:
    return wh.con.execute("SELECT * FROM finding_dispositions WHERE business_date = ? ORDER BY finding_id", [night]).fetchall()


def incremental_equals_full(root: Path, plan: Plan) -> None:
    """Play ``plan`` on an incremental home (but for its --full nights) and a full home, each night after the
    dispositions trail is read as the nightly job does: each night's findings, their dispositions and the verdicts
    are equal, and so are the standing verdicts and matches kept with those of every row."""
    homes = (root / "incremental", root / "full")
    for home in homes:
        home.mkdir()
    with ExitStack() as opened:
        inc, full = (opened.enter_context(Warehouse(home / "warehouse.duckdb")) for home in homes)
        for delivered, run, files, asked_full, params, waived in schedule(plan):
            if waived is not None:  # between nights: a clerk's command opens the warehouses itself
                opened.close()
                waive(homes, waived)
                inc, full = (opened.enter_context(Warehouse(home / "warehouse.duckdb")) for home in homes)
                continue
            if files is not None:
                deliver_numbered(inc, delivered, files)
                deliver_numbered(full, delivered, files)
            if run >= FIRST:
                for home, wh in zip(homes, (inc, full), strict=True):
                    sync_trail(wh.con, home)
                run_catalogue(inc.con, run, params=params, full=asked_full)
                run_catalogue(full.con, run, params=params, full=True)
                assert _night_results(inc, run) == _night_results(full, run), run
                assert _night_dispositions(inc, run) == _night_dispositions(full, run), run
                standing_is_the_definition(inc)
                standing_is_the_definition(full)


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=histories)
@example(plan=CARRIED_ACROSS_A_REPLAY)
@example(plan=SETTINGS_CHANGED_AND_BACK)
@example(plan=SUPERSEDED_THE_SAME_NIGHT)
@example(plan=RESENT_BEFORE_THE_NEXT_NIGHT)
@example(plan=WAIVED_AND_CONFIRMED)
def test_incremental_findings_equal_full(tmp_path_factory: pytest.TempPathFactory, plan) -> None:  # noqa: ANN001
    incremental_equals_full(tmp_path_factory.mktemp("modes"), plan)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=histories)
def test_incremental_findings_equal_full_many(tmp_path_factory: pytest.TempPathFactory, plan) -> None:  # noqa: ANN001
    incremental_equals_full(tmp_path_factory.mktemp("modes"), plan)


def test_a_finding_a_rerun_takes_back_is_first_seen_where_it_still_stands(tmp_path: Path) -> None:
    """first_seen_date is kept (finding_first_seen), not re-read from every night: when a re-run of
    an earlier night takes a finding back, the later night it still stands on becomes its first."""
    orphan = [[Financing(FINANCINGS[0], INVOICES[0], 113_00, "ACTIVE")]]  # its invoice never arrives
    second = FIRST + dt.timedelta(days=1)
    with Warehouse(tmp_path / "w.duckdb") as wh:

        def first_seen(night: dt.date) -> set[dt.date]:
            return {r[0] for r in wh.con.execute("SELECT first_seen_date FROM findings WHERE business_date = ? "
                                                 "AND financing_id = ?", [night, FINANCINGS[0]]).fetchall()}

        deliver(wh, FIRST, orphan, 1)
        run_catalogue(wh.con, FIRST)
        deliver(wh, second, orphan, 2)
        run_catalogue(wh.con, second)
        assert first_seen(second) == {FIRST}
        deliver(wh, FIRST, [[Invoice(INVOICES[1], 113_00)]], 3)  # night 1 restated without the financing
        run_catalogue(wh.con, FIRST)
        assert first_seen(FIRST) == set()
        run_catalogue(wh.con, second)
        assert first_seen(second) == {second}
        kept = _night_results(wh, second)
        run_catalogue(wh.con, second, full=True)  # the oracle reads every night's findings
        assert _night_results(wh, second) == kept
