"""Each supported BPMN construct, end to end through the service layer on a real database.

One test (or one parametrized group) per construct: deploy a tiny Camunda Modeler diagram,
start it, act as an agency / handler / user / clock would, and assert what an outsider sees:
which activities are open, which path was taken, the status and the variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import time_machine
from sqlalchemy import select

from orchestrator.config import Settings
from orchestrator.engine import Engine
from orchestrator.errors import Conflict, DeploymentRefused, NotFound
from orchestrator.handler_sdk import HandlerCall, HandlerRegistry
from orchestrator.runtime import Runtime
from orchestrator.services import definitions, external_tasks, instances
from orchestrator.store.models import Event, ExternalTaskRow, Job, ProcessInstance, UserTaskRow
from orchestrator.ticker import tick

from .bpmn_builder import chain, external, flow, resource

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday morning, far from any real clock

# Root-level declarations the diagrams below refer to (as the Modeler writes them).
DECLARATIONS = (
    '<bpmn:message id="Msg" name="docsArrived" />\n'
    '<bpmn:message id="Msg2" name="withdrawn" />\n'
    '<bpmn:error id="Err" name="Rejected" errorCode="REJECTED" />\n'
    '<bpmn:escalation id="Esc" name="Late" escalationCode="LATE" />\n'
)


# ----------------------------------------------------------------------------- diagram bits


def timer(duration: str) -> str:
    return (
        '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
        f"{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"
    )


def message(ref: str = "Msg") -> str:
    return f'<bpmn:messageEventDefinition messageRef="{ref}" />'


def error(ref: str = "Err") -> str:
    return f'<bpmn:errorEventDefinition errorRef="{ref}" />'


def escalation(ref: str = "Esc") -> str:
    return f'<bpmn:escalationEventDefinition escalationRef="{ref}" />'


def boundary(event_id: str, attached_to: str, definition: str, *, interrupting: bool = True) -> str:
    cancel = "" if interrupting else ' cancelActivity="false"'
    return (
        f'<bpmn:boundaryEvent id="{event_id}" attachedToRef="{attached_to}"{cancel}>'
        f"{definition}</bpmn:boundaryEvent>"
    )


def catch(event_id: str, definition: str) -> str:
    return f'<bpmn:intermediateCatchEvent id="{event_id}">{definition}</bpmn:intermediateCatchEvent>'


def end(event_id: str = "end", definition: str = "") -> str:
    return f'<bpmn:endEvent id="{event_id}">{definition}</bpmn:endEvent>'


def start(event_id: str = "start") -> str:
    return f'<bpmn:startEvent id="{event_id}" />'


def gateway(kind: str, gateway_id: str, *, default: str | None = None) -> str:
    default_attr = f' default="{default}"' if default else ""
    return f'<bpmn:{kind} id="{gateway_id}"{default_attr} />'


def sub_process(sub_id: str, *elements: str) -> str:
    return f'<bpmn:subProcess id="{sub_id}">' + "\n".join(elements) + "</bpmn:subProcess>"


def deploy(engine: Engine, *elements: str, process_id: str = "p") -> None:
    definitions.deploy(engine, [resource("\n".join(elements), process_id=process_id, extra=DECLARATIONS)])


# ----------------------------------------------------------------------------- reading back


def rows(engine: Engine, instance_id: str) -> list[ExternalTaskRow]:
    """The instance's open external tasks, as agencies see them."""
    with engine.db.read() as session:
        return list(
            session.scalars(
                select(ExternalTaskRow)
                .where(ExternalTaskRow.instance_id == instance_id)
                .order_by(ExternalTaskRow.activity_id, ExternalTaskRow.created_at)
            )
        )


def open_tasks(engine: Engine, instance_id: str) -> dict[str, ExternalTaskRow]:
    """Open external tasks by activity id (each activity open at most once)."""
    found = rows(engine, instance_id)
    by_activity = {row.activity_id: row for row in found}
    assert len(by_activity) == len(found), f"an activity is open twice: {[r.activity_id for r in found]}"
    return by_activity


def row(engine: Engine, instance_id: str, activity_id: str) -> ExternalTaskRow:
    return open_tasks(engine, instance_id)[activity_id]


def complete(engine: Engine, instance_id: str, activity_id: str, **variables: Any) -> None:
    task = row(engine, instance_id, activity_id)
    external_tasks.complete_external_task(engine, task.id, variables=variables)


def activities(view: instances.InstanceView) -> set[str]:
    return {activity["id"] for activity in view.current_activities}


def events(engine: Engine, instance_id: str, type_: str) -> list[Event]:
    with engine.db.read() as session:
        return list(
            session.scalars(
                select(Event).where(Event.instance_id == instance_id, Event.type == type_).order_by(Event.id)
            )
        )


def jobs(engine: Engine) -> list[Job]:
    with engine.db.read() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def task_data(engine: Engine, instance_id: str, task_id: str) -> dict[str, Any]:
    """The data a live task carries, read from the persisted workflow."""
    with engine.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
    return dict(engine.load(instance).get_task_from_id(UUID(task_id)).data)


