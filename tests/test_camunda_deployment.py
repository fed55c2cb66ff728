"""``POST /engine-rest/deployment/create`` exactly as Camunda Modeler sends it, and the list calls."""

from __future__ import annotations

import re

import pytest

from .camunda_support import BIRTH, BOUNDARY, ORDER, SYNCHRONOUS, basic, bearer, deploy, modeler_body, token

CAMUNDA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0700$")
SYNC_LINE = (
    f'{SYNCHRONOUS.name}:13: ServiceTask_1 "Synchronous Service Task": '
    "camunda:class (Java delegate) is not supported here: use camunda:type=external with a topic"
)


@pytest.fixture
def analyst(runtime) -> dict[str, str]:
    return bearer(token(runtime, "analyst"))


def _definition_count(client, headers) -> int:
    return client.get("/engine-rest/process-definition/count", headers=headers).get_json()["count"]


def test_modeler_deploy_returns_camunda_deployment(client, analyst):
    response = deploy(client, analyst, [BIRTH])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "diagram_1" and body["source"] == "Camunda Modeler"
    assert CAMUNDA_DATE.match(body["deploymentTime"]) and body["tenantId"] is None
    assert body["links"] == [
        {"method": "GET", "href": f"http://localhost/engine-rest/deployment/{body['id']}", "rel": "self"}
    ]
    assert body["deployedCaseDefinitions"] is None and body["deployedDecisionDefinitions"] is None
    assert body["deployedDecisionRequirementsDefinitions"] is None
    [(definition_id, definition)] = body["deployedProcessDefinitions"].items()
    assert definition == {
        "id": definition_id,
        "key": "lien-thong-khai-sinh",
        "category": None,
        "description": None,
        "name": "Liên thông đăng ký khai sinh – đăng ký thường trú – cấp thẻ BHYT cho trẻ dưới 6 tuổi",
        "version": 1,
        "resource": "birth-registration.bpmn",
        "deploymentId": body["id"],
        "diagram": None,
        "suspended": False,
        "tenantId": None,
        "versionTag": None,
        "historyTimeToLive": 180,
        "startableInTasklist": True,
    }


def test_the_literal_modeler_request(client, analyst):
    """Camunda Modeler 5's request, spelled out: fields first, then the diagram named after its file."""
    xml = BIRTH.read_bytes()
    body = (
        b"------WebKitFormBoundaryq3KcFZ1W9yT6mDxA\r\n"
        b'Content-Disposition: form-data; name="deployment-name"\r\n\r\n'
        b"diagram_1\r\n"
        b"------WebKitFormBoundaryq3KcFZ1W9yT6mDxA\r\n"
        b'Content-Disposition: form-data; name="deployment-source"\r\n\r\n'
        b"Camunda Modeler\r\n"
        b"------WebKitFormBoundaryq3KcFZ1W9yT6mDxA\r\n"
        b'Content-Disposition: form-data; name="enable-duplicate-filtering"\r\n\r\n'
        b"true\r\n"
        b"------WebKitFormBoundaryq3KcFZ1W9yT6mDxA\r\n"
        b'Content-Disposition: form-data; name="diagram_1.bpmn"; filename="diagram_1.bpmn"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + xml + b"\r\n"
        b"------WebKitFormBoundaryq3KcFZ1W9yT6mDxA--\r\n"
    )
    assert body == modeler_body([("diagram_1.bpmn", xml)])  # what the other tests send, too
    response = client.post(
        "/engine-rest/deployment/create",
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers=analyst,
    )
    assert response.status_code == 200, response.get_json()
    [definition] = response.get_json()["deployedProcessDefinitions"].values()
    assert definition["resource"] == "diagram_1.bpmn" and definition["key"] == "lien-thong-khai-sinh"


def test_basic_auth_with_the_token_as_password_and_a_text_xml_part(client, runtime):
    headers = basic(token(runtime, "analyst"), user="analyst@so-tu-phap")
    response = deploy(client, headers, [ORDER], file_type="text/xml")
    assert response.status_code == 200, response.get_json()
    [definition] = response.get_json()["deployedProcessDefinitions"].values()
    assert (definition["key"], definition["version"], definition["historyTimeToLive"]) == (
        "Order_Process",
        1,
        180,
    )


def test_without_a_token_401_and_without_the_analyst_scope_403(client, runtime):
    assert deploy(client, {}, [BIRTH]).status_code == 401
    assert deploy(client, bearer("lt_not-a-token"), [BIRTH]).status_code == 401
    assert deploy(client, basic("wrong"), [BIRTH]).status_code == 401
    worker = bearer(token(runtime, "worker", agency="UBND-XA"))
    refused = deploy(client, worker, [BIRTH])
    assert refused.status_code == 403
    assert refused.get_json() == {
        "type": "AuthorizationException",
        "message": "this call needs the 'analyst' scope",
        "code": None,
    }
    assert deploy(client, bearer(token(runtime, "desk")), [BIRTH]).status_code == 403


def test_duplicate_filtering_returns_the_existing_deployment_with_nothing_deployed(client, analyst):
    first = deploy(client, analyst, [BIRTH]).get_json()
    again = deploy(client, analyst, [BIRTH])
    assert again.status_code == 200
    body = again.get_json()
    assert body["id"] == first["id"] and body["deployedProcessDefinitions"] == {}
    assert _definition_count(client, analyst) == 1


def test_deploy_changed_only_filters_too(client, analyst):
    fields = [("deployment-name", "d"), ("deploy-changed-only", "true")]
    deploy(client, analyst, [BIRTH], fields=fields)
    assert deploy(client, analyst, [BIRTH], fields=fields).get_json()["deployedProcessDefinitions"] == {}


