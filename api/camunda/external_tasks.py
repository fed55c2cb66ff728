"""``/engine-rest/external-task``: Camunda 7's External Task API for agencies' workers.

HTTP only: parse (``external_task_requests``), call a service, render Camunda's DTOs.
Every call needs the ``worker`` scope (admin holds it too); isolation by agency is the
services' job, so a task of another agency is a 404 here like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from orchestrator.access import Principal, Scope
from orchestrator.errors import InvalidInput
from orchestrator.runtime import Runtime
from orchestrator.services import task_failures, task_locks, task_views
from orchestrator.services.external_tasks import complete_external_task, throw_bpmn_error
from orchestrator.services.task_polling import fetch_and_lock_waiting
from orchestrator.services.task_views import LockedTask, TaskView

from ..auth import current_principal, require
from . import blueprint as _blueprint
from .external_task_requests import (
    MAX_DURATION_MS,
    boolean_args,
    duration_ms,
    fetch_request,
    integer,
    json_object,
    query_from_args,
    query_from_body,
    string,
    string_list,
    variables,
    worker_id,
)
from .variables import camunda_date, encode_variables

blueprint: Blueprint = _blueprint
# Endpoints are named "external_task_*": other route modules share the blueprint.


def _runtime() -> Runtime:
    return current_app.extensions["lienthong"]


def _actor(principal: Principal, worker: str) -> str:
    return f"{principal.name} ({worker})"


def _no_content() -> Response:
    return Response(status=204)


# -- rendering ---------------------------------------------------------------------------


def task_json(task: TaskView) -> dict[str, Any]:
    """Camunda's ``ExternalTaskDto``."""
    return {
        "activityId": task.activity_id,
        # Camunda's activity instance ids read "<activityId>:<id>"; ours is unique per task too.
        "activityInstanceId": f"{task.activity_id}:{task.id}",
        "errorMessage": task.error_message,
        "executionId": task.id,
        "id": task.id,
        "lockExpirationTime": camunda_date(task.lock_expires_at),
        "createTime": camunda_date(task.created_at),
        "processDefinitionId": task.definition_id,
        "processDefinitionKey": task.process_key,
        "processDefinitionVersionTag": task.version_tag,
        "processInstanceId": task.instance_id,
        "tenantId": task.tenant_id,
        "retries": task.retries,
        "suspended": task.suspended,
        "workerId": task.worker_id,
        "priority": task.priority,
        "topicName": task.topic,
        "businessKey": task.business_key,
    }


def locked_json(task: LockedTask) -> dict[str, Any]:
    """Camunda's ``LockedExternalTaskDto``: the task plus details, variables, extension properties."""
    return {
        **task_json(task),
        "errorDetails": task.error_details,
        "variables": encode_variables(task.variables),
        "extensionProperties": task.extension_properties,
    }


# -- fetching and handling ---------------------------------------------------------------------


@blueprint.post("/external-task/fetchAndLock", endpoint="external_task_fetch_and_lock")
@require(Scope.WORKER)
def fetch_and_lock() -> Response:
    """Lock tasks of the asked topics; with asyncResponseTimeout, wait for the first."""
    fetch = fetch_request(json_object())
    tasks = fetch_and_lock_waiting(
        _runtime(),
        current_principal(),
        fetch.worker_id,
        fetch.max_tasks,
        fetch.topics,
        use_priority=fetch.use_priority,
        sorting=fetch.sorting,
        timeout_ms=fetch.timeout_ms,
    )
    return jsonify([locked_json(task) for task in tasks])


@blueprint.post("/external-task/<task_id>/complete", endpoint="external_task_complete")
@require(Scope.WORKER)
def complete(task_id: str) -> Response:
    """The lock holder completes the task; the dossier moves on."""
    body = json_object()
    worker, principal = worker_id(body), current_principal()
    complete_external_task(
        _runtime().engine,
        task_id,
        variables=variables(body, "variables"),
        local_variables=variables(body, "localVariables"),
        actor=_actor(principal, worker),
        worker_id=worker,
        principal=principal,
    )
    return _no_content()


@blueprint.post("/external-task/<task_id>/failure", endpoint="external_task_failure")
@require(Scope.WORKER)
def failure(task_id: str) -> Response:
    """The lock holder reports a failure: retries as sent, 0 = incident."""
    body = json_object()
    report = task_failures.FailureReport(
        worker_id=worker_id(body),
        error_message=string(body, "errorMessage", limit=1_000_000),
        error_details=string(body, "errorDetails", limit=5_000_000),
        # Camunda's DTO has a primitive int: an omitted retries is 0, i.e. an incident.
        retries=integer(body, "retries", minimum=0, maximum=2**31 - 1) or 0,
        retry_timeout_ms=integer(body, "retryTimeout", minimum=0, maximum=MAX_DURATION_MS) or 0,
        variables={**variables(body, "localVariables"), **variables(body, "variables")},
    )
    principal = current_principal()
    task_failures.report_failure(
        _runtime().engine, principal, task_id, report, actor=_actor(principal, report.worker_id)
    )
    return _no_content()


@blueprint.post("/external-task/<task_id>/bpmnError", endpoint="external_task_bpmn_error")
@require(Scope.WORKER)
def bpmn_error(task_id: str) -> Response:
    """The lock holder throws a BPMN error: the task's boundary catches it, or an incident."""
    body = json_object()
    worker, principal = worker_id(body), current_principal()
    code = string(body, "errorCode", required=True, limit=255) or ""
    throw_bpmn_error(
        _runtime().engine,
        task_id,
        code,
        message=string(body, "errorMessage", limit=100_000) or "",
        variables=variables(body, "variables"),
        actor=_actor(principal, worker),
        worker_id=worker,
        principal=principal,
    )
    return _no_content()


