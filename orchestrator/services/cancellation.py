"""Cancelling a dossier: one step that ends the workflow, its open tasks and says who and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from ..engine import Engine, StepContext
from ..errors import InvalidInput, NotFound
from ..store.models import ExternalTaskRow, ProcessInstance, UserTaskRow
from .instances import InstanceView, get_instance

MAX_REASON_LENGTH = 1000
CANCELLED = "cancelled"


class _WithoutCompletion(list[tuple[str, dict[str, Any]]]):
    """A step's history that drops the projection's ``instance_completed``.

    The projection calls every ended workflow "completed"; a cancelled dossier did not
    complete, and an audit trail saying both would be wrong.
    """

    def append(self, item: tuple[str, dict[str, Any]]) -> None:
        if item[0] != "instance_completed":
            super().append(item)


def cancel_instance(
    engine: Engine,
    instance_id: str,
    *,
    reason: str,
    actor: str | None,
    expected_version: int | None = None,
) -> InstanceView:
    """Cancel a running instance in one step: workflow, status, open task rows and history.

    Raises ``InvalidInput`` without a reason, ``NotFound`` for an unknown instance and
    ``Conflict`` when it is not running or ``expected_version`` is stale.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required to cancel a process instance")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"the reason is at most {MAX_REASON_LENGTH} characters")

    def act(context: StepContext) -> None:
        # An ended workflow's variables are projected from workflow.data: keep what the
        # dossier held when it was cancelled, not just what it started with.
        context.workflow.data.update(context.instance.variables or {})
        context.workflow.cancel()
        context.history = _WithoutCompletion(context.history)
        context.record("instance_cancelled", data={"reason": reason})

    with engine.db.write() as session:
        instance = session.execute(
            select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
        ).scalar_one_or_none()
        if instance is None:
            raise NotFound(f"process instance '{instance_id}' does not exist")
        engine.step_locked(session, instance, act, actor=actor, expected_version=expected_version)
        # Still inside the step's transaction, after its projection: the status it set
        # ("completed") is corrected, and no task row may outlive the dossier.
        instance.status = CANCELLED
        session.execute(delete(ExternalTaskRow).where(ExternalTaskRow.instance_id == instance_id))
        session.execute(delete(UserTaskRow).where(UserTaskRow.instance_id == instance_id))
    return get_instance(engine, instance_id)
