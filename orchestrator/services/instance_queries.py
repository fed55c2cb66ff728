"""Reading many dossiers at once: filtered instance lists, an agency's open tasks, the history.

All lists are keyset pages (see ``paging``).  Instances are newest first by
``(created_at, id)``; an agency's tasks oldest first (a work queue); history in the order
it was written (``event.id``, which the instance lock makes follow the hash chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import defer

from ..engine import Engine
from ..errors import NotFound
from ..store.models import Event, ExternalTaskRow, ProcessInstance
from .instances import InstanceView
from .paging import Page, check_limit, page_of, seek

InstanceKey = tuple[datetime, str]
TaskKey = tuple[datetime, str]
STATUSES = ("running", "completed", "cancelled", "error")


@dataclass(frozen=True)
class InstanceFilter:
    """What a desk officer narrows the dossier list by; ``None`` means any."""

    status: str | None = None
    process_key: str | None = None
    agency: str | None = None  # dossiers with an open external task at this agency
    business_key: str | None = None


def list_instances(
    engine: Engine, filters: InstanceFilter, *, after: InstanceKey | None = None, limit: int = 50
) -> Page[InstanceView]:
    """Instances matching ``filters``, newest first, starting after the key ``after``."""
    limit = check_limit(limit)
    # The serialized workflow is the largest column and a list never needs it.
    query = select(ProcessInstance).options(defer(ProcessInstance.state))
    query = _filtered(query, filters)
    query = seek(query, ProcessInstance.created_at, ProcessInstance.id, after, limit, newest_first=True)
    with engine.db.read() as session:
        rows = list(session.scalars(query))
    return page_of(rows, limit, lambda row: (row.created_at, row.id), InstanceView.of)


def _filtered(
    query: Select[tuple[ProcessInstance]], filters: InstanceFilter
) -> Select[tuple[ProcessInstance]]:
    if filters.status is not None:
        query = query.where(ProcessInstance.status == filters.status)
    if filters.process_key is not None:
        query = query.where(ProcessInstance.process_key == filters.process_key)
    if filters.business_key is not None:
        query = query.where(ProcessInstance.business_key == filters.business_key)
    if filters.agency is not None:
        # EXISTS rather than a join: an instance with two open tasks there is listed once.
        query = query.where(
            exists().where(
                ExternalTaskRow.instance_id == ProcessInstance.id, ExternalTaskRow.agency == filters.agency
            )
        )
    return query


def agency_tasks(
    engine: Engine, agency: str, *, after: TaskKey | None = None, limit: int = 50
) -> Page[ExternalTaskRow]:
    """The open external tasks assigned to ``agency``, oldest first."""
    limit = check_limit(limit)
    query = select(ExternalTaskRow).where(ExternalTaskRow.agency == agency)
    query = seek(query, ExternalTaskRow.created_at, ExternalTaskRow.id, after, limit, newest_first=False)
    with engine.db.read() as session:
        rows = list(session.scalars(query))
    return page_of(rows, limit, lambda row: (row.created_at, row.id), lambda row: row)


def instance_history(
    engine: Engine, instance_id: str, *, after: int | None = None, limit: int = 50
) -> Page[Event]:
    """The events of one instance in the order they were recorded (404 if it does not exist)."""
    limit = check_limit(limit)
    query = select(Event).where(Event.instance_id == instance_id)
    if after is not None:
        query = query.where(Event.id > after)
    query = query.order_by(Event.id).limit(limit + 1)
    with engine.db.read() as session:
        if session.get(ProcessInstance, instance_id, options=[defer(ProcessInstance.state)]) is None:
            raise NotFound(f"process instance '{instance_id}' does not exist")
        rows = list(session.scalars(query))
    return page_of(rows, limit, lambda row: (row.id,), lambda row: row)
