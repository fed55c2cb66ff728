"""Clock arithmetic on deadline rows: due, warning instant, pause, resume, outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..calendar import VN_TZ, BusinessCalendar, parse_duration
from ..store.models import Deadline

DEFAULT_WARN_BEFORE = "1wd"
_SEARCH_DAYS = 400


def pauses_of(row: Deadline) -> list[tuple[dt.datetime, dt.datetime | None]]:
    return [(_instant(start), _instant(end) if end else None) for start, end, _reason in row.pauses or []]


def due_of(calendar: BusinessCalendar, row: Deadline) -> dt.datetime:
    """The due from the start of counting, the budget and every closed pause."""
    closed = [(s, e) for s, e in pauses_of(row) if e is not None]
    due = calendar.add(row.started_at, row.budget, agency=row.agency, pauses=closed)
    if row.extension_minutes:  # an admin's extension of a step (orchestrator/admin/deadline_extension.py)
        due = calendar.add_working_time(due, dt.timedelta(minutes=row.extension_minutes), row.agency)
    return due


def warn_at(calendar: BusinessCalendar, row: Deadline, warn_before: str | None) -> dt.datetime:
    """When the remaining working time falls to the threshold (a step warns at half its budget
    at the latest, so a half-day step is not "warned" the moment it starts)."""
    threshold = parse_duration(warn_before or DEFAULT_WARN_BEFORE).working_minutes
    budget = parse_duration(row.budget)
    if budget.is_working_time and row.scope == "step":
        threshold = min(threshold, budget.working_minutes // 2)
    assert row.due_at is not None
    instant = working_instant_before(calendar, row.due_at, threshold, row.agency)
    return max(instant, row.started_at)


def working_instant_before(
    calendar: BusinessCalendar, due: dt.datetime, minutes: int, agency: str | None
) -> dt.datetime:
    """The instant ``minutes`` of working time before ``due`` (the mirror of add_working_time)."""
    t = due.astimezone(VN_TZ)
    remaining = dt.timedelta(minutes=minutes)
    day = t.date()
    for _ in range(_SEARCH_DAYS):
        for start, end in reversed(calendar.sessions(day, agency)):
            if start >= t:
                continue
            available = min(end, t) - start
            if remaining <= available:
                return min(end, t) - remaining
            remaining -= available
        day -= dt.timedelta(days=1)
    return due - dt.timedelta(days=_SEARCH_DAYS)


def pause(row: Deadline, now: dt.datetime, reason: str) -> bool:
    """Stop the clock; False when it was already stopped."""
    if row.state == "paused":
        return False
    row.pauses = [*(row.pauses or []), [now.isoformat(), None, reason]]
    row.state = "paused"
    return True


def resume(calendar: BusinessCalendar, row: Deadline, now: dt.datetime, warn_before: str | None) -> bool:
    """Restart the clock: the due moves by the working time the pause took."""
    if row.state != "paused":
        return False
    start, _end, reason = row.pauses[-1]
    row.pauses = [*row.pauses[:-1], [start, now.isoformat(), reason]]
    row.due_at = due_of(calendar, row)
    row.warn_at = warn_at(calendar, row, warn_before)
    row.state = "warned" if row.warned_at is not None and row.warn_at <= now else "running"
    return True


def finish(row: Deadline, now: dt.datetime, *, late_by_rule: bool = False) -> str:
    """Stop the clock for good and classify: early, on time or late."""
    due = row.due_at or row.original_due_at
    if late_by_rule or now > due:
        outcome = "late"
    elif now.astimezone(VN_TZ).date() < due.astimezone(VN_TZ).date():
        outcome = "early"
    else:
        outcome = "on_time"
    if row.state == "paused":  # a dossier can end while waiting (e.g. withdrawn): close the pause
        start, _end, reason = row.pauses[-1]
        row.pauses = [*row.pauses[:-1], [start, now.isoformat(), reason]]
    row.state, row.finished_at, row.outcome = "met", now, outcome
    return outcome


def _instant(text: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
