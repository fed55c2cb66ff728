"""The calendar in the database: versioned imports, office hours, and building the calendar.

The table is the truth for every year it holds rows for.  The first import touching a year
first copies that year's seed (shipped data or holidays estimate) into the table, so a
one-line notice (e.g. confirming 24/11/2026) adds to the year instead of replacing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, Select, false, inspect, or_, select
from sqlalchemy.orm import Session

from orchestrator.store.db import Database

from .calendar import BusinessCalendar
from .days import CalendarEntry, DayKind, Scope, Status
from .files import read_entries
from .hours import OfficeHours
from .models import CalendarDay, OfficeHoursRow
from .seed import SHIPPED_FILE, base_entries, shipped_years

Key = tuple[dt.date, Scope, str | None]


@dataclass(frozen=True)
class ImportReport:
    """What an import did, counted in entries."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    retired: int = 0
    seeded_years: tuple[int, ...] = ()


def calendar_tables_exist(db: Database) -> bool:
    """True once the migration creating ``calendar_day`` and ``office_hours`` has run."""
    names = set(inspect(db.read_engine).get_table_names())
    return {CalendarDay.__tablename__, OfficeHoursRow.__tablename__} <= names


def load_calendar(db: Database | None) -> BusinessCalendar:
    """Build the in-memory calendar: table rows, office hours, the seed for years without rows."""
    if db is None or not calendar_tables_exist(db):
        return BusinessCalendar.default()
    with db.read() as session:
        rows = session.scalars(select(CalendarDay)).all()
        hours = session.scalars(select(OfficeHoursRow)).all()
    return BusinessCalendar(
        [_entry(row) for row in rows if row.active],
        office_hours={h.agency_code: OfficeHours.from_strings(h.sessions, h.cutoff) for h in hours},
        provinces={h.agency_code: h.province_code for h in hours if h.agency_code and h.province_code},
        covered_years={row.date.year for row in rows},
        fallback=base_entries,
    )


def entries_for_year(db: Database | None, year: int) -> tuple[list[CalendarEntry], bool]:
    """The entries in force for ``year`` (pending ones included) and whether they come from the table."""
    if db is not None and calendar_tables_exist(db):
        with db.read() as session:
            rows = session.scalars(_year_rows(year).order_by(CalendarDay.date, CalendarDay.id)).all()
        if rows:
            return [_entry(r) for r in rows if r.active], True
    return list(base_entries(year)), False


def import_file(db: Database, path: str | Path, *, replace: bool = False) -> ImportReport:
    """Import a CSV or YAML notice; raises ``CalendarFileError`` (nothing written) on a bad row."""
    entries = read_entries(path)
    return import_entries(db, entries, origin=Path(path).name, replace=replace)


