"""``POST /engine-rest/message``: deliver a message to a waiting instance or start one.

Body: ``messageName``, ``businessKey``, ``processInstanceId``, ``correlationKeys`` and
``processVariables`` (typed), ``tenantId``/``withoutTenantId``, ``startMessagesOnly``,
``all``, ``resultEnabled``, ``variablesInResultEnabled``.  204, or 200 with the results.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, json

from orchestrator.access import Scope
from orchestrator.engine import Engine
from orchestrator.errors import InvalidInput
from orchestrator.services import camunda_queries
from orchestrator.services.message_correlation import (
    EXECUTION,
    Correlation,
    MessageRequest,
    MismatchingCorrelation,
    correlate,
)

from ..auth import current_principal, require
from . import blueprint as _blueprint
from .dto import instance_json
from .request_params import body_bool, json_body, optional_str
from .variables import decode_variables, encode_variables

blueprint: Blueprint = _blueprint
# Camunda features without an equivalent here: refused rather than silently ignored.
_UNSUPPORTED = ("localCorrelationKeys", "processVariablesLocal", "processVariablesToTriggeredScope")


def _engine() -> Engine:
    return current_app.extensions["lienthong"].engine


@blueprint.post("/message")
@require(Scope.DESK)
def message_correlate() -> Response | list[dict[str, Any]]:
    """Correlate the message (Camunda semantics: waiting instances first, then start events)."""
    body = json_body()
    for name in _UNSUPPORTED:
        if body.get(name):
            raise InvalidInput(f"{name} is not supported here")
    message_name = optional_str(body, "messageName")
    if not message_name:
        raise InvalidInput("messageName is required")
    request = MessageRequest(
        name=message_name,
        business_key=optional_str(body, "businessKey"),
        instance_id=optional_str(body, "processInstanceId"),
        correlation_keys=decode_variables(body.get("correlationKeys"), where="correlationKeys"),
        variables=decode_variables(body.get("processVariables"), where="processVariables"),
        tenant_id=optional_str(body, "tenantId"),
        without_tenant_id=body_bool(body, "withoutTenantId"),
        start_messages_only=body_bool(body, "startMessagesOnly"),
        all=body_bool(body, "all"),
    )
    engine = _engine()
    try:
        results = correlate(engine, request, actor=current_principal().name)
    except MismatchingCorrelation as error:
        mismatch = {"type": "MismatchingMessageCorrelationException", "message": error.detail, "code": None}
        return Response(json.dumps(mismatch, ensure_ascii=False), status=400, mimetype="application/json")
    if not body_bool(body, "resultEnabled"):
        return Response(status=204)
    with_variables = body_bool(body, "variablesInResultEnabled")
    return [_result_json(engine, result, with_variables) for result in results]


def _result_json(engine: Engine, result: Correlation, with_variables: bool) -> dict[str, Any]:
    """Camunda's MessageCorrelationResultWithVariableDto.

    There are no executions here: the instance stands for the execution that got the message.
    """
    record = camunda_queries.instance_record(engine.db, result.instance_id)
    body: dict[str, Any] = {"resultType": result.result_type, "execution": None, "processInstance": None}
    if result.result_type == EXECUTION:
        body["execution"] = {
            "id": record.id,
            "processInstanceId": record.id,
            "ended": record.ended,
            "tenantId": record.tenant_id,
        }
    else:
        body["processInstance"] = instance_json(record)
    if with_variables:
        body["variables"] = encode_variables(record.variables)
    return body
