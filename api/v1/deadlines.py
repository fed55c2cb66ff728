"""Deadlines: the working-day calendar, a dossier's clocks, the re-appointment, the on-time indicator."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema
from sqlalchemy import select

from orchestrator.access import Scope
from orchestrator.calendar import VN_TZ, CalendarError, ClockPaused
from orchestrator.deadlines.evaluation import control_sheet, on_time_report
from orchestrator.deadlines.reappointment import reappoint
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.store.models import Notification, ProcessInstance

from ..auth import current_principal
from .blueprint import ApiBlueprint, engine
from .schemas import StrictSchema

blp = ApiBlueprint("deadlines", __name__, description="Statutory deadlines (thời hạn giải quyết)")


class DueQuerySchema(StrictSchema):
    start = fields.AwareDateTime(required=True, metadata={"description": "receipt or hand-over instant"})
    duration = fields.String(required=True, metadata={"example": "3wd"})
    agency = fields.String()
    pause = fields.List(fields.String(), metadata={"description": "START/END, repeatable"})
    cutoff = fields.Boolean(load_default=True, metadata={"description": "false for a hand-over"})


class DueSchema(Schema):
    due = fields.String(metadata={"example": "2026-02-25T17:00:00+07:00"})


class DeadlineSchema(Schema):
    scope = fields.String()
    activity_id = fields.String(data_key="activityId", allow_none=True)
    activity_name = fields.String(data_key="activityName", allow_none=True)
    agency = fields.String(allow_none=True)
    budget = fields.String()
    started_at = fields.DateTime(data_key="startedAt")
    due_at = fields.DateTime(data_key="due", allow_none=True)
    original_due_at = fields.DateTime(data_key="appointment")
    rescheduled_due_at = fields.DateTime(data_key="reappointment", allow_none=True)
    reappointed_by = fields.String(data_key="reappointedBy", allow_none=True)
    state = fields.String()
    supplement_count = fields.Integer(data_key="supplements")
    finished_at = fields.DateTime(data_key="finishedAt", allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"description": "early | on_time | late"})


class ControlSheetSchema(Schema):
    items = fields.List(fields.Nested(DeadlineSchema))


class ReappointmentSchema(StrictSchema):
    new_due = fields.AwareDateTime(required=True, data_key="newDue")
    reason = fields.String(required=True)


class OnTimeQuerySchema(StrictSchema):
    start = fields.AwareDateTime(required=True, data_key="from")
    end = fields.AwareDateTime(required=True, data_key="to")
    agency = fields.String()
    procedure = fields.String()

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["start"] >= data["end"]:
            raise ValidationError("'from' must be before 'to'", "from")


class OnTimeSchema(Schema):
    received = fields.Integer()
    early = fields.Integer()
    on_time = fields.Integer(data_key="onTime")
    late = fields.Integer()
    open_within_time = fields.Integer(data_key="openWithinTime")
    open_overdue = fields.Integer(data_key="openOverdue")
    paused = fields.Integer()
    finished = fields.Integer()
    onTimeRate = fields.Float(allow_none=True)


class NotificationSchema(Schema):
    id = fields.Integer()
    instance_id = fields.String(data_key="instanceId")
    kind = fields.String()
    agency = fields.String(allow_none=True)
    message = fields.String()
    created_at = fields.DateTime(data_key="createdAt")


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))


@blp.route("/calendar/due")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.doc(**{"x-required-scope": "any"})
@blp.arguments(DueQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DueSchema)
def calendar_due(query: dict[str, Any]) -> dict[str, str]:
    """The due instant on the working-day calendar (same rules as ``lienthong calendar due``).

    Any valid token may ask: the calendar is public law, not dossier data.
    """
    calendar = engine().calendars.get()
    pauses = [_pause(text) for text in query.get("pause", [])]
    try:
        due = (
            calendar.due_for_receipt(
                query["start"], query["duration"], agency=query.get("agency"), pauses=pauses
            )
            if query["cutoff"]
            else calendar.add(query["start"], query["duration"], agency=query.get("agency"), pauses=pauses)
        )
    except ClockPaused as paused:
        raise InvalidInput(f"the clock is still paused: {paused}") from paused
    except (CalendarError, ValueError) as error:
        raise InvalidInput(str(error)) from error
    return {"due": due.astimezone(VN_TZ).isoformat()}


def _pause(text: str) -> tuple[dt.datetime, dt.datetime | None]:
    start, _, end = text.partition("/")
    try:
        begin = dt.datetime.fromisoformat(start)
        finish = dt.datetime.fromisoformat(end) if end else None
    except ValueError as error:
        raise InvalidInput("a pause is START/END in ISO 8601") from error
    if begin.tzinfo is None or (finish is not None and (finish.tzinfo is None or finish < begin)):
        raise InvalidInput("a pause needs offsets and an end after its start")
    return begin, finish


@blp.route("/process-instances/<instance_id>/deadlines")
@blp.secured(Scope.DESK)
@blp.response(200, ControlSheetSchema)
@blp.alt_response(404, response="NOT_FOUND")
def deadlines(instance_id: str) -> dict[str, Any]:
    """The control sheet: the dossier's clock and every leg's, with early / on time / late."""
    _existing(instance_id)
    return {"items": control_sheet(engine().db, instance_id)}


@blp.route("/process-instances/<instance_id>/reappointment", methods=["POST"])
@blp.secured(Scope.WORKER)
@blp.arguments(ReappointmentSchema)
@blp.response(200, DeadlineSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "already re-appointed once, or the caller's agency has no late leg")
def reappointment(body: dict[str, Any], instance_id: str) -> Any:
    """Apologise and set the one new appointment (form 04); the original appointment stays."""
    return reappoint(
        engine(), instance_id, new_due=body["new_due"], reason=body["reason"], principal=current_principal()
    )


@blp.route("/stats/on-time")
@blp.secured(Scope.DESK)
@blp.arguments(OnTimeQuerySchema, location="query", unknown=RAISE)
@blp.response(200, OnTimeSchema)
def on_time(query: dict[str, Any]) -> dict[str, Any]:
    """Indicator 2.1 (Quyết định 766): dossiers received in [from, to), judged at ``to``."""
    report = on_time_report(
        engine().db,
        start=query["start"],
        end=query["end"],
        agency=query.get("agency"),
        procedure=query.get("procedure"),
    )
    return report.as_dict()


@blp.route("/notifications")
@blp.secured(Scope.WORKER)
@blp.response(200, NotificationListSchema)
def notifications() -> dict[str, Any]:
    """The newest notices: an agency sees its own (warnings it may answer with a re-appointment)."""
    principal = current_principal()
    query = select(Notification).order_by(Notification.id.desc()).limit(100)
    if not principal.is_admin:
        query = query.where(Notification.agency == principal.agency)
    with engine().db.read() as session:
        return {"items": list(session.scalars(query))}


def _existing(instance_id: str) -> None:
    with engine().db.read() as session:
        if session.get(ProcessInstance, instance_id) is None:
            raise NotFound(f"process instance '{instance_id}' does not exist")
