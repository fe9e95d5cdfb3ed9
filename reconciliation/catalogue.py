"""The check catalogue: every check of the engine, in the order they run.

Three families: the first checks (plain duplicates and invoice status, defined here), the
trade checks of the four-flow match (:mod:`reconciliation.trade_checks`) and the ledger's
invariant checks (:mod:`reconciliation.ledger_checks`).  ``docs/CHECKS.md`` is generated
from this module (``scf checks --write``) and a test keeps the two equal.
"""

from __future__ import annotations

from reconciliation.check import Category, Check, Severity
from reconciliation.ledger_checks import LEDGER_CHECKS
from reconciliation.quality_checks import QUALITY_CHECKS
from reconciliation.trade_checks import TRADE_CHECKS

FIRST_CHECKS: tuple[Check, ...] = (
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
        "DUP_FINANCED_AT_PEER_BANK",
        Category.DUPLICATE,
        Severity.CRITICAL,
        "Asset financed at a peer bank too",
        "A peer bank's exported fingerprints (keyed hashes under the key the banks share, "
        "imported with `scf ledger import-fingerprints`) show that it financed the same "
        "voucher or bill sub-range (critical), or the same invoice for an amount that, with "
        "ours, exceeds the invoice's value plus the tolerance (critical). When our financing "
        "presents several invoices for the same amount, the invoice cannot be named and the "
        "finding asks for review (medium).",
        {"over_value_tolerance_fen": 100},
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

CHECKS: tuple[Check, ...] = FIRST_CHECKS + TRADE_CHECKS + LEDGER_CHECKS + QUALITY_CHECKS
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
