"""``/engine-rest/external-task``: fetchAndLock and the reads, as Camunda's clients see them.

Handling (complete, failure, BPMN errors, locks, retries) and bad requests are in
``test_external_task_handling.py``; isolation between agencies in ``test_agency_isolation.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import update

from orchestrator.access import map_topic
from orchestrator.services import definitions, instances
from orchestrator.store.models import ExternalTaskRow

from .agency_fixtures import EngineRest, make_agency_token
from .bpmn_builder import chain, external, resource

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
AGENCY = "CA-XA"
CAMUNDA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
LOCKED_TASK_FIELDS = {
    "activityId", "activityInstanceId", "errorMessage", "errorDetails", "executionId", "id",
    "lockExpirationTime", "createTime", "processDefinitionId", "processDefinitionKey",
    "processDefinitionVersionTag", "processInstanceId", "tenantId", "retries", "suspended",
    "workerId", "priority", "topicName", "businessKey", "variables", "extensionProperties",
}  # fmt: skip
TASK_FIELDS = LOCKED_TASK_FIELDS - {"errorDetails", "variables", "extensionProperties"}


def properties(**values: str) -> str:
    entries = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in values.items())
    return f"<camunda:properties>{entries}</camunda:properties>"


def deploy_single(
    engine,
    process_id: str = "p",
    topic: str = "police",
    *,
    attrs: str = "",
    extensions: str = "",
    version_tag: str | None = None,
    tenant_id: str | None = None,
) -> None:
    """Deploy start -> one external task ``work`` -> end."""
    inner = f"<bpmn:extensionElements>{extensions}</bpmn:extensionElements>" if extensions else ""
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            external("work", topic, name="Xác minh", extra_attrs=attrs, inner=inner),
            '<bpmn:endEvent id="end" />',
            chain("start", "work", "end"),
        ]
    )
    document = resource(body, process_id=process_id)
    if version_tag:
        xml = document.content.decode().replace(
            'isExecutable="true"', f'isExecutable="true" camunda:versionTag="{version_tag}"'
        )
        document = type(document)(document.name, xml.encode())
    definitions.deploy(engine, [document], tenant_id=tenant_id)


@pytest.fixture
def api(runtime, client) -> EngineRest:
    token = make_agency_token(runtime, AGENCY)
    for topic in ("police", "insurance", "other"):
        map_topic(runtime.db, topic, AGENCY)
    return EngineRest(client, token)


def start(engine, key: str = "p", business_key: str | None = None, **variables) -> str:
    return instances.start_instance(engine, key, business_key=business_key, variables=variables).id


# -- fetchAndLock: the response ----------------------------------------------------------------


def test_fetch_and_lock_answers_camunda_locked_external_tasks(api, engine):
    """Every LockedExternalTask field, with Camunda's date format and a lock of now + lockDuration."""
    deploy_single(engine, extensions=properties(agency=AGENCY, budget="3"), version_tag="v2026")
    with time_machine.travel(T0, tick=False):
        instance_id = start(engine, business_key="HS-001", hoTen="Trần Thị B")
        [task] = api.fetch("police", worker="worker-1")

    assert set(task) == LOCKED_TASK_FIELDS
    assert task["topicName"] == "police"
    assert task["workerId"] == "worker-1"
    assert task["processInstanceId"] == instance_id
    assert task["processDefinitionKey"] == "p"
    assert task["processDefinitionId"].startswith("p:1:")
    assert task["processDefinitionVersionTag"] == "v2026"
    assert task["activityId"] == "work"
    assert task["activityInstanceId"] == f"work:{task['id']}"
    assert task["businessKey"] == "HS-001"
    assert task["retries"] is None  # null until the first failure
    assert task["errorMessage"] is None and task["errorDetails"] is None
    assert task["suspended"] is False
    assert task["priority"] == 0
    assert task["tenantId"] is None
    assert task["createTime"] == "2030-01-07T16:00:00.000+0700"
    assert task["lockExpirationTime"] == "2030-01-07T16:01:00.000+0700"  # 60 000 ms later
    assert CAMUNDA_DATE.match(task["createTime"]) and CAMUNDA_DATE.match(task["lockExpirationTime"])
    assert task["variables"] == {"hoTen": {"type": "String", "value": "Trần Thị B", "valueInfo": {}}}
    assert task["extensionProperties"] == {}  # only when asked


def test_extension_properties_when_asked(api, engine):
    deploy_single(engine, extensions=properties(agency=AGENCY, budget="3", form="mau-01"))
    start(engine)
    body = {
        "workerId": "w1",
        "maxTasks": 1,
        "topics": [{"topicName": "police", "lockDuration": 1000, "includeExtensionProperties": True}],
    }
    [task] = api.post("/external-task/fetchAndLock", body).get_json()
    assert task["extensionProperties"] == {"agency": AGENCY, "budget": "3", "form": "mau-01"}


