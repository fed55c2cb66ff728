"""Task specs that SpiffWorkflow does not ship in the form we need.

``ExternalTask`` is a Camunda external service (or send) task: running it evaluates its
input mappings and leaves it STARTED ("execution managed outside spiff"), so the engine
parks there until an agency or an in-process handler completes it.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    ServiceTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition

from .extensions import camunda_attribute, spec_property
from .mappings import evaluate_parameters

LOCAL_VARIABLES = "local_variables"


class ExternalTask(ServiceTask):
    """A step done outside the engine, fetched by topic (Camunda ``camunda:type="external"``)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, priority: str | None = None, **kwargs: Any):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.priority = priority

    def _run_hook(self, my_task: Any) -> None:
        inputs = getattr(self, "extensions", {}).get("inputs") or []
        if inputs:
            environment = my_task.workflow.script_engine.environment
            my_task.internal_data[LOCAL_VARIABLES] = evaluate_parameters(inputs, my_task.data, environment)
        return None  # None = STARTED: wait for the agency or handler

    @property
    def agency(self) -> str | None:
        return spec_property(self, "agency")


def external_task_priority(spec: ExternalTask, variables: dict[str, Any], environment: Any) -> int:
    """``camunda:taskPriority`` as an int (it may be an expression); 0 when absent or invalid."""
    raw = spec.priority if spec.priority is not None else camunda_attribute(spec.extensions, "taskPriority")
    if raw in (None, ""):
        return 0
    try:
        return int(environment.evaluate(raw, dict(variables)))
    except (ValueError, TypeError):
        return 0


class _ElementVariableStaysLocal:
    """Camunda's element variable is local to each instance: it must not merge into the parent.

    SpiffWorkflow deep-merges a finished child's data into the multi-instance task, element
    variable included; the next sequential child then fails with "input item already exists".
    """

    input_item: Any

    def merge_child(self, workflow: Any, child: Any) -> None:
        name = self.input_item.bpmn_id if self.input_item is not None else None
        if name is None or name not in child.data:
            super().merge_child(workflow, child)  # type: ignore[misc]
            return
        value = child.data.pop(name)
        try:
            super().merge_child(workflow, child)  # type: ignore[misc]
        finally:
            child.data[name] = value


class SequentialCollectionTask(_ElementVariableStaysLocal, SequentialMultiInstanceTask):
    pass


class ParallelCollectionTask(_ElementVariableStaysLocal, ParallelMultiInstanceTask):
    pass


def local_variables(task: Any) -> dict[str, Any]:
    """Variables local to one task: evaluated input mappings and a multi-instance element variable."""
    local = dict(task.internal_data.get(LOCAL_VARIABLES, {}))
    parent_spec = task.parent.task_spec if task.parent is not None else None
    if isinstance(parent_spec, _ElementVariableStaysLocal) and parent_spec.input_item is not None:
        name = parent_spec.input_item.bpmn_id
        if name in task.data:
            local[name] = task.data[name]
    return local


class LenientConditionalEventDefinition(ConditionalEventDefinition):
    """A conditional event whose condition cannot be evaluated yet has simply not fired.

    Camunda analysts write ``${invoiceId != null}`` before the variable exists; an
    error there must not put the dossier in error, it means "not yet".
    """

    def has_fired(self, my_task: Any) -> bool:
        try:
            return bool(super().has_fired(my_task))
        except Exception:
            my_task._set_internal_data(has_fired=False)
            return False


def timer_due_value(task: Any) -> str | None:
    """The armed due instant of a WAITING timer task as stored by SpiffWorkflow, if any."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # cycles keep {'cycles', 'next', 'duration'}
        return value.get("next") if value.get("cycles") != 0 else None
    return value
