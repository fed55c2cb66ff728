"""What an agency may see of the external-task projection, and the queries over it.

Isolation lives here: every read and every change of the agency-facing API goes through
:func:`visible_to`, so a principal bound to an agency sees only its agency's rows, and a
row of another agency answers exactly like a row that does not exist (404, never 403:
ids of other agencies are not even confirmed).  Rows of in-process handlers are the
worker's business and never visible through this API, not even to admins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from ..access import Principal
from ..clock import utcnow
from ..engine import Engine
from ..errors import InvalidInput, NotFound
from ..store.models import Deployment, ExternalTaskRow, ProcessDefinition


@dataclass(frozen=True)
class TaskView:
    """One open external task as the Camunda API shows it (``ExternalTaskDto``)."""

    id: str
    topic: str
    activity_id: str
    instance_id: str
    definition_id: str
    process_key: str
    business_key: str | None
    worker_id: str | None
    lock_expires_at: datetime | None
    created_at: datetime
    retries: int | None
    error_message: str | None
    suspended: bool
    incident: bool
    priority: int
    agency: str | None
    version_tag: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True)
class LockedTask(TaskView):
    """A task just locked by fetchAndLock, with what the worker needs to do it."""

    error_details: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    extension_properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSorting:
    """One ``{sortBy, sortOrder}`` entry; ``sort_by`` is a Camunda name (see :data:`SORT_COLUMNS`)."""

    sort_by: str
    descending: bool = False


@dataclass(frozen=True)
class TaskQuery:
    """The filters of ``GET/POST /external-task`` (Camunda's ``ExternalTaskQueryDto``)."""

    ids: Sequence[str] | None = None
    topic: str | None = None
    worker_id: str | None = None
    locked: bool = False
    not_locked: bool = False
    with_retries_left: bool = False
    no_retries_left: bool = False
    lock_expiration_after: datetime | None = None
    lock_expiration_before: datetime | None = None
    activity_ids: Sequence[str] | None = None
    instance_ids: Sequence[str] | None = None
    definition_id: str | None = None
    active: bool = False
    suspended: bool = False
    priority_at_least: int | None = None
    priority_at_most: int | None = None
    tenant_ids: Sequence[str] | None = None
    sorting: Sequence[TaskSorting] = ()
    first_result: int = 0
    max_results: int | None = None


SORT_COLUMNS: dict[str, Any] = {
    "id": ExternalTaskRow.id,
    "lockExpirationTime": ExternalTaskRow.lock_expires_at,
    "processInstanceId": ExternalTaskRow.instance_id,
    "processDefinitionId": ExternalTaskRow.definition_id,
    "processDefinitionKey": ExternalTaskRow.process_key,
    "tenantId": Deployment.tenant_id,
    "taskPriority": ExternalTaskRow.priority,
    "createTime": ExternalTaskRow.created_at,
}
MAX_PAGE = 10_000  # a list larger than this is a mistake, not a use case


def not_found(task_id: str) -> NotFound:
    """The one answer for a missing task and for another agency's task alike."""
    return NotFound(f"external task '{task_id}' does not exist")


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """The rows this principal may see: its agency's agency-side tasks (admins: every agency)."""
    agency_side = ExternalTaskRow.handled_in_process == false()
    if principal.is_admin:
        return agency_side
    if principal.agency is None:
        return false()  # a worker bound to no agency owns no task
    return and_(agency_side, ExternalTaskRow.agency == principal.agency)


def visible_row(
    session: Session, principal: Principal | None, task_id: str, *, for_update: bool = False
) -> ExternalTaskRow:
    """The row if ``principal`` may see it (None = an internal caller), else the 404 error.

    ``for_update`` row-locks it on PostgreSQL, so a concurrent fetchAndLock (SKIP LOCKED)
    passes over it until this transaction ends; SQLite's writer lock already excludes one.
    """
    statement = select(ExternalTaskRow).where(ExternalTaskRow.id == task_id)
    if principal is not None:
        statement = statement.where(visible_to(principal))
    if for_update:
        # populate_existing: a row read earlier in this session must show the locked version.
        statement = statement.with_for_update(of=ExternalTaskRow).execution_options(populate_existing=True)
    row = session.execute(statement).scalar_one_or_none()
    if row is None:
        raise not_found(task_id)
    return row


def check_lock_owner(row: ExternalTaskRow, worker_id: str, verb: str) -> None:
    """Only the worker holding the lock may act (Camunda does not look at the lock's expiry)."""
    if row.lock_owner is None:
        raise InvalidInput(
            f"External Task {row.id} cannot be {verb} by worker '{worker_id}'. It is not locked."
        )
    if row.lock_owner != worker_id:
        raise InvalidInput(
            f"External Task {row.id} cannot be {verb} by worker '{worker_id}'. "
            "It is locked by a different worker."
        )


def check_active(row: ExternalTaskRow) -> None:
    """Camunda refuses to handle a suspended task (``ensureActive``)."""
    if row.suspended:
        raise InvalidInput(f"External Task {row.id} is suspended")


def _with_definition(statement: Select[Any]) -> Select[Any]:
    """Add the version tag and the deployment's tenant, which the projection row does not carry."""
    return statement.outerjoin(
        ProcessDefinition, ProcessDefinition.id == ExternalTaskRow.definition_id
    ).outerjoin(Deployment, Deployment.id == ProcessDefinition.deployment_id)


def view_of(row: ExternalTaskRow, version_tag: str | None, tenant_id: str | None) -> TaskView:
    """The view of a projection row plus its definition's version tag and tenant."""
    return TaskView(**_view_fields(row, version_tag, tenant_id))


def _view_fields(row: ExternalTaskRow, version_tag: str | None, tenant_id: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "topic": row.topic,
        "activity_id": row.activity_id,
        "instance_id": row.instance_id,
        "definition_id": row.definition_id,
        "process_key": row.process_key,
        "business_key": row.business_key,
        "worker_id": row.lock_owner,
        "lock_expires_at": row.lock_expires_at,
        "created_at": row.created_at,
        "retries": row.retries,
        "error_message": row.error_message,
        "suspended": row.suspended,
        "incident": row.incident,
        "priority": row.priority,
        "agency": row.agency,
        "version_tag": version_tag,
        "tenant_id": tenant_id,
    }


def locked_task(
    row: ExternalTaskRow,
    version_tag: str | None,
    tenant_id: str | None,
    variables: dict[str, Any],
    extension_properties: dict[str, str],
) -> LockedTask:
    """The view of a row just locked, with what the worker receives besides."""
    return LockedTask(
        **_view_fields(row, version_tag, tenant_id),
        error_details=row.error_details,
        variables=variables,
        extension_properties=extension_properties,
    )


def definition_metadata(
    session: Session, definition_ids: set[str]
) -> dict[str, tuple[str | None, str | None]]:
    """Definition id -> (version tag, tenant id), in one query."""
    if not definition_ids:
        return {}
    rows = session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version_tag, Deployment.tenant_id)
        .outerjoin(Deployment, Deployment.id == ProcessDefinition.deployment_id)
        .where(ProcessDefinition.id.in_(definition_ids))
    )
    return {definition_id: (tag, tenant) for definition_id, tag, tenant in rows}


