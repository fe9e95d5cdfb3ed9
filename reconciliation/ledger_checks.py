"""The ledger's checks: every invariant the voucher ledger refused an event or financing for.

The ledger (:mod:`ledger.nightly`) records each refusal in ``ledger_rejections`` with one of
these check ids.  As findings, a refusal implicates the financing it names and every live
financing whose asset is the refused event's voucher or a voucher split from it, whenever
that financing arrives; a refusal that implicates no financing (yet) is still listed, on
its voucher.  All share one query, ``sql/LEDGER.sql``, over ``ledger_implications``.
"""

from __future__ import annotations

from reconciliation.check import EVIDENCE_WINDOW, Category, Check, Severity


def _ledger(check_id: str, severity: Severity, title: str, rule: str, params: dict[str, int | str] | None = None) -> Check:
    return Check(check_id, Category.LEDGER, severity, title, rule, dict(params or {}), query="LEDGER")



_DOWNSTREAM = " Financings on the voucher, or on any voucher split from it, are implicated."

LEDGER_CHECKS: tuple[Check, ...] = (
    _ledger("LEDGER_NOT_HOLDER", Severity.CRITICAL, "Voucher moved by someone who does not hold it",
            "A SPLIT, TRANSFER or FINANCE of a voucher by a company that is not its current holder "
            "(a double spend)." + _DOWNSTREAM),
    _ledger("LEDGER_SPLIT_EXCEEDS", Severity.CRITICAL, "Split creates money",
            "A SPLIT moves more than what the parent voucher has left." + _DOWNSTREAM),
    _ledger("LEDGER_SPLIT_INHERITANCE", Severity.HIGH, "Split child with another issuer or maturity",
            "The child of a SPLIT names another issuer or another maturity date than its parent." + _DOWNSTREAM),
    _ledger("LEDGER_PARTIAL_MOVE", Severity.HIGH, "Transfer or financing of part of a voucher",
            "A TRANSFER or FINANCE whose amount is not what the voucher has left: a part must be split first."
            + _DOWNSTREAM),
    _ledger("LEDGER_MOVE_AFTER_FINAL", Severity.CRITICAL, "Voucher moved after it was financed, settled or cancelled",
            "Any SPLIT, TRANSFER or FINANCE of a voucher already financed, settled or cancelled." + _DOWNSTREAM),
    _ledger("LEDGER_FINANCE_AFTER_MATURITY", Severity.HIGH, "Financing on or after maturity",
            "A FINANCE event dated on or after the voucher's maturity date." + _DOWNSTREAM),
    _ledger("LEDGER_ISSUE_WITHOUT_PAYABLE", Severity.CRITICAL, "Voucher issued without a confirmed payable",
            "An ISSUE whose payable reference (BUKRS-GJAHR-BELNR-BUZEI) did not appear in the issuing core "
            "enterprise's ERP vendor items within evidence_window_days of the night the ISSUE was first "
            "delivered (until then it is pending: LEDGER_EVIDENCE_PENDING)." + _DOWNSTREAM, EVIDENCE_WINDOW),
    _ledger("LEDGER_EVIDENCE_PENDING", Severity.MEDIUM, "Voucher evidence pending",
            "An ISSUE whose payable is not in the issuing core enterprise's ERP vendor items yet (its ERP "
            "export is late, or the core has never delivered one) is kept pending, with everything done on "
            "the voucher and on the vouchers split from it, for evidence_window_days after the night it was "
            "first delivered: the financings on them are in review (\"Evidence pending since D: payable … of "
            "core …\"). The night the payable arrives the voucher is posted and its financings judged on the "
            "rest; once the window has passed it is voided (LEDGER_ISSUE_WITHOUT_PAYABLE)." + _DOWNSTREAM,
            EVIDENCE_WINDOW),
    _ledger("LEDGER_UNKNOWN_VOUCHER", Severity.HIGH, "Event on a voucher never issued",
            "An event acts on a voucher id the ledger has never accepted an ISSUE or SPLIT for." + _DOWNSTREAM),
    _ledger("LEDGER_DUPLICATE_VOUCHER", Severity.CRITICAL, "Voucher id created twice",
            "An ISSUE or SPLIT creates a voucher id that already exists." + _DOWNSTREAM),
    _ledger("LEDGER_EVENT_CONFLICT", Severity.HIGH, "Event re-delivered with other content",
            "An event id already in the ledger arrives again with different content; the first version "
            "stands." + _DOWNSTREAM),
    _ledger("LEDGER_FINANCING_MISMATCH", Severity.HIGH, "Financing disagrees with its FINANCE event",
            "A financing and the FINANCE event naming it disagree on voucher, amount, bank or applicant."),
    _ledger("LEDGER_ASSET_SOLD", Severity.CRITICAL, "Financing of an asset sold with an ABS pool",
            "A new financing whose asset (product and asset reference, or a sub-bill range overlapping one) the "
            "ledger records as sold with an ABS pool (a POOL_SELL entry dated that night or earlier): a sold "
            "asset is never financed again."),
    _ledger("LEDGER_INTEGRITY", Severity.CRITICAL, "Ledger verification failed",
            "The stored ledger no longer verifies: an entry, the tree or a signed checkpoint was altered."),
)
