"""Camunda typed variables and dates, both ways.

A Camunda variable is ``{"value": v, "type": "String|Boolean|...", "valueInfo": {...}}``;
``type`` may be missing (then inferred) and its first letter's case does not matter.
Inside the engine variables are plain JSON values; Dates travel as ISO 8601 text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from orchestrator.errors import InvalidInput

# Vietnam: one fixed offset, no daylight saving. Camunda prints dates in the server's zone.
VIETNAM = timezone(timedelta(hours=7))
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_UNSUPPORTED = {"xml", "file", "bytes"}


def camunda_date(value: datetime | None) -> str | None:
    """``2026-11-22T16:34:42.000+0700`` (``yyyy-MM-dd'T'HH:mm:ss.SSSZ``)."""
    if value is None:
        return None
    local = value.astimezone(VIETNAM)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


def parse_camunda_date(text: str) -> datetime:
    """Camunda's format or ISO 8601; a date without an offset is Vietnamese time."""
    try:
        parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as error:
            raise InvalidInput(f"'{text[:40]}' is not a date (use yyyy-MM-dd'T'HH:mm:ss.SSSZ)") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM)


def decode_variables(variables: Any, *, where: str = "variables") -> dict[str, Any]:
    """Camunda typed variables -> plain values; a bad one is a 400 naming the variable."""
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise InvalidInput(f"{where} must be an object of name -> {{value, type}}")
    return {name: _decode(name, entry) for name, entry in variables.items()}


def _decode(name: str, entry: Any) -> Any:
    if not isinstance(entry, Mapping):
        raise InvalidInput(f"variable '{name}' must be an object with a 'value'")
    value, kind = entry.get("value"), (entry.get("type") or "").lower()
    if kind in _UNSUPPORTED:
        raise InvalidInput(f"variable '{name}': type {entry.get('type')} is not supported here")
    decoders = {
        "": _infer, "string": _string, "boolean": _boolean, "integer": _int32, "short": _int32,
        "long": _int64, "double": _double, "date": _date, "json": _json, "null": _null, "object": _object,
    }  # fmt: skip
    decoder = decoders.get(kind)
    if decoder is None:
        raise InvalidInput(f"variable '{name}': unknown type '{entry.get('type')}'")
    try:
        return decoder(value, entry)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"variable '{name}' is not a valid {entry.get('type')}") from error


def _infer(value: Any, _entry: Mapping[str, Any]) -> Any:
    return value


def _string(value: Any, _entry: Mapping[str, Any]) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError
    return value


def _boolean(value: Any, _entry: Mapping[str, Any]) -> bool | None:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is not None and not isinstance(value, bool):
        raise TypeError
    return value


def _integer(value: Any, bounds: tuple[int, int]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError
    number = int(value)
    if not bounds[0] <= number <= bounds[1]:
        raise ValueError
    return number


def _int32(value: Any, _entry: Mapping[str, Any]) -> int | None:
    return _integer(value, _INT32)


def _int64(value: Any, _entry: Mapping[str, Any]) -> int | None:
    return _integer(value, _INT64)


def _double(value: Any, _entry: Mapping[str, Any]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError
    number = float(value)
    if not math.isfinite(number):
        raise ValueError
    return number


def _date(value: Any, _entry: Mapping[str, Any]) -> str | None:
    return None if value is None else parse_camunda_date(str(value)).isoformat()


def _json(value: Any, _entry: Mapping[str, Any]) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _null(_value: Any, _entry: Mapping[str, Any]) -> None:
    return None


def _object(value: Any, entry: Mapping[str, Any]) -> Any:
    info = entry.get("valueInfo") or {}
    if info.get("serializationDataFormat") not in (None, "application/json"):
        raise ValueError
    return _json(value, entry)


def encode_variables(values: Mapping[str, Any], names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Plain values -> Camunda typed variables (only ``names`` when given; null = all)."""
    selected = values if names is None else {n: values[n] for n in names if n in values}
    return {name: encode_value(value) for name, value in selected.items()}


def encode_value(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        kind = "Integer" if _INT32[0] <= value <= _INT32[1] else "Long"
        return {"type": kind, "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    # Camunda carries Json values as serialized text.
    return {"type": "Json", "value": json.dumps(value, ensure_ascii=False), "valueInfo": {}}
