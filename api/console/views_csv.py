"""CSV downloads: the text comes from ``orchestrator.admin``; this only sets the HTTP headers."""

from __future__ import annotations

from flask import Response

from orchestrator.clock import utcnow


def csv_response(text: str, name: str) -> Response:
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )
