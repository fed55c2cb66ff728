"""Firing due timers: each instance is claimed, stepped and committed on its own.

The claim is ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (the writer lock on SQLite), so
any number of tickers can sweep at once and a timer fires once.  Timers that came due
while nothing ran fire at the first sweep and are recorded as late.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from ..clock import utcnow
from ..engine import Engine, StepContext
from ..errors import StepFailed
from ..store.history import append_event
from ..store.models import ProcessInstance

log = logging.getLogger(__name__)


def fire_due_timers(engine: Engine, *, now: datetime | None = None, limit: int = 100) -> int:
    """Step every instance whose next timer is due, up to ``limit``; returns how many stepped."""
    fired = 0
    while fired < limit:
        try:
            stepped = _fire_one(engine, now or utcnow())
        except _TimerStepFailed as failure:  # rolled back: park the instance in a new transaction
            _park_with_incident(engine, failure.instance_id, failure.detail)
            fired += 1
            continue
        if stepped is None:
            break
        fired += 1
    return fired


def _fire_one(engine: Engine, now: datetime) -> str | None:
    with engine.db.write() as session:
        query = (
            select(ProcessInstance)
            .where(ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now)
            .order_by(ProcessInstance.next_timer_at)
            .limit(1)
        )
        if not engine.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        instance = session.scalars(query).first()
        if instance is None:
            return None
        try:
            engine.step_locked(session, instance, _nothing, actor="timer")
        except StepFailed as failure:
            raise _TimerStepFailed(instance.id, failure.detail) from failure
        return instance.id


class _TimerStepFailed(StepFailed):
    def __init__(self, instance_id: str, detail: str) -> None:
        super().__init__(detail)
        self.instance_id = instance_id


def _nothing(_context: StepContext) -> None:
    """A timer step acts on nothing: advancing the workflow fires what is due."""


def _park_with_incident(engine: Engine, instance_id: str, detail: str) -> None:
    """A timer whose path cannot run must not be retried every tick: stop it and say why."""
    log.warning("timer step failed for instance %s: %s", instance_id, detail)
    with engine.db.write() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            return
        instance.next_timer_at = None
        instance.error_message = detail
        append_event(
            session,
            instance,
            "incident",
            at=utcnow(),
            actor="timer",
            data={"reason": "timer_step_failed", "message": detail},
        )
