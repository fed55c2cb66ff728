"""Locks that keep expiring: counted at each re-fetch, an incident after a limit instead of a loop.

A worker that takes a task and dies (or always times out) would otherwise get the task
again forever, and the dossier would look "in progress" while nothing happens.  The claim
counts each expired lock it takes over.  A task whose lock ran out for the
``Settings.lock_expiry_incident_after``-th time is still selected by the claim, but the
claim leaves it as it was (:func:`at_expiry_limit`) and the fetch parks it as an incident
with a history event (:func:`park_held_back`).  So the check costs a fetch nothing until
such a task exists: no statement of its own, only a ``CASE`` in the claim.

A failure report also ends a lock early, but it sets ``retry_at``: that is not an expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, select
from sqlalchemy.orm import Session

from ..store.history import append_event
from ..store.models import ExternalTaskRow, ProcessInstance

PARK_BATCH = 50
ACTOR = "lock-expiry"


def expired_lock() -> ColumnElement[bool]:
    """Among claimable rows: a worker held the lock and it ran out (no failure's retry delay)."""
    return and_(
        ExternalTaskRow.lock_owner.is_not(None),
        ExternalTaskRow.lock_expires_at.is_not(None),
        ExternalTaskRow.retry_at.is_(None),
    )


def at_expiry_limit(limit: int) -> ColumnElement[bool]:
    """Among claimable rows: taking this expired lock over would be its ``limit``-th expiry."""
    return and_(expired_lock(), ExternalTaskRow.lock_expiries >= limit - 1)


def counted_expiry(limit: int) -> Any:
    """The claim's new ``lock_expiries``: one more when it takes over an expired lock under the limit."""
    return case(
        (at_expiry_limit(limit), ExternalTaskRow.lock_expiries),
        (expired_lock(), ExternalTaskRow.lock_expiries + 1),
        else_=ExternalTaskRow.lock_expiries,
    )


def unless_at_limit(limit: int, claimed: Any, column: Any) -> Any:
    """The claim's new value of ``column``: ``claimed``, or unchanged for a row at the limit."""
    return case((at_expiry_limit(limit), column), else_=claimed)


def held_back(row: ExternalTaskRow, now: datetime) -> bool:
    """A row the claim returned without locking it: its lock still ends in the past.

    A claimed row's lock ends after ``now`` (lock durations are positive); only a row at
    the limit keeps its old, expired one (:func:`unless_at_limit`).
    """
    return row.lock_expires_at is not None and row.lock_expires_at <= now


def park_held_back(session: Session, rows: list[ExternalTaskRow], *, now: datetime, limit: int) -> int:
    """Park the rows the claim held back at the limit (it holds their row locks already)."""
    held = ExternalTaskRow.id.in_([row.id for row in rows])
    return park_repeated_expiries(session, held, now=now, limit=limit)


def repeated_expiries(
    claimable_rows: ColumnElement[bool], *, now: datetime, limit: int
) -> ColumnElement[bool]:
    """Claimable rows whose next takeover would be the ``limit``-th expiry.

    ``lock_expires_at <= now`` is implied by ``claimable_rows`` for a locked row, but stated
    again: it makes the check a range on ``ix_external_task_fetch`` (topic, lock_expires_at),
    which holds only the few locks that ran out, instead of a walk over every claimable
    task of the topic (SQLite otherwise picks the claim index: 5 ms instead of 0.1 ms per
    check with 10,000 waiting tasks).
    """
    return and_(claimable_rows, at_expiry_limit(limit), ExternalTaskRow.lock_expires_at <= now)


def park_repeated_expiries(
    session: Session, claimable_rows: ColumnElement[bool], *, now: datetime, limit: int
) -> int:
    """Turn claimable tasks whose lock expired the ``limit``-th time into incidents; returns how many.

    Instances are locked with ``SKIP LOCKED``: a dossier busy in a step is left for the next
    fetch (the claim holds its task back meanwhile), never waited for.
    """
    due = repeated_expiries(claimable_rows, now=now, limit=limit)
    found = session.execute(
        select(ExternalTaskRow.id, ExternalTaskRow.instance_id).where(due).limit(PARK_BATCH)
    ).all()
    if not found:
        return 0
    postgres = session.get_bind().dialect.name == "postgresql"
    lock = (
        select(ProcessInstance)
        .where(ProcessInstance.id.in_({instance_id for _, instance_id in found}))
        .order_by(ProcessInstance.id)
    )
    locked = session.scalars(lock.with_for_update(skip_locked=True) if postgres else lock)
    instances = {row.id: row for row in locked}
    parked = 0
    for task_id, instance_id in found:
        instance = instances.get(instance_id)
        if instance is None:
            continue
        row_query = select(ExternalTaskRow).where(ExternalTaskRow.id == task_id, due)
        row = session.scalars(row_query.with_for_update(skip_locked=True) if postgres else row_query).first()
        if row is None:  # claimed or completed meanwhile
            continue
        _park(session, instance, row, now)
        parked += 1
    return parked


def _park(session: Session, instance: ProcessInstance, row: ExternalTaskRow, now: datetime) -> None:
    row.lock_expiries += 1
    row.incident = True
    row.retries = 0
    row.error_message = f"the lock expired {row.lock_expiries} times without a completion"
    row.lock_owner = None
    row.lock_expires_at = None
    append_event(
        session,
        instance,
        "incident",
        at=now,
        actor=ACTOR,
        activity_id=row.activity_id,
        task_id=row.id,
        data={"reason": "lock_expired", "expiries": row.lock_expiries},
    )
