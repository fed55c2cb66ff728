"""The ``Idempotency-Key`` header around a creating call: replay, refuse, or run once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from orchestrator.services.idempotency import StoredResponse, fingerprint, run_once

from ..auth import current_principal

REPLAYED_HEADER = "Idempotent-Replayed"


Recorder = Callable[[Session, dict[str, Any], int], None]


def respond_once(key: str | None, work: Callable[[Recorder | None], tuple[dict[str, Any], int]]) -> Response:
    """Run ``work`` (returning a JSON body and status), once per key and client when a key is given.

    ``work`` gets a recorder (None without a key) to call inside its own transaction with its
    body and status, so the stored answer commits together with what it describes.

    The same key with the same request replays the first answer with
    ``Idempotent-Replayed: true``; with another request it is a 422; while the first
    request runs, a 409.  Keys belong to the calling client: two clients never collide.
    """
    if key is None:
        body, status = work(None)
        return _json(body, status)

    def run(record: Callable[[Session, StoredResponse], None]) -> StoredResponse:
        body, status = work(lambda session, body, status: record(session, StoredResponse(status, body)))
        return StoredResponse(status, body)

    request_hash = fingerprint(request.method, request.path, request.get_json(silent=True))
    db = current_app.extensions["lienthong"].db
    answer, replayed = run_once(db, current_principal().client_id, key, request_hash, run)
    response = _json(answer.body, answer.status_code)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
