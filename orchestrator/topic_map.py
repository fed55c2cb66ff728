"""Topic -> agency for steps whose diagram names no agency, cached per process for a few seconds.

The map changes rarely (``lienthong agency map-topic``) and is read at every hand-over, so
each process reloads the whole (small) table at most every ``RELOAD_SECONDS``.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from .store.models import TopicAgency

RELOAD_SECONDS = 10.0


class TopicMap:
    def __init__(self, reload_seconds: float = RELOAD_SECONDS) -> None:
        self._reload_seconds = reload_seconds
        self._agencies: dict[str, str] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def agency(self, session: Session, topic: str) -> str | None:
        """The agency mapped to ``topic``, read through ``session`` when the cache is stale."""
        with self._lock:
            if self._loaded_at is None or time.monotonic() - self._loaded_at > self._reload_seconds:
                rows = session.execute(select(TopicAgency.topic, TopicAgency.agency_code)).all()
                self._agencies = {topic: agency for topic, agency in rows}
                self._loaded_at = time.monotonic()
            return self._agencies.get(topic)
