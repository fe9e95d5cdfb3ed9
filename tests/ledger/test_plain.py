"""Plain voucher families decided in SQL (``ledger/plain.py``) write the ledger the Python
decider writes, byte for byte (issue 15 §2).

Each schedule runs twice through the real nightly step, once with the plain families decided
in DuckDB and once with every event through :func:`ledger.invariants.decide_event` (the
oracle), and everything the ledger writes is compared: entry bytes (hence leaf hashes, tree
and checkpoints), nodes, head, refusals and pending notices, voucher states, fingerprints.
The golden ledger (``test_golden_ledger.py``) checks the same against digests written before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.nightly import NightResult, append_night
from tests.ledger.test_properties import CORE, _ledger_tables
from tests.ledger_nights import BANK, TIER1, TIER2, NightRows, busy_night

D1 = dt.date(2026, 11, 18)
MATURITY = dt.date(2027, 5, 12)
KEY = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)


def _night(con: duckdb.DuckDBPyConnection, day: dt.date, folder: Path, plain: bool) -> NightResult:
    return append_night(
        con, day, checkpoint_dir=folder, signing_key=KEY, key_name="test.log", origin="test.log",
        fingerprint_key=b"f" * 32, evidence_window_days=2, plain_families=plain,
    )


def _both(schedule: Callable[[], dict[dt.date, NightRows]], tmp: Path) -> tuple[list[NightResult], list[NightResult]]:
    """Run the schedule's nights in order (then re-run each) with and without the plain
    path; assert the ledgers are identical; return each run's results."""
    out: dict[bool, tuple[list[NightResult], Any]] = {}
    for plain in (False, True):
        con = duckdb.connect()
        results = []
        nights = schedule()
        for day, rows in nights.items():
            rows.load(con)
            results.append(_night(con, day, tmp / str(plain), plain))
        results += [_night(con, day, tmp / str(plain), plain) for day in nights]
        out[plain] = (results, _ledger_tables(con))
    python, sql = out[False], out[True]
    assert sql[1] == python[1]
    strip = [dataclasses.replace(r, plain_events=0, checkpoint_path=None) for r in sql[0]]
    assert strip == [dataclasses.replace(r, checkpoint_path=None) for r in python[0]]
    return python[0], sql[0]


def _chain(night: NightRows, tag: str, minute: int, **change: Any) -> dict[str, dict[str, Any]]:
    """A plain ISSUE → SPLIT → TRANSFER → FINANCE family and its financing; returns its rows by step."""
    day = night.business_date

    def t(hour: int) -> str:
        return f"{day}T{hour:02d}:{minute:02d}:00+08:00"

    ap = f"1000-2026-{int.from_bytes(tag.encode()) % 10**9:09d}-001"
    night.payable(CORE, ap, 1_000_000)
    common = dict(issuer=CORE, maturity=MATURITY)
    root, child = f"V{tag}R", f"V{tag}C"
    rows = {
        "issue": night.event(f"E{tag}1", "ISSUE", root, time=t(8), from_uscc=CORE, to_uscc=TIER1,
                             amount_fen=1_000_000, ap_ref=ap, invoices=[(f"{minute:020d}", 1_000_000)], **common),
        "split": night.event(f"E{tag}2", "SPLIT", child, parent=root, time=t(9), from_uscc=TIER1, to_uscc=TIER1,
                             amount_fen=400_000, **common),
        "transfer": night.event(f"E{tag}3", "TRANSFER", child, time=t(10), from_uscc=TIER1, to_uscc=TIER2,
                                amount_fen=400_000, **common),
        "finance": night.event(f"E{tag}4", "FINANCE", child, time=t(11), from_uscc=TIER2, to_uscc=BANK,
                               amount_fen=400_000, financing_id=f"F{tag}", **common),
    }
    night.financing(f"F{tag}", bank_code=BANK, applicant=TIER2, debtor=CORE, face_fen=400_000,
                    voucher_id=child, maturity=MATURITY)
    for step, fields in change.items():
        rows[step.split("__")[0]][step.split("__")[1]] = fields
    return rows