def test_variables_are_typed_as_camunda_types(api, engine):
    deploy_single(engine)
    start(
        engine,
        text="chữ", small=7, big=2**40, ratio=0.5, flag=True, nothing=None,
        record={"a": [1, 2]}, items=["x"], when="2030-01-07T09:00:00+07:00",
    )  # fmt: skip
    [task] = api.fetch("police")
    types = {name: (v["type"], v["value"]) for name, v in task["variables"].items()}
    assert types == {
        "text": ("String", "chữ"),
        "small": ("Integer", 7),
        "big": ("Long", 2**40),
        "ratio": ("Double", 0.5),
        "flag": ("Boolean", True),
        "nothing": ("Null", None),
        "record": ("Json", '{"a": [1, 2]}'),
        "items": ("Json", '["x"]'),
        "when": ("String", "2030-01-07T09:00:00+07:00"),
    }


def test_variable_names_and_local_variables(api, engine):
    """``variables`` selects names (null = all); input mappings are the task's locals and shadow
    process variables; ``localVariables: true`` returns only the locals."""
    io = (
        "<camunda:inputOutput>"
        '<camunda:inputParameter name="greeting">xin chào</camunda:inputParameter>'
        '<camunda:inputParameter name="shared">${"local " + shared}</camunda:inputParameter>'
        "</camunda:inputOutput>"
    )
    deploy_single(engine, extensions=io)
    start(engine, shared="value", other=1)

    def fetch(**topic_options):
        topic = {"topicName": "police", "lockDuration": 1000, **topic_options}
        api.post(f"/external-task/{task_id}/unlock")
        body = {"workerId": "w1", "maxTasks": 1, "topics": [topic]}
        [task] = api.post("/external-task/fetchAndLock", body).get_json()
        return {name: value["value"] for name, value in task["variables"].items()}

    task_id = api.fetch("police")[0]["id"]
    assert fetch(variables=None) == {"shared": "local value", "other": 1, "greeting": "xin chào"}
    assert fetch(variables=["other", "missing"]) == {"other": 1}
    assert fetch(localVariables=True) == {"greeting": "xin chào", "shared": "local value"}


# -- fetchAndLock: what is fetched -----------------------------------------------------------


def test_locked_tasks_are_left_out_until_their_lock_expires(api, engine):
    deploy_single(engine)
    with time_machine.travel(T0, tick=False) as traveller:
        ids = [start(engine) for _ in range(3)]
        first = api.fetch("police", worker="w1", max_tasks=2)
        second = api.fetch("police", worker="w2", max_tasks=2)
        assert len(first) == 2 and len(second) == 1
        assert {t["processInstanceId"] for t in first + second} == set(ids)
        assert api.fetch("police", worker="w3") == []
        traveller.shift(timedelta(seconds=61))  # every lock (60 s) has expired
        again = api.fetch("police", worker="w3")
    assert len(again) == 3 and {t["workerId"] for t in again} == {"w3"}


def test_max_tasks_zero_and_no_topics_return_nothing(api, engine):
    deploy_single(engine)
    start(engine)
    assert api.fetch("police", max_tasks=0) == []
    assert api.fetch() == []
    assert len(api.fetch("police")) == 1


def test_use_priority_then_create_time(api, engine):
    """usePriority: highest first, then createTime as sorted (oldest first by default)."""
    deploy_single(engine, attrs='camunda:taskPriority="${prio}"')
    with time_machine.travel(T0, tick=False) as traveller:
        for priority in (1, 5, 3, 5):
            start(engine, prio=priority)
            traveller.shift(timedelta(seconds=1))
        by_priority = api.fetch("police", usePriority=True)
        assert [t["priority"] for t in by_priority] == [5, 5, 3, 1]
        assert by_priority[0]["createTime"] < by_priority[1]["createTime"]
        for task in by_priority:
            api.post(f"/external-task/{task['id']}/unlock")
        newest_first = api.fetch(
            "police", usePriority=True, sorting=[{"sortBy": "createTime", "sortOrder": "desc"}]
        )
        assert [t["priority"] for t in newest_first] == [5, 5, 3, 1]
        assert newest_first[0]["createTime"] > newest_first[1]["createTime"]
        for task in newest_first:
            api.post(f"/external-task/{task['id']}/unlock")
        by_age = api.fetch("police", usePriority=False, sorting=None)
    assert [t["priority"] for t in by_age] == [1, 5, 3, 5]


