"""Camunda-shaped error bodies: ``{"type": "<ExceptionName>", "message": "...", "code": <int|null>}``."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, json
from werkzeug.exceptions import HTTPException

from orchestrator.errors import OrchestratorError

log = logging.getLogger(__name__)

# Camunda's own exception names, by HTTP status, as its REST layer reports them.
_TYPES = {
    400: "InvalidRequestException",
    401: "AuthenticationException",
    403: "AuthorizationException",
    404: "InvalidRequestException",
    409: "OptimisticLockingException",
    413: "InvalidRequestException",
    422: "ProcessEngineException",
    500: "ProcessEngineException",
}


def camunda_error(status: int, message: str) -> Response:
    body = {"type": _TYPES.get(status, "RestException"), "message": message, "code": None}
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def register_camunda_errors(blueprint: Blueprint) -> None:
    @blueprint.errorhandler(OrchestratorError)
    def _domain(error: OrchestratorError) -> Response:
        # Camunda answers a lost race on a task (completed or cancelled meanwhile) with 404.
        status = 404 if error.status == 409 and "not open any more" in error.detail else error.status
        return camunda_error(status, error.detail)

    @blueprint.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return camunda_error(error.code or 500, error.description or error.name)

    @blueprint.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error in /engine-rest")
        return camunda_error(500, "the server could not complete the request")
