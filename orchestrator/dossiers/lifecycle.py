"""The desk's actions on a dossier, each one transaction.

How each action acts (the diagram drives what it draws; the desk acts directly otherwise):

- ``receive``: creates the dossier and starts its instance in ONE transaction
  (``Engine.start(within=...)``); the dossier code is the instance's business key.
- ``request_supplement``: through the process: completes the open step (``task_id``, or the
  only open one) with the caller's variables (e.g. ``ketQuaKiemTra = 'bo-sung'``); the step
  must reach a ``pauseClock=supplement`` wait, else 409 and nothing is kept.
- ``receive_supplement``: through the process: delivers the message the supplement wait
  catches; the dossier must be back in processing after it.
- ``finish``: through the process: completes the open ``stopsClock=true`` step.
- ``refuse``: through the process while a step is open (completed with the caller's
  variables; the step must reach an ``outcome=refused`` end); with no open step (e.g. the
  applicant never supplemented) directly: the instance is cancelled with the reason.
- ``return_result``: through the process when the diagram draws the return (completes the
  open ``returnsResult=true`` step), directly otherwise;
- ``withdraw``, ``stop``: directly (the diagram has nothing to drive them); they cancel a
  running instance with the reason in the same step.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bpmn.extensions import spec_flag, spec_property
from ..bpmn.specs import ExternalTask
from ..clock import utcnow
from ..deadlines.tracking import received_at_of
from ..engine import Engine, StepContext
from ..errors import Conflict, InvalidInput, NotFound
from ..services.cancellation import cancel_in_step
from ..services.definitions import get_definition
from ..services.instances import find_open_task, finish_task
from ..services.variables import check_variables
from ..store.history import append_event
from ..store.models import Agency, Deadline, ProcessInstance
from . import codes
from .follow import expect, move_in_step
from .models import Dossier
from .portal_sync import queue_change
from .states import NATIONAL_STATUS, DossierState, can_move, check_move
from .transitions import RECEIPT_NOTICE, Recorder, move, notify

CHANNELS = ("in_person", "online", "post")
RETURN_METHODS = ("desk", "post", "electronic")
APPLICANT_FIELDS = ("name", "id_number", "phone", "email", "address")
MAX_TEXT = 1000


@dataclass(frozen=True)
class ReceiveRequest:
    process_key: str
    agency: str
    channel: str
    applicant: dict[str, Any]
    documents: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)


def receive(
    engine: Engine,
    request: ReceiveRequest,
    *,
    actor: str | None,
    then: Callable[[Session, Dossier], None] | None = None,
) -> Dossier:
    """Receive a complete dossier: code, lookup code, appointment, instance, notice, portal row.

    ``then`` runs last in the receiving transaction (e.g. to store an idempotent answer).
    """
    if request.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
    applicant = _applicant(request.applicant)
    documents = [_document(item) for item in request.documents]
    variables = check_variables(request.variables)
    definition = get_definition(engine, request.process_key)
    with engine.db.read() as session:
        if session.get(Agency, request.agency) is None:
            raise NotFound(f"agency '{request.agency}' does not exist")
    created: list[Dossier] = []

    def reserve_code(session: Session, now: dt.datetime) -> str:
        agency = session.get(Agency, request.agency)
        if agency is None:  # deleted meanwhile: nothing of the receipt is kept
            raise NotFound(f"agency '{request.agency}' does not exist")
        # A paper dossier entered later keeps its day of receipt in its code.
        return codes.new_code(session, agency, received_at_of(variables, now))

    def within(session: Session, instance: ProcessInstance) -> None:
        now, code = instance.created_at, instance.business_key
        assert code is not None
        received_at = received_at_of(variables, now)
        clock = session.scalars(
            select(Deadline).where(Deadline.instance_id == instance.id, Deadline.scope == "dossier")
        ).first()
        dossier = Dossier(
            id=str(uuid.uuid4()),
            code=code,
            lookup_code=codes.new_lookup_code(),
            instance_id=instance.id,
            process_key=definition.key,
            procedure_code=((definition.properties or {}).get("properties") or {}).get("maTTHC"),
            procedure_name=definition.name,
            agency=request.agency,
            channel=request.channel,
            applicant=applicant,
            documents=documents,
            state=DossierState.RECEIVED.value,
            national_status=NATIONAL_STATUS[DossierState.RECEIVED],
            received_at=received_at,
            appointment_at=clock.original_due_at if clock is not None else None,
            supplement_count=0,
            sync_seq=0,
            created_at=now,
            updated_at=now,
        )
        session.add(dossier)
        session.flush()
        append_event(
            session,
            instance,
            "dossier.received",
            at=now,
            actor=actor,
            data={"to": DossierState.RECEIVED.value, "national_status": 2, "channel": request.channel},
        )
        queue_change(session, dossier, now=now)
        notify(session, dossier, "receipt", RECEIPT_NOTICE, now=now)
        created.append(dossier)
        if then is not None:
            then(session, dossier)

    engine.start(definition, business_key=reserve_code, variables=variables, actor=actor, within=within)
    return created[0]


def request_supplement(
    engine: Engine,
    code: str,
    *,
    reason: str,
    items: list[str],
    task_id: str | None,
    variables: dict[str, Any] | None,
    actor: str | None,
) -> None:
    reason = _reason(reason, "a supplement request needs the reason shown to the applicant")
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise InvalidInput("list every missing document at once in items (form 02)")
    details = {"reason": reason, "items": [item.strip() for item in items]}
    _through_task(
        engine,
        code,
        {DossierState.SUPPLEMENT_REQUESTED},
        "the step did not lead to a supplement wait (pauseClock=supplement): check the variables",
        details,
        task_id=task_id,
        variables=variables,
        actor=actor,
    )


def receive_supplement(
    engine: Engine, code: str, *, variables: dict[str, Any] | None, actor: str | None
) -> None:
    """The applicant's supplement arrived: deliver the message the supplement wait catches."""
    values = check_variables(variables)
    dossier = _find(engine, code)

    def act(context: StepContext) -> None:
        _check_state(context.session, dossier.id, DossierState.PROCESSING)
        for task in context.workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if spec_property(task.task_spec, "pauseClock") == "supplement" and isinstance(
                definition, MessageEventDefinition
            ):
                context.workflow.send_event(
                    BpmnEvent(MessageEventDefinition(definition.name), payload=values)
                )
                context.record(
                    "message_correlated", data={"message": definition.name, "variables": sorted(values)}
                )
                expect(context, {DossierState.PROCESSING}, "the supplement did not resume processing", {})
                return
        raise Conflict("the process is not waiting for a supplement message")

    engine.step(dossier.instance_id, act, actor=actor)


