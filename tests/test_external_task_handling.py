"""``/engine-rest/external-task/{id}/...``: completing, failing, BPMN errors, locks and retries.

Camunda's rules (CAMUNDA_COMPAT.md): only the lock holder completes, fails, throws or
extends (400 otherwise, lock expiry not checked at completion); retries are the worker's
count; 0 retries is an incident; retryTimeout delays the next fetch; errorMessage is cut
at 666 characters.  Every refused request changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from orchestrator.access import map_topic
from orchestrator.services import definitions, instances
from orchestrator.store.models import Event, ExternalTaskRow, ProcessInstance

from .agency_fixtures import EngineRest, make_agency_token
from .bpmn_builder import chain, external, resource

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
AGENCY = "CA-XA"
ERROR = '<bpmn:error id="Err" name="Rejected" errorCode="REJECTED" />\n'


def deploy(engine) -> None:
    """start -> a (police) -> b (insurance) -> end, with an error boundary REJECTED on a -> notify."""
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            external("a", "police"),
            external("b", "insurance"),
            external("notify", "police"),
            '<bpmn:boundaryEvent id="rejected" attachedToRef="a">'
            '<bpmn:errorEventDefinition errorRef="Err" /></bpmn:boundaryEvent>',
            '<bpmn:endEvent id="end" />',
            '<bpmn:endEvent id="end_rejected" />',
            chain("start", "a", "b", "end"),
            chain("rejected", "notify", "end_rejected"),
        ]
    )
    definitions.deploy(engine, [resource(body, extra=ERROR)])


@pytest.fixture
def api(runtime, client, engine) -> EngineRest:
    token = make_agency_token(runtime, AGENCY)
    for topic in ("police", "insurance"):
        map_topic(runtime.db, topic, AGENCY)
    deploy(engine)
    return EngineRest(client, token)


def start(engine, **variables: Any) -> str:
    return instances.start_instance(engine, "p", variables=variables).id


def fetch_one(api: EngineRest, worker: str = "w1", topic: str = "police") -> dict[str, Any]:
    [task] = api.fetch(topic, worker=worker, max_tasks=1)
    return task


def activities(engine, instance_id: str) -> list[str]:
    view = instances.get_instance(engine, instance_id)
    return sorted(a["id"] for a in view.current_activities if a["type"] == "ExternalTask")


def snapshot(engine) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    with engine.db.read() as session:
        rows = session.scalars(select(ExternalTaskRow).order_by(ExternalTaskRow.id))
        tasks = [{c.key: getattr(row, c.key) for c in ExternalTaskRow.__table__.columns} for row in rows]
        versions = {i: v for i, v in session.execute(select(ProcessInstance.id, ProcessInstance.version))}
        events = session.scalar(select(func.count()).select_from(Event))
    return {"tasks": tasks, "versions": versions, "events": events}


def events_of(engine, instance_id: str, type_: str) -> list[Event]:
    with engine.db.read() as session:
        return list(
            session.scalars(select(Event).where(Event.instance_id == instance_id, Event.type == type_))
        )


# -- complete ------------------------------------------------------------------------------------


def test_complete_by_the_lock_holder_advances_with_typed_variables(api, engine):
    instance_id = start(engine)
    task = fetch_one(api)
    variables = {
        "ok": {"value": True, "type": "Boolean"},
        "count": {"value": "12", "type": "integer"},  # first letter's case does not matter
        "big": {"value": 2**40, "type": "Long"},
        "ratio": {"value": 1.5, "type": "Double"},
        "due": {"value": "2030-01-08T17:00:00.000+0700", "type": "Date"},
        "record": {"value": '{"so": "HS-1"}', "type": "Json"},
        "object": {
            "value": '{"a": 1}',
            "type": "Object",
            "valueInfo": {"serializationDataFormat": "application/json"},
        },
        "untyped": {"value": "chữ"},
        "none": {"value": None, "type": "Null"},
    }
    response = api.post(f"/external-task/{task['id']}/complete", {"workerId": "w1", "variables": variables})
    assert response.status_code == 204, response.get_json()
    view = instances.get_instance(engine, instance_id)
    assert activities(engine, instance_id) == ["b"]
    assert {k: view.variables[k] for k in variables} == {
        "ok": True, "count": 12, "big": 2**40, "ratio": 1.5, "due": "2030-01-08T17:00:00+07:00",
        "record": {"so": "HS-1"}, "object": {"a": 1}, "untyped": "chữ", "none": None,
    }  # fmt: skip
    # ... and they come back typed to the next step's worker.
    [next_task] = api.fetch("insurance")
    assert next_task["variables"]["count"] == {"type": "Integer", "value": 12, "valueInfo": {}}
    assert next_task["variables"]["record"] == {"type": "Json", "value": '{"so": "HS-1"}', "valueInfo": {}}


def test_local_variables_on_complete_are_kept_like_variables(api, engine):
    instance_id = start(engine)
    task = fetch_one(api)
    body = {
        "workerId": "w1",
        "variables": {"x": {"value": 1}},
        "localVariables": {"y": {"value": 2}, "x": {"value": 0}},
    }
    assert api.post(f"/external-task/{task['id']}/complete", body).status_code == 204
    variables = instances.get_instance(engine, instance_id).variables
    assert (variables["x"], variables["y"]) == (1, 2)  # variables win over locals of the same name


def test_only_the_lock_holder_may_complete(api, engine):
    instance_id = start(engine)
    task_id = fetch_one(api, worker="w1")["id"]
    before = snapshot(engine)
    refused = api.post(f"/external-task/{task_id}/complete", {"workerId": "w2"})
    assert refused.status_code == 400
    assert refused.get_json()["type"] == "InvalidRequestException"
    assert "locked by a different worker" in refused.get_json()["message"]
    assert snapshot(engine) == before
    api.post(f"/external-task/{task_id}/unlock", {})
    not_locked = api.post(f"/external-task/{task_id}/complete", {"workerId": "w1"})
    assert not_locked.status_code == 400 and "not locked" in not_locked.get_json()["message"]
    assert activities(engine, instance_id) == ["a"]


def test_a_late_worker_may_complete_unless_someone_relocked(api, engine):
    """Camunda does not check the lock's expiry at completion, only who holds it."""
    with time_machine.travel(T0, tick=False) as traveller:
        first, second = start(engine), start(engine)
        tasks = {t["processInstanceId"]: t["id"] for t in api.fetch("police", worker="slow")}
        traveller.shift(timedelta(minutes=5))  # both locks (60 s) expired
        assert api.post(f"/external-task/{tasks[first]}/complete", {"workerId": "slow"}).status_code == 204
        [relocked] = api.fetch("police", worker="fast")
        assert relocked["id"] == tasks[second]
        assert api.post(f"/external-task/{tasks[second]}/complete", {"workerId": "slow"}).status_code == 400
    assert activities(engine, first) == ["b"]
    assert activities(engine, second) == ["a"]


