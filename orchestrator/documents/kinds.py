"""The printable documents of a dossier (Thông tư 01/2018/TT-VPCP and 03/2025/TT-VPCP, forms 01–04).

Each kind knows its form number and title, and builds what its template prints from the
dossier's facts; a document that does not apply yet (an apology before any re-appointment)
raises ``DocumentNotApplicable`` instead of printing an empty form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict
from .facts import DossierFacts
from .formatting import duration

CHANNELS = {"in_person": "Trực tiếp", "online": "Trực tuyến", "post": "Qua dịch vụ bưu chính"}
RETURN_PLACES = {
    "desk": "Bộ phận tiếp nhận và trả kết quả",
    "post": "Qua dịch vụ bưu chính",
    "electronic": "Trực tuyến (bản điện tử)",
}
VERDICTS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
NOT_RECEIVED = {1, 3}  # filed online and not yet received; refused at receipt (form 03 instead)


class DocumentNotApplicable(Conflict):
    title = "Document not applicable"


@dataclass(frozen=True)
class DocumentKind:
    name: str  # as in the URL: /documents/{name}
    template: str
    form: str  # the form number printed in the corner
    title: str
    build: Callable[[DossierFacts], dict[str, Any]]


def _receipt(facts: DossierFacts) -> dict[str, Any]:
    dossier = facts.dossier
    if dossier.national_status in NOT_RECEIVED:
        raise DocumentNotApplicable("no receipt: this dossier was not received (see the refusal)")
    clock = facts.dossier_clock
    return {
        "channel": CHANNELS.get(dossier.channel, dossier.channel),
        "documents": [
            {
                "name": item.get("name", ""),
                "form": "Bản chính" if item.get("original") else "Bản sao",
                "copies": item.get("copies", 1),
            }
            for item in dossier.documents or []
        ],
        "statutory_duration": duration(clock.budget) if clock else "",
        "appointment": dossier.appointment_at or (clock.original_due_at if clock else None),
        "return_place": RETURN_PLACES.get(dossier.return_method or "desk", RETURN_PLACES["desk"]),
        "issued_at": dossier.received_at,
    }


def _supplement_request(facts: DossierFacts) -> dict[str, Any]:
    if not facts.supplements:
        raise DocumentNotApplicable("no supplement request: nothing was requested from the applicant")
    latest = facts.supplements[-1]
    return {
        "supplement": latest,
        "items": [_item_text(item) for item in latest.items or []],
        "issued_at": latest.requested_at,
    }


def _item_text(item: Any) -> str:
    """An item to supplement as the officer wrote it: text, or ``{name, note}``."""
    if isinstance(item, dict):
        name, note = item.get("name") or "", item.get("note") or item.get("reason") or ""
        return f"{name}: {note}" if name and note else name or note
    return str(item)


def _refusal(facts: DossierFacts) -> dict[str, Any]:
    if facts.dossier.outcome != "refused":
        raise DocumentNotApplicable("no refusal: this dossier was not refused")
    return {
        "reason": facts.dossier.outcome_reason or "Hồ sơ không đủ điều kiện giải quyết.",
        "issued_at": facts.dossier.ended_at or facts.dossier.updated_at,
    }


def _apology(facts: DossierFacts) -> dict[str, Any]:
    dossier, clock = facts.dossier, facts.dossier_clock
    if dossier.reappointment_at is None:
        raise DocumentNotApplicable("no apology letter: this dossier has not been re-appointed")
    return {
        "late_agency_name": facts.agency_name((clock.reappointed_by if clock else None) or dossier.agency),
        "reason": (clock.reappointment_reason if clock else None) or "",
        "original_appointment": dossier.appointment_at,
        "new_appointment": dossier.reappointment_at,
        "issued_at": next((e.at for e in facts.events if e.type == "reappointed"), None),
    }


def _control_sheet(facts: DossierFacts) -> dict[str, Any]:
    if facts.dossier.national_status in NOT_RECEIVED:
        raise DocumentNotApplicable("no control sheet: this dossier was not received")
    clock = facts.dossier_clock
    return {
        "statutory_duration": duration(clock.budget) if clock else "",
        "appointment": facts.dossier.appointment_at or (clock.original_due_at if clock else None),
        "reappointment": facts.dossier.reappointment_at,
        "rows": _hand_overs(facts),
        "overall_verdict": _verdict(clock.outcome, clock.state) if clock else "Không tính thời hạn",
    }


def _hand_overs(facts: DossierFacts) -> list[dict[str, Any]]:
    """One row per hand-over to an agency (history), with its leg's budget and verdict (deadlines).

    Steps without a budget are hand-overs too: they are listed, with no time limit to judge.
    """
    legs = {leg.task_id: leg for leg in facts.legs}
    completions = {
        e.task_id: e for e in facts.events if e.type in ("task_completed", "step_finished") and e.task_id
    }
    rows, giver = [], facts.agency_name(facts.dossier.agency)
    for event in facts.events:
        if event.type != "handed_over" or event.data.get("in_process"):
            continue  # software steps here are not hand-overs between agencies
        leg = legs.get(event.task_id)
        done = completions.get(event.task_id)
        receiver = facts.agency_name(event.data.get("agency"))
        finished_at = leg.finished_at if leg is not None else (done.at if done else None)
        rows.append(
            {
                "agency": receiver,
                "handed_over_at": event.at,
                "giver": giver,
                "receiver": receiver,
                "budget": duration(leg.budget) if leg else "Không quy định",
                "due_at": (leg.due_at or leg.original_due_at) if leg else None,
                "finished_at": finished_at,
                "finished_by": facts.actor_name(done.actor) if done else "",
                "verdict": _verdict(leg.outcome, leg.state) if leg else _unjudged(finished_at),
                "note": (leg.activity_name or "") if leg else "",
            }
        )
        giver = receiver
    return rows


def _unjudged(finished_at: dt.datetime | None) -> str:
    return "Đã hoàn thành" if finished_at else "Đang giải quyết"


def _verdict(outcome: str | None, state: str) -> str:
    if outcome is not None:
        return VERDICTS.get(outcome, outcome)
    if state == "paused":
        return "Đang tạm dừng (chờ người nộp)"
    return "Đang quá hạn" if state == "overdue" else "Đang giải quyết"


KINDS: dict[str, DocumentKind] = {
    kind.name: kind
    for kind in (
        DocumentKind(
            "receipt",
            "receipt.html",
            "Mẫu số 01",
            "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
            _receipt,
        ),
        DocumentKind(
            "supplement-request",
            "supplement_request.html",
            "Mẫu số 02",
            "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
            _supplement_request,
        ),
        DocumentKind(
            "refusal",
            "refusal.html",
            "Mẫu số 03",
            "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
            _refusal,
        ),
        DocumentKind(
            "apology",
            "apology.html",
            "Mẫu số 04",
            "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
            _apology,
        ),
        DocumentKind(
            "control-sheet",
            "control_sheet.html",
            "Mẫu số 05 (Thông tư 01/2018/TT-VPCP)",
            "Phiếu kiểm soát quá trình giải quyết hồ sơ",
            _control_sheet,
        ),
    )
}
