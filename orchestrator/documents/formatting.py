"""How documents write instants and durations, as Vietnamese official forms do."""

from __future__ import annotations

import datetime as dt

from ..calendar import VN_TZ, Unit, parse_duration

_UNIT_NAMES = {
    Unit.WORKING_DAYS: "ngày làm việc",
    Unit.WORKING_HOURS: "giờ làm việc",
    Unit.CALENDAR_DAYS: "ngày",
}


def instant(value: dt.datetime | None) -> str:
    """``08 giờ 05 phút, ngày 23/11/2026`` in Vietnam time (forms give receipt times to the minute)."""
    if value is None:
        return ""
    local = value.astimezone(VN_TZ)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def day(value: dt.datetime | None) -> str:
    """``23/11/2026`` in Vietnam time."""
    return "" if value is None else f"{value.astimezone(VN_TZ):%d/%m/%Y}"


def dateline(value: dt.datetime) -> str:
    """The date under a form's national motto: ``ngày 23 tháng 11 năm 2026``."""
    local = value.astimezone(VN_TZ)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def duration(budget: str | None) -> str:
    """A diagram budget (``3wd``, ``0.5wd``, ``4wh``, ``P15D``) as ``03 ngày làm việc``.

    An unreadable budget is printed as written rather than hidden: the form must show something
    the official can check against the procedure.
    """
    if not budget:
        return ""
    try:
        parsed = parse_duration(budget)
    except ValueError:
        return budget
    amount = parsed.amount.normalize()
    number = f"{int(amount):02d}" if amount == amount.to_integral_value() else f"{amount:f}".replace(".", ",")
    return f"{number} {_UNIT_NAMES[parsed.unit]}"
