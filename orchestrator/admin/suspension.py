"""Suspending, resuming and cancelling a dossier on an admin's word.

While suspended: its agency tasks are not fetchable (``external_task.suspended``), its
timers do not fire (the ticker picks running dossiers only), completions and messages are
refused with 409 ("process instance is suspended"), and the deadline sweep leaves its
clocks alone (their state is ``suspended``).  The statutory clock itself does not stop:
an admin's suspension is not the applicant's time, so on resume a due that passed is
warned and escalated at the next sweep.
"""

from __future__ import annotations

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..engine import Engine, StepContext
from ..errors import Conflict
from ..projection import HANDLER_JOB
from ..services.cancellation import cancel_in_step
from ..services.task_signals import announce
from ..store.history import append_event
from ..store.models import Deadline, ExternalTaskRow, ProcessInstance
from ..store.queue import enqueue
from .audit import event_type, required_actor, required_reason
from .locking import require_running

SUSPENDED = "suspended"
_SWEPT_STATES = ("running", "warned", "overdue", "paused")


def suspend_dossier(engine: Engine, *, instance_id: str, actor: str, reason: str) -> None:
    """Stop a running dossier where it is; nothing of it moves until it is resumed or cancelled."""
    reason, actor = required_reason(reason), required_actor(actor)
    now = utcnow()
    with engine.db.write() as session:
        instance = engine.lock_instance(session, instance_id)
        require_running(instance)
        instance.status, instance.suspended_at = SUSPENDED, now
        session.execute(
            update(ExternalTaskRow).where(ExternalTaskRow.instance_id == instance_id).values(suspended=True)
        )
        session.execute(
            update(Deadline)
            .where(Deadline.instance_id == instance_id, Deadline.state.in_(_SWEPT_STATES))
            .values(state=SUSPENDED)
        )
        append_event(session, instance, event_type("suspend"), at=now, actor=actor, data={"reason": reason})


def resume_dossier(engine: Engine, *, instance_id: str, actor: str, reason: str) -> None:
    """Let a suspended dossier go on: tasks fetchable, timers and clocks swept again."""
    reason, actor = required_reason(reason), required_actor(actor)
    now = utcnow()
    with engine.db.write() as session:
        instance = engine.lock_instance(session, instance_id)
        if instance.status != SUSPENDED:
            raise Conflict(f"process instance is {instance.status}, not suspended")
        _wake(engine, session, instance.id, _unsuspend(session, instance))
        append_event(session, instance, event_type("resume"), at=now, actor=actor, data={"reason": reason})


def cancel_dossier(engine: Engine, *, instance_id: str, actor: str, reason: str) -> None:
    """Cancel a running or suspended dossier through the usual cancellation, in one step."""
    reason, actor = required_reason(reason), required_actor(actor)

    def act(context: StepContext) -> None:
        cancel_in_step(context, reason)
        context.record(event_type("cancel"), data={"reason": reason})

    with engine.db.write() as session:
        instance = engine.lock_instance(session, instance_id)
        if instance.status == SUSPENDED:
            # In the same transaction, and nothing is woken: the cancellation ends every task.
            _unsuspend(session, instance)
        require_running(instance)
        engine.step_locked(session, instance, act, actor=actor)


def _unsuspend(session: Session, instance: ProcessInstance) -> list[Row[tuple[str, str, bool]]]:
    """Clear the suspension; returns the open task rows (id, topic, in-process) to wake."""
    instance.status, instance.suspended_at = "running", None
    rows = session.execute(
        update(ExternalTaskRow)
        .where(ExternalTaskRow.instance_id == instance.id)
        .values(suspended=False)
        .returning(ExternalTaskRow.id, ExternalTaskRow.topic, ExternalTaskRow.handled_in_process)
    ).all()
    for row in session.scalars(
        select(Deadline).where(Deadline.instance_id == instance.id, Deadline.state == SUSPENDED)
    ):
        row.state = _state_before_suspension(row)
    return list(rows)


def _wake(engine: Engine, session: Session, instance_id: str, rows: list[Row[tuple[str, str, bool]]]) -> None:
    now = utcnow()
    for task_id, topic, in_process in rows:
        if in_process:
            # A handler that finished while the dossier was suspended was refused: run it again.
            enqueue(
                session,
                HANDLER_JOB,
                {"instance_id": instance_id, "task_id": task_id, "topic": topic},
                now=now,
                dedupe_key=f"handler:{task_id}",
                max_attempts=engine.settings.handler_max_attempts,
            )
        else:
            announce(session, topic)


def _state_before_suspension(row: Deadline) -> str:
    """What the sweep would have left the clock at: it is derivable, so it is not stored."""
    if row.pauses and row.pauses[-1][1] is None:
        return "paused"
    if row.overdue_at is not None:
        return "overdue"
    if row.warned_at is not None:
        return "warned"
    return "running"
