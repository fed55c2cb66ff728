"""Deploying diagrams and finding process definitions.

Same process key with changed content -> version + 1; unchanged content -> the existing
version (duplicate filtering, as Camunda's ``deploy-changed-only``); running instances
keep the version they started on because they reference the definition row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..bpmn.compiler import CompiledProcess, Resource, compile_resources
from ..bpmn.problems import Problem
from ..bpmn.serializer import StateSerializer
from ..clock import utcnow
from ..engine import Engine
from ..errors import Conflict, DeploymentRefused, NotFound
from ..store.models import Deployment, ProcessDefinition, ProcessInstance
from .variables import check_variables


@dataclass
class DeploymentResult:
    deployment: Deployment | None
    definitions: list[ProcessDefinition]  # newly created versions
    unchanged: list[ProcessDefinition] = field(default_factory=list)  # deduplicated, already there
    warnings: list[Problem] = field(default_factory=list)


def latest_definition(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
    ).first()


def get_definition(engine: Engine, key: str, version: int | None = None) -> ProcessDefinition:
    with engine.db.read() as session:
        if version is None:
            definition = latest_definition(session, key)
        else:
            definition = session.scalars(
                select(ProcessDefinition).where(
                    ProcessDefinition.key == key, ProcessDefinition.version == version
                )
            ).first()
    if definition is None:
        raise NotFound(
            f"no process definition with key '{key}'" + (f" and version {version}" if version else "")
        )
    return definition


def get_definition_by_id(engine: Engine, definition_id: str) -> ProcessDefinition:
    with engine.db.read() as session:
        definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"process definition '{definition_id}' does not exist")
    return definition


def start_definition_by_id(
    engine: Engine,
    definition_id: str,
    *,
    business_key: str | None = None,
    variables: dict[str, Any] | None = None,
    actor: str | None = None,
) -> ProcessInstance:
    """Start exactly this version (Camunda's ``/process-definition/{id}/start``), not the newest."""
    definition = get_definition_by_id(engine, definition_id)
    return engine.start(
        definition, business_key=business_key, variables=check_variables(variables), actor=actor
    )


def list_latest_definitions(engine: Engine) -> list[ProcessDefinition]:
    with engine.db.read() as session:
        newest = (
            select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
            .group_by(ProcessDefinition.key)
            .subquery()
        )
        return list(
            session.scalars(
                select(ProcessDefinition)
                .join(
                    newest,
                    (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.version),
                )
                .order_by(ProcessDefinition.key)
            )
        )


def validate(engine: Engine | None, resources: Iterable[Resource]) -> list[Problem]:
    """Every problem a deployment of these files would meet (called processes included)."""
    return compile_resources(resources, _deployed_lookup(engine) if engine else None).problems


def deploy(
    engine: Engine,
    resources: list[Resource],
    *,
    name: str | None = None,
    source: str | None = None,
    tenant_id: str | None = None,
    changed_only: bool = True,
) -> DeploymentResult:
    """Check, parse and store; refuses the whole deployment if any file has an error."""
    compilation = compile_resources(resources, _deployed_lookup(engine))
    if not compilation.ok:
        raise DeploymentRefused(
            f"{len(compilation.errors)} problem(s) prevent deployment", compilation.errors
        )
    warnings = [p for p in compilation.problems if p.severity != "error"]
    now = utcnow()
    serializer = engine.serializer()
    try:
        with engine.db.write() as session:
            result = _store(
                session, compilation.processes, serializer, now, name, source, tenant_id, changed_only
            )
    except IntegrityError as error:
        raise Conflict("another deployment of the same process ran at the same time: deploy again") from error
    for compiled, definition in zip(_created(compilation.processes, result), result.definitions, strict=True):
        engine.specs.put(
            definition.id,
            definition.key,
            compiled.spec,
            compiled.subprocess_specs,
            compiled.properties.get("properties") or {},
        )
    result.warnings = warnings
    return result


def _created(processes: list[CompiledProcess], result: DeploymentResult) -> list[CompiledProcess]:
    created_keys = [d.key for d in result.definitions]
    return [p for p in processes if p.key in created_keys]


def _store(
    session: Session,
    processes: list[CompiledProcess],
    serializer: StateSerializer,
    now,
    name: str | None,
    source: str | None,
    tenant_id: str | None,
    changed_only: bool,
) -> DeploymentResult:
    result = DeploymentResult(deployment=None, definitions=[])
    for compiled in processes:
        latest = latest_definition(session, compiled.key)
        if changed_only and latest is not None and latest.content_hash == compiled.content_hash:
            result.unchanged.append(latest)
            continue
        if result.deployment is None:
            result.deployment = Deployment(
                id=str(uuid.uuid4()), name=name, source=source, tenant_id=tenant_id, deployed_at=now
            )
            session.add(result.deployment)
            session.flush()
        version = (latest.version if latest else 0) + 1
        definition = ProcessDefinition(
            id=f"{compiled.key}:{version}:{compiled.content_hash[:12]}",
            key=compiled.key,
            version=version,
            name=compiled.name,
            version_tag=compiled.version_tag,
            resource_name=compiled.resource.name,
            content_hash=compiled.content_hash,
            bpmn_xml=compiled.resource.content,
            spec_state=serializer.dump_specs(compiled.spec, compiled.subprocess_specs),
            serializer_version=StateSerializer.version,
            properties=compiled.properties,
            start_message=compiled.start_message,
            deployment_id=result.deployment.id,
            deployed_at=now,
        )
        session.add(definition)
        result.definitions.append(definition)
    session.flush()
    return result


def _deployed_lookup(engine: Engine):
    def lookup(key: str) -> Resource | None:
        with engine.db.read() as session:
            definition = latest_definition(session, key)
        return Resource(definition.resource_name, definition.bpmn_xml) if definition else None

    return lookup


def resources_from_paths(paths: Iterable[Path]) -> list[Resource]:
    """Read files as resources; a directory contributes its ``*.bpmn`` files."""
    resources: list[Resource] = []
    for path in paths:
        files = sorted(path.glob("*.bpmn")) if path.is_dir() else [path]
        resources.extend(Resource(str(f), f.read_bytes()) for f in files)
    return resources
