"""``/engine-rest/process-instance/{id}``: the instance and its variables.

Desks and admins see every instance.  The external-task clients read variables with an
agency's worker token: a worker sees an instance only if its agency has or had a task
there; any other instance is "not found", so its existence does not leak.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from orchestrator.access import Principal, Scope
from orchestrator.engine import Engine
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.services import camunda_queries, process_variables

from ..auth import Forbidden, current_principal, require
from . import blueprint as _blueprint
from .dto import instance_json
from .request_params import json_body
from .variables import decode_variables, encode_value, encode_variables

blueprint: Blueprint = _blueprint


def _engine() -> Engine:
    return current_app.extensions["lienthong"].engine


def _readable(instance_id: str) -> camunda_queries.InstanceRecord:
    """The instance, if this caller may read it (403 without a suitable scope, else 404)."""
    principal: Principal = current_principal()
    if not (principal.allows(Scope.DESK) or Scope.WORKER in principal.scopes):
        raise Forbidden("this call needs the 'desk' or 'worker' scope")
    engine = _engine()
    record = camunda_queries.instance_record(engine.db, instance_id)
    if principal.allows(Scope.DESK):
        return record
    if principal.agency is None or not camunda_queries.agency_took_part(
        engine.db, instance_id, principal.agency
    ):
        raise NotFound(f"Process instance with id {instance_id} does not exist")
    return record


@blueprint.get("/process-instance/<instance_id>")
def process_instance_get(instance_id: str) -> dict[str, Any]:
    """Camunda's ProcessInstanceDto; unlike Camunda, an ended instance is still shown."""
    return instance_json(_readable(instance_id))


@blueprint.get("/process-instance/<instance_id>/variables")
def process_instance_variables(instance_id: str) -> dict[str, Any]:
    """All variables, typed (``deserializeValues`` is accepted: values are JSON anyway)."""
    return encode_variables(_readable(instance_id).variables)


@blueprint.get("/process-instance/<instance_id>/variables/<name>")
def process_instance_variable(instance_id: str, name: str) -> dict[str, Any]:
    variables = _readable(instance_id).variables
    if name not in variables:
        raise NotFound(f"process instance variable with name {name} does not exist")
    return encode_value(variables[name])


@blueprint.post("/process-instance/<instance_id>/variables")
@require(Scope.DESK)
def process_instance_modify_variables(instance_id: str) -> Response:
    """``{modifications: {name: {value, type}}, deletions: [name]}`` as one step; 204."""
    body = json_body()
    deletions = body.get("deletions") or []
    if not isinstance(deletions, list):
        raise InvalidInput("deletions must be a list of variable names")
    _modify(instance_id, decode_variables(body.get("modifications"), where="modifications"), deletions)
    return Response(status=204)


@blueprint.put("/process-instance/<instance_id>/variables/<name>")
@require(Scope.DESK)
def process_instance_put_variable(instance_id: str, name: str) -> Response:
    _modify(instance_id, decode_variables({name: json_body()}), [])
    return Response(status=204)


@blueprint.delete("/process-instance/<instance_id>/variables/<name>")
@require(Scope.DESK)
def process_instance_delete_variable(instance_id: str, name: str) -> Response:
    _modify(instance_id, {}, [name])
    return Response(status=204)


def _modify(instance_id: str, modifications: dict[str, Any], deletions: list[Any]) -> None:
    process_variables.modify_variables(
        _engine(),
        instance_id,
        modifications=modifications,
        deletions=deletions,
        actor=current_principal().name,
    )
