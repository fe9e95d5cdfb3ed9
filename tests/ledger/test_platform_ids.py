"""platform/ files take their identifiers through the one identifier rule (issue 9 §4):
event ids, USCCs, ``ap_ref``, voucher and financing ids are normalised (full-width
characters, stray spaces at the ends) or refused (inner whitespace, control characters)
exactly as every other file's identifiers are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.connectors.test_hostile import _full_width
from tests.connectors.test_parsers import SAMPLES, parse_bytes

EVENTS, FINANCINGS = "platform/voucher_events.csv", "platform/financings.csv"


def _rows(rel: str) -> tuple[list[str], list[dict[str, str]]]:
    text = (SAMPLES / rel).read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def _file(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _table(sink, table: str) -> list[dict]:
    """A parsed table without the file hash (the bytes differ, the rows must not)."""
    return [{k: v for k, v in row.items() if k != "src_sha256"} for row in sink.table(table)]


def _disguise(value: str) -> str:
    """The value as a careless export writes it: full-width digits and capitals, an
    ideographic space before, a tab after."""
    return "\u3000" + _full_width(value) + "\t"


EVENT_IDS = ("event_id", "issuer_uscc", "from_uscc", "to_uscc", "ap_ref", "voucher_id")
FINANCING_IDS = ("financing_id", "applicant_uscc", "debtor_uscc", "bank_code")


@pytest.mark.parametrize("column", EVENT_IDS)
def test_a_disguised_identifier_in_voucher_events_is_normalised(tmp_path: Path, column: str) -> None:
    header, rows = _rows(EVENTS)
    clean = _table(parse_bytes(tmp_path / "clean", EVENTS, _file(header, rows)), "voucher_events")
    rows[0][column] = _disguise(rows[0][column]).replace("ｆ", "f").replace("ａ", "a")
    sink = parse_bytes(tmp_path / "wide", EVENTS, _file(header, rows))
    assert not sink.quarantined
    assert _table(sink, "voucher_events") == clean


@pytest.mark.parametrize("column", FINANCING_IDS)
def test_a_disguised_identifier_in_financings_is_normalised(tmp_path: Path, column: str) -> None:
    header, rows = _rows(FINANCINGS)
    clean = _table(parse_bytes(tmp_path / "clean", FINANCINGS, _file(header, rows)), "financings")
    rows[0][column] = _disguise(rows[0][column])
    sink = parse_bytes(tmp_path / "wide", FINANCINGS, _file(header, rows))
    assert not sink.quarantined
    assert _table(sink, "financings") == clean


@pytest.mark.parametrize(("rel", "column"), [*((EVENTS, c) for c in EVENT_IDS), *((FINANCINGS, c) for c in FINANCING_IDS)])
@pytest.mark.parametrize("inner", [" ", "\u3000", "\u200b", "\x01"])
def test_an_identifier_with_inner_whitespace_or_control_is_refused(tmp_path: Path, rel: str, column: str,
                                                                   inner: str) -> None:
    header, rows = _rows(rel)
    value = rows[0][column]
    rows[0][column] = value[:4] + inner + value[4:]
    sink = parse_bytes(tmp_path, rel, _file(header, rows))
    [(pos, code, reason, _)] = sink.quarantined
    assert pos == 2 and code in ("BAD_ID", "BAD_VALUE") and column in reason
    assert len(sink.table("voucher_events" if rel == EVENTS else "financings")) == len(rows) - 1
