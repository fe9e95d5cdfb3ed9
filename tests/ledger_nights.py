"""Test and benchmark helpers: a warehouse holding the input tables the ledger reads.

Tables are created from :data:`warehouse.schemas.SCHEMAS` exactly as the warehouse
defines them; :class:`NightRows` writes a night's platform, ERP and tax rows the way the
loader would (lineage columns filled, invoices exploded into their child tables).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from foundation.values import format_fen, parse_offset_datetime
from ledger.entries import VOIDED
from ledger.inputs import INPUT_TABLES
from ledger.process import standing_events
from ledger.state import all_vouchers
from ledger.store import insert_arrow
from warehouse.registry import create_table
from warehouse.schemas import FILES, SCHEMAS

# Child tables come from the same delivered file as their parent rows.
_SOURCE_FILE = {"voucher_event_invoices": "voucher_events", "financing_invoices": "financings"}


def create_input_tables(con: duckdb.DuckDBPyConnection, tables: Sequence[str] = INPUT_TABLES) -> None:
    """Create the given typed tables (empty) from their Arrow schemas, and the file register
    (the delivery order of files, :data:`warehouse.asof.DELIVERY_ORDER`), if absent."""
    create_table(con, FILES)
    for name in tables:
        con.register("_ledger_empty", SCHEMAS[name].empty_table())
        try:
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM _ledger_empty")
        finally:
            con.unregister("_ledger_empty")


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, business_date: dt.date, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows into a typed table, filling the lineage columns like the loader does."""
    if not rows:
        return
    schema = SCHEMAS[table]
    filled = [
        {
            "business_date": business_date,
            "src_sha256": f"test-{_SOURCE_FILE.get(table, table)}-{business_date}",
            "src_pos": pos,
            **{name: row.get(name) for name in schema.names[3:]},
        }
        for pos, row in enumerate(rows, start=2)
    ]
    insert_arrow(con, table, pa.Table.from_pylist(filled, schema=schema))


def invoice_text(invoices: Sequence[tuple[str, int]]) -> str:
    """``no:amount;no:amount`` as delivered."""
    return ";".join(f"{no}:{format_fen(fen)}" for no, fen in invoices)


