"""``BusinessCalendar``: working days, office hours and deadline arithmetic, all in memory.

No database access happens here: a loader (``store.load_calendar``) gathers the entries and
office hours and builds the object; years it holds nothing for are filled on first use by a
pure ``fallback`` (the shipped data, then the holidays package).  The conventions are stated
in README.md beside this file; the comments below say how the code keeps them.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from .days import CalendarEntry, Scope
from .duration import Duration, parse_duration
from .hours import DEFAULT_OFFICE_HOURS, VN_TZ, OfficeHours, floor_minute, to_vn

Pause = tuple[dt.datetime, dt.datetime | None]
Fallback = Callable[[int], Iterable[CalendarEntry]]
# No real calendar has a year without a working day; a misconfigured one must not loop forever.
SEARCH_LIMIT_DAYS = 400
_MINUTE = dt.timedelta(minutes=1)


class CalendarError(ValueError):
    """The calendar cannot answer (e.g. no working day within SEARCH_LIMIT_DAYS)."""


class ClockPaused(Exception):  # a state of the clock rather than a failure
    """The due is unknown: an open pause (supplement, payment) began before the due.

    ``remaining`` is the working time that was left when the clock stopped; on resumption
    the due is ``add_working_time(resumed_at, remaining)``.
    """

    def __init__(self, paused_at: dt.datetime, remaining: dt.timedelta) -> None:
        self.paused_at = paused_at
        self.remaining = remaining
        minutes = int(remaining.total_seconds() // 60)
        super().__init__(f"clock paused since {paused_at.isoformat()}: {minutes} working minutes left")


class BusinessCalendar:
    """A Vietnamese civil-service calendar for one deployment; immutable once built."""

    def __init__(
        self,
        entries: Iterable[CalendarEntry] = (),
        *,
        office_hours: Mapping[str | None, OfficeHours] | None = None,
        provinces: Mapping[str, str] | None = None,
        covered_years: Iterable[int] | None = None,
        fallback: Fallback | None = None,
    ) -> None:
        """``entries`` cover ``covered_years`` (default: the years they mention); for any other
        year ``fallback(year)`` is asked once.  ``office_hours`` maps agency codes (None = the
        default) to hours; ``provinces`` maps agency codes to the province whose entries apply.
        """
        self._entries: dict[int, list[CalendarEntry]] = {}
        for entry in entries:
            self._entries.setdefault(entry.date.year, []).append(entry)
        if covered_years is not None:
            for year in covered_years:
                self._entries.setdefault(year, [])
        self._index: dict[dt.date, list[CalendarEntry]] = {}
        for year_entries in self._entries.values():
            self._add_to_index(year_entries)
        self._office_hours = dict(office_hours or {})
        self._provinces = dict(provinces or {})
        self._fallback = fallback
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> BusinessCalendar:
        """The calendar with no database: shipped 2024–2026 data, the holidays package elsewhere."""
        from .seed import base_entries

        return cls(fallback=base_entries)

    # -- days -------------------------------------------------------------------------

    def entries(self, year: int) -> list[CalendarEntry]:
        """Every entry of a year (pending ones too), by date."""
        self._ensure_year(year)
        return sorted(self._entries[year], key=lambda e: (e.date, list(Scope).index(e.scope)))

    def office_hours(self, agency: str | None = None) -> OfficeHours:
        if agency is not None and agency in self._office_hours:
            return self._office_hours[agency]
        return self._office_hours.get(None, DEFAULT_OFFICE_HOURS)

    def province_of(self, agency: str | None) -> str | None:
        """The province whose entries apply to ``agency`` (None if unknown)."""
        return self._provinces.get(agency) if agency is not None else None

    def entry_for(self, day: dt.date, agency: str | None = None) -> CalendarEntry | None:
        """The effective entry deciding ``day`` for ``agency``: agency, then province, then national."""
        self._ensure_year(day.year)
        candidates = [e for e in self._index.get(day, ()) if e.is_effective]
        province = self.province_of(agency)
        for scope, code in ((Scope.AGENCY, agency), (Scope.PROVINCE, province), (Scope.NATIONAL, None)):
            if scope is not Scope.NATIONAL and code is None:
                continue
            matching = [e for e in candidates if e.scope is scope and e.scope_code == code]
            if matching:
                return matching[-1]
        return None

    def is_working_day(self, day: dt.date, agency: str | None = None) -> bool:
        """Monday–Friday unless an effective entry says otherwise (pending entries never do)."""
        entry = self.entry_for(day, agency)
        if entry is not None:
            return not entry.kind.is_day_off
        return day.weekday() < 5

    def sessions(self, day: dt.date, agency: str | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
        """The office sessions of ``day`` as aware Vietnam instants; none on a day off."""
        if not self.is_working_day(day, agency):
            return []
        return [
            (dt.datetime.combine(day, start, VN_TZ), dt.datetime.combine(day, end, VN_TZ))
            for start, end in self.office_hours(agency).sessions
        ]

    def next_working_day(self, day: dt.date, agency: str | None = None) -> dt.date:
        """The first working day strictly after ``day``."""
        for offset in range(1, SEARCH_LIMIT_DAYS):
            candidate = day + dt.timedelta(days=offset)
            if self.is_working_day(candidate, agency):
                return candidate
        raise CalendarError(f"no working day within {SEARCH_LIMIT_DAYS} days after {day.isoformat()}")

    # -- instants ---------------------------------------------------------------------

    def next_opening(self, instant: dt.datetime, agency: str | None = None) -> dt.datetime:
        """``instant`` (to the minute) if it is inside a session, else the next session's start."""
        t = floor_minute(to_vn(instant))
        day = t.date()
        for _ in range(SEARCH_LIMIT_DAYS):
            for start, end in self.sessions(day, agency):
                if t < end:
                    return max(start, t)
            day += dt.timedelta(days=1)
        raise CalendarError(f"no office session within {SEARCH_LIMIT_DAYS} days after {t.isoformat()}")

    def start_of_counting(
        self,
        received_at: dt.datetime,
        *,
        cutoff: bool = True,
        cutoff_at: dt.time | None = None,
        agency: str | None = None,
    ) -> dt.datetime:
        """When the clock starts for a dossier received at ``received_at``.

        Receipt (``cutoff=True``): on a working day strictly after the cut-off (the agency's,
        default 15:00, or ``cutoff_at`` for a procedure) → the next working day's opening;
        otherwise outside office hours → the next opening; otherwise the receipt minute.
        Hand-over inside processing (``cutoff=False``): no cut-off, only the next-opening rule.
        """
        local = to_vn(received_at)
        limit = cutoff_at or self.office_hours(agency).cutoff
        # The cut-off compares the exact time: 15:00:00 is on time, 15:00:01 is after it.
        if cutoff and self.is_working_day(local.date(), agency) and local.time() > limit:
            day = self.next_working_day(local.date(), agency)
            return self.sessions(day, agency)[0][0]
        return self.next_opening(local, agency)

    def working_time_between(self, a: dt.datetime, b: dt.datetime, agency: str | None = None) -> dt.timedelta:
        """Working time in [a, b) in whole minutes; negative when b is before a."""
        start, end = floor_minute(to_vn(a)), floor_minute(to_vn(b))
        if end < start:
            return -self.working_time_between(b, a, agency)
        total = dt.timedelta()
        day = start.date()
        while day <= end.date():
            for s, e in self.sessions(day, agency):
                overlap = min(e, end) - max(s, start)
                if overlap > dt.timedelta():
                    total += overlap
            day += dt.timedelta(days=1)
        return total

    def add_working_time(
        self, start: dt.datetime, amount: dt.timedelta, agency: str | None = None
    ) -> dt.datetime:
        """Move ``amount`` of working time forward from ``start``; a due on a session end stays there."""
        remaining = amount // _MINUTE
        if remaining < 0:
            raise ValueError("cannot add negative working time")
        t = self.next_opening(start, agency)
        day, idle_days = t.date(), 0
        while idle_days < SEARCH_LIMIT_DAYS:  # only a run of days off this long is an error
            sessions = self.sessions(day, agency)
            idle_days = 0 if sessions else idle_days + 1
            for s, e in sessions:
                if e <= t:
                    continue
                begin = max(s, t)
                available = (e - begin) // _MINUTE
                # "<=": reaching exactly 17:00 (or 11:30) ends there, not at the next opening.
                if remaining <= available:
                    return begin + remaining * _MINUTE
                remaining -= available
            day += dt.timedelta(days=1)
        raise CalendarError(f"no working day within {SEARCH_LIMIT_DAYS} days after {day.isoformat()}")

    def add(
        self,
        start: dt.datetime,
        duration: Duration | str,
        *,
        agency: str | None = None,
        pauses: Sequence[Pause] = (),
    ) -> dt.datetime:
        """The due instant of ``duration`` counted from ``start`` (a hand-over: no cut-off).

        ``start`` outside office hours counts from the next opening.  Working units
        (``wd``/``wh``) add working minutes within sessions; calendar days (``d``) end at the
        office close of start date + N, or of the next working day when that is a day off.
        Each pause excludes its working time: the working time left when it began is added
        again from its end.  Raises ``ClockPaused`` when an open pause began before the due.
        """
        duration = parse_duration(duration)
        begin = self.next_opening(start, agency)
        due = self._plain_due(begin, duration, agency)
        for pause_start, pause_end in merge_pauses(pauses):
            if pause_end is not None and pause_end <= begin:
                continue
            stopped = max(pause_start, begin)
            if stopped >= due:
                break  # already late when the clock stopped: the pause does not help
            remaining = self.working_time_between(stopped, due, agency)
            if pause_end is None:
                raise ClockPaused(stopped, remaining)
            due = self.add_working_time(pause_end, remaining, agency)
        return due

    def due_for_receipt(
        self,
        received_at: dt.datetime,
        duration: Duration | str,
        *,
        agency: str | None = None,
        pauses: Sequence[Pause] = (),
        cutoff: bool = True,
        cutoff_at: dt.time | None = None,
    ) -> dt.datetime:
        """``add(start_of_counting(received_at), duration)``: the appointment on a receipt."""
        begin = self.start_of_counting(received_at, cutoff=cutoff, cutoff_at=cutoff_at, agency=agency)
        return self.add(begin, duration, agency=agency, pauses=pauses)

    # -- internals --------------------------------------------------------------------

    def _plain_due(self, begin: dt.datetime, duration: Duration, agency: str | None) -> dt.datetime:
        if duration.is_working_time:
            return self.add_working_time(begin, duration.working_minutes * _MINUTE, agency)
        # Bộ luật Dân sự Điều 147: the day counting starts on is not counted; Điều 148: a last
        # day that is not a working day moves to the next working day.
        last = begin.date() + dt.timedelta(days=duration.days)
        if not self.is_working_day(last, agency):
            last = self.next_working_day(last, agency)
        return self.sessions(last, agency)[-1][1]

    def _ensure_year(self, year: int) -> None:
        if year in self._entries:
            return
        with self._lock:
            if year in self._entries:
                return
            found = [e for e in (self._fallback(year) if self._fallback else ()) if e.date.year == year]
            self._add_to_index(found)
            self._entries[year] = found  # published last: readers check this key without the lock

    def _add_to_index(self, entries: Iterable[CalendarEntry]) -> None:
        for entry in entries:
            self._index.setdefault(entry.date, []).append(entry)


def merge_pauses(pauses: Iterable[Pause]) -> list[Pause]:
    """Pauses in Vietnam time, to the minute, sorted, overlaps merged; an open end absorbs later ones."""
    cleaned: list[Pause] = []
    for start, end in pauses:
        s = floor_minute(to_vn(start))
        e = floor_minute(to_vn(end)) if end is not None else None
        if e is not None and e < s:
            raise ValueError(f"pause ends ({e.isoformat()}) before it starts ({s.isoformat()})")
        if e == s:
            continue
        cleaned.append((s, e))
    cleaned.sort(key=lambda p: p[0])
    merged: list[Pause] = []
    for s, e in cleaned:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                break
            if s <= last_end:
                merged[-1] = (last_start, None if e is None else max(last_end, e))
                continue
        merged.append((s, e))
    return merged