def test_without_duplicate_filtering_the_same_content_is_a_new_version(client, analyst):
    fields = [("deployment-name", "d"), ("enable-duplicate-filtering", "false")]
    deploy(client, analyst, [BIRTH], fields=fields)
    [definition] = (
        deploy(client, analyst, [BIRTH], fields=fields).get_json()["deployedProcessDefinitions"].values()
    )
    assert definition["version"] == 2


def test_changed_content_is_version_2_in_a_new_deployment(client, analyst):
    first = deploy(client, analyst, [BIRTH]).get_json()
    text = BIRTH.read_text(encoding="utf-8")
    changed = text.replace('name="Trả kết quả"', 'name="Trả kết quả cho công dân"').encode()
    assert changed != BIRTH.read_bytes()
    second = deploy(client, analyst, [(BIRTH.name, changed)]).get_json()
    [definition] = second["deployedProcessDefinitions"].values()
    assert definition["version"] == 2 and definition["deploymentId"] == second["id"] != first["id"]
    [old] = first["deployedProcessDefinitions"]
    assert definition["id"] != old


def test_all_modeler_fields_and_the_tenant_echoed(client, analyst):
    fields = [
        ("deployment-name", "khai-sinh"),
        ("deployment-source", "Camunda Modeler"),
        ("deploy-changed-only", "true"),
        ("enable-duplicate-filtering", "true"),
        ("tenant-id", "HA-NOI"),
        ("deployment-activation-time", "2020-01-01T00:00:00.000+0700"),
    ]
    body = deploy(client, analyst, [BIRTH, ORDER], fields=fields).get_json()
    assert body["tenantId"] == "HA-NOI" and body["name"] == "khai-sinh"
    definitions = body["deployedProcessDefinitions"].values()
    assert {(d["key"], d["tenantId"]) for d in definitions} == {
        ("lien-thong-khai-sinh", "HA-NOI"),
        ("Order_Process", "HA-NOI"),
    }


def test_a_future_activation_time_is_refused(client, analyst):
    fields = [("deployment-name", "d"), ("deployment-activation-time", "2999-01-01T00:00:00.000+0700")]
    response = deploy(client, analyst, [BIRTH], fields=fields)
    assert response.status_code == 400 and "activation" in response.get_json()["message"]


def test_a_refused_corpus_file_gives_camunda_parse_exception_with_located_lines(client, analyst):
    response = deploy(client, analyst, [SYNCHRONOUS])
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "ParseException" and body["code"] is None
    assert body["message"].splitlines() == ["ENGINE-09005 Could not parse BPMN process. Errors:", SYNC_LINE]
    assert body["details"] == {
        SYNCHRONOUS.name: {
            "errors": [
                {
                    "message": "camunda:class (Java delegate) is not supported here: "
                    "use camunda:type=external with a topic",
                    "line": 13,
                    "column": None,
                    "mainElementId": "ServiceTask_1",
                    "elementIds": ["ServiceTask_1"],
                }
            ],
            "warnings": [],
        }
    }
    assert _definition_count(client, analyst) == 0


def test_one_refused_file_refuses_all_and_warnings_of_the_others_are_listed(client, analyst):
    body = deploy(client, analyst, [ORDER, SYNCHRONOUS]).get_json()
    assert body["type"] == "ParseException"
    assert body["details"][SYNCHRONOUS.name]["errors"][0]["mainElementId"] == "ServiceTask_1"
    [warning] = body["details"][ORDER.name]["warnings"]
    assert warning["line"] == 30 and warning["mainElementId"] == "StartEvent_1"
    assert body["details"][ORDER.name]["errors"] == []
    assert _definition_count(client, analyst) == 0


def test_malformed_xml_is_a_parse_exception(client, analyst):
    response = deploy(client, analyst, [("broken.bpmn", b"<bpmn:definitions")])
    assert response.status_code == 400
    [line] = response.get_json()["message"].splitlines()[1:]
    assert line.startswith("broken.bpmn:1: malformed XML")


def test_no_file_or_a_non_bpmn_file_is_an_invalid_request(client, analyst):
    empty = deploy(client, analyst, [])
    assert empty.status_code == 400 and empty.get_json()["type"] == "InvalidRequestException"
    form = deploy(client, analyst, [BIRTH, ("form.form", b"{}")])
    assert form.status_code == 400 and "'form.form' is not a BPMN diagram" in form.get_json()["message"]


def test_modeler_connection_check_and_deployment_reads(client, runtime, analyst):
    # Camunda Modeler's "check connection", with its Basic authentication.
    check = client.get("/engine-rest/deployment?maxResults=0", headers=basic(token(runtime, "analyst")))
    assert check.status_code == 200 and check.get_json() == []
    assert client.get("/engine-rest/deployment?maxResults=0").status_code == 401
    first = deploy(client, analyst, [BIRTH]).get_json()
    second = deploy(
        client, analyst, [ORDER], fields=[("deployment-name", "order"), ("tenant-id", "T")]
    ).get_json()
    listed = client.get("/engine-rest/deployment?sortBy=deploymentTime&sortOrder=desc", headers=analyst)
    assert [d["id"] for d in listed.get_json()] == [second["id"], first["id"]]
    named = client.get("/engine-rest/deployment?nameLike=ord%25", headers=analyst).get_json()
    assert [d["id"] for d in named] == [second["id"]]
    count = client.get("/engine-rest/deployment/count?tenantIdIn=T", headers=analyst).get_json()
    assert count == {"count": 1}
    one = client.get(f"/engine-rest/deployment/{first['id']}", headers=analyst).get_json()
    assert one["id"] == first["id"] and one["source"] == "Camunda Modeler"
    missing = client.get("/engine-rest/deployment/nope", headers=analyst)
    assert missing.status_code == 404 and missing.get_json()["type"] == "InvalidRequestException"
