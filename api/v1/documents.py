"""A dossier's printable documents (forms 01–04 and the control sheet) as A4 HTML pages."""

from __future__ import annotations

from flask import Response, current_app

from orchestrator.access import Scope
from orchestrator.documents import KINDS, render_document

from ..auth import Forbidden, current_principal
from .blueprint import ApiBlueprint, engine

blp = ApiBlueprint("documents", __name__, description="Printable documents of a dossier (giấy tờ in)")

_HTML_PAGE = {
    "200": {
        "description": "The document as a printable HTML page (A4), in Vietnamese",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}


@blp.route("/dossiers/<code>/documents/<kind>")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the document does not apply to this dossier yet (e.g. an apology before a re-appointment)")
@blp.doc(
    responses=_HTML_PAGE,
    parameters=[{"in": "path", "name": "kind", "schema": {"type": "string", "enum": list(KINDS)}}],
    # desk (and admin) print every dossier; an agency's worker token prints the ones it handles
    **{"x-required-scope": "desk"},
)
def document(code: str, kind: str) -> Response:
    """One document of the dossier ``code``: receipt, supplement-request, refusal, apology, control-sheet.

    Desk officers and admins print any dossier's documents; an agency prints those of the
    dossiers it handles (others answer 404, as unknown codes do).
    """
    principal = current_principal()
    if not principal.allows(Scope.DESK) and principal.agency is None:
        raise Forbidden("printing documents needs the 'desk' scope or an agency's token")
    page = render_document(
        engine().db,
        code,
        kind,
        principal=principal,
        public_base_url=current_app.extensions["lienthong"].settings.public_base_url,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # it carries the applicant's personal data
    return response
