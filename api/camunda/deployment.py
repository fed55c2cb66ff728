"""``/engine-rest/deployment``: Camunda Modeler's Deploy button, and its connection check.

Camunda Modeler posts ``multipart/form-data``: the fields ``deployment-name``,
``deployment-source``, ``enable-duplicate-filtering`` (and optionally ``tenant-id``,
``deploy-changed-only``, ``deployment-activation-time``), then one part per file, named
after the file.  Before deploying it checks the endpoint with ``GET /deployment?maxResults=0``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, Response, current_app, json, request

from orchestrator.access import Scope
from orchestrator.bpmn.compiler import Resource
from orchestrator.bpmn.problems import Problem
from orchestrator.clock import utcnow
from orchestrator.engine import Engine
from orchestrator.errors import DeploymentRefused, InvalidInput
from orchestrator.services import camunda_queries, definitions
from orchestrator.services.camunda_queries import DefinitionRecord, DeploymentQuery

from ..auth import require
from . import blueprint as _blueprint
from .dto import definition_json, deployment_json
from .request_params import parse_bool, query_int, query_list, require_any, sort_descending
from .variables import parse_camunda_date

blueprint: Blueprint = _blueprint

_BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
# Camunda Modeler recognises this prefix and labels the error "could not parse the diagram".
_PARSE_ERROR_PREFIX = "ENGINE-09005 Could not parse BPMN process. Errors:"
_MAX_TEXT = {"deployment-name": 255, "deployment-source": 255, "tenant-id": 64}


def _engine() -> Engine:
    return current_app.extensions["lienthong"].engine


@blueprint.post("/deployment/create")
@require(Scope.ANALYST)
def deployment_create() -> Response | dict[str, Any]:
    """Deploy the uploaded BPMN files; Camunda's DeploymentWithDefinitionsDto or a ParseException."""
    fields = {name: _form_text(name) for name in _MAX_TEXT}
    # Camunda: deploy-changed-only implies duplicate filtering.
    changed_only = bool(
        parse_bool(request.form.get("enable-duplicate-filtering"), "enable-duplicate-filtering")
        or parse_bool(request.form.get("deploy-changed-only"), "deploy-changed-only")
    )
    _check_activation_time(request.form.get("deployment-activation-time"))
    resources = _uploaded_resources()
    engine = _engine()
    try:
        result = definitions.deploy(
            engine,
            resources,
            name=fields["deployment-name"],
            source=fields["deployment-source"],
            tenant_id=fields["tenant-id"],
            changed_only=changed_only,
        )
    except DeploymentRefused as refused:
        # Compiled again only on this failure path, to report the warnings beside the errors.
        warnings = [p for p in definitions.validate(engine, resources) if p.severity != "error"]
        return _parse_exception(refused.problems + warnings)
    deployment = result.deployment
    if deployment is None:  # nothing changed: Camunda answers with the existing deployment
        deployment = camunda_queries.get_deployment(engine.db, result.unchanged[0].deployment_id)
    body = deployment_json(deployment)
    body["deployedProcessDefinitions"] = {
        d.id: definition_json(DefinitionRecord(d, deployment.tenant_id)) for d in result.definitions
    }
    body.update(
        deployedCaseDefinitions=None,
        deployedDecisionDefinitions=None,
        deployedDecisionRequirementsDefinitions=None,
    )
    return body


def _form_text(name: str) -> str | None:
    value = (request.form.get(name) or "").strip()
    if len(value) > _MAX_TEXT[name]:
        raise InvalidInput(f"{name} is longer than {_MAX_TEXT[name]} characters")
    return value or None


def _check_activation_time(value: str | None) -> None:
    """Definitions cannot be suspended here, so a future activation cannot be honoured."""
    if value and parse_camunda_date(value) > utcnow():
        raise InvalidInput(
            "deployment-activation-time in the future is not supported: definitions are active when deployed"
        )


def _uploaded_resources() -> list[Resource]:
    resources = []
    for part_name, upload in request.files.items(multi=True):
        name = upload.filename or part_name
        if not name.lower().endswith(_BPMN_SUFFIXES):
            raise InvalidInput(f"'{name}' is not a BPMN diagram (.bpmn): only diagrams can be deployed here")
        resources.append(Resource(name, upload.read()))
    if not resources:
        raise InvalidInput("No deployment resources contained in the form upload.")
    return resources


def _parse_exception(problems: list[Problem]) -> Response:
    """Camunda 7.17+'s body for a refused diagram; Modeler shows ``message``."""
    errors = [p for p in problems if p.severity == "error"]
    details: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"errors": [], "warnings": []})
    for problem in problems:
        bucket = "errors" if problem.severity == "error" else "warnings"
        details[problem.file][bucket].append(
            {
                "message": problem.message,
                "line": problem.line,
                "column": None,
                "mainElementId": problem.element_id,
                "elementIds": [problem.element_id] if problem.element_id else [],
            }
        )
    body = {
        "type": "ParseException",
        "message": "\n".join([_PARSE_ERROR_PREFIX, *(p.format() for p in errors)]),
        "code": None,
        "details": dict(details),
    }
    return Response(json.dumps(body, ensure_ascii=False), status=400, mimetype="application/json")


@blueprint.get("/deployment")
@require_any(Scope.ANALYST, Scope.DESK)
def deployment_list() -> list[dict[str, Any]]:
    """Camunda's deployment list; Modeler calls it with ``maxResults=0`` to test the endpoint."""
    deployments = camunda_queries.find_deployments(_engine().db, _deployment_query(paged=True))
    return [deployment_json(d) for d in deployments]


@blueprint.get("/deployment/count")
@require_any(Scope.ANALYST, Scope.DESK)
def deployment_count() -> dict[str, int]:
    return {"count": camunda_queries.count_deployments(_engine().db, _deployment_query(paged=False))}


@blueprint.get("/deployment/<deployment_id>")
@require_any(Scope.ANALYST, Scope.DESK)
def deployment_get(deployment_id: str) -> dict[str, Any]:
    return deployment_json(camunda_queries.get_deployment(_engine().db, deployment_id))


def _deployment_query(*, paged: bool) -> DeploymentQuery:
    args = request.args
    sort_by = args.get("sortBy")
    if sort_by not in (None, "deploymentTime"):
        raise InvalidInput("sortBy must be 'deploymentTime' here")
    return DeploymentQuery(
        id=args.get("id"),
        name=args.get("name"),
        name_like=args.get("nameLike"),
        source=args.get("source"),
        tenant_ids=query_list("tenantIdIn"),
        without_tenant_id=bool(parse_bool(args.get("withoutTenantId"), "withoutTenantId")),
        descending=sort_descending(),
        first_result=(query_int("firstResult") or 0) if paged else 0,
        max_results=query_int("maxResults") if paged else None,
    )
