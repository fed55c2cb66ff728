"""The minimal HTTP surface of the core, and its RFC 9457 errors."""

from __future__ import annotations

import pytest

from orchestrator.services import definitions

from .api_helpers import authenticate
from .bpmn_builder import flow, resource, two_step

PROBLEM = "application/problem+json"


@pytest.fixture
def client(client, runtime):
    """Every call here is made by a desk officer's token."""
    return authenticate(client, runtime)


@pytest.fixture
def deployed(engine):
    definitions.deploy(engine, [two_step()])


def test_health(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def test_drive_an_instance_to_its_end(client, deployed):
    listed = client.get("/api/v1/process-definitions").get_json()["items"]
    assert [(d["key"], d["version"]) for d in listed] == [("p", 1)]

    started = client.post(
        "/api/v1/process-definitions/p/start",
        json={"businessKey": "HS-001", "variables": {"hoTen": "Nguyễn Văn A"}},
    )
    assert started.status_code == 201
    instance = started.get_json()
    assert instance["businessKey"] == "HS-001" and instance["version"] == 1

    for expected in ("a", "b"):
        current = client.get(f"/api/v1/process-instances/{instance['id']}").get_json()
        assert [a["id"] for a in current["currentActivities"]] == [expected]
        task_id = current["currentActivities"][0]["taskId"]
        done = client.post(
            f"/api/v1/process-instances/{instance['id']}/tasks/{task_id}/complete",
            json={"variables": {f"ketQua_{expected}": "ok"}},
        )
        assert done.status_code == 200, done.get_json()

    final = client.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert final["status"] == "completed"
    assert final["variables"] == {"hoTen": "Nguyễn Văn A", "ketQua_a": "ok", "ketQua_b": "ok"}


def test_completing_twice_is_a_conflict(client, deployed):
    instance = client.post("/api/v1/process-definitions/p/start", json={}).get_json()
    task_id = instance["currentActivities"][0]["taskId"]
    url = f"/api/v1/process-instances/{instance['id']}/tasks/{task_id}/complete"
    assert client.post(url, json={}).status_code == 200
    again = client.post(url, json={})
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert again.get_json()["status"] == 409


def test_stale_if_match_is_a_conflict(client, deployed):
    instance = client.post("/api/v1/process-definitions/p/start", json={}).get_json()
    task_id = instance["currentActivities"][0]["taskId"]
    response = client.post(
        f"/api/v1/process-instances/{instance['id']}/tasks/{task_id}/complete",
        json={},
        headers={"If-Match": str(instance["version"] + 5)},
    )
    assert response.status_code == 409 and response.mimetype == PROBLEM


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("post", "/api/v1/process-definitions/unknown/start", {}, 404),
        ("get", "/api/v1/process-instances/00000000-0000-0000-0000-000000000000", None, 404),
        ("post", "/api/v1/process-definitions/p/start", [1, 2], 400),
        ("post", "/api/v1/process-definitions/p/start", {"businessKey": 5}, 400),
        ("post", "/api/v1/process-definitions/p/start", {"variables": {"_x": 1}}, 400),
        ("get", "/api/v1/nowhere", None, 404),
    ],
)
def test_errors_are_problem_json(client, deployed, method, url, body, status):
    response = getattr(client, method)(url, json=body)
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == status and problem["title"]


def test_malformed_json_is_a_400(client, deployed):
    response = client.post(
        "/api/v1/process-definitions/p/start", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400 and response.mimetype == PROBLEM


def _gateway_process(engine, process_id: str, condition: str) -> None:
    """start -> exclusive gateway with one conditional flow and a default flow."""
    body = "\n".join(
        [
            '<bpmn:startEvent id="s" />',
            '<bpmn:exclusiveGateway id="g" default="f_default" />',
            '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />',
            flow("f_s_g", "s", "g"),
            flow("f_cond", "g", "e1", condition),
            flow("f_default", "g", "e2"),
        ]
    )
    definitions.deploy(engine, [resource(body, process_id=process_id)])


def test_error_bodies_carry_no_dossier_data(client, engine):
    """A failing condition names the expression, never the citizen's values."""
    _gateway_process(engine, "cond", "${soCCCD.missing > 3}")
    response = client.post(
        "/api/v1/process-definitions/cond/start", json={"variables": {"soCCCD": "001099012345"}}
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert "001099012345" not in response.get_data(as_text=True)


def test_step_failure_names_the_expression(client, engine):
    """The 422 says which element and expression failed, so the analyst can fix the diagram."""
    _gateway_process(engine, "cond2", "${chuaKhaiBao > 3}")
    problem = client.post("/api/v1/process-definitions/cond2/start", json={}).get_json()
    assert "'g'" in problem["detail"] and "chuaKhaiBao" in problem["detail"]