@contextmanager
def clock(at: datetime = T0) -> Iterator[Any]:
    """Freeze the wall clock at ``at``; ``.move_to(...)`` moves it."""
    with time_machine.travel(at, tick=False) as traveller:
        yield traveller


@contextmanager
def own_runtime(
    database_url: str, handlers: HandlerRegistry, tmp_path: Path, **settings: Any
) -> Iterator[Runtime]:
    """A Runtime built the way conftest builds one, with settings of our own."""
    rt = Runtime.create(
        Settings(
            database_url=database_url, handler_modules=(), processes_dir=tmp_path / "processes", **settings
        ),
        handlers=handlers,
    )
    try:
        yield rt
    finally:
        rt.close()


# ============================================================================ 1. basics


def test_none_start_external_task_none_end(engine):
    """None start -> external task -> none end: start variables are visible on the open task,
    completion variables are merged in, and the instance completes."""
    deploy(
        engine,
        start(),
        external("check", "police", name="Check record"),
        end(),
        chain("start", "check", "end"),
    )

    view = instances.start_instance(
        engine, "p", business_key="HS-1", variables={"applicant": "Lan", "age": 30}
    )

    assert view.status == "running"
    assert activities(view) == {"check"}
    assert view.variables == {"applicant": "Lan", "age": 30}
    task = row(engine, view.id, "check")
    assert (task.topic, task.activity_name, task.business_key) == ("police", "Check record", "HS-1")

    external_tasks.complete_external_task(engine, task.id, variables={"clean": True, "age": 31})

    done = instances.get_instance(engine, view.id)
    assert done.status == "completed"
    assert done.ended_at is not None
    assert done.variables == {"applicant": "Lan", "age": 31, "clean": True}
    assert done.current_activities == []
    assert rows(engine, view.id) == []


# ============================================================================ 2. end events


def test_message_end_event_completes_the_instance(engine):
    """A message end event ends its path like a none end event (the message leaves the instance)."""
    deploy(
        engine,
        start(),
        external("a", "prepare"),
        end("notify_end", message()),
        chain("start", "a", "notify_end"),
    )
    view = instances.start_instance(engine, "p")

    complete(engine, view.id, "a", prepared=True)

    done = instances.get_instance(engine, view.id)
    assert done.status == "completed"
    assert done.variables["prepared"] is True


def test_error_end_event_in_sub_process_is_caught_by_boundary_on_sub_process(engine):
    """An error end event inside an embedded sub-process leaves the sub-process through the error
    boundary attached to it; the normal outgoing flow of the sub-process is not taken."""
    deploy(
        engine,
        start(),
        sub_process(
            "sub",
            start("s_start"),
            external("inner", "review"),
            end("s_error", error()),
            chain("s_start", "inner", "s_error"),
        ),
        boundary("on_error", "sub", error()),
        external("after", "normal"),
        external("handle", "rejected"),
        end(),
        end("end_rejected"),
        chain("start", "sub", "after", "end"),
        chain("on_error", "handle", "end_rejected"),
    )
    view = instances.start_instance(engine, "p")
    assert set(open_tasks(engine, view.id)) == {"inner"}

    complete(engine, view.id, "inner")

    assert set(open_tasks(engine, view.id)) == {"handle"}
    view = instances.get_instance(engine, view.id)
    assert "sub" not in activities(view) and "after" not in activities(view)
    complete(engine, view.id, "handle")
    assert instances.get_instance(engine, view.id).status == "completed"


def test_terminate_end_event_ends_every_branch(engine):
    """A terminate end event reached in one parallel branch ends the whole instance: the other
    branch's open external task is withdrawn from the agencies."""
    deploy(
        engine,
        start(),
        gateway("parallelGateway", "fork"),
        external("slow", "archive"),
        external("fast", "decide"),
        end("end_slow"),
        end("terminate", "<bpmn:terminateEventDefinition />"),
        chain("start", "fork"),
        chain("fork", "slow", "end_slow"),
        chain("fork", "fast", "terminate"),
    )
    view = instances.start_instance(engine, "p")
    slow = row(engine, view.id, "slow")
    assert set(open_tasks(engine, view.id)) == {"slow", "fast"}

    complete(engine, view.id, "fast")

    done = instances.get_instance(engine, view.id)
    assert done.status == "completed"
    assert rows(engine, view.id) == []
    with pytest.raises((Conflict, NotFound)):
        external_tasks.complete_external_task(engine, slow.id)


# ============================================================================ 3. user task


