"""The check catalogue: every check's id, category, severity, rule and parameters.

A check is a SQL query (``reconciliation/sql/<check_id>.sql``) over the as-of views of
the warehouse (``cur_*``, see :func:`connectors.warehouse.create_asof_views`) and the
shared views of ``sql/_prelude.sql``.  Its rows name what it implicates and explain it:

``financing_id, voucher_id, invoice_no, bill_ref, waybill_no, severity, detail, evidence``

``severity`` may be NULL (the check's default applies) or one of :class:`Severity`, for
checks whose gravity depends on the case.  Parameters are DuckDB variables the query reads
with ``getvariable('name')``; their defaults live here and configuration overrides them.
``docs/CHECKS.md`` is generated from this module (``scf checks --write``) and a test keeps
the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from importlib import resources


class Category(str, Enum):
    """The finding categories of OUTPUTS.md."""

    DUPLICATE = "duplicate"
    FAKE_TRADE = "fake_trade"
    LEDGER = "ledger"
    DATA_QUALITY = "data_quality"


class Severity(str, Enum):
    """Severities, from the gravest; ``high`` and ``critical`` block a financing."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue."""

    check_id: str
    category: Category
    severity: Severity
    title: str
    rule: str
    params: dict[str, int | str] = field(default_factory=dict)

    def sql(self) -> str:
        """The check's query text."""
        return resources.files("reconciliation.sql").joinpath(f"{self.check_id}.sql").read_text("utf-8")


CHECKS: tuple[Check, ...] = (
    Check(
        "DUP_INVOICE_MULTI_FINANCED",
        Category.DUPLICATE,
        Severity.CRITICAL,
        "Invoice financed more than once beyond its value",
        "An invoice presented as trade background by two or more live financings — at any "
        "banks, under any products, on any nights — for more in total than the invoice's "
        "amount (tax included) plus the tolerance. Critical when two banks are involved, "
        "high when all financings are at one bank. Every financing presenting it is implicated.",
        {"over_value_tolerance_fen": 100},
    ),
    Check(
        "INVOICE_FINANCED_BEYOND_VALUE",
        Category.DUPLICATE,
        Severity.HIGH,
        "Invoice presented for more than its value",
        "A single financing presents an invoice for more than the invoice's amount (tax "
        "included) plus the tolerance.",
        {"over_value_tolerance_fen": 100},
    ),
    Check(
        "DUP_VOUCHER_MULTI_FINANCED",
        Category.DUPLICATE,
        Severity.CRITICAL,
        "Voucher financed twice",
        "The same debt voucher is the asset of two or more live financings.",
    ),
    Check(
        "DUP_BILL_RANGE_MULTI_FINANCED",
        Category.DUPLICATE,
        Severity.CRITICAL,
        "Bill sub-range financed twice",
        "Two live financings rest on sub-bill ranges of the same bill package that overlap "
        "(share at least one ¥0.01 unit).",
    ),
    Check(
        "INVOICE_NOT_IN_TAX_DATA",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Invoice unknown to the tax data",
        "A financing presents an invoice number that no tax delivery received so far contains.",
    ),
    Check(
        "INVOICE_RED_FLUSHED",
        Category.FAKE_TRADE,
        Severity.CRITICAL,
        "Invoice red-flushed",
        "A financing presents an invoice that red-letter invoices or the tax status feed show "
        "as red-flushed: fully (critical), or partly so that what remains of it is less than "
        "what live financings present (high). The red-flushed amount is the larger of the "
        "status feed's running total and the sum of the red-letter invoices that reverse it.",
    ),
    Check(
        "INVOICE_STATUS_ABNORMAL",
        Category.FAKE_TRADE,
        Severity.CRITICAL,
        "Invoice out of control, void or abnormal",
        "A financing presents an invoice whose latest tax status is 失控 (out of control) or "
        "作废 (void) — critical — or 异常 (abnormal) — high.",
    ),
)

BY_ID: dict[str, Check] = {c.check_id: c for c in CHECKS}


def default_params() -> dict[str, int | str]:
    """Every parameter of the catalogue with its default value."""
    params: dict[str, int | str] = {}
    for check in CHECKS:
        for name, value in check.params.items():
            if params.setdefault(name, value) != value:
                raise ValueError(f"parameter {name} has two defaults in the catalogue")
    return params


def catalogue_markdown() -> str:
    """The catalogue as a Markdown document (the content of docs/CHECKS.md)."""
    lines = [
        "# Check catalogue",
        "",
        "Generated from `reconciliation/catalogue.py` by `scf checks --write`; a test keeps it equal.",
        "A financing is `blocked` by any `high` or `critical` finding, in `review` with only",
        "`medium` ones, `clean` otherwise.",
        "",
        "| check_id | category | severity | rule | parameters |",
        "|---|---|---|---|---|",
    ]
    for c in CHECKS:
        params = ", ".join(f"`{k}` = {v}" for k, v in c.params.items()) or "—"
        lines.append(f"| `{c.check_id}` | {c.category.value} | {c.severity.value} | **{c.title}.** {c.rule} | {params} |")
    return "\n".join(lines) + "\n"
