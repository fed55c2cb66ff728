"""Dossiers: start, list, read, cancel, complete a task, read the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response
from marshmallow import RAISE
from sqlalchemy.orm import Session

from orchestrator.access import Scope
from orchestrator.errors import InvalidInput
from orchestrator.services import instance_queries, instances
from orchestrator.services.cancellation import cancel_instance
from orchestrator.services.instances import InstanceView

from .blueprint import ApiBlueprint, actor, engine
from .idempotency import Recorder, respond_once
from .pagination import decode_cursor, page_body
from .schemas import (
    CancelRequestSchema,
    CompleteRequestSchema,
    EventPageSchema,
    IdempotencyHeaderSchema,
    IfMatchHeaderSchema,
    InstanceListQuerySchema,
    InstancePageSchema,
    InstanceSchema,
    PageQuerySchema,
    StartRequestSchema,
)

blp = ApiBlueprint("process-instances", __name__, description="Dossiers (process instances)")
INSTANCES, EVENTS = "instances", "events"
_instance_schema = InstanceSchema()


@blp.route("/process-definitions/<key>/start", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(IdempotencyHeaderSchema, location="headers")
@blp.arguments(StartRequestSchema, required=False)
@blp.response(201, InstanceSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "a request with this Idempotency-Key is in progress")
@blp.problem(422, "the Idempotency-Key was used for another request, or the diagram could not advance")
def start_instance(headers: dict[str, Any], body: dict[str, Any], key: str) -> Response:
    """Start a dossier on the newest version of a procedure.

    With ``Idempotency-Key``, a retry with the same key and body gets the first answer
    (header ``Idempotent-Replayed: true``) and starts nothing.
    """

    def start(record: Recorder | None) -> tuple[dict[str, Any], int]:
        def within(session: Session, view: InstanceView) -> None:
            if record is not None:  # the replayable answer commits with the dossier
                record(session, _instance_schema.dump(view), 201)

        view = instances.start_instance(
            engine(),
            key,
            business_key=body.get("business_key"),
            variables=body.get("variables"),
            actor=actor(),
            within=within,
        )
        return _instance_schema.dump(view), 201

    return respond_once(headers.get("idempotency_key"), start)


@blp.route("/process-instances")
@blp.secured(Scope.DESK)
@blp.arguments(InstanceListQuerySchema, location="query", unknown=RAISE)
@blp.response(200, InstancePageSchema)
def list_instances(query: dict[str, Any]) -> dict[str, Any]:
    """Dossiers, newest first, filtered by status, procedure, agency (an open task there) or business key."""
    filters = instance_queries.InstanceFilter(
        status=query.get("status"),
        process_key=query.get("procedure"),
        agency=query.get("agency"),
        business_key=query.get("business_key"),
    )
    after = decode_cursor(INSTANCES, query.get("cursor"), (datetime, str))
    page = instance_queries.list_instances(engine(), filters, after=after, limit=query["limit"])
    return page_body(INSTANCES, page)


@blp.route("/process-instances/<instance_id>")
@blp.secured(Scope.DESK)
@blp.response(200, InstanceSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_instance(instance_id: str) -> instances.InstanceView:
    """One dossier: status, where it is, its variables and version."""
    return instances.get_instance(engine(), instance_id)


@blp.route("/process-instances/<instance_id>/cancel", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(IfMatchHeaderSchema, location="headers")
@blp.arguments(CancelRequestSchema)
@blp.response(200, InstanceSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier is not running, or If-Match is stale")
def cancel(headers: dict[str, Any], body: dict[str, Any], instance_id: str) -> instances.InstanceView:
    """Cancel a running dossier, with a reason kept in its history."""
    return cancel_instance(
        engine(),
        instance_id,
        reason=body["reason"],
        actor=actor(),
        expected_version=_version(headers.get("if_match"), None),
    )


@blp.route("/process-instances/<instance_id>/tasks/<task_id>/complete", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(IfMatchHeaderSchema, location="headers")
@blp.arguments(CompleteRequestSchema, required=False)
@blp.response(200, InstanceSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the task is not open any more, or If-Match is stale")
@blp.problem(422, "the diagram could not advance")
def complete_task(
    headers: dict[str, Any], body: dict[str, Any], instance_id: str, task_id: str
) -> instances.InstanceView:
    """Complete an open user or external task and run the dossier on to its next wait state."""
    return instances.complete_task(
        engine(),
        instance_id,
        task_id,
        variables=body.get("variables"),
        actor=actor(),
        expected_version=_version(headers.get("if_match"), body.get("expected_version")),
    )


@blp.route("/process-instances/<instance_id>/history")
@blp.secured(Scope.DESK)
@blp.arguments(PageQuerySchema, location="query", unknown=RAISE)
@blp.response(200, EventPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def history(query: dict[str, Any], instance_id: str) -> dict[str, Any]:
    """The dossier's history in the order it happened: hand-overs, completions, timers, cancellation."""
    after = decode_cursor(EVENTS, query.get("cursor"), (int,))
    page = instance_queries.instance_history(
        engine(), instance_id, after=after[0] if after else None, limit=query["limit"]
    )
    return page_body(EVENTS, page)


def _version(if_match: str | None, fallback: int | None) -> int | None:
    """The expected instance version: If-Match (quoted like an ETag or bare) wins over the body."""
    if if_match is None:
        return fallback
    try:
        return int(if_match.strip().strip('"'))
    except ValueError as error:
        raise InvalidInput("If-Match must carry the instance version number") from error
