"""Admin actions: each needs a reason, leaves an admin.<action> event with the actor, does what it says."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from orchestrator import admin
from orchestrator.access import add_agency
from orchestrator.deadlines.evaluation import control_sheet
from orchestrator.errors import Conflict, InvalidInput
from orchestrator.services import definitions, instances
from orchestrator.store.models import Deadline, Event, ExternalTaskRow, Job
from orchestrator.ticker import tick

from .bpmn_builder import chain, external, resource
from .test_admin_stuck import ADMIN, fetch, kinds_of, open_task, start, vn

REASON = "Theo chỉ đạo của lãnh đạo"


def admin_events(engine, instance_id: str) -> list[Event]:
    with engine.db.read() as session:
        return list(
            session.scalars(
                select(Event)
                .where(Event.instance_id == instance_id, Event.type.startswith("admin."))
                .order_by(Event.id)
            )
        )


def activities(engine, instance_id: str) -> list[str]:
    return [a["id"] for a in instances.get_instance(engine, instance_id).current_activities]


def test_every_action_needs_a_reason(engine):
    instance_id = start(engine)
    for blank in ("", "   "):
        with pytest.raises(InvalidInput):
            admin.suspend_dossier(engine, instance_id=instance_id, actor=ADMIN, reason=blank)
        with pytest.raises(InvalidInput):
            admin.move_token(
                engine,
                instance_id=instance_id,
                cancel_activities=["a"],
                start_before="b",
                actor=ADMIN,
                reason=blank,
            )
    assert instances.get_instance(engine, instance_id).status == "running"
    assert admin_events(engine, instance_id) == []


def test_suspend_stops_fetch_completion_and_sweeps_then_resume_restores(engine):
    add_agency(engine.db, "UBND-XA", "UBND xã")
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        instance_id = start(engine)
        admin.suspend_dossier(engine, instance_id=instance_id, actor=ADMIN, reason=REASON)
        assert fetch(engine, "UBND-XA", "ho-tich") == []
        with pytest.raises(Conflict, match="suspended"):
            instances.complete_task(engine, instance_id, open_task(engine, instance_id, "a"))
    with time_machine.travel(vn("2026-11-25T10:00"), tick=False):  # step a is overdue by now
        tick(engine)
        assert {row.state for row in control_sheet(engine.db, instance_id)} == {"suspended"}
        assert kinds_of(engine, vn("2026-11-25T10:00")) == {}  # suspended on purpose: not "stuck"
        admin.resume_dossier(engine, instance_id=instance_id, actor=ADMIN, reason="Đã rõ")
        tick(engine)
        assert {row.activity_id: row.state for row in control_sheet(engine.db, instance_id)}["a"] == "overdue"
        assert len(fetch(engine, "UBND-XA", "ho-tich")) == 1
    events = admin_events(engine, instance_id)
    assert [(e.type, e.actor, e.data["reason"]) for e in events] == [
        ("admin.suspend", ADMIN, REASON),
        ("admin.resume", ADMIN, "Đã rõ"),
    ]
    with pytest.raises(Conflict):
        admin.resume_dossier(engine, instance_id=instance_id, actor=ADMIN, reason=REASON)


def test_a_suspended_dossier_fires_no_timer_until_resumed(engine):
    body = "\n".join([
        '<bpmn:startEvent id="s" />',
        '<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        external("after", "sau-hen-gio"),
        '<bpmn:endEvent id="e" />',
        chain("s", "t", "after", "e"),
    ])  # fmt: skip
    definitions.deploy(engine, [resource(body, process_id="hen-gio")])
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        instance_id = instances.start_instance(engine, "hen-gio").id
        admin.suspend_dossier(engine, instance_id=instance_id, actor=ADMIN, reason=REASON)
    with time_machine.travel(vn("2026-11-23T11:00"), tick=False):
        tick(engine)
        assert activities(engine, instance_id) == ["t"]
        admin.resume_dossier(engine, instance_id=instance_id, actor=ADMIN, reason=REASON)
        tick(engine)
        assert activities(engine, instance_id) == ["after"]


def test_cancel_a_suspended_dossier(engine):
    instance_id = start(engine)
    admin.suspend_dossier(engine, instance_id=instance_id, actor=ADMIN, reason=REASON)
    admin.cancel_dossier(engine, instance_id=instance_id, actor=ADMIN, reason="Người dân rút hồ sơ")
    view = instances.get_instance(engine, instance_id)
    assert view.status == "cancelled" and view.current_activities == []
    assert [e.type for e in admin_events(engine, instance_id)] == ["admin.suspend", "admin.cancel"]
    with engine.db.read() as session:
        assert (
            session.scalars(select(ExternalTaskRow).where(ExternalTaskRow.instance_id == instance_id)).all()
            == []
        )


def test_cancelling_a_suspended_dossier_wakes_none_of_its_work(runtime, handlers):
    """Its handler step, refused while suspended, is not queued again only to be cancelled."""
    calls: list[str] = []
    handlers.register("ghi-so")(lambda call: calls.append(call.task_id) or {})
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            external("ghi", "ghi-so"),
            '<bpmn:endEvent id="end" />',
            chain("start", "ghi", "end"),
        ]
    )
    definitions.deploy(runtime.engine, [resource(body, process_id="so")])
    instance_id = instances.start_instance(runtime.engine, "so", business_key="HS-9").id
    admin.suspend_dossier(runtime.engine, instance_id=instance_id, actor=ADMIN, reason=REASON)
    worker = runtime.new_worker()
    assert worker.run_once() == 1 and calls  # ran, but its completion was refused: suspended

    admin.cancel_dossier(runtime.engine, instance_id=instance_id, actor=ADMIN, reason="Người dân rút hồ sơ")

    with runtime.db.read() as session:
        assert session.scalars(select(Job).where(Job.status == "queued")).all() == []
    assert instances.get_instance(runtime.engine, instance_id).status == "cancelled"


def test_extend_a_step_deadline_keeps_the_appointment(engine):
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        instance_id = start(engine)
    rows = {row.activity_id or "dossier": row for row in control_sheet(engine.db, instance_id)}
    step = rows["a"]
    with time_machine.travel(vn("2026-11-24T10:00"), tick=False):  # overdue
        tick(engine)
        assert "step_overdue" in kinds_of(engine, vn("2026-11-24T10:00"))
        extended = admin.extend_deadline(engine, deadline_id=step.id, by="2wd", actor=ADMIN, reason=REASON)
    assert extended.original_due_at == step.original_due_at
    assert extended.due_at == step.due_at + timedelta(days=2)  # Tue 09:00 -> Thu 09:00
    assert (extended.state, extended.extended_by, extended.extension_minutes) == ("running", ADMIN, 960)
    assert "step_overdue" not in kinds_of(engine, vn("2026-11-24T10:00"))
    event = admin_events(engine, instance_id)[0]
    assert event.type == "admin.extend_deadline" and event.data["reason"] == REASON
    assert event.data["appointment"] == step.original_due_at.isoformat()
    with pytest.raises(InvalidInput, match="re-appointment"):
        admin.extend_deadline(engine, deadline_id=rows["dossier"].id, by="1wd", actor=ADMIN, reason=REASON)
    with pytest.raises(InvalidInput):
        admin.extend_deadline(
            engine, deadline_id=step.id, until=vn("2026-11-20T09:00"), actor=ADMIN, reason=REASON
        )


def test_reassign_a_step_to_another_agency(engine):
    for code in ("UBND-XA", "UBND-PHUONG"):
        add_agency(engine.db, code, code)
    instance_id = start(engine)
    task_id = open_task(engine, instance_id, "a")
    assert len(fetch(engine, "UBND-XA", "ho-tich")) == 1  # the old agency holds a lock
    admin.reassign_step(engine, task_id=task_id, agency="UBND-PHUONG", topic=None, actor=ADMIN, reason=REASON)
    assert fetch(engine, "UBND-XA", "ho-tich") == []
    engine.step(instance_id, lambda context: None)  # a later step re-projects: the change stays
    assert [t.id for t in fetch(engine, "UBND-PHUONG", "ho-tich")] == [task_id]
    with engine.db.read() as session:
        clock = session.scalars(select(Deadline).where(Deadline.task_id == task_id)).one()
    assert clock.agency == "UBND-PHUONG"
    event = admin_events(engine, instance_id)[0]
    assert event.data["from"]["agency"] == "UBND-XA" and event.data["to"]["agency"] == "UBND-PHUONG"


def test_move_forward_with_a_preview_then_back(engine):
    instance_id = start(engine)
    preview = admin.preview_move(engine, instance_id=instance_id, cancel_activities=["a"], start_before="b")
    assert preview.resulting_activities == ["b"] and preview.warnings == []
    assert activities(engine, instance_id) == ["a"]  # the preview changed nothing
    admin.move_token(
        engine, instance_id=instance_id, cancel_activities=["a"], start_before="b", actor=ADMIN, reason=REASON
    )
    assert activities(engine, instance_id) == ["b"]
    with engine.db.read() as session:
        rows = session.scalars(
            select(ExternalTaskRow).where(ExternalTaskRow.instance_id == instance_id)
        ).all()
    assert [row.activity_id for row in rows] == ["b"]
    instances.complete_task(engine, instance_id, open_task(engine, instance_id, "b"))
    assert activities(engine, instance_id) == ["c"]
    admin.move_token(
        engine, instance_id=instance_id, cancel_activities=["c"], start_before="a", actor=ADMIN, reason=REASON
    )
    assert activities(engine, instance_id) == ["a"]
    instances.complete_task(engine, instance_id, open_task(engine, instance_id, "a"))
    assert activities(engine, instance_id) == ["wait"]
    moves = admin_events(engine, instance_id)
    assert [(e.type, e.data["start_before"], e.actor) for e in moves] == [
        ("admin.move_token", "b", ADMIN),
        ("admin.move_token", "a", ADMIN),
    ]


def test_moves_that_cannot_be_done_are_refused(engine):
    instance_id = start(engine)
    with pytest.raises(InvalidInput, match="not active"):
        admin.preview_move(engine, instance_id=instance_id, cancel_activities=["b"], start_before="c")
    with pytest.raises(InvalidInput, match="not an activity"):
        admin.preview_move(engine, instance_id=instance_id, cancel_activities=["a"], start_before="nowhere")
    with pytest.raises(InvalidInput, match="start or boundary"):
        admin.preview_move(engine, instance_id=instance_id, cancel_activities=["a"], start_before="s")
    assert activities(engine, instance_id) == ["a"]


def test_bulk_retry_counts_first(engine):
    from orchestrator.services import task_failures

    from .test_admin_stuck import agency_principal

    add_agency(engine.db, "UBND-XA", "UBND xã")
    ids = [start(engine, business_key=f"HS-{n}") for n in range(3)]
    for task in fetch(engine, "UBND-XA", "ho-tich"):
        report = task_failures.FailureReport(worker_id="worker-UBND-XA", retries=0)
        task_failures.report_failure(engine, agency_principal(engine, "UBND-XA"), task.id, report)
    incidents = admin.StuckFilter(kinds=("incident",))
    assert admin.bulk_retry(engine, filter=incidents, actor=ADMIN, reason=REASON, dry_run=True) == 3
    assert len(kinds_of(engine, vn("2030-01-01T00:00"), kinds=("incident",))["incident"]) == 3
    assert admin.bulk_retry(engine, filter=incidents, actor=ADMIN, reason=REASON, dry_run=False) == 3
    assert kinds_of(engine, vn("2030-01-01T00:00"), kinds=("incident",)) == {}
    assert all(admin_events(engine, instance_id)[0].type == "admin.retry_incident" for instance_id in ids)
    with pytest.raises(InvalidInput):
        admin.bulk_retry(
            engine, filter=admin.StuckFilter(kinds=("not_fetched",)), actor=ADMIN, reason=REASON, dry_run=True
        )


def test_move_back_to_a_step_that_already_ran_rewinds_it(engine):
    instance_id = start(engine)
    instances.complete_task(engine, instance_id, open_task(engine, instance_id, "a"))
    assert activities(engine, instance_id) == ["wait"]
    admin.move_token(
        engine,
        instance_id=instance_id,
        cancel_activities=["wait"],
        start_before="a",
        actor=ADMIN,
        reason=REASON,
    )
    assert activities(engine, instance_id) == ["a"]
    assert "message_waiting" not in kinds_of(engine, vn("2030-01-01T00:00"))
    instances.complete_task(engine, instance_id, open_task(engine, instance_id, "a"))
    assert activities(engine, instance_id) == ["wait"]