# Each family is plain but for one trait (a refusal candidate, a shape the SQL does not prove,
# text Python reads otherwise); the whole family must go to the Python decider.
UNUSUAL: dict[str, Callable[[NightRows, str, int], Any]] = {
    "not the holder": lambda n, t, m: _chain(n, t, m, transfer__from_uscc=TIER2),
    "partial finance": lambda n, t, m: _chain(n, t, m, finance__amount_fen=1),
    "finance at maturity": lambda n, t, m: _chain(n, t, m, finance__event_time_text=f"{MATURITY}T11:00:00+08:00"),
    "finance time in another offset": lambda n, t, m: _chain(n, t, m, finance__event_time_text=f"{n.business_date}T03:00:00+00:00"),
    "split too large": lambda n, t, m: _chain(n, t, m, split__amount_fen=2_000_000),
    "split not positive": lambda n, t, m: _chain(n, t, m, split__amount_fen=0),
    "split with another maturity": lambda n, t, m: _chain(n, t, m, split__maturity_date=MATURITY + dt.timedelta(days=1)),
    "split by another issuer": lambda n, t, m: _chain(n, t, m, split__issuer_uscc=TIER1),
    "split to another party": lambda n, t, m: _chain(n, t, m, split__to_uscc=TIER2),
    "issue from another party": lambda n, t, m: _chain(n, t, m, issue__from_uscc=TIER1),
    "issue without amount": lambda n, t, m: _chain(n, t, m, issue__amount_fen=None),
    "payable not arrived": lambda n, t, m: _chain(n, t, m, issue__ap_ref="1000-2026-999999999-001"),
    "blank text": lambda n, t, m: _chain(n, t, m, transfer__to_uscc="   "),
    "leading space": lambda n, t, m: _chain(n, t, m, transfer__to_uscc=f" {TIER2}"),
    "non-ASCII first character": lambda n, t, m: _chain(n, t, m, issue__ap_ref="Ⅰ000-2026-1-001"),
    "invoices only as text": lambda n, t, m: _invoices_as_text(n, _chain(n, t, m)),
    "financing disagrees": lambda n, t, m: (_chain(n, t, m), n.financings[-1].update(face_amount_fen=399_999)),
    "financing with blank bank": lambda n, t, m: (_chain(n, t, m), n.financings[-1].update(bank_code=" ")),
    "unknown event type": lambda n, t, m: _chain(n, t, m, transfer__event_type="GIFT"),
    "settled after finance": lambda n, t, m: _extra(n, _chain(n, t, m), "SETTLE", "finance"),
    "cancelled": lambda n, t, m: _extra(n, _chain(n, t, m), "CANCEL", "transfer"),
    "moved after finance": lambda n, t, m: _extra(n, _chain(n, t, m), "TRANSFER", "finance"),
    "voucher issued twice": lambda n, t, m: _extra(n, _chain(n, t, m), "ISSUE", "issue"),
    "split of a split": lambda n, t, m: _grandchild(n, _chain(n, t, m)),
    "event delivered twice": lambda n, t, m: n.events.append(dict(_chain(n, t, m)["split"])),
    "event delivered changed": lambda n, t, m: n.events.append(dict(_chain(n, t, m)["split"], amount_fen=1)),
    "transfer before the split": lambda n, t, m: _chain(n, t, m, transfer__event_time_text=f"{n.business_date}T08:30:00+08:00"),
}


def _invoices_as_text(night: NightRows, rows: dict[str, dict[str, Any]]) -> None:
    eid = rows["issue"]["event_id"]
    night.event_invoices[:] = [i for i in night.event_invoices if i["event_id"] != eid]