def test_user_task_is_completed_through_complete_task(engine):
    """A user task waits (READY, listed with its assignee) until complete_task; its variables are kept."""
    deploy(
        engine,
        start(),
        '<bpmn:userTask id="review" name="Review file" camunda:assignee="officer1" />',
        end(),
        chain("start", "review", "end"),
    )
    view = instances.start_instance(engine, "p")

    [activity] = view.current_activities
    assert (activity["id"], activity["type"], activity["state"]) == ("review", "UserTask", "READY")
    with engine.db.read() as session:
        [user_row] = session.scalars(select(UserTaskRow).where(UserTaskRow.instance_id == view.id)).all()
    assert (user_row.id, user_row.assignee, user_row.name) == (activity["task_id"], "officer1", "Review file")
    assert rows(engine, view.id) == []  # not an external task

    done = instances.complete_task(engine, view.id, activity["task_id"], variables={"approved": True})

    assert done.status == "completed"
    assert done.variables["approved"] is True
    with pytest.raises((Conflict, NotFound)):
        instances.complete_task(engine, view.id, activity["task_id"])


# ============================================================================ 4. service tasks


def test_external_service_task_priority_expression(engine):
    """camunda:taskPriority="${prio}" is evaluated against the variables into the row's priority."""
    deploy(
        engine,
        start(),
        external("a", "police", extra_attrs='camunda:taskPriority="${prio}"'),
        end(),
        chain("start", "a", "end"),
    )
    view = instances.start_instance(engine, "p", variables={"prio": 7})

    task = row(engine, view.id, "a")
    assert (task.topic, task.priority, task.handled_in_process, task.incident) == ("police", 7, False, False)


def test_handler_topic_is_run_by_the_worker_once(runtime, engine, handlers):
    """A topic with an in-process handler: the worker runs it, its result completes the task,
    and running the worker again does nothing (the job is done)."""
    calls: list[HandlerCall] = []

    @handlers.register("compute_fee")
    def compute_fee(call: HandlerCall) -> dict[str, Any]:
        calls.append(call)
        return {"fee": call.variables["pages"] * 2}

    deploy(engine, start(), external("fee", "compute_fee"), end(), chain("start", "fee", "end"))
    view = instances.start_instance(engine, "p", business_key="HS-9", variables={"pages": 21})
    task = row(engine, view.id, "fee")
    assert task.handled_in_process is True

    worker = runtime.new_worker()
    assert worker.run_once() == 1

    done = instances.get_instance(engine, view.id)
    assert done.status == "completed"
    assert done.variables == {"pages": 21, "fee": 42}
    assert [(c.task_id, c.topic, c.business_key) for c in calls] == [(task.id, "compute_fee", "HS-9")]

    assert worker.run_once() == 0
    assert runtime.new_worker().run_once() == 0
    assert len(calls) == 1
    [job] = jobs(engine)
    assert (job.status, job.attempts) == ("done", 1)


def test_failing_handler_is_retried_then_dead_lettered_with_an_incident(database_url, handlers, tmp_path):
    """A handler that raises: the job is requeued with a back-off, and after
    handler_max_attempts it is dead and the external task shows an incident."""
    attempts: list[int] = []

    @handlers.register("flaky")
    def flaky(call: HandlerCall) -> None:
        attempts.append(call.attempt)
        raise RuntimeError("registry unreachable")

    with own_runtime(database_url, handlers, tmp_path, handler_max_attempts=2) as rt, clock() as traveller:
        engine = rt.engine
        deploy(engine, start(), external("a", "flaky"), end(), chain("start", "a", "end"))
        view = instances.start_instance(engine, "p")

        assert rt.new_worker().run_once() == 1
        [job] = jobs(engine)
        assert (job.status, job.attempts) == ("queued", 1)
        assert job.run_at > T0
        assert "registry unreachable" in job.last_error
        assert row(engine, view.id, "a").incident is False
        assert rt.new_worker().run_once() == 0  # not before its back-off

        traveller.move_to(job.run_at + timedelta(seconds=1))
        assert rt.new_worker().run_once() == 1

        [job] = jobs(engine)
        assert (job.status, job.attempts) == ("dead", 2)
        task = row(engine, view.id, "a")
        assert task.incident is True
        assert attempts == [1, 2]
        assert instances.get_instance(engine, view.id).status == "running"
        assert [e.data["reason"] for e in events(engine, view.id, "incident")] == ["handler_dead_lettered"]

        traveller.move_to(T0 + timedelta(days=1))
        assert rt.new_worker().run_once() == 0


# ============================================================================ 5. send and receive


def test_external_send_task_parks_like_a_service_task(engine):
    """A send task with camunda:type=external waits for its topic's worker like a service task."""
    deploy(
        engine,
        start(),
        '<bpmn:sendTask id="send" camunda:type="external" camunda:topic="notify" />',
        end(),
        chain("start", "send", "end"),
    )
    view = instances.start_instance(engine, "p")

    task = row(engine, view.id, "send")
    assert task.topic == "notify"
    external_tasks.complete_external_task(engine, task.id, variables={"sent": True})
    assert instances.get_instance(engine, view.id).status == "completed"


