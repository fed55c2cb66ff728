"""Reading Camunda-style requests: JSON bodies, query parameters, and "one of these scopes"."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import request

from orchestrator.access import Principal, Scope
from orchestrator.errors import InvalidInput

from ..auth import Forbidden, current_principal

F = TypeVar("F", bound=Callable[..., Any])


def json_body() -> dict[str, Any]:
    """The JSON object sent, or ``{}`` for an empty body; anything else is a 400."""
    body = request.get_json(silent=True)
    if body is None and request.get_data(cache=True):
        raise InvalidInput("the request body must be JSON")
    if body is not None and not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body or {}


def optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value or None


def body_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false")
    return value


def parse_bool(value: str | None, name: str) -> bool | None:
    """Camunda's boolean parameters: ``true``/``false`` in any case; absent -> None."""
    if value is None or value == "":
        return None
    if value.lower() not in ("true", "false"):
        raise InvalidInput(f"Cannot set query parameter '{name}' to value '{value[:40]}'")
    return value.lower() == "true"


def query_bool(name: str) -> bool:
    return bool(parse_bool(request.args.get(name), name))


def query_int(name: str, *, minimum: int = 0) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as error:
        raise InvalidInput(f"Cannot set query parameter '{name}' to value '{value[:40]}'") from error
    if number < minimum:
        raise InvalidInput(f"query parameter '{name}' must be at least {minimum}")
    return number


def query_list(name: str) -> list[str]:
    """A comma-separated list parameter (``keysIn=a,b``)."""
    value = request.args.get(name)
    return [item for item in value.split(",") if item] if value else []


def sort_descending() -> bool:
    order = request.args.get("sortOrder", "asc")
    if order not in ("asc", "desc"):
        raise InvalidInput("sortOrder must be 'asc' or 'desc'")
    return order == "desc"


def require_any(*scopes: Scope) -> Callable[[F], F]:
    """Decorator: the caller must hold at least one of ``scopes`` (admin holds them all)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal: Principal = current_principal()
            if not any(principal.allows(scope) for scope in scopes):
                needed = "' or '".join(scope.value for scope in scopes)
                raise Forbidden(f"this call needs the '{needed}' scope")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
