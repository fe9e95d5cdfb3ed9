"""The pool tape (``tape.csv`` + ``tape.parquet``), its data dictionary and ``eligibility.csv``.

:data:`TAPE_COLUMNS` is the one declaration of the tape: the columns of OUTPUTS.md "ABS pool
export", in order, with their Arrow types and meanings; ``data_dictionary.csv`` is written
from it.  Amounts are exact: yuan text with two decimals in the CSV, ``decimal(18,2)`` in
Parquet (never a float).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from foundation.values import format_fen
from pools.candidates import Candidate
from pools.eligibility import Verdict
from reconciliation.reports import spreadsheet_safe
from warehouse.schemas import RATE

AMOUNT = pa.decimal128(18, 2)

TAPE_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("asset_id", pa.string(), "the asset: <product>:<asset_ref> (voucher id, CdNo:start-end, or invoice no)"),
    ("financing_id", pa.string(), "the bank's financing of the asset (platform/financings.csv)"),
    ("originator_uscc", pa.string(), "USCC of the supplier whose receivable was financed (applicant)"),
    ("obligor_uscc", pa.string(), "USCC of the core enterprise that pays at maturity (debtor)"),
    ("obligor_name", pa.string(), "obligor's registered name (reference/parties.csv)"),
    ("industry", pa.string(), "obligor's GB/T 4754-2017 industry code"),
    ("region", pa.string(), "obligor's administrative-division code (USCC positions 3–8)"),
    ("outstanding_amount", AMOUNT, "face amount the obligor owes at maturity, yuan"),
    ("discount_rate", RATE, "annual discount rate of the financing, decimal"),
    ("value_date", pa.date32(), "value date of the financing"),
    ("maturity_date", pa.date32(), "maturity date of the asset"),
    ("remaining_term_days", pa.int32(), "days from the cut-off date to maturity"),
    ("invoice_nos", pa.string(), "trade-background invoices presented, as delivered (no:amount;…)"),
    ("ledger_leaf_index", pa.int64(), "leaf index (seq) of the financing's FINANCING entry in the signed ledger"),
    ("reserve_leaf_index", pa.int64(), "leaf index (seq) of the POOL_RESERVE entry that put the asset in this pool "
                                       "(under the manifest's ledger_reservation checkpoint)"),
)
TAPE_SCHEMA = pa.schema([pa.field(name, dtype) for name, dtype, _ in TAPE_COLUMNS])
ELIGIBILITY_COLUMNS = (
    "financing_id", "asset_id", "obligor_uscc", "outstanding_amount", "eligible", "selected", "failed_rules",
    "reasons",
)  # fmt: skip


def tape_rows(pool: list[Candidate], reserve_leaves: Mapping[str, int]) -> list[dict[str, object]]:
    """One row per asset, in asset-id order (``reserve_leaves``: each asset's POOL_RESERVE seq)."""
    return [
        {
            "asset_id": c.asset_key,
            "financing_id": c.financing_id,
            "originator_uscc": c.originator_uscc,
            "obligor_uscc": c.obligor_uscc,
            "obligor_name": c.obligor_name,
            "industry": c.industry,
            "region": c.region,
            "outstanding_amount": Decimal(c.outstanding_fen).scaleb(-2),
            "discount_rate": c.rate,
            "value_date": c.value_date,
            "maturity_date": c.maturity_date,
            "remaining_term_days": c.remaining_term_days,
            "invoice_nos": c.invoice_nos,
            "ledger_leaf_index": c.ledger_leaf_index,
            "reserve_leaf_index": reserve_leaves[c.asset_key],
        }
        for c in sorted(pool, key=lambda c: c.asset_key)
    ]


def tape_text(value: object) -> str:
    """A CSV field: exact decimals, no float; text a spreadsheet could run as a formula is neutralised."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return spreadsheet_safe(str(value))


def write_tape(folder: Path, pool: list[Candidate], reserve_leaves: Mapping[str, int]) -> None:
    """Write ``tape.csv``, ``tape.parquet`` and ``data_dictionary.csv`` into ``folder``."""
    rows = tape_rows(pool, reserve_leaves)
    with (folder / "tape.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([name for name, _, _ in TAPE_COLUMNS])
        for row in rows:
            writer.writerow([tape_text(row[name]) for name, _, _ in TAPE_COLUMNS])
    pq.write_table(pa.Table.from_pylist(rows, schema=TAPE_SCHEMA), folder / "tape.parquet")
    with (folder / "data_dictionary.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["column", "type", "meaning"])
        for name, dtype, meaning in TAPE_COLUMNS:
            writer.writerow([name, str(dtype), meaning])


def write_eligibility(folder: Path, verdicts: list[Verdict], selected: set[str]) -> None:
    """``eligibility.csv``: every candidate of the cut with every rule it fails."""
    with (folder / "eligibility.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(ELIGIBILITY_COLUMNS)
        for v in verdicts:
            c = v.candidate
            writer.writerow([tape_text(cell) for cell in (
                c.financing_id, c.asset_key, c.obligor_uscc, format_fen(c.outstanding_fen),
                str(v.eligible).lower(), str(c.asset_key in selected).lower(),
                ";".join(code for code, _ in v.failures), "; ".join(why for _, why in v.failures),
            )])


def read_tape_csv(path: Path) -> list[dict[str, str]]:
    """The tape's CSV rows as text."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
