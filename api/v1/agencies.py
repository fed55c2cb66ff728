"""Agencies: the open external tasks an agency holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import RAISE

from orchestrator.access import Scope
from orchestrator.errors import NotFound
from orchestrator.services import instance_queries

from ..auth import current_principal
from .blueprint import ApiBlueprint, engine
from .pagination import decode_cursor, page_body
from .schemas import AgencyTaskPageSchema, PageQuerySchema

blp = ApiBlueprint("agencies", __name__, description="Agencies (cơ quan) and their work")
TASKS = "agency-tasks"


@blp.route("/agencies/<code>/tasks")
@blp.secured(Scope.WORKER)
@blp.arguments(PageQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AgencyTaskPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def agency_tasks(query: dict[str, Any], code: str) -> dict[str, Any]:
    """The agency's open external tasks, oldest first.

    A worker token sees only its own agency; any other code is a 404, so a token does not
    even learn which other agencies exist.  Admin sees every agency.
    """
    principal = current_principal()
    if not principal.is_admin and principal.agency != code:
        raise NotFound(f"agency '{code}' has no tasks visible to this token")
    after = decode_cursor(TASKS, query.get("cursor"), (datetime, str))
    page = instance_queries.agency_tasks(engine(), code, after=after, limit=query["limit"])
    return page_body(TASKS, page)
