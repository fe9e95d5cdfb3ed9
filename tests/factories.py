"""Build warehouse rows by hand for tests of the checks: name only the columns that matter."""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa

from connectors.kinds import classify
from foundation.values import format_fen
from warehouse.connection import Warehouse
from warehouse.schemas import FILES, QUARANTINE, SCHEMAS

_positions = itertools.count(1)


def insert(warehouse: Warehouse, table: str, business_date: dt.date, **values: object) -> int:
    """Insert one row into ``table``; unnamed columns are NULL, lineage columns are filled.

    Returns the row's ``src_pos``; child rows (presented invoices, lines) pass their
    parent's as ``src_pos=`` as the parsers do."""
    schema = SCHEMAS[table]
    row = {"business_date": business_date, "src_sha256": f"test-{business_date}", "src_pos": next(_positions)}
    row.update(values)
    unknown = set(row) - set(schema.names)
    if unknown:
        raise KeyError(f"{table} has no columns {sorted(unknown)}")
    warehouse.append(table, pa.table({f.name: pa.array([row.get(f.name)], type=f.type) for f in schema}))
    return int(row["src_pos"])  # type: ignore[call-overload]


def invoice(warehouse: Warehouse, day: dt.date, invoice_no: str, total_fen: int, *,
            seller: str = "91320500MA1X000024", buyer: str = "91440300MA5F00001A",
            red_of: str | None = None, issued: dt.date | None = None) -> None:
    """A 数电票 whose tax is 13/113 of its total (a red-letter one when ``red_of`` is given),
    issued on ``issued`` (default: the night it arrives)."""
    tax = total_fen * 13 // 113
    insert(warehouse, "tax_invoices", day, invoice_no=invoice_no, is_red=red_of is not None,
           original_invoice_no=red_of, seller_uscc=seller, buyer_uscc=buyer,
           amount_fen=total_fen - tax, tax_fen=tax, total_fen=total_fen,
           issue_time=dt.datetime.combine(issued or day, dt.time(9)))


def financing(warehouse: Warehouse, day: dt.date, financing_id: str, product: str, *,
              invoices: dict[str, int], bank: str = "313521000011", face_fen: int | None = None,
              voucher: str | None = None, bill: tuple[str, int, int] | None = None,
              status: str = "ACTIVE") -> None:
    """A financing and the invoices it presents (invoice no → fen)."""
    face = face_fen
    if face is None:  # a bill range holds one fen per unit
        face = bill[2] - bill[1] + 1 if bill else sum(invoices.values())
    asset_ref = voucher or (f"{bill[0]}:{bill[1]}-{bill[2]}" if bill else next(iter(invoices)))
    position = insert(warehouse, "financings", day, financing_id=financing_id, bank_code=bank, product=product,
           applicant_uscc="91320500MA1X000024", debtor_uscc="91440300MA5F00001A", asset_ref=asset_ref,
           asset_voucher_id=voucher, asset_cd_no=bill[0] if bill else None,
           asset_range_start=bill[1] if bill else None, asset_range_end=bill[2] if bill else None,
           asset_invoice_no=asset_ref if product == "INVOICE" else None,
           invoice_nos=";".join(f"{k}:{format_fen(v)}" for k, v in invoices.items()),
           face_amount_fen=face, financed_amount_fen=face * 98 // 100, value_date=day,
           maturity_date=day + dt.timedelta(days=180), status=status)
    for invoice_no, fen in invoices.items():
        insert(warehouse, "financing_invoices", day, src_pos=position, financing_id=financing_id,
               invoice_no=invoice_no, amount_fen=fen)


def delivered(warehouse: Warehouse, day: dt.date, *rel_paths: str) -> None:
    """Register files as delivered (and loaded) on ``day``, as the loader does."""
    rows = [FILES.Row(business_date=day, rel_path=rel, sha256=f"sha-{day}-{rel}", size=0, file_kind=_kind(rel), status="loaded",
                      rows=0, quarantined=0, superseded=None, seq=None) for rel in rel_paths]
    warehouse.append("files", FILES.arrow(rows))


def quarantined(warehouse: Warehouse, day: dt.date, rel_path: str, *, src_pos: int | None = None,
                raw: str | None = None, reason_code: str = "BAD_VALUE") -> None:
    """A quarantine record of a file delivered on ``day``: the whole file (no ``src_pos``) or one record."""
    row = QUARANTINE.Row(business_date=day, src_sha256=f"sha-{day}-{rel_path}", src_path=rel_path, src_pos=src_pos,
                         file_kind=_kind(rel_path), reason_code=reason_code, reason="unreadable", raw=raw)
    warehouse.append("quarantine", QUARANTINE.arrow([row]))


def _kind(rel_path: str) -> str:
    kind = classify(rel_path)
    assert kind is not None, rel_path
    return kind.name
