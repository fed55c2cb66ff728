"""Retrying incidents: one task, or every incident a stuck-list filter selects (dry run first).

A retry gives the task its retries back and makes it claimable at once: an agency's task is
announced to long polls, an in-process handler's task gets a new outbox job.  The expiry
count starts again, so a retried task is not parked by its old expired locks.
"""

from __future__ import annotations

import dataclasses
from contextlib import suppress

from sqlalchemy.orm import Session

from ..clock import utcnow
from ..engine import Engine
from ..errors import Conflict, InvalidInput, NotFound
from ..projection import HANDLER_JOB
from ..services.task_signals import announce
from ..store.history import append_event
from ..store.models import ExternalTaskRow, ProcessInstance
from ..store.queue import enqueue
from .audit import event_type, required_actor, required_reason
from .locking import lock_task, require_running
from .stuck import StuckFilter, find_stuck

RETRYABLE_KINDS = ("incident", "job_dead_lettered")
BULK_LIMIT = 10_000


def retry_incident(engine: Engine, *, task_id: str, actor: str, reason: str, retries: int = 1) -> None:
    """Resolve the task's incident with ``retries`` attempts; 409 when it has none."""
    reason, actor = required_reason(reason), required_actor(actor)
    if retries < 1:
        raise InvalidInput("a retry needs at least one attempt")
    with engine.db.write() as session:
        row, instance = lock_task(session, task_id)
        require_running(instance)
        if not row.incident:
            raise Conflict(f"external task '{task_id}' has no incident")
        _retry(engine, session, row, instance, retries=retries, actor=actor, reason=reason)


def bulk_retry(engine: Engine, *, filter: StuckFilter, actor: str, reason: str, dry_run: bool) -> int:
    """Retry every incident ``filter`` selects; with ``dry_run`` only count them.

    Each dossier is its own transaction; one resolved meanwhile is skipped, not an error.
    """
    reason, actor = required_reason(reason), required_actor(actor)
    kinds = tuple(kind for kind in (filter.kinds or RETRYABLE_KINDS) if kind in RETRYABLE_KINDS)
    if not kinds:
        raise InvalidInput(f"only these kinds can be retried: {', '.join(RETRYABLE_KINDS)}")
    narrowed = dataclasses.replace(filter, kinds=kinds)
    selected = find_stuck(engine, now=utcnow(), filter=narrowed, limit=BULK_LIMIT)
    task_ids = sorted({item.task_id for item in selected if item.task_id is not None})
    if dry_run:
        return len(task_ids)
    retried = 0
    for task_id in task_ids:
        with suppress(Conflict, NotFound):
            retry_incident(engine, task_id=task_id, actor=actor, reason=reason)
            retried += 1
    return retried


def _retry(
    engine: Engine,
    session: Session,
    row: ExternalTaskRow,
    instance: ProcessInstance,
    *,
    retries: int,
    actor: str,
    reason: str,
) -> None:
    now = utcnow()
    row.incident = False
    row.retries = retries
    row.lock_owner = row.lock_expires_at = row.retry_at = None
    row.lock_expiries = 0
    if row.handled_in_process:
        enqueue(
            session,
            HANDLER_JOB,
            {"instance_id": instance.id, "task_id": row.id, "topic": row.topic},
            now=now,
            dedupe_key=f"handler:{row.id}",
            max_attempts=engine.settings.handler_max_attempts,
        )
    else:
        announce(session, row.topic)
    append_event(
        session,
        instance,
        event_type("retry_incident"),
        at=now,
        actor=actor,
        activity_id=row.activity_id,
        task_id=row.id,
        data={"reason": reason, "retries": retries},
    )
