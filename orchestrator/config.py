"""Settings read once from the environment (``LIENTHONG_*``), passed explicitly after that."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
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
    # Admin console, stuck dossiers.  An agency system long-polls all day: a task nobody fetched
    # for an hour means its integration is down or its topic unmapped, and an hour is well
    # inside the shortest step budget (half a working day), so there is time to act.
    stuck_not_fetched_after_seconds: float = 3600.0
    lock_expiry_incident_after: int = 3  # a lock that expired this often is an incident, not re-fetched
    supplement_window: str = "7wd"  # about 7 working days for the applicant to supplement (DOMAIN.md)
    message_wait_after_seconds: float = 3 * 86400.0  # a message awaited this long was probably lost
    # Signs the console's session cookie: required in production, generated once in development.
    secret_key: str | None = field(default=None, repr=False)  # never in logs
    secret_key_file: Path = Path("var/secret_key")
    secure_cookies: bool = False  # served over HTTPS: the session cookie is sent over HTTPS only
    # The address citizens reach: the receipt's QR code opens {public_base_url}/tra-cuu.
    public_base_url: str = "http://127.0.0.1:8080"
    # Public lookup limits per client IP; several API processes share counts through e.g. redis://.
    public_lookup_rate: str = "20/minute"
    ratelimit_storage_uri: str = "memory://"
    # Notices by e-mail: no host = e-mail deliveries are recorded as skipped (visible), not retried.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "none"  # none | starttls | ssl
    smtp_from: str = "Một cửa liên thông <khong-tra-loi@localhost>"
    notify_timeout_seconds: float = 10.0  # per SMTP session or webhook POST, well under the job lease
    # National Public Service Portal sync: no URL = outbox rows are kept as skipped (visible), not retried.
    portal_url: str | None = None
    portal_token: str | None = field(default=None, repr=False)  # never in logs
    portal_auth: str = "bearer"  # bearer | basic (the token is then "user:password")
    portal_timeout_seconds: float = 10.0  # per POST, well under the job lease

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
            secret_key=env.get("LIENTHONG_SECRET_KEY") or None,
            secure_cookies=env.get("LIENTHONG_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            public_base_url=env.get("LIENTHONG_PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
            public_lookup_rate=env.get("LIENTHONG_PUBLIC_LOOKUP_RATE", "20/minute"),
            ratelimit_storage_uri=env.get("LIENTHONG_RATELIMIT_STORAGE_URI", "memory://"),
            smtp_host=env.get("LIENTHONG_SMTP_HOST") or None,
            smtp_port=int(env.get("LIENTHONG_SMTP_PORT", "25")),
            smtp_user=env.get("LIENTHONG_SMTP_USER") or None,
            smtp_password=env.get("LIENTHONG_SMTP_PASSWORD") or None,
            smtp_security=_choice(env, "LIENTHONG_SMTP_SECURITY", ("none", "starttls", "ssl")),
            smtp_from=env.get("LIENTHONG_SMTP_FROM", "Một cửa liên thông <khong-tra-loi@localhost>"),
            notify_timeout_seconds=float(env.get("LIENTHONG_NOTIFY_TIMEOUT_SECONDS", "10")),
            portal_url=env.get("LIENTHONG_PORTAL_URL") or None,
            portal_token=env.get("LIENTHONG_PORTAL_TOKEN") or None,
            portal_auth=_choice(env, "LIENTHONG_PORTAL_AUTH", ("bearer", "basic")),
            portal_timeout_seconds=float(env.get("LIENTHONG_PORTAL_TIMEOUT_SECONDS", "10")),
            stuck_not_fetched_after_seconds=float(
                env.get("LIENTHONG_STUCK_NOT_FETCHED_AFTER_SECONDS", "3600")
            ),
            lock_expiry_incident_after=int(env.get("LIENTHONG_LOCK_EXPIRY_INCIDENT_AFTER", "3")),
            supplement_window=env.get("LIENTHONG_SUPPLEMENT_WINDOW", "7wd"),
            message_wait_after_seconds=float(env.get("LIENTHONG_MESSAGE_WAIT_AFTER_SECONDS", "259200")),
        )


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, allowed[0]).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def resolve_secret_key(settings: Settings) -> str:
    """The key that signs session cookies, the same in every process and across restarts.

    Production must set ``LIENTHONG_SECRET_KEY``; development creates ``var/secret_key`` once.
    The file is published with ``os.link``, which fails if it exists, so processes starting
    together all end up reading the one key that won.
    """
    if settings.secret_key:
        return settings.secret_key
    if settings.environment == "production":
        raise RuntimeError("LIENTHONG_SECRET_KEY is required in production (e.g. `openssl rand -hex 32`)")
    path = settings.secret_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        draft.write_text(secrets.token_hex(32), encoding="ascii")
        os.chmod(draft, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text(encoding="ascii").strip()
