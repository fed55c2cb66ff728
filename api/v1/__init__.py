"""Native REST API, version 1: flask-smorest views with OpenAPI 3 and RFC 9457 errors.

The spec is served at ``/api/v1/openapi.json`` and Swagger UI at ``/api/v1/docs`` (both
public); every other route needs a bearer token (see ``blueprint.ApiBlueprint``).
"""

from __future__ import annotations

import http

import flask_smorest
import swagger_ui_bundle
from flask import Blueprint, Flask, Response, send_from_directory
from flask_smorest.utils import prepare_response

from ..problems import PROBLEM_JSON
from . import (
    admin,
    agencies,
    deadlines,
    definitions,
    diagrams,
    documents,
    dossiers,
    instances,
    notifications_admin,
    portal_sync,
)
from .blueprint import BEARER, PREFIX
from .schemas import ProblemSchema

CONFIG_PREFIX = "V1"  # the Api reads V1_* settings, so another smorest Api cannot collide
DEFAULTS = {
    "V1_API_TITLE": "lienthong",
    "V1_API_VERSION": "v1",
    "V1_OPENAPI_VERSION": "3.0.3",
    "V1_OPENAPI_URL_PREFIX": PREFIX,
    "V1_OPENAPI_JSON_PATH": "openapi.json",
    "V1_OPENAPI_SWAGGER_UI_PATH": "docs",
    # Served from the installed swagger-ui-bundle: the docs work offline, as on a province's LAN.
    "V1_OPENAPI_SWAGGER_UI_URL": f"{PREFIX}/docs/assets/",
    "V1_API_SPEC_OPTIONS": {
        "info": {
            "description": "Một cửa liên thông: procedures, dossiers and agencies. "
            "Errors are RFC 9457 problem details; lists are cursor-paginated."
        },
        "security": [{BEARER: []}],
    },
}


class ProblemApi(flask_smorest.Api):
    """flask-smorest's Api with problem+json errors in the spec and no error handler of its own.

    smorest would install an app-wide ``HTTPException`` handler answering ``{code, status}``;
    the app's problem handlers already answer every HTTP error, and each v1 blueprint turns
    webargs' validation errors into problems itself.
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Leave the app's problem+json handlers in place (see the class docstring)."""

    def _register_responses(self) -> None:
        """The shared error responses, documented as ``application/problem+json``."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


def register_api(app: Flask) -> ProblemApi:
    """Mount /api/v1 and its documentation on ``app`` (settings: ``V1_*`` in ``app.config``)."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    api = ProblemApi(app, config_prefix=CONFIG_PREFIX)
    api.spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer"})
    for module in (
        definitions,
        instances,
        agencies,
        deadlines,
        notifications_admin,
        documents,
        diagrams,
        dossiers,
        portal_sync,
        admin,
    ):
        api.register_blueprint(module.blp)
    app.register_blueprint(_swagger_assets)
    return api


_swagger_assets = Blueprint("swagger_ui_assets", __name__, url_prefix=f"{PREFIX}/docs/assets")


@_swagger_assets.get("/<path:filename>")
def swagger_asset(filename: str) -> Response:
    """Swagger UI's own scripts and styles (public, like the spec they display)."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