def test_second_completion_is_a_404_and_advances_nothing(api, engine):
    instance_id = start(engine)
    task_id = fetch_one(api)["id"]
    assert api.post(f"/external-task/{task_id}/complete", {"workerId": "w1"}).status_code == 204
    before = snapshot(engine)
    again = api.post(f"/external-task/{task_id}/complete", {"workerId": "w1"})
    assert again.status_code == 404
    assert snapshot(engine) == before
    assert len(events_of(engine, instance_id, "task_completed")) == 1


# -- failure, retries, incidents ------------------------------------------------------------------


def test_failure_retries_timeout_and_incident(api, engine):
    """The worker's retries are stored as sent; retryTimeout delays the next fetch; 0 is an incident,
    not fetched any more until retries are set again."""
    instance_id = start(engine)
    with time_machine.travel(T0, tick=False) as traveller:
        task_id = fetch_one(api)["id"]
        failure = {
            "workerId": "w1",
            "errorMessage": "m" * 1000,
            "errorDetails": "trace\n" * 5000,
            "retries": 2,
            "retryTimeout": 30_000,
        }
        assert api.post(f"/external-task/{task_id}/failure", failure).status_code == 204
        task = api.get(f"/external-task/{task_id}").get_json()
        assert task["retries"] == 2
        assert task["errorMessage"] == "m" * 666
        assert task["workerId"] == "w1"  # Camunda keeps the worker; the lock now ends with the delay
        assert task["lockExpirationTime"] == "2030-01-07T16:00:30.000+0700"
        details = api.get(f"/external-task/{task_id}/errorDetails")
        assert details.status_code == 200 and details.mimetype == "text/plain"
        assert details.get_data(as_text=True) == "trace\n" * 5000

        assert api.fetch("police") == []  # waiting out the retry timeout
        traveller.shift(timedelta(seconds=31))
        assert fetch_one(api, worker="w2")["retries"] == 2

        last = {"workerId": "w2", "errorMessage": "gave up", "retries": 0, "retryTimeout": 0}
        assert api.post(f"/external-task/{task_id}/failure", last).status_code == 204
        traveller.shift(timedelta(hours=1))
        assert api.fetch("police") == []  # an incident is not fetched any more
        assert api.get("/external-task", noRetriesLeft="true").get_json()[0]["id"] == task_id
        [incident] = events_of(engine, instance_id, "incident")
        assert incident.data == {"reason": "retries_exhausted"} and incident.task_id == task_id
        assert len(events_of(engine, instance_id, "task_failed")) == 2

        assert api.put(f"/external-task/{task_id}/retries", {"retries": 3}).status_code == 204
        again = fetch_one(api, worker="w3")
    assert again["id"] == task_id and again["retries"] == 3
    assert len(events_of(engine, instance_id, "incident_resolved")) == 1


