"""Overlays from the database: where one dossier is and has been, and the load of a procedure.

Reads only: every function is one read transaction with a few narrow queries, so the console
can redraw as often as it likes without touching the dossiers' state blobs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from orchestrator.errors import NotFound
from orchestrator.store.db import Database
from orchestrator.store.models import (
    Deadline,
    Event,
    ExternalTaskRow,
    ProcessDefinition,
    ProcessInstance,
    UserTaskRow,
)

from .interchange import read_model
from .overlays import ActivityCount, Overlays
from .path import infer_path

__all__ = ["definition_heatmap", "definition_xml", "instance_drawing", "instance_overlays"]

# History events saying a step is behind the dossier: done, fired, or its clock stopped.
_PASSED_EVENTS = ("task_completed", "task_interrupted", "timer_fired", "step_finished", "bpmn_error")


def definition_xml(db: Database, definition_id: str) -> bytes:
    """The BPMN XML the definition was deployed with (NotFound for an unknown id)."""
    with db.read() as session:
        return _definition_xml(session, definition_id)


def _definition_xml(session: Session, definition_id: str) -> bytes:
    xml = session.scalar(select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id))
    if xml is None:
        raise NotFound(f"process definition '{definition_id}' does not exist")
    return bytes(xml)


def instance_overlays(db: Database, instance_id: str, *, now: datetime) -> Overlays:
    """The overlays of :func:`instance_drawing` alone."""
    return instance_drawing(db, instance_id, now=now)[1]


def instance_drawing(db: Database, instance_id: str, *, now: datetime) -> tuple[bytes, Overlays]:
    """The dossier's BPMN XML and its overlays, read in one transaction.

    Overlays: where the dossier is, which of its steps are overdue or in incident, and the path it took.

    A step is overdue when its deadline row says so, or when its due time has passed and the
    ticker has not marked it yet (``now`` decides). The path is inferred as :mod:`.path` says.
    """
    with db.read() as session:
        row = session.execute(
            select(ProcessInstance.definition_id, ProcessInstance.current_activities).where(
                ProcessInstance.id == instance_id
            )
        ).one_or_none()
        if row is None:
            raise NotFound(f"process instance '{instance_id}' does not exist")
        definition_id, activities = row
        current = {activity["id"] for activity in activities or [] if activity.get("id")}
        tasks = session.execute(
            select(ExternalTaskRow.activity_id, ExternalTaskRow.incident).where(
                ExternalTaskRow.instance_id == instance_id
            )
        ).all()
        current |= {activity_id for activity_id, _ in tasks}
        current |= set(
            session.scalars(select(UserTaskRow.activity_id).where(UserTaskRow.instance_id == instance_id))
        )
        incidents = frozenset(activity_id for activity_id, incident in tasks if incident)
        overdue = frozenset(
            session.scalars(
                select(Deadline.activity_id).where(
                    Deadline.instance_id == instance_id,
                    Deadline.scope == "step",
                    Deadline.activity_id.is_not(None),
                    or_(
                        Deadline.state == "overdue",
                        (Deadline.finished_at.is_(None))
                        & (Deadline.due_at.is_not(None))
                        & (Deadline.due_at < now),
                    ),
                )
            )
        )
        recorded = set(
            session.scalars(
                select(Event.activity_id)
                .where(
                    Event.instance_id == instance_id,
                    Event.type.in_(_PASSED_EVENTS),
                    Event.activity_id.is_not(None),
                )
                .distinct()
            )
        )
        xml = _definition_xml(session, definition_id)
    path = infer_path(read_model(xml).elements, recorded, current)
    return xml, Overlays(
        current=frozenset(current),
        overdue=overdue,
        completed=path.elements,
        taken_flows=path.flows,
        incidents=incidents,
    )


def definition_heatmap(db: Database, definition_id: str) -> Overlays:
    """Open tasks and incidents per activity over every dossier of this definition version.

    One grouped query per task table; no dossier is loaded.
    """
    with db.read() as session:
        if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.id == definition_id)) is None:
            raise NotFound(f"process definition '{definition_id}' does not exist")
        external = session.execute(
            select(
                ExternalTaskRow.activity_id,
                func.count(),
                func.sum(case((ExternalTaskRow.incident.is_(True), 1), else_=0)),
            )
            .where(ExternalTaskRow.definition_id == definition_id)
            .group_by(ExternalTaskRow.activity_id)
        ).all()
        user = session.execute(
            select(UserTaskRow.activity_id, func.count())
            .join(ProcessInstance, ProcessInstance.id == UserTaskRow.instance_id)
            .where(ProcessInstance.definition_id == definition_id)
            .group_by(UserTaskRow.activity_id)
        ).all()
    open_tasks: dict[str, int] = {}
    incidents: dict[str, int] = {}
    for activity_id, count, incident_count in external:
        open_tasks[activity_id] = open_tasks.get(activity_id, 0) + count
        incidents[activity_id] = int(incident_count or 0)
    for activity_id, count in user:
        open_tasks[activity_id] = open_tasks.get(activity_id, 0) + count
    counts = {
        activity_id: ActivityCount(open=count, incidents=incidents.get(activity_id, 0))
        for activity_id, count in open_tasks.items()
    }
    return Overlays(
        counts=counts,
        incidents=frozenset(activity_id for activity_id, count in incidents.items() if count),
    )
