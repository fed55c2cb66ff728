"""Agencies are isolated: every operation, every ordered pair of three agencies.

All tasks share ONE topic; only the step's ``agency`` property tells them apart, so what
is proved is the agency check, not topic routing.  The owner's call works; every other
agency's identical call is a 404 with the very answer a non-existent id gets (never a
403: ids of other agencies are not even confirmed) and changes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from orchestrator.services import definitions, instances
from orchestrator.store.models import Event, ExternalTaskRow, ProcessInstance

from .agency_fixtures import EngineRest, admin_token, make_agency_token
from .bpmn_builder import chain, external, resource

AGENCIES = ("CA-XA", "UBND-XA", "BHXH")
TOPIC = "xac-minh"
WORKER = "worker-1"  # the same worker id in every agency: the agency, not the worker, must refuse
MISSING = "00000000-0000-0000-0000-000000000000"


def _process(index: int, agency: str) -> Any:
    props = f'<camunda:properties><camunda:property name="agency" value="{agency}" /></camunda:properties>'
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            external("work", TOPIC, inner=f"<bpmn:extensionElements>{props}</bpmn:extensionElements>"),
            external("after", f"after-{index}"),
            '<bpmn:endEvent id="end" />',
            chain("start", "work", "after", "end"),
        ]
    )
    return resource(body, process_id=f"p{index}")


class World:
    """Three agencies with their tokens, and a way to make a fresh task for any of them."""

    def __init__(self, runtime: Any, client: Any) -> None:
        self.engine = runtime.engine
        self.api = {agency: EngineRest(client, make_agency_token(runtime, agency)) for agency in AGENCIES}
        self.admin = EngineRest(client, admin_token(runtime))
        definitions.deploy(self.engine, [_process(i, a) for i, a in enumerate(AGENCIES)])

    def fresh_task(self, owner: str) -> str:
        """A new task of ``owner``, locked by WORKER through the owner's own API."""
        view = instances.start_instance(self.engine, f"p{AGENCIES.index(owner)}")
        task_id = view.current_activities[0]["task_id"]
        response = self.api[owner].post(
            f"/external-task/{task_id}/lock", {"workerId": WORKER, "lockDuration": 60_000}
        )
        assert response.status_code == 204
        return task_id

    def state(self, task_id: str) -> dict[str, Any]:
        """The task row, its instance's version and the history length: a refusal changes none."""
        with self.engine.db.read() as session:
            row = session.get(ExternalTaskRow, task_id)
            columns = {c.key: getattr(row, c.key) for c in ExternalTaskRow.__table__.columns} if row else None
            version = session.scalar(
                select(ProcessInstance.version).where(ProcessInstance.id == (row.instance_id if row else ""))
            )
            events = session.scalar(select(func.count()).select_from(Event))
        return {"row": columns, "version": version, "events": events}


@pytest.fixture
def world(runtime, client) -> World:
    return World(runtime, client)