def test_failure_without_delay_is_fetched_again_at_once(api, engine):
    start(engine)
    with time_machine.travel(T0, tick=False):
        task_id = fetch_one(api)["id"]
        failure = {"workerId": "w1", "errorMessage": "flaky", "retries": 4, "retryTimeout": 0}
        assert api.post(f"/external-task/{task_id}/failure", failure).status_code == 204
        again = fetch_one(api, worker="w2")
    assert (again["id"], again["retries"], again["errorMessage"]) == (task_id, 4, "flaky")


def test_failure_without_retries_is_an_incident_as_in_camunda(api, engine):
    start(engine)
    task_id = fetch_one(api)["id"]
    assert (
        api.post(f"/external-task/{task_id}/failure", {"workerId": "w1", "errorMessage": "x"}).status_code
        == 204
    )
    assert api.get(f"/external-task/{task_id}").get_json()["retries"] == 0
    assert api.get(f"/external-task/{task_id}/errorDetails").status_code == 204  # none sent


def test_failure_with_variables_sets_them(api, engine):
    instance_id = start(engine)
    task_id = fetch_one(api)["id"]
    body = {
        "workerId": "w1",
        "retries": 1,
        "variables": {"lastError": {"value": "timeout", "type": "String"}},
    }
    assert api.post(f"/external-task/{task_id}/failure", body).status_code == 204
    assert instances.get_instance(engine, instance_id).variables["lastError"] == "timeout"
    assert api.get(f"/external-task/{task_id}").get_json()["retries"] == 1


def test_failure_by_another_worker_changes_nothing(api, engine):
    start(engine)
    task_id = fetch_one(api, worker="w1")["id"]
    before = snapshot(engine)
    response = api.post(f"/external-task/{task_id}/failure", {"workerId": "w2", "retries": 0})
    assert response.status_code == 400
    assert snapshot(engine) == before


