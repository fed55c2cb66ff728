"""Starting instances, reading them, completing their tasks and delivering messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bpmn.specs import ExternalTask
from ..engine import Engine, StepContext
from ..errors import Conflict, InvalidInput, NotFound
from ..store.models import ProcessInstance
from ..timers import variables_changed
from .definitions import get_definition
from .outputs import apply_outputs
from .variables import check_variables


@dataclass(frozen=True)
class InstanceView:
    id: str
    definition_id: str
    process_key: str
    business_key: str | None
    status: str
    version: int
    variables: dict[str, Any]
    current_activities: list[dict[str, Any]]
    next_timer_at: str | None
    created_at: str
    ended_at: str | None

    @classmethod
    def of(cls, row: ProcessInstance) -> InstanceView:
        return cls(
            id=row.id,
            definition_id=row.definition_id,
            process_key=row.process_key,
            business_key=row.business_key,
            status=row.status,
            version=row.version,
            variables=row.variables,
            current_activities=row.current_activities,
            next_timer_at=row.next_timer_at.isoformat() if row.next_timer_at else None,
            created_at=row.created_at.isoformat(),
            ended_at=row.ended_at.isoformat() if row.ended_at else None,
        )


def start_instance(
    engine: Engine,
    key: str,
    *,
    business_key: str | None = None,
    variables: dict[str, Any] | None = None,
    actor: str | None = None,
    within: Callable[[Session, InstanceView], None] | None = None,
) -> InstanceView:
    """Start on the newest version; ``within`` runs inside the start's transaction with its view."""
    definition = get_definition(engine, key)
    hook = None if within is None else (lambda session, row: within(session, InstanceView.of(row)))
    row = engine.start(
        definition, business_key=business_key, variables=check_variables(variables), actor=actor, within=hook
    )
    return InstanceView.of(row)


def get_instance(engine: Engine, instance_id: str) -> InstanceView:
    with engine.db.read() as session:
        row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance '{instance_id}' does not exist")
    return InstanceView.of(row)


def find_open_task(context: StepContext, task_id: str) -> Any:
    """The live task, or 404/409 with a reason: a task cancelled meanwhile is never resurrected."""
    try:
        task = context.workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        task = None
    if task is None:
        raise NotFound(f"task '{task_id}' does not exist in this process instance")
    open_external = isinstance(task.task_spec, ExternalTask) and task.state == TaskState.STARTED
    open_user = isinstance(task.task_spec, UserTask) and task.state == TaskState.READY
    if not (open_external or open_user):
        raise Conflict(f"task '{task_id}' is not open any more ({TaskState.get_name(task.state)})")
    return task


def complete_task(
    engine: Engine,
    instance_id: str,
    task_id: str,
    *,
    variables: dict[str, Any] | None = None,
    actor: str | None = None,
    expected_version: int | None = None,
) -> InstanceView:
    """Complete an open user or external task and run on to the next wait state."""
    values = check_variables(variables)

    def act(context: StepContext) -> None:
        task = find_open_task(context, task_id)
        finish_task(context, task, values)

    engine.step(instance_id, act, actor=actor, expected_version=expected_version)
    return get_instance(engine, instance_id)


def finish_task(context: StepContext, task: Any, variables: dict[str, Any]) -> None:
    """Set the completion variables (and output mappings), complete, and record it.

    Setting variables can fire a conditional boundary event first (Camunda semantics); if
    that interrupts the task's scope, the task ends cancelled rather than completed.
    """
    open_state = task.state
    task.data.update(variables)
    apply_outputs(task, context.workflow.script_engine.environment)
    variables_changed(context.workflow, variables)
    completed = task.state == open_state
    if completed:
        task.complete()
    context.record(
        "task_completed" if completed else "task_interrupted",
        activity_id=task.task_spec.bpmn_id,
        task_id=str(task.id),
        data={"variables": sorted(variables)},
    )


def correlate_message(
    engine: Engine,
    message_name: str,
    *,
    business_key: str | None = None,
    instance_id: str | None = None,
    variables: dict[str, Any] | None = None,
    actor: str | None = None,
) -> str:
    """Deliver a message to the one instance waiting for it (by business key or id)."""
    values = check_variables(variables)
    if not message_name:
        raise InvalidInput("messageName is required")
    target = instance_id or _instance_by_business_key(engine, business_key)

    def act(context: StepContext) -> None:
        event = BpmnEvent(MessageEventDefinition(message_name), payload=values)
        waiting = [
            t
            for t in context.workflow.get_tasks(state=TaskState.WAITING)
            if getattr(t.task_spec, "event_definition", None) is not None
            and t.task_spec.event_definition.catches(t, event)
        ]
        if not waiting:
            raise Conflict(f"the process instance is not waiting for message '{message_name}'")
        context.workflow.send_event(event)
        context.record("message_correlated", data={"message": message_name, "variables": sorted(values)})

    engine.step(target, act, actor=actor)
    return target


def _instance_by_business_key(engine: Engine, business_key: str | None) -> str:
    if not business_key:
        raise InvalidInput("a message needs a businessKey or a processInstanceId to correlate")
    with engine.db.read() as session:
        ids = list(
            session.scalars(
                select(ProcessInstance.id)
                .where(ProcessInstance.business_key == business_key, ProcessInstance.status == "running")
                .limit(2)
            )
        )
    if not ids:
        raise NotFound("no running process instance has this business key")
    if len(ids) > 1:
        raise Conflict("more than one running process instance has this business key")
    return ids[0]
