"""One dossier transition: the state machine's check, the columns, the event, the outbox, the notice.

Every path that changes a dossier (receipt, an engine step the dossier follows, a desk
action) calls :func:`move` inside the transaction of that change, so the new state, its
``dossier.<transition>`` event, the portal outbox row and the applicant's notice commit
together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..notify import queue_notice
from ..store.models import Deadline
from .models import Dossier, DossierSupplement
from .portal_sync import queue_change
from .states import NATIONAL_STATUS, OUTCOME, DossierState, check_move

Recorder = Callable[[str, dict[str, Any]], None]
"""Writes one history event ``(type, data)`` with the change's actor and time."""

_ENDS = {
    DossierState.REFUSED_AT_RECEIPT,
    DossierState.WITHDRAWN,
    DossierState.STOPPED,
    DossierState.RETURNED,
}
_NOTICES: dict[DossierState, tuple[str, str]] = {
    DossierState.SUPPLEMENT_REQUESTED: (
        "supplement_request",
        "Hồ sơ {code} cần bổ sung giấy tờ. Ông/Bà vui lòng xem phiếu yêu cầu bổ sung tại Bộ phận Một cửa.",
    ),
    DossierState.FINISHED: (
        "result_ready",
        "Hồ sơ {code} đã có kết quả. Mời Ông/Bà nhận kết quả theo hình thức đã đăng ký.",
    ),
    DossierState.REFUSED: (
        "result_ready",
        "Hồ sơ {code} đã có văn bản trả lời. Mời Ông/Bà nhận văn bản theo hình thức đã đăng ký.",
    ),
}
RECEIPT_NOTICE = "Hồ sơ {code} đã được tiếp nhận. Mã tra cứu in trên giấy tiếp nhận và hẹn trả kết quả."


def transition_name(source: DossierState, target: DossierState) -> str:
    """The verb of the event type ``dossier.<name>``."""
    if target is DossierState.PROCESSING:
        return {
            DossierState.SUPPLEMENT_REQUESTED: "supplement_received",
            DossierState.AWAITING_PAYMENT: "payment_received",
        }.get(source, "processing_started")
    return {
        DossierState.SUPPLEMENT_REQUESTED: "supplement_requested",
        DossierState.AWAITING_PAYMENT: "payment_requested",
        DossierState.REFUSED_AT_RECEIPT: "refused",
        DossierState.REFUSED: "refused",
        DossierState.FINISHED: "finished",
        DossierState.RETURNED: "returned",
        DossierState.WITHDRAWN: "withdrawn",
        DossierState.STOPPED: "stopped",
    }[target]


def move(
    session: Session,
    dossier: Dossier,
    target: DossierState,
    *,
    now: dt.datetime,
    actor: str | None,
    record: Recorder,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Apply one allowed transition (``Conflict`` when the state machine forbids it)."""
    source = DossierState(dossier.state)
    check_move(source, target)
    dossier.state = target.value
    dossier.national_status = NATIONAL_STATUS[target]
    dossier.updated_at = now
    if target in (DossierState.FINISHED, DossierState.REFUSED):
        dossier.finished_at = now
    if target is DossierState.RETURNED:
        dossier.returned_at = now
    if target in _ENDS:
        dossier.ended_at = now
    if target in OUTCOME:
        dossier.outcome = OUTCOME[target]
    if reason is not None:
        dossier.outcome_reason = reason
    if target is DossierState.SUPPLEMENT_REQUESTED:
        _open_supplement(session, dossier, now=now, actor=actor, details=details or {})
    if source is DossierState.SUPPLEMENT_REQUESTED and target is DossierState.PROCESSING:
        _close_supplement(session, dossier, now=now)
    data: dict[str, Any] = {
        "from": source.value,
        "to": target.value,
        "national_status": dossier.national_status,
    }
    if reason is not None:
        data["reason"] = reason
    data.update({k: v for k, v in (details or {}).items() if k in ("how", "task_id")})
    record(f"dossier.{transition_name(source, target)}", data)
    if NATIONAL_STATUS[source] != dossier.national_status:
        queue_change(session, dossier, now=now)
    if target in _NOTICES:
        kind, message = _NOTICES[target]
        notify(session, dossier, kind, message, now=now)


def notify(session: Session, dossier: Dossier, kind: str, message: str, *, now: dt.datetime) -> None:
    """The applicant's notice: the dossier code only, no other personal data."""
    queue_notice(
        session,
        instance_id=dossier.instance_id,
        kind=kind,
        message=message.format(code=dossier.code),
        agency=dossier.agency,
        now=now,
    )


def _dossier_clock(session: Session, dossier: Dossier) -> Deadline | None:
    return session.scalars(
        select(Deadline).where(Deadline.instance_id == dossier.instance_id, Deadline.scope == "dossier")
    ).first()


def _open_supplement(
    session: Session,
    dossier: Dossier,
    *,
    now: dt.datetime,
    actor: str | None,
    details: dict[str, Any],
) -> None:
    dossier.supplement_count += 1
    session.add(
        DossierSupplement(
            dossier_id=dossier.id,
            requested_at=now,
            requested_by=actor,
            reason=details.get("reason"),
            items=list(details.get("items") or []),
            due_before=_current_due(_dossier_clock(session, dossier)),
        )
    )


def _close_supplement(session: Session, dossier: Dossier, *, now: dt.datetime) -> None:
    """The supplement arrived: the clock has resumed in this step, so its due is the new appointment."""
    open_request = session.scalars(
        select(DossierSupplement)
        .where(DossierSupplement.dossier_id == dossier.id, DossierSupplement.received_at.is_(None))
        .order_by(DossierSupplement.id.desc())
    ).first()
    if open_request is not None:
        open_request.received_at = now
        open_request.due_after = _current_due(_dossier_clock(session, dossier))


def _current_due(clock: Deadline | None) -> dt.datetime | None:
    if clock is None:
        return None
    return clock.rescheduled_due_at or clock.due_at or clock.original_due_at


def note_reappointment(session: Session, instance_id: str, new_due: dt.datetime, *, now: dt.datetime) -> None:
    """The one re-appointment (form 04): the dossier and the portal learn the new date (NgayHenTraMoi).

    The only writer of ``Dossier.reappointment_at``, which the public lookup and the apology read.
    """
    dossier = session.scalars(select(Dossier).where(Dossier.instance_id == instance_id)).first()
    if dossier is None:
        return
    dossier.reappointment_at, dossier.updated_at = new_due, now
    queue_change(session, dossier, now=now)