def _extra(night: NightRows, rows: dict[str, dict[str, Any]], kind: str, like: str) -> None:
    """One more event like the family's ``like`` step, of another type, after every step (at 20:00)."""
    base = rows[like]
    when = base["event_time_text"][:11] + "20" + base["event_time_text"][13:]
    night.events.append(dict(base, event_id=base["event_id"] + kind, event_type=kind, event_time_text=when))


def _grandchild(night: NightRows, rows: dict[str, dict[str, Any]]) -> None:
    split = rows["split"]
    night.events.append(dict(split, event_id=split["event_id"] + "G", voucher_id=split["voucher_id"] + "G",
                             parent_voucher_id=split["voucher_id"], amount_fen=100_000,
                             event_time_text=split["event_time_text"].replace(":00+", ":30+")))


def _fix_times(night: NightRows) -> None:
    """Keep each row's warehouse time equal to its delivered text (the replay order reads it)."""
    from foundation.values import parse_offset_datetime

    for row in night.events:
        try:
            row["event_time"] = parse_offset_datetime(row["event_time_text"])
        except ValueError:
            row["event_time"] = None


def variants_schedule() -> dict[dt.date, NightRows]:
    """Night 1: plain families beside one family per unusual trait; night 2: plain families, a
    split of a night-1 voucher (in the tree: decided in Python) and the late payable."""
    n1, n2 = busy_night(D1, 6, prefix="P"), busy_night(D1 + dt.timedelta(days=1), 5, prefix="Q")
    _chain(n1, "OK", 59)  # the control: the same family with nothing unusual is plain
    for minute, make in enumerate(UNUSUAL.values()):
        make(n1, f"U{minute:02d}", minute)
    _fix_times(n1)
    n2.event("EOLD", "SPLIT", "VOLDX", parent=f"VP{D1:%Y%m%d}0000001C", time=f"{n2.business_date}T12:00:00+08:00",
             issuer=CORE, from_uscc=BANK, to_uscc=BANK, amount_fen=5, maturity=MATURITY)
    n2.payable(CORE, "1000-2026-999999999-001", 1_000_000)
    return {D1: n1, n2.business_date: n2}


def test_unusual_families_go_to_python_and_the_ledger_is_the_same(tmp_path: Path) -> None:
    python, sql = _both(variants_schedule, tmp_path)
    # only the busy chains and the control are plain (4 events each); every family with one unusual
    # trait is not, nor the night-1 family a night-2 split reaches (its events are in the tree), nor any re-run
    assert [r.plain_events for r in sql] == [4 * 7, 4 * 5, 0, 0]
    assert all(r.plain_events == 0 for r in python)
    assert sql[0].rejected > len(UNUSUAL) // 2  # the variants do probe refusals


PARTIES = [TIER1, TIER2, "91320000MA1X0000T3"]
PERTURB = ["holder", "amount", "time", "twice", "blank", "settle", "grandchild", "issued twice", "no payable",
           "financing disagrees", "financing late"]