def test_setting_retries_to_zero_is_an_incident_and_batch_retries(api, engine):
    first, second = start(engine), start(engine)
    ids = {t["processInstanceId"]: t["id"] for t in api.fetch("police")}
    assert api.put(f"/external-task/{ids[first]}/retries", {"retries": 0}).status_code == 204
    assert len(events_of(engine, first, "incident")) == 1

    before = snapshot(engine)
    unknown = {"externalTaskIds": [ids[first], "no-such-task"], "retries": 5}
    assert api.put("/external-task/retries", unknown).status_code == 404
    assert snapshot(engine) == before  # all or nothing
    assert api.put("/external-task/retries", {"retries": 5}).status_code == 400
    assert (
        api.put("/external-task/retries", {"externalTaskIds": [ids[first]], "retries": -1}).status_code == 400
    )

    assert (
        api.put("/external-task/retries", {"externalTaskIds": [ids[first]], "retries": 5}).status_code == 204
    )
    assert (
        api.put("/external-task/retries", {"processInstanceIds": [second], "retries": 7}).status_code == 204
    )
    assert api.get(f"/external-task/{ids[first]}").get_json()["retries"] == 5
    assert api.get(f"/external-task/{ids[second]}").get_json()["retries"] == 7
    assert len(events_of(engine, first, "incident_resolved")) == 1


def test_set_priority(api, engine):
    low, high = start(engine), start(engine)
    tasks = {t["processInstanceId"]: t["id"] for t in api.fetch("police")}
    for task_id in tasks.values():
        api.post(f"/external-task/{task_id}/unlock")
    assert api.put(f"/external-task/{tasks[high]}/priority", {"priority": 50}).status_code == 204
    assert api.get(f"/external-task/{tasks[high]}").get_json()["priority"] == 50
    assert [t["processInstanceId"] for t in api.fetch("police", usePriority=True)] == [high, low]
    assert api.put(f"/external-task/{tasks[high]}/priority", {"priority": "high"}).status_code == 400


# -- BPMN errors -----------------------------------------------------------------------------


def test_bpmn_error_caught_by_the_boundary(api, engine):
    instance_id = start(engine)
    task_id = fetch_one(api)["id"]
    body = {
        "workerId": "w1",
        "errorCode": "REJECTED",
        "errorMessage": "hồ sơ thiếu",
        "variables": {"why": {"value": "x"}},
    }
    assert api.post(f"/external-task/{task_id}/bpmnError", body).status_code == 204
    assert activities(engine, instance_id) == ["notify"]
    assert instances.get_instance(engine, instance_id).variables["why"] == "x"
    assert api.get(f"/external-task/{task_id}").status_code == 404


def test_uncaught_bpmn_error_is_an_incident(api, engine):
    instance_id = start(engine)
    task_id = fetch_one(api)["id"]
    body = {"workerId": "w1", "errorCode": "NOBODY_CATCHES"}
    assert api.post(f"/external-task/{task_id}/bpmnError", body).status_code == 204
    assert activities(engine, instance_id) == ["a"]
    assert api.get(f"/external-task/{task_id}").get_json()["retries"] == 0
    assert len(events_of(engine, instance_id, "incident")) == 1
    assert api.fetch("police") == []


def test_bpmn_error_by_another_worker_changes_nothing(api, engine):
    start(engine)
    task_id = fetch_one(api, worker="w1")["id"]
    before = snapshot(engine)
    response = api.post(f"/external-task/{task_id}/bpmnError", {"workerId": "w2", "errorCode": "REJECTED"})
    assert response.status_code == 400
    assert snapshot(engine) == before


# -- locks ------------------------------------------------------------------------------------


