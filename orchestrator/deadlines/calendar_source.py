"""The calendar a process uses, reloaded from the database now and then (operators import years)."""

from __future__ import annotations

import threading
import time

from ..calendar import BusinessCalendar
from ..calendar.store import load_calendar
from ..store.db import Database

RELOAD_SECONDS = 300.0


class CalendarSource:
    def __init__(self, db: Database, reload_seconds: float = RELOAD_SECONDS) -> None:
        self._db = db
        self._reload_seconds = reload_seconds
        self._calendar: BusinessCalendar | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> BusinessCalendar:
        with self._lock:
            if self._calendar is None or time.monotonic() - self._loaded_at > self._reload_seconds:
                self._calendar = load_calendar(self._db)
                self._loaded_at = time.monotonic()
            return self._calendar