# -- queries ---------------------------------------------------------------------------


def get_task(engine: Engine, principal: Principal, task_id: str) -> TaskView:
    """One task, or 404 (also for another agency's task)."""
    statement = _with_definition(
        select(ExternalTaskRow, ProcessDefinition.version_tag, Deployment.tenant_id)
    ).where(ExternalTaskRow.id == task_id, visible_to(principal))
    with engine.db.read() as session:
        found = session.execute(statement).first()
    if found is None:
        raise not_found(task_id)
    return view_of(*found)


def error_details(engine: Engine, principal: Principal, task_id: str) -> str | None:
    """The full details of the last reported failure (None when none were sent)."""
    with engine.db.read() as session:
        return visible_row(session, principal, task_id).error_details


def list_tasks(engine: Engine, principal: Principal, query: TaskQuery) -> list[TaskView]:
    """The visible tasks matching ``query``, sorted and paged as asked."""
    statement = _with_definition(
        select(ExternalTaskRow, ProcessDefinition.version_tag, Deployment.tenant_id)
    ).where(visible_to(principal), *_query_conditions(query, utcnow()))
    for sorting in query.sorting:
        column = SORT_COLUMNS[sorting.sort_by]
        statement = statement.order_by(column.desc() if sorting.descending else column.asc())
    # A stable order makes paging deterministic whatever the caller sorted by.
    statement = statement.order_by(ExternalTaskRow.created_at, ExternalTaskRow.id)
    limit = MAX_PAGE if query.max_results is None else min(query.max_results, MAX_PAGE)
    statement = statement.offset(query.first_result).limit(limit)
    with engine.db.read() as session:
        return [view_of(*found) for found in session.execute(statement)]


