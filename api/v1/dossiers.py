"""Dossiers (hồ sơ): receipt at the desk, the lifecycle actions, lists and history.

How each action acts (``orchestrator/dossiers/lifecycle.py`` has the details):

- ``supplement-request``, ``finish``: through the process: the open step is completed with
  the given ``variables`` (``taskId`` when several are open); the step must lead where the
  action says (a ``pauseClock=supplement`` wait; the ``stopsClock=true`` step), else 409 and
  nothing is kept.
- ``supplement``: through the process: delivers the message the supplement wait catches.
- ``refuse``: through the process while a step is open (it must reach an ``outcome=refused``
  end); with no open step, directly: the instance is cancelled with the reason.
- ``return``: through the process when the diagram draws the return (the open
  ``returnsResult=true`` step is completed), directly otherwise.
- ``withdraw``, ``stop``: directly (the diagram does not draw them).

A transition the state machine forbids answers 409.  Only the receiving agency's desk (or an
administrator) acts; another agency's dossier answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Response
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy.orm import Session

from orchestrator.access import Scope
from orchestrator.dossiers import lifecycle, queries
from orchestrator.dossiers.models import Dossier
from orchestrator.dossiers.states import DossierState

from ..auth import Forbidden, current_principal
from .blueprint import ApiBlueprint, actor, engine
from .idempotency import Recorder, respond_once
from .pagination import decode_cursor, page_body
from .schemas import EventPageSchema, IdempotencyHeaderSchema, PageQuerySchema, StrictSchema

blp = ApiBlueprint("dossiers", __name__, description="Dossiers: receipt, lifecycle, national portal sync")
DOSSIERS, TRANSITIONS = "dossiers", "dossier-transitions"
_REASON = validate.Length(min=1, max=lifecycle.MAX_TEXT)
F = TypeVar("F", bound=Callable[..., Any])


# -- schemas -----------------------------------------------------------------------------


class ApplicantSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=lifecycle.MAX_TEXT))
    id_number = fields.String(data_key="idNumber", validate=validate.Length(max=64))
    phone = fields.String(validate=validate.Length(max=32))
    email = fields.Email(validate=validate.Length(max=255))
    address = fields.String(validate=validate.Length(max=lifecycle.MAX_TEXT))


class DocumentSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=500))
    copies = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    original = fields.Boolean(load_default=False)


class ReceiveRequestSchema(StrictSchema):
    procedure = fields.String(required=True, metadata={"description": "the process key"})
    agency = fields.String(required=True, metadata={"description": "the receiving agency's code"})
    channel = fields.String(required=True, validate=validate.OneOf(lifecycle.CHANNELS))
    applicant = fields.Nested(ApplicantSchema, required=True)
    documents = fields.List(fields.Nested(DocumentSchema), load_default=list)
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class ReceiptSchema(Schema):
    code = fields.String()
    lookup_code = fields.String(data_key="lookupCode")
    received_at = fields.DateTime(data_key="receivedAt")
    appointment_at = fields.DateTime(data_key="appointmentAt", allow_none=True)
    national_status = fields.Integer(data_key="nationalStatus")


class DossierSummarySchema(Schema):
    code = fields.String()
    process_key = fields.String(data_key="processKey")
    procedure_code = fields.String(data_key="procedureCode", allow_none=True)
    procedure_name = fields.String(data_key="procedureName", allow_none=True)
    agency = fields.String()
    channel = fields.String()
    state = fields.String()
    national_status = fields.Integer(data_key="nationalStatus")
    received_at = fields.DateTime(data_key="receivedAt")
    appointment_at = fields.DateTime(data_key="appointmentAt", allow_none=True)
    reappointment_at = fields.DateTime(data_key="reappointmentAt", allow_none=True)
    finished_at = fields.DateTime(data_key="finishedAt", allow_none=True)
    returned_at = fields.DateTime(data_key="returnedAt", allow_none=True)
    ended_at = fields.DateTime(data_key="endedAt", allow_none=True)
    outcome = fields.String(allow_none=True)


class SupplementSchema(Schema):
    requested_at = fields.DateTime(data_key="requestedAt")
    requested_by = fields.String(data_key="requestedBy", allow_none=True)
    reason = fields.String(allow_none=True)
    items = fields.List(fields.String())
    received_at = fields.DateTime(data_key="receivedAt", allow_none=True)
    due_before = fields.DateTime(data_key="dueBefore", allow_none=True)
    due_after = fields.DateTime(data_key="dueAfter", allow_none=True)


class DossierSchema(DossierSummarySchema):
    instance_id = fields.String(data_key="instanceId")
    applicant = fields.Nested(ApplicantSchema)
    documents = fields.List(fields.Nested(DocumentSchema))
    return_method = fields.String(data_key="returnMethod", allow_none=True)
    outcome_reason = fields.String(data_key="outcomeReason", allow_none=True)
    supplements = fields.List(fields.Nested(SupplementSchema))


DossierPageSchema = Schema.from_dict(
    {
        "items": fields.List(fields.Nested(DossierSummarySchema)),
        "next_cursor": fields.String(data_key="nextCursor", allow_none=True),
    },
    name="DossierPage",
)


class DossierListQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf([s.value for s in DossierState]))
    national_status = fields.Integer(data_key="national_status", validate=validate.Range(1, 10))
    agency = fields.String()
    procedure = fields.String(metadata={"description": "process key or maTTHC"})


class DossierStepActionSchema(StrictSchema):
    task_id = fields.String(data_key="taskId", metadata={"description": "the open step, when several are"})
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class SupplementRequestSchema(DossierStepActionSchema):
    reason = fields.String(required=True, validate=_REASON)
    items = fields.List(fields.String(validate=validate.Length(min=1, max=500)), required=True)


class DossierRefuseSchema(DossierStepActionSchema):
    reason = fields.String(required=True, validate=_REASON)


class SupplementReceivedSchema(StrictSchema):
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class DossierReturnSchema(StrictSchema):
    how = fields.String(required=True, validate=validate.OneOf(lifecycle.RETURN_METHODS))


class DossierReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=_REASON)


_receipt = ReceiptSchema()


def readable(blueprint: ApiBlueprint) -> Callable[[F], F]:
    """Any valid token reaches the route; who sees which dossier is decided per dossier (404 otherwise)."""

    def decorate(view: F) -> F:
        view = blueprint.alt_response(401, response="UNAUTHORIZED")(view)
        view = blueprint.alt_response(403, response="FORBIDDEN")(view)
        return blueprint.doc(**{"x-required-scope": "any"})(view)

    return decorate


# -- routes ------------------------------------------------------------------------------


@blp.route("/dossiers", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(IdempotencyHeaderSchema, location="headers")
@blp.arguments(ReceiveRequestSchema)
@blp.response(201, ReceiptSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(403, "the agency is not the desk's own")
@blp.problem(409, "a request with this Idempotency-Key is in progress")
@blp.problem(422, "the Idempotency-Key was used for another request, or the diagram could not advance")
def receive(headers: dict[str, Any], body: dict[str, Any]) -> Response:
    """Receive a dossier at the desk: answers the receipt's code, lookup code and appointment."""
    principal = current_principal()
    if not principal.is_admin and principal.agency not in (None, body["agency"]):
        raise Forbidden("a desk receives dossiers for its own agency only")
    request = lifecycle.ReceiveRequest(
        process_key=body["procedure"],
        agency=body["agency"],
        channel=body["channel"],
        applicant=body["applicant"],
        documents=body["documents"],
        variables=body["variables"],
    )

    def work(record: Recorder | None) -> tuple[dict[str, Any], int]:
        def then(session: Session, dossier: Dossier) -> None:
            if record is not None:
                record(session, _receipt.dump(dossier), 201)

        dossier = lifecycle.receive(engine(), request, actor=actor(), then=then)
        return _receipt.dump(dossier), 201

    return respond_once(headers.get("idempotency_key"), work)


