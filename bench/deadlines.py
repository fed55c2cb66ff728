"""(e) deadline firing lateness with 10^5 and 10^6 pending deadlines, two tickers at once (PostgreSQL).

For each size: N running deadlines far in the future (generated inside the database), plus
300 that come due at random instants in a 10-second window.  Two tickers sweep once a
second each, half a second apart, as two ``lienthong worker`` processes would.  Reported:
one idle sweep's cost (it must not grow with N), each warning's lateness (the sweep's
instant minus ``warn_at``) at p50/p99, and part 4's check: each deadline warned exactly once.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from common import indexes_rebuilt_after, percentile
from sqlalchemy import func, insert, select, text

from orchestrator.config import Settings
from orchestrator.deadlines.enforcement import sweep_deadlines
from orchestrator.handler_sdk import HandlerRegistry
from orchestrator.runtime import Runtime
from orchestrator.store.models import (
    Deadline,
    Deployment,
    Event,
    Notification,
    ProcessDefinition,
    ProcessInstance,
)

HOLDERS = 1000
DUE_IN_WINDOW = 300
WINDOW_SECONDS = 10
TICKERS = 2
SWEEP_SECONDS = 1.0  # each ticker's period, as ``lienthong worker`` sweeps


def _populate(runtime: Runtime, pending: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(HOLDERS)]
    with runtime.db.write() as session:
        session.add(Deployment(id="bench", deployed_at=now))
        session.flush()
        session.add(
            ProcessDefinition(
                id="bench:1",
                key="bench",
                version=1,
                resource_name="bench.bpmn",
                content_hash="x",
                bpmn_xml=b"",
                spec_state=b"",
                serializer_version="x",
                properties={},
                deployment_id="bench",
                deployed_at=now,
            )
        )
        session.flush()
        session.execute(
            insert(ProcessInstance),
            [
                {
                    "id": i,
                    "definition_id": "bench:1",
                    "process_key": "bench",
                    "status": "running",
                    "version": 1,
                    "state": b"",
                    "serializer_version": "x",
                    "variables": {},
                    "current_activities": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
        with indexes_rebuilt_after(session.connection(), Deadline.__table__):
            session.execute(
                text(
                    "INSERT INTO deadline (instance_id, scope, budget, started_at, due_at, original_due_at,"
                    " warn_at,"
                    " pauses, supplement_count, state)"
                    " SELECT (CAST(:ids AS text[]))[1 + g % :holders], 'step', '1wd', :now, :far, :far, :far,"
                    " '[]', 0,"
                    " 'running' FROM generate_series(1, CAST(:pending AS integer)) AS g"
                ),
                {
                    "ids": ids,
                    "holders": HOLDERS,
                    "now": now,
                    "far": now + timedelta(days=365),
                    "pending": pending,
                },
            )
    with runtime.db.write() as session:
        session.execute(text("ANALYZE deadline"))
    return ids


def _ticker(
    runtime: Runtime, stop: float, offset: float, every: float, failures: list[BaseException]
) -> None:
    time.sleep(offset)
    try:
        while time.monotonic() < stop:
            began = time.perf_counter()
            sweep_deadlines(runtime.engine)
            time.sleep(max(0.0, every - (time.perf_counter() - began)))
    except BaseException as error:  # reported by the caller: a failed sweep invalidates the run
        failures.append(error)


def measure(
    url: str,
    pending: int,
    due: int = DUE_IN_WINDOW,
    window: float = WINDOW_SECONDS,
    sweep_every: float = SWEEP_SECONDS,
) -> dict[str, Any]:
    runtime = Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())
    try:
        runtime.migrate()
        began = time.perf_counter()
        ids = _populate(runtime, pending)
        load_seconds = time.perf_counter() - began
        idle = []
        for _ in range(5):
            t0 = time.perf_counter()
            sweep_deadlines(runtime.engine)
            idle.append((time.perf_counter() - t0) * 1000)
        start = datetime.now(UTC)
        with runtime.db.write() as session:
            session.execute(
                insert(Deadline),
                [
                    {
                        "instance_id": random.choice(ids),
                        "scope": "step",
                        "budget": "1wd",
                        "started_at": start,
                        "due_at": start + timedelta(days=30),
                        "original_due_at": start + timedelta(days=30),
                        "warn_at": start + timedelta(seconds=random.uniform(0, window)),
                        "pauses": [],
                        "supplement_count": 0,
                        "state": "running",
                    }
                    for _ in range(due)
                ],
            )
        # The last deadline comes due by the end of the window; two more sweep periods see it fired.
        stop, failures = time.monotonic() + window + 2 * sweep_every, []
        tickers = [
            threading.Thread(
                target=_ticker, args=(runtime, stop, n * sweep_every / TICKERS, sweep_every, failures)
            )
            for n in range(TICKERS)
        ]
        for ticker in tickers:
            ticker.start()
        for ticker in tickers:
            ticker.join()
        if failures:
            raise failures[0]
        with runtime.db.read() as session:
            lateness = [
                e.data["late_seconds"]
                for e in session.scalars(select(Event).where(Event.type == "deadline_warning"))
            ]
            warned_twice = session.scalar(
                select(func.count()).select_from(
                    select(Notification.deadline_id)
                    .where(Notification.kind == "deadline_warning")
                    .group_by(Notification.deadline_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
        return {
            "pending": pending,
            "load_seconds": round(load_seconds, 1),
            "tickers": TICKERS,
            "idle_sweep_ms_median": round(statistics.median(idle), 2),
            "fired": len(lateness),
            "expected": due,
            "warned_twice": warned_twice,
            "fired_once": len(lateness) == due and warned_twice == 0,
            "lateness_p50_s": round(statistics.median(lateness), 3) if lateness else None,
            "lateness_p99_s": round(percentile(lateness, 99), 3) if lateness else None,
        }
    finally:
        runtime.close()
