"""Eligibility: every candidate tested against every rule, and the waterfall.

The first rules always apply (a pool holds only clean, unpooled assets with value left
that the ledger vouches for); the others come from the criteria file and apply when it
sets them.  A candidate's result lists **all** the rules it fails.  The waterfall takes the
rules in this order and counts each candidate under the first rule it fails, the way a cut
is shown to rating agencies (count and amount removed per rule, what remains).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.parsers.reference import RATINGS
from pools.candidates import Candidate
from pools.criteria import Eligibility
from reconciliation.findings import Verdict as FinancingVerdict

Test = Callable[[Candidate, Eligibility], str | None]  # the reason it fails, or None


@dataclass(frozen=True)
class Rule:
    """One eligibility rule: its code (in eligibility.csv), what it demands, its test."""

    code: str
    description: str
    test: Test


def _clean(c: Candidate, e: Eligibility) -> str | None:
    return None if c.verdict == FinancingVerdict.CLEAN else f"latest verdict is {c.verdict or 'missing'}"


def _unpooled(c: Candidate, e: Eligibility) -> str | None:
    if c.pooled_in is None:
        return None
    return c.pooled_in if c.pooled_in.startswith("sold") else f"in active pool {c.pooled_in}"


def _has_value(c: Candidate, e: Eligibility) -> str | None:
    return c.asset_ended


def _ledger(c: Candidate, e: Eligibility) -> str | None:
    return None if c.ledger_leaf_index is not None else "no FINANCING entry in the signed ledger"


def _complete(c: Candidate, e: Eligibility) -> str | None:
    missing = [name for name, value in (("rate", c.rate), ("value_date", c.value_date),
                                        ("maturity_date", c.maturity_date)) if value is None]
    return f"no {', '.join(missing)}" if missing else None


def _party(c: Candidate, e: Eligibility) -> str | None:
    return None if c.rating is not None else f"obligor {c.obligor_uscc} not in reference/parties.csv"


def _findings(c: Candidate, e: Eligibility) -> str | None:
    return f"open findings: {c.open_checks}" if e.no_open_findings and c.open_checks else None


def _product(c: Candidate, e: Eligibility) -> str | None:
    return None if e.products is None or c.product in e.products else f"product {c.product} not allowed"


def _term(c: Candidate, e: Eligibility) -> str | None:
    days = c.remaining_term_days
    if e.min_remaining_days is None and e.max_remaining_days is None:
        return None
    if days is None:
        return "no maturity date"
    low = e.min_remaining_days if e.min_remaining_days is not None else days
    high = e.max_remaining_days if e.max_remaining_days is not None else days
    return None if low <= days <= high else f"remaining term {days} days outside {low}–{high}"


def _amount(c: Candidate, e: Eligibility) -> str | None:
    low = e.min_amount_fen if e.min_amount_fen is not None else c.outstanding_fen
    high = e.max_amount_fen if e.max_amount_fen is not None else c.outstanding_fen
    return None if low <= c.outstanding_fen <= high else "amount outside the bounds"


def _rating(c: Candidate, e: Eligibility) -> str | None:
    if e.rating_floor is None:
        return None
    if c.rating is None or RATINGS.index(c.rating) > RATINGS.index(e.rating_floor):
        return f"rating {c.rating or 'unknown'} below {e.rating_floor}"
    return None


def _related(c: Candidate, e: Eligibility) -> str | None:
    if not e.no_related_party:
        return None
    if c.obligor_group is not None and c.obligor_group == c.originator_group:
        return f"originator and obligor in group {c.obligor_group}"
    return None


def _industry(c: Candidate, e: Eligibility) -> str | None:
    hit = next((p for p in e.excluded_industries if c.industry and c.industry.startswith(p)), None)
    return None if hit is None else f"industry {c.industry} excluded ({hit})"


def _legal_final(c: Candidate, e: Eligibility) -> str | None:
    if e.legal_final_date is None:
        return None
    if c.maturity_date is None or c.maturity_date > e.legal_final_date:
        return f"matures after the legal final date {e.legal_final_date}"
    return None


RULES: tuple[Rule, ...] = (
    Rule("NOT_CLEAN", "latest verdict is clean", _clean),
    Rule("IN_ACTIVE_POOL", "not in another active pool, never sold with one", _unpooled),
    Rule("NO_VALUE_LEFT", "asset not settled, cancelled, red-flushed or ended", _has_value),
    Rule("NOT_IN_LEDGER", "financing recorded in the signed ledger", _ledger),
    Rule("INCOMPLETE", "rate, value date and maturity date present", _complete),
    Rule("OBLIGOR_UNKNOWN", "obligor in the party master", _party),
    Rule("OPEN_FINDINGS", "no open finding of any severity", _findings),
    Rule("PRODUCT", "product allowed", _product),
    Rule("REMAINING_TERM", "remaining term within bounds", _term),
    Rule("AMOUNT", "amount within bounds", _amount),
    Rule("RATING_FLOOR", "obligor rating at or above the floor", _rating),
    Rule("RELATED_PARTY", "originator and obligor not related", _related),
    Rule("EXCLUDED_INDUSTRY", "obligor industry not excluded", _industry),
    Rule("LEGAL_FINAL", "maturity not after the legal final date", _legal_final),
)


@dataclass(frozen=True)
class Verdict:
    """A candidate's eligibility: the rules it fails (code, reason), all of them."""

    candidate: Candidate
    failures: tuple[tuple[str, str], ...]

    @property
    def eligible(self) -> bool:
        """True when no rule fails."""
        return not self.failures


@dataclass(frozen=True)
class WaterfallStep:
    """One line of the waterfall: removed by this rule (first failing), and what remains."""

    code: str
    description: str
    removed_count: int
    removed_fen: int
    failing_count: int  # every candidate failing it, first or not
    remaining_count: int
    remaining_fen: int


def assess(candidates: list[Candidate], eligibility: Eligibility) -> list[Verdict]:
    """Test every candidate against every rule."""
    out = []
    for c in candidates:
        failures = tuple((r.code, why) for r in RULES if (why := r.test(c, eligibility)) is not None)
        out.append(Verdict(c, failures))
    return out


def waterfall(verdicts: list[Verdict]) -> list[WaterfallStep]:
    """The eligibility waterfall: rules in order, each candidate counted at its first failure."""
    remaining_count = len(verdicts)
    remaining_fen = sum(v.candidate.outstanding_fen for v in verdicts)
    steps = []
    for rule in RULES:
        first = [v for v in verdicts if v.failures and v.failures[0][0] == rule.code]
        failing = sum(1 for v in verdicts if any(code == rule.code for code, _ in v.failures))
        removed_fen = sum(v.candidate.outstanding_fen for v in first)
        remaining_count -= len(first)
        remaining_fen -= removed_fen
        steps.append(WaterfallStep(rule.code, rule.description, len(first), removed_fen, failing,
                                   remaining_count, remaining_fen))
    return steps