Call = Callable[[EngineRest, str], Any]
OPERATIONS: dict[str, Call] = {
    "get": lambda api, t: api.get(f"/external-task/{t}"),
    "errorDetails": lambda api, t: api.get(f"/external-task/{t}/errorDetails"),
    "complete": lambda api, t: api.post(f"/external-task/{t}/complete", {"workerId": WORKER}),
    "failure": lambda api, t: api.post(
        f"/external-task/{t}/failure", {"workerId": WORKER, "errorMessage": "x", "retries": 2}
    ),
    "bpmnError": lambda api, t: api.post(
        f"/external-task/{t}/bpmnError", {"workerId": WORKER, "errorCode": "E"}
    ),
    "extendLock": lambda api, t: api.post(
        f"/external-task/{t}/extendLock", {"workerId": WORKER, "newDuration": 5000}
    ),
    "lock": lambda api, t: api.post(f"/external-task/{t}/lock", {"workerId": WORKER, "lockDuration": 5000}),
    "unlock": lambda api, t: api.post(f"/external-task/{t}/unlock", {}),
    "retries": lambda api, t: api.put(f"/external-task/{t}/retries", {"retries": 5}),
    "retries (batch)": lambda api, t: api.put(
        "/external-task/retries", {"externalTaskIds": [t], "retries": 5}
    ),
    "priority": lambda api, t: api.put(f"/external-task/{t}/priority", {"priority": 9}),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_only_the_owning_agency_can(world, operation):
    """For each owner, both other agencies get the not-found answer and change nothing;
    then the owner's identical call succeeds."""
    call = OPERATIONS[operation]
    missing = call(world.api[AGENCIES[0]], MISSING)
    assert missing.status_code == 404
    for owner in AGENCIES:
        task_id = world.fresh_task(owner)
        before = world.state(task_id)
        for intruder in (a for a in AGENCIES if a != owner):
            response = call(world.api[intruder], task_id)
            assert response.status_code == 404, (operation, intruder, owner, response.get_json())
            body = response.get_json()
            assert body == {
                **missing.get_json(),
                "message": missing.get_json()["message"].replace(MISSING, task_id),
            }
            assert world.state(task_id) == before, (operation, intruder, owner)
        response = call(world.api[owner], task_id)
        assert response.status_code in (200, 204), (operation, owner, response.get_json())


def test_fetch_and_lock_locks_only_the_agencys_own_tasks(world):
    tasks = {agency: {world.fresh_task(agency) for _ in range(2)} for agency in AGENCIES}
    for agency in AGENCIES:  # free them, so that any agency could lock any if isolation failed
        for task_id in tasks[agency]:
            world.api[agency].post(f"/external-task/{task_id}/unlock")
    for agency in AGENCIES:
        fetched = world.api[agency].fetch(TOPIC, worker=WORKER)
        assert {t["id"] for t in fetched} == tasks[agency]


def test_reads_show_only_the_agencys_own_tasks(world):
    tasks = {agency: world.fresh_task(agency) for agency in AGENCIES}
    for agency, api in world.api.items():
        listed = api.get("/external-task").get_json()
        assert [t["id"] for t in listed] == [tasks[agency]]
        posted = api.post("/external-task", {"externalTaskIdIn": list(tasks.values())}).get_json()
        assert [t["id"] for t in posted] == [tasks[agency]]
        assert api.get("/external-task/count").get_json() == {"count": 1}
        assert api.post("/external-task/count", {}).get_json() == {"count": 1}
        assert api.get("/external-task/topic-names").get_json() == [TOPIC]


def test_every_pair_sees_nothing_of_the_other(world):
    """The pairwise proof for queries that filter by id: another agency's ids match nothing."""
    tasks = {agency: world.fresh_task(agency) for agency in AGENCIES}
    for viewer, owner in itertools.permutations(AGENCIES, 2):
        api = world.api[viewer]
        assert api.get("/external-task", externalTaskId=tasks[owner]).get_json() == []
        assert api.get("/external-task/count", externalTaskId=tasks[owner]).get_json() == {"count": 0}
        instance_id = world.admin.get(f"/external-task/{tasks[owner]}").get_json()["processInstanceId"]
        before = world.state(tasks[owner])
        batch = api.put("/external-task/retries", {"processInstanceIds": [instance_id], "retries": 0})
        assert batch.status_code == 204  # as for an unknown instance: nothing to change
        assert world.state(tasks[owner]) == before


def test_admin_sees_and_fetches_every_agency(world):
    tasks = {world.fresh_task(agency) for agency in AGENCIES}
    assert {t["id"] for t in world.admin.get("/external-task").get_json()} == tasks
    for task_id in tasks:
        assert world.admin.get(f"/external-task/{task_id}").status_code == 200
        assert world.admin.post(f"/external-task/{task_id}/unlock").status_code == 204
    assert {t["id"] for t in world.admin.fetch(TOPIC, worker="ops")} == tasks


def test_in_process_tasks_are_invisible_even_to_admins(runtime, client, engine, handlers):
    handlers.register("in-process")(lambda call: {})
    body = (
        '<bpmn:startEvent id="s" />'
        + external("h", "in-process")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "h", "e")
    )
    definitions.deploy(engine, [resource(body, process_id="inproc")])
    view = instances.start_instance(engine, "inproc")
    task_id = view.current_activities[0]["task_id"]
    admin = EngineRest(client, admin_token(runtime))
    assert admin.get(f"/external-task/{task_id}").status_code == 404
    assert admin.get("/external-task").get_json() == []
    assert admin.fetch("in-process") == []
    assert admin.post(f"/external-task/{task_id}/complete", {"workerId": "w"}).status_code == 404


def test_a_worker_token_of_no_agency_cannot_exist(runtime):
    from orchestrator.access import create_token
    from orchestrator.errors import InvalidInput

    with pytest.raises(InvalidInput):
        create_token(runtime.db, name="stray", scopes=["worker"])
