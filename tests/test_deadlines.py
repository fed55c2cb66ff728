"""Statutory clocks end to end: appointment at receipt, legs, pause/resume, warnings, re-appointment.

Every instant is checked by hand on the 2026 calendar (office hours 07:30–11:30, 13:00–17:00;
24/11/2026 is only a pending holiday, so it is a working day).
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import func, select

from orchestrator.access import Principal
from orchestrator.calendar import VN_TZ
from orchestrator.deadlines.enforcement import sweep_deadlines
from orchestrator.deadlines.evaluation import control_sheet, on_time_report
from orchestrator.deadlines.reappointment import reappoint
from orchestrator.errors import Conflict
from orchestrator.services import definitions, external_tasks, instances
from orchestrator.store.models import Deadline, Event, Notification
from orchestrator.ticker import tick

from .bpmn_builder import HEADER, chain

PROCEDURE = "thu-tuc"


def _props(**values: str) -> str:
    inner = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in values.items())
    return (
        f"<bpmn:extensionElements><camunda:properties>{inner}</camunda:properties></bpmn:extensionElements>"
    )


def _step(task_id: str, topic: str, **properties: str) -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}" name="Bước {task_id}" camunda:type="external" '
        f'camunda:topic="{topic}">{_props(**properties)}</bpmn:serviceTask>'
    )


def _procedure(extra_nodes: str = "", flows: str | None = None):
    from orchestrator.bpmn.compiler import Resource

    body = "\n".join([
        _props(budget="3wd", warnBefore="1wd", coQuanChuTri="UBND-XA", cutoff="15:00"),
        '<bpmn:startEvent id="s" />',
        _step("a", "ho-tich", agency="UBND-XA", budget="1wd"),
        '<bpmn:intermediateCatchEvent id="wait" name="Chờ bổ sung">' + _props(pauseClock="supplement")
        + '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>',
        _step("b", "cong-an", agency="CA-XA", budget="1wd", stopsClock="true"),
        _step("c", "mot-cua", agency="MOT-CUA"),
        '<bpmn:endEvent id="e" />',
        extra_nodes,
        flows if flows is not None else chain("s", "a", "wait", "b", "c", "e"),
    ])  # fmt: skip
    xml = (
        f'{HEADER}<bpmn:message id="m" name="bo-sung" />'
        f'<bpmn:process id="{PROCEDURE}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    )
    return Resource("thu-tuc.bpmn", xml.encode())


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def _rows(engine, instance_id: str) -> dict[str, Deadline]:
    return {row.activity_id or "dossier": row for row in control_sheet(engine.db, instance_id)}


def _open_task(engine, instance_id: str, activity: str) -> str:
    view = instances.get_instance(engine, instance_id)
    return next(a["task_id"] for a in view.current_activities if a["id"] == activity)


def test_a_dossier_through_its_clocks(engine):
    definitions.deploy(engine, [_procedure()])
    with time_machine.travel(vn("2026-11-20T16:10"), tick=False):  # Friday, after the 15:00 cut-off
        started = instances.start_instance(engine, PROCEDURE, business_key="HS-1")
    rows = _rows(engine, started.id)
    # Counting from Monday 23/11 07:30; 3 working days -> Wednesday 25/11 17:00.
    assert rows["dossier"].original_due_at == vn("2026-11-25T17:00") == rows["dossier"].due_at
    # Step a: handed over Friday 16:10, no cut-off: 50 min Friday + 240 + 190 -> Monday 16:10.
    assert rows["a"].due_at == vn("2026-11-23T16:10") and rows["a"].agency == "UBND-XA"

    with time_machine.travel(vn("2026-11-23T10:00"), tick=False):
        external_tasks.complete_external_task(engine, _open_task(engine, started.id, "a"))
    rows = _rows(engine, started.id)
    assert (rows["a"].state, rows["a"].outcome) == ("met", "on_time")  # same day as its due
    assert rows["dossier"].state == "paused" and rows["dossier"].supplement_count == 1

    with time_machine.travel(vn("2026-11-25T10:00"), tick=False):
        instances.correlate_message(engine, "bo-sung", business_key="HS-1", variables={"giayTo": "đủ"})
    rows = _rows(engine, started.id)
    # 1290 working minutes were left at Monday 10:00; from Wednesday 10:00 -> Friday 27/11 17:00.
    assert rows["dossier"].due_at == vn("2026-11-27T17:00")
    assert rows["dossier"].original_due_at == vn("2026-11-25T17:00")  # the appointment never moves
    assert rows["dossier"].state == "running"
    # Step b: handed over Wednesday 10:00 + 1wd -> Thursday 26/11 10:00, warned 4 working hours before.
    assert rows["b"].due_at == vn("2026-11-26T10:00") and rows["b"].warn_at == vn("2026-11-25T15:30")

    with time_machine.travel(vn("2026-11-25T16:00"), tick=False):
        tick(engine)
        tick(engine)  # a second sweep changes nothing
    with time_machine.travel(vn("2026-11-26T10:01"), tick=False):
        tick(engine)
    rows = _rows(engine, started.id)
    assert rows["b"].state == "overdue" and rows["dossier"].state == "running"
    with engine.db.read() as session:
        kinds = sorted(session.scalars(select(Notification.kind)))
    assert kinds == ["deadline_overdue", "deadline_warning"]

    police = Principal("c1", "Công an xã", "CA-XA", frozenset({"worker"}))
    commune = Principal("c2", "UBND xã", "UBND-XA", frozenset({"worker"}))
    with time_machine.travel(vn("2026-11-26T10:05"), tick=False):
        with pytest.raises(Conflict, match="no late or nearly late step"):
            reappoint(engine, started.id, new_due=vn("2026-12-01T16:00"), reason="x", principal=commune)
        reappoint(engine, started.id, new_due=vn("2026-12-01T16:00"), reason="Chờ xác minh", principal=police)
        with pytest.raises(Conflict, match="already re-appointed once"):
            reappoint(engine, started.id, new_due=vn("2026-12-02T16:00"), reason="lần 2", principal=police)
    rows = _rows(engine, started.id)
    assert rows["dossier"].rescheduled_due_at == vn("2026-12-01T16:00")
    assert rows["dossier"].reappointed_by == "CA-XA"
    assert rows["dossier"].original_due_at == vn("2026-11-25T17:00")

    with time_machine.travel(vn("2026-11-26T11:00"), tick=False):
        external_tasks.complete_external_task(engine, _open_task(engine, started.id, "b"))
    rows = _rows(engine, started.id)
    assert rows["b"].outcome == "late"
    # "b" stops the dossier clock (processing finished): Thursday, before Friday's due -> early.
    assert (rows["dossier"].state, rows["dossier"].outcome) == ("met", "early")
    report = on_time_report(engine.db, start=vn("2026-11-01T00:00"), end=vn("2026-12-01T00:00"))
    assert (report.received, report.early, report.on_time_rate) == (1, 1, 1.0)


def test_a_second_supplement_makes_the_dossier_late(engine):
    # The commune checks the supplement (a2) and asks for more: a second request.
    flows = chain("s", "a", "wait", "a2", "again", "b", "c", "e")
    again = _step("a2", "ho-tich-xem-lai", agency="UBND-XA") + (
        '<bpmn:intermediateCatchEvent id="again">' + _props(pauseClock="supplement")
        + '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>'
    )  # fmt: skip
    definitions.deploy(engine, [_procedure(again, flows)])
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        started = instances.start_instance(engine, PROCEDURE, business_key="HS-2")
        external_tasks.complete_external_task(engine, _open_task(engine, started.id, "a"))
        instances.correlate_message(engine, "bo-sung", business_key="HS-2")
        external_tasks.complete_external_task(engine, _open_task(engine, started.id, "a2"))
        instances.correlate_message(engine, "bo-sung", business_key="HS-2")
        external_tasks.complete_external_task(engine, _open_task(engine, started.id, "b"))
    dossier = _rows(engine, started.id)["dossier"]
    assert dossier.supplement_count == 2 and dossier.outcome == "late"  # well within time, yet late


def test_concurrent_sweeps_warn_exactly_once(engine):
    definitions.deploy(engine, [_procedure()])
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        for n in range(15):
            instances.start_instance(engine, PROCEDURE, business_key=f"HS-{n}")
    with time_machine.travel(vn("2026-11-23T14:00"), tick=False):
        threads = [threading.Thread(target=sweep_deadlines, args=(engine,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    with engine.db.read() as session:
        warned = session.scalar(
            select(func.count()).select_from(Deadline).where(Deadline.warned_at.is_not(None))
        )
        notices = session.scalar(select(func.count()).select_from(Notification))
        events = session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "deadline_warning")
        )
    # Step a (08:00 + 1wd = 08:00 Tuesday) warns 4 working hours before: Monday 13:30. 15 of them.
    assert warned == notices == events == 15


def test_working_day_boundary_timer_fires_on_the_calendar_instant(engine):
    timer = (
        '<bpmn:boundaryEvent id="slow" attachedToRef="a" cancelActivity="false">'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>1wd</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:boundaryEvent>" + _step("remind", "mot-cua-nhac") + '<bpmn:endEvent id="re" />'
    )
    flows = chain("s", "a", "wait", "b", "c", "e") + chain("slow", "remind", "re")
    definitions.deploy(engine, [_procedure(timer, flows)])
    with time_machine.travel(vn("2026-11-20T16:10"), tick=False):
        started = instances.start_instance(engine, PROCEDURE)
    # 1 working day from Friday 16:10 is Monday 16:10 (not Saturday 16:10 as P1D would be).
    next_timer = instances.get_instance(engine, started.id).next_timer_at
    assert datetime.fromisoformat(next_timer) == vn("2026-11-23T16:10")
    with time_machine.travel(vn("2026-11-23T16:09"), tick=False):
        assert tick(engine) == 0
    with time_machine.travel(vn("2026-11-23T16:11"), tick=False):
        assert tick(engine) == 1
    assert {"a", "remind"} <= {a["id"] for a in instances.get_instance(engine, started.id).current_activities}


def test_deadlines_passed_during_downtime_fire_at_once_with_their_lateness(engine):
    definitions.deploy(engine, [_procedure()])
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        started = instances.start_instance(engine, PROCEDURE)
    with time_machine.travel(vn("2026-12-10T09:00"), tick=False):  # everything was down for weeks
        tick(engine)
    with engine.db.read() as session:
        overdue = session.scalars(select(Event).where(Event.type == "deadline_overdue")).all()
    assert {e.data["scope"] for e in overdue} == {"step", "dossier"}
    assert all(e.data["late_seconds"] > 10 * 24 * 3600 for e in overdue)
    assert _rows(engine, started.id)["dossier"].state == "overdue"
