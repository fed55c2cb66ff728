"""Problem details for what flask-smorest and webargs raise inside /api/v1.

webargs reports invalid input as an ``HTTPException`` carrying marshmallow's messages by
location; here they become a 400 problem whose ``errors`` name each field and say what is
wrong with it, never echoing a submitted value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException

from ..auth import Unauthorized
from ..problems import problem

# webargs location -> where the client put it, in OpenAPI's words
_LOCATIONS = {"json": "body", "query": "query", "querystring": "query", "headers": "header"}
_LOCATIONS |= {"view_args": "path", "form": "body", "json_or_form": "body"}


def http_problem(error: HTTPException) -> Response:
    """Any HTTP error as a problem; invalid input as 400 with the fields named."""
    messages = (getattr(error, "data", None) or {}).get("messages")
    if isinstance(messages, Mapping):
        issues = list(_issues(messages))
        fields = sorted({i["field"] for i in issues if i["field"]})
        detail = f"invalid fields: {', '.join(fields)}" if fields else "the request is not valid"
        return problem(error.code or 400, "Invalid input", detail, errors=issues)
    return problem(error.code or 500, error.name, error.description)


def unauthorized_problem(error: Unauthorized) -> Response:
    """401 with the challenge RFC 6750 asks for, so clients know to send a bearer token."""
    response = problem(error.status, error.title, error.detail)
    response.headers["WWW-Authenticate"] = 'Bearer realm="lienthong"'
    return response


def _issues(messages: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for location, errors in messages.items():
        where = _LOCATIONS.get(location, location)
        for path, detail in _flatten(errors, ()):
            yield {"in": where, "field": ".".join(path) or None, "detail": detail}


def _flatten(errors: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """(field path, message) pairs; marshmallow's ``_schema`` means the enclosing object itself."""
    if isinstance(errors, Mapping):
        for name, nested in errors.items():
            yield from _flatten(nested, path if name == "_schema" else (*path, str(name)))
    elif isinstance(errors, list | tuple):
        for nested in errors:
            yield from _flatten(nested, path)
    else:
        yield path, str(errors)