def import_entries(
    db: Database,
    entries: Iterable[CalendarEntry],
    *,
    origin: str,
    replace: bool = False,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Merge entries by (date, scope, scope_code) in one transaction.

    Same content as the active row: unchanged (re-import is idempotent).  Different: the
    active row is kept as history (inactive, ``replaced_by_id``) and the new row gets
    version + 1.  With ``replace``, active rows of the same years and scopes that the file
    does not mention are retired too: the file is then the complete notice for them.
    """
    entries = list(entries)
    now = now or dt.datetime.now(dt.UTC)
    added = replaced = unchanged = retired = 0
    with db.write() as session:
        seeded = tuple(
            year for year in sorted({e.date.year for e in entries}) if _seed_year(session, year, now)
        )
        active = _active_rows(session, {e.date.year for e in entries})
        for entry in entries:
            current = active.get(entry.key)
            if current is not None and _same(current, entry):
                unchanged += 1
                continue
            row = _row(entry, origin, now, version=_next_version(session, entry.key))
            session.add(row)
            session.flush()  # the new id, for the history link
            if current is None:
                added += 1
            else:
                current.active = False
                current.replaced_by_id = row.id
                replaced += 1
        if replace:
            mentioned = {e.key for e in entries}
            groups = {(e.date.year, e.scope, e.scope_code) for e in entries}
            for key, row in active.items():
                if key not in mentioned and (key[0].year, key[1], key[2]) in groups:
                    row.active = False
                    retired += 1
    return ImportReport(added, replaced, unchanged, retired, seeded)


def save_office_hours(
    db: Database, agency_code: str | None, hours: OfficeHours, *, province_code: str | None = None
) -> None:
    """Set an agency's office hours (None: the default for all agencies)."""
    with db.write() as session:
        row = session.scalars(
            select(OfficeHoursRow).where(
                OfficeHoursRow.agency_code.is_(None)
                if agency_code is None
                else OfficeHoursRow.agency_code == agency_code
            )
        ).first()
        if row is None:
            row = OfficeHoursRow(agency_code=agency_code)
            session.add(row)
        row.sessions = hours.session_strings()
        row.cutoff = hours.cutoff.strftime("%H:%M")
        row.province_code = province_code
        row.updated_at = dt.datetime.now(dt.UTC)


def history(
    db: Database, day: dt.date, scope: Scope = Scope.NATIONAL, scope_code: str | None = None
) -> list[CalendarDay]:
    """Every version of one date's entry for one scope, oldest first."""
    with db.read() as session:
        query = select(CalendarDay).where(CalendarDay.date == day, CalendarDay.scope == scope.value)
        query = query.where(
            CalendarDay.scope_code.is_(None) if scope_code is None else CalendarDay.scope_code == scope_code
        )
        return list(session.scalars(query.order_by(CalendarDay.version)).all())


# -- internals ---------------------------------------------------------------------------


def _in_years(years: Iterable[int]) -> ColumnElement[bool]:
    # Date ranges rather than EXTRACT(year): the same SQL on SQLite and PostgreSQL, and indexable.
    return or_(
        false(), *(CalendarDay.date.between(dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in sorted(set(years)))
    )


def _year_rows(year: int) -> Select[tuple[CalendarDay]]:
    return select(CalendarDay).where(_in_years([year]))


def _seed_year(session: Session, year: int, now: dt.datetime) -> bool:
    """Copy the seed of a year the table has never seen; True if it did."""
    if session.scalars(_year_rows(year).limit(1)).first() is not None:
        return False
    origin = f"seed: {SHIPPED_FILE}" if year in shipped_years() else "seed: holidays"
    session.add_all(_row(entry, origin, now, version=1) for entry in base_entries(year))
    session.flush()
    return True


def _active_rows(session: Session, years: set[int]) -> Mapping[Key, CalendarDay]:
    rows = session.scalars(select(CalendarDay).where(CalendarDay.active.is_(True), _in_years(years))).all()
    return {(r.date, Scope(r.scope), r.scope_code): r for r in rows}


def _next_version(session: Session, key: Key) -> int:
    day, scope, code = key
    versions = session.scalars(
        select(CalendarDay.version).where(
            CalendarDay.date == day,
            CalendarDay.scope == scope.value,
            CalendarDay.scope_code.is_(None) if code is None else CalendarDay.scope_code == code,
        )
    ).all()
    return max(versions, default=0) + 1


def _same(row: CalendarDay, entry: CalendarEntry) -> bool:
    return (row.kind, row.name, row.source, row.status) == (
        entry.kind.value,
        entry.name,
        entry.source,
        entry.status.value,
    )


def _row(entry: CalendarEntry, origin: str, now: dt.datetime, *, version: int) -> CalendarDay:
    return CalendarDay(
        date=entry.date,
        kind=entry.kind.value,
        scope=entry.scope.value,
        scope_code=entry.scope_code,
        name=entry.name,
        source=entry.source,
        status=entry.status.value,
        version=version,
        active=True,
        origin=origin,
        imported_at=now,
    )


def _entry(row: CalendarDay) -> CalendarEntry:
    return CalendarEntry(
        row.date,
        DayKind(row.kind),
        Scope(row.scope),
        row.scope_code,
        row.name,
        row.source,
        Status(row.status),
    )
