"""Diagrams drawn on the server: a procedure with its load per step, a dossier with where it is.

Answers are SVG, not JSON: the console inlines them. A strict Content-Security-Policy goes with
them so that, even opened directly, an SVG built from an uploaded file can never run a script.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response
from marshmallow import RAISE, fields, validate

from orchestrator.access import Scope
from orchestrator.clock import utcnow
from orchestrator.diagram import definition_heatmap, definition_xml, instance_drawing, render_svg

from ..auth import Forbidden, current_principal
from .blueprint import ApiBlueprint, engine
from .schemas import StrictSchema

blp = ApiBlueprint("diagrams", __name__, description="BPMN diagrams drawn as SVG, with live overlays")
F = TypeVar("F", bound=Callable[..., Any])
SVG_MEDIA_TYPE = "image/svg+xml"
_SVG_RESPONSE = {
    "description": "the diagram as SVG",
    "content": {SVG_MEDIA_TYPE: {"schema": {"type": "string"}}},
}


class DiagramQuerySchema(StrictSchema):
    diagram = fields.String(
        validate=validate.Length(max=255),
        metadata={"description": "the BPMNDiagram id, for files with several drawings (default: the first)"},
    )


class DefinitionDiagramQuerySchema(DiagramQuerySchema):
    heatmap = fields.Boolean(
        load_default=False,
        metadata={"description": "add per-activity badges: open dossiers and incidents"},
    )


def _svg_route(path: str, scope: Scope, query: type[StrictSchema]) -> Callable[[F], F]:
    """The decorators both drawings share: scope, query schema, an SVG answer, 404 documented."""

    def decorate(view: F) -> F:
        for decorator in reversed(
            (
                blp.route(path),
                blp.secured(scope),
                blp.arguments(query, location="query", unknown=RAISE),
                blp.response(200, description="the diagram as SVG", content_type=SVG_MEDIA_TYPE),
                blp.doc(responses={"200": _SVG_RESPONSE}),
                blp.alt_response(404, response="NOT_FOUND"),
            )
        ):
            view = decorator(view)
        return view

    return decorate


@_svg_route("/process-definitions/<definition_id>/diagram.svg", Scope.ANALYST, DefinitionDiagramQuerySchema)
def definition_diagram(query: dict[str, Any], definition_id: str) -> Response:
    """A procedure version's diagram; ``heatmap=true`` (admins): open tasks and incidents per step."""
    db = engine().db
    if query["heatmap"] and not current_principal().is_admin:
        # Counts over every agency's dossiers: what the admin console sees, not an analyst.
        raise Forbidden("the heatmap needs the 'admin' scope")
    xml = definition_xml(db, definition_id)
    overlays = definition_heatmap(db, definition_id) if query["heatmap"] else None
    return _svg(render_svg(xml, overlays, diagram=query.get("diagram")))


@_svg_route("/process-instances/<instance_id>/diagram.svg", Scope.ADMIN, DiagramQuerySchema)
def instance_diagram(query: dict[str, Any], instance_id: str) -> Response:
    """A dossier's diagram: current steps, overdue steps in red, incidents, and the path taken."""
    xml, overlays = instance_drawing(engine().db, instance_id, now=utcnow())
    return _svg(render_svg(xml, overlays, diagram=query.get("diagram")))


def _svg(body: str) -> Response:
    response = Response(body, mimetype=SVG_MEDIA_TYPE)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"  # dossier state changes under the picture
    return response
