"""What a clerk can do to a finding, and the record of one action in the trail.

A waiver is maker–checker: a ``waive`` by one user takes effect only once a *different*
user ``approve``s it; a ``reject`` sends the finding back to open.  An action recorded while
night N was the latest night run takes effect from the next night on (``after`` = N), so a
re-run of a night already reported reproduces it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from enum import Enum, StrEnum

from foundation.errors import ScfError


class Action(StrEnum):
    """The actions of the worklist (values are permanent: they are in the trail)."""

    ACKNOWLEDGE = "acknowledge"  # seen, being worked on
    ASSIGN = "assign"  # given to a named user (``assignee``)
    WAIVE = "waive"  # a false positive: needs ``reason_code`` and ``comment``, and a second user's approval
    APPROVE = "approve"  # the checker accepts the pending waiver: the finding no longer counts in the verdict
    REJECT = "reject"  # the checker refuses the pending waiver: the finding is open again
    CONFIRM = "confirm"  # confirmed (escalated): a real problem, never waived by a later approval


class ReasonCode(StrEnum):
    """Why a finding is waived as a false positive (values are permanent: they are in the trail)."""

    DOCUMENT_VERIFIED = "DOCUMENT_VERIFIED"  # the document was checked at its source (tax bureau, carrier, core)
    TIMING = "TIMING"  # a delivery-timing artefact, the evidence is complete now
    DATA_ERROR = "DATA_ERROR"  # a data error at the source, corrected with the counterparty
    KNOWN_RELATIONSHIP = "KNOWN_RELATIONSHIP"  # an approved related-party or programme arrangement
    OTHER = "OTHER"  # explained in the comment


class Status(StrEnum):
    """Where a finding stands in the worklist on a night."""

    NEW = "new"  # first seen tonight, nobody has acted
    OPEN = "open"  # seen before, nobody has acted (or a waiver was rejected)
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    WAIVER_PENDING = "waiver_pending"  # waived, waiting for a second user's approval: still counts
    WAIVED = "waived"  # approved waiver, evidence unchanged: no longer counts in the verdict
    REOPENED = "reopened"  # an approved waiver whose evidence has changed since: counts again
    CONFIRMED = "confirmed"


#: Statuses that need a clerk's action (the page's first screen).
NEEDS_ACTION: tuple[Status, ...] = (Status.NEW, Status.OPEN, Status.REOPENED, Status.WAIVER_PENDING)

_USER = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")
MAX_COMMENT = 2000


class DispositionError(ScfError):
    """An action that cannot be recorded (unknown finding, missing reason, maker approving …)."""


def check_user(user: str) -> str:
    """A user name: 1–64 characters, no spaces or control characters."""
    if not _USER.fullmatch(user or ""):
        raise DispositionError(f"user name {user!r}: give 1-64 characters without spaces")
    return user


@dataclass(frozen=True)
class Request:
    """One action a user asks for: the fields a clerk gives (CLI, workbook)."""

    finding_id: str
    action: Action
    user: str
    assignee: str | None = None
    reason_code: ReasonCode | None = None
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class ActionRecord(Request):
    """One line of the trail (without its chain hash): a request as recorded."""

    at: str  # UTC time of recording, ISO 8601 (shown, never used to decide)
    night: dt.date  # the night whose report the clerk acted on (the evidence hash is of that night)
    after: dt.date  # the latest night run when recorded: the action counts from the next night on
    evidence_sha256: str | None = None  # fingerprint of the finding's evidence on ``night`` (waive)

    def __post_init__(self) -> None:
        check_user(self.user)
        if self.action is Action.ASSIGN:
            check_user(self.assignee or "")
        if self.action is Action.WAIVE and (self.reason_code is None or not (self.comment or "").strip()):
            raise DispositionError(f"waiving {self.finding_id} needs a reason code "
                                   f"({', '.join(r.value for r in ReasonCode)}) and a comment")
        if self.comment is not None and (len(self.comment) > MAX_COMMENT
                                         or any(ord(c) < 32 and c not in "\n\t" for c in self.comment)):
            raise DispositionError(f"comment on {self.finding_id}: at most {MAX_COMMENT} characters, no control characters")

    @classmethod
    def of(cls, request: Request, *, at: str, night: dt.date, after: dt.date, evidence_sha256: str | None) -> ActionRecord:
        """``request`` as recorded at ``at`` on ``night`` (``after``: the latest night run)."""
        asked = {f.name: getattr(request, f.name) for f in dataclass_fields(Request)}
        return cls(**asked, at=at, night=night, after=after, evidence_sha256=evidence_sha256)

    def fields(self) -> dict[str, object]:
        """The record as JSON values (dates ISO, enums by value, empty fields left out)."""
        record = {k: (v.value if isinstance(v, Enum) else v.isoformat() if isinstance(v, dt.date) else v)
                  for k, v in asdict(self).items()}
        return {k: v for k, v in record.items() if v is not None}

    @classmethod
    def from_fields(cls, record: dict[str, object]) -> ActionRecord:
        """Read back :meth:`fields` (raises ``ValueError``/``KeyError``/``TypeError`` on a bad record)."""
        def text(key: str) -> str | None:
            value = record.get(key)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{key} is not text")
            return value

        return cls(
            at=str(text("at")), night=dt.date.fromisoformat(str(text("night"))),
            after=dt.date.fromisoformat(str(text("after"))), finding_id=str(text("finding_id")),
            action=Action(str(text("action"))), user=str(text("user")), assignee=text("assignee"),
            reason_code=ReasonCode(str(text("reason_code"))) if record.get("reason_code") else None,
            comment=text("comment"), evidence_sha256=text("evidence_sha256"),
        )


def to_line(record: ActionRecord, prev: str) -> bytes:
    """The trail line of a record (compact, keys sorted) carrying the chain head before it."""
    return json.dumps({**record.fields(), "prev": prev}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")
