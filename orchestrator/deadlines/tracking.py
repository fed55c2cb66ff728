"""Deadline clocks follow each step, in the step's own transaction.

Called by the engine after the projection: a dossier clock opens when a budgeted process
starts, a step clock opens at each hand-over of a budgeted step and stops when the step
ends; while the dossier waits at an element marked ``pauseClock`` every clock is paused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..bpmn.extensions import spec_flag, spec_property
from ..calendar import CalendarError
from ..store.models import Deadline
from . import clock

if TYPE_CHECKING:
    from ..engine import StepContext
    from ..projection import Projected

PAUSE_REASONS = frozenset({"supplement", "financial_obligation"})


def track_deadlines(context: StepContext, projected: Projected) -> None:
    if not _has_clocks(context):
        return
    if context.started and context.properties.get("budget"):
        _open_dossier_clock(context)
    rows = list(
        context.session.scalars(
            select(Deadline).where(Deadline.instance_id == context.instance.id, Deadline.state != "met")
        )
    )
    dossier = next((row for row in rows if row.scope == "dossier"), None)
    steps = {row.task_id: row for row in rows if row.scope == "step"}
    for task in projected.opened:
        if row := _open_step_clock(context, task, paused=dossier is not None and dossier.state == "paused"):
            steps[row.task_id] = row
    stopped = False
    for task_id in projected.closed:
        task = _task(context, task_id)
        if (row := steps.pop(task_id, None)) is not None:
            _stop(context, row)
        stopped = stopped or (task is not None and task.state == TaskState.COMPLETED and _stops_clock(task))
    if dossier is not None and (stopped or context.workflow.is_completed()):
        _stop(context, dossier, late_by_rule=dossier.supplement_count > 1)
        dossier = None
    _follow_pause(context, projected.open_tasks, dossier, list(steps.values()))


def _has_clocks(context: StepContext) -> bool:
    """Only procedures with budgets pay for clocks (a generic diagram has none)."""
    if context.properties.get("budget"):
        return True
    specs = [context.workflow.spec, *context.workflow.subprocess_specs.values()]
    return any(spec_property(task_spec, "budget") for spec in specs for task_spec in spec.task_specs.values())


def _stops_clock(task: Any) -> bool:
    return spec_flag(task.task_spec, "stopsClock")


def _task(context: StepContext, task_id: str) -> Any:
    try:
        return context.workflow.get_task_from_id(UUID(task_id))
    except (KeyError, ValueError):
        return None


def _open_dossier_clock(context: StepContext) -> None:
    properties, calendar = context.properties, context.calendar
    agency = properties.get("coQuanChuTri")
    received = _received_at(context)
    try:
        cutoff = dt.time.fromisoformat(properties["cutoff"]) if properties.get("cutoff") else None
        started = calendar.start_of_counting(received, cutoff=True, cutoff_at=cutoff, agency=agency)
        row = Deadline(
            instance_id=context.instance.id,
            scope="dossier",
            agency=agency,
            budget=properties["budget"],
            started_at=started,
            state="running",
            pauses=[],
            supplement_count=0,
        )
        row.due_at = row.original_due_at = clock.due_of(calendar, row)
        row.warn_at = clock.warn_at(calendar, row, properties.get("warnBefore"))
    except (CalendarError, ValueError) as error:
        context.record("deadline_error", data={"scope": "dossier", "error": str(error)})
        return
    context.session.add(row)
    context.session.flush()
    context.record(
        "appointment_made",
        data={
            "received_at": received.isoformat(),
            "counting_from": started.isoformat(),
            "appointment": row.original_due_at.isoformat(),
            "budget": row.budget,
        },
    )


def _received_at(context: StepContext) -> dt.datetime:
    return received_at_of(context.workflow.task_tree.data, context.now)


def received_at_of(variables: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    """The desk may pass ``receivedAt`` (a paper dossier entered later); otherwise now.

    Only a past instant with its UTC offset counts: a receipt cannot be dated ahead.
    """
    value = variables.get("receivedAt")
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None and parsed <= now:
            return parsed
    return now


def _open_step_clock(context: StepContext, task: Any, *, paused: bool) -> Deadline | None:
    budget = spec_property(task.task_spec, "budget")
    if not budget:
        return None
    agency = spec_property(task.task_spec, "agency")
    row = Deadline(
        instance_id=context.instance.id,
        scope="step",
        task_id=str(task.id),
        activity_id=task.task_spec.bpmn_id,
        activity_name=task.task_spec.bpmn_name,
        agency=agency,
        budget=budget,
        started_at=context.calendar.next_opening(context.now, agency),
        state="running",
        pauses=[],
        supplement_count=0,
    )
    try:
        row.due_at = row.original_due_at = clock.due_of(context.calendar, row)
        row.warn_at = clock.warn_at(context.calendar, row, context.properties.get("warnBefore"))
    except (CalendarError, ValueError) as error:
        context.record("deadline_error", activity_id=row.activity_id, data={"error": str(error)})
        return None
    if paused:
        clock.pause(row, context.now, "dossier_paused")
    context.session.add(row)
    context.record(
        "step_clock_started",
        activity_id=row.activity_id,
        task_id=row.task_id,
        data={"agency": agency, "budget": budget, "due": row.due_at.isoformat()},
    )
    return row


def _stop(context: StepContext, row: Deadline, *, late_by_rule: bool = False) -> None:
    outcome = clock.finish(row, context.now, late_by_rule=late_by_rule)
    context.record(
        "dossier_clock_stopped" if row.scope == "dossier" else "step_finished",
        activity_id=row.activity_id,
        task_id=row.task_id,
        data={
            "agency": row.agency,
            "outcome": outcome,
            "due": (row.due_at or row.original_due_at).isoformat(),
        },
    )


def _follow_pause(
    context: StepContext, open_tasks: list[Any], dossier: Deadline | None, steps: list[Deadline]
) -> None:
    reason = _pause_reason(open_tasks)
    if dossier is None:
        return
    if reason is not None and clock.pause(dossier, context.now, reason):
        if reason == "supplement":
            dossier.supplement_count += 1
        for row in steps:
            clock.pause(row, context.now, reason)
        context.record("clock_paused", data={"reason": reason, "supplements": dossier.supplement_count})
    elif reason is None and dossier.state == "paused":
        warn_before = context.properties.get("warnBefore")
        for row in [dossier, *steps]:
            clock.resume(context.calendar, row, context.now, warn_before)
        context.record("clock_resumed", data={"due": dossier.due_at.isoformat() if dossier.due_at else None})


def _pause_reason(open_tasks: list[Any]) -> str | None:
    for task in open_tasks:
        reason = spec_property(task.task_spec, "pauseClock")
        if reason in PAUSE_REASONS:
            return reason
    return None
