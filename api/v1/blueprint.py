"""The blueprint every /api/v1 module builds on: auth first, problem+json errors, 400 on bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
from flask import current_app
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from orchestrator.access import Scope
from orchestrator.engine import Engine

from ..auth import Unauthorized, current_principal, require
from ..problems import PROBLEM_JSON
from .errors import http_problem, unauthorized_problem
from .schemas import ProblemSchema

PREFIX = "/api/v1"
BEARER = "bearerAuth"  # the OpenAPI security scheme's name
F = TypeVar("F", bound=Callable[..., Any])


class ProblemParser(FlaskParser):
    # Malformed input is the client's error in the request as a whole: 400, as before smorest.
    DEFAULT_VALIDATION_STATUS = 400


class ApiBlueprint(flask_smorest.Blueprint):
    """A smorest blueprint under /api/v1 whose every route needs a valid token."""

    ARGUMENTS_PARSER = ProblemParser()

    def __init__(self, name: str, import_name: str, *, description: str) -> None:
        super().__init__(name, import_name, url_prefix=PREFIX, description=description)
        # Authentication runs before any route, so an anonymous caller learns nothing,
        # not even whether its body would have been valid; scopes are checked per route.
        self.before_request(_authenticate)
        self.register_error_handler(Unauthorized, unauthorized_problem)
        self.register_error_handler(HTTPException, http_problem)

    def secured(self, scope: Scope) -> Callable[[F], F]:
        """The route needs ``scope`` (admin holds all); documents 401 and 403 in OpenAPI."""

        def decorate(view: F) -> F:
            view = self.alt_response(401, response="UNAUTHORIZED")(view)
            view = self.alt_response(403, response="FORBIDDEN")(view)
            view = self.doc(**{"x-required-scope": scope.value})(view)
            return require(scope)(view)

        return decorate

    def problem(self, status: int, description: str) -> Callable[[F], F]:
        """Document a problem+json answer of this route, saying when it happens."""
        return self.alt_response(
            status, schema=ProblemSchema, content_type=PROBLEM_JSON, description=description
        )


def _authenticate() -> None:
    current_principal()


def engine() -> Engine:
    """The engine of this app's runtime."""
    return current_app.extensions["lienthong"].engine


def actor() -> str:
    """How history records the caller: its API client id, stable even when names repeat."""
    return f"client:{current_principal().client_id}"
