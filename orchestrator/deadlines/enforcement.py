"""The ticker's deadline sweep: warnings and overdue escalations, each exactly once.

Every writer of a deadline row holds its instance's lock (the engine step locks the
instance first), so the sweep takes the same order: pick candidates without locks, lock
their instances (``SKIP LOCKED``: an instance busy in a step is simply taken next tick),
then re-check and update the rows under those locks.  Any number of tickers may run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from ..calendar import VN_TZ
from ..clock import utcnow
from ..engine import Engine
from ..notify import queue_notice
from ..store.history import append_event
from ..store.models import Deadline, ProcessInstance

BATCH = 200


def sweep_deadlines(engine: Engine, *, now: dt.datetime | None = None) -> int:
    """Warn and escalate what is due; returns how many deadlines changed state."""
    now = now or utcnow()
    changed = 0
    for pick, apply in ((_warnable, _warn), (_overdue, _escalate)):
        while True:
            done = _sweep_batch(engine, now, pick, apply)
            changed += done
            if done < BATCH:
                break
    return changed


# Each pick repeats its partial index's predicate as literal SQL (a bound parameter cannot
# prove it, on SQLite or in a PostgreSQL generic plan) and orders by the indexed column, so
# the cost of a sweep does not grow with the number of pending deadlines.
def _warnable(now: dt.datetime) -> Select:
    return (
        select(Deadline.id, Deadline.instance_id)
        .where(text("deadline.state = 'running'"), Deadline.warn_at <= now)
        .order_by(Deadline.warn_at)
    )


def _overdue(now: dt.datetime) -> Select:
    return (
        select(Deadline.id, Deadline.instance_id)
        .where(text("deadline.state IN ('running', 'warned')"), Deadline.due_at <= now)
        .order_by(Deadline.due_at)
    )


def _sweep_batch(engine: Engine, now: dt.datetime, pick: Callable, apply: Callable) -> int:
    with engine.db.write() as session:
        candidates = session.execute(pick(now).limit(BATCH)).all()
        if not candidates:
            return 0
        instance_ids = sorted({instance_id for _, instance_id in candidates})
        lock = (
            select(ProcessInstance).where(ProcessInstance.id.in_(instance_ids)).order_by(ProcessInstance.id)
        )
        if not engine.db.is_sqlite:
            lock = lock.with_for_update(skip_locked=True)
        instances = {row.id: row for row in session.scalars(lock)}
        rows = session.scalars(
            pick(now)
            .with_only_columns(Deadline)
            .where(
                Deadline.id.in_([deadline_id for deadline_id, _ in candidates]),
                Deadline.instance_id.in_(list(instances)),
            )
        ).all()
        for row in rows:
            apply(session, instances[row.instance_id], row, now)
        return len(rows)


def _warn(session: Session, instance: ProcessInstance, row: Deadline, now: dt.datetime) -> None:
    row.state, row.warned_at = "warned", now
    due = _local(row.due_at)
    if row.scope == "dossier":
        message = (
            f"Hồ sơ {instance.business_key or instance.id} sắp đến hạn trả kết quả ({due}). "
            "Nếu không kịp, cơ quan gây chậm gửi văn bản xin lỗi và hẹn lại ngày trả kết quả."
        )
    else:
        step = row.activity_name or row.activity_id
        message = (
            f'Bước "{step}" của hồ sơ {instance.business_key or instance.id} sắp hết thời hạn ({due}). '
            f"Cơ quan {row.agency or 'xử lý'} có thể gửi văn bản xin lỗi và hẹn lại."
        )
    _announce(session, instance, row, "deadline_warning", message, now, row.warn_at, can_reappoint=True)


def _escalate(session: Session, instance: ProcessInstance, row: Deadline, now: dt.datetime) -> None:
    row.state, row.overdue_at = "overdue", now
    due = _local(row.due_at)
    what = "Hồ sơ" if row.scope == "dossier" else f'Bước "{row.activity_name or row.activity_id}" của hồ sơ'
    message = f"{what} {instance.business_key or instance.id} đã quá hạn ({due}); cần xử lý ngay."
    _announce(session, instance, row, "deadline_overdue", message, now, row.due_at)


def _announce(
    session: Session,
    instance: ProcessInstance,
    row: Deadline,
    kind: str,
    message: str,
    now: dt.datetime,
    planned: dt.datetime | None,
    **extra: object,
) -> None:
    """The notice to deliver and the history event, with how late the sweep acted."""
    _notify(session, instance, row, kind, message, now)
    data = {
        "scope": row.scope,
        "agency": row.agency,
        "due": _local(row.due_at),
        "late_seconds": _lateness(planned, now),
    }
    append_event(
        session,
        instance,
        kind,
        at=now,
        actor="ticker",
        activity_id=row.activity_id,
        task_id=row.task_id,
        data={**data, **extra},
    )


def _notify(
    session: Session, instance: ProcessInstance, row: Deadline, kind: str, message: str, now: dt.datetime
) -> None:
    queue_notice(
        session,
        instance_id=instance.id,
        kind=kind,
        message=message,
        agency=row.agency,
        now=now,
        deadline_id=row.id,
    )


def _lateness(planned: dt.datetime | None, now: dt.datetime) -> float:
    """How long after its instant the sweep acted (large after downtime: never silently late)."""
    return round((now - planned).total_seconds(), 3) if planned else 0.0


def _local(instant: dt.datetime | None) -> str:
    return instant.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y") if instant else "không xác định"
