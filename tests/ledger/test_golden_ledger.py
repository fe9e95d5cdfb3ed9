"""The ledger's output stays byte-identical while its append path is made faster (issue 15 §2).

Two fixed schedules run through the real nightly step and every byte the ledger writes is
digested: entry bytes in seq order (hence every leaf hash and the tree), refusals and
pending notices, voucher states, fingerprints.  The expected digests were written by the
release before the batched append (``c0a13c6``): a change to any of them is a change to
what the ledger decides or commits to, never an optimisation.

* the harness schedule: busy chains, late payables (pending, then posted or voided),
  refused events of every kind the state machine knows, a conflicting re-delivery, a
  restated night that drops an event and a financing, a defaulted financing, re-runs;
* the simulator's three nights with every planted anomaly and look-alike kind, through the
  whole nightly job (the manifest entries, whose archive head depends on the run, are
  digested by their record type only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pytest

from ledger.entries import EntryType
from tests.ledger_nights import BANK, CORE, TIER1, TIER2, Harness, NightRows, busy_night
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 18)
NIGHTS = [D1 + dt.timedelta(days=i) for i in range(4)]
MATURITY = dt.date(2027, 5, 12)
_DATE_OFFSET = 2 + 12 + 36  # entry bytes after version, type, seq and previous leaf hash


def ledger_digest(con: duckdb.DuckDBPyConnection, *, skip_manifest: bool = False) -> dict[str, str]:
    """SHA-256 of each table the ledger writes, rows in a fixed order (see module docstring)."""
    digests: dict[str, str] = {}
    entries = hashlib.sha256()
    for seq, etype, chash, entry in con.execute(
        "SELECT seq, entry_type, content_hash, entry FROM ledger_entries ORDER BY seq"
    ).fetchall():
        raw = bytes(entry)
        if skip_manifest and raw[1] == EntryType.ARCHIVE_MANIFEST:
            entries.update(repr((seq, etype)).encode())
        else:
            entries.update(repr((seq, etype, bytes(chash) if chash else None)).encode())
            entries.update(raw if not skip_manifest else raw[_DATE_OFFSET:])
    digests["entries"] = entries.hexdigest()
    for table, order in (
        ("ledger_rejections", "ALL"),
        ("ledger_voucher_state", "voucher_id"),
        ("ledger_fingerprints", "seq, kind, digest"),
    ):
        rows = con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
        digests[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def _chain(night: NightRows, tag: str, hour: int, *, ap_ref: str, amount: int = 1_000_000,
           finance_amount: int | None = None, transfer_from: str = TIER1, finance_day: dt.date | None = None) -> None:
    """ISSUE → SPLIT → TRANSFER → FINANCE of voucher V<tag>C and its financing F<tag>."""
    def t(h: int, day: dt.date = night.business_date) -> str:
        return f"{day}T{h:02d}:{hour:02d}:00+08:00"

    common = dict(issuer=CORE, maturity=MATURITY)
    root, child = f"V{tag}R", f"V{tag}C"
    half = amount // 2
    night.event(f"E{tag}1", "ISSUE", root, time=t(8), from_uscc=CORE, to_uscc=TIER1, amount_fen=amount,
                ap_ref=ap_ref, invoices=[(f"INV{tag}", amount)], **common)
    night.event(f"E{tag}2", "SPLIT", child, parent=root, time=t(9), from_uscc=TIER1, to_uscc=TIER1,
                amount_fen=half, **common)
    night.event(f"E{tag}3", "TRANSFER", child, time=t(10), from_uscc=transfer_from, to_uscc=TIER2,
                amount_fen=half, **common)
    night.event(f"E{tag}4", "FINANCE", child, time=t(11, finance_day or night.business_date), from_uscc=TIER2,
                to_uscc=BANK, amount_fen=half if finance_amount is None else finance_amount,
                financing_id=f"F{tag}", **common)
    night.financing(f"F{tag}", bank_code=BANK, applicant=TIER2, debtor=CORE, face_fen=half,
                    voucher_id=child, maturity=MATURITY, invoices=[(f"INV{tag}", half)])


def harness_schedule() -> dict[dt.date, list[NightRows]]:
    """Each night's deliveries (a second NightRows of a night restates it)."""
    nights = {d: busy_night(d, 25, prefix=f"B{i}") for i, d in enumerate(NIGHTS)}
    n1, n2, n3, n4 = (nights[d] for d in NIGHTS)
    for i, night in enumerate(nights.values()):
        for k in range(4):
            tag, ap = f"G{i}{k}", f"1000-2026-5100{i}{k:05d}-001"
            _chain(night, tag, k, ap_ref=ap)
            night.payable(CORE, ap, 1_000_000)
            night.tax_invoice(f"INV{tag}", seller=TIER1, buyer=CORE, total_fen=1_000_000, issued=night.business_date)
    # late payables: one arrives two nights later (posted), one never (voided after the window)
    _chain(n1, "LATE", 5, ap_ref="1000-2026-5100000001-009")
    n3.payable(CORE, "1000-2026-5100000001-009", 1_000_000)
    _chain(n1, "NEVER", 6, ap_ref="1000-2026-5100000001-010")
    # refusals: not the holder, a partial finance, after maturity, duplicate voucher, unknown voucher, split
    # too large, split with another maturity
    _chain(n2, "HOLD", 7, ap_ref="1000-2026-5100000002-001", transfer_from=TIER2)
    n2.payable(CORE, "1000-2026-5100000002-001", 1_000_000)
    _chain(n2, "PART", 8, ap_ref="1000-2026-5100000002-002", finance_amount=1)
    n2.payable(CORE, "1000-2026-5100000002-002", 1_000_000)
    _chain(n2, "MAT", 9, ap_ref="1000-2026-5100000002-003", finance_day=MATURITY)
    n2.payable(CORE, "1000-2026-5100000002-003", 1_000_000)
    n2.event("EDUP", "ISSUE", "VG00R", time=f"{n2.business_date}T12:00:00+08:00", issuer=CORE, from_uscc=CORE,
             to_uscc=TIER1, amount_fen=5, maturity=MATURITY, ap_ref="1000-2026-5100000002-001")
    n2.event("EUNK", "TRANSFER", "VNOPE", time=f"{n2.business_date}T12:01:00+08:00", issuer=CORE, from_uscc=TIER1,
             to_uscc=TIER2, amount_fen=5, maturity=MATURITY)
    n2.event("EBIG", "SPLIT", "VG10X", parent="VG10R", time=f"{n2.business_date}T23:00:00+08:00", issuer=CORE,
             from_uscc=TIER1, to_uscc=TIER1, amount_fen=10**9, maturity=MATURITY)
    n2.event("EINH", "SPLIT", "VG11X", parent="VG11R", time=f"{n2.business_date}T23:01:00+08:00", issuer=CORE,
             from_uscc=TIER1, to_uscc=TIER1, amount_fen=5, maturity=MATURITY + dt.timedelta(days=1))
    # a conflicting re-delivery of an event, a defaulted financing, a financing that disagrees
    n3.events.append(dict(n1.events[0], amount_fen=n1.events[0]["amount_fen"] + 1))
    n4.financings.append(dict(n1.financings[0], status="DEFAULTED"))
    n4.financings.append(dict(n2.financings[0], face_amount_fen=123))
    # night 3 restated: its first chain and one financing are no longer delivered
    restated = NightRows(n3.business_date)
    for name in ("events", "event_invoices", "financings", "financing_invoices", "payables", "tax_invoices"):
        setattr(restated, name, list(getattr(n3, name)))
    restated.events = [e for e in restated.events if not e["event_id"].startswith(f"EB2{n3.business_date:%Y%m%d}0000000")]
    restated.financings = restated.financings[1:]
    return {NIGHTS[0]: [n1], NIGHTS[1]: [n2], NIGHTS[2]: [n3, restated], NIGHTS[3]: [n4]}


