"""Procedures: the deployed process definitions, newest version per key."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE

from orchestrator.access import Scope
from orchestrator.services import definition_queries, definitions
from orchestrator.store.models import ProcessDefinition

from .blueprint import ApiBlueprint, engine
from .pagination import decode_cursor, page_body
from .schemas import DefinitionDetailSchema, DefinitionPageSchema, DefinitionQuerySchema, PageQuerySchema

blp = ApiBlueprint("process-definitions", __name__, description="Procedures (deployed BPMN processes)")
CURSOR_KIND = "definitions"


@blp.route("/process-definitions")
@blp.secured(Scope.DESK)
@blp.arguments(PageQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DefinitionPageSchema)
def list_definitions(query: dict[str, Any]) -> dict[str, Any]:
    """The newest version of every process, by key."""
    after = decode_cursor(CURSOR_KIND, query.get("cursor"), (str,))
    page = definition_queries.latest_definitions(
        engine(), after=after[0] if after else None, limit=query["limit"]
    )
    return page_body(CURSOR_KIND, page)


@blp.route("/process-definitions/<key>")
@blp.secured(Scope.DESK)
@blp.arguments(DefinitionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DefinitionDetailSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_definition(query: dict[str, Any], key: str) -> ProcessDefinition:
    """One process definition: the newest version, or the one asked for with ``version``."""
    return definitions.get_definition(engine(), key, query.get("version"))
