"""Score the engine's findings against a simulation's planted truth (``labels.csv``).

Used by ``scf demo`` to show what a bank cares about — every planted fraud caught, no clean
financing blocked — and by the recall test, which asserts both.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ledger.invariants import EVIDENCE_PENDING, ISSUE_WITHOUT_PAYABLE
from reconciliation.findings import Verdict

# An anomaly the ledger can prove only once the evidence window has passed is held, until
# then, by the pending notice (the financing is in review, never clean).
HELD_BY = {ISSUE_WITHOUT_PAYABLE: EVIDENCE_PENDING}


@dataclass
class Score:
    """How the findings compare with the labels."""

    planted: int = 0
    missed: list[dict[str, str]] = field(default_factory=list)  # anomalies not found (or held) by their night
    lookalikes: int = 0
    lookalikes_blocked: dict[str, str] = field(default_factory=dict)  # financing → check ids
    unlabelled_blocked: dict[str, str] = field(default_factory=dict)  # financing → check ids
    unknown_kinds: set[str] = field(default_factory=set)  # planted kinds no check of the catalogue has

    @property
    def found(self) -> int:
        """Planted anomalies found on their financing (or voucher) by their night."""
        return self.planted - len(self.missed)


def read_labels(path: Path) -> list[dict[str, str]]:
    """The rows of a simulator's ``labels.csv``."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def score(con: duckdb.DuckDBPyConnection, labels: list[dict[str, str]], check_ids: set[str]) -> Score:
    """Compare the warehouse's findings and verdicts (all nights) with the labels."""
    result = Score()
    found = {
        (day, check_id, financing_id or "", voucher_id or "")
        for day, check_id, financing_id, voucher_id in con.execute(
            "SELECT business_date, check_id, financing_id, voucher_id FROM findings"
        ).fetchall()
    }
    found_on_financing = {(d, c, f) for d, c, f, _ in found}
    found_on_voucher = {(d, c, v) for d, c, _, v in found}
    for label in labels:
        if label["label"] != "anomaly":
            continue
        if label["check_id"] not in check_ids:
            result.unknown_kinds.add(label["check_id"])
            continue
        result.planted += 1
        night = dt.date.fromisoformat(label["business_date"])
        on = found_on_financing if label["financing_id"] else found_on_voucher
        subject = label["financing_id"] or label["voucher_id"]
        if not any((night, check_id, subject) in on for check_id in (label["check_id"], HELD_BY.get(label["check_id"]))):
            result.missed.append(label)
    blocked = {
        financing_id: check_ids_text
        for financing_id, check_ids_text in con.execute(
            "SELECT financing_id, string_agg(DISTINCT check_ids, ' | ') FROM financing_verdicts "
            "WHERE verdict = ? GROUP BY financing_id", [Verdict.BLOCKED.value]
        ).fetchall()
    }
    lookalikes = {lab["financing_id"] for lab in labels if lab["label"] == "lookalike" and lab["financing_id"]}
    anomalous = {lab["financing_id"] for lab in labels if lab["label"] == "anomaly"}
    result.lookalikes = len(lookalikes)
    result.lookalikes_blocked = {f: v for f, v in blocked.items() if f in lookalikes}
    result.unlabelled_blocked = {f: v for f, v in blocked.items() if f not in anomalous}
    return result