def count_tasks(engine: Engine, principal: Principal, query: TaskQuery) -> int:
    """How many visible tasks match ``query`` (paging and sorting ignored)."""
    statement = _with_definition(select(func.count()).select_from(ExternalTaskRow)).where(
        visible_to(principal), *_query_conditions(query, utcnow())
    )
    with engine.db.read() as session:
        return int(session.scalar(statement) or 0)


def topic_names(
    engine: Engine,
    principal: Principal,
    *,
    with_locked: bool = False,
    with_unlocked: bool = False,
    with_retries_left: bool = False,
) -> list[str]:
    """Distinct topics of the visible tasks (``GET /external-task/topic-names``)."""
    now = utcnow()
    statement = select(ExternalTaskRow.topic).distinct().where(visible_to(principal))
    if with_locked:
        statement = statement.where(_locked(now))
    if with_unlocked:
        statement = statement.where(~_locked(now))
    if with_retries_left:
        statement = statement.where(_retries_left())
    with engine.db.read() as session:
        return sorted(session.scalars(statement))


def _locked(now: datetime) -> ColumnElement[bool]:
    return and_(ExternalTaskRow.lock_expires_at.is_not(None), ExternalTaskRow.lock_expires_at > now)


def _retries_left() -> ColumnElement[bool]:
    return or_(ExternalTaskRow.retries.is_(None), ExternalTaskRow.retries > 0)


def _query_conditions(query: TaskQuery, now: datetime) -> list[ColumnElement[bool]]:
    row = ExternalTaskRow
    conditions: list[ColumnElement[bool]] = []
    # Equality and membership filters: (given value, column); None means "not filtered".
    for value, column in (
        (query.topic, row.topic),
        (query.worker_id, row.lock_owner),
        (query.definition_id, row.definition_id),
    ):
        if value is not None:
            conditions.append(column == value)
    for values, column in (
        (query.ids, row.id),
        (query.activity_ids, row.activity_id),
        (query.instance_ids, row.instance_id),
        (query.tenant_ids, Deployment.tenant_id),
    ):
        if values is not None:
            conditions.append(column.in_(values))
    if query.lock_expiration_after is not None:
        conditions.append(row.lock_expires_at > query.lock_expiration_after)
    if query.lock_expiration_before is not None:
        conditions.append(row.lock_expires_at < query.lock_expiration_before)
    if query.priority_at_least is not None:
        conditions.append(row.priority >= query.priority_at_least)
    if query.priority_at_most is not None:
        conditions.append(row.priority <= query.priority_at_most)
    flags: list[tuple[bool, ColumnElement[bool]]] = [
        (query.locked, _locked(now)),
        (query.not_locked, ~_locked(now)),
        (query.with_retries_left, _retries_left()),
        (query.no_retries_left, row.retries == 0),
        (query.active, row.suspended == false()),
        (query.suspended, row.suspended != false()),
    ]
    return conditions + [condition for wanted, condition in flags if wanted]
