"""The catalogue's SQL names vocabulary values by their enum (``{{Severity.HIGH}}``), never by hand:
the placeholders expand to the values, a wrong one stops the catalogue naming the file, and no
quoted vocabulary value is left in ``reconciliation/sql``."""

from __future__ import annotations

import re
from enum import StrEnum
from importlib import resources
from pathlib import Path

import pytest

from dispositions.actions import Status
from foundation.vocabulary import FinancingStatus, sql_literals
from reconciliation.catalogue import CatalogueError, parse_check_file
from reconciliation.findings import Verdict
from reconciliation.session import sql_script
from reconciliation.vocabulary import SQL_VOCABULARIES

SQL = Path(str(resources.files("reconciliation.sql")))
HEADER = '/* check\nid = "X_CHECK"\nfamily = "first"\ncategory = "duplicate"\nseverity = "high"\ntitle = "T"\nrule = "R."\n*/\n'

#: Every product vocabulary whose values a SQL body could spell by hand.
VOCABULARIES: tuple[type[StrEnum], ...] = (*SQL_VOCABULARIES, Verdict, Status)
#: Quoted words that are a vocabulary's value by coincidence: an evidence key.
NOT_THE_VOCABULARY = {("MATCH_AMBIGUOUS.sql", "ambiguous")}
_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def test_a_placeholder_expands_to_its_members_value():
    assert sql_literals("x = {{Severity.HIGH}} OR s IN ({{FinancingStatus.CANCELLED}})", SQL_VOCABULARIES) == \
        "x = 'high' OR s IN ('CANCELLED')"
    body = parse_check_file("X_CHECK.sql", HEADER + "SELECT {{Severity.CRITICAL}} AS severity\n")[0].sql()
    assert body == "SELECT 'critical' AS severity\n"


@pytest.mark.parametrize(("placeholder", "message"), [
    ("{{Severity.SEVERE}}", "Severity has no member SEVERE"),
    ("{{Gravity.HIGH}}", "no vocabulary Gravity"),
])
def test_a_wrong_placeholder_fails_loudly_naming_the_file(placeholder: str, message: str):
    with pytest.raises(CatalogueError, match="X_CHECK.sql") as raised:
        parse_check_file("X_CHECK.sql", HEADER + f"SELECT {placeholder} AS severity\n")
    assert message in str(raised.value)


def test_no_sql_file_spells_a_vocabulary_value_by_hand():
    assert _QUOTED.findall(_COMMENT.sub("", "x = 'high' /* 'low' */ AND y <> 'it''s' -- 'medium'")) == ["high", "it''s"]
    values = {member.value for vocabulary in VOCABULARIES for member in vocabulary}
    found = [
        f"{path.name}: '{literal}'"
        for path in sorted(SQL.glob("*.sql"))
        for literal in _QUOTED.findall(_COMMENT.sub("", path.read_text("utf-8")))
        if literal in values and (path.name, literal) not in NOT_THE_VOCABULARY
    ]
    assert found == [], "write {{Vocabulary.MEMBER}} (reconciliation.vocabulary) instead"


def test_the_session_scripts_are_read_expanded():
    assert "{{" not in sql_script("_prelude.sql")
    assert f"status <> '{FinancingStatus.CANCELLED.value}'" in sql_script("_prelude.sql")
