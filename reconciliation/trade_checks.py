"""The trade checks: the fraud that hides in the joins between the four flows.

Each check is a SQL file ``reconciliation/sql/<check_id>.sql`` like the first checks; it
reads the night's four-flow match (``night_trade_matches`` and the candidate tables ``mt_*``
of :mod:`reconciliation.matching`) and the shared views of ``sql/_prelude_trade.sql``.  The
match is built once per night by :func:`reconciliation.matching.prepare_trade_matches`,
which must run after ``_prelude.sql`` and before these checks.

Parameters shared by several checks are defined once here (``default_params`` refuses two
defaults for one name).
"""

from __future__ import annotations

from reconciliation.check import EVIDENCE_WINDOW, PENDING_RULE, REQUIRED_SOURCES, Category, Check, Severity

# ---- parameters, one default per name ---------------------------------------------------
AMOUNT_TOLERANCE: dict[str, int | str] = {"amount_tolerance_fen": 100, "amount_tolerance_ratio_ppm": 1000}
QUANTITY_TOLERANCE: dict[str, int | str] = {"quantity_tolerance_ppm": 1000}
DATE_WINDOW: dict[str, int | str] = {"date_window_days": 30}
#: Everything the four-flow match reads.
MATCH: dict[str, int | str] = {**AMOUNT_TOLERANCE, **QUANTITY_TOLERANCE, **DATE_WINDOW}
WAYBILL_MATCH: dict[str, int | str] = {**QUANTITY_TOLERANCE, **DATE_WINDOW}

_MATCH_NOTE = (
    " Waybills are those of the four-flow match: the ones citing the trade's order number, "
    "or, without one, the seller's shipments to the buyer within the date window whose "
    "quantity agrees with the invoice."
)

