"""APScheduler wiring: an in-memory scheduler per worker process, never a shared job store.

Each tick's effect is a database claim (``fire_due_timers``), so every worker may tick
with no leader and no timer fires twice (APScheduler's FAQ: job stores can't be shared).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from .clock import utcnow
from .deadlines.enforcement import sweep_deadlines
from .engine import Engine
from .services.due_timers import fire_due_timers
from .services.idempotency import purge

log = logging.getLogger(__name__)
IDEMPOTENCY_RETENTION = timedelta(days=1)


def tick(engine: Engine) -> int:
    """One sweep: fire due timers, then warn and escalate deadlines; returns the timers fired.

    Tests call it directly after moving the clock.
    """
    fired = fire_due_timers(engine)
    sweep_deadlines(engine)
    return fired


def start_ticker(engine: Engine) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="UTC",
    )
    # The first sweep runs at once: timers that came due while everything was down fire now.
    scheduler.add_job(
        tick,
        "interval",
        args=[engine],
        seconds=engine.settings.ticker_interval_seconds,
        id="tick",
        next_run_time=utcnow(),
    )
    scheduler.add_job(purge_idempotency_keys, "interval", args=[engine], hours=1, id="purge-idempotency")
    scheduler.start()
    return scheduler


def purge_idempotency_keys(engine: Engine) -> int:
    """Stored answers carry dossier data: keep them only as long as clients retry (a day)."""
    return purge(engine.db, created_before=utcnow() - IDEMPOTENCY_RETENTION)
