"""Parsing and validating external-task request bodies and query strings, Camunda's way.

Everything invalid is an ``InvalidInput`` (a Camunda-shaped 400) raised before any
service is called, so a bad request changes nothing.  What the real clients send is
accepted: ``"sorting": null``, topic ``"variables": null``, ``"processVariables": {}``,
unknown fields (ignored), numbers written as ``300000.0``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from orchestrator.errors import InvalidInput
from orchestrator.services.task_filters import TopicRequest
from orchestrator.services.task_polling import MAX_ASYNC_RESPONSE_TIMEOUT_MS
from orchestrator.services.task_views import SORT_COLUMNS, TaskQuery, TaskSorting

from .variables import decode_variables, parse_camunda_date

MAX_TASKS = 1_000
MAX_DURATION_MS = 10 * 366 * 24 * 3600 * 1000  # ten years: longer is a typo, and would overflow
MAX_ID_LENGTH = 255  # the lock_owner column


def json_object() -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` (the JS client's ``unlock`` sends ``{}``)."""
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug answers 413 here
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("the request body is not valid JSON") from error
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


# -- typed fields -------------------------------------------------------------------------


def string(body: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 4000) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key} is required")
        return None
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise InvalidInput(f"{key} must be a string of at most {limit} characters")
    return value


def worker_id(body: Mapping[str, Any]) -> str:
    value = string(body, "workerId", required=True, limit=MAX_ID_LENGTH)
    assert value is not None  # required
    return value


def integer(
    body: Mapping[str, Any],
    key: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key} is required")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JavaScript numbers arrive as 300000.0 from some serializers
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{key} must be an integer")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "" if minimum is None else f" >= {minimum}"
        high = "" if maximum is None else f" <= {maximum}"
        raise InvalidInput(f"{key} must be{low}{' and' if low and high else ''}{high}")
    return value


