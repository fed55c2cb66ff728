"""Failures and retries of agency tasks: Camunda's ``failed()``, ``setRetries`` and incidents.

The engine never decrements retries: the worker sends its count (usually the previous one
minus one).  ``retries == 0`` makes an incident: the task stays open, is not fetched any
more, and an ``incident`` event joins the dossier's history; setting retries > 0 again
resolves it.  Functions that append history lock the instance row first, as a step does,
so the per-dossier hash chain never forks and no lock-order deadlock is possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Principal
from ..clock import utcnow
from ..engine import Engine, StepContext
from ..errors import InvalidInput
from ..store.history import append_event
from ..store.models import ExternalTaskRow, ProcessInstance
from ..timers import variables_changed
from .external_tasks import ERROR_MESSAGE_LIMIT
from .instances import find_open_task
from .task_signals import announce
from .task_views import check_active, check_lock_owner, not_found, visible_row, visible_to
from .variables import check_variables


@dataclass(frozen=True)
class FailureReport:
    """``POST /external-task/{id}/failure``: retries are the worker's count, never decremented here."""

    worker_id: str
    error_message: str | None = None
    error_details: str | None = None
    retries: int = 0
    retry_timeout_ms: int = 0
    variables: dict[str, Any] = field(default_factory=dict)


def report_failure(
    engine: Engine, principal: Principal, task_id: str, report: FailureReport, *, actor: str | None = None
) -> None:
    """Record a failure; ``retries == 0`` makes an incident (not fetched any more)."""
    if report.retries < 0 or report.retry_timeout_ms < 0:
        raise InvalidInput("retries and retryTimeout must not be negative")
    check_variables(report.variables)  # refused before anything is touched
    if report.variables:
        _report_failure_with_variables(engine, principal, task_id, report, actor)
        return
    with engine.db.write() as session:
        row, instance = _lock_for_history(session, principal, task_id)
        now = utcnow()
        for type_, fields in _apply_failure(session, row, report, now):
            append_event(session, instance, type_, at=now, actor=actor, **fields)


def _report_failure_with_variables(
    engine: Engine, principal: Principal, task_id: str, report: FailureReport, actor: str | None
) -> None:
    """Variables sent with a failure change the dossier: that takes the engine's step."""
    with engine.db.read() as session:
        visible_row(session, principal, task_id)

    def act(context: StepContext) -> None:
        row = visible_row(context.session, principal, task_id, for_update=True)
        task = find_open_task(context, task_id)
        task.data.update(report.variables)
        variables_changed(context.workflow, report.variables)
        for type_, fields in _apply_failure(context.session, row, report, context.now):
            context.record(type_, **fields)

    engine.step_for_task(task_id, act, actor=actor)


def _apply_failure(
    session: Session, row: ExternalTaskRow, report: FailureReport, now: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """Update the row as Camunda's ``failed()`` does; returns the history events to append."""
    check_lock_owner(row, report.worker_id, "failed")
    check_active(row)
    had_retries = not row.incident
    row.error_message = (report.error_message or "")[:ERROR_MESSAGE_LIMIT] or None
    if report.error_details is not None:
        row.error_details = report.error_details
    # Camunda keeps the worker and moves the lock's expiry: the task is fetched again after it.
    row.lock_expires_at = now + timedelta(milliseconds=report.retry_timeout_ms)
    # Set even with no delay: a lock ended by a failure is not an expired lock (lock_expiry.py).
    row.retry_at = row.lock_expires_at
    row.retries = report.retries
    base = {"activity_id": row.activity_id, "task_id": row.id}
    events = [("task_failed", {**base, "data": {"retries": report.retries}})]
    if report.retries == 0 and had_retries:
        row.incident = True
        events.append(("incident", {**base, "data": {"reason": "retries_exhausted"}}))
    elif report.retries > 0 and report.retry_timeout_ms == 0:
        announce(session, row.topic)  # claimable again right now
    return events


def set_retries(engine: Engine, principal: Principal, task_id: str, retries: int) -> None:
    """Set the retries; > 0 resolves an incident, 0 creates one."""
    set_retries_many(engine, principal, [task_id], retries)


def set_retries_many(
    engine: Engine,
    principal: Principal,
    task_ids: Sequence[str],
    retries: int,
    *,
    instance_ids: Sequence[str] = (),
) -> int:
    """Set retries on every listed task (and every visible task of ``instance_ids``), all or nothing.

    Returns how many tasks changed.  An id that is not visible is a 404 and nothing changes.
    """
    if retries < 0:
        raise InvalidInput("retries must not be negative")
    with engine.db.write() as session:
        ids = set(task_ids)
        if instance_ids:
            ids |= set(
                session.scalars(
                    select(ExternalTaskRow.id).where(
                        ExternalTaskRow.instance_id.in_(set(instance_ids)), visible_to(principal)
                    )
                )
            )
        rows = [visible_row(session, principal, task_id) for task_id in sorted(ids)]
        now = utcnow()
        # Lock instances in a fixed order, then the rows, as a step would: no deadlock, no fork.
        for instance_id in sorted({row.instance_id for row in rows}):
            instance = _lock_instance(session, instance_id, rows[0].id)
            for row in (r for r in rows if r.instance_id == instance_id):
                row = visible_row(session, principal, row.id, for_update=True)
                for type_, fields in _apply_retries(session, row, retries):
                    append_event(session, instance, type_, at=now, actor=principal.name, **fields)
        return len(rows)


def _apply_retries(session: Session, row: ExternalTaskRow, retries: int) -> list[tuple[str, dict[str, Any]]]:
    base = {"activity_id": row.activity_id, "task_id": row.id}
    events: list[tuple[str, dict[str, Any]]] = []
    if retries == 0 and not row.incident:
        row.incident = True
        events.append(("incident", {**base, "data": {"reason": "retries_set_to_zero"}}))
    elif retries > 0 and row.incident:
        row.incident = False
        events.append(("incident_resolved", {**base, "data": {"retries": retries}}))
        announce(session, row.topic)
    row.retries = retries
    return events


def _lock_for_history(session: Session, principal: Principal, task_id: str) -> tuple[ExternalTaskRow, Any]:
    """The visible row and its instance, both locked in the step's order (instance first)."""
    instance_id = visible_row(session, principal, task_id).instance_id
    instance = _lock_instance(session, instance_id, task_id)
    return visible_row(session, principal, task_id, for_update=True), instance


def _lock_instance(session: Session, instance_id: str, task_id: str) -> ProcessInstance:
    instance = session.execute(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    ).scalar_one_or_none()
    if instance is None:  # deleted between the two reads: the task is gone with it
        raise not_found(task_id)
    return instance
