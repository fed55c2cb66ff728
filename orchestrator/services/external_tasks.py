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
from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from ..access import Principal
from ..engine import Engine, StepContext
from ..store.models import ExternalTaskRow
from .instances import find_open_task, finish_task
from .task_views import check_active, check_lock_owner, visible_row, visible_to
from .variables import check_variables

ERROR_MESSAGE_LIMIT = 666  # Camunda cuts errorMessage here; details are kept whole


def complete_external_task(
    engine: Engine,
    task_id: str,
    *,
    variables: dict[str, Any] | None = None,
    local_variables: dict[str, Any] | None = None,
    actor: str | None = None,
    worker_id: str | None = None,
    principal: Principal | None = None,
) -> None:
    """Complete the task and run on to the next wait state, in one step.

    With ``principal``, a task of another agency is a 404; with ``worker_id``, only the
    worker holding the lock may complete (400 otherwise; the lock's expiry is not checked,
    as in Camunda).  ``local_variables`` are merged like ``variables`` (which win on a
    clash): the projection has no task-local scope that outlives the task, and output
    mappings can read them either way.
    """
    values = {**check_variables(local_variables), **check_variables(variables)}

    def act(context: StepContext) -> None:
        _check_lock_holder(context, task_id, principal, worker_id, "completed")
        finish_task(context, find_open_task(context, task_id), values)

    engine.step_for_task(task_id, act, actor=actor, task_filter=_visible(principal))


def _visible(principal: Principal | None) -> ColumnElement[bool] | None:
    """The caller's tasks only: another agency's id is "does not exist", checked while locking,
    so no later refusal (e.g. "process instance is suspended") can confirm that it exists."""
    return None if principal is None else visible_to(principal)


def _check_lock_holder(
    context: StepContext, task_id: str, principal: Principal | None, worker_id: str | None, verb: str
) -> None:
    if worker_id is None:
        return
    # Row-locked: a concurrent fetchAndLock skips the task until this step commits.
    row = visible_row(context.session, principal, task_id, for_update=True)
    check_lock_owner(row, worker_id, verb)
    check_active(row)


def throw_bpmn_error(
    engine: Engine,
    task_id: str,
    code: str,
    *,
    message: str = "",
    variables: dict[str, Any] | None = None,
    actor: str | None = None,
    worker_id: str | None = None,
    principal: Principal | None = None,
) -> bool:
    """Deliver a BPMN error; True when a boundary caught it, False when it became an incident.

    ``worker_id`` and ``principal`` are checked as in :func:`complete_external_task`.
    """
    values = check_variables(variables)

    def act(context: StepContext) -> bool:
        _check_lock_holder(context, task_id, principal, worker_id, "failed with a BPMN error")
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

    return engine.step_for_task(task_id, act, actor=actor, task_filter=_visible(principal))


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
