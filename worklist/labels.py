"""Display labels, Chinese first then English, of every code the worklist shows."""

from __future__ import annotations

from dispositions.actions import Action, ReasonCode, Status
from reconciliation.check import Severity
from reconciliation.findings import Verdict

SEVERITY_LABELS: dict[str, str] = {Severity.CRITICAL: "严重 critical", Severity.HIGH: "高 high",
                                   Severity.MEDIUM: "中 medium", Severity.LOW: "低 low"}
VERDICT_LABELS: dict[str, str] = {Verdict.BLOCKED: "拦截 blocked", Verdict.REVIEW: "复核 review",
                                  Verdict.CLEAN: "通过 clean", Verdict.CLOSED: "已结清 closed"}
STATUS_LABELS: dict[str, str] = {
    Status.NEW: "新增 new", Status.OPEN: "未处理 open", Status.ACKNOWLEDGED: "已受理 acknowledged",
    Status.ASSIGNED: "已指派 assigned", Status.WAIVER_PENDING: "豁免待复核 waiver pending",
    Status.WAIVED: "已豁免 waived", Status.REOPENED: "重新打开 reopened", Status.CONFIRMED: "已确认 confirmed",
}
ACTION_LABELS: dict[Action, str] = {
    Action.ACKNOWLEDGE: "受理 acknowledge", Action.ASSIGN: "指派 assign", Action.WAIVE: "豁免 waive",
    Action.APPROVE: "批准 approve", Action.REJECT: "驳回 reject", Action.CONFIRM: "确认 confirm",
}
REASON_LABELS: dict[ReasonCode, str] = {
    ReasonCode.DOCUMENT_VERIFIED: "单据已核实 DOCUMENT_VERIFIED", ReasonCode.TIMING: "时间差 TIMING",
    ReasonCode.DATA_ERROR: "数据错误 DATA_ERROR", ReasonCode.KNOWN_RELATIONSHIP: "已知关系 KNOWN_RELATIONSHIP",
    ReasonCode.OTHER: "其他 OTHER",
}


def label(labels: dict, code: str) -> str:
    """The label of a code, or the code itself."""
    return labels.get(code, code)


def code_of(text: str) -> str:
    """The code a label ends with (``"豁免 waive"`` → ``"waive"``); a bare code is itself."""
    return text.strip().split()[-1] if text and text.strip() else ""
