"""The agency side of the external-task projection: fetch-and-lock and locks.

Every function is ONE database transaction.  The claim is one statement,
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL;
SQLite runs it under its single writer lock, which makes it just as exclusive (the same
shape as the job queue's claim).  A task another worker claims first is silently left
out, never an error (Camunda's contract).

Completion and BPMN errors change the dossier, so they go through the engine's step
(:mod:`.external_tasks`); failures and retries are in :mod:`.task_failures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, case, false, literal, or_, select, text, update
from sqlalchemy.orm import Session

from ..access import Principal
from ..clock import utcnow
from ..engine import Engine
from ..errors import InvalidInput
from ..store.models import ExternalTaskRow, ProcessInstance, UtcDateTime
from .lock_expiry import counted_expiry, held_back, park_held_back, unless_at_limit
from .task_filters import TopicRequest, availability, topic_condition
from .task_signals import announce
from .task_views import (
    LockedTask,
    TaskSorting,
    check_active,
    check_lock_owner,
    definition_metadata,
    locked_task,
    visible_row,
    visible_to,
)


def fetch_and_lock(
    engine: Engine,
    principal: Principal,
    worker_id: str,
    max_tasks: int,
    topics: Sequence[TopicRequest],
    *,
    use_priority: bool = False,
    sorting: Sequence[TaskSorting] = (),
) -> list[LockedTask]:
    """Lock up to ``max_tasks`` claimable visible tasks of ``topics`` for ``worker_id``."""
    by_topic = {t.topic_name: t for t in topics}  # a repeated topic: the last wins, as in Camunda
    if max_tasks <= 0 or not by_topic:
        return []
    now = utcnow()
    with engine.db.write() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # A claim is a lease, not a change to the dossier: not waiting for its WAL flush makes
            # the commit nearly free.  A crash within ~0.6 s (3 x wal_writer_delay) may forget
            # the whole transaction, never part of it: the task is claimable again, as after
            # its lock expires.
            session.execute(text("SET LOCAL synchronous_commit = off"))
        wanted = and_(visible_to(principal), or_(*(topic_condition(t, dialect) for t in by_topic.values())))
        expiry_limit = engine.settings.lock_expiry_incident_after
        candidates = (
            select(ExternalTaskRow.id)
            .where(wanted, claimable(now))
            .order_by(*_fetch_order(use_priority, sorting))
            .limit(max_tasks)
        )
        if dialect == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True, of=ExternalTaskRow)
        expires = case(
            {name: _at(now + timedelta(milliseconds=t.lock_duration_ms)) for name, t in by_topic.items()},
            value=ExternalTaskRow.topic,
        )
        claim = (
            update(ExternalTaskRow)
            .where(ExternalTaskRow.id.in_(candidates.scalar_subquery()))
            .values(  # a task whose lock expired once too often is held back, as it was
                lock_owner=unless_at_limit(expiry_limit, literal(worker_id), ExternalTaskRow.lock_owner),
                lock_expires_at=unless_at_limit(expiry_limit, expires, ExternalTaskRow.lock_expires_at),
                retry_at=None,
                lock_expiries=counted_expiry(expiry_limit),
            )
            .execution_options(synchronize_session=False)
        )
        claimed, process_variables = _claim(session, claim, dialect)
        held = [row for row in claimed if held_back(row, now)]
        if held:  # rare: a lock expired once too often; costs nothing until then
            park_held_back(session, held, now=now, limit=expiry_limit)
            claimed = [row for row in claimed if row not in held]
        if not claimed:
            return []
        metadata = _definition_metadata(session, {row.definition_id for row in claimed})
    claimed.sort(key=_sort_key(use_priority, sorting))
    # Outside the transaction: the spec cache may read the database on a miss.
    return [
        locked_task(
            row,
            *metadata.get(row.definition_id, (None, None)),
            _variables(by_topic[row.topic], process_variables.get(row.instance_id) or {}, row),
            _extension_properties(engine, row) if by_topic[row.topic].include_extension_properties else {},
        )
        for row in claimed
    ]


def _claim(session: Session, claim: Update, dialect: str) -> tuple[list[ExternalTaskRow], dict[str, Any]]:
    """The claimed rows, and their dossiers' variables.

    PostgreSQL: ``UPDATE ... FROM process_instance ... RETURNING`` brings the variables back
    with the claim (the dossier row is read, not locked), one round trip instead of two.
    SQLite's RETURNING cannot name another table; a second in-process query is cheap there.
    """
    if dialect == "postgresql":
        returned = session.execute(
            claim.where(ProcessInstance.id == ExternalTaskRow.instance_id).returning(
                ExternalTaskRow, ProcessInstance.variables
            )
        ).all()
        return [row for row, _ in returned], {row.instance_id: values for row, values in returned}
    claimed = list(session.execute(claim.returning(ExternalTaskRow)).scalars())
    if not claimed:
        return [], {}
    variables = session.execute(
        select(ProcessInstance.id, ProcessInstance.variables).where(
            ProcessInstance.id.in_({row.instance_id for row in claimed})
        )
    )
    return claimed, {instance_id: values for instance_id, values in variables}


# A definition's version tag and tenant never change once deployed: remembered per process,
# so a fetch costs no lookup for them (bounded: cleared when it grows past the limit).
_known_definitions: dict[str, tuple[str | None, str | None]] = {}
_KNOWN_DEFINITIONS_LIMIT = 10_000


def _definition_metadata(
    session: Session, definition_ids: set[str]
) -> dict[str, tuple[str | None, str | None]]:
    missing = definition_ids - _known_definitions.keys()
    if missing:
        if len(_known_definitions) >= _KNOWN_DEFINITIONS_LIMIT:
            _known_definitions.clear()
        _known_definitions.update(definition_metadata(session, missing))
    return {i: _known_definitions[i] for i in definition_ids if i in _known_definitions}


def next_claimable_at(
    engine: Engine, principal: Principal, topics: Sequence[TopicRequest]
) -> datetime | None:
    """When the first task a fetch with ``topics`` could lock is claimable (past = now); None: no task.

    A read, so long polls re-check without taking SQLite's writer lock, and learn when a
    lock or a retry delay runs out (nothing signals that moment).
    """
    with engine.db.read() as session:
        dialect = session.get_bind().dialect.name
        return session.scalar(
            select(availability())
            .where(visible_to(principal), _open_for_agency())
            .where(or_(*(topic_condition(t, dialect) for t in topics)))
        )


def claimable(now: datetime) -> ColumnElement[bool]:
    """Neither locked, nor waiting out a retry delay, nor an incident, nor suspended."""
    return and_(
        _open_for_agency(),
        # <= as Camunda's own query: a lock ending now is over (a failure with retryTimeout 0).
        or_(ExternalTaskRow.lock_expires_at.is_(None), ExternalTaskRow.lock_expires_at <= now),
        or_(ExternalTaskRow.retry_at.is_(None), ExternalTaskRow.retry_at <= now),
    )


def _open_for_agency() -> ColumnElement[bool]:
    return and_(
        ExternalTaskRow.handled_in_process == false(),
        ExternalTaskRow.incident == false(),
        ExternalTaskRow.suspended == false(),
    )


def _at(moment: datetime) -> Any:
    # Typed, so SQLite stores it in the same text form as every other UtcDateTime.
    return literal(moment, UtcDateTime())


def _fetch_order(use_priority: bool, sorting: Sequence[TaskSorting]) -> list[Any]:
    order: list[Any] = [ExternalTaskRow.priority.desc()] if use_priority else []
    created = ExternalTaskRow.created_at
    descending = any(s.sort_by == "createTime" and s.descending for s in sorting)
    # Without a sorting Camunda promises no order; oldest first is the fair choice.
    order += [created.desc() if descending else created.asc(), ExternalTaskRow.id]
    return order


def _sort_key(use_priority: bool, sorting: Sequence[TaskSorting]) -> Any:
    """The same order as :func:`_fetch_order`, for RETURNING rows (which come unordered)."""
    descending = any(s.sort_by == "createTime" and s.descending for s in sorting)

    def key(row: ExternalTaskRow) -> tuple[int, float, str]:
        stamp = row.created_at.timestamp()
        return (-row.priority if use_priority else 0, -stamp if descending else stamp, row.id)

    return key


def _variables(
    topic: TopicRequest, process_variables: dict[str, Any], row: ExternalTaskRow
) -> dict[str, Any]:
    """Process variables overlaid with the task's locals, or only the locals when asked."""
    local = dict(row.local_variables or {})
    values = local if topic.local_variables else {**process_variables, **local}
    if topic.variables is None:
        return values
    return {name: values[name] for name in topic.variables if name in values}