def test_receive_task_waits_for_a_message_by_business_key(engine):
    """A receive task waits for its message, correlated by business key; the message's variables
    become instance variables."""
    deploy(
        engine,
        start(),
        '<bpmn:receiveTask id="wait" messageRef="Msg" />',
        external("next", "process"),
        end(),
        chain("start", "wait", "next", "end"),
    )
    other = instances.start_instance(engine, "p", business_key="HS-OTHER")
    view = instances.start_instance(engine, "p", business_key="HS-2", variables={"applicant": "Lan"})
    assert activities(view) == {"wait"}
    assert rows(engine, view.id) == []

    assert (
        instances.correlate_message(engine, "docsArrived", business_key="HS-2", variables={"pages": 12})
        == view.id
    )

    view = instances.get_instance(engine, view.id)
    assert set(open_tasks(engine, view.id)) == {"next"}
    assert view.variables == {"applicant": "Lan", "pages": 12}
    assert activities(instances.get_instance(engine, other.id)) == {"wait"}  # untouched
    with pytest.raises(Conflict):  # no longer waiting
        instances.correlate_message(engine, "docsArrived", business_key="HS-2")
    with pytest.raises(NotFound):
        instances.correlate_message(engine, "docsArrived", business_key="HS-NONE")


# ============================================================================ 6. gateways


@pytest.mark.parametrize(("amount", "path"), [(5000, "director"), (1000, "clerk"), (20, "clerk")])
def test_exclusive_gateway_condition_and_default_flow(engine, amount, path):
    """Exclusive gateway: the conditional flow when ${amount > 1000} holds, the default flow otherwise."""
    deploy(
        engine,
        start(),
        gateway("exclusiveGateway", "big", default="f_small"),
        external("director", "approve_big"),
        external("clerk", "approve_small"),
        end("e1"),
        end("e2"),
        chain("start", "big"),
        flow("f_big", "big", "director", "${amount > 1000}"),
        flow("f_small", "big", "clerk"),
        chain("director", "e1"),
        chain("clerk", "e2"),
    )
    view = instances.start_instance(engine, "p", variables={"amount": amount})

    assert set(open_tasks(engine, view.id)) == {path}
    assert activities(view) == {path}


def test_parallel_gateway_fork_and_join(engine):
    """Parallel fork opens both branches at once; the join waits until both are done."""
    deploy(
        engine,
        start(),
        gateway("parallelGateway", "fork"),
        gateway("parallelGateway", "join"),
        external("police", "police"),
        external("tax", "tax"),
        external("issue", "issue"),
        end(),
        chain("start", "fork"),
        chain("fork", "police", "join"),
        chain("fork", "tax", "join"),
        chain("join", "issue", "end"),
    )
    view = instances.start_instance(engine, "p")
    assert set(open_tasks(engine, view.id)) == {"police", "tax"}

    complete(engine, view.id, "tax", taxPaid=True)
    assert set(open_tasks(engine, view.id)) == {"police"}

    complete(engine, view.id, "police", clean=True)
    assert set(open_tasks(engine, view.id)) == {"issue"}
    assert instances.get_instance(engine, view.id).variables == {"taxPaid": True, "clean": True}

    complete(engine, view.id, "issue")
    assert instances.get_instance(engine, view.id).status == "completed"


def test_inclusive_gateway_opens_exactly_the_true_branches(engine):
    """Inclusive gateway: with two of three conditions true exactly those two branches open,
    and the inclusive join waits for just those two."""
    deploy(
        engine,
        start(),
        gateway("inclusiveGateway", "split"),
        gateway("inclusiveGateway", "merge"),
        external("land", "land"),
        external("house", "house"),
        external("car", "car"),
        external("issue", "issue"),
        end(),
        chain("start", "split"),
        flow("f_land", "split", "land", "${hasLand}"),
        flow("f_house", "split", "house", "${hasHouse}"),
        flow("f_car", "split", "car", "${hasCar}"),
        chain("land", "merge"),
        chain("house", "merge"),
        chain("car", "merge"),
        chain("merge", "issue", "end"),
    )
    view = instances.start_instance(
        engine, "p", variables={"hasLand": True, "hasHouse": False, "hasCar": True}
    )
    assert set(open_tasks(engine, view.id)) == {"land", "car"}

    complete(engine, view.id, "land")
    assert set(open_tasks(engine, view.id)) == {"car"}
    complete(engine, view.id, "car")
    assert set(open_tasks(engine, view.id)) == {"issue"}


def _event_gateway_diagram(engine: Engine) -> None:
    deploy(
        engine,
        start(),
        '<bpmn:eventBasedGateway id="race" />',
        catch("got_docs", message()),
        catch("deadline", timer("P3D")),
        external("by_message", "process_docs"),
        external("by_timer", "close_file"),
        end("e1"),
        end("e2"),
        chain("start", "race"),
        chain("race", "got_docs", "by_message", "e1"),
        chain("race", "deadline", "by_timer", "e2"),
    )


