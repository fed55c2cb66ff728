"""The stuck list: each kind created for real (time moved, locks expired, retries exhausted, dead jobs)."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from sqlalchemy import and_, create_engine, select, text

from orchestrator.access import Principal, add_agency
from orchestrator.admin import StuckFilter, find_stuck, retry_incident
from orchestrator.bpmn.compiler import Resource
from orchestrator.calendar import VN_TZ
from orchestrator.services import definitions, instances, task_failures, task_locks
from orchestrator.services.lock_expiry import repeated_expiries
from orchestrator.services.task_filters import TopicRequest, topic_condition
from orchestrator.services.task_locks import claimable
from orchestrator.services.task_views import visible_to
from orchestrator.store.models import Event, ExternalTaskRow

from .bpmn_builder import HEADER, chain

PROCEDURE = "thu-tuc-admin"
ADMIN = "client:admin-test"


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


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


def procedure() -> Resource:
    """a (UBND-XA, 1wd) -> wait for the applicant's supplement (a message) -> b (CA-XA) -> c -> end."""
    body = "\n".join([
        _props(budget="3wd", coQuanChuTri="UBND-XA"),
        '<bpmn:startEvent id="s" />',
        _step("a", "ho-tich", agency="UBND-XA", budget="1wd"),
        '<bpmn:intermediateCatchEvent id="wait" name="Chờ bổ sung">' + _props(pauseClock="supplement")
        + '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>',
        _step("b", "cong-an", agency="CA-XA", budget="1wd"),
        _step("c", "mot-cua", agency="MOT-CUA"),
        '<bpmn:endEvent id="e" />',
        chain("s", "a", "wait", "b", "c", "e"),
    ])  # fmt: skip
    xml = (
        f'{HEADER}<bpmn:message id="m" name="bo-sung" />'
        f'<bpmn:process id="{PROCEDURE}" name="Thủ tục thử" isExecutable="true">{body}</bpmn:process>'
        "</bpmn:definitions>"
    )
    return Resource(f"{PROCEDURE}.bpmn", xml.encode())


def start(engine, business_key: str = "HS-1") -> str:
    definitions.deploy(engine, [procedure()])
    return instances.start_instance(engine, PROCEDURE, business_key=business_key).id


def open_task(engine, instance_id: str, activity: str) -> str:
    view = instances.get_instance(engine, instance_id)
    return next(a["task_id"] for a in view.current_activities if a["id"] == activity)


def agency_principal(engine, code: str) -> Principal:
    return Principal(client_id=f"c-{code}", name=code, agency=code, scopes=frozenset({"worker"}))


def fetch(engine, code: str, topic: str, lock_ms: int = 60_000) -> list:
    return task_locks.fetch_and_lock(
        engine, agency_principal(engine, code), f"worker-{code}", 10, [TopicRequest(topic, lock_ms)]
    )


def kinds_of(engine, now: datetime, **filters) -> dict[str, list]:
    found: dict[str, list] = {}
    for item in find_stuck(engine, now=now, filter=StuckFilter(**filters)):
        found.setdefault(item.kind, []).append(item)
    return found


def test_not_fetched_and_overdue_step_and_dossier(engine):
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):  # Monday
        instance_id = start(engine)
    assert kinds_of(engine, vn("2026-11-23T09:30")) == {}
    stuck = kinds_of(engine, vn("2026-11-23T10:30"))
    assert list(stuck) == ["not_fetched"]
    item = stuck["not_fetched"][0]
    assert (item.instance_id, item.agency, item.activity_id, item.business_key) == (
        instance_id,
        "UBND-XA",
        "a",
        "HS-1",
    )
    assert item.age_seconds == 5400 and "cơ quan" in item.reason
    later = kinds_of(engine, vn("2026-11-24T10:00"))
    assert later["step_overdue"][0].activity_id == "a" and later["step_overdue"][0].deadline_id
    assert "dossier_overdue" not in later
    assert "dossier_overdue" in kinds_of(engine, vn("2026-11-27T10:00"))
    assert kinds_of(engine, vn("2026-11-24T10:00"), agency="CA-XA") == {}
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        other = instances.start_instance(engine, PROCEDURE, business_key="HS-2").id
    mine = kinds_of(engine, vn("2026-11-24T10:00"), instance_id=instance_id)
    assert {item.instance_id for items in mine.values() for item in items} == {instance_id}
    assert kinds_of(engine, vn("2026-11-24T10:00"), instance_id=other).keys() == later.keys()
    assert kinds_of(engine, vn("2026-11-24T10:00"), kinds=("step_overdue",)).keys() == {"step_overdue"}


def test_waiting_for_the_applicant_and_a_message(engine):
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        instance_id = start(engine)
        instances.complete_task(engine, instance_id, open_task(engine, instance_id, "a"))
    assert "paused_too_long" not in kinds_of(engine, vn("2026-11-30T09:00"))  # 5 working days
    stuck = kinds_of(engine, vn("2026-12-03T09:00"))  # 8 working days
    assert stuck["paused_too_long"][0].instance_id == instance_id
    assert "bổ sung" in stuck["paused_too_long"][0].reason
    assert stuck["message_waiting"][0].activity_id == "wait"
    assert "step_overdue" not in stuck and "dossier_overdue" not in stuck  # the clock is paused


