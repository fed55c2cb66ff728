"""Vietnam time and office hours (giờ làm việc) per agency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        VN_TZ: dt.tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:  # no system tz database and no tzdata package
        VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
except ImportError:  # pragma: no cover - zoneinfo is in the standard library since 3.9
    VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

WORKING_DAY_MINUTES = 8 * 60  # OpenCPS and provincial processes: one working day = 8 working hours


def parse_clock(text: str) -> dt.time:
    """``"07:30"`` → ``time(7, 30)``; refuses anything but HH:MM."""
    try:
        hour, minute = text.strip().split(":")
        if len(hour) > 2 or len(minute) != 2:
            raise ValueError
        return dt.time(int(hour), int(minute))
    except ValueError:
        raise ValueError(f"not a clock time HH:MM: {text!r}") from None


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Sessions of a working day, in order, plus the receipt cut-off."""

    sessions: tuple[tuple[dt.time, dt.time], ...] = (
        (dt.time(7, 30), dt.time(11, 30)),
        (dt.time(13, 0), dt.time(17, 0)),
    )
    cutoff: dt.time = dt.time(15, 0)

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ValueError("office hours need at least one session")
        previous_end = dt.time.min
        for start, end in self.sessions:
            if not previous_end <= start < end:
                raise ValueError("sessions must be ordered, non-empty and must not overlap")
            previous_end = end

    @classmethod
    def from_strings(cls, sessions: list[list[str]] | list[tuple[str, str]], cutoff: str) -> OfficeHours:
        """Build from the stored form: ``[["07:30", "11:30"], ["13:00", "17:00"]]`` and ``"15:00"``."""
        return cls(tuple((parse_clock(a), parse_clock(b)) for a, b in sessions), parse_clock(cutoff))

    def session_strings(self) -> list[list[str]]:
        return [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in self.sessions]

    @property
    def opening(self) -> dt.time:
        return self.sessions[0][0]

    @property
    def closing(self) -> dt.time:
        return self.sessions[-1][1]

    @property
    def minutes_per_day(self) -> int:
        return sum(_minutes(end) - _minutes(start) for start, end in self.sessions)


def _minutes(clock: dt.time) -> int:
    return clock.hour * 60 + clock.minute


DEFAULT_OFFICE_HOURS = OfficeHours()


def to_vn(instant: dt.datetime) -> dt.datetime:
    """An aware instant as Vietnam local time; naive datetimes are refused (ambiguous)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: pass an aware datetime")
    return instant.astimezone(VN_TZ)


def floor_minute(instant: dt.datetime) -> dt.datetime:
    """Arithmetic counts whole minutes: seconds and microseconds are dropped."""
    return instant.replace(second=0, microsecond=0)