TRADE_CHECKS: tuple[Check, ...] = (
    Check(
        "TRADE_NO_PAYABLE",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Tier-1 invoice without a confirmed payable",
        "An invoice whose buyer is a core enterprise (it delivers ERP files, or issues vouchers on the "
        "platform) is presented by a "
        "financing, but no vendor item of that core's ERP cites the invoice number in its text "
        "(SGTXT) — or the items citing it (credits less debits) confirm less than live "
        "financings present of the invoice, beyond the amount tolerance. Deeper-tier invoices, "
        "which have no ERP, are not concerned." + PENDING_RULE,
        {**AMOUNT_TOLERANCE, **EVIDENCE_WINDOW},
    ),
    Check(
        "TRADE_NO_WAYBILL",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "No waybill for the trade",
        "No waybill received so far backs an invoice presented by a financing: none cites the "
        "trade's order number (stated in the invoice's remark or by the payable, or the matched "
        "purchase order) or is named by its goods receipts; without an order number, no "
        "shipment from the seller to the buyer consigned within the date window of the issue "
        "carries the invoice's quantity. When several shipments qualify the case goes to "
        "MATCH_AMBIGUOUS instead. No waybill names its carrier before it arrives: every carrier that "
        "delivered within evidence_window_days before the financing's first night, and every carrier "
        "dq_required_sources names (from the first night), is awaited, each on its own." + PENDING_RULE,
        {**WAYBILL_MATCH, **EVIDENCE_WINDOW, **REQUIRED_SOURCES},
    ),
    Check(
        "TRADE_WAYBILL_NOT_RECEIVED",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Goods never signed for",
        "A waybill behind the invoice is not signed for (status other than 3 签收, or no receipt "
        "time) as of the night, and the waybills that are signed for carry less than the "
        "invoice's quantity (beyond the quantity tolerance)." + _MATCH_NOTE + " The source awaited is "
        "the carrier holding the unsigned waybill: its next delivery may sign it." + PENDING_RULE,
        {**WAYBILL_MATCH, **EVIDENCE_WINDOW},
    ),
    Check(
        "TRADE_WAYBILL_REJECTED",
        Category.FAKE_TRADE,
        Severity.CRITICAL,
        "Goods rejected by the consignee",
        "A waybill behind the invoice has status 4 (退签/拒收, rejected) and the waybills not "
        "rejected carry less than the invoice's quantity (beyond the quantity tolerance)." + _MATCH_NOTE,
        {**WAYBILL_MATCH},
    ),
    Check(
        "TRADE_WAYBILL_QTY_MISMATCH",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Waybill inconsistent with the invoice",
        "A waybill behind the invoice was delivered to someone other than the invoice's buyer; "
        "or the waybills behind the invoice, backing no other financed invoice, carried a total "
        "quantity that differs from the invoice's quantity beyond the quantity tolerance (one "
        "order delivered by several waybills counts as their sum)." + _MATCH_NOTE,
        {**WAYBILL_MATCH},
    ),
    Check(
        "TRADE_WAYBILL_OVERUSED",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Waybill backs more than it carried",
        "The financed invoices drawing on a waybill claim together (net of red-letter "
        "reversals) more quantity than the waybills they draw on carried, beyond the quantity "
        "tolerance. Every financing presenting one of those invoices is implicated." + _MATCH_NOTE,
        {**WAYBILL_MATCH},
    ),
    Check(
        "TRADE_TIMELINE_BROKEN",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Trade timeline broken",
        "The trade's documents are out of order: the invoice was issued before the purchase "
        "order it cites (tier 1); the goods receipts (tier 1) or the signed waybills received "
        "by the financing's value date cover less than the invoice's quantity, the rest being "
        "received after it; or a waybill citing the order was consigned before the order date.",
        {**MATCH},
    ),
    Check(
        "TRADE_PARTY_MISMATCH",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Invoice parties are not the financing's",
        "The invoice's seller and buyer are not the receiver and giver of the voucher step "
        "(ISSUE or TRANSFER of the financed voucher or of a voucher it was split from) that "
        "presents it — seller = to, buyer = from — or the financing's applicant is not the "
        "invoice's seller.",
    ),
    Check(
        "TRADE_INVALID_USCC",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Invalid USCC on a trade document",
        "A USCC on a document behind a financing — the invoice's seller or buyer, the matched "
        "waybill's consignor, consignee or carrier, the financed bill's drawer, acceptor or "
        "payee — is not a valid GB 32100 code (18 characters, 8 digits then the code alphabet, "
        "and the check character of the first 17).",
    ),
    Check(
        "TRADE_CIRCULAR",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Circular trade",
        "An invoice behind a financing belongs to a cycle of invoices among companies — A sells "
        "to B, B to C, …, back to A, at most circular_max_length steps, a reversed pair A→B and "
        "B→A included — all issued within circular_window_days of one another.",
        {"circular_window_days": 90, "circular_max_length": 4},
    ),
    Check(
        "TRADE_TOTALS_INCONSISTENT",
        Category.FAKE_TRADE,
        Severity.HIGH,
        "Invoice totals do not add up",
        "An invoice behind a financing breaks the 数电票 arithmetic: total ≠ amount without "
        "tax + tax; or the header amount or tax ≠ the sum of its lines; or a line's tax differs "
        "from amount × rate by more than line_tax_tolerance_fen.",
        {"line_tax_tolerance_fen": 6},
    ),
    Check(
        "DUP_INVOICE_REISSUED",
        Category.DUPLICATE,
        Severity.CRITICAL,
        "Invoice re-issued under a new number",
        "Two invoices, both presented by live financings, have the same seller and buyer, totals "
        "within the amount tolerance and issue dates within reissue_window_days, and neither is "
        "void or red-flushed: the same sale invoiced twice. Candidates are found by blocking on "
        "(seller, buyer, amount bucket) and scored: total equal 3 (else 2), same issue day 2 "
        "(else 1), same quantity 1, same remark 1, same purchase order or waybill 2; they "
        "score −10 when the trade evidence tells two sales apart (different purchase orders or "
        "stated orders, different waybills, each its own payable, or enough shipments for "
        "both). A pair scoring at least reissue_min_score is reported.",
        {**AMOUNT_TOLERANCE, "reissue_window_days": 15, "reissue_min_score": 3},
    ),
    Check(
        "MATCH_AMBIGUOUS",
        Category.DATA_QUALITY,
        Severity.MEDIUM,
        "Trade documents match ambiguously",
        "The four-flow match could not tell which document belongs to the trade: more than one "
        "purchase order qualifies (no order stated; same vendor, amount within tolerance, dated "
        "within the window before the invoice), more than one shipment qualifies (no order "
        "stated; seller to buyer, quantity agreeing, within the window), or voucher steps of "
        "different parties present the invoice. The candidates are listed; none is picked.",
        {**MATCH},
    ),
)


def trade_default_params() -> dict[str, int | str]:
    """Every parameter of the trade checks with its default value (shared names agree: a test
    runs the catalogue's ``default_params`` over them)."""
    return {name: value for check in TRADE_CHECKS for name, value in check.params.items()}
