"""Thủ tục: the procedure catalogue and, per procedure, its diagram with open dossiers per step."""

from __future__ import annotations

from flask import render_template

from orchestrator.diagram import definition_heatmap, definition_xml, step_names
from orchestrator.services.definition_queries import latest_definitions
from orchestrator.services.definitions import get_definition_by_id
from orchestrator.services.paging import MAX_PAGE_SIZE

from . import console
from .diagrams import diagram_markup
from .runtime import db, engine


@console.get("/procedures")
def procedures() -> str:
    return render_template(
        "console/procedures.html",
        active="procedures",
        procedures=latest_definitions(engine(), limit=MAX_PAGE_SIZE).items,
    )


@console.get("/procedures/<definition_id>")
def procedure(definition_id: str) -> str:
    definition = get_definition_by_id(engine(), definition_id)  # 404 page when unknown
    heatmap = definition_heatmap(db(), definition_id)
    xml = definition_xml(db(), definition_id)
    counts = sorted(heatmap.counts.items(), key=lambda item: (-item[1].open, item[0]))
    return render_template(
        "console/procedure.html",
        active="procedures",
        definition=definition,
        diagram=diagram_markup(xml, heatmap),
        counts=counts,
        names=step_names(xml),  # the table names each step as the diagram does, its id beside
    )