def finish(
    engine: Engine, code: str, *, task_id: str | None, variables: dict[str, Any] | None, actor: str | None
) -> None:
    _through_task(
        engine,
        code,
        {DossierState.FINISHED},
        "the completed step does not finish processing (stopsClock=true)",
        {},
        task_id=task_id,
        variables=variables,
        actor=actor,
        pick=lambda task: spec_flag(task.task_spec, "stopsClock"),
    )


def refuse(
    engine: Engine,
    code: str,
    *,
    reason: str,
    task_id: str | None,
    variables: dict[str, Any] | None,
    actor: str | None,
) -> None:
    reason = _reason(reason, "a refusal needs its reasons (form 03)")
    dossier = _find(engine, code)
    refused = {DossierState.REFUSED, DossierState.REFUSED_AT_RECEIPT}

    def act(context: StepContext) -> None:
        state = _check_state(
            context.session, dossier.id, DossierState.REFUSED, DossierState.REFUSED_AT_RECEIPT
        )
        if _open_tasks(context):
            task = _pick_task(context, task_id, None)
            expect(
                context,
                refused,
                "the step did not lead to a refusal (an end event with outcome=refused)",
                {"reason": reason, "task_id": str(task.id)},
            )
            finish_task(context, task, check_variables(variables))
            return
        target = DossierState.REFUSED_AT_RECEIPT if state is DossierState.RECEIVED else DossierState.REFUSED
        _move_in_step(context, dossier.id, target, reason=reason)
        cancel_in_step(context, reason)

    engine.step(dossier.instance_id, act, actor=actor)


