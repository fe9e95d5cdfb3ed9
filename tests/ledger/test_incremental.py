"""A night decides again only the voucher families it touches (issue 9 §2, #15), and ends
exactly where replaying the whole history ends: the same entries, byte for byte, the same
refusals and pending notices, the same voucher states."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ledger.inputs import INPUT_TABLES
from ledger.touched import differing_digests, inputs_digest
from ledger.verify import verify_ledger
from tests.ledger.test_convergence import D1, MATURITY, chain, harness, replace_night, state_replays
from tests.ledger_nights import BANK, CORE, TIER1, TIER2, Harness, NightRows
from warehouse.connection import Warehouse

NIGHTS = [D1 + dt.timedelta(days=i) for i in range(6)]
WINDOW = 2
INV = "26320000000000077777"


def ap(tag: str) -> str:
    return f"1000-2026-51{sum(map(ord, tag)):08d}-001"


def deliveries() -> dict[dt.date, NightRows]:
    """Six nights that touch old families in every way a night can: a late payable, a window
    that passes, a split of an old voucher, a refused move, a financing's status revision,
    tax data arriving for a financed invoice, a FINANCE event whose financing row comes on a
    later night -- among families no later night touches."""
    n = {d: NightRows(d) for d in NIGHTS}
    first = n[NIGHTS[0]]
    for tag in ("A", "Q1", "Q2", "Q3"):  # A: touched later; Q*: never touched again
        first.payable(CORE, ap(tag), 1_000_000)
        chain(first, tag, ap_ref=ap(tag))
    first.financings[0]["invoice_nos"] = f"{INV}:5000.00"
    first.financing_invoices.append({"financing_id": "FA", "invoice_no": INV, "amount_fen": 500_000})
    chain(first, "B", ap_ref=ap("B"))  # payable one night late
    chain(first, "C", ap_ref=ap("C"))  # payable never: voided once the window passes
    n[NIGHTS[1]].payable(CORE, ap("B"), 1_000_000)
    t = lambda day, hh: f"{day}T{hh}:00:00+08:00"  # noqa: E731
    second = n[NIGHTS[1]]
    second.event("EA5", "SPLIT", "VA2", parent="VAR", time=t(NIGHTS[1], "09"), issuer=CORE, from_uscc=TIER1,
                 to_uscc=TIER1, amount_fen=100_000, maturity=MATURITY)
    second.event("EA6", "TRANSFER", "VA2", time=t(NIGHTS[1], "10"), issuer=CORE, from_uscc=TIER2,
                 to_uscc=TIER1, amount_fen=100_000, maturity=MATURITY)  # not the holder: refused
    n[NIGHTS[2]].tax_invoice(INV, seller=TIER2, buyer=TIER1, total_fen=500_000, issued=D1)
    n[NIGHTS[2]].financings.append(dict(first.financings[0], status="DEFAULTED"))
    for tag in ("D", "E"):
        n[NIGHTS[2]].payable(CORE, ap(tag), 1_000_000)
        chain(n[NIGHTS[2]], tag, ap_ref=ap(tag))
    late = n[NIGHTS[2]].financings.pop()  # FE's row comes two nights after its FINANCE event
    n[NIGHTS[4]].financings.append(dict(late))
    n[NIGHTS[5]].event("ED5", "SETTLE", "VDC", time=t(NIGHTS[5], "09"), issuer=CORE, from_uscc=CORE,
                       to_uscc=BANK, amount_fen=500_000, maturity=MATURITY)
    return n


def run(path: Path, *, replay_all: bool) -> tuple[Harness, list]:
    h = harness(path, window=WINDOW)
    results = []
    for day, night in deliveries().items():
        night.load(h.con)
        if replay_all and day > NIGHTS[0]:
            h.con.execute("DELETE FROM ledger_progress")
        results.append(h.run(day))
    return h, results


def delivered(h: Harness, day: dt.date) -> int:
    """How many events were delivered up to a night (what replaying everything decides)."""
    return int(h.con.execute(
        "SELECT count(DISTINCT event_id) FROM voucher_events WHERE business_date <= ?", [day]
    ).fetchall()[0][0])


def tables(h: Harness) -> dict[str, list]:
    return {
        "entries": h.con.execute("SELECT seq, entry_type, entry FROM ledger_entries ORDER BY seq").fetchall(),
        "decisions": h.con.execute("SELECT * FROM ledger_rejections ORDER BY ALL").fetchall(),
        "states": h.con.execute("SELECT * FROM ledger_voucher_state ORDER BY ALL").fetchall(),
        "fingerprints": h.con.execute("SELECT * FROM ledger_fingerprints ORDER BY ALL").fetchall(),
    }


def test_a_night_replays_only_what_it_touches_and_ends_as_the_full_replay(tmp_path: Path) -> None:
    full, full_results = run(tmp_path / "full", replay_all=True)
    part, part_results = run(tmp_path / "part", replay_all=False)
    assert [r.replayed_events for r in full_results] == [delivered(full, d) for d in NIGHTS]
    # night 2: A and its split and refused move, B (pending), C (pending); night 3: A (its
    # financing's revision, its invoice's tax data), C, D, E; night 4: C (its window passed);
    # night 5: E (its financing row); night 6: D (settled).  The Q families: never again.
    assert [r.replayed_events for r in part_results] == [delivered(part, NIGHTS[0]), 14, 18, 4, 4, 5]
    assert tables(part) == tables(full)
    # the digest kept for the next night, built from each night's own rows, is the one read from every row
    assert part.con.execute("SELECT inputs_digest FROM ledger_progress").fetchall() == [(inputs_digest(part.con, NIGHTS[-1]),)]
    kinds = {r[1] for r in tables(part)["entries"]}
    assert {"PENDING", "POSTED", "VOIDED", "FINANCING"} <= kinds
    assert verify_ledger(part.con).ok and state_replays(part)


def test_a_restated_earlier_night_replays_everything_then_builds_on_it_again(tmp_path: Path) -> None:
    """A night whose input rows up to the night before changed (restated, re-read) or that
    follows a re-run of an earlier night cannot build on the decisions kept: it replays all."""
    h = harness(tmp_path / "h", window=WINDOW)
    nights = deliveries()
    for day in NIGHTS[:3]:
        nights[day].load(h.con)
        h.run(day)
    nights[NIGHTS[0]].payable(CORE, ap("C"), 1_000_000)  # the first night restated: C's payable was there
    replace_night(h, nights[NIGHTS[0]])
    nights[NIGHTS[3]].load(h.con)
    assert h.run(NIGHTS[3]).replayed_events == delivered(h, NIGHTS[3])  # all: rows up to the night before changed
    assert h.run(NIGHTS[1]).replayed_events == delivered(h, NIGHTS[1])  # all: a re-run of an earlier night
    assert h.run(NIGHTS[2]).replayed_events == delivered(h, NIGHTS[2])  # all: entries dated after the night kept
    assert h.run(NIGHTS[3]).replayed_events == delivered(h, NIGHTS[3])
    nights[NIGHTS[4]].load(h.con)
    assert h.run(NIGHTS[4]).replayed_events == 4  # in order again: builds on the night before
    assert verify_ledger(h.con).ok and state_replays(h)


def kept_digests(h: Harness) -> list[tuple]:
    return h.con.execute("SELECT table_name, business_date, rows, digest FROM ledger_input_digests ORDER BY ALL").fetchall()


def digests_from_rows(h: Harness) -> list[tuple]:
    return sorted(
        (table, night, rows, digest)
        for table in INPUT_TABLES
        for night, rows, digest in h.con.execute(
            f"SELECT business_date, count(*), bit_xor(hash(t)) FROM {table} t GROUP BY ALL").fetchall()
    )


def test_the_input_digests_are_kept_night_by_night_and_the_base_nights_rows_are_not_hashed_again(tmp_path: Path) -> None:
    """The digest a night builds on is combined from digests kept per night, each computed from
    that night's rows once (#15): a kept digest is trusted while its night holds as many rows, so
    a doctored one (the rows unchanged) makes the base digest differ and the night replays all,
    which computes every night's digest again from the rows."""
    h = harness(tmp_path / "h", window=WINDOW)
    nights = deliveries()
    for day in NIGHTS[:3]:
        nights[day].load(h.con)
        h.run(day)
        assert kept_digests(h) == digests_from_rows(h)
        assert differing_digests(h.con) == []
    h.con.execute("UPDATE ledger_input_digests SET digest = xor(digest, 1) WHERE business_date = ?", [NIGHTS[0]])
    assert differing_digests(h.con) != []
    nights[NIGHTS[3]].load(h.con)
    assert h.run(NIGHTS[3]).replayed_events == delivered(h, NIGHTS[3])
    assert kept_digests(h) == digests_from_rows(h)
    assert differing_digests(h.con) == []
    nights[NIGHTS[4]].load(h.con)
    assert h.run(NIGHTS[4]).replayed_events == 4
    assert kept_digests(h) == digests_from_rows(h)


