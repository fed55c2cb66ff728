"""Completing external tasks and throwing BPMN errors at them (agency or handler alike).

A BPMN error reaches only the boundary events attached to the failing task or to the
sub-processes enclosing it, innermost first (SpiffWorkflow's ``catch`` would reach every
waiting error boundary in the instance: SPIFFWORKFLOW.md trap 2).  With no boundary to
catch it, the task gets an incident instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..engine import Engine, StepContext
from ..store.models import ExternalTaskRow
from .instances import find_open_task, finish_task
from .variables import check_variables

ERROR_MESSAGE_LIMIT = 666  # Camunda cuts errorMessage here; details are kept whole


def complete_external_task(
    engine: Engine, task_id: str, *, variables: dict[str, Any] | None = None, actor: str | None = None
) -> None:
    values = check_variables(variables)

    def act(context: StepContext) -> None:
        finish_task(context, find_open_task(context, task_id), values)

    engine.step_for_task(task_id, act, actor=actor)


def throw_bpmn_error(
    engine: Engine,
    task_id: str,
    code: str,
    *,
    message: str = "",
    variables: dict[str, Any] | None = None,
    actor: str | None = None,
) -> bool:
    """Deliver a BPMN error; True when a boundary caught it, False when it became an incident."""
    values = check_variables(variables)

    def act(context: StepContext) -> bool:
        task = find_open_task(context, task_id)
        boundary = _catching_boundary(context, task, code)
        if boundary is None:
            mark_incident(
                context.session, task_id, f"BPMN error '{code}' has no boundary event to catch it", message
            )
            context.record(
                "incident",
                activity_id=task.task_spec.bpmn_id,
                task_id=task_id,
                data={"reason": "uncaught_bpmn_error", "code": code},
            )
            return False
        task.data.update(values)
        event = BpmnEvent(ErrorEventDefinition(code, code), payload=values)
        boundary.task_spec.catch(boundary, event)
        boundary.task_spec._update(boundary)  # as SpiffWorkflow's own event manager does: now READY
        context.record(
            "bpmn_error",
            activity_id=task.task_spec.bpmn_id,
            task_id=task_id,
            data={"code": code, "caught_by": boundary.task_spec.bpmn_id},
        )
        return True

    return engine.step_for_task(task_id, act, actor=actor)


def _catching_boundary(context: StepContext, task: Any, code: str) -> Any | None:
    """The nearest waiting error boundary event for ``code`` on the task or an enclosing scope."""
    for scope in _scopes(context, task):
        split = scope.parent
        if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
            continue
        for sibling in split.children:
            definition = getattr(sibling.task_spec, "event_definition", None)
            if (
                sibling is not scope
                and sibling.state == TaskState.WAITING
                and isinstance(definition, ErrorEventDefinition)
                and definition.code in (None, "", code)
            ):
                return sibling
    return None


def _scopes(context: StepContext, task: Any) -> Iterator[Any]:
    """The task, its multi-instance wrapper if any, then each enclosing sub-process task."""
    current = task
    while current is not None:
        yield current
        if current.parent is not None and isinstance(current.parent.task_spec, LoopTask):
            current = current.parent
            continue
        parent_id = getattr(current.workflow, "parent_task_id", None)
        current = context.workflow.get_task_from_id(parent_id) if parent_id is not None else None


def mark_incident(
    session: Session, task_id: str, error_message: str, error_details: str | None = None
) -> None:
    """An incident: the task stays open, is not fetched any more, and shows to admins."""
    session.execute(
        update(ExternalTaskRow)
        .where(ExternalTaskRow.id == task_id)
        .values(
            incident=True,
            retries=0,
            error_message=error_message[:ERROR_MESSAGE_LIMIT],
            error_details=error_details,
            lock_owner=None,
            lock_expires_at=None,
        )
    )
