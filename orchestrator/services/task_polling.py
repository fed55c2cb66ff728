"""fetchAndLock with ``asyncResponseTimeout``: hold the request until a task can be locked.

The loop subscribes to the topics first, then alternates: try, and if nothing was
locked, sleep until a signal (a new task, an unlock, restored retries), until the
earliest moment a lock or retry delay runs out, or until the next re-check
(:mod:`.task_signals`).  Re-checks are reads; the claim (a write) runs only when a read
says a task is claimable, so idle pollers do not queue on SQLite's writer lock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..access import Principal
from ..clock import utcnow
from .task_filters import TopicRequest
from .task_locks import fetch_and_lock, next_claimable_at
from .task_signals import signals_for
from .task_views import LockedTask, TaskSorting

if TYPE_CHECKING:
    from ..runtime import Runtime

MAX_ASYNC_RESPONSE_TIMEOUT_MS = 1_800_000  # Camunda's limit: 30 minutes
_LOST_RACE_PAUSE_SECONDS = 0.05  # claimable by the read, taken by another worker meanwhile


def fetch_and_lock_waiting(
    runtime: Runtime,
    principal: Principal,
    worker_id: str,
    max_tasks: int,
    topics: Sequence[TopicRequest],
    *,
    use_priority: bool = False,
    sorting: Sequence[TaskSorting] = (),
    timeout_ms: int | None = None,
) -> list[LockedTask]:
    """Like :func:`fetch_and_lock`, but waits up to ``timeout_ms`` for a first task."""

    def attempt() -> list[LockedTask]:
        return fetch_and_lock(
            runtime.engine,
            principal,
            worker_id,
            max_tasks,
            topics,
            use_priority=use_priority,
            sorting=sorting,
        )

    if not timeout_ms or max_tasks <= 0 or not topics:
        return attempt()
    hub = signals_for(runtime)
    deadline = time.monotonic() + min(timeout_ms, MAX_ASYNC_RESPONSE_TIMEOUT_MS) / 1000
    with hub.subscribe(t.topic_name for t in topics) as waiter:
        tasks = attempt()
        while not tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or hub.stopped:
                return []
            sleep = min(remaining, hub.recheck_seconds)
            waiter.clear()  # before the read: a signal after it still ends the coming sleep
            available_at = next_claimable_at(runtime.engine, principal, topics)
            if available_at is not None:
                until = (available_at - utcnow()).total_seconds()
                if until <= 0:
                    tasks = attempt()
                    if tasks:
                        break
                    until = _LOST_RACE_PAUSE_SECONDS
                sleep = min(sleep, until)
            waiter.wait(sleep)
        return tasks