@blp.route("/dossiers")
@blp.secured(Scope.DESK)
@blp.arguments(DossierListQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DossierPageSchema)
def list_dossiers(query: dict[str, Any]) -> dict[str, Any]:
    """Dossiers, newest received first; an agency's desk sees those it received."""
    filters = queries.DossierFilter(
        state=query.get("state"),
        national_status=query.get("national_status"),
        agency=query.get("agency"),
        procedure=query.get("procedure"),
    )
    after = decode_cursor(DOSSIERS, query.get("cursor"), (datetime, str))
    page = queries.list_dossiers(engine(), filters, current_principal(), after=after, limit=query["limit"])
    return page_body(DOSSIERS, page)


@blp.route("/dossiers/<code>")
@readable(blp)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_dossier(code: str) -> dict[str, Any]:
    """One dossier: for the desk, an administrator, or an agency a step was handed over to."""
    return queries.get_dossier(engine(), code, current_principal())


@blp.route("/dossiers/<code>/history")
@readable(blp)
@blp.arguments(PageQuerySchema, location="query", unknown=RAISE)
@blp.response(200, EventPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def history(query: dict[str, Any], code: str) -> dict[str, Any]:
    """The dossier's transitions in order, each with its actor and time."""
    after = decode_cursor(TRANSITIONS, query.get("cursor"), (int,))
    page = queries.dossier_history(
        engine(), code, current_principal(), after=after[0] if after else None, limit=query["limit"]
    )
    return page_body(TRANSITIONS, page)


def _acted(code: str, action: Callable[[str], None]) -> dict[str, Any]:
    """Run a desk action on a dossier the caller may act on; answer the dossier as it is after it."""
    action(queries.find_for_action(engine(), code, current_principal()).code)
    return queries.get_dossier(engine(), code, current_principal())


@blp.route("/dossiers/<code>/supplement-request", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(SupplementRequestSchema)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the state forbids it, or the step did not lead to a supplement wait")
@blp.problem(422, "the diagram could not advance")
def supplement_request(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Request a supplement (form 02): completes the open step so the process waits for the applicant."""
    return _acted(
        code,
        lambda target: lifecycle.request_supplement(
            engine(),
            target,
            reason=body["reason"],
            items=body["items"],
            task_id=body.get("task_id"),
            variables=body["variables"],
            actor=actor(),
        ),
    )


@blp.route("/dossiers/<code>/supplement", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(SupplementReceivedSchema, required=False)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier is not waiting for a supplement")
def supplement(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The applicant's supplement was received: the process resumes."""
    return _acted(
        code,
        lambda target: lifecycle.receive_supplement(
            engine(), target, variables=body.get("variables"), actor=actor()
        ),
    )


@blp.route("/dossiers/<code>/refuse", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(DossierRefuseSchema)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the state forbids it, or the step did not lead to a refusal")
@blp.problem(422, "the diagram could not advance")
def refuse(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Refuse the dossier with its reasons (form 03)."""
    return _acted(
        code,
        lambda target: lifecycle.refuse(
            engine(),
            target,
            reason=body["reason"],
            task_id=body.get("task_id"),
            variables=body["variables"],
            actor=actor(),
        ),
    )


@blp.route("/dossiers/<code>/finish", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(DossierStepActionSchema, required=False)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the state forbids it, or no open step finishes processing")
@blp.problem(422, "the diagram could not advance")
def finish(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Processing finished (status 9): completes the open ``stopsClock`` step."""
    return _acted(
        code,
        lambda target: lifecycle.finish(
            engine(),
            target,
            task_id=body.get("task_id"),
            variables=body.get("variables"),
            actor=actor(),
        ),
    )


@blp.route("/dossiers/<code>/return", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(DossierReturnSchema)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "processing has not finished")
def return_result(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The result was handed over (status 10): at the desk, by post or electronically."""
    return _acted(
        code, lambda target: lifecycle.return_result(engine(), target, how=body["how"], actor=actor())
    )


@blp.route("/dossiers/<code>/withdraw", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(DossierReasonSchema)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier has already ended")
def withdraw(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The applicant withdraws the dossier (status 7); its process is cancelled."""
    return _acted(
        code, lambda target: lifecycle.withdraw(engine(), target, reason=body["reason"], actor=actor())
    )


@blp.route("/dossiers/<code>/stop", methods=["POST"])
@blp.secured(Scope.DESK)
@blp.arguments(DossierReasonSchema)
@blp.response(200, DossierSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the dossier has already ended")
def stop(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Stop processing (status 8, form 05); its process is cancelled."""
    return _acted(code, lambda target: lifecycle.stop(engine(), target, reason=body["reason"], actor=actor()))
