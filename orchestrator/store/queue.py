"""The job table as a queue: enqueue with dedupe, claim with SKIP LOCKED, finish, retry.

Every statement is one atomic claim, so any number of workers may run with no leader
(procrastinate's design).  The dialect difference is only the insert's ON CONFLICT
builder and ``FOR UPDATE SKIP LOCKED``, which SQLite does not need under its writer lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Job

_OPEN = text("status IN ('queued', 'running')")


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 5,
) -> None:
    """Add a job; a job with the same dedupe key still queued or running makes this a no-op."""
    values = {
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "status": "queued",
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Job).values(**values)
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=_OPEN)
    # Bind processing (UtcDateTime) must apply: go through the ORM-typed table.
    session.execute(statement)


def claim(
    session: Session,
    owner: str,
    *,
    now: datetime,
    lease: timedelta,
    limit: int = 10,
    kinds: tuple[str, ...] | None = None,
) -> list[Job]:
    """Lease up to ``limit`` runnable jobs (queued and due, or running with an expired lease)."""
    # Two picks, each matching a partial index literally (a bound 'queued' cannot prove the
    # index predicate), so the claim does not slow down as finished jobs accumulate.
    due = select(Job.id).where(text("job.status = 'queued'"), Job.run_at <= now).order_by(Job.run_at)
    stalled = select(Job.id).where(text("job.status = 'running'"), Job.lease_expires_at < now)
    if kinds:
        due, stalled = due.where(Job.kind.in_(kinds)), stalled.where(Job.kind.in_(kinds))
    picked = [
        row for query in (due, stalled) for row in session.scalars(_locking(session, query.limit(limit)))
    ]
    if not picked:
        return []
    statement = (
        update(Job)
        .where(Job.id.in_(picked[:limit]))
        .values(status="running", lease_owner=owner, lease_expires_at=now + lease, attempts=Job.attempts + 1)
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).scalars())


def _locking(session: Session, query: Select) -> Select:
    """SKIP LOCKED on PostgreSQL; SQLite's single writer lock already makes the claim exclusive."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def finish(session: Session, job_id: int, owner: str, *, now: datetime) -> bool:
    """Mark done if this owner still holds the lease; False means another worker took it over."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.status == "running")
        .values(status="done", finished_at=now, lease_expires_at=None)
    )
    return result.rowcount == 1


def retry_or_bury(
    session: Session, job: Job, owner: str, error: str, *, now: datetime, delay: timedelta | None = None
) -> str:
    """After a failure: back off and requeue, or mark dead when attempts are used up.

    ``delay`` is the runner's own backoff (a mail server wants minutes, not seconds); without
    it the delay doubles from 2 s up to 5 minutes.
    """
    if job.attempts >= job.max_attempts:
        values: dict[str, Any] = {"status": "dead", "finished_at": now}
    else:
        backoff = delay if delay is not None else timedelta(seconds=min(2**job.attempts, 300))
        values = {"status": "queued", "run_at": now + backoff}
    session.execute(
        update(Job)
        .where(Job.id == job.id, Job.lease_owner == owner)
        .values(last_error=error[:4000], lease_owner=None, lease_expires_at=None, **values)
    )
    return values["status"]
