"""Reassigning an open step to another agency or topic, with who and why.

The projection never rewrites an existing task row (it only adds and deletes rows), so the
change lasts until the step ends.  The step's clock follows the new agency: lateness from
now on is that agency's.
"""

from __future__ import annotations

from sqlalchemy import update

from ..clock import utcnow
from ..engine import Engine
from ..errors import InvalidInput, NotFound
from ..services.task_signals import announce
from ..store.history import append_event
from ..store.models import Agency, Deadline
from .audit import event_type, required_actor, required_reason
from .locking import lock_task, require_running


def reassign_step(
    engine: Engine, *, task_id: str, agency: str | None, topic: str | None, actor: str, reason: str
) -> None:
    """Give an open agency step to ``agency`` and/or ``topic``; its lock is released at once."""
    reason, actor = required_reason(reason), required_actor(actor)
    agency, topic = (agency or "").strip() or None, (topic or "").strip() or None
    if agency is None and topic is None:
        raise InvalidInput("give the agency or the topic to reassign the step to")
    if topic is not None and topic in engine.handlers.topics():
        raise InvalidInput("that topic is handled in process; an agency step cannot be moved onto it")
    now = utcnow()
    with engine.db.write() as session:
        if agency is not None and session.get(Agency, agency) is None:
            raise NotFound(f"agency '{agency}' does not exist")
        row, instance = lock_task(session, task_id)
        require_running(instance)
        if row.handled_in_process:
            raise InvalidInput("this step is done by an in-process handler; it has no agency to change")
        before = {"agency": row.agency, "topic": row.topic}
        row.agency = agency or row.agency
        row.topic = topic or row.topic
        # The old agency's worker may still hold it: the new owner must be able to fetch it now.
        row.lock_owner = row.lock_expires_at = row.retry_at = None
        row.lock_expiries = 0
        if agency is not None:
            session.execute(
                update(Deadline)
                .where(Deadline.task_id == task_id, Deadline.state != "met")
                .values(agency=agency)
            )
        announce(session, row.topic)
        append_event(
            session,
            instance,
            event_type("reassign_step"),
            at=now,
            actor=actor,
            activity_id=row.activity_id,
            task_id=row.id,
            data={"reason": reason, "from": before, "to": {"agency": row.agency, "topic": row.topic}},
        )
