"""The check catalogue: every check of the engine, in the order they run.

Four families: the first checks (plain duplicates, invoice status, the bill exchange's record,
paid receivables and the financing's timeline, defined here), the trade checks of the four-flow
match (:mod:`reconciliation.trade_checks`), the ledger's invariant checks
(:mod:`reconciliation.ledger_checks`) and the data-quality checks of the financings themselves
(``DQ_*``, defined here).  ``docs/CHECKS.md`` is generated
from this module (``scf checks --write``) and a test keeps the two equal.
"""

from __future__ import annotations

from reconciliation.check import EVIDENCE_WINDOW, PENDING_RULE, Category, Check, Severity
from reconciliation.ledger_checks import LEDGER_CHECKS
from reconciliation.pool_checks import POOL_CHECKS
from reconciliation.quality_checks import SOURCE_CHECKS
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
        "A financing presents an invoice number that no tax delivery received so far contains."
        + PENDING_RULE,
        {**EVIDENCE_WINDOW},
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
    Check(
        "BILL_EXCHANGE_CONFLICT",
        Category.DUPLICATE,
        Severity.CRITICAL,
        "Bill range not free at the exchange",
        "A bill financing whose range overlaps a range the bill exchange's record shows discounted "
        "by another bank (critical), or by the same bank in another of its financings (a financing "
        "of that bank on the bill valued on the exchange's discount date; critical), pledged "
        "(Collztn or CircSts TF0304; critical), locked (TF0302), in recourse (TF0402) or — for an "
        "active financing — ended (TF0501, CdSts CS05 or CS06) (high). A range the exchange shows "
        "discounted by the financing's own bank on its value date is its own discount.",
    ),
    Check(
        "RECEIVABLE_ALREADY_PAID",
        Category.FAKE_TRADE,
        Severity.CRITICAL,
        "Receivable already paid",
        "The core's ERP shows the payable behind a financing cleared (AUGDT/AUGBL) on or before the "
        "financing's value date: the payable of the ISSUE of the financed voucher (or of a voucher it "
        "was split from), or, for an invoice factoring, every payable citing the presented invoice. "
        "A voucher issued on a payable already cleared is listed on the voucher too. Bill discounts "
        "are not concerned: a core paying by bill clears the payable with the bill.",
    ),
    Check(
        "FINANCING_BEFORE_INVOICE",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Financing valued before its invoice",
        "A financing's value date is before the issue date of an invoice it presents: money was "
        "advanced on a sale not yet invoiced. Found whenever the financing row arrives, also on a "
        "later night than its value date.",
    ),
)

QUALITY_CHECKS: tuple[Check, ...] = (
    Check(
        "DQ_FINANCING_ROW_UNREADABLE",
        Category.DATA_QUALITY,
        Severity.MEDIUM,
        "Financing row unreadable",
        "A financings.csv row failed parsing (it is quarantined) and no later readable row of the "
        "same financing replaces it: the financing it names (when its id can be read) is held for "
        "review every night, and still counts against the voucher or bill range it names for the "
        "duplicate checks. Rows whose financing cannot be named are reported on the night they "
        "arrive, one finding per file.",
    ),
    Check(
        "DQ_FINANCING_AMOUNT_IMPLAUSIBLE",
        Category.DATA_QUALITY,
        Severity.MEDIUM,
        "Financing amount implausible",
        "A financing's face or financed amount is zero or negative, above "
        "financing_amount_ceiling_fen, or more is financed than the face value: it is never clean.",
        {"financing_amount_ceiling_fen": 100_000_000_000},
    ),
)

# POOL_CHECKS last: they read the findings of every check before them
CHECKS: tuple[Check, ...] = FIRST_CHECKS + TRADE_CHECKS + LEDGER_CHECKS + QUALITY_CHECKS + SOURCE_CHECKS + POOL_CHECKS
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
        "`medium` ones, `clean` otherwise; a financing no longer live (`REPAID`, `DEFAULTED`,",
        "`CANCELLED`) is `closed` whatever its findings. A finding whose evidence is only pending",
        "(\"Evidence pending since …\") is `medium` and in the category `data_quality`, whatever its check.",
        "",
        "| check_id | category | severity | rule | parameters |",
        "|---|---|---|---|---|",
    ]
    for c in CHECKS:
        params = ", ".join(f"`{k}` = {v}" for k, v in c.params.items()) or "—"
        lines.append(f"| `{c.check_id}` | {c.category.value} | {c.severity.value} | **{c.title}.** {c.rule} | {params} |")
    return "\n".join(lines) + "\n"