def boolean(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidInput(f"{key} must be true or false")
    return value


def string_list(body: Mapping[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value) or len(value) > 1000:
        raise InvalidInput(f"{key} must be a list of strings")
    return value


def duration_ms(body: Mapping[str, Any], key: str) -> int:
    """A required duration in milliseconds, > 0 (Camunda's ``ensurePositive``)."""
    value = integer(body, key, required=True, minimum=1, maximum=MAX_DURATION_MS)
    assert value is not None  # required
    return value


def variables(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    return decode_variables(body.get(key), where=key)


# -- fetchAndLock ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchRequest:
    worker_id: str
    max_tasks: int
    use_priority: bool
    timeout_ms: int | None
    sorting: list[TaskSorting]
    topics: list[TopicRequest]


def fetch_request(body: Mapping[str, Any]) -> FetchRequest:
    topics = body.get("topics")
    if not isinstance(topics, list):
        raise InvalidInput("topics must be a list")
    return FetchRequest(
        worker_id=worker_id(body),
        max_tasks=integer(body, "maxTasks", required=True, minimum=0, maximum=MAX_TASKS) or 0,
        use_priority=boolean(body, "usePriority"),
        timeout_ms=integer(body, "asyncResponseTimeout", minimum=0, maximum=MAX_ASYNC_RESPONSE_TIMEOUT_MS),
        sorting=_fetch_sorting(body.get("sorting")),
        topics=[_topic(entry) for entry in topics],
    )


def _fetch_sorting(value: Any) -> list[TaskSorting]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("sorting must be a list of {sortBy, sortOrder}")
    sorting = [_sorting_entry(entry) for entry in value]
    if any(s.sort_by != "createTime" for s in sorting):
        raise InvalidInput("fetchAndLock sorts only by createTime")
    return sorting


def _sorting_entry(entry: Any) -> TaskSorting:
    if not isinstance(entry, dict):
        raise InvalidInput("sorting entries must be objects {sortBy, sortOrder}")
    return sorting_of(entry.get("sortBy"), entry.get("sortOrder"))


def sorting_of(sort_by: Any, sort_order: Any) -> TaskSorting:
    if sort_by not in SORT_COLUMNS:
        raise InvalidInput(f"sortBy must be one of {', '.join(SORT_COLUMNS)}")
    if sort_order not in ("asc", "desc"):
        raise InvalidInput("sortOrder must be asc or desc")
    return TaskSorting(sort_by, sort_order == "desc")


def _topic(entry: Any) -> TopicRequest:
    if not isinstance(entry, dict):
        raise InvalidInput("each topic must be an object with topicName and lockDuration")
    definition_id = string(entry, "processDefinitionId")
    definition_key = string(entry, "processDefinitionKey")
    process_variables = entry.get("processVariables") or {}
    if not isinstance(process_variables, dict):
        raise InvalidInput("processVariables must be an object of name -> value")
    return TopicRequest(
        topic_name=string(entry, "topicName", required=True, limit=MAX_ID_LENGTH) or "",
        lock_duration_ms=duration_ms(entry, "lockDuration"),
        variables=string_list(entry, "variables"),
        local_variables=boolean(entry, "localVariables"),
        business_key=string(entry, "businessKey"),
        definition_ids=_one_or_many(definition_id, string_list(entry, "processDefinitionIdIn")),
        definition_keys=_one_or_many(definition_key, string_list(entry, "processDefinitionKeyIn")),
        version_tag=string(entry, "processDefinitionVersionTag"),
        tenant_ids=string_list(entry, "tenantIdIn"),
        without_tenant_id=boolean(entry, "withoutTenantId"),
        process_variables=process_variables,
        include_extension_properties=boolean(entry, "includeExtensionProperties"),
    )


def _one_or_many(one: str | None, many: list[str] | None) -> list[str] | None:
    if one is None:
        return many
    return [one] if many is None else [value for value in many if value == one]


# -- GET/POST /external-task (the query) ---------------------------------------------------


def query_from_args() -> TaskQuery:
    """``GET /external-task?...``: lists are comma-separated, booleans "true"/"false"."""
    args = request.args
    body: dict[str, Any] = {}
    for key, value in args.items():
        if key.endswith("In"):
            body[key] = [item for item in value.split(",") if item]
        elif key in _BOOLEAN_KEYS:
            if value not in ("true", "false"):
                raise InvalidInput(f"{key} must be true or false")
            body[key] = value == "true"
        elif key in _INTEGER_KEYS:
            body[key] = _int_arg(key, value)
        else:
            body[key] = value
    sort_by, sort_order = args.get("sortBy"), args.get("sortOrder")
    if (sort_by is None) != (sort_order is None):
        raise InvalidInput("sortBy and sortOrder go together")
    if sort_by is not None:
        body["sorting"] = [{"sortBy": sort_by, "sortOrder": sort_order}]
    return query_from_body(body)


_BOOLEAN_KEYS = {"locked", "notLocked", "withRetriesLeft", "noRetriesLeft", "active", "suspended"}
_INTEGER_KEYS = {"priorityHigherThanOrEquals", "priorityLowerThanOrEquals", "firstResult", "maxResults"}


def _int_arg(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as error:
        raise InvalidInput(f"{key} must be an integer") from error


def boolean_args(*names: str) -> dict[str, bool]:
    """Boolean query-string flags (absent = false)."""
    flags = {}
    for name in names:
        value = request.args.get(name, "false")
        if value not in ("true", "false"):
            raise InvalidInput(f"{name} must be true or false")
        flags[name] = value == "true"
    return flags


def query_from_body(body: Mapping[str, Any]) -> TaskQuery:
    """``POST /external-task``: the same filters as a JSON object; paging from the query string."""
    paging = {k: _int_arg(k, v) for k, v in request.args.items() if k in ("firstResult", "maxResults")}
    paging = {**{k: body[k] for k in ("firstResult", "maxResults") if k in body}, **paging}
    sorting = body.get("sorting")
    if sorting is not None and not isinstance(sorting, list):
        raise InvalidInput("sorting must be a list of {sortBy, sortOrder}")
    task_id = string(body, "externalTaskId")
    instance_id = string(body, "processInstanceId")
    activity_id = string(body, "activityId")
    return TaskQuery(
        ids=_one_or_many(task_id, string_list(body, "externalTaskIdIn")),
        topic=string(body, "topicName"),
        worker_id=string(body, "workerId"),
        locked=boolean(body, "locked"),
        not_locked=boolean(body, "notLocked"),
        with_retries_left=boolean(body, "withRetriesLeft"),
        no_retries_left=boolean(body, "noRetriesLeft"),
        lock_expiration_after=_date(body, "lockExpirationAfter"),
        lock_expiration_before=_date(body, "lockExpirationBefore"),
        activity_ids=_one_or_many(activity_id, string_list(body, "activityIdIn")),
        instance_ids=_one_or_many(instance_id, string_list(body, "processInstanceIdIn")),
        definition_id=string(body, "processDefinitionId"),
        active=boolean(body, "active"),
        suspended=boolean(body, "suspended"),
        priority_at_least=integer(body, "priorityHigherThanOrEquals"),
        priority_at_most=integer(body, "priorityLowerThanOrEquals"),
        tenant_ids=string_list(body, "tenantIdIn"),
        sorting=[_sorting_entry(entry) for entry in sorting or []],
        first_result=integer(paging, "firstResult", minimum=0) or 0,
        max_results=integer(paging, "maxResults", minimum=0),
    )


def _date(body: Mapping[str, Any], key: str) -> Any:
    value = string(body, key, limit=64)
    return None if value is None else parse_camunda_date(value)
