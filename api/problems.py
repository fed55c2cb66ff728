"""RFC 9457 problem details for every error, carrying no dossier data."""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from orchestrator.errors import OrchestratorError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, **extra: object) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def register_problem_handlers(app: Flask) -> None:
    @app.errorhandler(OrchestratorError)
    def _domain(error: OrchestratorError) -> Response:
        extra = {}
        if getattr(error, "problems", None):
            extra["problems"] = [p.as_dict() for p in error.problems]
        return problem(error.status, error.title, error.detail, **extra)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return problem(error.code or 500, error.name, error.description)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # Log the whole error for the operator; tell the client nothing that could carry data.
        log.exception("unhandled error")
        return problem(500, "Internal Server Error", "the server could not complete the request")
