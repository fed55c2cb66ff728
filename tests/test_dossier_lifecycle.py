"""The dossier follows its process: receipt, supplement, payment, refusal, finish, return, side exits."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from orchestrator.dossiers import lifecycle
from orchestrator.dossiers.models import DossierSupplement, PortalSync
from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.services import instances
from orchestrator.store.history import verify_chain
from orchestrator.store.models import Event, ExternalTaskRow, Notification, ProcessInstance

from .dossier_support import (
    AGENCY,
    complete,
    deploy_procedure,
    open_task,
    receive,
    reload,
    states,
    vn,
)


@pytest.fixture
def procedure(engine):
    deploy_procedure(engine)
    return engine


def _events(engine, instance_id: str) -> list[Event]:
    with engine.db.read() as session:
        return list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))


def test_receipt_makes_the_dossier_its_code_and_appointment(procedure):
    engine = procedure
    with time_machine.travel(vn("2026-11-20T09:00"), tick=False):  # Friday morning
        dossier = receive(engine)
    assert dossier.code == "UBND-XA-261120-0001"
    assert len(dossier.lookup_code) == 4 and set(dossier.lookup_code) <= set("ACDEFGHJKMNPQRTUVWXY34679")
    assert (dossier.state, dossier.national_status, dossier.procedure_code) == ("received", 2, "1.000001")
    assert dossier.appointment_at == vn("2026-11-25T09:00")  # 3 working days from Friday 09:00
    with engine.db.read() as session:
        instance = session.get(ProcessInstance, dossier.instance_id)
        assert instance.business_key == dossier.code
        notice = session.scalars(select(Notification).where(Notification.kind == "receipt")).one()
        assert dossier.code in notice.message and "Nguyễn" not in notice.message
        assert session.scalars(select(PortalSync.national_status)).all() == [2]
        first_steps = session.scalars(
            select(ExternalTaskRow.business_key).where(ExternalTaskRow.instance_id == instance.id)
        ).all()
        assert first_steps and set(first_steps) == {dossier.code}  # what agencies fetch
    received = [e for e in _events(engine, dossier.instance_id) if e.type == "dossier.received"]
    assert received[0].actor == "desk-officer" and received[0].at == vn("2026-11-20T09:00")
    assert "Nguyễn" not in str(received[0].data)


def test_a_paper_dossier_entered_later_keeps_its_day_of_receipt(procedure):
    engine = procedure
    with time_machine.travel(vn("2026-11-23T10:00"), tick=False):  # entered on Monday
        dossier = receive(engine, variables={"receivedAt": "2026-11-20T09:00:00+07:00"})  # received Friday
    assert dossier.code == "UBND-XA-261120-0001"
    assert dossier.received_at == vn("2026-11-20T09:00")
    assert dossier.appointment_at == vn("2026-11-25T09:00")
    received = [e for e in _events(engine, dossier.instance_id) if e.type == "dossier.received"]
    assert received[0].at == vn("2026-11-23T10:00")  # the history says when it was entered


def test_supplement_round_trip_through_the_process(procedure):
    engine = procedure
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        dossier = receive(engine)
    with time_machine.travel(vn("2026-11-23T10:00"), tick=False):
        lifecycle.request_supplement(
            engine,
            dossier.code,
            reason="Thiếu giấy tờ",
            items=["Bản sao giấy chứng sinh"],
            task_id=None,
            variables={"ketQua": "bo-sung"},
            actor="desk-officer",
        )
    assert states(engine, dossier.code) == ("supplement_requested", 5)
    with pytest.raises(Conflict, match="cannot move"):  # nothing to finish while waiting
        lifecycle.finish(engine, dossier.code, task_id=None, variables=None, actor="x")
    with time_machine.travel(vn("2026-11-25T10:00"), tick=False):
        lifecycle.receive_supplement(engine, dossier.code, variables={"giayTo": "đủ"}, actor="desk-officer")
    assert states(engine, dossier.code) == ("processing", 4)
    with engine.db.read() as session:
        request = session.scalars(select(DossierSupplement)).one()
        assert request.items == ["Bản sao giấy chứng sinh"] and request.reason == "Thiếu giấy tờ"
        assert request.due_before == vn("2026-11-26T08:00")  # the appointment before the pause
        assert request.received_at == vn("2026-11-25T10:00")
        assert request.due_after > request.due_before  # the clock was paused for two days
        kinds = sorted(session.scalars(select(Notification.kind)))
    assert kinds == ["receipt", "supplement_request"]
    types = [e.type for e in _events(engine, dossier.instance_id) if e.type.startswith("dossier.")]
    assert types == ["dossier.received", "dossier.supplement_requested", "dossier.supplement_received"]
    assert verify_chain(_events(engine, dossier.instance_id))


def test_a_supplement_request_the_diagram_does_not_draw_is_refused_and_nothing_kept(procedure):
    engine = procedure
    dossier = receive(engine)
    with pytest.raises(Conflict, match="supplement wait"):
        lifecycle.request_supplement(
            engine,
            dossier.code,
            reason="x",
            items=["y"],
            task_id=None,
            variables={"ketQua": "hop-le"},
            actor="d",
        )
    assert states(engine, dossier.code) == ("received", 2)
    assert open_task(engine, dossier.instance_id, "check")  # the step is still open: rolled back


def test_processing_payment_finish_and_return(procedure):
    engine = procedure
    dossier = receive(engine)
    complete(engine, dossier.instance_id, "check", ketQua="hop-le")
    assert states(engine, dossier.code) == ("processing", 4)
    complete(engine, dossier.instance_id, "appraise", thue=True)
    assert states(engine, dossier.code) == ("awaiting_payment", 6)
    instances.correlate_message(engine, "da-nop-thue", business_key=dossier.code)
    assert states(engine, dossier.code) == ("processing", 4)
    with pytest.raises(Conflict, match="cannot move"):
        lifecycle.return_result(engine, dossier.code, how="desk", actor="d")
    lifecycle.finish(engine, dossier.code, task_id=None, variables=None, actor="desk-officer")
    finished = reload(engine, dossier.code)
    assert (finished.state, finished.national_status, finished.outcome) == ("finished", 9, "result")
    assert finished.finished_at is not None and finished.ended_at is None
    lifecycle.return_result(engine, dossier.code, how="post", actor="desk-officer")
    returned = reload(engine, dossier.code)
    assert (returned.state, returned.national_status, returned.return_method) == ("returned", 10, "post")
    assert returned.returned_at is not None and returned.ended_at == returned.returned_at
    with pytest.raises(Conflict):
        lifecycle.withdraw(engine, dossier.code, reason="muộn", actor="d")
    with engine.db.read() as session:
        statuses = session.scalars(select(PortalSync.national_status).order_by(PortalSync.seq)).all()
        assert statuses == [2, 4, 6, 4, 9, 10]
        assert sorted(session.scalars(select(Notification.kind))) == ["receipt", "result_ready"]
    returned_event = next(e for e in _events(engine, dossier.instance_id) if e.type == "dossier.returned")
    assert returned_event.actor == "desk-officer" and returned_event.data["how"] == "post"
    assert verify_chain(_events(engine, dossier.instance_id))
    # The diagram draws the return (returnsResult=true): the desk's return completed that step.
    with engine.db.read() as session:
        assert session.get(ProcessInstance, dossier.instance_id).status == "completed"


def test_the_agency_completing_the_drawn_return_step_returns_the_result(procedure):
    engine = procedure
    dossier = receive(engine)
    complete(engine, dossier.instance_id, "check", ketQua="hop-le")
    complete(engine, dossier.instance_id, "appraise", thue=False)
    complete(engine, dossier.instance_id, "sign")
    assert states(engine, dossier.code) == ("finished", 9)
    complete(engine, dossier.instance_id, "handover")
    assert states(engine, dossier.code) == ("returned", 10)
    with engine.db.read() as session:
        statuses = session.scalars(select(PortalSync.national_status).order_by(PortalSync.seq)).all()
    assert statuses == [2, 4, 9, 10]


def test_refusal_at_receipt_through_the_diagram(procedure):
    engine = procedure
    dossier = receive(engine)
    lifecycle.refuse(engine, dossier.code, reason="Không thuộc thẩm quyền", task_id=None,
                     variables={"ketQua": "tu-choi"}, actor="desk-officer")  # fmt: skip
    refused = reload(engine, dossier.code)
    assert (refused.state, refused.national_status, refused.outcome) == ("refused_at_receipt", 3, "refused")
    assert refused.outcome_reason == "Không thuộc thẩm quyền" and refused.ended_at is not None


def test_refusal_while_waiting_for_a_supplement_cancels_the_instance(procedure):
    engine = procedure
    dossier = receive(engine)
    complete(engine, dossier.instance_id, "check", ketQua="bo-sung")
    assert states(engine, dossier.code) == ("supplement_requested", 5)
    lifecycle.refuse(engine, dossier.code, reason="Quá hạn bổ sung", task_id=None, variables=None, actor="d")
    refused = reload(engine, dossier.code)
    assert (refused.state, refused.national_status) == ("refused", 9)
    assert instances.get_instance(engine, dossier.instance_id).status == "cancelled"
    lifecycle.return_result(engine, dossier.code, how="desk", actor="d")  # the refusal letter is handed over
    assert states(engine, dossier.code) == ("returned", 10)


@pytest.mark.parametrize(
    ("action", "state", "status"), [("withdraw", "withdrawn", 7), ("stop", "stopped", 8)]
)
def test_side_exits_cancel_the_instance_with_the_reason(procedure, action, state, status):
    engine = procedure
    dossier = receive(engine)
    complete(engine, dossier.instance_id, "check", ketQua="hop-le")
    with pytest.raises(InvalidInput):
        getattr(lifecycle, action)(engine, dossier.code, reason=" ", actor="d")
    getattr(lifecycle, action)(engine, dossier.code, reason="Công dân đề nghị", actor="desk-officer")
    ended = reload(engine, dossier.code)
    assert (ended.state, ended.national_status, ended.outcome_reason) == (state, status, "Công dân đề nghị")
    assert instances.get_instance(engine, dossier.instance_id).status == "cancelled"
    types = [e.type for e in _events(engine, dossier.instance_id)]
    assert f"dossier.{state}" in types and "instance_cancelled" in types
    for other in ("withdraw", "stop"):
        with pytest.raises(Conflict, match="cannot move"):
            getattr(lifecycle, other)(engine, dossier.code, reason="lần nữa", actor="d")


def test_an_administrator_cancelling_the_instance_stops_the_dossier(procedure):
    from orchestrator.services.cancellation import cancel_instance

    engine = procedure
    dossier = receive(engine)
    cancel_instance(engine, dossier.instance_id, reason="Nhập nhầm", actor="admin")
    assert states(engine, dossier.code) == ("stopped", 8)


def test_receipt_input_is_checked(procedure):
    engine = procedure
    bad = [
        lifecycle.ReceiveRequest("thu-tuc-ho-so", AGENCY, "fax", {"name": "A"}),
        lifecycle.ReceiveRequest("thu-tuc-ho-so", AGENCY, "online", {}),
        lifecycle.ReceiveRequest("thu-tuc-ho-so", AGENCY, "online", {"name": "A", "religion": "x"}),
        lifecycle.ReceiveRequest(
            "thu-tuc-ho-so", AGENCY, "online", {"name": "A"}, [{"name": "x", "copies": 0}]
        ),
    ]
    for request in bad:
        with pytest.raises(InvalidInput):
            lifecycle.receive(engine, request, actor="d")
    with pytest.raises(NotFound):
        lifecycle.receive(
            engine, lifecycle.ReceiveRequest("thu-tuc-ho-so", "NOPE", "online", {"name": "A"}), actor="d"
        )
    with engine.db.read() as session:
        assert session.scalars(select(ProcessInstance)).all() == []
