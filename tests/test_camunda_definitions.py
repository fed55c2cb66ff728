"""``/engine-rest/process-definition``: lists, reads, XML, statistics, and starting instances."""

from __future__ import annotations

import json

import pytest

from orchestrator.services import external_tasks, instances

from .camunda_support import BIRTH, ORDER, bearer, deploy, token

BIRTH_KEY = "lien-thong-khai-sinh"


@pytest.fixture
def staff(runtime) -> dict[str, str]:
    """Camunda Modeler's Deploy and Start buttons use one token: it needs both scopes."""
    return bearer(token(runtime, "analyst", "desk"))


@pytest.fixture
def two_versions(client, staff) -> dict[str, str]:
    """Birth registration v1 and v2, and the order process v1 (tenant "T"): key:version -> id."""
    first = deploy(client, staff, [BIRTH]).get_json()
    changed = BIRTH.read_text(encoding="utf-8").replace("Trả kết quả", "Trả kết quả cho công dân").encode()
    second = deploy(client, staff, [(BIRTH.name, changed)]).get_json()
    order = deploy(client, staff, [ORDER], fields=[("deployment-name", "o"), ("tenant-id", "T")]).get_json()
    ids = {}
    for body in (first, second, order):
        for definition_id, definition in body["deployedProcessDefinitions"].items():
            ids[f"{definition['key']}:{definition['version']}"] = definition_id
    return ids


