"""Tables of the business calendar, on the project's ``Base`` (the migration lives in store/).

``calendar_day`` is versioned: an import never deletes.  For each (date, scope, scope_code)
at most one row is ``active``; a row replaced by an import keeps its content, is marked
inactive and points to its successor (``replaced_by_id``), whose ``version`` is one higher.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.store.models import Base, BigId, UtcDateTime


class CalendarDay(Base):
    """One version of one dated exception (ngày nghỉ, ngày làm bù) for one scope."""

    __tablename__ = "calendar_day"
    __table_args__ = (
        Index("ix_calendar_day_key", "date", "scope", "scope_code"),
        Index("ix_calendar_day_active_date", "active", "date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))  # DayKind value
    scope: Mapped[str] = mapped_column(String(16))  # national | province | agency
    scope_code: Mapped[str | None] = mapped_column(String(64))  # province or agency code
    name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(Text)  # the notice, decision or law it comes from
    status: Mapped[str] = mapped_column(String(16))  # official | estimated | pending
    version: Mapped[int] = mapped_column(Integer, default=1)  # per (date, scope, scope_code)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("calendar_day.id"))
    origin: Mapped[str | None] = mapped_column(String(255))  # imported file name, or "seed: ..."
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class OfficeHoursRow(Base):
    """Office hours of one agency (``agency_code`` NULL: the default for every agency)."""

    __tablename__ = "office_hours"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    # [["07:30", "11:30"], ["13:00", "17:00"]]: ordered, non-overlapping sessions.
    sessions: Mapped[list[Any]] = mapped_column(JSON)
    cutoff: Mapped[str] = mapped_column(String(5), default="15:00")  # receipt cut-off HH:MM
    # Whose province-scope entries (local days off) apply to this agency.
    province_code: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


CALENDAR_TABLES = [CalendarDay.__table__, OfficeHoursRow.__table__]
