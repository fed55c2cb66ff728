"""What may be stored as a process variable: JSON-shaped values only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput

MAX_DEPTH = 20
MAX_NAME_LENGTH = 255


def check_variables(variables: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a plain dict, or refuse with the offending variable *name* (never its value)."""
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise InvalidInput("variables must be an object of name -> value")
    for name, value in variables.items():
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH or name.startswith("_"):
            raise InvalidInput("variable names must be non-empty strings not starting with '_'")
        _check_value(name, value, 0)
    return dict(variables)


def _check_value(name: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"variable '{name}' is nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"variable '{name}' is not a finite number")
        return
    if isinstance(value, list):
        for item in value:
            _check_value(name, item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"variable '{name}' has a non-string key")
            _check_value(name, item, depth + 1)
        return
    raise InvalidInput(
        f"variable '{name}' has an unsupported type ({type(value).__name__}): "
        "use strings, numbers, booleans, null, lists or objects"
    )
