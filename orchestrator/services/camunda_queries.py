"""Read-side queries behind the Camunda 7 REST surface.

Filtered definition and deployment lists, per-activity statistics from the projections,
and whether a worker's agency may read an instance.  Nothing here changes state.
A definition's tenant is its deployment's (Camunda's tenant-id form field).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..store.db import Database
from ..store.models import Deployment, Event, ExternalTaskRow, ProcessDefinition, ProcessInstance

# Statuses Camunda would no longer list as runtime instances.
ENDED_STATUSES = frozenset({"completed", "cancelled"})
# A waiting boundary event is a subscription, not an activity instance, in Camunda's statistics.
_NOT_ACTIVITY_INSTANCES = frozenset({"BoundaryEvent"})


@dataclass(frozen=True)
class DefinitionRecord:
    """A process definition with the tenant of the deployment that brought it."""

    definition: ProcessDefinition
    tenant_id: str | None


@dataclass
class DefinitionQuery:
    """The subset of Camunda's ``GET /process-definition`` filters supported here."""

    ids: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    key_like: str | None = None
    name: str | None = None
    name_like: str | None = None
    deployment_id: str | None = None
    version: int | None = None
    latest_version: bool = False
    resource_name: str | None = None
    version_tag: str | None = None
    version_tag_like: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    include_without_tenant_id: bool = False
    suspended: bool | None = None
    sort_by: str | None = None
    descending: bool = False
    first_result: int = 0
    max_results: int | None = None


_DEFINITION_SORTS: dict[str, Any] = {
    "id": ProcessDefinition.id,
    "key": ProcessDefinition.key,
    "name": ProcessDefinition.name,
    "version": ProcessDefinition.version,
    "deploymentId": ProcessDefinition.deployment_id,
    "deployTime": ProcessDefinition.deployed_at,
    "tenantId": Deployment.tenant_id,
    "versionTag": ProcessDefinition.version_tag,
}


def _with_tenant() -> Select[Any]:
    return select(ProcessDefinition, Deployment.tenant_id).join(
        Deployment, ProcessDefinition.deployment_id == Deployment.id
    )


def _newest_versions() -> Any:
    return (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
        .group_by(ProcessDefinition.key)
        .subquery()
    )


def _tenant_filter(
    statement: Select[Any], tenant_ids: list[str], without_tenant_id: bool, include_without: bool = False
) -> Select[Any]:
    if without_tenant_id:
        return statement.where(Deployment.tenant_id.is_(None))
    if tenant_ids:
        condition = Deployment.tenant_id.in_(tenant_ids)
        if include_without:
            condition = or_(condition, Deployment.tenant_id.is_(None))
        return statement.where(condition)
    return statement


def _filtered(query: DefinitionQuery) -> Select[Any]:
    statement = _with_tenant()
    exact = {
        ProcessDefinition.name: query.name,
        ProcessDefinition.deployment_id: query.deployment_id,
        ProcessDefinition.version: query.version,
        ProcessDefinition.resource_name: query.resource_name,
        ProcessDefinition.version_tag: query.version_tag,
    }
    for column, value in exact.items():
        if value is not None:
            statement = statement.where(column == value)
    # Camunda passes *Like patterns to SQL LIKE as given (the client supplies the %).
    likes = {
        ProcessDefinition.key: query.key_like,
        ProcessDefinition.name: query.name_like,
        ProcessDefinition.version_tag: query.version_tag_like,
    }
    for column, pattern in likes.items():
        if pattern is not None:
            statement = statement.where(column.like(pattern))
    if query.ids:
        statement = statement.where(ProcessDefinition.id.in_(query.ids))
    if query.keys:
        statement = statement.where(ProcessDefinition.key.in_(query.keys))
    if query.latest_version:
        newest = _newest_versions()
        statement = statement.join(
            newest,
            (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.version),
        )
    if query.suspended:  # nothing is ever suspended here
        statement = statement.where(false())
    return _tenant_filter(
        statement, query.tenant_ids, query.without_tenant_id, query.include_without_tenant_id
    )


def find_definitions(db: Database, query: DefinitionQuery) -> list[DefinitionRecord]:
    """Definitions matching ``query``, sorted and paged as Camunda's list call does."""
    statement = _filtered(query)
    if query.sort_by is not None:
        column = _DEFINITION_SORTS.get(query.sort_by)
        if column is None:
            raise InvalidInput(
                f"sortBy '{query.sort_by}' is not supported (use one of {', '.join(_DEFINITION_SORTS)})"
            )
        statement = statement.order_by(column.desc() if query.descending else column.asc())
    statement = statement.order_by(ProcessDefinition.key, ProcessDefinition.version)
    statement = statement.offset(query.first_result)
    if query.max_results is not None:
        statement = statement.limit(query.max_results)
    with db.read() as session:
        return [DefinitionRecord(definition, tenant) for definition, tenant in session.execute(statement)]


def count_definitions(db: Database, query: DefinitionQuery) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(_filtered(query).subquery())) or 0


def definition_record(db: Database, definition_id: str) -> DefinitionRecord:
    """One definition by id, with its tenant (404 if unknown)."""
    with db.read() as session:
        row = session.execute(_with_tenant().where(ProcessDefinition.id == definition_id)).first()
    if row is None:
        raise NotFound(f"No matching definition with id {definition_id}")
    return DefinitionRecord(row[0], row[1])