def _family(rnd: Any, f: int, steps: int, perturb: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A random plausible voucher family (an ISSUE, splits of its root, transfers and finances by the
    holder of the whole amount left), and its financings; then at most one perturbation."""
    root, ap = f"VF{f}R", f"1000-2026-{f:09d}-001"
    holder, left, final = {root: TIER1}, {root: 1_000_000}, set()
    events: list[dict[str, Any]] = []
    financings: list[dict[str, Any]] = []

    def add(kind: str, vid: str, frm: str | None, to: str | None, amount: int | None, **more: Any) -> None:
        events.append(dict(event_id=f"EF{f}-{len(events):02d}", event_type=kind, voucher_id=vid, from_uscc=frm,
                           to_uscc=to, amount_fen=amount, time=f"2026-12-01T{9 + len(events) % 12:02d}:{f:02d}:00+08:00",
                           issuer=CORE, maturity=MATURITY, **more))

    add("ISSUE", root, CORE, TIER1, 1_000_000, ap_ref=ap, invoices=[(f"{f:020d}", 1_000_000)])
    for _ in range(steps):
        active = sorted(v for v in holder if v not in final)
        if not active:
            break
        action = rnd.choice(["split", "transfer", "transfer", "finance"])
        if action == "split" and root in active and left[root] > 1:
            child, amount = f"VF{f}C{len(holder)}", rnd.randint(1, left[root] - 1)
            add("SPLIT", child, holder[root], holder[root], amount, parent=root)
            holder[child], left[child] = holder[root], amount
            left[root] -= amount
            continue
        vid = rnd.choice(active)
        to = rnd.choice([p for p in PARTIES if p != holder[vid]])
        if action == "finance":
            fid = f"FF{f}-{len(events)}"
            add("FINANCE", vid, holder[vid], BANK, left[vid], financing_id=fid)
            financings.append(dict(financing_id=fid, bank_code=BANK, applicant=holder[vid], debtor=CORE,
                                   face_fen=left[vid], voucher_id=vid, maturity=MATURITY))
            final.add(vid)
        else:
            add("TRANSFER", vid, holder[vid], to, left[vid])
            holder[vid] = to
    later = events[1:] or events
    if perturb == "holder":
        rnd.choice(later)["from_uscc"] = "91320000MA1X0000ZZ"
    elif perturb == "amount":
        rnd.choice(later)["amount_fen"] += 1
    elif perturb == "time" and len(events) > 1:
        a, b = rnd.sample(events, 2)
        a["time"], b["time"] = b["time"], a["time"]
    elif perturb == "twice":
        events.append(dict(rnd.choice(events)))
    elif perturb == "blank":
        rnd.choice(events)["to_uscc"] = " "
    elif perturb in ("settle", "grandchild", "issued twice"):
        kind = {"settle": "SETTLE", "grandchild": "SPLIT", "issued twice": "ISSUE"}[perturb]
        vid = rnd.choice(sorted(holder))
        add(kind, vid + ("G" if kind == "SPLIT" else ""), holder[vid], holder[vid], 1,
            parent=vid if kind == "SPLIT" else None, ap_ref=ap if kind == "ISSUE" else None)
    elif perturb == "no payable":
        events[0]["ap_ref"] = f"1000-2026-{f:09d}-404"
    elif perturb == "financing disagrees" and financings:
        financings[0]["face_fen"] += 1
    elif perturb == "financing late" and financings:
        financings[0]["late"] = True
    return events, financings


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=6), st.sampled_from([None, None, None, *PERTURB])),
                min_size=1, max_size=6),
       st.integers(min_value=1, max_value=3), st.randoms())
def test_random_families_write_the_same_ledger(tmp_path_factory: pytest.TempPathFactory,
                                               families: list[tuple[int, str | None]], nights: int, rnd: Any) -> None:
    """Random voucher families, most plain, some with one perturbation (a refusal candidate or a
    shape the SQL does not prove), delivered over nights in any order, payables and financings late."""
    days = [dt.date(2026, 12, 1) + dt.timedelta(days=i) for i in range(nights)]
    drawn = [_family(rnd, f, steps, perturb) for f, (steps, perturb) in enumerate(families)]
    plan = [([rnd.choice(days)] * len(events) if rnd.random() < 0.6 else [rnd.choice(days) for _ in events],
             [rnd.choice(days) for _ in fins], rnd.choice(days)) for events, fins in drawn]  # most on one night

    def schedule() -> dict[dt.date, NightRows]:
        rows = {d: NightRows(d) for d in days}
        for f, ((events, fins), (event_days, fin_days, payable_day)) in enumerate(zip(drawn, plan, strict=True)):
            rows[payable_day].payable(CORE, f"1000-2026-{f:09d}-001", 1_000_000)
            for event, day in zip(events, event_days, strict=True):
                rows[day].event(**{k: v for k, v in event.items()})
            for fin, day in zip(fins, fin_days, strict=True):
                rows[days[-1] if fin.get("late") else day].financing(**{k: v for k, v in fin.items() if k != "late"})
        return rows

    _both(schedule, tmp_path_factory.mktemp("plain"))