def _replace(con: duckdb.DuckDBPyConnection, night: NightRows) -> None:
    for table in ("voucher_events", "voucher_event_invoices", "financings", "financing_invoices",
                  "erp_ap_items", "tax_invoices"):
        con.execute(f"DELETE FROM {table} WHERE business_date = ?", [night.business_date])
    night.load(con)


HARNESS_DIGEST = {
    "entries": "f4a830ecd1287c44722e8ccfd048dcae19962e766cbcc1024fbcdc8ce3a81b90",
    "ledger_rejections": "8dfbe87060db01dfff0ff9b9fe244b8bc456ff136db634f1662842fe37a0220e",
    "ledger_voucher_state": "fc537a5ae83e64ab921de2011d3d473a2a34a9cb86475eb4f0c714d7684e84a3",
    "ledger_fingerprints": "0dd55377903f9fa51e41179559d30b4815c70f2bd67f42104a567a184fb25d00",
}


def test_the_harness_schedule_writes_the_golden_ledger(tmp_path: Path) -> None:
    h = Harness(Warehouse(tmp_path / "warehouse.duckdb").con, tmp_path / "checkpoints", evidence_window_days=1)
    for day, deliveries in harness_schedule().items():
        for n, night in enumerate(deliveries):
            night.load(h.con) if n == 0 else _replace(h.con, night)
            assert h.run(day).verified
    h.run(NIGHTS[1])  # a re-run of an earlier night, then the last night again
    assert h.run(NIGHTS[-1]).verified
    assert ledger_digest(h.con) == HARNESS_DIGEST