def latest_definition_record(db: Database, key: str, tenant_id: str | None = None) -> DefinitionRecord:
    """The newest version of ``key`` (of that tenant's deployments when a tenant is given)."""
    statement = _with_tenant().where(ProcessDefinition.key == key)
    if tenant_id is not None:
        statement = statement.where(Deployment.tenant_id == tenant_id)
    statement = statement.order_by(ProcessDefinition.version.desc()).limit(1)
    with db.read() as session:
        row = session.execute(statement).first()
    if row is None:
        tenant = f" and tenant-id {tenant_id}" if tenant_id is not None else ""
        raise NotFound(f"No matching process definition with key: {key}{tenant}")
    return DefinitionRecord(row[0], row[1])


def definitions_started_by(
    db: Database, message_name: str, *, tenant_id: str | None = None, without_tenant_id: bool = False
) -> list[ProcessDefinition]:
    """Newest versions whose start event waits for ``message_name``, newest deployment first.

    Only a key's newest version counts: as in Camunda, deploying a version without the
    message start event ends that key's subscription to the message.
    """
    newest = _newest_versions()
    statement = (
        _with_tenant()
        .join(
            newest,
            (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.version),
        )
        .where(ProcessDefinition.start_message == message_name)
        .order_by(ProcessDefinition.deployed_at.desc(), ProcessDefinition.key)
    )
    statement = _tenant_filter(statement, [tenant_id] if tenant_id else [], without_tenant_id)
    with db.read() as session:
        return [definition for definition, _tenant in session.execute(statement)]


# -- deployments ------------------------------------------------------------------------


@dataclass
class DeploymentQuery:
    id: str | None = None
    name: str | None = None
    name_like: str | None = None
    source: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    descending: bool = False
    first_result: int = 0
    max_results: int | None = None


def _deployments(query: DeploymentQuery) -> Select[Any]:
    statement = select(Deployment)
    for column, value in {
        Deployment.id: query.id,
        Deployment.name: query.name,
        Deployment.source: query.source,
    }.items():
        if value is not None:
            statement = statement.where(column == value)
    if query.name_like is not None:
        statement = statement.where(Deployment.name.like(query.name_like))
    return _tenant_filter(statement, query.tenant_ids, query.without_tenant_id)


def find_deployments(db: Database, query: DeploymentQuery) -> list[Deployment]:
    """Deployments by deployment time (oldest first unless ``descending``), paged."""
    order = Deployment.deployed_at.desc() if query.descending else Deployment.deployed_at.asc()
    statement = _deployments(query).order_by(order, Deployment.id).offset(query.first_result)
    if query.max_results is not None:
        statement = statement.limit(query.max_results)
    with db.read() as session:
        return list(session.scalars(statement))


def count_deployments(db: Database, query: DeploymentQuery) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(_deployments(query).subquery())) or 0


def get_deployment(db: Database, deployment_id: str) -> Deployment:
    with db.read() as session:
        deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"Deployment with id '{deployment_id}' does not exist")
    return deployment


# -- instances --------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceRecord:
    """What Camunda's ProcessInstanceDto shows of an instance."""

    id: str
    definition_id: str
    business_key: str | None
    status: str
    tenant_id: str | None
    variables: dict[str, Any]

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


def instance_record(db: Database, instance_id: str) -> InstanceRecord:
    """One instance with its tenant and projected variables (404 if unknown)."""
    statement = (
        select(ProcessInstance, Deployment.tenant_id)
        .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
        .join(Deployment, ProcessDefinition.deployment_id == Deployment.id)
        .where(ProcessInstance.id == instance_id)
    )
    with db.read() as session:
        row = session.execute(statement).first()
    if row is None:
        raise NotFound(f"Process instance with id {instance_id} does not exist")
    instance, tenant = row
    return InstanceRecord(
        instance.id, instance.definition_id, instance.business_key, instance.status, tenant,
        dict(instance.variables or {}),
    )  # fmt: skip


def agency_took_part(db: Database, instance_id: str, agency: str) -> bool:
    """True when ``agency`` has, or had, an external task in the instance.

    Open tasks are in the projection; finished ones only in history (``handed_over``).
    """
    with db.read() as session:
        if session.scalar(
            select(ExternalTaskRow.id)
            .where(ExternalTaskRow.instance_id == instance_id, ExternalTaskRow.agency == agency)
            .limit(1)
        ):
            return True
        # The JSON payload is filtered here, not in SQL, to stay portable across dialects;
        # an instance has few hand-overs.
        handed = session.scalars(
            select(Event.data).where(Event.instance_id == instance_id, Event.type == "handed_over")
        )
        return any((data or {}).get("agency") == agency for data in handed)


# -- statistics -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityStatistics:
    activity_id: str
    instances: int
    incidents: int


def activity_statistics(db: Database, definition_id: str) -> list[ActivityStatistics]:
    """Per activity of one definition: running instances there, and external-task incidents."""
    with db.read() as session:
        instances = _instances_per_activity(session, definition_id)
        incidents = dict(
            session.execute(
                select(ExternalTaskRow.activity_id, func.count())
                .where(ExternalTaskRow.definition_id == definition_id, ExternalTaskRow.incident.is_(True))
                .group_by(ExternalTaskRow.activity_id)
            ).all()
        )
    return [
        ActivityStatistics(activity, instances.get(activity, 0), incidents.get(activity, 0))
        for activity in sorted(set(instances) | set(incidents))
    ]


def _instances_per_activity(session: Session, definition_id: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    activities = session.scalars(
        select(ProcessInstance.current_activities).where(
            ProcessInstance.definition_id == definition_id, ProcessInstance.status == "running"
        )
    )
    for current in activities:
        counts.update(a["id"] for a in current or [] if a.get("type") not in _NOT_ACTIVITY_INSTANCES)
    return counts
