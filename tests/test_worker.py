"""Worker and ticker: claims are exclusive, handlers run once per task, late timers fire at start."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from orchestrator.config import Settings
from orchestrator.runtime import Runtime
from orchestrator.services import definitions, instances
from orchestrator.store.models import Event, Job, ProcessInstance
from orchestrator.ticker import start_ticker, tick

from .bpmn_builder import chain, external, resource

HANDLED = "tinh-phi"


def _handler_process():
    body = "\n".join(
        [
            '<bpmn:startEvent id="s" />',
            external("fee", HANDLED),
            external("agency", "so-tu-phap"),
            '<bpmn:endEvent id="e" />',
            chain("s", "fee", "agency", "e"),
        ]
    )
    return resource(body, process_id="le-phi")


def test_two_workers_run_each_handler_once(runtime, handlers):
    """Many jobs, two workers claiming concurrently: every task handled exactly once."""
    calls: list[str] = []
    lock = threading.Lock()

    @handlers.register(HANDLED)
    def fee(call):
        with lock:
            calls.append(call.idempotency_key)
        return {"phi": 50000}

    definitions.deploy(runtime.engine, [_handler_process()])
    started = [instances.start_instance(runtime.engine, "le-phi", business_key=f"F{n}") for n in range(12)]
    workers = [runtime.new_worker() for _ in range(2)]

    def drain(worker):
        while worker.run_once(limit=3):
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(calls) == sorted(set(calls)) and len(calls) == 12
    for view in started:
        current = instances.get_instance(runtime.engine, view.id)
        assert [a["id"] for a in current.current_activities] == ["agency"]
        assert current.variables["phi"] == 50000
    with runtime.db.read() as session:
        statuses = session.scalars(select(Job.status)).all()
    assert statuses == ["done"] * 12


def test_timer_due_while_down_fires_when_the_ticker_starts(database_url, handlers, tmp_path):
    """Everything was stopped past a timer's due time: the first sweep at start fires it, marked late."""
    body = "\n".join(
        [
            '<bpmn:startEvent id="s" />',
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
            "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
            external("after", "so-tu-phap"),
            '<bpmn:endEvent id="e" />',
            chain("s", "wait", "after", "e"),
        ]
    )
    settings = Settings(database_url=database_url, handler_modules=(), ticker_interval_seconds=3600)
    first = Runtime.create(settings, handlers=handlers)
    definitions.deploy(first.engine, [resource(body, process_id="cho")])
    started = instances.start_instance(first.engine, "cho")
    first.close()  # "everything is down"

    later = datetime.now(UTC) + timedelta(hours=5)
    with time_machine.travel(later, tick=True):
        second = Runtime.create(settings, handlers=handlers)
        scheduler = start_ticker(second.engine)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if instances.get_instance(second.engine, started.id).current_activities[0]["id"] == "after":
                    break
                time.sleep(0.05)
        finally:
            scheduler.shutdown(wait=True)
        view = instances.get_instance(second.engine, started.id)
        with second.db.read() as session:
            fired = session.scalars(select(Event).where(Event.type == "timer_fired")).one()
            pending = session.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.next_timer_at.is_not(None))
            )
        second.close()
    assert [a["id"] for a in view.current_activities] == ["after"]
    assert fired.data["late"] is True and fired.data["late_seconds"] > 3 * 3600
    assert pending == 0


def test_a_timer_whose_path_cannot_run_becomes_an_incident_not_a_loop(engine):
    """The step after a timer fails (a condition on a missing variable): the instance is parked
    with the reason, recorded once, and later ticks do not retry it forever."""
    from .bpmn_builder import flow

    body = "\n".join([
        '<bpmn:startEvent id="s" />',
        '<bpmn:intermediateCatchEvent id="cho"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        '<bpmn:exclusiveGateway id="g" />',
        '<bpmn:endEvent id="e" />',
        chain("s", "cho", "g"),
        flow("f_g_e", "g", "e", "${chuaCo > 1}"),
    ])  # fmt: skip
    definitions.deploy(engine, [resource(body, process_id="hong")])
    started = instances.start_instance(engine, "hong")
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2), tick=False):
        assert tick(engine) == 1
        assert tick(engine) == 0  # parked: not fired again
    with engine.db.read() as session:
        row = session.get(ProcessInstance, started.id)
        incidents = session.scalars(select(Event).where(Event.type == "incident")).all()
    assert row.next_timer_at is None and "chuaCo" in row.error_message
    assert [e.data["reason"] for e in incidents] == ["timer_step_failed"]