def test_a_lock_expiring_again_and_again_becomes_an_incident(engine):
    add_agency(engine.db, "UBND-XA", "UBND xã")
    base = vn("2026-11-23T09:00")
    with time_machine.travel(base, tick=False):
        instance_id = start(engine)
        assert len(fetch(engine, "UBND-XA", "ho-tich", lock_ms=1000)) == 1
    for attempt in (1, 2):
        with time_machine.travel(base + timedelta(minutes=attempt), tick=False):
            assert len(fetch(engine, "UBND-XA", "ho-tich", lock_ms=1000)) == 1
        item = kinds_of(engine, base + timedelta(minutes=attempt, seconds=30))["lock_expired"][0]
        assert item.activity_id == "a"
    with time_machine.travel(base + timedelta(minutes=3), tick=False):
        assert fetch(engine, "UBND-XA", "ho-tich", lock_ms=1000) == []  # the 3rd expiry: parked
    stuck = kinds_of(engine, base + timedelta(minutes=4))
    assert "lock_expired" not in stuck
    assert "hết hạn quá nhiều lần" in stuck["incident"][0].reason
    with engine.db.read() as session:
        event = session.scalars(
            select(Event).where(Event.instance_id == instance_id, Event.type == "incident")
        ).one()
    assert event.data == {"reason": "lock_expired", "expiries": 3}
    task_id = open_task(engine, instance_id, "a")
    retry_incident(engine, task_id=task_id, actor=ADMIN, reason="Cơ quan đã sửa kết nối")
    assert kinds_of(engine, base + timedelta(minutes=5)).keys() <= {"not_fetched"}
    with time_machine.travel(base + timedelta(minutes=6), tick=False):
        assert len(fetch(engine, "UBND-XA", "ho-tich")) == 1


def test_retries_exhausted_is_an_incident_until_retried(engine):
    add_agency(engine.db, "UBND-XA", "UBND xã")
    instance_id = start(engine)
    task = fetch(engine, "UBND-XA", "ho-tich")[0]
    report = task_failures.FailureReport(worker_id="worker-UBND-XA", error_message="boom", retries=0)
    task_failures.report_failure(engine, agency_principal(engine, "UBND-XA"), task.id, report)
    now = datetime.now(VN_TZ)
    incident = kinds_of(engine, now)["incident"][0]
    assert incident.task_id == task.id and "hết số lần thử lại" in incident.reason
    retry_incident(
        engine, task_id=task.id, actor=ADMIN, reason="Thử lại sau khi cơ quan khắc phục", retries=2
    )
    assert "incident" not in kinds_of(engine, now)
    with engine.db.read() as session:
        event = session.scalars(
            select(Event).where(Event.instance_id == instance_id, Event.type == "admin.retry_incident")
        ).one()
    assert event.actor == ADMIN and event.data == {
        "reason": "Thử lại sau khi cơ quan khắc phục",
        "retries": 2,
    }


def test_a_dead_lettered_handler_job(runtime, handlers):
    engine = runtime.engine
    calls = []
    service = {"up": False}

    @handlers.register("ho-tich")
    def fails_while_down(call):
        calls.append(call.attempt)
        if not service["up"]:
            raise RuntimeError("service down")
        return {"ok": True}

    base = datetime.now(VN_TZ)
    with time_machine.travel(base, tick=False):
        instance_id = start(engine)
    worker = runtime.new_worker()
    for attempt in range(engine.settings.handler_max_attempts):
        with time_machine.travel(base + timedelta(minutes=10 * attempt), tick=False):
            worker.run_once()
    assert len(calls) == engine.settings.handler_max_attempts
    stuck = kinds_of(engine, base + timedelta(hours=1))
    dead = stuck["job_dead_lettered"][0]
    assert (dead.instance_id, dead.activity_id) == (instance_id, "a") and dead.job_id
    assert "lỗi sau mọi lần thử" in stuck["incident"][0].reason

    service["up"] = True
    retry_incident(engine, task_id=dead.task_id, actor=ADMIN, reason="Dịch vụ đã chạy lại")
    assert kinds_of(engine, base + timedelta(hours=1), kinds=("job_dead_lettered", "incident")) == {}
    with time_machine.travel(base + timedelta(hours=2), tick=False):
        worker.run_once()
    assert instances.get_instance(engine, instance_id).current_activities[0]["id"] == "wait"


def test_the_expiry_check_of_every_fetch_reads_only_expired_locks(sqlite_template):
    """The check runs on every fetchAndLock: an index range over ran-out locks, not every waiting task."""
    now = vn("2026-11-23T09:00")
    worker = Principal("w", "worker", "UBND-XA", frozenset({"worker"}))
    wanted = and_(
        visible_to(worker), topic_condition(TopicRequest(topic_name="ho-tich", lock_duration_ms=1), "sqlite")
    )
    statement = select(ExternalTaskRow.id).where(
        repeated_expiries(and_(wanted, claimable(now)), now=now, limit=3)
    )
    database = create_engine(f"sqlite:///{sqlite_template}")
    sql = str(statement.compile(database, compile_kwargs={"literal_binds": True}))
    with database.connect() as connection:
        plan = " ".join(row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    database.dispose()
    assert "ix_external_task_fetch (topic=? AND lock_expires_at>? AND lock_expires_at<?)" in plan, plan
