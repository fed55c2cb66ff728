"""Waking long-polling fetchAndLock requests when a task for their topic may be claimable.

One :class:`TaskSignals` hub per Runtime (:func:`signals_for`).  Waiters subscribe with
their topics and sleep on an event; they are woken

- in this process, right after the commit of any transaction that inserted an agency-side
  external-task row (the projection lists its topics under ``ANNOUNCED_TOPICS`` in the
  session's info) or that :func:`announce` -d a topic (unlock, retries restored, failure
  without delay);
- from every process on PostgreSQL: one background thread per hub LISTENs on
  :data:`~orchestrator.projection.TASK_CHANNEL`, which the projection and :func:`announce`
  NOTIFY at commit.  After each (re)connection every waiter is woken, so a notification
  lost while disconnected costs at most one re-check.

SQLite has no cross-process signal, so waiters there re-check every
:data:`SQLITE_POLL_SECONDS` (a cheap read, see ``task_polling``).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ..projection import ANNOUNCED_TOPICS, TASK_CHANNEL
from ..store.db import Database

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

SQLITE_POLL_SECONDS = 0.15
# On PostgreSQL NOTIFY does the waking; this only bounds the cost of a bug or a lost signal.
POSTGRES_RECHECK_SECONDS = 10.0
_LISTEN_TIMEOUT_SECONDS = 0.5  # how often the listener looks at its stop flag
_RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
_PENDING = ANNOUNCED_TOPICS  # session.info key: topics to wake after commit

_hubs: weakref.WeakKeyDictionary[SqlEngine, TaskSignals] = weakref.WeakKeyDictionary()
_hubs_lock = threading.Lock()


class Waiter:
    """One sleeping request: woken when one of its topics is signalled."""

    def __init__(self, topics: frozenset[str]) -> None:
        self.topics = topics
        self._event = threading.Event()

    def wake(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True if woken."""
        return self._event.wait(max(timeout, 0.0))


class TaskSignals:
    """The per-process hub; cheap until the first long poll starts the PostgreSQL listener."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.recheck_seconds = SQLITE_POLL_SECONDS if db.is_sqlite else POSTGRES_RECHECK_SECONDS
        self._waiters: set[Waiter] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @contextmanager
    def subscribe(self, topics: Iterable[str]) -> Iterator[Waiter]:
        """Register a waiter for ``topics`` for the duration of the block.

        Subscribe *before* the first fetch attempt: a task committed between that attempt
        and the sleep then finds the waiter registered and wakes it.
        """
        self._ensure_listener()
        waiter = Waiter(frozenset(topics))
        with self._lock:
            self._waiters.add(waiter)
        try:
            yield waiter
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def notify(self, topics: Iterable[str] | None) -> None:
        """Wake the waiters for any of ``topics`` (None: every waiter)."""
        wanted = None if topics is None else set(topics)
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            if wanted is None or waiter.topics & wanted:
                waiter.wake()

    def stop(self) -> None:
        """Stop the listener thread (it notices within half a second) and wake every waiter."""
        self._stop.set()
        self.notify(None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2 * _LISTEN_TIMEOUT_SECONDS)

    # -- PostgreSQL listener -------------------------------------------------------------

    def _ensure_listener(self) -> None:
        if self.db.is_sqlite or self._stop.is_set():
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="lienthong-task-signals", daemon=True
                )
                self._thread.start()
        # The first subscriber waits (briefly) for LISTEN to be in place; later ones never do.
        self._listening.wait(timeout=2.0)

    def _listen(self) -> None:
        import psycopg  # only PostgreSQL deployments need it loaded

        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {TASK_CHANNEL}")
                    failures = 0
                    self._listening.set()
                    self.notify(None)  # anything committed while we were not listening: re-check
                    while not self._stop.is_set():
                        for notification in connection.notifies(timeout=_LISTEN_TIMEOUT_SECONDS):
                            self.notify([notification.payload])
            except Exception:
                if self._stop.is_set():
                    break
                delay = _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "task signal listener lost its connection; retrying in %.1fs", delay, exc_info=True
                )
                self._stop.wait(delay)


def signals_for(runtime: Runtime) -> TaskSignals:
    """The Runtime's hub, created on first use and stopped by ``runtime.close()``."""

    def create() -> TaskSignals:
        hub = TaskSignals(runtime.db)
        with _hubs_lock:
            _hubs[runtime.db.engine] = hub
        return hub

    return runtime.extension("task_signals", create)


def announce(session: Session, topic: str) -> None:
    """A task of ``topic`` became claimable in this transaction: wake waiters at commit."""
    session.info.setdefault(_PENDING, set()).add(topic)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :topic)"), {"channel": TASK_CHANNEL, "topic": topic})


# -- in-process wake-up on commit: the topics the transaction listed, once it committed ------


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    topics = session.info.pop(_PENDING, None)
    if not topics:
        return
    bind = session.bind  # not get_bind(): a session of someone else's may have no single bind
    hub = _hubs.get(bind) if isinstance(bind, SqlEngine) else None
    if hub is not None:
        hub.notify(topics)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