@blueprint.post("/external-task/<task_id>/extendLock", endpoint="external_task_extend_lock")
@require(Scope.WORKER)
def extend_lock(task_id: str) -> Response:
    """The lock holder extends its unexpired lock to now + newDuration."""
    body = json_object()
    task_locks.extend_lock(
        _runtime().engine, current_principal(), task_id, worker_id(body), duration_ms(body, "newDuration")
    )
    return _no_content()


@blueprint.post("/external-task/<task_id>/lock", endpoint="external_task_lock")
@require(Scope.WORKER)
def lock(task_id: str) -> Response:
    """Lock one task by id (refused while another worker's lock runs)."""
    body = json_object()
    task_locks.lock(
        _runtime().engine, current_principal(), task_id, worker_id(body), duration_ms(body, "lockDuration")
    )
    return _no_content()


@blueprint.post("/external-task/<task_id>/unlock", endpoint="external_task_unlock")
@require(Scope.WORKER)
def unlock(task_id: str) -> Response:
    """Release the lock: the task can be fetched again at once."""
    # No body is expected; the JS client sends {}: whatever came is ignored.
    task_locks.unlock(_runtime().engine, current_principal(), task_id)
    return _no_content()


# -- reading ------------------------------------------------------------------------------


@blueprint.get("/external-task/<task_id>", endpoint="external_task_get_task")
@require(Scope.WORKER)
def get_task(task_id: str) -> Response:
    """One task (ExternalTaskDto)."""
    return jsonify(task_json(task_views.get_task(_runtime().engine, current_principal(), task_id)))


@blueprint.get("/external-task", endpoint="external_task_list_tasks")
@require(Scope.WORKER)
def list_tasks() -> Response:
    """The agency's tasks, filtered by query-string parameters."""
    tasks = task_views.list_tasks(_runtime().engine, current_principal(), query_from_args())
    return jsonify([task_json(task) for task in tasks])


@blueprint.post("/external-task", endpoint="external_task_query_tasks")
@require(Scope.WORKER)
def query_tasks() -> Response:
    """The agency's tasks, filtered by a JSON body (paging in the query string)."""
    tasks = task_views.list_tasks(_runtime().engine, current_principal(), query_from_body(json_object()))
    return jsonify([task_json(task) for task in tasks])


@blueprint.get("/external-task/count", endpoint="external_task_count_tasks")
@require(Scope.WORKER)
def count_tasks() -> Response:
    """How many of the agency's tasks match the query-string filters."""
    return jsonify(
        {"count": task_views.count_tasks(_runtime().engine, current_principal(), query_from_args())}
    )


@blueprint.post("/external-task/count", endpoint="external_task_query_count")
@require(Scope.WORKER)
def query_count() -> Response:
    """How many of the agency's tasks match the JSON body's filters."""
    query = query_from_body(json_object())
    return jsonify({"count": task_views.count_tasks(_runtime().engine, current_principal(), query)})


@blueprint.get("/external-task/topic-names", endpoint="external_task_topic_names")
@require(Scope.WORKER)
def topic_names() -> Response:
    """The distinct topics of the agency's tasks."""
    flags = boolean_args("withLockedTasks", "withUnlockedTasks", "withRetriesLeft")
    names = task_views.topic_names(
        _runtime().engine,
        current_principal(),
        with_locked=flags["withLockedTasks"],
        with_unlocked=flags["withUnlockedTasks"],
        with_retries_left=flags["withRetriesLeft"],
    )
    return jsonify(names)


@blueprint.get("/external-task/<task_id>/errorDetails", endpoint="external_task_error_details")
@require(Scope.WORKER)
def error_details(task_id: str) -> Response:
    """The full details of the last failure, as text/plain."""
    details = task_views.error_details(_runtime().engine, current_principal(), task_id)
    if details is None:
        return _no_content()  # Camunda's REST layer answers a null String with 204
    return Response(details, status=200, mimetype="text/plain")


# -- admin-ish changes (a worker of the agency may make them too, as in Camunda) --------------


@blueprint.put("/external-task/<task_id>/retries", endpoint="external_task_set_retries")
@require(Scope.WORKER)
def set_retries(task_id: str) -> Response:
    """Set retries: > 0 resolves an incident, 0 creates one."""
    retries = integer(json_object(), "retries", required=True, minimum=0, maximum=2**31 - 1) or 0
    task_failures.set_retries(_runtime().engine, current_principal(), task_id, retries)
    return _no_content()


@blueprint.put("/external-task/retries", endpoint="external_task_set_retries_sync")
@require(Scope.WORKER)
def set_retries_sync() -> Response:
    """Set retries on several tasks at once, all or nothing."""
    body = json_object()
    retries = integer(body, "retries", required=True, minimum=0, maximum=2**31 - 1) or 0
    task_ids = string_list(body, "externalTaskIds") or []
    instance_ids = string_list(body, "processInstanceIds") or []
    if not task_ids and not instance_ids:
        raise InvalidInput("externalTaskIds or processInstanceIds is required")
    task_failures.set_retries_many(
        _runtime().engine, current_principal(), task_ids, retries, instance_ids=instance_ids
    )
    return _no_content()


@blueprint.put("/external-task/<task_id>/priority", endpoint="external_task_set_priority")
@require(Scope.WORKER)
def set_priority(task_id: str) -> Response:
    """Change a task's priority."""
    priority = integer(json_object(), "priority", required=True, minimum=-(2**31), maximum=2**31 - 1)
    task_locks.set_priority(_runtime().engine, current_principal(), task_id, priority or 0)
    return _no_content()
