"""After each step, rebuild what others query: open tasks, status, variables, next timer.

Existing external-task rows are kept as they are (their lock, retries and incident are
owned by the agency API); rows for tasks no longer open are deleted, new ones inserted,
and a new task whose topic has an in-process handler gets an outbox job in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, insert, text
from sqlalchemy.orm import Session

from .bpmn.specs import ExternalTask, external_task_priority, local_variables
from .store.models import ExternalTaskRow, UserTaskRow
from .store.queue import enqueue
from .timers import next_timer_at

if TYPE_CHECKING:
    from .engine import StepContext

HANDLER_JOB = "run_handler"
TASK_CHANNEL = "lienthong_external_task"  # PostgreSQL NOTIFY channel: a new task for a topic
ANNOUNCED_TOPICS = "lienthong_announced_topics"  # session.info key: topics to wake here after commit
_OPEN = TaskState.READY | TaskState.STARTED | TaskState.WAITING


@dataclass(frozen=True)
class Projected:
    """What this step changed in the open external tasks: the deadline clocks follow it."""

    open_tasks: list[Any]
    opened: list[Any]  # external tasks handed over in this step
    closed: set[str]  # ids of external tasks that ended in this step (completed or cancelled)


def project(context: StepContext, handler_topics: frozenset[str]) -> Projected:
    workflow, instance = context.workflow, context.instance
    open_tasks = workflow.get_tasks(state=_OPEN)
    # The previous projection says which rows exist: no SELECT needed to diff them.
    previous = {(a["type"], a["state"], a["task_id"]) for a in instance.current_activities or []}
    if workflow.is_completed() and instance.status == "running":  # a cancel sets its own status
        instance.status = "completed"
        instance.ended_at = context.now
        context.record("instance_completed")
    instance.variables = _variables(workflow, open_tasks)
    instance.current_activities = [_activity(task) for task in open_tasks if _is_visible(task)]
    instance.next_timer_at = None if workflow.is_completed() else next_timer_at(workflow)
    opened, closed = _project_external_tasks(
        context,
        [t for t in open_tasks if _is_external(t)],
        _ids(previous, ExternalTask, "STARTED"),
        handler_topics,
    )
    _project_user_tasks(
        context,
        [t for t in open_tasks if isinstance(t.task_spec, UserTask) and t.state == TaskState.READY],
        _ids(previous, UserTask, "READY"),
    )
    return Projected(open_tasks, opened, closed)


def _ids(previous: set[tuple[str, str, str]], spec_class: type, state: str) -> set[str]:
    """Ids of the tasks of one kind and state that the previous projection recorded."""
    return {
        task_id
        for kind, task_state, task_id in previous
        if (kind, task_state) == (spec_class.__name__, state)
    }


def _is_external(task: Any) -> bool:
    return isinstance(task.task_spec, ExternalTask) and task.state == TaskState.STARTED


def _is_visible(task: Any) -> bool:
    """Tasks an admin would call "where the dossier is": real BPMN elements, not engine glue.

    Every open external and user task is visible, so this list also tells the next step
    which projection rows exist.
    """
    return bool(getattr(task.task_spec, "bpmn_id", None))


def _activity(task: Any) -> dict[str, Any]:
    spec = task.task_spec
    return {
        "id": spec.bpmn_id,
        "name": spec.bpmn_name,
        "type": type(spec).__name__,
        "state": TaskState.get_name(task.state),
        "task_id": str(task.id),
    }


def _variables(workflow: Any, open_tasks: list[Any]) -> dict[str, Any]:
    """Process variables as a reader expects them: the data the open tasks carry, merged."""
    if workflow.is_completed() or not open_tasks:
        return (
            dict(workflow.data)
            if workflow.data
            else dict(workflow.last_task.data if workflow.last_task else {})
        )
    merged: dict[str, Any] = {}
    # Newest last: a timer waiting on the boundary of a long step keeps a copy of the data from
    # when the step began, and must not shadow what the step's own tasks changed since.
    for task in sorted(open_tasks, key=lambda task: task.last_state_change):
        merged.update(task.data)
    return merged


def _project_external_tasks(
    context: StepContext, tasks: list[Any], existing: set[str], handler_topics: frozenset[str]
) -> tuple[list[Any], set[str]]:
    session, instance = context.session, context.instance
    wanted = {str(task.id): task for task in tasks}
    gone = existing - set(wanted)
    # Core statements, not the ORM unit of work: a step writes these rows and never reads them back.
    if gone:
        session.connection().execute(delete(ExternalTaskRow).where(ExternalTaskRow.id.in_(gone)))
    environment = context.workflow.script_engine.environment
    announced: set[str] = set()
    opened, rows = [], []
    for task_id, task in wanted.items():
        if task_id in existing:
            continue
        opened.append(task)
        spec: ExternalTask = task.task_spec
        in_process = spec.topic in handler_topics
        agency = spec.agency or context.topic_map.agency(session, spec.topic)
        rows.append(
            {
                "id": task_id,
                "instance_id": instance.id,
                "definition_id": instance.definition_id,
                "process_key": instance.process_key,
                "business_key": instance.business_key,
                "activity_id": spec.bpmn_id,
                "activity_name": spec.bpmn_name,
                "topic": spec.topic,
                "handled_in_process": in_process,
                "agency": agency,
                "priority": external_task_priority(spec, task.data, environment),
                "created_at": context.now,
                "local_variables": local_variables(task),
                "incident": False,
                "suspended": False,
            }
        )
        context.record(
            "handed_over",
            activity_id=spec.bpmn_id,
            task_id=task_id,
            data={"topic": spec.topic, "agency": agency, "in_process": in_process},
        )
        if not in_process:
            announced.add(spec.topic)
        else:
            enqueue(
                session,
                HANDLER_JOB,
                {"instance_id": instance.id, "task_id": task_id, "topic": spec.topic},
                now=context.now,
                dedupe_key=f"handler:{task_id}",
                max_attempts=context.settings.handler_max_attempts,
            )
    if rows:
        session.connection().execute(insert(ExternalTaskRow), rows)
    _announce(session, announced)
    return opened, gone


def _announce(session: Session, topics: set[str]) -> None:
    """Wake long-polling fetchAndLock requests after commit: in this process through
    ``session.info`` (read by the task-signals hub), in every process by NOTIFY on PostgreSQL."""
    if not topics:
        return
    session.info.setdefault(ANNOUNCED_TOPICS, set()).update(topics)
    if session.get_bind().dialect.name == "postgresql":
        for topic in sorted(topics):
            session.connection().execute(
                text("SELECT pg_notify(:channel, :topic)"), {"channel": TASK_CHANNEL, "topic": topic}
            )


def _project_user_tasks(context: StepContext, tasks: list[Any], existing: set[str]) -> None:
    session, instance = context.session, context.instance
    wanted = {str(task.id): task for task in tasks}
    gone = existing - set(wanted)
    if gone:
        session.connection().execute(delete(UserTaskRow).where(UserTaskRow.id.in_(gone)))
    rows = []
    for task_id, task in wanted.items():
        if task_id in existing:
            continue
        camunda = (getattr(task.task_spec, "extensions", {}) or {}).get("camunda") or {}
        rows.append(
            {
                "id": task_id,
                "instance_id": instance.id,
                "activity_id": task.task_spec.bpmn_id,
                "name": task.task_spec.bpmn_name,
                "assignee": camunda.get("assignee"),
                "candidate_groups": camunda.get("candidateGroups"),
                "created_at": context.now,
            }
        )
        context.record("user_task_created", activity_id=task.task_spec.bpmn_id, task_id=task_id)
    if rows:
        session.connection().execute(insert(UserTaskRow), rows)
