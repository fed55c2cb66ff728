"""Một hồ sơ: summary, diagram with its overlays, control sheet, variables, history, action forms."""

from __future__ import annotations

import json
from typing import Any

from flask import render_template

from orchestrator.access import list_agencies
from orchestrator.admin import StuckFilter, find_stuck
from orchestrator.clock import utcnow
from orchestrator.deadlines.evaluation import control_sheet
from orchestrator.diagram import definition_xml, instance_overlays, token_targets
from orchestrator.services.instance_queries import instance_history
from orchestrator.services.instances import get_instance
from orchestrator.services.paging import MAX_PAGE_SIZE

from . import console
from .diagrams import diagram_markup
from .runtime import db, engine

OPEN_STATUSES = ("running", "suspended")


@console.get("/dossiers/<instance_id>")
def dossier(instance_id: str) -> str:
    now = utcnow()
    view = get_instance(engine(), instance_id)  # 404 page when unknown
    history = instance_history(engine(), instance_id, limit=MAX_PAGE_SIZE)
    overlays = instance_overlays(db(), instance_id, now=now)
    xml = definition_xml(db(), view.definition_id)
    diagram = diagram_markup(xml, overlays)
    stuck_here = find_stuck(engine(), now=now, filter=StuckFilter(instance_id=instance_id))
    return render_template(
        "console/dossier.html",
        active="stuck",
        dossier=view,
        now=now,
        diagram=diagram,
        overdue=sorted(overlays.overdue),
        sheet=control_sheet(db(), instance_id),
        variables=[(name, _shown(value)) for name, value in sorted(view.variables.items())],
        history=history.items,
        history_truncated=history.next_after is not None,
        stuck=stuck_here,
        incident_task_ids={item.task_id for item in stuck_here if item.kind == "incident" and item.task_id},
        external_tasks=[a for a in view.current_activities if a.get("type") == "ExternalTask"],
        is_open=view.status in OPEN_STATUSES,
        agencies=list_agencies(db()),
        move_targets=token_targets(xml),
    )


def _shown(value: Any) -> str:
    """A variable as JSON text (Vietnamese kept readable); the template escapes it like any text."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