def test_event_based_gateway_message_wins(engine):
    """Event-based gateway: the message arrives before the timer, so the message path is taken
    and the timer is withdrawn (it never fires later)."""
    with clock() as traveller:
        _event_gateway_diagram(engine)
        view = instances.start_instance(engine, "p", business_key="HS-3")
        assert "race" in activities(view)  # waiting at the gateway for whichever event comes first
        assert rows(engine, view.id) == []

        traveller.move_to(T0 + timedelta(days=1))
        instances.correlate_message(engine, "docsArrived", business_key="HS-3", variables={"pages": 4})

        view = instances.get_instance(engine, view.id)
        assert set(open_tasks(engine, view.id)) == {"by_message"}
        assert view.next_timer_at is None
        assert view.variables["pages"] == 4
        traveller.move_to(T0 + timedelta(days=4))
        assert tick(engine) == 0
        assert set(open_tasks(engine, view.id)) == {"by_message"}


def test_event_based_gateway_timer_wins(engine):
    """Event-based gateway: the timer comes due first, so the timer path is taken and the message
    is no longer awaited."""
    with clock() as traveller:
        _event_gateway_diagram(engine)
        view = instances.start_instance(engine, "p", business_key="HS-4")
        assert view.next_timer_at == (T0 + timedelta(days=3)).isoformat()

        traveller.move_to(T0 + timedelta(days=3, seconds=1))
        assert tick(engine) == 1

        assert set(open_tasks(engine, view.id)) == {"by_timer"}
        assert len(events(engine, view.id, "timer_fired")) == 1
        with pytest.raises(Conflict):
            instances.correlate_message(engine, "docsArrived", business_key="HS-4")


# ============================================================================ 7. boundary events


def test_interrupting_timer_boundary_cancels_the_task(engine):
    """Interrupting boundary timer: when due, the task is withdrawn and the timer path opens; a late
    completion of the old task is refused, never resurrecting it."""
    with clock() as traveller:
        deploy(
            engine,
            start(),
            external("work", "police"),
            boundary("too_late", "work", timer("PT1H")),
            external("escalate", "supervisor"),
            end(),
            end("end_late"),
            chain("start", "work", "end"),
            chain("too_late", "escalate", "end_late"),
        )
        view = instances.start_instance(engine, "p")
        old = row(engine, view.id, "work")
        assert view.next_timer_at == (T0 + timedelta(hours=1)).isoformat()

        traveller.move_to(T0 + timedelta(minutes=59))
        assert tick(engine) == 0
        assert set(open_tasks(engine, view.id)) == {"work"}

        traveller.move_to(T0 + timedelta(hours=1, seconds=1))
        assert tick(engine) == 1

    assert set(open_tasks(engine, view.id)) == {"escalate"}
    with pytest.raises((Conflict, NotFound)):
        external_tasks.complete_external_task(engine, old.id, variables={"clean": True})
    with pytest.raises((Conflict, NotFound)):
        instances.complete_task(engine, view.id, old.id, variables={"clean": True})
    assert set(open_tasks(engine, view.id)) == {"escalate"}
    assert "clean" not in instances.get_instance(engine, view.id).variables


def test_non_interrupting_timer_boundary_keeps_the_task_open(engine):
    """Non-interrupting boundary timer: the task stays open AND the timer's branch opens."""
    with clock() as traveller:
        deploy(
            engine,
            start(),
            external("work", "police"),
            boundary("remind", "work", timer("PT1H"), interrupting=False),
            external("send_reminder", "reminder"),
            end(),
            end("end_reminder"),
            chain("start", "work", "end"),
            chain("remind", "send_reminder", "end_reminder"),
        )
        view = instances.start_instance(engine, "p")
        work = row(engine, view.id, "work")

        traveller.move_to(T0 + timedelta(hours=2))
        assert tick(engine) == 1

    tasks = open_tasks(engine, view.id)
    assert set(tasks) == {"work", "send_reminder"}
    assert tasks["work"].id == work.id  # the same task, not a new one
    complete(engine, view.id, "send_reminder")
    complete(engine, view.id, "work")
    assert instances.get_instance(engine, view.id).status == "completed"


def test_interrupting_message_boundary(engine):
    """Interrupting message boundary: the message withdraws the task and takes the message path."""
    deploy(
        engine,
        start(),
        external("work", "police"),
        boundary("withdrawn", "work", message("Msg2")),
        external("refund", "refund"),
        end(),
        end("end_withdrawn"),
        chain("start", "work", "end"),
        chain("withdrawn", "refund", "end_withdrawn"),
    )
    view = instances.start_instance(engine, "p", business_key="HS-5")
    work = row(engine, view.id, "work")

    instances.correlate_message(engine, "withdrawn", business_key="HS-5", variables={"reason": "moved"})

    assert set(open_tasks(engine, view.id)) == {"refund"}
    assert instances.get_instance(engine, view.id).variables["reason"] == "moved"
    with pytest.raises((Conflict, NotFound)):
        external_tasks.complete_external_task(engine, work.id)


def _error_boundary_diagram(engine: Engine) -> None:
    deploy(
        engine,
        start(),
        external("work", "police"),
        boundary("rejected", "work", error()),
        external("notify", "notify_rejection"),
        end(),
        end("end_rejected"),
        chain("start", "work", "end"),
        chain("rejected", "notify", "end_rejected"),
    )


