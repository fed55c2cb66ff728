"""Reading and changing an instance's process variables from outside (Camunda's
``/process-instance/{id}/variables``).

A change is one engine step: the values go on the data of every open task (that is what
flows on when they complete) and on the workflow's own data, and history records which
names changed, never their values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from SpiffWorkflow.util.task import TaskState

from ..engine import Engine, StepContext
from ..errors import InvalidInput
from .camunda_queries import instance_record
from .variables import MAX_NAME_LENGTH, check_variables

# The same task states the projection merges into the instance's variables.
_OPEN = TaskState.READY | TaskState.STARTED | TaskState.WAITING


def get_variables(engine: Engine, instance_id: str) -> dict[str, Any]:
    """The instance's variables as the last step projected them (404 if unknown)."""
    return instance_record(engine.db, instance_id).variables


def modify_variables(
    engine: Engine,
    instance_id: str,
    *,
    modifications: Mapping[str, Any] | None = None,
    deletions: Iterable[str] = (),
    actor: str | None = None,
) -> None:
    """Set ``modifications`` then remove ``deletions`` (Camunda's order), in one step.

    Setting a variable can make a waiting conditional event fire: the step runs the
    diagram on afterwards, as Camunda does.
    """
    values = check_variables(modifications)
    removed = _deletion_names(deletions)
    if instance_record(engine.db, instance_id).ended:
        raise InvalidInput(f"process instance {instance_id} has ended: its variables can no longer change")
    if not values and not removed:
        return  # nothing to change: no step, no history

    def act(context: StepContext) -> None:
        open_tasks = context.workflow.get_tasks(state=_OPEN)
        # A waiting task copies its finished parent's data again at every refresh (a boundary
        # timer beside a long step does): the parent must change too, or the old value returns.
        parents = [t.parent for t in open_tasks if t.parent is not None and not t.parent.state & _OPEN]
        targets = [task.data for task in (*open_tasks, *parents)]
        targets.append(context.workflow.data)
        for data in targets:
            data.update(values)
            for name in removed:
                data.pop(name, None)
        context.record("variables_modified", data={"modified": sorted(values), "deleted": sorted(removed)})

    engine.step(instance_id, act, actor=actor)


def _deletion_names(deletions: Iterable[str]) -> list[str]:
    if isinstance(deletions, str):  # a lone name would otherwise be read letter by letter
        raise InvalidInput("deletions must be a list of variable names")
    names = list(deletions)
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
            raise InvalidInput("deletions must be a list of variable names")
    return names
