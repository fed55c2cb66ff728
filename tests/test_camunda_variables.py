"""``/engine-rest/process-instance/{id}`` and its variables, for desks and agency workers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator.services import definitions, external_tasks, instances, process_variables
from orchestrator.store.models import Event

from .bpmn_builder import chain, external, resource
from .camunda_support import BIRTH, bearer, token

BIRTH_KEY = "lien-thong-khai-sinh"


@pytest.fixture
def desk(runtime) -> dict[str, str]:
    return bearer(token(runtime, "desk"))


@pytest.fixture
def dossier(engine) -> str:
    """A birth registration at its first step, the civil-status check of UBND-XA."""
    definitions.deploy(engine, definitions.resources_from_paths([BIRTH]))
    return instances.start_instance(
        engine, BIRTH_KEY, business_key="HS-100", variables={"hoTen": "Lê Văn C", "soCon": 1}
    ).id


def _task(engine, instance_id: str) -> str:
    """The open external task (the birth diagram's sub-process and boundary events are open too)."""
    current = instances.get_instance(engine, instance_id).current_activities
    [task] = [a["task_id"] for a in current if a["type"] == "ExternalTask"]
    return task


def test_get_instance_and_typed_variables(client, engine, desk, dossier):
    body = client.get(f"/engine-rest/process-instance/{dossier}", headers=desk).get_json()
    assert body["id"] == dossier and body["businessKey"] == "HS-100" and body["ended"] is False
    assert body["definitionId"].startswith(f"{BIRTH_KEY}:1:") and body["suspended"] is False
    assert body["links"][0]["href"] == f"http://localhost/engine-rest/process-instance/{dossier}"
    variables = client.get(
        f"/engine-rest/process-instance/{dossier}/variables?deserializeValues=false", headers=desk
    )
    assert variables.get_json() == {
        "hoTen": {"type": "String", "value": "Lê Văn C", "valueInfo": {}},
        "soCon": {"type": "Integer", "value": 1, "valueInfo": {}},
    }
    one = client.get(f"/engine-rest/process-instance/{dossier}/variables/soCon", headers=desk)
    assert one.get_json() == {"type": "Integer", "value": 1, "valueInfo": {}}
    assert (
        client.get(f"/engine-rest/process-instance/{dossier}/variables/nope", headers=desk).status_code == 404
    )
    missing = client.get("/engine-rest/process-instance/nope/variables", headers=desk)
    assert missing.status_code == 404 and missing.get_json()["type"] == "InvalidRequestException"


def test_modifications_and_deletions_are_one_recorded_step(client, engine, desk, dossier):
    before = instances.get_instance(engine, dossier).version
    response = client.post(
        f"/engine-rest/process-instance/{dossier}/variables",
        json={
            "modifications": {
                "ketQuaKiemTra": {"value": "hop-le", "type": "String"},
                "giayTo": {"value": '{"cccd": "001"}', "type": "Json"},
                "soCon": {"value": 2, "type": "Integer"},
            },
            "deletions": ["hoTen", "giayTo"],  # Camunda deletes after it modifies
        },
        headers=desk,
    )
    assert response.status_code == 204 and response.data == b""
    after = instances.get_instance(engine, dossier)
    assert after.version == before + 1
    assert after.variables == {"soCon": 2, "ketQuaKiemTra": "hop-le"}
    with engine.db.read() as session:
        event = session.scalars(
            select(Event).where(Event.instance_id == dossier, Event.type == "variables_modified")
        ).one()
    # History names what changed, never the values.
    assert event.data == {"modified": ["giayTo", "ketQuaKiemTra", "soCon"], "deleted": ["giayTo", "hoTen"]}
    assert event.actor == "test-desk"

    # The open task carried the change: completing it takes the gateway on the new value.
    external_tasks.complete_external_task(engine, _task(engine, dossier))
    now_at = {a["id"] for a in instances.get_instance(engine, dossier).current_activities}
    assert "DangKyKhaiSinh" in now_at and "KiemTraHoSo" not in now_at


def test_put_and_delete_one_variable(client, engine, desk, dossier):
    url = f"/engine-rest/process-instance/{dossier}/variables/soCon"
    assert client.put(url, json={"value": 5, "type": "Long"}, headers=desk).status_code == 204
    assert process_variables.get_variables(engine, dossier)["soCon"] == 5
    assert client.delete(url, headers=desk).status_code == 204
    assert "soCon" not in process_variables.get_variables(engine, dossier)


def test_modification_refusals(client, runtime, engine, desk, dossier):
    url = f"/engine-rest/process-instance/{dossier}/variables"
    version = instances.get_instance(engine, dossier).version
    for body in (
        {"modifications": {"n": {"value": "x", "type": "Integer"}}},
        {"modifications": {"_secret": {"value": 1}}},
        {"modifications": []},
        {"deletions": "hoTen"},
        {"deletions": [5]},
    ):
        response = client.post(url, json=body, headers=desk)
        assert response.status_code == 400, body
        assert response.get_json()["type"] == "InvalidRequestException"
    assert instances.get_instance(engine, dossier).version == version
    assert (
        client.post("/engine-rest/process-instance/nope/variables", json={}, headers=desk).status_code == 404
    )
    worker = bearer(token(runtime, "worker", agency="UBND-XA"))
    assert client.post(url, json={}, headers=worker).status_code == 403
    assert client.post(url, json={}, headers=bearer(token(runtime, "analyst"))).status_code == 403


def test_a_worker_reads_instances_where_its_agency_has_or_had_a_task(client, runtime, engine, dossier):
    commune = bearer(token(runtime, "worker", agency="UBND-XA"))
    police = bearer(token(runtime, "worker", agency="CA-XA"))
    url = f"/engine-rest/process-instance/{dossier}/variables"
    assert client.get(url, headers=commune).status_code == 200  # its task is open
    hidden = client.get(url, headers=police)
    assert hidden.status_code == 404
    assert hidden.get_json()["message"] == f"Process instance with id {dossier} does not exist"
    assert client.get(f"/engine-rest/process-instance/{dossier}", headers=police).status_code == 404

    # The commune's task is done and the police's is open: both may read, from history and projection.
    external_tasks.complete_external_task(
        engine, _task(engine, dossier), variables={"ketQuaKiemTra": "hop-le"}
    )
    external_tasks.complete_external_task(engine, _task(engine, dossier))
    current = instances.get_instance(engine, dossier).current_activities
    assert "DangKyThuongTru" in [a["id"] for a in current]
    assert client.get(url, headers=commune).get_json()["ketQuaKiemTra"]["value"] == "hop-le"
    assert client.get(f"/engine-rest/process-instance/{dossier}", headers=police).status_code == 200
    insurance = bearer(token(runtime, "worker", agency="BHXH"))
    assert client.get(url, headers=insurance).status_code == 404
    assert client.get(url, headers=bearer(token(runtime, "analyst"))).status_code == 403
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(token(runtime, "admin"))).status_code == 200


