"""Moving a dossier's token: cancel activities, start before another one, with a preview first.

Backwards (the target already ran on the way to the cancelled activities), SpiffWorkflow's
``reset_from_task_id`` rewinds that branch; otherwise the cancelled tasks end (with their
boundary events) and the target is started as their successor.  Either way it is one
engine step, so projections, deadline clocks and history follow as for any step.  The
preview is the same step rolled back: what it reports is exactly what the move would do.

Refused, with a reason: targets or cancelled activities inside a multi-instance, boundary
and start events, joining gateways, and targets in another (sub-)process than the cancelled
activities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from ..engine import Engine, StepContext
from ..errors import InvalidInput
from .audit import event_type, required_actor, required_reason
from .locking import require_running

_OPEN = TaskState.READY | TaskState.STARTED | TaskState.WAITING


@dataclass(frozen=True)
class MovePreview:
    """What a move would do: the activities open afterwards, and what else it would cancel."""

    cancel: list[str]
    start_before: str
    resulting_activities: list[str]
    warnings: list[str]


class _RollBack(Exception):
    def __init__(self, preview: MovePreview) -> None:
        super().__init__("preview")
        self.preview = preview


def preview_move(
    engine: Engine, *, instance_id: str, cancel_activities: list[str], start_before: str
) -> MovePreview:
    """Run the move in a transaction that is rolled back, and report where the dossier would be."""
    try:
        with engine.db.write() as session:
            instance = engine.lock_instance(session, instance_id)
            require_running(instance)
            warnings = engine.step_locked(
                session, instance, lambda context: _move(context, cancel_activities, start_before)
            )
            resulting = [activity["id"] for activity in instance.current_activities or []]
            raise _RollBack(MovePreview(list(cancel_activities), start_before, resulting, warnings))
    except _RollBack as rolled_back:
        return rolled_back.preview


def move_token(
    engine: Engine,
    *,
    instance_id: str,
    cancel_activities: list[str],
    start_before: str,
    actor: str,
    reason: str,
) -> None:
    """Cancel ``cancel_activities`` and start before ``start_before``, in one step with history."""
    reason, actor = required_reason(reason), required_actor(actor)

    def act(context: StepContext) -> None:
        warnings = _move(context, cancel_activities, start_before)
        context.record(
            event_type("move_token"),
            activity_id=start_before,
            data={
                "reason": reason,
                "cancel": list(cancel_activities),
                "start_before": start_before,
                "warnings": warnings,
            },
        )

    engine.step(instance_id, act, actor=actor)


def _move(context: StepContext, cancel_ids: list[str], target_id: str) -> list[str]:
    """Apply the move to the live workflow; returns warnings (other activities it also ends)."""
    workflow = context.workflow
    if not cancel_ids or not target_id:
        raise InvalidInput("name the activities to cancel and the activity to start before")
    open_tasks = [t for t in workflow.get_tasks(state=_OPEN) if getattr(t.task_spec, "bpmn_id", None)]
    cancelled = _tasks_to_cancel(open_tasks, cancel_ids)
    scope = cancelled[0].workflow
    if any(task.workflow is not scope for task in cancelled):
        raise InvalidInput("the activities to cancel must be in the same process or sub-process")
    target_spec = _target_spec(scope, target_id)
    rewind_to = _completed_ancestor(cancelled, target_spec)
    if rewind_to is not None:
        ending = [t for t in open_tasks if t.is_descendant_of(rewind_to) or t is rewind_to]
        workflow.reset_from_task_id(rewind_to.id)
    else:
        ending = list(cancelled)
        for task in cancelled:
            _cancel_with_boundaries(task)
        started = cancelled[-1]._add_child(target_spec, TaskState.FUTURE)
        # As a rewind does: the target's data from its new parent, its successors predicted, READY.
        started.reset_branch(None)
        if started.state != TaskState.READY:
            raise InvalidInput(f"'{target_id}' cannot be started here: it waits for other paths")
    also = sorted({t.task_spec.bpmn_id for t in ending} - set(cancel_ids))
    return [f"also ends '{activity}'" for activity in also]


def _tasks_to_cancel(open_tasks: list[Any], cancel_ids: list[str]) -> list[Any]:
    found = []
    for activity_id in dict.fromkeys(cancel_ids):
        matches = [t for t in open_tasks if t.task_spec.bpmn_id == activity_id]
        if not matches:
            raise InvalidInput(f"activity '{activity_id}' is not active in this dossier")
        for task in matches:
            if _in_multi_instance(task):
                raise InvalidInput(f"activity '{activity_id}' is inside a multi-instance: it cannot be moved")
        found.extend(matches)
    return found


def _target_spec(scope: Any, target_id: str) -> Any:
    spec = next((s for s in scope.spec.task_specs.values() if getattr(s, "bpmn_id", None) == target_id), None)
    if spec is None:
        raise InvalidInput(f"'{target_id}' is not an activity of the process or sub-process being moved")
    if isinstance(spec, LoopTask) or _spec_in_multi_instance(scope, spec):
        raise InvalidInput(f"'{target_id}' is a multi-instance activity: start before it is not supported")
    if isinstance(spec, BoundaryEvent | StartEvent):
        raise InvalidInput(f"'{target_id}' is a start or boundary event: a token cannot be placed there")
    if isinstance(spec, Join) and len(spec.inputs) > 1:
        raise InvalidInput(f"'{target_id}' joins several paths: start before an activity after it")
    return spec


def _completed_ancestor(cancelled: list[Any], target_spec: Any) -> Any | None:
    """The newest finished run of the target that every cancelled task descends from (a rewind)."""
    candidates = [
        task
        for task in cancelled[0].workflow.get_tasks(spec_name=target_spec.name, state=TaskState.COMPLETED)
        if all(c.is_descendant_of(task) for c in cancelled)
    ]
    return max(candidates, key=lambda task: task.depth, default=None)


def _cancel_with_boundaries(task: Any) -> None:
    """End a task and the boundary events waiting on it (a timer there must not fire later)."""
    split = task.parent
    if split is not None and isinstance(split.task_spec, BoundaryEventSplit):
        split.cancel()  # a finished split cancels every unfinished child: the task and its events
    else:
        task.cancel()


def _in_multi_instance(task: Any) -> bool:
    parent = task.parent
    while parent is not None:
        if isinstance(parent.task_spec, LoopTask):
            return True
        parent = parent.parent
    return False


def _spec_in_multi_instance(scope: Any, spec: Any) -> bool:
    """A multi-instance's child spec: a loop task names it as what it repeats."""
    return any(
        isinstance(other, LoopTask) and getattr(other, "task_spec", None) == spec.name
        for other in scope.spec.task_specs.values()
    )
