"""/api/v1: tokens and scopes, procedures, dossiers (list, read, cancel, history), agency tasks."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from orchestrator.access import add_agency, create_token, map_topic, revoke_token
from orchestrator.services import definitions
from orchestrator.store.history import verify_chain
from orchestrator.store.models import Event, ExternalTaskRow, UserTaskRow

from .api_helpers import auth_headers
from .bpmn_builder import chain, external, resource, two_step

PROBLEM = "application/problem+json"
SOME_ID = "00000000-0000-0000-0000-000000000000"
EVERY_ROUTE = [
    ("get", "/api/v1/process-definitions"),
    ("get", "/api/v1/process-definitions/p"),
    ("post", "/api/v1/process-definitions/p/start"),
    ("get", "/api/v1/process-instances"),
    ("get", f"/api/v1/process-instances/{SOME_ID}"),
    ("post", f"/api/v1/process-instances/{SOME_ID}/cancel"),
    ("post", f"/api/v1/process-instances/{SOME_ID}/tasks/{SOME_ID}/complete"),
    ("get", f"/api/v1/process-instances/{SOME_ID}/history"),
    ("get", "/api/v1/agencies/CA-XA/tasks"),
]


@pytest.fixture
def agencies(runtime):
    """Police (CA-XA) does step a of ``two_step``, social insurance (BHXH) step b."""
    add_agency(runtime.db, "CA-XA", "Công an cấp xã")
    add_agency(runtime.db, "BHXH", "Bảo hiểm xã hội")
    map_topic(runtime.db, "police", "CA-XA")
    map_topic(runtime.db, "insurance", "BHXH")


@pytest.fixture
def deployed(engine, agencies):
    definitions.deploy(engine, [two_step()])


@pytest.fixture
def desk(runtime):
    return auth_headers(runtime)


def start(client, headers, business_key=None, key="p", **variables):
    response = client.post(
        f"/api/v1/process-definitions/{key}/start",
        json={"businessKey": business_key, "variables": variables},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def complete_current(client, headers, instance):
    task_id = instance["currentActivities"][0]["taskId"]
    response = client.post(
        f"/api/v1/process-instances/{instance['id']}/tasks/{task_id}/complete", json={}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- authentication and scopes -----------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), EVERY_ROUTE)
def test_every_route_needs_a_token(client, method, url):
    """No anonymous access: 401 problem+json with a Bearer challenge, before any validation."""
    response = getattr(client, method)(url, json=[1])
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.get_json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "url"), EVERY_ROUTE)
def test_a_token_without_the_scope_is_forbidden(client, runtime, method, url):
    """An analyst token (deploys diagrams only) may call none of these routes."""
    response = getattr(client, method)(url, json={}, headers=auth_headers(runtime, ("analyst",)))
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert response.get_json()["status"] == 403


def test_unknown_and_revoked_tokens_are_refused(client, runtime, deployed):
    api_client, token = create_token(runtime.db, name="desk", scopes=["desk"])
    url = "/api/v1/process-definitions"
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get(url, headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    assert client.get(url, headers={"Authorization": token}).status_code == 401  # no scheme
    revoke_token(runtime.db, api_client.id)
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_basic_auth_password_is_a_token(client, runtime, deployed):
    """Camunda Modeler and some clients send Basic; the password is the token."""
    token = auth_headers(runtime)["Authorization"].removeprefix("Bearer ")
    basic = base64.b64encode(f"anyone:{token}".encode()).decode()
    response = client.get("/api/v1/process-definitions", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200


def test_admin_passes_every_scope(client, runtime, deployed):
    admin = auth_headers(runtime, ("admin",))
    instance = start(client, admin, "HS-ADMIN")
    assert client.get(f"/api/v1/process-instances/{instance['id']}", headers=admin).status_code == 200
    assert client.get("/api/v1/agencies/CA-XA/tasks", headers=admin).status_code == 200


def test_docs_and_spec_are_public(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "swagger" in docs.get_data(as_text=True).lower()


# -- errors ------------------------------------------------------------------------------


def test_validation_errors_name_fields_never_values(client, desk, deployed):
    secret = "001099012345"
    response = client.post(
        "/api/v1/process-definitions/p/start",
        json={"businessKey": {"soCCCD": secret}, "hoTen": secret},
        headers=desk,
    )
    assert response.status_code == 400 and response.mimetype == PROBLEM
    problem = response.get_json()
    assert {(e["in"], e["field"]) for e in problem["errors"]} == {("body", "businessKey"), ("body", "hoTen")}
    assert secret not in response.get_data(as_text=True)


def test_invalid_query_parameters_are_named(client, desk):
    response = client.get("/api/v1/process-instances?status=paused&limit=0&colour=red", headers=desk)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    fields = {(e["in"], e["field"]) for e in response.get_json()["errors"]}
    assert fields == {("query", "status"), ("query", "limit"), ("query", "colour")}


# -- process definitions -----------------------------------------------------------------


def test_definitions_list_the_newest_version_of_each_key(client, engine, desk):
    definitions.deploy(engine, [two_step()])
    definitions.deploy(engine, [two_step(topic_a="changed")])  # p becomes version 2
    definitions.deploy(engine, [two_step(process_id="a-first")])
    listed = client.get("/api/v1/process-definitions", headers=desk).get_json()
    assert [(d["key"], d["version"]) for d in listed["items"]] == [("a-first", 1), ("p", 2)]
    assert listed["nextCursor"] is None
    assert set(listed["items"][0]) == {"id", "key", "version", "name", "versionTag", "resource", "deployedAt"}


def test_definition_by_key_is_the_newest_unless_a_version_is_asked(client, engine, desk):
    definitions.deploy(engine, [two_step()])
    definitions.deploy(engine, [two_step(topic_a="changed")])
    newest = client.get("/api/v1/process-definitions/p", headers=desk).get_json()
    assert newest["version"] == 2 and newest["key"] == "p" and "properties" in newest
    first = client.get("/api/v1/process-definitions/p?version=1", headers=desk).get_json()
    assert first["version"] == 1 and first["id"] != newest["id"]
    missing = client.get("/api/v1/process-definitions/p?version=3", headers=desk)
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert client.get("/api/v1/process-definitions/p?version=0", headers=desk).status_code == 400
    assert client.get("/api/v1/process-definitions/nope", headers=desk).status_code == 404


# -- process instances -------------------------------------------------------------------


def test_instance_json_keeps_its_shape(client, desk, deployed):
    instance = start(client, desk, "HS-1", hoTen="Nguyễn Văn A")
    assert set(instance) == {
        "id", "definitionId", "processKey", "businessKey", "status", "version", "variables",
        "currentActivities", "nextTimerAt", "createdAt", "endedAt",
    }  # fmt: skip
    assert set(instance["currentActivities"][0]) == {"id", "name", "type", "state", "taskId"}
    assert client.get(f"/api/v1/process-instances/{instance['id']}", headers=desk).get_json() == instance


def test_start_records_the_calling_client_as_actor(client, runtime, deployed):
    api_client, token = create_token(runtime.db, name="quầy một cửa", scopes=["desk"])
    instance = start(client, {"Authorization": f"Bearer {token}"}, "HS-ACTOR")
    history = client.get(
        f"/api/v1/process-instances/{instance['id']}/history", headers={"Authorization": f"Bearer {token}"}
    ).get_json()["items"]
    assert history[0]["type"] == "instance_started" and history[0]["actor"] == f"client:{api_client.id}"


def test_instances_are_filtered(client, desk, deployed, engine):
    definitions.deploy(engine, [two_step(process_id="q")])
    at_police = start(client, desk, "HS-1")
    at_insurance = complete_current(client, desk, start(client, desk, "HS-2"))
    finished = complete_current(client, desk, complete_current(client, desk, start(client, desk, "HS-3")))
    other = start(client, desk, "HS-4", key="q")

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/process-instances?{query}", headers=desk)
        assert response.status_code == 200, response.get_json()
        return [i["id"] for i in response.get_json()["items"]]

    assert ids("") == [other["id"], finished["id"], at_insurance["id"], at_police["id"]]
    assert ids("status=completed") == [finished["id"]]
    assert ids("status=running&procedure=p") == [at_insurance["id"], at_police["id"]]
    assert ids("procedure=q") == [other["id"]]
    assert ids("businessKey=HS-2") == [at_insurance["id"]]
    # q's step a also goes to the police: the agency filter spans procedures.
    assert ids("agency=CA-XA") == [other["id"], at_police["id"]]
    assert ids("agency=BHXH") == [at_insurance["id"]]
    assert ids("agency=BHXH&businessKey=HS-1") == []


def test_unknown_instance_is_a_404(client, desk):
    for url in (f"/api/v1/process-instances/{SOME_ID}", f"/api/v1/process-instances/{SOME_ID}/history"):
        response = client.get(url, headers=desk)
        assert response.status_code == 404 and response.mimetype == PROBLEM


# -- cancellation ------------------------------------------------------------------------


def test_cancel_ends_the_dossier_in_one_step(client, runtime, engine, deployed):
    api_client, token = create_token(runtime.db, name="desk", scopes=["desk"])
    desk = {"Authorization": f"Bearer {token}"}
    instance = complete_current(client, desk, start(client, desk, "HS-9", hoTen="Trần Thị B"))

    response = client.post(
        f"/api/v1/process-instances/{instance['id']}/cancel",
        json={"reason": "Công dân rút hồ sơ"},
        headers={**desk, "If-Match": f'"{instance["version"]}"'},
    )

    assert response.status_code == 200, response.get_json()
    cancelled = response.get_json()
    assert cancelled["status"] == "cancelled" and cancelled["currentActivities"] == []
    assert cancelled["endedAt"] is not None and cancelled["version"] == instance["version"] + 1
    assert cancelled["variables"] == instance["variables"]  # what the dossier held is kept
    with engine.db.read() as session:
        assert session.scalars(select(ExternalTaskRow)).all() == []
        events = list(session.scalars(select(Event).order_by(Event.id)))
    assert verify_chain(events)
    assert events[-1].type == "instance_cancelled"
    assert events[-1].actor == f"client:{api_client.id}"
    assert events[-1].data == {"reason": "Công dân rút hồ sơ"}
    assert "instance_completed" not in [e.type for e in events]
    history = client.get(f"/api/v1/process-instances/{instance['id']}/history", headers=desk).get_json()
    assert history["items"][-1] == {
        "type": "instance_cancelled",
        "activityId": None,
        "taskId": None,
        "actor": f"client:{api_client.id}",
        "at": history["items"][-1]["at"],
        "data": {"reason": "Công dân rút hồ sơ"},
    }


def test_a_cancelled_dossier_takes_no_more_changes(client, desk, deployed):
    instance = start(client, desk, "HS-10")
    url = f"/api/v1/process-instances/{instance['id']}"
    assert client.post(f"{url}/cancel", json={"reason": "trùng hồ sơ"}, headers=desk).status_code == 200

    again = client.post(f"{url}/cancel", json={"reason": "again"}, headers=desk)
    assert again.status_code == 409 and again.mimetype == PROBLEM
    task_id = instance["currentActivities"][0]["taskId"]
    late = client.post(f"{url}/tasks/{task_id}/complete", json={}, headers=desk)
    assert late.status_code == 409 and late.mimetype == PROBLEM
    listed = client.get("/api/v1/process-instances?status=cancelled", headers=desk).get_json()["items"]
    assert [i["id"] for i in listed] == [instance["id"]]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({}, {}, 400),  # a reason is required
        ({"reason": "   "}, {}, 400),
        ({"reason": "x" * 1001}, {}, 400),
        ({"reason": "ok"}, {"If-Match": '"99"'}, 409),  # stale version
        ({"reason": "ok"}, {"If-Match": "v1"}, 400),
    ],
)
def test_cancel_refusals_change_nothing(client, desk, deployed, body, headers, status):
    instance = start(client, desk, "HS-11")
    url = f"/api/v1/process-instances/{instance['id']}"
    response = client.post(f"{url}/cancel", json=body, headers={**desk, **headers})
    assert response.status_code == status and response.mimetype == PROBLEM
    assert client.get(url, headers=desk).get_json() == instance


def test_cancel_unknown_instance_is_a_404(client, desk):
    response = client.post(f"/api/v1/process-instances/{SOME_ID}/cancel", json={"reason": "x"}, headers=desk)
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_cancel_removes_user_task_rows(client, desk, engine):
    body = "\n".join(
        [
            '<bpmn:startEvent id="s" />',
            '<bpmn:userTask id="review" />',
            '<bpmn:endEvent id="e" />',
            chain("s", "review", "e"),
        ]
    )
    definitions.deploy(engine, [resource(body, process_id="u")])
    instance = start(client, desk, "HS-U", key="u")
    with engine.db.read() as session:
        assert len(session.scalars(select(UserTaskRow)).all()) == 1
    cancel = client.post(
        f"/api/v1/process-instances/{instance['id']}/cancel", json={"reason": "x"}, headers=desk
    )
    assert cancel.status_code == 200
    with engine.db.read() as session:
        assert session.scalars(select(UserTaskRow)).all() == []


# -- history -----------------------------------------------------------------------------


def test_history_lists_events_in_order(client, desk, deployed):
    instance = complete_current(client, desk, start(client, desk, "HS-12", hoTen="Lê C"))
    history = client.get(f"/api/v1/process-instances/{instance['id']}/history", headers=desk).get_json()
    assert [(e["type"], e["activityId"]) for e in history["items"]] == [
        ("instance_started", None),
        ("handed_over", "a"),
        ("task_completed", "a"),
        ("handed_over", "b"),
    ]
    assert history["items"][2]["data"] == {"variables": []}
    assert history["items"][1]["data"]["agency"] == "CA-XA"
    assert all(set(e) == {"type", "activityId", "taskId", "actor", "at", "data"} for e in history["items"])
    assert history["nextCursor"] is None


# -- agency tasks ------------------------------------------------------------------------


def test_a_worker_sees_its_own_agency_tasks_only(client, runtime, desk, deployed):
    first = start(client, desk, "HS-20")
    complete_current(client, desk, start(client, desk, "HS-21"))  # now at BHXH
    police = auth_headers(runtime, ("worker",), agency="CA-XA")

    own = client.get("/api/v1/agencies/CA-XA/tasks", headers=police)
    assert own.status_code == 200, own.get_json()
    tasks = own.get_json()["items"]
    assert [(t["instanceId"], t["activityId"], t["topic"]) for t in tasks] == [(first["id"], "a", "police")]
    assert tasks[0]["id"] == first["currentActivities"][0]["taskId"]
    assert tasks[0]["businessKey"] == "HS-20" and "variables" not in tasks[0]

    other = client.get("/api/v1/agencies/BHXH/tasks", headers=police)
    assert other.status_code == 404 and other.mimetype == PROBLEM
    unknown = client.get("/api/v1/agencies/NOWHERE/tasks", headers=police)
    assert (
        unknown.status_code == 404
        and unknown.get_json()["detail"].replace("NOWHERE", "BHXH") == (other.get_json()["detail"])
    )  # an existing and an unknown agency look the same


def test_admin_sees_any_agency_and_desk_sees_none(client, runtime, desk, deployed):
    complete_current(client, desk, start(client, desk, "HS-22"))
    admin = auth_headers(runtime, ("admin",))
    tasks = client.get("/api/v1/agencies/BHXH/tasks", headers=admin).get_json()["items"]
    assert [t["activityId"] for t in tasks] == ["b"]
    assert client.get("/api/v1/agencies/BHXH/tasks", headers=desk).status_code == 403


def test_agency_tasks_are_oldest_first(client, runtime, desk, engine, agencies):
    body = "\n".join(
        [
            '<bpmn:startEvent id="s" />',
            '<bpmn:parallelGateway id="fork" />',
            external("x", "police"),
            external("y", "police"),
            chain("s", "fork", "x"),
            chain("fork", "y"),
        ]
    )
    definitions.deploy(engine, [resource(body, process_id="par")])
    first = start(client, desk, "HS-30", key="par")
    second = start(client, desk, "HS-31", key="par")
    police = auth_headers(runtime, ("worker",), agency="CA-XA")
    tasks = client.get("/api/v1/agencies/CA-XA/tasks", headers=police).get_json()["items"]
    assert [t["instanceId"] for t in tasks] == [first["id"]] * 2 + [second["id"]] * 2