def test_max_tasks_takes_the_highest_priorities(api, engine):
    deploy_single(engine, attrs='camunda:taskPriority="${prio}"')
    for priority in (2, 9, 4, 7):
        start(engine, prio=priority)
    assert [t["priority"] for t in api.fetch("police", max_tasks=2, usePriority=True)] == [9, 7]


def test_several_topics_each_with_its_lock_duration(api, engine):
    deploy_single(engine, "p", "police")
    deploy_single(engine, "q", "insurance")
    start(engine, "p")
    start(engine, "q")
    body = {
        "workerId": "w1",
        "maxTasks": 5,
        "topics": [
            {"topicName": "police", "lockDuration": 1_000},
            {"topicName": "insurance", "lockDuration": 3_600_000},
        ],
    }
    with time_machine.travel(T0, tick=False):
        tasks = {t["topicName"]: t for t in api.post("/external-task/fetchAndLock", body).get_json()}
    assert tasks["police"]["lockExpirationTime"] == "2030-01-07T16:00:01.000+0700"
    assert tasks["insurance"]["lockExpirationTime"] == "2030-01-07T17:00:00.000+0700"


@pytest.mark.parametrize(
    ("topic_filter", "expected"),
    [
        ({"businessKey": "HS-B"}, {"B"}),
        ({"processDefinitionKey": "q"}, {"B"}),
        ({"processDefinitionKeyIn": ["p", "q"]}, {"A", "B"}),
        ({"processDefinitionVersionTag": "v1"}, {"A"}),
        ({"tenantIdIn": ["so-tu-phap"]}, {"B"}),
        ({"withoutTenantId": True}, {"A"}),
        ({"processVariables": {"district": "Ba Đình"}}, {"A"}),
        ({"processVariables": {"count": 2}}, {"B"}),
        ({"processVariables": {"count": 2.0}}, {"B"}),
        ({"processVariables": {"urgent": True}}, {"A"}),
        ({"processVariables": {"urgent": False, "district": "Ba Đình"}}, set()),
        ({"processVariables": {"note": None}}, {"B"}),
        ({"processVariables": {"tags": ["x", "y"]}}, {"A"}),
        ({"processVariables": {"count": "2"}}, set()),  # a string is not the number
        ({"processVariables": {"missing": "x"}}, set()),
        ({"processVariables": {}}, {"A", "B"}),
    ],
)
def test_topic_filters(api, engine, topic_filter, expected):
    deploy_single(engine, "p", version_tag="v1")
    deploy_single(engine, "q", tenant_id="so-tu-phap")
    labels = {
        start(engine, "p", "HS-A", district="Ba Đình", count=1, urgent=True, tags=["x", "y"]): "A",
        start(engine, "q", "HS-B", district="Hoàn Kiếm", count=2, urgent=False, note=None): "B",
    }
    body = {
        "workerId": "w1",
        "maxTasks": 10,
        "topics": [{"topicName": "police", "lockDuration": 1000, **topic_filter}],
    }
    response = api.post("/external-task/fetchAndLock", body)
    assert response.status_code == 200, response.get_json()
    assert {labels[t["processInstanceId"]] for t in response.get_json()} == expected


def test_process_definition_id_filters(api, engine):
    deploy_single(engine, "p")
    deploy_single(engine, "q")
    start(engine, "p")
    start(engine, "q")
    [p_task] = api.fetch("police", max_tasks=1, sorting=None)
    api.post(f"/external-task/{p_task['id']}/unlock")
    definition_id = p_task["processDefinitionId"]
    body = {
        "workerId": "w1",
        "maxTasks": 10,
        "topics": [{"topicName": "police", "lockDuration": 1000, "processDefinitionIdIn": [definition_id]}],
    }
    assert [t["processDefinitionId"] for t in api.post("/external-task/fetchAndLock", body).get_json()] == [
        definition_id
    ]


def test_incident_suspended_and_in_process_tasks_are_not_fetched(api, engine, runtime, handlers):
    handlers.register("other")(lambda call: {})
    deploy_single(engine, "p", "police")
    deploy_single(engine, "q", "other")  # handled in process: the worker's, not an agency's
    incident, suspended = start(engine, "p"), start(engine, "p")
    start(engine, "q")
    with engine.db.write() as session:
        session.execute(
            update(ExternalTaskRow).where(ExternalTaskRow.instance_id == incident).values(incident=True)
        )
        session.execute(
            update(ExternalTaskRow).where(ExternalTaskRow.instance_id == suspended).values(suspended=True)
        )
    assert api.fetch("police", "other") == []


