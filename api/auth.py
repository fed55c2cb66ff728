"""Authentication for every API: ``Authorization: Bearer <token>`` or Basic (password = token).

Camunda Modeler's deploy dialog offers both; the external-task clients send Bearer (or Basic
with a configured interceptor).  No anonymous access: a missing or bad token is a 401.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from orchestrator.access import Principal, Scope, authenticate
from orchestrator.errors import OrchestratorError

F = TypeVar("F", bound=Callable[..., Any])


class Unauthorized(OrchestratorError):
    status = 401
    title = "Unauthorized"


class Forbidden(OrchestratorError):
    status = 403
    title = "Forbidden"


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def current_principal() -> Principal:
    """The authenticated caller of this request (401 if none)."""
    principal = g.get("principal")
    if principal is None:
        token = _presented_token()
        runtime = current_app.extensions["lienthong"]
        principal = authenticate(runtime.db, token) if token else None
        if principal is None:
            raise Unauthorized("a valid bearer token (or Basic password) is required")
        g.principal = principal
    return principal


def require(scope: Scope) -> Callable[[F], F]:
    """Decorator: the caller must hold ``scope`` (admin holds every scope)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_principal().allows(scope):
                raise Forbidden(f"this call needs the '{scope.value}' scope")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
