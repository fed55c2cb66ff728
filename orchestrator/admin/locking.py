"""Locks in the step's order (the instance first, then its rows), for admin changes outside a step.

Taking the same order as ``Engine.step`` means no deadlock with a concurrent step, and the
instance lock keeps the dossier's history chain from forking.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound
from ..store.models import ExternalTaskRow, ProcessInstance


def lock_task(session: Session, task_id: str) -> tuple[ExternalTaskRow, ProcessInstance]:
    """An open external task and its instance, both locked (the instance first)."""
    instance = session.scalars(
        select(ProcessInstance)
        .join(ExternalTaskRow, ExternalTaskRow.instance_id == ProcessInstance.id)
        .where(ExternalTaskRow.id == task_id)
        .with_for_update(of=ProcessInstance)
    ).first()
    row = (
        None
        if instance is None
        else session.scalars(
            select(ExternalTaskRow).where(ExternalTaskRow.id == task_id).with_for_update()
        ).first()
    )
    if instance is None or row is None:
        raise NotFound(f"external task '{task_id}' does not exist")
    return row, instance


def require_running(instance: ProcessInstance) -> None:
    if instance.status != "running":
        raise Conflict(f"process instance is {instance.status}")