def withdraw(engine: Engine, code: str, *, reason: str, actor: str | None) -> None:
    _side_exit(
        engine,
        code,
        DossierState.WITHDRAWN,
        _reason(reason, "a withdrawal needs the applicant's reason"),
        actor,
    )


def stop(engine: Engine, code: str, *, reason: str, actor: str | None) -> None:
    _side_exit(
        engine, code, DossierState.STOPPED, _reason(reason, "stopping needs its reason (form 05)"), actor
    )


def return_result(engine: Engine, code: str, *, how: str, actor: str | None) -> None:
    """Hand the result (or refusal letter) over, after status 9.

    Through the process when the diagram draws the return: the open ``returnsResult=true``
    step is completed (so the agency's queue does not keep a step already done at the desk);
    directly otherwise.
    """
    if how not in RETURN_METHODS:
        raise InvalidInput(f"how must be one of {', '.join(RETURN_METHODS)}")
    details = {"how": how}

    def in_step(context: StepContext, row: Dossier) -> None:
        _check_state(context.session, row.id, DossierState.RETURNED)
        row.return_method = how
        steps = [task for task in _open_tasks(context) if spec_flag(task.task_spec, "returnsResult")]
        if not steps:
            _move_in_step(context, row.id, DossierState.RETURNED, details=details)
            return
        expect(context, {DossierState.RETURNED}, "the return step did not return the result", details)
        finish_task(context, steps[0], {})

    def direct(session: Session, instance: ProcessInstance, row: Dossier, now: dt.datetime) -> None:
        row.return_method = how
        move(
            session,
            row,
            DossierState.RETURNED,
            now=now,
            actor=actor,
            record=_recorder(session, instance, now, actor),
            details=details,
        )

    _change(engine, _find(engine, code), in_step, direct, actor=actor)


# -- helpers ------------------------------------------------------------------------------


def _side_exit(engine: Engine, code: str, target: DossierState, reason: str, actor: str | None) -> None:
    def in_step(context: StepContext, row: Dossier) -> None:  # the running instance is cancelled too
        _check_state(context.session, row.id, target)
        _move_in_step(context, row.id, target, reason=reason)
        cancel_in_step(context, reason)

    def direct(session: Session, instance: ProcessInstance, row: Dossier, now: dt.datetime) -> None:
        move(
            session,
            row,
            target,
            now=now,
            actor=actor,
            record=_recorder(session, instance, now, actor),
            reason=reason,
        )

    _change(engine, _find(engine, code), in_step, direct, actor=actor)


def _change(
    engine: Engine,
    dossier: Dossier,
    in_step: Callable[[StepContext, Dossier], None],
    direct: Callable[[Session, ProcessInstance, Dossier, dt.datetime], None],
    *,
    actor: str | None,
) -> None:
    """A desk action: in an engine step while the instance runs, else directly (both under its lock)."""
    with engine.db.read() as session:
        instance = session.get(ProcessInstance, dossier.instance_id)
    if instance is not None and instance.status == "running":

        def act(context: StepContext) -> None:
            row = context.session.get(Dossier, dossier.id)
            assert row is not None
            in_step(context, row)

        engine.step(dossier.instance_id, act, actor=actor)
        return
    _direct(engine, dossier, direct)


