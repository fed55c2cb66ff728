"""The functions an expression may call (``${now()}``, ``${len(items)}``...): a whitelist.

Callers add their own (e.g. working-day arithmetic) through ``functions=``; a function is
only ever called by name, never looked up as an attribute.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from .expression_parser import ExpressionError

MAX_EXPONENT = 64

# Vietnam has one fixed offset and no daylight saving; civil dates (today(), ISO text
# without an offset) mean Vietnamese time for the agencies using this engine.
LOCAL_TIMEZONE = timezone(timedelta(hours=7), "ICT")


def _now() -> datetime:
    return datetime.now(UTC)  # looked up at call time so tests can travel in time


def _today() -> date:
    return datetime.now(LOCAL_TIMEZONE).date()


def date_time(value: str | datetime | date | None = None) -> datetime:
    if value is None:
        return _now()
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ExpressionError("dateTime() needs an ISO 8601 date or date-time") from None
    else:
        raise ExpressionError("dateTime() needs an ISO 8601 string")
    return result if result.tzinfo is not None else result.replace(tzinfo=LOCAL_TIMEZONE)


_DURATION_PARTS = re.compile(
    r"P(?=[0-9T])(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>[\d.]+)W)?(?:(?P<days>[\d.]+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>[\d.]+)H)?(?:(?P<minutes>[\d.]+)M)?(?:(?P<seconds>[\d.]+)S)?)?"
)


def _duration(text: str) -> timedelta:
    match = _DURATION_PARTS.fullmatch(text.strip().replace(",", ".")) if isinstance(text, str) else None
    if match is None:
        raise ExpressionError("duration() needs an ISO 8601 duration such as PT2H or P3D")
    parts = {unit: float(amount) for unit, amount in match.groupdict().items() if amount is not None}
    if "years" in parts or "months" in parts:
        raise ExpressionError("duration() cannot use years or months: their length varies")
    return timedelta(**parts)


def _contains(container: Any, item: Any) -> bool:
    return item in container


def _text(function: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"{function}() needs a text")
    return value


def _lower(text: str) -> str:
    return _text("lower", text).lower()


def _upper(text: str) -> str:
    return _text("upper", text).upper()


def _starts_with(text: str, prefix: str) -> bool:
    return _text("startsWith", text).startswith(_text("startsWith", prefix))


def _ends_with(text: str, suffix: str) -> bool:
    return _text("endsWith", text).endswith(_text("endsWith", suffix))


def _round(number: float, ndigits: int | None = None) -> float:
    # round(12345, -10**8) computes 10**(10**8): keep the digits argument small.
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > MAX_EXPONENT):
        raise ExpressionError(f"round() digits must be an integer between -{MAX_EXPONENT} and {MAX_EXPONENT}")
    return round(number, ndigits)


DEFAULT_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "now": _now,
    "today": _today,
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "round": _round,
    "lower": _lower,
    "upper": _upper,
    "contains": _contains,
    "startsWith": _starts_with,
    "endsWith": _ends_with,
    "dateTime": date_time,
    "duration": _duration,
}