def _list(client, headers, query: str = "") -> list[tuple[str, int]]:
    response = client.get(f"/engine-rest/process-definition{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [(d["key"], d["version"]) for d in response.get_json()]


def test_list_filters_sorts_and_pages(client, staff, two_versions):
    # Keys' relative order depends on the database's collation: compared as sets.
    assert set(_list(client, staff)) == {(BIRTH_KEY, 1), (BIRTH_KEY, 2), ("Order_Process", 1)}
    assert _list(client, staff, f"?key={BIRTH_KEY}&version=1") == [(BIRTH_KEY, 1)]
    assert set(_list(client, staff, "?latestVersion=true")) == {(BIRTH_KEY, 2), ("Order_Process", 1)}
    assert _list(client, staff, "?keyLike=lien-%25") == [(BIRTH_KEY, 1), (BIRTH_KEY, 2)]
    assert _list(client, staff, "?sortBy=version&sortOrder=desc&maxResults=1") == [(BIRTH_KEY, 2)]
    paged = "?keyLike=lien%25&sortBy=deployTime&sortOrder=desc&firstResult=1&maxResults=5"
    assert _list(client, staff, paged) == [(BIRTH_KEY, 1)]
    assert _list(client, staff, "?tenantIdIn=T") == [("Order_Process", 1)]
    assert _list(client, staff, "?withoutTenantId=true") == [(BIRTH_KEY, 1), (BIRTH_KEY, 2)]
    assert _list(client, staff, "?suspended=true") == []
    assert _list(client, staff, "?keysIn=Order_Process,nope") == [("Order_Process", 1)]
    count = client.get("/engine-rest/process-definition/count?latestVersion=true", headers=staff)
    assert count.get_json() == {"count": 2}


def test_the_python_clients_lookup_by_key_and_version_tag(client, staff, two_versions):
    # ProcessDefinitionClient.get_process_definitions sends exactly these parameters.
    query = f"?key={BIRTH_KEY}&sortBy=version&sortOrder=desc&firstResult=0&maxResults=1"
    assert _list(client, staff, query) == [(BIRTH_KEY, 2)]
    assert _list(client, staff, query + "&versionTagLike=1.%25") == []


def test_bad_parameters_are_invalid_requests(client, staff, two_versions):
    for query in ("?maxResults=many", "?latestVersion=maybe", "?sortBy=color", "?sortOrder=up"):
        response = client.get(f"/engine-rest/process-definition{query}", headers=staff)
        assert response.status_code == 400, query
        assert response.get_json()["type"] == "InvalidRequestException"


def test_get_by_id_by_key_and_the_xml(client, staff, two_versions):
    first = two_versions[f"{BIRTH_KEY}:1"]
    by_id = client.get(f"/engine-rest/process-definition/{first}", headers=staff).get_json()
    assert (by_id["id"], by_id["version"]) == (first, 1)
    by_key = client.get(f"/engine-rest/process-definition/key/{BIRTH_KEY}", headers=staff).get_json()
    assert by_key["id"] == two_versions[f"{BIRTH_KEY}:2"]
    order = client.get("/engine-rest/process-definition/key/Order_Process", headers=staff).get_json()
    assert order["tenantId"] == "T"
    xml = client.get(f"/engine-rest/process-definition/{first}/xml", headers=staff).get_json()
    assert xml == {"id": first, "bpmn20Xml": BIRTH.read_text(encoding="utf-8")}
    latest_xml = client.get(f"/engine-rest/process-definition/key/{BIRTH_KEY}/xml", headers=staff)
    assert "Trả kết quả cho công dân" in latest_xml.get_json()["bpmn20Xml"]
    for path in ("nope", "key/nope", "nope/xml", "key/nope/xml", "key/nope/statistics"):
        missing = client.get(f"/engine-rest/process-definition/{path}", headers=staff)
        assert missing.status_code == 404 and missing.get_json()["type"] == "InvalidRequestException", path


def test_reading_needs_analyst_or_desk(client, runtime, two_versions):
    worker = bearer(token(runtime, "worker", agency="UBND-XA"))
    assert client.get("/engine-rest/process-definition", headers=worker).status_code == 403
    assert client.get("/engine-rest/process-definition").status_code == 401
    desk = bearer(token(runtime, "desk"))
    assert client.get("/engine-rest/process-definition/count", headers=desk).status_code == 200


def test_statistics_count_instances_per_activity_and_incidents(client, staff, engine, two_versions):
    latest = two_versions[f"{BIRTH_KEY}:2"]
    starts = [
        client.post(f"/engine-rest/process-definition/{latest}/start", json={}, headers=staff).get_json()
        for _ in range(3)
    ]

    def check_task(instance_id: str) -> str:
        current = instances.get_instance(engine, instance_id).current_activities
        return next(a["task_id"] for a in current if a["id"] == "KiemTraHoSo")

    # One dossier moves on to the civil registration step, where a timer boundary waits too.
    external_tasks.complete_external_task(
        engine, check_task(starts[0]["id"]), variables={"ketQuaKiemTra": "hop-le"}
    )
    stuck = check_task(starts[1]["id"])
    with engine.db.write() as session:
        external_tasks.mark_incident(session, stuck, "registry unreachable")
    stats = client.get(f"/engine-rest/process-definition/{latest}/statistics", headers=staff).get_json()
    klass = "org.camunda.bpm.engine.rest.dto.repository.ActivityStatisticsResultDto"
    assert stats == [
        {"@class": klass, "id": "DangKyKhaiSinh", "instances": 1, "failedJobs": 0, "incidents": []},
        # The sub-process wrapping the whole dossier is an activity instance of every dossier, as in Camunda.
        {"@class": klass, "id": "GiaiQuyetHoSo", "instances": 3, "failedJobs": 0, "incidents": []},
        {
            "@class": klass,
            "id": "KiemTraHoSo",
            "instances": 2,
            "failedJobs": 1,
            "incidents": [{"incidentType": "failedExternalTask", "incidentCount": 1}],
        },
    ]
    by_key = client.get(f"/engine-rest/process-definition/key/{BIRTH_KEY}/statistics", headers=staff)
    assert by_key.get_json() == stats
    first = two_versions[f"{BIRTH_KEY}:1"]
    assert client.get(f"/engine-rest/process-definition/{first}/statistics", headers=staff).get_json() == []


def test_modeler_start_by_id_starts_that_very_version(client, staff, two_versions):
    first = two_versions[f"{BIRTH_KEY}:1"]
    # Camunda Modeler's body: businessKey and variables, possibly null.
    response = client.post(
        f"/engine-rest/process-definition/{first}/start",
        data=json.dumps({"businessKey": "HS-001", "variables": None}),
        content_type="application/json",
        headers=staff,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body == {
        "links": [
            {
                "method": "GET",
                "href": f"http://localhost/engine-rest/process-instance/{body['id']}",
                "rel": "self",
            }
        ],
        "id": body["id"],
        "definitionId": first,
        "businessKey": "HS-001",
        "caseInstanceId": None,
        "ended": False,
        "suspended": False,
        "tenantId": None,
    }


def test_start_by_key_with_typed_variables_in_return(client, staff, two_versions):
    variables = {
        "hoTen": {"value": "Nguyễn Văn A", "type": "String"},
        "soCon": {"value": 2, "type": "Integer"},
        "ngaySinh": {"value": "2026-01-02T08:00:00.000+0700", "type": "Date"},
        "giayTo": {"value": '{"cccd": "001"}', "type": "Json"},
        "khan": {"value": True},
    }
    response = client.post(
        f"/engine-rest/process-definition/key/{BIRTH_KEY}/start",
        json={"businessKey": "HS-002", "variables": variables, "withVariablesInReturn": True},
        headers=staff,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["definitionId"] == two_versions[f"{BIRTH_KEY}:2"]
    assert body["variables"] == {
        "hoTen": {"type": "String", "value": "Nguyễn Văn A", "valueInfo": {}},
        "soCon": {"type": "Integer", "value": 2, "valueInfo": {}},
        "ngaySinh": {"type": "String", "value": "2026-01-02T08:00:00+07:00", "valueInfo": {}},
        "giayTo": {"type": "Json", "value": '{"cccd": "001"}', "valueInfo": {}},
        "khan": {"type": "Boolean", "value": True, "valueInfo": {}},
    }


def test_start_per_tenant(client, staff, two_versions):
    started = client.post(
        "/engine-rest/process-definition/key/Order_Process/tenant-id/T/start", headers=staff
    )
    assert started.status_code == 200, started.get_json()
    body = started.get_json()
    assert body["tenantId"] == "T" and body["definitionId"] == two_versions["Order_Process:1"]
    other = client.post(f"/engine-rest/process-definition/key/{BIRTH_KEY}/tenant-id/T/start", headers=staff)
    assert other.status_code == 404


def test_start_refusals(client, runtime, staff, two_versions):
    analyst = bearer(token(runtime, "analyst"))
    url = f"/engine-rest/process-definition/key/{BIRTH_KEY}/start"
    assert client.post(url, json={}, headers=analyst).status_code == 403
    assert client.post(url, json={}).status_code == 401
    assert (
        client.post("/engine-rest/process-definition/key/nope/start", json={}, headers=staff).status_code
        == 404
    )
    bad = client.post(url, json={"variables": {"n": {"value": "x", "type": "Integer"}}}, headers=staff)
    assert bad.status_code == 400 and "'n'" in bad.get_json()["message"]
    assert client.post(url, json={"businessKey": 5}, headers=staff).status_code == 400
    assert client.post(url, data="not json", content_type="text/plain", headers=staff).status_code == 400
