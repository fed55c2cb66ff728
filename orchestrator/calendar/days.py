"""Calendar entries: the dated exceptions to the Monday–Friday working week.

An entry says what one date is for one scope (the whole country, a province, an agency):
a day off of some kind, or a make-up working day.  Only entries whose status is
``official`` or ``estimated`` change whether a date is worked; ``pending`` entries are
listed for operators but change nothing until an import confirms them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class DayKind(StrEnum):
    """What an entry makes of its date."""

    HOLIDAY = "holiday"  # ngày lễ, Tết (Bộ luật Lao động, Điều 112)
    COMPENSATORY_DAY_OFF = "compensatory_day_off"  # nghỉ bù: a holiday fell on a weekly rest day
    SWAP_DAY_OFF = "swap_day_off"  # hoán đổi: a weekday off, worked back on a make-up day
    MAKEUP_WORKING_DAY = "makeup_working_day"  # ngày làm bù: usually a Saturday
    LOCAL_DAY_OFF = "local_day_off"  # a province's or an agency's own day off

    @property
    def is_day_off(self) -> bool:
        return self is not DayKind.MAKEUP_WORKING_DAY

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


class Scope(StrEnum):
    """Whom an entry binds; the most specific effective entry for a date wins."""

    NATIONAL = "national"
    PROVINCE = "province"
    AGENCY = "agency"

    @property
    def label(self) -> str:
        return SCOPE_LABELS[self]


class Status(StrEnum):
    """How sure the entry is.  ``pending`` entries never change the working-day status."""

    OFFICIAL = "official"  # from a published notice
    ESTIMATED = "estimated"  # computed (the holidays package) for a year not yet announced
    PENDING = "pending"  # announced in principle, legal basis not yet in force

    @property
    def is_effective(self) -> bool:
        return self is not Status.PENDING

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


KIND_LABELS = {
    DayKind.HOLIDAY: "Nghỉ lễ, Tết",
    DayKind.COMPENSATORY_DAY_OFF: "Nghỉ bù",
    DayKind.SWAP_DAY_OFF: "Nghỉ hoán đổi",
    DayKind.MAKEUP_WORKING_DAY: "Làm bù",
    DayKind.LOCAL_DAY_OFF: "Nghỉ riêng của địa phương",
}
SCOPE_LABELS = {Scope.NATIONAL: "Toàn quốc", Scope.PROVINCE: "Tỉnh", Scope.AGENCY: "Cơ quan"}
STATUS_LABELS = {
    Status.OFFICIAL: "chính thức",
    Status.ESTIMATED: "dự kiến",
    Status.PENDING: "chờ xác nhận",
}
WEEKDAY_LABELS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One dated exception.  ``scope_code`` is the province or agency code, None when national."""

    date: dt.date
    kind: DayKind
    scope: Scope
    scope_code: str | None
    name: str
    source: str
    status: Status

    @property
    def key(self) -> tuple[dt.date, Scope, str | None]:
        """What an import replaces: one entry per date and scope."""
        return (self.date, self.scope, self.scope_code)

    @property
    def is_effective(self) -> bool:
        return self.status.is_effective
