"""Advancing a workflow: due timers and conditions first, then every engine step.

SpiffWorkflow fires nothing by itself: timers are compared with the wall clock only
inside ``refresh_timers()``, which must come before ``do_engine_steps()``, and conditional
events are re-evaluated only when asked (SPIFFWORKFLOW.md, "Timers").
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .bpmn.specs import timer_due_value

if TYPE_CHECKING:
    from .engine import StepContext

# Conditions can enable each other; a diagram that keeps flipping is cut off here.
_MAX_CONDITION_ROUNDS = 10


def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[Any, datetime]]:
    """Each WAITING timer task with its armed due instant (UTC)."""
    result = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if _waits_for_a_timer(getattr(task.task_spec, "event_definition", None)):
            value = timer_due_value(task)
            if isinstance(value, str):
                result.append((task, TimerEventDefinition.get_datetime(value)))
    return result


def _waits_for_a_timer(definition: Any) -> bool:
    """A timer event, or an event-based gateway (a multiple definition) that includes one."""
    if isinstance(definition, MultipleEventDefinition):
        return any(isinstance(d, TimerEventDefinition) for d in definition.event_definitions)
    return isinstance(definition, TimerEventDefinition)


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    dues = [due for _, due in waiting_timers(workflow)]
    return min(dues) if dues else None


def advance(context: StepContext) -> None:
    """Fire what is due, run the engine to its next wait state, and record late timers."""
    workflow = context.workflow
    due_now = [
        (task, due, timer_due_value(task)) for task, due in waiting_timers(workflow) if due <= context.now
    ]
    workflow.refresh_timers()
    workflow.do_engine_steps()
    for _ in range(_MAX_CONDITION_ROUNDS):
        if not _refresh_conditions(workflow):
            break
        workflow.do_engine_steps()
    late_after = context.settings.timer_late_after_seconds
    for task, due, armed in due_now:
        if task.state != TaskState.WAITING or timer_due_value(task) != armed:
            lateness = (context.now - due).total_seconds()
            context.record(
                "timer_fired",
                activity_id=task.task_spec.bpmn_id,
                task_id=str(task.id),
                data={
                    "due_at": due.isoformat(),
                    "late_seconds": round(lateness, 3),
                    "late": lateness > late_after,
                },
            )


def variables_changed(workflow: BpmnWorkflow, variables: dict[str, Any]) -> None:
    """Camunda evaluates conditional events when variables are set, before the step goes on.

    Spiff tasks carry copies of the data, so the waiting conditional events get the new
    values too; one that now holds fires (an interrupting one cancels what it is attached to).
    """
    if not variables:
        return
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if isinstance(getattr(task.task_spec, "event_definition", None), ConditionalEventDefinition):
            task.data.update(variables)
            task.task_spec._update(task)


def _refresh_conditions(workflow: BpmnWorkflow) -> bool:
    """Re-evaluate waiting conditional events; True when one of them fired."""
    fired = False
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if isinstance(getattr(task.task_spec, "event_definition", None), ConditionalEventDefinition):
            task.task_spec._update(task)
            fired = fired or task.state != TaskState.WAITING
    return fired
