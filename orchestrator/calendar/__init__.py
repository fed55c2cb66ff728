"""Vietnamese business calendar: working days, office hours, holidays, make-up days, deadlines.

Conventions (cut-off, ``wd``/``wh``/``d``, pauses, precision) are stated in README.md here.
"""

from .calendar import BusinessCalendar, CalendarError, ClockPaused, Pause, merge_pauses
from .days import CalendarEntry, DayKind, Scope, Status
from .duration import Duration, Unit, parse_duration
from .files import CalendarFileError, read_entries
from .hours import DEFAULT_OFFICE_HOURS, VN_TZ, WORKING_DAY_MINUTES, OfficeHours

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "VN_TZ",
    "WORKING_DAY_MINUTES",
    "BusinessCalendar",
    "CalendarEntry",
    "CalendarError",
    "CalendarFileError",
    "ClockPaused",
    "DayKind",
    "Duration",
    "OfficeHours",
    "Pause",
    "Scope",
    "Status",
    "Unit",
    "merge_pauses",
    "parse_duration",
    "read_entries",
]