# -- reading ----------------------------------------------------------------------------------


def test_get_task_and_list(api, engine):
    deploy_single(engine, attrs='camunda:taskPriority="${prio}"')
    with time_machine.travel(T0, tick=False) as traveller:
        first = start(engine, business_key="HS-1", prio=1)
        traveller.shift(timedelta(seconds=1))
        second = start(engine, business_key="HS-2", prio=9)
        [locked] = api.fetch("police", worker="w7", max_tasks=1)
        assert locked["processInstanceId"] == first

        task = api.get(f"/external-task/{locked['id']}").get_json()
        assert set(task) == TASK_FIELDS
        assert task["workerId"] == "w7" and task["lockExpirationTime"] == locked["lockExpirationTime"]

        def ids(**params):
            response = api.get("/external-task", **params)
            assert response.status_code == 200, response.get_json()
            return [t["processInstanceId"] for t in response.get_json()]

        assert ids() == [first, second]
        assert ids(sortBy="taskPriority", sortOrder="desc") == [second, first]
        assert ids(sortBy="createTime", sortOrder="desc", maxResults=1) == [second]
        assert ids(sortBy="createTime", sortOrder="asc", firstResult=1) == [second]
        assert ids(locked="true") == [first]
        assert ids(notLocked="true") == [second]
        assert ids(workerId="w7") == [first]
        assert ids(topicName="police") == [first, second]
        assert ids(topicName="insurance") == []
        assert ids(processInstanceId=second) == [second]
        assert ids(processInstanceIdIn=f"{first},{second}") == [first, second]
        assert ids(externalTaskId=locked["id"]) == [first]
        assert ids(activityIdIn="work,other") == [first, second]
        assert ids(priorityHigherThanOrEquals=5) == [second]
        assert ids(priorityLowerThanOrEquals=5) == [first]
        assert ids(withRetriesLeft="true") == [first, second]
        assert ids(noRetriesLeft="true") == []
        assert ids(active="true") == [first, second]
        assert ids(suspended="true") == []
        assert ids(lockExpirationAfter="2030-01-07T16:00:00.000+0700") == [first]
        assert ids(lockExpirationBefore="2030-01-07T16:00:00.000+0700") == []
        assert api.get("/external-task/count").get_json() == {"count": 2}
        assert api.get("/external-task/count", locked="true").get_json() == {"count": 1}

        posted = api.post(
            "/external-task?maxResults=5",
            {
                "processInstanceIdIn": [first, second],
                "sorting": [{"sortBy": "taskPriority", "sortOrder": "desc"}],
            },
        )
        assert [t["processInstanceId"] for t in posted.get_json()] == [second, first]
        assert api.post("/external-task/count", {"notLocked": True}).get_json() == {"count": 1}


def test_list_rejects_bad_parameters(api):
    assert api.get("/external-task", sortBy="nope", sortOrder="asc").status_code == 400
    assert api.get("/external-task", sortBy="createTime").status_code == 400
    assert api.get("/external-task", locked="yes").status_code == 400
    assert api.get("/external-task", maxResults="many").status_code == 400
    assert api.get("/external-task", lockExpirationAfter="yesterday").status_code == 400


def test_topic_names(api, engine):
    deploy_single(engine, "p", "police")
    deploy_single(engine, "q", "insurance")
    start(engine, "p")
    start(engine, "q")
    api.fetch("police")
    assert api.get("/external-task/topic-names").get_json() == ["insurance", "police"]
    assert api.get("/external-task/topic-names", withLockedTasks="true").get_json() == ["police"]
    assert api.get("/external-task/topic-names", withUnlockedTasks="true").get_json() == ["insurance"]
    assert api.get("/external-task/topic-names", withRetriesLeft="true").get_json() == ["insurance", "police"]


def test_unknown_task_is_a_camunda_404(api):
    response = api.get("/external-task/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.get_json() == {
        "type": "InvalidRequestException",
        "message": "external task '00000000-0000-0000-0000-000000000000' does not exist",
        "code": None,
    }


def test_authentication_and_scope(runtime, client, engine):
    deploy_single(engine)
    body = {"workerId": "w", "maxTasks": 1, "topics": []}
    response = client.post("/engine-rest/external-task/fetchAndLock", json=body)
    assert response.status_code == 401
    assert response.get_json()["type"] == "AuthenticationException"
    desk = make_agency_token(runtime, AGENCY, scopes=("desk",))
    response = client.post(
        "/engine-rest/external-task/fetchAndLock", json=body, headers={"Authorization": f"Bearer {desk}"}
    )
    assert response.status_code == 403
    assert response.get_json()["type"] == "AuthorizationException"
