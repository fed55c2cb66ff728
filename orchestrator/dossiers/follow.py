"""The dossier follows its process, inside every engine step's transaction.

Called by ``Engine._finish`` after deadline tracking (so a resumed clock's new due is known)
and before the step's history is written (so ``dossier.*`` events join the same chain).
Diagram conventions (processes/README.md):

- waiting at an element with ``pauseClock=supplement`` -> supplement requested (5);
  leaving it -> processing again (4); ``pauseClock=financial_obligation`` -> payment (6);
- the step with ``stopsClock=true`` completed -> processing finished (9);
- after that, the step with ``returnsResult=true`` completed -> result returned (10);
- the process ended: at an end event with ``outcome=refused`` -> refused (3 before any
  processing, else 9 with a refusal letter); ``outcome=stopped`` -> stopped (8); otherwise
  finished (9) if it was not already;
- cancelled (e.g. by an administrator) -> stopped (8);
- any other step after receipt -> processing (4).

A desk action that acts through the process (complete a task, deliver the supplement)
states the transition it expects with :func:`expect`; if the step does not lead there the
step fails with a 409 and nothing of it is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..bpmn.extensions import spec_flag, spec_property
from ..errors import Conflict
from .models import Dossier
from .states import DossierState, is_open
from .transitions import move

if TYPE_CHECKING:
    from ..engine import StepContext

_EXPECTED = "lienthong.dossier.expected"  # session.info key: what a desk action expects this step to do
_OPEN_TASKS = TaskState.READY | TaskState.STARTED | TaskState.WAITING
AWAITING_RETURN = {DossierState.FINISHED, DossierState.REFUSED}  # status 9: the result is not handed over
PAUSES = {
    "supplement": DossierState.SUPPLEMENT_REQUESTED,
    "financial_obligation": DossierState.AWAITING_PAYMENT,
}


def expect(context: StepContext, targets: set[DossierState], message: str, details: dict[str, Any]) -> None:
    """The current step must move the dossier into one of ``targets`` (else 409 ``message``)."""
    context.session.info[_EXPECTED] = (frozenset(targets), message, details)


def follow_dossier(context: StepContext) -> None:
    """Move the instance's dossier, if it has one, to where its process now is."""
    expected = context.session.info.pop(_EXPECTED, None)
    # A dossier's business key is its code: an instance without one has no dossier (no query),
    # and a starting instance gets its dossier after this runs, in the same transaction.
    if context.started or context.instance.business_key is None:
        return
    dossier = context.session.scalars(
        select(Dossier).where(Dossier.instance_id == context.instance.id)
    ).first()
    if dossier is None:
        return
    details: dict[str, Any] = expected[2] if expected else {}
    target = target_state(context, DossierState(dossier.state))
    if target is not None:
        move_in_step(context, dossier, target, reason=details.get("reason"), details=details)
    if expected is not None and DossierState(dossier.state) not in expected[0]:
        raise Conflict(expected[1])


def move_in_step(
    context: StepContext,
    dossier: Dossier,
    target: DossierState,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Move the dossier within the step: its events join the step's history."""
    move(
        context.session,
        dossier,
        target,
        now=context.now,
        actor=context.actor,
        record=lambda type_, data: context.record(type_, data=data),
        reason=reason,
        details=details,
    )


def target_state(context: StepContext, state: DossierState) -> DossierState | None:
    """Where the dossier should be after this step, or None to stay."""
    if state in AWAITING_RETURN and _completed_with(context.workflow, "returnsResult"):
        return DossierState.RETURNED
    if not is_open(state):
        return None  # ended, or finished with no return step drawn: the desk returns it directly
    workflow, instance = context.workflow, context.instance
    if instance.status == "cancelled":
        return DossierState.STOPPED
    if workflow.is_completed():
        outcome = _end_outcome(workflow)
        if outcome == "refused":
            return DossierState.REFUSED_AT_RECEIPT if state is DossierState.RECEIVED else DossierState.REFUSED
        return DossierState.STOPPED if outcome == "stopped" else DossierState.FINISHED
    if _completed_with(workflow, "stopsClock"):
        return DossierState.FINISHED
    paused = _pause(workflow)
    target = paused or DossierState.PROCESSING
    return None if target is state else target


def _end_outcome(workflow: Any) -> str | None:
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        outcome = spec_property(task.task_spec, "outcome")
        if outcome and type(task.task_spec).__name__ == "EndEvent":
            return outcome.strip().lower()
    return None


def _completed_with(workflow: Any, flag: str) -> bool:
    """A step marked ``flag=true`` (``stopsClock``, ``returnsResult``) has been completed."""
    return any(spec_flag(task.task_spec, flag) for task in workflow.get_tasks(state=TaskState.COMPLETED))


def _pause(workflow: Any) -> DossierState | None:
    for task in workflow.get_tasks(state=_OPEN_TASKS):
        if (reason := spec_property(task.task_spec, "pauseClock")) in PAUSES:
            return PAUSES[reason]
    return None
