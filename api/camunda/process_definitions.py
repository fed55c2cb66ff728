"""``/engine-rest/process-definition``: listing, XML, statistics, and starting instances.

Camunda Modeler's Start button calls ``POST /process-definition/{id}/start`` with the id it
got from the deployment; the Python client starts by key (optionally per tenant).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from orchestrator.access import Scope
from orchestrator.engine import Engine
from orchestrator.services import camunda_queries, definitions
from orchestrator.services.camunda_queries import DefinitionQuery, DefinitionRecord

from ..auth import current_principal, require
from . import blueprint as _blueprint
from .dto import definition_json, instance_json
from .request_params import (
    body_bool,
    json_body,
    optional_str,
    parse_bool,
    query_bool,
    query_int,
    query_list,
    require_any,
    sort_descending,
)
from .variables import decode_variables

blueprint: Blueprint = _blueprint

# Reading definitions: analysts (Modeler), desks (starting) and admins; not agency workers.
_readers = require_any(Scope.ANALYST, Scope.DESK)


def _engine() -> Engine:
    return current_app.extensions["lienthong"].engine


def _query(*, paged: bool) -> DefinitionQuery:
    args = request.args
    active = parse_bool(args.get("active"), "active")
    suspended = parse_bool(args.get("suspended"), "suspended")
    keys = query_list("keysIn") + ([args["key"]] if args.get("key") else [])
    ids = query_list("processDefinitionIdIn") + (
        [args["processDefinitionId"]] if args.get("processDefinitionId") else []
    )
    return DefinitionQuery(
        ids=ids,
        keys=keys,
        key_like=args.get("keyLike"),
        name=args.get("name"),
        name_like=args.get("nameLike"),
        deployment_id=args.get("deploymentId"),
        version=query_int("version", minimum=1),
        latest_version=query_bool("latestVersion"),
        resource_name=args.get("resourceName"),
        version_tag=args.get("versionTag"),
        version_tag_like=args.get("versionTagLike"),
        tenant_ids=query_list("tenantIdIn"),
        without_tenant_id=query_bool("withoutTenantId"),
        include_without_tenant_id=query_bool("includeProcessDefinitionsWithoutTenantId"),
        # active=false asks for suspended ones, and nothing is suspended here.
        suspended=bool(suspended) or active is False,
        sort_by=args.get("sortBy") if paged else None,
        descending=sort_descending(),
        first_result=(query_int("firstResult") or 0) if paged else 0,
        max_results=query_int("maxResults") if paged else None,
    )


@blueprint.get("/process-definition")
@_readers
def process_definition_list() -> list[dict[str, Any]]:
    """Camunda's filtered, sorted and paged definition list."""
    records = camunda_queries.find_definitions(_engine().db, _query(paged=True))
    return [definition_json(record) for record in records]


@blueprint.get("/process-definition/count")
@_readers
def process_definition_count() -> dict[str, int]:
    return {"count": camunda_queries.count_definitions(_engine().db, _query(paged=False))}


def _by_id(definition_id: str) -> DefinitionRecord:
    return camunda_queries.definition_record(_engine().db, definition_id)


def _by_key(key: str, tenant_id: str | None = None) -> DefinitionRecord:
    return camunda_queries.latest_definition_record(_engine().db, key, tenant_id)


@blueprint.get("/process-definition/<definition_id>")
@_readers
def process_definition_get(definition_id: str) -> dict[str, Any]:
    return definition_json(_by_id(definition_id))


@blueprint.get("/process-definition/key/<key>")
@_readers
def process_definition_get_by_key(key: str) -> dict[str, Any]:
    """The newest version of ``key``."""
    return definition_json(_by_key(key))


def _xml(record: DefinitionRecord) -> dict[str, Any]:
    return {"id": record.definition.id, "bpmn20Xml": record.definition.bpmn_xml.decode("utf-8")}


@blueprint.get("/process-definition/<definition_id>/xml")
@_readers
def process_definition_xml(definition_id: str) -> dict[str, Any]:
    return _xml(_by_id(definition_id))


@blueprint.get("/process-definition/key/<key>/xml")
@_readers
def process_definition_xml_by_key(key: str) -> dict[str, Any]:
    return _xml(_by_key(key))


def _statistics(definition_id: str) -> list[dict[str, Any]]:
    """Camunda's ActivityStatisticsResultDto list; incidents are failed external tasks."""
    return [
        {
            "@class": "org.camunda.bpm.engine.rest.dto.repository.ActivityStatisticsResultDto",
            "id": stat.activity_id,
            "instances": stat.instances,
            "failedJobs": stat.incidents,
            "incidents": (
                [{"incidentType": "failedExternalTask", "incidentCount": stat.incidents}]
                if stat.incidents
                else []
            ),
        }
        for stat in camunda_queries.activity_statistics(_engine().db, definition_id)
    ]


@blueprint.get("/process-definition/<definition_id>/statistics")
@_readers
def process_definition_statistics(definition_id: str) -> list[dict[str, Any]]:
    return _statistics(_by_id(definition_id).definition.id)


@blueprint.get("/process-definition/key/<key>/statistics")
@_readers
def process_definition_statistics_by_key(key: str) -> list[dict[str, Any]]:
    return _statistics(_by_key(key).definition.id)


# -- starting ---------------------------------------------------------------------------


def _start(record: DefinitionRecord) -> dict[str, Any]:
    """Start that very definition with Camunda's start body; ProcessInstanceWithVariablesDto."""
    body = json_body()
    business_key = optional_str(body, "businessKey")
    variables = decode_variables(body.get("variables"))
    with_variables = body_bool(body, "withVariablesInReturn")
    engine = _engine()
    instance = definitions.start_definition_by_id(
        engine,
        record.definition.id,
        business_key=business_key,
        variables=variables,
        actor=current_principal().name,
    )
    return instance_json(
        camunda_queries.instance_record(engine.db, instance.id), with_variables=with_variables
    )


@blueprint.post("/process-definition/<definition_id>/start")
@require(Scope.DESK)
def process_definition_start(definition_id: str) -> dict[str, Any]:
    return _start(_by_id(definition_id))


@blueprint.post("/process-definition/key/<key>/start")
@require(Scope.DESK)
def process_definition_start_by_key(key: str) -> dict[str, Any]:
    return _start(_by_key(key))


@blueprint.post("/process-definition/key/<key>/tenant-id/<tenant_id>/start")
@require(Scope.DESK)
def process_definition_start_by_key_and_tenant(key: str, tenant_id: str) -> dict[str, Any]:
    return _start(_by_key(key, tenant_id))
