"""Camunda 7 DTO shapes: deployments, process definitions, process instances.

Field names and nulls follow Camunda's REST API so that its clients (Camunda Modeler, the
external-task clients, Cockpit-like tools) can read them unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from flask import url_for

from orchestrator.services.camunda_queries import DefinitionRecord, InstanceRecord
from orchestrator.store.models import Deployment

from .variables import camunda_date, encode_variables

# camunda:historyTimeToLive is days, either "180" or ISO "P180D"; Camunda reports days.
_TTL = re.compile(r"^(?:P)?(\d+)D?$")


def _history_time_to_live(properties: dict[str, Any]) -> int | None:
    text = str((properties.get("camunda") or {}).get("historyTimeToLive") or "")
    match = _TTL.match(text.strip())
    return int(match.group(1)) if match else None


def definition_json(record: DefinitionRecord) -> dict[str, Any]:
    """Camunda's ProcessDefinitionDto."""
    definition = record.definition
    camunda = (definition.properties or {}).get("camunda") or {}
    return {
        "id": definition.id,
        "key": definition.key,
        "category": None,
        "description": None,
        "name": definition.name,
        "version": definition.version,
        "resource": definition.resource_name,
        "deploymentId": definition.deployment_id,
        "diagram": None,
        "suspended": False,
        "tenantId": record.tenant_id,
        "versionTag": definition.version_tag,
        "historyTimeToLive": _history_time_to_live(definition.properties or {}),
        "startableInTasklist": str(camunda.get("isStartableInTasklist", "true")).lower() != "false",
    }


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    """Camunda's DeploymentDto (without the deployed-definitions maps)."""
    return {
        "links": [
            {
                "method": "GET",
                "href": url_for("camunda.deployment_get", deployment_id=deployment.id, _external=True),
                "rel": "self",
            }
        ],
        "id": deployment.id,
        "name": deployment.name,
        "source": deployment.source,
        "deploymentTime": camunda_date(deployment.deployed_at),
        "tenantId": deployment.tenant_id,
    }


def instance_json(record: InstanceRecord, *, with_variables: bool = False) -> dict[str, Any]:
    """Camunda's ProcessInstanceDto, or ProcessInstanceWithVariablesDto when asked."""
    body: dict[str, Any] = {
        "links": [
            {
                "method": "GET",
                "href": url_for("camunda.process_instance_get", instance_id=record.id, _external=True),
                "rel": "self",
            }
        ],
        "id": record.id,
        "definitionId": record.definition_id,
        "businessKey": record.business_key,
        "caseInstanceId": None,
        "ended": record.ended,
        "suspended": False,
        "tenantId": record.tenant_id,
    }
    if with_variables:
        body["variables"] = encode_variables(record.variables)
    return body