def test_extend_lock(api, engine):
    start(engine)
    with time_machine.travel(T0, tick=False) as traveller:
        task_id = fetch_one(api, worker="w1")["id"]
        traveller.shift(timedelta(seconds=30))
        assert (
            api.post(
                f"/external-task/{task_id}/extendLock", {"workerId": "w1", "newDuration": 600_000}
            ).status_code
            == 204
        )
        assert (
            api.get(f"/external-task/{task_id}").get_json()["lockExpirationTime"]
            == "2030-01-07T16:10:30.000+0700"
        )
        before = snapshot(engine)
        other = api.post(f"/external-task/{task_id}/extendLock", {"workerId": "w2", "newDuration": 1000})
        assert other.status_code == 400 and "different worker" in other.get_json()["message"]
        assert (
            api.post(f"/external-task/{task_id}/extendLock", {"workerId": "w1", "newDuration": 0}).status_code
            == 400
        )
        assert api.post(f"/external-task/{task_id}/extendLock", {"workerId": "w1"}).status_code == 400
        assert snapshot(engine) == before
        traveller.shift(timedelta(hours=1))
        expired = api.post(f"/external-task/{task_id}/extendLock", {"workerId": "w1", "newDuration": 1000})
        assert expired.status_code == 400 and "expired" in expired.get_json()["message"]


def test_lock_and_unlock(api, engine):
    start(engine)
    task_id = api.get("/external-task").get_json()[0]["id"]
    with time_machine.travel(T0, tick=False) as traveller:
        assert (
            api.post(f"/external-task/{task_id}/lock", {"workerId": "w1", "lockDuration": 10_000}).status_code
            == 204
        )
        task = api.get(f"/external-task/{task_id}").get_json()
        assert (task["workerId"], task["lockExpirationTime"]) == ("w1", "2030-01-07T16:00:10.000+0700")
        assert api.fetch("police") == []
        taken = api.post(f"/external-task/{task_id}/lock", {"workerId": "w2", "lockDuration": 10_000})
        assert taken.status_code == 400
        assert (
            api.post(f"/external-task/{task_id}/lock", {"workerId": "w1", "lockDuration": 20_000}).status_code
            == 204
        )
        traveller.shift(timedelta(seconds=21))
        assert (
            api.post(f"/external-task/{task_id}/lock", {"workerId": "w2", "lockDuration": 1_000}).status_code
            == 204
        )
        assert api.get(f"/external-task/{task_id}").get_json()["workerId"] == "w2"

    assert api.post(f"/external-task/{task_id}/unlock", {}).status_code == 204  # the JS client's body
    task = api.get(f"/external-task/{task_id}").get_json()
    assert task["workerId"] is None and task["lockExpirationTime"] is None
    assert (
        api.client.post(f"/engine-rest/external-task/{task_id}/unlock", headers=api.headers).status_code
        == 204
    )
    assert fetch_one(api, worker="w3")["id"] == task_id
    assert api.post("/external-task/no-such-task/unlock").status_code == 404


# -- bad requests: Camunda-shaped 400, nothing changed -------------------------------------------

TOPIC = {"topicName": "police", "lockDuration": 1000}
BAD_FETCHES = [
    {"maxTasks": 1, "topics": [TOPIC]},  # no workerId
    {"workerId": "", "maxTasks": 1, "topics": [TOPIC]},
    {"workerId": 7, "maxTasks": 1, "topics": [TOPIC]},
    {"workerId": "w", "topics": [TOPIC]},  # no maxTasks
    {"workerId": "w", "maxTasks": -1, "topics": [TOPIC]},
    {"workerId": "w", "maxTasks": "1", "topics": [TOPIC]},
    {"workerId": "w", "maxTasks": 1},  # no topics
    {"workerId": "w", "maxTasks": 1, "topics": {"topicName": "police"}},
    {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "police"}]},  # no lockDuration
    {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "police", "lockDuration": -5}]},
    {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "police", "lockDuration": 0}]},
    {"workerId": "w", "maxTasks": 1, "topics": [{"lockDuration": 1000}]},
    {"workerId": "w", "maxTasks": 1, "topics": [TOPIC], "asyncResponseTimeout": 1_800_001},
    {"workerId": "w", "maxTasks": 1, "topics": [TOPIC], "asyncResponseTimeout": -1},
    {"workerId": "w", "maxTasks": 1, "topics": [TOPIC], "usePriority": "yes"},
    {
        "workerId": "w",
        "maxTasks": 1,
        "topics": [TOPIC],
        "sorting": [{"sortBy": "priority", "sortOrder": "asc"}],
    },
    {"workerId": "w", "maxTasks": 1, "topics": [{**TOPIC, "variables": "all"}]},
    {"workerId": "w", "maxTasks": 1, "topics": [{**TOPIC, "processVariables": ["x"]}]},
    {"workerId": "w", "maxTasks": 1, "topics": [{**TOPIC, "processVariables": {'a"b': 1}}]},
]


