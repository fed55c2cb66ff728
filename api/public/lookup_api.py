"""``GET /api/v1/public/dossiers/{code}?lookup=XXXX``: a dossier's status as JSON, no token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
from flask_limiter.errors import RateLimitExceeded

from orchestrator.calendar import VN_TZ
from orchestrator.errors import InvalidInput
from orchestrator.public_lookup import PublicStatus, public_status

from ..problems import problem

blueprint = Blueprint("public_lookup_api", __name__, url_prefix="/api/v1/public")


@blueprint.get("/dossiers/<code>")
def dossier_status(code: str) -> dict[str, Any]:
    """Status, appointment and the agency handling it; 404 alike for a wrong code or lookup code."""
    lookup = request.args.get("lookup", "")
    if not lookup:
        raise InvalidInput("the 'lookup' query parameter (the 4-character code on the receipt) is required")
    return as_json(public_status(current_app.extensions["lienthong"].db, code, lookup))


@blueprint.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded) -> Response:
    return problem(429, "Too Many Requests", "too many lookups from this address: try again in a minute")


def as_json(status: PublicStatus) -> dict[str, Any]:
    def instant(value: Any) -> str | None:
        return None if value is None else value.astimezone(VN_TZ).isoformat()

    return {
        "code": status.code,
        "procedureName": status.procedure_name,
        "status": status.status,
        "nationalStatus": status.national_status,
        "receivedAt": instant(status.received_at),
        "appointment": instant(status.appointment_at),
        "reappointment": instant(status.reappointment_at),
        "handlingAgency": status.handling_agency,
    }