def test_an_ended_instance_is_shown_ended_and_cannot_change(client, engine, desk):
    body = "\n".join(
        [
            '<bpmn:startEvent id="s" />',
            external("t", "short"),
            '<bpmn:endEvent id="e" />',
            chain("s", "t", "e"),
        ]
    )
    definitions.deploy(engine, [resource(body, process_id="short")])
    started = instances.start_instance(engine, "short", variables={"a": 1})
    external_tasks.complete_external_task(
        engine, started.current_activities[0]["task_id"], variables={"b": 2}
    )
    shown = client.get(f"/engine-rest/process-instance/{started.id}", headers=desk).get_json()
    assert shown["ended"] is True
    variables = client.get(f"/engine-rest/process-instance/{started.id}/variables", headers=desk).get_json()
    assert {name: v["value"] for name, v in variables.items()} == {"a": 1, "b": 2}
    response = client.post(
        f"/engine-rest/process-instance/{started.id}/variables",
        json={"modifications": {"a": {"value": 3}}},
        headers=desk,
    )
    assert response.status_code == 400 and "has ended" in response.get_json()["message"]


def test_a_changed_variable_is_not_shadowed_by_a_timer_waiting_on_the_wrapping_step(engine, dossier):
    """Birth registration's whole-dossier timer waits beside the work with the data of its start."""
    external_tasks.complete_external_task(
        engine, _task(engine, dossier), variables={"ketQuaKiemTra": "hop-le", "hoTen": "Trần Văn Bình"}
    )
    assert instances.get_instance(engine, dossier).variables["hoTen"] == "Trần Văn Bình"
