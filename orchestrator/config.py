"""Settings read once from the environment (``LIENTHONG_*``), passed explicitly after that."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/lienthong.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    processes_dir: Path = Path("processes")
    environment: str = "development"  # "development" prints demo tokens; "production" never does
    # A timer that fires later than this after its due instant is recorded as late.
    timer_late_after_seconds: float = 60.0
    # How long a worker may hold a claimed job before another worker may take it over.
    job_lease_seconds: float = 300.0
    worker_poll_seconds: float = 0.5
    ticker_interval_seconds: float = 1.0
    handler_max_attempts: int = 5
    # Composition by name keeps the core free of imports of its plug-ins (ARCHITECTURE.md §3).
    handler_modules: tuple[str, ...] = ("handlers",)
    app_factory: str = "api:create_app"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("LIENTHONG_DATABASE_URL", DEFAULT_DATABASE_URL),
            processes_dir=Path(env.get("LIENTHONG_PROCESSES_DIR", "processes")),
            environment=env.get("LIENTHONG_ENV", "development"),
            timer_late_after_seconds=float(env.get("LIENTHONG_TIMER_LATE_AFTER_SECONDS", "60")),
            job_lease_seconds=float(env.get("LIENTHONG_JOB_LEASE_SECONDS", "300")),
            worker_poll_seconds=float(env.get("LIENTHONG_WORKER_POLL_SECONDS", "0.5")),
            ticker_interval_seconds=float(env.get("LIENTHONG_TICKER_INTERVAL_SECONDS", "1")),
            handler_max_attempts=int(env.get("LIENTHONG_HANDLER_MAX_ATTEMPTS", "5")),
            handler_modules=tuple(
                m for m in env.get("LIENTHONG_HANDLER_MODULES", "handlers").split(",") if m
            ),
        )