@pytest.mark.parametrize("body", BAD_FETCHES)
def test_bad_fetch_and_lock_is_a_400_that_locks_nothing(api, engine, body):
    start(engine)
    before = snapshot(engine)
    response = api.post("/external-task/fetchAndLock", body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["type"] == "InvalidRequestException"
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("complete", {}),
        ("complete", {"workerId": "w1", "variables": {"n": {"value": "abc", "type": "Integer"}}}),
        ("complete", {"workerId": "w1", "variables": {"n": 5}}),
        ("complete", {"workerId": "w1", "variables": {"f": {"value": "x", "type": "File"}}}),
        ("failure", {"workerId": "w1", "retries": -1}),
        ("failure", {"workerId": "w1", "retryTimeout": -1}),
        ("failure", {"retries": 1}),
        ("bpmnError", {"workerId": "w1"}),
        ("bpmnError", {"workerId": "w1", "errorCode": ""}),
        ("extendLock", {"workerId": "w1", "newDuration": -1}),
        ("lock", {"workerId": "w1"}),
        ("lock", {"lockDuration": 1000}),
    ],
)
def test_bad_task_requests_are_400s_that_change_nothing(api, engine, action, body):
    start(engine)
    task_id = fetch_one(api, worker="w1")["id"]
    before = snapshot(engine)
    response = api.post(f"/external-task/{task_id}/{action}", body)
    assert response.status_code == 400, response.get_json()
    assert snapshot(engine) == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_bodies_are_400s(api, engine, raw):
    start(engine)
    task_id = fetch_one(api, worker="w1")["id"]
    before = snapshot(engine)
    for path in ("/external-task/fetchAndLock", f"/external-task/{task_id}/complete"):
        response = api.client.post(
            f"/engine-rest{path}", data=raw, headers={**api.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.get_json()["type"] == "InvalidRequestException"
    assert snapshot(engine) == before


def test_a_body_too_large_is_refused(api, engine):
    start(engine)
    before = snapshot(engine)
    huge = b'{"workerId": "w", "maxTasks": 1, "topics": [], "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    response = api.client.post(
        "/engine-rest/external-task/fetchAndLock",
        data=huge,
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json()["type"] == "InvalidRequestException"
    assert snapshot(engine) == before


def test_what_the_python_client_sends_is_accepted(api, engine):
    """The exact body of camunda-external-task-client-python3 4.5.0's fetch_and_lock."""
    instance_id = start(engine, amount=3)
    body = {
        "workerId": "1",
        "maxTasks": 1,
        "topics": [
            {
                "topicName": "police",
                "lockDuration": 300000,
                "processVariables": {},
                "includeExtensionProperties": True,
                "deserializeValues": True,
                "variables": None,
            }
        ],
        "asyncResponseTimeout": 0,
        "usePriority": False,
        "sorting": None,
    }
    [task] = api.post("/external-task/fetchAndLock", body).get_json()
    assert task["processInstanceId"] == instance_id
    complete = {"workerId": "1", "variables": {"done": {"value": True}}, "localVariables": {}}
    assert api.post(f"/external-task/{task['id']}/complete", complete).status_code == 204