def test_a_night_reread_with_as_many_rows_replays_everything(tmp_path: Path) -> None:
    """A night re-read (its rows replaced, as many, other content) is not built on: the loader's
    clear forgets its kept digests, which are computed again from the new rows."""
    h = harness(tmp_path / "h", window=WINDOW)
    nights = deliveries()
    for day in NIGHTS[:3]:
        nights[day].load(h.con)
        h.run(day)
    restated = nights[NIGHTS[0]]
    restated.payables[0] = {**restated.payables[0], "amount_fen": restated.payables[0]["amount_fen"] + 100}
    count = h.con.execute("SELECT count(*) FROM erp_ap_items").fetchall()
    replace_night(h, restated)
    assert h.con.execute("SELECT count(*) FROM erp_ap_items").fetchall() == count
    nights[NIGHTS[3]].load(h.con)
    assert h.run(NIGHTS[3]).replayed_events == delivered(h, NIGHTS[3])
    assert kept_digests(h) == digests_from_rows(h)
    nights[NIGHTS[4]].load(h.con)
    assert h.run(NIGHTS[4]).replayed_events == 4


def test_verify_state_names_rows_rewritten_in_place_and_a_doctored_digest(tmp_path: Path) -> None:
    """Rows rewritten in place (as many, not by the loader) are not seen by the nightly check of the
    kept digests; ``scf ledger verify --state`` (:func:`differing_digests`) computes them from the rows."""
    h = harness(tmp_path / "h", window=WINDOW)
    nights = deliveries()
    for day in NIGHTS[:2]:
        nights[day].load(h.con)
        h.run(day)
    assert differing_digests(h.con) == []
    h.con.execute("UPDATE erp_ap_items SET amount_fen = amount_fen + 1 WHERE business_date = ?", [NIGHTS[0]])
    problems = differing_digests(h.con)
    assert problems is not None and len(problems) == 2
    assert problems[0].startswith(f"erp_ap_items of {NIGHTS[0]}: kept ")
    assert problems[1].startswith(f"the input digest kept as of {NIGHTS[1]} is ")


def test_the_loaders_clear_of_a_night_forgets_the_ledgers_digests_of_it(tmp_path: Path) -> None:
    """:meth:`Warehouse.clear_night` (the loader re-reading a night) forgets that night's kept
    digests, whatever its new rows count: the next night computes them from the rows."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    h = Harness(warehouse.con, tmp_path / "checkpoints", evidence_window_days=WINDOW)
    nights = deliveries()
    for day in NIGHTS[:2]:
        nights[day].load(h.con)
        h.run(day)
    warehouse.clear_night(NIGHTS[0])
    assert {n for _, n, _, _ in kept_digests(h)} == {NIGHTS[1]}
