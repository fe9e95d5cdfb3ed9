"""Property tests on random event streams: money is conserved, one holder, refusals change nothing.

Streams are drawn from a small world (6 voucher ids, 4 companies, one bank) and biased
towards plausible events (the current holder, the whole remaining amount) so that most
are accepted and the rest probe every refusal.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from unittest.mock import patch

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import inputs as ledger_inputs
from ledger.entries import VoucherEvent
from ledger.invariants import (
    Accepted,
    Rejection,
    VoucherState,
    apply_accepted,
    apply_event,
)
from ledger.nightly import append_night
from ledger.state import all_vouchers, replay_vouchers
from ledger.verify import verify_ledger
from tests.ledger_nights import NightRows

CORE, BANK = "CORE", "313521000011"
PARTIES = ["T1", "T2", "T3", "T4"]
VOUCHERS = [f"V{i}" for i in range(6)]
MATURITY = dt.date(2027, 1, 31)
START = dt.datetime(2026, 11, 1, 9, 0)

op = st.tuples(
    st.sampled_from(["ISSUE", "SPLIT", "SPLIT", "TRANSFER", "TRANSFER", "FINANCE", "SETTLE", "CANCEL"]),
    st.sampled_from(VOUCHERS),
    st.sampled_from(VOUCHERS),
    st.booleans(),  # act as the real holder?
    st.booleans(),  # use the exact remaining amount?
    st.integers(min_value=-5, max_value=120),
    st.sampled_from(PARTIES),
    st.integers(min_value=0, max_value=120),  # days after START
    st.booleans(),  # act on a voucher that exists (if any)?
)


def build(ops: list[tuple], known: dict[str, VoucherState]) -> list[VoucherEvent]:
    """Events from raw draws, looking at a running model to pick plausible holders/amounts."""
    events = []
    model = dict(known)
    for n, (kind, vid, pid, as_holder, exact, amount, party, days, existing) in enumerate(ops):
        if existing and model and kind != "ISSUE":
            names = sorted(model)
            pick = names[VOUCHERS.index(vid) % len(names)]
            vid, pid = (vid, pick) if kind == "SPLIT" else (pick, pid)
        target = model.get(pid if kind == "SPLIT" else vid)
        holder = target.holder_uscc if target and as_holder else party
        if exact and kind == "ISSUE":
            amount = abs(amount) + 1
        elif exact and target:
            amount = target.remaining_fen if kind != "SPLIT" else max(1, target.remaining_fen // 2)
        frm, to = {
            "ISSUE": (CORE, party),
            "SPLIT": (holder, holder),
            "TRANSFER": (holder, party),
            "FINANCE": (holder, BANK),
        }.get(kind, (CORE, holder))
        time = START + dt.timedelta(days=days, seconds=n)
        event = VoucherEvent(
            event_id=f"E{n:03d}", event_time=time.strftime("%Y-%m-%dT%H:%M:%S+08:00"), event_type=kind,
            voucher_id=vid, parent_voucher_id=pid if kind == "SPLIT" else None, issuer_uscc=CORE,
            from_uscc=frm, to_uscc=to, amount_fen=amount, maturity_date=MATURITY, invoices=(),
            ap_ref="1000-2026-1-001" if kind == "ISSUE" else None,
            financing_id=f"F{n:03d}" if kind == "FINANCE" else None,
        )
        events.append(event)
        out = apply_event(event, model, payable_exists=True)
        if isinstance(out, Accepted):
            apply_accepted(model, out)
    return events


def check_money_and_holders(vouchers: dict[str, VoucherState]) -> None:
    families: dict[str, int] = Counter()
    for v in vouchers.values():
        assert v.remaining_fen >= 0
        assert v.holder_uscc is not None
        families[v.root_voucher_id] += v.remaining_fen
    for root, total in families.items():
        assert total == vouchers[root].issued_fen, f"money not conserved under {root}"


@settings(max_examples=300, deadline=None)
@given(st.lists(op, min_size=1, max_size=40))
def test_pure_state_machine_properties(ops: list[tuple]) -> None:
    vouchers: dict[str, VoucherState] = {}
    financed: Counter[str] = Counter()
    for event in build(ops, {}):
        before = dict(vouchers)
        out = apply_event(event, vouchers, payable_exists=True)
        if isinstance(out, Rejection):
            assert vouchers == before  # refused: nothing changed
            continue
        acted = before.get(event.parent_voucher_id if event.event_type == "SPLIT" else event.voucher_id or "")
        if event.event_type in ("SPLIT", "TRANSFER", "FINANCE"):
            assert acted is not None and event.from_uscc == acted.holder_uscc  # only the holder moves it
            assert acted.status == "ACTIVE"
        if event.event_type in ("TRANSFER", "FINANCE"):
            assert event.amount_fen == acted.remaining_fen
        apply_accepted(vouchers, out)
        if event.event_type == "FINANCE":
            financed[event.voucher_id] += 1
            assert financed[event.voucher_id] == 1  # never financed twice
        check_money_and_holders(vouchers)


def _run(con, day: dt.date, tmp: Path, key: Ed25519PrivateKey):
    return append_night(
        con, day, checkpoint_dir=tmp / "checkpoints", signing_key=key, key_name="test.log",
        origin="test.log", fingerprint_key=b"f" * 32, evidence_window_days=7,
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(op, min_size=1, max_size=30), st.integers(min_value=1, max_value=3), st.randoms())
def test_nightly_properties(tmp_path_factory, ops, nights, rnd) -> None:
    """Through the warehouse, over several nights delivered out of order and re-run."""
    tmp = tmp_path_factory.mktemp("prop")
    con = duckdb.connect()
    key = Ed25519PrivateKey.generate()
    events = build(ops, {})
    days = [dt.date(2026, 12, 1) + dt.timedelta(days=i) for i in range(nights)]
    rows = {d: NightRows(d) for d in days}
    rows[days[0]].payable(CORE, "1000-2026-1-001", 10**6)
    for event in events:
        night = rows[rnd.choice(days)]
        night.event(
            event.event_id, event.event_type, event.voucher_id, time=event.event_time, issuer=event.issuer_uscc,
            from_uscc=event.from_uscc, to_uscc=event.to_uscc, amount_fen=event.amount_fen,
            maturity=event.maturity_date, parent=event.parent_voucher_id, ap_ref=event.ap_ref,
            financing_id=event.financing_id,
        )
    seen_rejections = {}
    for day in days:
        rows[day].load(con)
        result = _run(con, day, tmp, key)
        assert result.verified, result.problem
        seen_rejections[day] = con.execute(
            "SELECT * FROM ledger_rejections WHERE as_of = ? ORDER BY ALL", [day]
        ).fetchall()
        state = all_vouchers(con)
        check_money_and_holders(state)
    size = con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0]
    for day in days:  # re-running any night appends nothing and reproduces its decisions
        result = _run(con, day, tmp, key)
        assert result.verified and result.appended == 0
        assert con.execute(
            "SELECT * FROM ledger_rejections WHERE as_of = ? ORDER BY ALL", [day]
        ).fetchall() == seen_rejections[day]
    assert con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0] == size
    replayed, refused = replay_vouchers(con)
    assert not refused and replayed == all_vouchers(con)
    standing = {
        r[0] for r in con.execute(
            "SELECT event_id FROM ledger_entries WHERE event_id IS NOT NULL AND business_date <= ? "
            "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY business_date DESC, seq DESC) = 1 "
            "AND entry_type <> 'VOIDED'", [days[-1]]
        ).fetchall()
    }
    rejected_ids = {r[0] for r in con.execute(
        "SELECT event_id FROM ledger_rejections_as_of(?)", [days[-1]]).fetchall()}
    assert standing.isdisjoint(rejected_ids)
    assert standing | rejected_ids == {e.event_id for e in events}  # nothing silently dropped
    assert verify_ledger(con).ok


def _ledger_tables(con) -> dict[str, list[tuple]]:
    """Everything a night writes to the ledger (entries, nodes, head, states, rejections)."""
    return {
        table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("ledger_entries", "ledger_nodes", "ledger_tree", "ledger_voucher_state",
                      "ledger_rejections", "ledger_fingerprints")
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(op, min_size=1, max_size=30), st.integers(min_value=1, max_value=7), st.randoms())
def test_batches_change_nothing(tmp_path_factory, ops, batch_rows, rnd) -> None:
    """A night read and appended in batches of any size (re-deliveries and conflicts
    straddling them) writes the same ledger as the night read whole, and so does its re-run."""
    tmp = tmp_path_factory.mktemp("batches")
    key = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
    day = dt.date(2026, 12, 1)
    night = NightRows(day)
    night.payable(CORE, "1000-2026-1-001", 10**6)
    for event in build(ops, {}):
        for copy in range(rnd.choice([1, 1, 2, 3])):  # re-delivered, or re-delivered changed
            night.event(
                event.event_id, event.event_type, event.voucher_id, time=event.event_time,
                issuer=event.issuer_uscc, from_uscc=event.from_uscc, to_uscc=event.to_uscc,
                amount_fen=(event.amount_fen or 0) + (copy == 2), maturity=event.maturity_date,
                parent=event.parent_voucher_id, ap_ref=event.ap_ref, financing_id=event.financing_id,
            )
    written = []
    for rows in (ledger_inputs.BATCH_ROWS, batch_rows):
        con = duckdb.connect()
        night.load(con)
        with patch.object(ledger_inputs, "BATCH_ROWS", rows):
            results = [_run(con, day, tmp / str(rows), key) for _ in range(2)]
        written.append(([(r.appended, r.redelivered, r.rejected, r.root_hex) for r in results], _ledger_tables(con)))
    assert written[0] == written[1]
