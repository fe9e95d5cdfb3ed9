"""The trail's line format is permanent: a trail written by an earlier release still verifies
and loads, and a request's fields are recorded as given."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from dispositions.actions import Action, ActionRecord, ReasonCode, Request, to_line
from dispositions.trail import read_trail

# Three lines as the release before the Request/ActionRecord merge wrote them (assign, waive, approve).
EARLIER_RELEASE = (
    '{"action":"assign","after":"2026-11-20","assignee":"王小明","at":"2026-11-21T01:02:03+00:00",'
    '"finding_id":"FND-0123456789abcdef0123","night":"2026-11-20",'
    '"prev":"0000000000000000000000000000000000000000000000000000000000000000","user":"lead"}\n'
    '{"action":"waive","after":"2026-11-20","at":"2026-11-21T01:02:04+00:00","comment":"税务局核实: ok",'
    '"evidence_sha256":"abababababababababababababababababababababababababababababababab",'
    '"finding_id":"FND-0123456789abcdef0123","night":"2026-11-20",'
    '"prev":"28f70983e92f93f17a18e6d08e39b1e42123b4a93823f4e8eacd62ac7aea999f","reason_code":"DOCUMENT_VERIFIED",'
    '"user":"王小明"}\n'
    '{"action":"approve","after":"2026-11-20","at":"2026-11-21T01:02:05+00:00",'
    '"finding_id":"FND-0123456789abcdef0123","night":"2026-11-20",'
    '"prev":"f161258fc4925726b32dc7940b6c70fb6d5b6c4241ce32c2930ca4cbc30ff655","user":"bob"}\n'
)
HEAD = "f9cd2d981b79b39ce3736fba561be0ca7ac6208c8f79448a3344816ba2a44b7b"
NIGHT = dt.date(2026, 11, 20)
FID = "FND-0123456789abcdef0123"


def test_a_trail_of_the_earlier_release_verifies_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "dispositions.jsonl"
    path.write_text(EARLIER_RELEASE, "utf-8")
    trail = read_trail(path)  # checks the chain and that each line is in today's canonical form
    assert trail.heads[-1].hex() == HEAD
    assign, waive, approve = trail.records
    assert assign == ActionRecord(FID, Action.ASSIGN, "lead", assignee="王小明", at="2026-11-21T01:02:03+00:00",
                                  night=NIGHT, after=NIGHT)
    assert (waive.action, waive.user, waive.reason_code, waive.comment, waive.evidence_sha256) == (
        Action.WAIVE, "王小明", ReasonCode.DOCUMENT_VERIFIED, "税务局核实: ok", "ab" * 32)
    assert (approve.action, approve.user, approve.assignee, approve.comment) == (Action.APPROVE, "bob", None, None)
    assert b"".join(to_line(r, h.hex()) + b"\n" for r, h in zip(trail.records, trail.heads, strict=False)) \
        == EARLIER_RELEASE.encode("utf-8")


def test_a_record_keeps_every_field_of_its_request() -> None:
    request = Request(FID, Action.WAIVE, "alice", assignee="bob", reason_code=ReasonCode.TIMING, comment="late")
    record = ActionRecord.of(request, at="2026-11-21T00:00:00+00:00", night=NIGHT, after=NIGHT, evidence_sha256="cd" * 32)
    for field in dataclasses.fields(Request):
        assert getattr(record, field.name) == getattr(request, field.name), field.name
    assert record.evidence_sha256 == "cd" * 32
