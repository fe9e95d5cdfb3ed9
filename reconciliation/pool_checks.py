"""The surveillance checks of ABS pools (``POOL_*``), in the one catalogue.

They run last in the night's catalogue (``sql/POOL.sql`` reads the findings of the checks run
before it), so that a pooled financing that is no longer clean, closed or matured unpaid
gets a finding in ``findings.csv`` through the normal path; ``scf pool survey`` and the
nightly ``pool_surveillance`` step write them per pool (:mod:`pools.surveillance`).  They
are ``low``: the financing's verdict is its own findings' (a pool does not change it); the
finding tells the securitization team to replace the asset.
"""

from __future__ import annotations

from reconciliation.check import Category, Check, Severity


def _pool(check_id: str, title: str, rule: str) -> Check:
    return Check(check_id, Category.LEDGER, Severity.LOW, title,
                 rule + " The pool's surveillance: the financing's verdict is unchanged.", query="POOL")


POOL_CHECKS: tuple[Check, ...] = (
    _pool("POOL_ASSET_NOT_CLEAN", "Pooled asset no longer clean",
          "A financing in an ABS pool active on the night (since its cut-off or replenishment, not released) "
          "has a finding above low from any other check tonight (a red-flushed invoice, a duplicate found at "
          "a peer bank, …): the pool should replace it."),
    _pool("POOL_ASSET_CLOSED", "Pooled asset defaulted or cancelled",
          "A financing in an ABS pool active on the night is DEFAULTED or CANCELLED."),
    _pool("POOL_ASSET_MATURED_UNPAID", "Pooled asset matured unpaid",
          "A financing in an ABS pool active on the night is past its maturity date and still ACTIVE."),
)
