"""The calendar before any import: the shipped official data, then the holidays package.

* ``data/vn-2024-2026.csv``: the civil-service days off and make-up Saturdays of 2024–2026
  as announced (status official; 24/11/2026 pending).
* Any other year: the ``holidays`` package (country VN) as status ``estimated``.  It knows the
  Labour Code holidays and lunar dates, but a year's swaps and make-up Saturdays are only
  known once the government announces them, so an estimated year has none until imported.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from .days import CalendarEntry, DayKind, Scope, Status
from .files import parse_csv

SHIPPED_FILE = "vn-2024-2026.csv"
# Holidays the package lists whose legal basis was not in force when the data was written:
# kept as pending, like the shipped 24/11/2026, until an operator imports a confirmation.
UNCONFIRMED_NAMES = frozenset({"Ngày Văn hóa Việt Nam"})


@cache
def shipped_entries() -> tuple[CalendarEntry, ...]:
    """The official 2024–2026 data that ships with the package."""
    text = resources.files(__package__).joinpath("data", SHIPPED_FILE).read_text(encoding="utf-8")
    return tuple(parse_csv(text, SHIPPED_FILE))


@cache
def shipped_years() -> frozenset[int]:
    return frozenset(entry.date.year for entry in shipped_entries())


@cache
def holidays_seed(year: int) -> tuple[CalendarEntry, ...]:
    """National entries for ``year`` estimated by the ``holidays`` package (no DB, no network)."""
    import holidays  # imported late: building it costs more than the rest of the calendar

    version = getattr(holidays, "__version__", "?")
    source = f"Ước tính theo gói holidays {version} (VN); chưa có thông báo chính thức của năm {year}"
    calendar = holidays.country_holidays("VN", years=year, language="vi")
    entries = [
        CalendarEntry(
            day,
            _kind_of(name),
            Scope.NATIONAL,
            None,
            name,
            source,
            Status.PENDING if name in UNCONFIRMED_NAMES else Status.ESTIMATED,
        )
        for day, name in sorted(calendar.items())
    ]
    # Recent versions know announced make-up Saturdays; an unannounced year has none.
    for day in sorted(getattr(calendar, "weekend_workdays", ())):
        if day.year == year:
            entries.append(
                CalendarEntry(
                    day,
                    DayKind.MAKEUP_WORKING_DAY,
                    Scope.NATIONAL,
                    None,
                    "Ngày làm bù",
                    source,
                    Status.ESTIMATED,
                )
            )
    return tuple(sorted(entries, key=lambda e: e.date))


def _kind_of(name: str) -> DayKind:
    # The package's Vietnamese labels: "... (nghỉ bù)" observed, "Ngày nghỉ (thay cho ngày ...)" swapped.
    if "nghỉ bù" in name:
        return DayKind.COMPENSATORY_DAY_OFF
    if name.startswith("Ngày nghỉ (thay cho"):
        return DayKind.SWAP_DAY_OFF
    return DayKind.HOLIDAY


def base_entries(year: int) -> tuple[CalendarEntry, ...]:
    """What a year looks like when the database holds nothing for it."""
    if year in shipped_years():
        return tuple(e for e in shipped_entries() if e.date.year == year)
    return holidays_seed(year)
