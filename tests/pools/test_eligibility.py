"""Eligibility: each rule in and out, all failures listed, the waterfall; the criteria file."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from foundation.errors import ConfigError
from pools.candidates import Candidate, load_candidates
from pools.criteria import Eligibility, load_criteria, parse_criteria
from pools.eligibility import RULES, assess, waterfall
from tests.factories import financing, invoice

CUTOFF = dt.date(2026, 11, 20)

GOOD = Candidate(
    financing_id="F1", product="VOUCHER", asset_ref="V3f9a1c2b4d5e6f71", asset_key="VOUCHER:V3f9a1c2b4d5e6f71",
    originator_uscc="91320500MA1X000037", obligor_uscc="91440300MA5F00001A", obligor_name="华星",
    industry="C3974", obligor_group="G-HUAXING", rating="AA+", originator_group="G-RUIFENG",
    outstanding_fen=3_000_000, rate=Decimal("0.029800"), value_date=CUTOFF,
    maturity_date=CUTOFF + dt.timedelta(days=120), invoice_nos=None, verdict="clean", open_checks=None,
    asset_ended=None, pooled_in=None, ledger_leaf_index=7, region="440300", cutoff=CUTOFF,
)
RULESET = Eligibility(
    products=frozenset({"VOUCHER", "BILL"}), min_remaining_days=30, max_remaining_days=360,
    min_amount_fen=1_000_000, max_amount_fen=10_000_000, rating_floor="BBB", no_related_party=True,
    excluded_industries=("K70",), legal_final_date=dt.date(2028, 12, 31), no_open_findings=True,
)

# each rule: a candidate that fails it (and only it)
FAILING = {
    "NOT_CLEAN": replace(GOOD, verdict="review"),
    "IN_ACTIVE_POOL": replace(GOOD, pooled_in="POOL-20261119-01"),
    "NO_VALUE_LEFT": replace(GOOD, asset_ended="voucher settle"),
    "NOT_IN_LEDGER": replace(GOOD, ledger_leaf_index=None),
    "INCOMPLETE": replace(GOOD, rate=None),
    "OBLIGOR_UNKNOWN": replace(GOOD, rating=None),
    "OPEN_FINDINGS": replace(GOOD, open_checks="FIRST_X"),
    "PRODUCT": replace(GOOD, product="INVOICE"),
    "REMAINING_TERM": replace(GOOD, maturity_date=CUTOFF + dt.timedelta(days=29)),
    "AMOUNT": replace(GOOD, outstanding_fen=999_999),
    "RATING_FLOOR": replace(GOOD, rating="BBB-"),
    "RELATED_PARTY": replace(GOOD, originator_group="G-HUAXING"),
    "EXCLUDED_INDUSTRY": replace(GOOD, industry="K7010"),
    "LEGAL_FINAL": replace(GOOD, maturity_date=dt.date(2029, 1, 1), cutoff=dt.date(2028, 12, 1)),
}


def test_every_rule_has_a_failing_case() -> None:
    assert set(FAILING) == {r.code for r in RULES}


def test_the_good_candidate_passes_every_rule() -> None:
    (verdict,) = assess([GOOD], RULESET)
    assert verdict.eligible and verdict.failures == ()


@pytest.mark.parametrize("code", sorted(FAILING))
def test_each_rule_out(code: str) -> None:
    (verdict,) = assess([FAILING[code]], RULESET)
    also = ["RATING_FLOOR"] if code == "OBLIGOR_UNKNOWN" else []  # no party row, no rating
    assert [c for c, _ in verdict.failures] == [code, *also]


@pytest.mark.parametrize("code", ["PRODUCT", "REMAINING_TERM", "AMOUNT", "RATING_FLOOR", "RELATED_PARTY",
                                  "EXCLUDED_INDUSTRY", "LEGAL_FINAL", "OPEN_FINDINGS"])
def test_criteria_rules_do_not_apply_when_the_file_does_not_set_them(code: str) -> None:
    (verdict,) = assess([FAILING[code]], Eligibility())
    assert verdict.eligible


def test_boundaries_are_inclusive() -> None:
    edge = replace(GOOD, maturity_date=CUTOFF + dt.timedelta(days=30), outstanding_fen=10_000_000, rating="BBB")
    assert assess([edge], RULESET)[0].eligible


def test_all_failures_are_listed_and_the_waterfall_counts_each_at_its_first() -> None:
    bad = replace(GOOD, financing_id="F2", verdict="blocked", rating="B", product="INVOICE", outstanding_fen=500_000)
    late = replace(GOOD, financing_id="F3", maturity_date=CUTOFF + dt.timedelta(days=400))
    verdicts = assess([GOOD, bad, late], RULESET)
    assert [c for c, _ in verdicts[1].failures] == ["NOT_CLEAN", "PRODUCT", "AMOUNT", "RATING_FLOOR"]
    steps = {s.code: s for s in waterfall(verdicts)}
    assert (steps["NOT_CLEAN"].removed_count, steps["NOT_CLEAN"].removed_fen) == (1, 500_000)
    assert steps["RATING_FLOOR"].removed_count == 0 and steps["RATING_FLOOR"].failing_count == 1
    assert (steps["REMAINING_TERM"].removed_count, steps["REMAINING_TERM"].removed_fen) == (1, 3_000_000)
    last = waterfall(verdicts)[-1]
    assert (last.remaining_count, last.remaining_fen) == (1, 3_000_000)


CRITERIA = """
name = "SCF-ABS 2026-1"
version = "2026-1"
objective = "diversification"
[eligibility]
products = ["VOUCHER"]
remaining_term_days = [30, 360]
amount = ["10000.00", "5000000.00"]
rating_floor = "BBB-"
legal_final_date = 2028-12-31
[limits]
target = "500000000.00"
tolerance = 0.05
single_obligor = 0.15
top_n = 10
top_n_share = "0.5"
min_wa_rate = 0.025
"""


def test_criteria_file_is_parsed_exactly_and_hashed(tmp_path: Path) -> None:
    path = tmp_path / "criteria.toml"
    path.write_text(CRITERIA, "utf-8")
    criteria = load_criteria(path)
    assert criteria.version == "2026-1" and criteria.objective == "diversification"
    assert criteria.limits.target_fen == 50_000_000_000
    assert criteria.limits.single_obligor == Fraction(15, 100) and criteria.limits.top_n_share == Fraction(1, 2)
    assert criteria.eligibility.min_amount_fen == 1_000_000
    assert criteria.eligibility.legal_final_date == dt.date(2028, 12, 31)
    assert criteria.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert criteria.summary()["limits"]["single_obligor"] == "0.15"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"limits": {"target": 5e8}}, "limits.target"),
        ({"limits": {"target": "1.00", "single_obligor": 1.5}}, "limits.single_obligor"),
        ({"limits": {"target": "1.00", "top_n": 5}}, "limits.top_n"),
        ({"limits": {"target": "1.00", "singel_obligor": 0.1}}, "limits.singel_obligor"),
        ({"limits": {"target": "1.00"}, "eligibility": {"rating_floor": "A++"}}, "eligibility.rating_floor"),
        ({"limits": {"target": "1.00"}, "eligibility": {"remaining_term_days": [360, 30]}},
         "eligibility.remaining_term_days"),
        ({"limits": {"target": "1.00"}, "objective": "max_profit"}, "objective"),
        ({"limits": {"target": "1.00"}}, "version"),
    ],
)
def test_bad_criteria_name_the_key(change: dict, named: str) -> None:
    doc = {"version": "1", **change} if named != "version" else change
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        parse_criteria(doc, "0" * 64)


def test_a_candidates_region_is_the_checks_uscc_region(wh) -> None:  # noqa: ANN001
    """Positions 3–8 of a well-formed USCC, by the one rule the trade checks use (uscc_region)."""
    invoice(wh, CUTOFF, "26320000000000000001", 100_000_00)
    financing(wh, CUTOFF, "F1", "INVOICE", invoices={"26320000000000000001": 50_000_00})
    financing(wh, CUTOFF, "F2", "INVOICE", invoices={"26320000000000000001": 40_000_00})
    wh.con.execute("UPDATE financings SET debtor_uscc = '914403OOMA5F00001A' WHERE financing_id = 'F2'")
    found = {c.financing_id: (c.region, c.province)
             for c in load_candidates(wh.con, bank_code="313521000011", cutoff=CUTOFF, tree_size=2**62)}
    assert found == {"F1": ("440300", "44"), "F2": (None, None)}  # 18 characters, not a USCC: no region