SIMULATED_DIGEST = {
    "entries": "cc0f34d19e377824826499e5bf5d8a003402f0a2db6af724f54ae9bee2173918",
    "ledger_rejections": "0edfb60628fe75c4374e05118cc10ba5b28e3c1189479932cdeb1ca3f2dc2e73",
    "ledger_voucher_state": "7b5f6e96f9933c66a3c6c9acbc9bd1620418b241f9cb4cde96bcc211e4ba2a9d",
    "ledger_fingerprints": "4edba1b4f54db3ae20b77092756bc349571498ec72ea6e82595385d5cb6c1744",
}


@pytest.mark.slow
def test_the_simulated_nights_write_the_golden_ledger(tmp_path: Path) -> None:
    from integration.home import fingerprint_commitment_path, init_home
    from integration.runner import failure_messages, run_night
    from ledger.fingerprints import key_commitment
    from simulator import Tuning, simulate

    start = dt.date(2026, 11, 18)
    simulate(tmp_path / "sim", seed=20261130, nights=3, start=start, trades_per_night=40, tuning=Tuning(per_kind=1))
    init_home(tmp_path / "home")
    key = b"\x07" * 32  # a fixed fingerprint key, so that the financing entries' annexes are reproducible
    (tmp_path / "home" / "ledger" / "keys" / "fingerprint.key").write_text(key.hex() + "\n", encoding="ascii")
    fingerprint_commitment_path(tmp_path / "home").write_text(key_commitment(key) + "\n", encoding="ascii")
    for offset in range(3):
        result = run_night(start + dt.timedelta(days=offset), home=tmp_path / "home", inbox=tmp_path / "sim" / "inbox")
        assert result.success, failure_messages(result)
    con = duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True)
    assert ledger_digest(con, skip_manifest=True) == SIMULATED_DIGEST


def record_corpus() -> list:
    """Records of every class with every kind of value a field may hold (null, empty, blank,
    non-ASCII text; negative, zero and 64-bit extreme ints; dates; bytes; lists of 0-3 items)."""
    import random

    from ledger import entries as e

    rnd = random.Random(20261130)
    texts = [None, "", " ", "A", "票据-Ω", "x" * 70, "91320500MA1X000024", "2026-11-20T10:00:00+08:00"]
    ints = [None, 0, 1, -1, 2**63 - 1, -(2**63), 400_000, 1_000_000_007]
    dates = [None, dt.date(2026, 11, 20), dt.date(1, 1, 1), dt.date(9999, 12, 31)]
    blobs = [b"", b"\x00" * 32, bytes(range(32))]

    def pick(kind: object) -> object:
        if kind == e.STR:
            return rnd.choice(texts)
        if kind == e.INT:
            return rnd.choice(ints)
        if kind == e.DATE:
            return rnd.choice(dates)
        if kind == e.BYTES:
            return rnd.choice(blobs)
        assert isinstance(kind, type)
        return tuple(make(kind) for _ in range(rnd.randrange(4)))

    def make(cls: type) -> object:
        return cls(**{name: pick(kind) for name, kind in e._KINDS[cls].items()})

    return [make(cls) for cls in e._KINDS for _ in range(60)]


def test_every_record_encodes_to_the_golden_bytes() -> None:
    from ledger.entries import encode_content, encode_record

    digest = hashlib.sha256()
    for record in record_corpus():
        digest.update(encode_record(record))
        if type(record).__name__ in ("VoucherEvent", "FinancingRecord", "EventStatus", "FinancingStatus"):
            digest.update(encode_content(record)[1])
    assert digest.hexdigest() == RECORDS_DIGEST


RECORDS_DIGEST = "09f95f26d6d5b74ada96b336dccf70c06a871bc8c1692144db97b428e3c69c05"
