"""The catalogue is whole: unique ids, a query and a documented rule for each, docs in sync."""

from __future__ import annotations

import re

from reconciliation.catalogue import CHECKS, catalogue_markdown, default_params
from tests.conftest import REPO


def test_every_check_has_a_query_a_rule_and_defaults_for_what_it_reads():
    ids = [c.check_id for c in CHECKS]
    assert len(ids) == len(set(ids))
    params = default_params()
    for check in CHECKS:
        assert check.title and check.rule.endswith("."), check.check_id
        used = set(re.findall(r"getvariable\('(\w+)'\)", check.sql())) - {"business_date", "check_id"}
        assert used <= set(params), (check.check_id, used - set(params))


def test_checks_md_is_generated_from_the_catalogue():
    assert (REPO / "docs" / "CHECKS.md").read_text("utf-8") == catalogue_markdown(), "run: scf checks --write"
