"""Cancelling a dossier: one step that ends the workflow, its open tasks and says who and why."""

from __future__ import annotations

from ..engine import Engine, StepContext
from ..errors import InvalidInput
from .instances import InstanceView, get_instance

MAX_REASON_LENGTH = 1000
CANCELLED = "cancelled"


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

    engine.step(
        instance_id,
        lambda context: cancel_in_step(context, reason),
        actor=actor,
        expected_version=expected_version,
    )
    return get_instance(engine, instance_id)


def cancel_in_step(context: StepContext, reason: str) -> None:
    """Cancel the workflow inside a step the caller runs (e.g. with a dossier transition)."""
    # An ended workflow's variables are projected from workflow.data: keep what the
    # dossier held when it was cancelled, not just what it started with.
    context.workflow.data.update(context.instance.variables or {})
    context.workflow.cancel()
    # Set before the projection runs, which then neither calls it "completed" nor keeps
    # any task row (every open task is cancelled with the workflow).
    context.instance.status = CANCELLED
    context.instance.ended_at = context.now
    context.record("instance_cancelled", data={"reason": reason})