def test_error_boundary_catches_bpmn_error_with_matching_code(engine):
    """A BPMN error thrown at a task with the boundary's code leaves through that boundary,
    carrying the error's variables."""
    _error_boundary_diagram(engine)
    view = instances.start_instance(engine, "p")
    work = row(engine, view.id, "work")

    assert (
        external_tasks.throw_bpmn_error(
            engine, work.id, "REJECTED", message="record found", variables={"why": "record"}
        )
        is True
    )

    assert set(open_tasks(engine, view.id)) == {"notify"}
    assert instances.get_instance(engine, view.id).variables["why"] == "record"
    [event] = events(engine, view.id, "bpmn_error")
    assert event.data == {"code": "REJECTED", "caught_by": "rejected"}


def test_bpmn_error_without_a_matching_boundary_is_an_incident(engine):
    """A BPMN error no boundary catches (here: a different code) becomes an incident on the task;
    the task stays open and the boundary path is not taken."""
    _error_boundary_diagram(engine)
    view = instances.start_instance(engine, "p")
    work = row(engine, view.id, "work")

    assert external_tasks.throw_bpmn_error(engine, work.id, "NO_SUCH_CODE", message="boom") is False

    task = row(engine, view.id, "work")
    assert set(open_tasks(engine, view.id)) == {"work"}
    assert task.incident is True
    assert "NO_SUCH_CODE" in task.error_message
    assert instances.get_instance(engine, view.id).status == "running"
    [event] = events(engine, view.id, "incident")
    assert event.data["code"] == "NO_SUCH_CODE"


def test_bpmn_error_reaches_only_the_failing_tasks_boundary(engine):
    """SPIFFWORKFLOW.md trap 2: two parallel tasks each with an error boundary for the SAME code.
    An error thrown at A triggers only A's boundary; B stays open and B's error path is not taken."""
    deploy(
        engine,
        start(),
        gateway("parallelGateway", "fork"),
        external("a", "police"),
        external("b", "tax"),
        boundary("a_err", "a", error()),
        boundary("b_err", "b", error()),
        external("a_failed", "a_failed"),
        external("b_failed", "b_failed"),
        end("end_a"),
        end("end_b"),
        end("end_a_failed"),
        end("end_b_failed"),
        chain("start", "fork"),
        chain("fork", "a", "end_a"),
        chain("fork", "b", "end_b"),
        chain("a_err", "a_failed", "end_a_failed"),
        chain("b_err", "b_failed", "end_b_failed"),
    )
    view = instances.start_instance(engine, "p")
    b = row(engine, view.id, "b")

    assert external_tasks.throw_bpmn_error(engine, row(engine, view.id, "a").id, "REJECTED") is True

    tasks = open_tasks(engine, view.id)
    assert set(tasks) == {"a_failed", "b"}
    assert tasks["b"].id == b.id
    assert "b_failed" not in activities(instances.get_instance(engine, view.id))


def test_non_interrupting_escalation_boundary_on_sub_process(engine):
    """An escalation intermediate throw event inside a sub-process is caught by a non-interrupting
    escalation boundary on the sub-process: the escalation path opens and the sub-process goes on."""
    deploy(
        engine,
        start(),
        sub_process(
            "sub",
            start("s_start"),
            external("inner", "review"),
            f'<bpmn:intermediateThrowEvent id="raise">{escalation()}</bpmn:intermediateThrowEvent>',
            external("inner2", "continue"),
            end("s_end"),
            chain("s_start", "inner", "raise", "inner2", "s_end"),
        ),
        boundary("escalated", "sub", escalation(), interrupting=False),
        external("notify", "notify_supervisor"),
        external("after", "after"),
        end(),
        end("end_notified"),
        chain("start", "sub", "after", "end"),
        chain("escalated", "notify", "end_notified"),
    )
    view = instances.start_instance(engine, "p")

    complete(engine, view.id, "inner")

    assert set(open_tasks(engine, view.id)) == {"inner2", "notify"}
    complete(engine, view.id, "notify")
    complete(engine, view.id, "inner2")
    assert set(open_tasks(engine, view.id)) == {"after"}
    complete(engine, view.id, "after")
    assert instances.get_instance(engine, view.id).status == "completed"


# ============================================================================ 8. intermediate events


