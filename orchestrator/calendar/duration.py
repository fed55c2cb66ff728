"""Durations as written in diagrams and procedures: ``3wd``, ``0.5wd``, ``4wh``, ``3d``, ``P3D``, ``PT4H``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from .hours import WORKING_DAY_MINUTES


class Unit(StrEnum):
    WORKING_DAYS = "wd"  # ngày làm việc: 8 working hours each
    WORKING_HOURS = "wh"  # giờ làm việc
    CALENDAR_DAYS = "d"  # ngày (Bộ luật Dân sự, Điều 147–148)


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount in one unit; working units may be fractional, calendar days may not."""

    amount: Decimal
    unit: Unit

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("a duration cannot be negative")
        if self.unit is Unit.CALENDAR_DAYS and self.amount != self.amount.to_integral_value():
            raise ValueError("calendar days must be a whole number (use wd or wh for fractions)")

    @property
    def is_working_time(self) -> bool:
        return self.unit is not Unit.CALENDAR_DAYS

    @property
    def working_minutes(self) -> int:
        """Working units in whole minutes, rounded half up (``0.01wd`` = 4.8 → 5 minutes)."""
        if self.unit is Unit.CALENDAR_DAYS:
            raise ValueError("calendar days have no fixed number of working minutes")
        per_unit = WORKING_DAY_MINUTES if self.unit is Unit.WORKING_DAYS else 60
        return int((self.amount * per_unit).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def days(self) -> int:
        if self.unit is not Unit.CALENDAR_DAYS:
            raise ValueError("only calendar days count whole days")
        return int(self.amount)

    def __str__(self) -> str:
        return f"{self.amount.normalize():f}{self.unit.value}"


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_SHORT = re.compile(rf"^{_NUMBER}\s*(wd|wh|d)$", re.IGNORECASE)
_ISO = re.compile(rf"^P(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?)?$", re.IGNORECASE)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "."))  # "2,5wd" as Vietnamese write it
    except InvalidOperation:  # pragma: no cover - the patterns only let digits through
        raise ValueError(f"not a number: {text!r}") from None


def parse_duration(text: str | Duration) -> Duration:
    """Parse ``Nwd``, ``Nwh``, ``Nd`` or an ISO 8601 ``PnD`` / ``PTnHnM``.

    ISO days are calendar days (``P3D`` = ``3d``); ISO hours and minutes are working time
    (``PT4H`` = ``4wh``, ``PT30M`` = ``0.5wh``).  Mixing both (``P1DT2H``), weeks, months and
    years are refused: they have no agreed meaning for a statutory time limit.
    """
    if isinstance(text, Duration):
        return text
    raw = text.strip()
    short = _SHORT.match(raw)
    if short:
        return Duration(_decimal(short.group(1)), Unit(short.group(2).lower()))
    iso = _ISO.match(raw)
    if iso and raw.upper() not in {"P", "PT"} and not raw.upper().endswith("T"):
        days, hours, minutes = iso.groups()
        if days is not None and (hours is not None or minutes is not None):
            raise ValueError(f"{text!r} mixes calendar days and working hours: give one unit")
        if days is not None:
            return Duration(_decimal(days), Unit.CALENDAR_DAYS)
        total = _decimal(hours or "0") + _decimal(minutes or "0") / 60
        return Duration(total, Unit.WORKING_HOURS)
    raise ValueError(f"unknown duration {text!r}: expected e.g. 3wd, 0.5wd, 4wh, 3d, P3D or PT4H")