def _extension_properties(engine: Engine, row: ExternalTaskRow) -> dict[str, str]:
    """The step's ``camunda:properties``, found in the process or one of its called/sub specs."""
    loaded = engine.specs.get(row.definition_id)
    for spec in (loaded.spec, *loaded.subprocess_specs.values()):
        task_spec = spec.task_specs.get(row.activity_id)
        if task_spec is not None:
            properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            return {str(k): str(v) for k, v in properties.items() if v is not None}
    return {}


# -- locks -----------------------------------------------------------------------------


def extend_lock(
    engine: Engine, principal: Principal, task_id: str, worker_id: str, new_duration_ms: int
) -> None:
    """The lock holder pushes its lock to now + ``new_duration_ms`` (an expired lock cannot be)."""
    with engine.db.write() as session:
        row = visible_row(session, principal, task_id, for_update=True)
        check_lock_owner(row, worker_id, "extended")
        check_active(row)
        now = utcnow()
        if row.lock_expires_at is None or row.lock_expires_at < now:
            raise InvalidInput(f"Cannot extend a lock that expired: external task {task_id}")
        row.lock_expires_at = now + timedelta(milliseconds=new_duration_ms)


def lock(engine: Engine, principal: Principal, task_id: str, worker_id: str, lock_duration_ms: int) -> None:
    """Lock one task by id; refused while another worker holds an unexpired lock."""
    with engine.db.write() as session:
        row = visible_row(session, principal, task_id, for_update=True)
        now = utcnow()
        held = row.lock_expires_at is not None and row.lock_expires_at >= now
        if held and row.lock_owner not in (None, worker_id):
            raise InvalidInput(
                f"External Task {task_id} cannot be locked by worker '{worker_id}'. "
                "It is locked by a different worker."
            )
        check_active(row)
        row.lock_owner = worker_id
        row.lock_expires_at = now + timedelta(milliseconds=lock_duration_ms)


def unlock(engine: Engine, principal: Principal, task_id: str) -> None:
    """Release the lock (any worker of the agency may): the task can be fetched at once."""
    with engine.db.write() as session:
        row = visible_row(session, principal, task_id, for_update=True)
        row.lock_owner = None
        row.lock_expires_at = None
        row.retry_at = None
        announce(session, row.topic)


def set_priority(engine: Engine, principal: Principal, task_id: str, priority: int) -> None:
    """Change the task's priority (used by fetchAndLock with ``usePriority``)."""
    with engine.db.write() as session:
        visible_row(session, principal, task_id, for_update=True).priority = priority
