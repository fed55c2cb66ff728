"""Native REST API, version 1 (the minimal surface of the core; more comes with the agency API)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from orchestrator.engine import Engine
from orchestrator.errors import InvalidInput
from orchestrator.services import definitions, instances

blueprint = Blueprint("v1", __name__, url_prefix="/api/v1")


def _engine() -> Engine:
    return current_app.extensions["lienthong"].engine


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and request.content_length:
        raise InvalidInput("the request body must be JSON")
    if body is not None and not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body or {}


def _definition_json(definition: Any) -> dict[str, Any]:
    return {
        "id": definition.id,
        "key": definition.key,
        "version": definition.version,
        "name": definition.name,
        "versionTag": definition.version_tag,
        "resource": definition.resource_name,
        "deployedAt": definition.deployed_at.isoformat(),
    }


def _instance_json(view: instances.InstanceView) -> dict[str, Any]:
    return {
        "id": view.id,
        "definitionId": view.definition_id,
        "processKey": view.process_key,
        "businessKey": view.business_key,
        "status": view.status,
        "version": view.version,
        "variables": view.variables,
        "currentActivities": [
            {"id": a["id"], "name": a["name"], "type": a["type"], "state": a["state"], "taskId": a["task_id"]}
            for a in view.current_activities
        ],
        "nextTimerAt": view.next_timer_at,
        "createdAt": view.created_at,
        "endedAt": view.ended_at,
    }


@blueprint.get("/process-definitions")
def list_process_definitions() -> dict[str, Any]:
    return {"items": [_definition_json(d) for d in definitions.list_latest_definitions(_engine())]}


@blueprint.post("/process-definitions/<key>/start")
def start_process(key: str) -> tuple[dict[str, Any], int]:
    body = _json_body()
    business_key = body.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise InvalidInput("businessKey must be a string")
    view = instances.start_instance(
        _engine(), key, business_key=business_key, variables=body.get("variables"), actor="api"
    )
    return _instance_json(view), 201


@blueprint.get("/process-instances/<instance_id>")
def get_process_instance(instance_id: str) -> dict[str, Any]:
    return _instance_json(instances.get_instance(_engine(), instance_id))


@blueprint.post("/process-instances/<instance_id>/tasks/<task_id>/complete")
def complete_task(instance_id: str, task_id: str) -> dict[str, Any]:
    body = _json_body()
    expected = request.headers.get("If-Match")
    try:
        expected_version = int(expected.strip('"')) if expected else body.get("expectedVersion")
    except ValueError as error:
        raise InvalidInput("If-Match must carry the instance version number") from error
    view = instances.complete_task(
        _engine(),
        instance_id,
        task_id,
        variables=body.get("variables"),
        actor="api",
        expected_version=expected_version,
    )
    return _instance_json(view)
