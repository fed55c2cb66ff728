"""What every console view needs from the app: the engine, its database, the date range."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app

from orchestrator.calendar import VN_TZ
from orchestrator.engine import Engine
from orchestrator.store.db import Database


def engine() -> Engine:
    return current_app.extensions["lienthong"].engine


def db() -> Database:
    return engine().db


def parse_day(text: str | None) -> date | None:
    """A ``yyyy-mm-dd`` from an ``<input type="date">``; None when empty or malformed."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole Vietnamese days ``first`` to ``last`` inclusive, as the half-open UTC-aware [start, end)."""
    start = datetime.combine(first, time(), VN_TZ) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), VN_TZ) if last else None
    return start, end