def _through_task(
    engine: Engine,
    code: str,
    targets: set[DossierState],
    message: str,
    details: dict[str, Any],
    *,
    task_id: str | None,
    variables: dict[str, Any] | None,
    actor: str | None,
    pick: Callable[[Any], bool] | None = None,
) -> None:
    values = check_variables(variables)
    dossier = _find(engine, code)

    def act(context: StepContext) -> None:
        _check_state(context.session, dossier.id, *targets)
        task = _pick_task(context, task_id, pick)
        expect(context, targets, message, {**details, "task_id": str(task.id)})
        finish_task(context, task, values)

    engine.step(dossier.instance_id, act, actor=actor)


def _open_tasks(context: StepContext) -> list[Any]:
    return [
        task
        for task in context.workflow.get_tasks(state=TaskState.READY | TaskState.STARTED)
        if (isinstance(task.task_spec, ExternalTask) and task.state == TaskState.STARTED)
        or (isinstance(task.task_spec, UserTask) and task.state == TaskState.READY)
    ]


def _pick_task(context: StepContext, task_id: str | None, pick: Callable[[Any], bool] | None) -> Any:
    if task_id is not None:
        task = find_open_task(context, task_id)
        if pick is not None and not pick(task):
            raise Conflict("this step is not the one the action completes")
        return task
    candidates = [task for task in _open_tasks(context) if pick is None or pick(task)]
    if not candidates:
        raise Conflict("no open step of this dossier can take this action")
    if len(candidates) > 1:
        raise Conflict("several steps are open: name the one to complete with taskId")
    return candidates[0]


def _check_state(session: Session, dossier_id: str, *targets: DossierState) -> DossierState:
    """Refuse early, with the state machine's reason, an action the dossier's state forbids."""
    dossier = session.get(Dossier, dossier_id)
    assert dossier is not None
    state = DossierState(dossier.state)
    if not any(can_move(state, target) for target in targets):
        check_move(state, targets[0])
    return state


def _move_in_step(
    context: StepContext,
    dossier_id: str,
    target: DossierState,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    dossier = context.session.get(Dossier, dossier_id)
    assert dossier is not None
    move_in_step(context, dossier, target, reason=reason, details=details)


def _direct(
    engine: Engine, dossier: Dossier, change: Callable[[Session, ProcessInstance, Dossier, dt.datetime], None]
) -> None:
    """A change the process does not drive: under the instance's lock, its events in the same chain."""
    now = utcnow()
    with engine.db.write() as session:
        instance = engine.lock_instance(session, dossier.instance_id)
        row = session.get(Dossier, dossier.id)
        assert row is not None
        change(session, instance, row, now)


def _recorder(session: Session, instance: ProcessInstance, now: dt.datetime, actor: str | None) -> Recorder:
    return lambda type_, data: append_event(session, instance, type_, at=now, actor=actor, data=data)


def _find(engine: Engine, code: str) -> Dossier:
    with engine.db.read() as session:
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
    if dossier is None:
        raise NotFound("no dossier has this code")
    return dossier


def _reason(reason: str | None, missing: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(missing)
    if len(reason) > MAX_TEXT:
        raise InvalidInput(f"the reason is at most {MAX_TEXT} characters")
    return reason


def _applicant(value: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict) or not str(value.get("name") or "").strip():
        raise InvalidInput("the applicant needs at least a name")
    unknown = sorted(set(value) - set(APPLICANT_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown applicant field(s): {', '.join(unknown)}")
    if not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value.values() if v is not None):
        raise InvalidInput(f"applicant fields are texts of at most {MAX_TEXT} characters")
    return {name: value[name].strip() for name in APPLICANT_FIELDS if value.get(name)}


def _document(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise InvalidInput("each document needs a name")
    copies = item.get("copies", 1)
    if not isinstance(copies, int) or isinstance(copies, bool) or copies < 1:
        raise InvalidInput("a document's copies is a whole number from 1")
    return {"name": item["name"].strip(), "copies": copies, "original": bool(item.get("original", False))}