@pytest.mark.parametrize(
    ("duration", "variables", "due_after"),
    [
        ("PT2H", {}, timedelta(hours=2)),
        ("${delay}", {"delay": "PT1H"}, timedelta(hours=1)),
    ],
)
def test_intermediate_timer_catch(engine, duration, variables, due_after):
    """Intermediate timer catch, bare ISO duration or ${...} expression: the instance shows its next
    timer, nothing happens before it, and a tick after it continues the flow and records the firing."""
    with clock() as traveller:
        deploy(
            engine,
            start(),
            catch("wait", timer(duration)),
            external("after", "next"),
            end(),
            chain("start", "wait", "after", "end"),
        )
        view = instances.start_instance(engine, "p", variables=variables)
        assert view.next_timer_at == (T0 + due_after).isoformat()
        assert activities(view) == {"wait"}

        traveller.move_to(T0 + due_after - timedelta(seconds=1))
        assert tick(engine) == 0
        traveller.move_to(T0 + due_after + timedelta(seconds=1))
        assert tick(engine) == 1
        assert tick(engine) == 0

    view = instances.get_instance(engine, view.id)
    assert set(open_tasks(engine, view.id)) == {"after"}
    assert view.next_timer_at is None
    [fired] = events(engine, view.id, "timer_fired")
    assert fired.activity_id == "wait"
    assert fired.data["late"] is False
    assert fired.data["due_at"] == (T0 + due_after).isoformat()


def test_timer_due_while_down_fires_late_at_first_tick(engine):
    """A timer that came due while nothing ran fires at the first tick and is recorded as late."""
    with clock() as traveller:
        deploy(
            engine,
            start(),
            catch("wait", timer("PT2H")),
            external("after", "next"),
            end(),
            chain("start", "wait", "after", "end"),
        )
        view = instances.start_instance(engine, "p")

        traveller.move_to(T0 + timedelta(days=3))
        assert tick(engine) == 1

    assert set(open_tasks(engine, view.id)) == {"after"}
    [fired] = events(engine, view.id, "timer_fired")
    assert fired.data["late"] is True
    assert fired.data["late_seconds"] == pytest.approx(timedelta(days=3, hours=-2).total_seconds())


def test_intermediate_message_catch(engine):
    """Intermediate message catch: the flow waits there until the message is correlated."""
    deploy(
        engine,
        start(),
        external("ask", "request_docs"),
        catch("docs", message()),
        external("after", "next"),
        end(),
        chain("start", "ask", "docs", "after", "end"),
    )
    view = instances.start_instance(engine, "p", business_key="HS-6")
    with pytest.raises(Conflict):  # not waiting for it yet
        instances.correlate_message(engine, "docsArrived", business_key="HS-6")

    complete(engine, view.id, "ask")
    view = instances.get_instance(engine, view.id)
    assert activities(view) == {"docs"}
    assert rows(engine, view.id) == []

    instances.correlate_message(engine, "docsArrived", business_key="HS-6", variables={"pages": 3})

    view = instances.get_instance(engine, view.id)
    assert set(open_tasks(engine, view.id)) == {"after"}
    assert view.variables["pages"] == 3


# ============================================================================ 9. sub-processes


def test_embedded_sub_process(engine):
    """An embedded sub-process runs its own steps in order, then the flow continues after it."""
    deploy(
        engine,
        start(),
        sub_process(
            "sub",
            start("s_start"),
            external("a", "a"),
            external("b", "b"),
            end("s_end"),
            chain("s_start", "a", "b", "s_end"),
        ),
        external("after", "after"),
        end(),
        chain("start", "sub", "after", "end"),
    )
    view = instances.start_instance(engine, "p", variables={"x": 1})
    assert set(open_tasks(engine, view.id)) == {"a"}
    assert {"sub", "a"} <= activities(view)

    complete(engine, view.id, "a", fromA=True)
    assert set(open_tasks(engine, view.id)) == {"b"}
    complete(engine, view.id, "b", fromB=True)
    assert set(open_tasks(engine, view.id)) == {"after"}
    assert "sub" not in activities(instances.get_instance(engine, view.id))
    complete(engine, view.id, "after")

    done = instances.get_instance(engine, view.id)
    assert done.status == "completed"
    assert done.variables == {"x": 1, "fromA": True, "fromB": True}


CALLER_BODY = "\n".join(
    [
        start(),
        '<bpmn:callActivity id="call" calledElement="callee" />',
        end(),
        chain("start", "call", "end"),
    ]
)


def test_call_activity_calls_a_process_deployed_from_another_file(engine):
    """A call activity runs a process deployed earlier from another file: the callee's external task
    is fetched under the caller's instance and completing it completes the caller."""
    callee = resource(
        "\n".join(
            [
                start("c_start"),
                external("c_task", "callee_topic"),
                end("c_end"),
                chain("c_start", "c_task", "c_end"),
            ]
        ),
        process_id="callee",
    )
    definitions.deploy(engine, [callee])
    definitions.deploy(engine, [resource(CALLER_BODY, process_id="caller")])

    view = instances.start_instance(engine, "caller", variables={"applicant": "Lan"})

    task = row(engine, view.id, "c_task")
    assert task.topic == "callee_topic"
    assert task_data(engine, view.id, task.id)["applicant"] == "Lan"
    external_tasks.complete_external_task(engine, task.id, variables={"result": "ok"})

    done = instances.get_instance(engine, view.id)
    assert done.status == "completed"
    assert done.variables["result"] == "ok"


