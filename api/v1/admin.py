"""Admin console API: stuck dossiers, statistics (JSON or CSV), and actions on incidents and dossiers.

Every route needs the ``admin`` scope; every action needs a ``reason``, recorded with the
caller in the dossier's history.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from orchestrator import admin
from orchestrator.access import Scope
from orchestrator.clock import utcnow
from orchestrator.store.models import Deadline

from .blueprint import ApiBlueprint, actor, engine
from .deadlines import DeadlineSchema
from .schemas import StrictSchema

blp = ApiBlueprint("admin", __name__, description="Admin console: stuck dossiers, statistics, actions")
CSV = "text/csv"
SORTS = ("-age", "age", "agency", "kind", "process")


# -- schemas ---------------------------------------------------------------------------


class StuckQuerySchema(StrictSchema):
    kind = fields.List(
        fields.String(validate=validate.OneOf(admin.STUCK_KINDS)), metadata={"description": "repeatable"}
    )
    agency = fields.String()
    process_key = fields.String(data_key="processKey")
    instance_id = fields.String(data_key="processInstanceId")
    sort = fields.String(load_default="-age", validate=validate.OneOf(SORTS))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))
    format = fields.String(validate=validate.OneOf(("json", "csv")))


class StuckItemSchema(Schema):
    kind = fields.String()
    instance_id = fields.String(data_key="instanceId")
    process_key = fields.String(data_key="processKey")
    business_key = fields.String(data_key="businessKey", allow_none=True)
    agency = fields.String(allow_none=True)
    activity_id = fields.String(data_key="activityId", allow_none=True)
    activity_name = fields.String(data_key="activityName", allow_none=True)
    task_id = fields.String(data_key="taskId", allow_none=True)
    deadline_id = fields.Integer(data_key="deadlineId", allow_none=True)
    job_id = fields.Integer(data_key="jobId", allow_none=True)
    since = fields.DateTime()
    age_seconds = fields.Float(data_key="ageSeconds")
    reason = fields.String(metadata={"description": "plain Vietnamese for officials"})


class StatisticsQuerySchema(StrictSchema):
    group_by = fields.String(
        required=True, data_key="group_by", validate=validate.OneOf(("agency", "procedure"))
    )
    start = fields.AwareDateTime(data_key="from")
    end = fields.AwareDateTime(data_key="to")
    format = fields.String(validate=validate.OneOf(("json", "csv")))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("'from' must be before 'to'", "from")


class StatisticsRowSchema(Schema):
    key = fields.String()
    label = fields.String()
    received = fields.Integer()
    early = fields.Integer()
    on_time = fields.Integer(data_key="onTime")
    late = fields.Integer()
    open_within_time = fields.Integer(data_key="openWithinTime")
    open_overdue = fields.Integer(data_key="openOverdue")
    paused = fields.Integer()


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class RetrySchema(ReasonSchema):
    retries = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))


class BulkRetrySchema(ReasonSchema):
    kind = fields.List(fields.String(validate=validate.OneOf(("incident", "job_dead_lettered"))))
    agency = fields.String()
    process_key = fields.String(data_key="processKey")
    dry_run = fields.Boolean(load_default=True, data_key="dryRun")


class CountSchema(Schema):
    count = fields.Integer()
    dry_run = fields.Boolean(data_key="dryRun")


class ExtendSchema(ReasonSchema):
    by = fields.String(metadata={"example": "2wd"})
    until = fields.AwareDateTime()

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if ("by" in data) == ("until" in data):
            raise ValidationError("give either 'by' or 'until'", "by")


class ExtendedDeadlineSchema(DeadlineSchema):
    id = fields.Integer()
    extension_minutes = fields.Integer(data_key="extensionMinutes")
    extended_by = fields.String(data_key="extendedBy", allow_none=True)
    extension_reason = fields.String(data_key="extensionReason", allow_none=True)


class ReassignSchema(ReasonSchema):
    agency = fields.String()
    topic = fields.String()

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("agency") and not data.get("topic"):
            raise ValidationError("give the agency or the topic", "agency")


class MoveSchema(ReasonSchema):
    cancel_activities = fields.List(
        fields.String(), required=True, data_key="cancelActivities", validate=validate.Length(min=1)
    )
    start_before = fields.String(required=True, data_key="startBefore")
    preview = fields.Boolean(load_default=True)


class MovePreviewSchema(Schema):
    cancel = fields.List(fields.String(), data_key="cancelActivities")
    start_before = fields.String(data_key="startBefore")
    resulting_activities = fields.List(fields.String(), data_key="resultingActivities")
    warnings = fields.List(fields.String())
    applied = fields.Boolean()


# -- reading ---------------------------------------------------------------------------


@blp.route("/admin/stuck")
@blp.secured(Scope.ADMIN)
@blp.arguments(StuckQuerySchema, location="query", unknown=RAISE)
@blp.response(200, StuckItemSchema(many=True))
def stuck(query: dict[str, Any]) -> Any:
    """Every stuck reason of every running dossier (``format=csv`` or ``Accept: text/csv``: CSV)."""
    items = admin.find_stuck(
        engine(),
        now=utcnow(),
        filter=admin.StuckFilter(
            kinds=tuple(query.get("kind", ())),
            agency=query.get("agency"),
            process_key=query.get("process_key"),
            instance_id=query.get("instance_id"),
            sort=query["sort"],
        ),
        limit=query["limit"],
    )
    if _wants_csv(query):
        return _csv_response(admin.stuck_csv(items), "ho-so-ton-dong.csv")
    return items


@blp.route("/admin/statistics")
@blp.secured(Scope.ADMIN)
@blp.arguments(StatisticsQuerySchema, location="query", unknown=RAISE)
@blp.response(200, StatisticsRowSchema(many=True))
def statistics(query: dict[str, Any]) -> Any:
    """Received, early, on time, late, open within time, open overdue and paused, per agency or procedure."""
    rows = admin.dossier_statistics(
        engine().db, group_by=query["group_by"], start=query.get("start"), end=query.get("end"), now=utcnow()
    )
    if _wants_csv(query):
        return _csv_response(admin.statistics_csv(rows), f"thong-ke-{query['group_by']}.csv")
    return rows


def _wants_csv(query: dict[str, Any]) -> bool:
    if "format" in query:
        return query["format"] == "csv"
    return request.accept_mimetypes.best_match(["application/json", CSV]) == CSV


def _csv_response(text: str, filename: str) -> Response:
    response = Response(text.encode("utf-8"), mimetype=CSV)
    response.headers["Content-Type"] = f"{CSV}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- actions ---------------------------------------------------------------------------


@blp.route("/admin/incidents/<task_id>/retry", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(RetrySchema)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the task has no incident, or the dossier is not running")
def retry_incident(body: dict[str, Any], task_id: str) -> None:
    """Resolve an incident: the task gets ``retries`` attempts and is fetchable (or run) again."""
    admin.retry_incident(
        engine(), task_id=task_id, actor=actor(), reason=body["reason"], retries=body["retries"]
    )


@blp.route("/admin/incidents/retry", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(BulkRetrySchema)
@blp.response(200, CountSchema)
def bulk_retry(body: dict[str, Any]) -> dict[str, Any]:
    """Retry every incident the filter selects; ``dryRun`` (the default) only counts them."""
    count = admin.bulk_retry(
        engine(),
        filter=admin.StuckFilter(
            kinds=tuple(body.get("kind", ())), agency=body.get("agency"), process_key=body.get("process_key")
        ),
        actor=actor(),
        reason=body["reason"],
        dry_run=body["dry_run"],
    )
    return {"count": count, "dry_run": body["dry_run"]}


@blp.route("/admin/deadlines/<int:deadline_id>/extend", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(ExtendSchema)
@blp.response(200, ExtendedDeadlineSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the step is finished, or the dossier is not running")
def extend_deadline(body: dict[str, Any], deadline_id: int) -> Deadline:
    """Give a step more time (``by`` a duration or ``until`` an instant); the appointment stays."""
    return admin.extend_deadline(
        engine(),
        deadline_id=deadline_id,
        by=body.get("by"),
        until=body.get("until"),
        actor=actor(),
        reason=body["reason"],
    )


@blp.route("/admin/tasks/<task_id>/reassign", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(ReassignSchema)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier is not running")
def reassign(body: dict[str, Any], task_id: str) -> None:
    """Give an open agency step to another agency and/or topic."""
    admin.reassign_step(
        engine(),
        task_id=task_id,
        agency=body.get("agency"),
        topic=body.get("topic"),
        actor=actor(),
        reason=body["reason"],
    )


@blp.route("/admin/process-instances/<instance_id>/suspend", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(ReasonSchema)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier is not running")
def suspend(body: dict[str, Any], instance_id: str) -> None:
    """Suspend a running dossier: no fetch, timer, deadline sweep or completion until resumed."""
    admin.suspend_dossier(engine(), instance_id=instance_id, actor=actor(), reason=body["reason"])


@blp.route("/admin/process-instances/<instance_id>/resume", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(ReasonSchema)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier is not suspended")
def resume(body: dict[str, Any], instance_id: str) -> None:
    """Resume a suspended dossier."""
    admin.resume_dossier(engine(), instance_id=instance_id, actor=actor(), reason=body["reason"])


@blp.route("/admin/process-instances/<instance_id>/cancel", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(ReasonSchema)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier already ended")
def cancel(body: dict[str, Any], instance_id: str) -> None:
    """Cancel a running or suspended dossier, with the reason in its history."""
    admin.cancel_dossier(engine(), instance_id=instance_id, actor=actor(), reason=body["reason"])


@blp.route("/admin/process-instances/<instance_id>/move", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(MoveSchema)
@blp.response(200, MovePreviewSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier is not running")
def move(body: dict[str, Any], instance_id: str) -> dict[str, Any]:
    """Cancel activities and start before another; ``preview`` (the default) changes nothing."""
    preview = admin.preview_move(
        engine(),
        instance_id=instance_id,
        cancel_activities=body["cancel_activities"],
        start_before=body["start_before"],
    )
    if not body["preview"]:
        admin.move_token(
            engine(),
            instance_id=instance_id,
            cancel_activities=body["cancel_activities"],
            start_before=body["start_before"],
            actor=actor(),
            reason=body["reason"],
        )
    return {**preview.__dict__, "applied": not body["preview"]}