@dataclass
class NightRows:
    """One night's input rows, built in code and loaded with :meth:`load`."""

    business_date: dt.date
    events: list[dict[str, Any]] = field(default_factory=list)
    event_invoices: list[dict[str, Any]] = field(default_factory=list)
    financings: list[dict[str, Any]] = field(default_factory=list)
    financing_invoices: list[dict[str, Any]] = field(default_factory=list)
    payables: list[dict[str, Any]] = field(default_factory=list)
    tax_invoices: list[dict[str, Any]] = field(default_factory=list)

    def event(
        self,
        event_id: str,
        event_type: str,
        voucher_id: str | None,
        *,
        time: str,
        issuer: str | None,
        from_uscc: str | None,
        to_uscc: str | None,
        amount_fen: int | None,
        maturity: dt.date | None,
        parent: str | None = None,
        invoices: Sequence[tuple[str, int]] = (),
        ap_ref: str | None = None,
        financing_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a ``voucher_events`` row (``time`` is ISO 8601 with offset)."""
        row = {
            "event_id": event_id,
            "event_time": parse_offset_datetime(time),
            "event_time_text": time,
            "event_type": event_type,
            "voucher_id": voucher_id,
            "parent_voucher_id": parent,
            "issuer_uscc": issuer,
            "from_uscc": from_uscc,
            "to_uscc": to_uscc,
            "amount_fen": amount_fen,
            "maturity_date": maturity,
            "invoice_nos": invoice_text(invoices) or None,
            "ap_ref": ap_ref,
            "financing_id": financing_id,
        }
        self.events.append(row)
        self.event_invoices.extend(
            {"event_id": event_id, "invoice_no": no, "amount_fen": fen} for no, fen in invoices
        )
        return row

    def financing(
        self,
        financing_id: str,
        *,
        bank_code: str,
        applicant: str,
        debtor: str,
        face_fen: int,
        financed_fen: int | None = None,
        product: str = "VOUCHER",
        voucher_id: str | None = None,
        cd_no: str | None = None,
        bill_range: tuple[int, int] | None = None,
        invoice_no: str | None = None,
        invoices: Sequence[tuple[str, int]] = (),
        rate: str = "0.0298",
        value_date: dt.date | None = None,
        maturity: dt.date | None = None,
        status: str = "ACTIVE",
    ) -> dict[str, Any]:
        """Add a ``financings`` row; the asset is a voucher, a bill range or an invoice."""
        if voucher_id:
            asset_ref = voucher_id
        elif cd_no:
            asset_ref = f"{cd_no}:{bill_range[0]}-{bill_range[1]}" if bill_range else cd_no
        else:
            asset_ref = invoice_no
        row = {
            "financing_id": financing_id,
            "bank_code": bank_code,
            "product": product,
            "applicant_uscc": applicant,
            "debtor_uscc": debtor,
            "asset_ref": asset_ref,
            "asset_voucher_id": voucher_id,
            "asset_cd_no": cd_no,
            "asset_range_start": bill_range[0] if bill_range else None,
            "asset_range_end": bill_range[1] if bill_range else None,
            "asset_invoice_no": invoice_no,
            "invoice_nos": invoice_text(invoices) or None,
            "face_amount_fen": face_fen,
            "financed_amount_fen": financed_fen if financed_fen is not None else face_fen,
            "rate": Decimal(rate).quantize(Decimal("0.000001")),
            "value_date": value_date or self.business_date,
            "maturity_date": maturity,
            "status": status,
        }
        self.financings.append(row)
        self.financing_invoices.extend(
            {"financing_id": financing_id, "invoice_no": no, "amount_fen": fen} for no, fen in invoices
        )
        return row

    def payable(self, core_uscc: str, ap_ref: str, amount_fen: int) -> None:
        """Add an ``erp_ap_items`` row (a confirmed payable) of ``core_uscc``."""
        bukrs, gjahr, belnr, buzei = ap_ref.split("-")
        self.payables.append(
            {
                "core_uscc": core_uscc, "bukrs": bukrs, "gjahr": gjahr, "belnr": belnr, "buzei": buzei,
                "ap_ref": ap_ref, "debit_credit": "H", "amount_fen": amount_fen, "currency": "CNY",
                "document_type": "RE",
            }
        )

    def tax_invoice(self, invoice_no: str, *, seller: str, buyer: str, total_fen: int, issued: dt.date) -> None:
        """Add a ``tax_invoices`` row."""
        self.tax_invoices.append(
            {
                "invoice_no": invoice_no, "is_red": False, "seller_uscc": seller, "buyer_uscc": buyer,
                "amount_fen": total_fen, "tax_fen": 0, "total_fen": total_fen,
                "issue_time": dt.datetime.combine(issued, dt.time()),
            }
        )

    def load(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the rows into the warehouse (tables created if needed)."""
        create_input_tables(con)
        d = self.business_date
        insert_rows(con, "voucher_events", d, self.events)
        insert_rows(con, "voucher_event_invoices", d, self.event_invoices)
        insert_rows(con, "financings", d, self.financings)
        insert_rows(con, "financing_invoices", d, self.financing_invoices)
        insert_rows(con, "erp_ap_items", d, self.payables)
        insert_rows(con, "tax_invoices", d, self.tax_invoices)


@dataclass
class Harness:
    """A warehouse connection plus the keys and folder the nightly step needs."""

    con: duckdb.DuckDBPyConnection
    checkpoint_dir: Any
    signing_key: Any = field(default=None, repr=False)
    origin: str = "test.example/ledger"
    fingerprint_key: bytes = field(default=b"\x07" * 32, repr=False)
    evidence_window_days: int = 7

    def __post_init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if self.signing_key is None:
            self.signing_key = Ed25519PrivateKey.generate()
        create_input_tables(self.con)

    def run(self, business_date: dt.date) -> Any:
        """``append_night`` for one night with this harness's keys."""
        from ledger.nightly import append_night

        return append_night(
            self.con,
            business_date,
            checkpoint_dir=self.checkpoint_dir,
            signing_key=self.signing_key,
            key_name=self.origin,
            origin=self.origin,
            fingerprint_key=self.fingerprint_key,
            evidence_window_days=self.evidence_window_days,
        )

    def verifier(self) -> Any:
        """The log's note verifier."""
        from ledger.checkpoint import NoteSigner

        return NoteSigner(self.origin, self.signing_key).verifier()


@dataclass(frozen=True)
class Implication:
    """A refusal of the ledger (or an ISSUE pending) and one financing it implicates (None: none yet)."""

    check_id: str
    financing_id: str | None
    voucher_id: str | None
    event_id: str | None
    refused_on: dt.date
    reason: str
    evidence: dict[str, Any]
    via_voucher_id: str | None


def implications(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[Implication]:
    """Every refusal as of ``as_of`` with each financing it implicates, by the one rule the checks
    run (``ledger_implications`` of the night's session, ``reconciliation/sql/_prelude_ledger.sql``).
    ``con`` is a warehouse's (the session reads every typed table)."""
    from reconciliation.session import open_night

    open_night(con, as_of)
    rows = con.execute(
        "SELECT check_id, financing_id, voucher_id, event_id, refused_on, reason, evidence, via_voucher_id "
        "FROM ledger_implications ORDER BY refused_on, check_id, financing_id NULLS FIRST, event_id, voucher_id"
    ).fetchall()
    return [Implication(*r[:6], json.loads(r[6] or "{}"), r[7]) for r in rows]


CORE = "91440300MA5F00001A"
TIER1 = "91320500MA1X000024"
TIER2 = "91320500MA1X000037"
BANK = "313521000011"
SAMPLE_DATE = dt.date(2026, 11, 20)
SAMPLE_MATURITY = dt.date(2027, 5, 12)


def sample_night(business_date: dt.date = SAMPLE_DATE) -> NightRows:
    """The platform rows of the spec's sample night (samples/2026-11-20): a voucher of
    ¥113,000 issued to a tier-1 supplier, ¥30,000 split off, transferred to tier 2 and
    financed (F202611200001), plus the payable and invoices behind it."""
    night = NightRows(business_date)
    night.payable(CORE, "1000-2026-5100001234-001", 11_300_000)
    night.tax_invoice("26320000000000012345", seller=TIER1, buyer=CORE, total_fen=11_300_000,
                      issued=dt.date(2026, 11, 12))
    night.tax_invoice("26320000000000023456", seller=TIER2, buyer=TIER1, total_fen=3_000_000,
                      issued=dt.date(2026, 11, 15))
    common = dict(issuer=CORE, maturity=SAMPLE_MATURITY)
    night.event("EV000001", "ISSUE", "V3f9a1c2b4d5e6f70", time="2026-11-14T10:00:00+08:00",
                from_uscc=CORE, to_uscc=TIER1, amount_fen=11_300_000,
                invoices=[("26320000000000012345", 11_300_000)], ap_ref="1000-2026-5100001234-001", **common)
    night.event("EV000002", "SPLIT", "V3f9a1c2b4d5e6f71", parent="V3f9a1c2b4d5e6f70",
                time="2026-11-16T09:12:00+08:00", from_uscc=TIER1, to_uscc=TIER1, amount_fen=3_000_000, **common)
    night.event("EV000003", "TRANSFER", "V3f9a1c2b4d5e6f71", time="2026-11-16T09:12:01+08:00",
                from_uscc=TIER1, to_uscc=TIER2, amount_fen=3_000_000,
                invoices=[("26320000000000023456", 3_000_000)], **common)
    night.event("EV000004", "FINANCE", "V3f9a1c2b4d5e6f71", time="2026-11-20T11:30:00+08:00",
                from_uscc=TIER2, to_uscc=BANK, amount_fen=3_000_000,
                invoices=[("26320000000000023456", 3_000_000)], financing_id="F202611200001", **common)
    night.financing("F202611200001", bank_code=BANK, applicant=TIER2, debtor=CORE, face_fen=3_000_000,
                    financed_fen=2_957_038, voucher_id="V3f9a1c2b4d5e6f71",
                    invoices=[("26320000000000023456", 3_000_000)], maturity=SAMPLE_MATURITY)
    return night


def busy_night(business_date: dt.date, chains: int, *, prefix: str = "") -> NightRows:
    """A night of ``chains`` valid voucher chains (ISSUE, SPLIT, TRANSFER, FINANCE + the
    financing row): five entries each, for tests and benchmarks."""
    night = NightRows(business_date)
    day = business_date.strftime("%Y%m%d")
    maturity = business_date + dt.timedelta(days=180)
    for i in range(chains):
        tag = f"{prefix}{day}{i:07d}"
        root, child, ap_ref = f"V{tag}R", f"V{tag}C", f"1000-{business_date.year}-{tag}-001"
        tier2 = f"9132{i % 97:02d}00MA1X00{i % 1000:04d}"

        def t(s: int, i: int = i) -> str:
            sec = i * 5 + s
            return f"{business_date}T{9 + sec // 3600 % 14:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}+08:00"

        common = dict(issuer=CORE, maturity=maturity)
        night.payable(CORE, ap_ref, 1_000_000 + i)
        night.event(f"E{tag}1", "ISSUE", root, time=t(0), from_uscc=CORE, to_uscc=TIER1,
                    amount_fen=1_000_000 + i, ap_ref=ap_ref, invoices=[(f"{i:020d}", 1_000_000 + i)], **common)
        night.event(f"E{tag}2", "SPLIT", child, parent=root, time=t(1), from_uscc=TIER1, to_uscc=TIER1,
                    amount_fen=400_000, **common)
        night.event(f"E{tag}3", "TRANSFER", child, time=t(2), from_uscc=TIER1, to_uscc=tier2,
                    amount_fen=400_000, **common)
        night.event(f"E{tag}4", "FINANCE", child, time=t(3), from_uscc=tier2, to_uscc=BANK,
                    amount_fen=400_000, financing_id=f"F{tag}", **common)
        night.financing(f"F{tag}", bank_code=BANK, applicant=tier2, debtor=CORE, face_fen=400_000,
                        financed_fen=395_000, voucher_id=child, maturity=maturity,
                        invoices=[(f"{10**19 + i:020d}", 400_000)])
    return night


def ledger_state(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict[str, Any]:
    """The ledger's state as of a night, for comparing runs that took different paths (the
    tree itself may differ: corrections are new entries): voucher states, the events
    standing (posted or pending, and which version), each financing standing (not voided): its
    version and what its fingerprints cover, and the night's refusals and pending notices."""
    return {
        "vouchers": all_vouchers(con),
        "events": [e for e in standing_events(con, as_of) if e[1] != VOIDED],
        "financings": con.execute(
            "WITH e AS (SELECT seq, financing_id, content_hash FROM ledger_financings_as_of(?)) "
            "SELECT e.financing_id, e.content_hash, list((f.kind, f.amount_fen) ORDER BY f.kind, f.amount_fen) "
            "FROM e LEFT JOIN ledger_fingerprints f USING (seq) GROUP BY ALL ORDER BY ALL", [as_of]
        ).fetchall(),
        "decisions": con.execute(
            "SELECT * EXCLUDE (as_of) FROM ledger_rejections_as_of(?) ORDER BY ALL", [as_of]
        ).fetchall(),
    }