def test_call_activity_to_a_never_deployed_process_is_refused(engine):
    """Deploying a caller whose called process was never deployed is refused."""
    with pytest.raises(DeploymentRefused) as refused:
        definitions.deploy(engine, [resource(CALLER_BODY, process_id="caller")])
    assert any("callee" in problem.message for problem in refused.value.problems)


# ============================================================================ 10. multi-instance


def _multi_instance_diagram(engine: Engine, *, sequential: bool) -> None:
    flag = ' isSequential="true"' if sequential else ""
    loop = (
        f'<bpmn:multiInstanceLoopCharacteristics{flag} camunda:collection="${{items}}" '
        'camunda:elementVariable="item" />'
    )
    deploy(
        engine,
        start(),
        external("visit", "inspect", inner=loop),
        external("after", "after"),
        end(),
        chain("start", "visit", "after", "end"),
    )


def test_parallel_multi_instance_external_task(engine):
    """Parallel multi-instance over ${items}: one external task per item, all open at once, each
    carrying its own item; the flow goes on when all are done."""
    _multi_instance_diagram(engine, sequential=False)
    view = instances.start_instance(engine, "p", variables={"items": ["north", "south", "east"]})

    found = rows(engine, view.id)
    assert [r.activity_id for r in found] == ["visit"] * 3
    assert sorted(task_data(engine, view.id, r.id)["item"] for r in found) == ["east", "north", "south"]

    for task in found:
        external_tasks.complete_external_task(engine, task.id, variables={"visited": True})
    assert set(open_tasks(engine, view.id)) == {"after"}
    complete(engine, view.id, "after")
    assert instances.get_instance(engine, view.id).status == "completed"


def test_parallel_multi_instance_handler_sees_its_own_item(runtime, engine, handlers):
    """Parallel multi-instance on a handler topic: each handler call gets its own item."""
    seen: list[Any] = []

    @handlers.register("inspect")
    def inspect(call: HandlerCall) -> dict[str, Any]:
        seen.append({**call.variables, **call.local_variables}.get("item"))
        return {}

    _multi_instance_diagram(engine, sequential=False)
    view = instances.start_instance(engine, "p", variables={"items": ["north", "south", "east"]})

    assert runtime.new_worker().run_once() == 3

    assert sorted(seen) == ["east", "north", "south"]
    assert set(open_tasks(engine, view.id)) == {"after"}


def test_sequential_multi_instance_external_task(engine):
    """Sequential multi-instance over ${items}: one external task at a time, in list order, each
    carrying its own item."""
    _multi_instance_diagram(engine, sequential=True)
    view = instances.start_instance(engine, "p", variables={"items": ["north", "south", "east"]})

    seen = []
    for _ in range(3):
        [task] = rows(engine, view.id)
        assert task.activity_id == "visit"
        seen.append(task_data(engine, view.id, task.id)["item"])
        external_tasks.complete_external_task(engine, task.id)
    assert seen == ["north", "south", "east"]
    assert set(open_tasks(engine, view.id)) == {"after"}
    complete(engine, view.id, "after")
    assert instances.get_instance(engine, view.id).status == "completed"


# ============================================================================ 12. mappings


def test_input_and_output_mappings_on_an_external_task(engine):
    """camunda:inputOutput: input parameters become the task's local variables; output parameters
    are evaluated on completion into instance variables."""
    mappings = (
        "<bpmn:extensionElements><camunda:inputOutput>"
        '<camunda:inputParameter name="amountLocal">${amount}</camunda:inputParameter>'
        '<camunda:outputParameter name="approvedOut">${approved}</camunda:outputParameter>'
        "</camunda:inputOutput></bpmn:extensionElements>"
    )
    deploy(
        engine,
        start(),
        external("a", "review", inner=mappings),
        external("after", "after"),
        end(),
        chain("start", "a", "after", "end"),
    )
    view = instances.start_instance(engine, "p", variables={"amount": 1500})

    assert row(engine, view.id, "a").local_variables == {"amountLocal": 1500}

    complete(engine, view.id, "a", approved=True)

    view = instances.get_instance(engine, view.id)
    assert set(open_tasks(engine, view.id)) == {"after"}
    assert view.variables["approvedOut"] is True
    assert "amountLocal" not in view.variables


# ============================================================================ 13. persistence


def test_instance_survives_a_restart(database_url, handlers, tmp_path):
    """An instance started by one process is completed by a brand-new one on the same database."""
    with own_runtime(database_url, handlers, tmp_path) as first:
        deploy(
            first.engine,
            start(),
            external("a", "police"),
            external("b", "tax"),
            end(),
            chain("start", "a", "b", "end"),
        )
        view = instances.start_instance(first.engine, "p", variables={"applicant": "Lan"})
        complete(first.engine, view.id, "a", clean=True)

    with own_runtime(database_url, handlers, tmp_path) as second:
        engine = second.engine
        task = row(engine, view.id, "b")
        external_tasks.complete_external_task(engine, task.id, variables={"paid": True})
        done = instances.get_instance(engine, view.id)

    assert done.status == "completed"
    assert done.variables == {"applicant": "Lan", "clean": True, "paid": True}
