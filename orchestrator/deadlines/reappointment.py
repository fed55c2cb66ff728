"""The one apology and re-appointment a dossier may have (Thông tư 03/2025, form 04).

It is attributed to the agency of the late leg; the original appointment stays as it was,
since the national scorecard measures against it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..access import Principal
from ..calendar import VN_TZ
from ..clock import utcnow
from ..dossiers.transitions import note_reappointment
from ..engine import Engine
from ..errors import Conflict, InvalidInput, NotFound
from ..notify import queue_notice
from ..store.history import append_event
from ..store.models import Deadline, ProcessInstance

LATE_STATES = ("warned", "overdue")


def reappoint(
    engine: Engine, instance_id: str, *, new_due: dt.datetime, reason: str, principal: Principal
) -> Deadline:
    """Record the apology and the new appointment; a second one is refused."""
    if not reason or not reason.strip():
        raise InvalidInput("a re-appointment needs the reason given to the applicant")
    if new_due.tzinfo is None:
        raise InvalidInput("the new appointment needs a UTC offset, e.g. 2026-12-01T16:00:00+07:00")
    now = utcnow()
    with engine.db.write() as session:
        instance = session.scalars(
            select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
        ).first()
        dossier = session.scalars(
            select(Deadline).where(Deadline.instance_id == instance_id, Deadline.scope == "dossier")
        ).first()
        if instance is None or dossier is None:
            raise NotFound("no dossier with a statutory deadline has this id")
        late_leg = _late_leg(session, instance_id, principal)
        if dossier.rescheduled_due_at is not None:
            first = dossier.rescheduled_due_at.astimezone(VN_TZ)
            raise Conflict(
                f"this dossier was already re-appointed once (to {first:%d/%m/%Y}); "
                "a second re-appointment is not allowed"
            )
        current = dossier.due_at or dossier.original_due_at
        if new_due <= current:
            raise InvalidInput("the new appointment must be later than the current one")
        agency = late_leg.agency if late_leg is not None else principal.agency
        dossier.rescheduled_due_at, dossier.reappointed_by = new_due, agency
        dossier.reappointment_reason = reason.strip()
        message = (
            f"Xin lỗi Ông/Bà: hồ sơ {instance.business_key or instance.id} chưa thể trả kết quả đúng hẹn "
            f"({dossier.original_due_at.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y}). Lý do: {reason.strip()}. "
            f"Thời gian hẹn trả kết quả mới: {new_due.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y}."
        )
        queue_notice(
            session,
            instance_id=instance_id,
            kind="reappointment",
            message=message,
            agency=agency,
            now=now,
            deadline_id=dossier.id,
        )
        append_event(
            session,
            instance,
            "reappointed",
            at=now,
            actor=principal.name,
            data={
                "agency": agency,
                "original": dossier.original_due_at.isoformat(),
                "new": new_due.isoformat(),
                "reason": reason.strip(),
                "late_leg": late_leg.activity_id if late_leg else None,
            },
        )
        note_reappointment(session, instance_id, new_due, now=now)
    return dossier


def _late_leg(session, instance_id: str, principal: Principal) -> Deadline | None:
    """The step that is late (or about to be): an agency may re-appoint only for its own leg."""
    legs = session.scalars(
        select(Deadline).where(
            Deadline.instance_id == instance_id, Deadline.scope == "step", Deadline.state.in_(LATE_STATES)
        )
    ).all()
    if principal.is_admin:
        return legs[0] if legs else None
    own = [leg for leg in legs if leg.agency == principal.agency]
    if not own:
        raise Conflict(
            "your agency has no late or nearly late step in this dossier: only that agency may apologise"
        )
    return own[0]
