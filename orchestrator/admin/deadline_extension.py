"""Extending a step's deadline: a new due with who and why; the appointment stays as it was.

The extension is kept as working minutes added after the statutory due (``Deadline.
extension_minutes``), so a later pause and resume recomputes the due with it, and the
warning and escalation follow the new due.  A dossier's own appointment is not extended
here: it changes only by the one apology and re-appointment (``deadlines/reappointment``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..calendar import BusinessCalendar, CalendarError, parse_duration
from ..clock import utcnow
from ..deadlines import clock
from ..engine import Engine
from ..errors import Conflict, InvalidInput, NotFound
from ..store.history import append_event
from ..store.models import Deadline
from .audit import event_type, required_actor, required_reason
from .locking import require_running

_MINUTE = dt.timedelta(minutes=1)


def extend_deadline(
    engine: Engine,
    *,
    deadline_id: int,
    by: str | None = None,
    until: dt.datetime | None = None,
    actor: str,
    reason: str,
) -> Deadline:
    """Move an open step clock's due later, ``by`` a duration (``2wd``) or ``until`` an instant."""
    reason, actor = required_reason(reason), required_actor(actor)
    if (by is None) == (until is None):
        raise InvalidInput("give either 'by' (a duration such as 2wd) or 'until' (an instant)")
    if until is not None and until.tzinfo is None:
        raise InvalidInput("'until' needs a UTC offset, e.g. 2026-12-01T16:00:00+07:00")
    with engine.db.read() as session:
        instance_id = session.scalar(select(Deadline.instance_id).where(Deadline.id == deadline_id))
    if instance_id is None:
        raise NotFound(f"deadline {deadline_id} does not exist")
    calendar = engine.calendars.get()
    now = utcnow()
    with engine.db.write() as session:
        instance = engine.lock_instance(session, instance_id)
        require_running(instance)
        row = session.scalars(select(Deadline).where(Deadline.id == deadline_id)).one()
        if row.scope != "step":
            raise InvalidInput(
                "only a step's deadline can be extended; a dossier's appointment changes only "
                "by its one re-appointment"
            )
        if row.state == "met":
            raise Conflict("this step is finished: its deadline cannot change any more")
        previous_due = row.due_at
        try:
            minutes = _extension_minutes(calendar, row, by, until)
        except (CalendarError, ValueError) as error:
            raise InvalidInput(str(error)) from error
        row.extension_minutes += minutes
        row.extended_by, row.extension_reason = actor, reason
        if row.due_at is not None:  # a paused clock gets its new due when it resumes
            warn_before = engine.specs.get(instance.definition_id).properties.get("warnBefore")
            row.due_at = clock.due_of(calendar, row)
            row.warn_at = clock.warn_at(calendar, row, warn_before)
            _reopen(row, now)
        append_event(
            session,
            instance,
            event_type("extend_deadline"),
            at=now,
            actor=actor,
            activity_id=row.activity_id,
            task_id=row.task_id,
            data={
                "reason": reason,
                "deadline_id": row.id,
                "appointment": row.original_due_at.isoformat(),
                "previous_due": previous_due.isoformat() if previous_due else None,
                "due": row.due_at.isoformat() if row.due_at else None,
                "added_working_minutes": minutes,
            },
        )
    return row


def _extension_minutes(
    calendar: BusinessCalendar, row: Deadline, by: str | None, until: dt.datetime | None
) -> int:
    """The working minutes the extension adds to the current due."""
    current = row.due_at
    if current is None:  # paused: only a working-time amount has a meaning
        duration = parse_duration(by) if by is not None else None
        if duration is None or not duration.is_working_time:
            raise InvalidInput("the clock is paused: extend it by working time, e.g. 2wd or 4wh")
        return duration.working_minutes
    new_due = until if until is not None else calendar.add(current, by, agency=row.agency)
    minutes = calendar.working_time_between(current, new_due, row.agency) // _MINUTE
    if minutes <= 0:
        raise InvalidInput("the new due must be later than the current one, within working time")
    return int(minutes)


def _reopen(row: Deadline, now: dt.datetime) -> None:
    """Warned or overdue before: the clock runs again against the new due (warned and escalated anew)."""
    if row.state not in ("warned", "overdue"):
        return
    row.overdue_at = None
    if row.warn_at is not None and row.warn_at <= now and row.warned_at is not None:
        row.state = "warned"
    else:
        row.state, row.warned_at = "running", None
