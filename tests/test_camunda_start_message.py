"""``POST /engine-rest/message``: to a waiting instance, or a message start event (Camunda semantics)."""

from __future__ import annotations

import pytest

from orchestrator.services import definitions, external_tasks, instances

from .bpmn_builder import chain, resource
from .camunda_support import BIRTH, MESSAGE_START, bearer, deploy, token

START_MESSAGE = "instantiationMessage"
RESUBMIT = "bo-sung-ho-so"  # birth registration waits for it when documents are missing


@pytest.fixture
def desk(runtime) -> dict[str, str]:
    return bearer(token(runtime, "desk"))


@pytest.fixture
def analyst(runtime) -> dict[str, str]:
    return bearer(token(runtime, "analyst"))


# The birth diagram's wrap stays open all along: its sub-process, whole-dossier timer and refusal boundary.
BIRTH_WRAP = {"GiaiQuyetHoSo", "QuaHanHoSo", "BienTuChoi"}


def _waiting_for_documents(engine, business_key: str) -> str:
    """A birth registration dossier that waits for the citizen's missing documents."""
    view = instances.start_instance(engine, "lien-thong-khai-sinh", business_key=business_key)
    [check] = [a["task_id"] for a in view.current_activities if a["id"] == "KiemTraHoSo"]
    external_tasks.complete_external_task(engine, check, variables={"ketQuaKiemTra": "bo-sung"})
    assert _activities(engine, view.id) == ["ChoBoSung"]
    return view.id


def _activities(engine, instance_id: str) -> list[str]:
    current = instances.get_instance(engine, instance_id).current_activities
    return [a["id"] for a in current if a["id"] not in BIRTH_WRAP]


def _catching_process(message: str = START_MESSAGE):
    """A process whose instances wait for ``message`` after they start."""
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="M" />'
            "</bpmn:intermediateCatchEvent>",
            '<bpmn:userTask id="review" />',
            '<bpmn:endEvent id="end" />',
            chain("start", "wait", "review", "end"),
        ]
    )
    return resource(body, process_id="waits", extra=f'<bpmn:message id="M" name="{message}" />')


def test_message_reaches_the_dossier_waiting_with_that_business_key(client, engine, analyst, desk):
    deploy(client, analyst, [BIRTH])
    waiting = _waiting_for_documents(engine, "HS-001")
    other = _waiting_for_documents(engine, "HS-002")
    response = client.post(
        "/engine-rest/message",
        json={
            "messageName": RESUBMIT,
            "businessKey": "HS-001",
            "processVariables": {"soGiayTo": {"value": 3, "type": "Integer"}},
        },
        headers=desk,
    )
    assert response.status_code == 204 and response.data == b""
    assert _activities(engine, waiting) == ["KiemTraHoSo"]
    assert instances.get_instance(engine, waiting).variables["soGiayTo"] == 3
    assert _activities(engine, other) == ["ChoBoSung"]


def test_result_enabled_lists_the_execution_with_its_variables(client, engine, analyst, desk):
    deploy(client, analyst, [BIRTH])
    waiting = _waiting_for_documents(engine, "HS-003")
    response = client.post(
        "/engine-rest/message",
        json={
            "messageName": RESUBMIT,
            "processInstanceId": waiting,
            "resultEnabled": True,
            "variablesInResultEnabled": True,
        },
        headers=desk,
    )
    assert response.status_code == 200
    [result] = response.get_json()
    assert result["resultType"] == "Execution" and result["processInstance"] is None
    assert result["execution"] == {
        "id": waiting,
        "processInstanceId": waiting,
        "ended": False,
        "tenantId": None,
    }
    assert result["variables"]["ketQuaKiemTra"] == {"type": "String", "value": "bo-sung", "valueInfo": {}}


def test_message_start_event_starts_a_new_instance(client, engine, analyst, desk):
    deploy(client, analyst, [MESSAGE_START])
    response = client.post(
        "/engine-rest/message",
        json={
            "messageName": START_MESSAGE,
            "businessKey": "HS-010",
            "processVariables": {"hoTen": {"value": "Trần Thị B", "type": "String"}},
            "resultEnabled": True,
        },
        headers=desk,
    )
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    assert result["resultType"] == "ProcessDefinition" and result["execution"] is None
    started = result["processInstance"]
    assert started["businessKey"] == "HS-010" and started["definitionId"].startswith(
        "Message_Start_Process:1:"
    )
    assert started["links"][0]["href"].endswith(f"/engine-rest/process-instance/{started['id']}")
    view = instances.get_instance(engine, started["id"])
    assert view.variables == {"hoTen": "Trần Thị B"} and _activities(engine, view.id) == ["UserTask_1"]


def test_the_newest_version_with_that_start_message_is_started(client, engine, analyst, desk):
    deploy(client, analyst, [MESSAGE_START])
    changed = MESSAGE_START.read_bytes().replace(b"Wait in Message Process", b"Wait for the clerk")
    second = deploy(client, analyst, [(MESSAGE_START.name, changed)]).get_json()
    [newest] = second["deployedProcessDefinitions"]
    body = {"messageName": START_MESSAGE, "resultEnabled": True}
    [result] = client.post("/engine-rest/message", json=body, headers=desk).get_json()
    assert result["processInstance"]["definitionId"] == newest


def test_the_python_clients_body(client, engine, analyst, desk):
    deploy(client, analyst, [MESSAGE_START])
    # EngineClient.correlate_message without a tenant or instance id sends exactly this.
    body = {
        "messageName": START_MESSAGE,
        "resultEnabled": True,
        "processVariables": {"soHoSo": {"value": 7}},
        "withoutTenantId": True,
        "businessKey": "HS-020",
    }
    response = client.post("/engine-rest/message", json=body, headers=desk)
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    assert instances.get_instance(engine, result["processInstance"]["id"]).variables == {"soHoSo": 7}


def test_a_waiting_instance_wins_over_a_start_event_unless_all(client, engine, analyst, desk):
    definitions.deploy(engine, [_catching_process()])
    waiting = instances.start_instance(engine, "waits", business_key="A").id
    deploy(client, analyst, [MESSAGE_START])
    body = {"messageName": START_MESSAGE, "resultEnabled": True}
    [only] = client.post("/engine-rest/message", json=body, headers=desk).get_json()
    assert only["resultType"] == "Execution" and only["execution"]["processInstanceId"] == waiting
    assert _activities(engine, waiting) == ["review"]

    again = instances.start_instance(engine, "waits", business_key="B").id
    both = client.post("/engine-rest/message", json={**body, "all": True}, headers=desk).get_json()
    assert [r["resultType"] for r in both] == ["Execution", "ProcessDefinition"]
    assert both[0]["execution"]["id"] == again


def test_ambiguous_correlation_is_refused_and_all_reaches_every_instance(client, engine, analyst, desk):
    deploy(client, analyst, [BIRTH])
    first, second = _waiting_for_documents(engine, "HS-030"), _waiting_for_documents(engine, "HS-031")
    refused = client.post("/engine-rest/message", json={"messageName": RESUBMIT}, headers=desk)
    assert refused.status_code == 400
    assert refused.get_json() == {
        "type": "MismatchingMessageCorrelationException",
        "message": f"Cannot correlate a message '{RESUBMIT}' to a single execution. "
        "2 executions match the correlation keys",
        "code": None,
    }
    assert _activities(engine, first) == _activities(engine, second) == ["ChoBoSung"]
    response = client.post("/engine-rest/message", json={"messageName": RESUBMIT, "all": True}, headers=desk)
    assert response.status_code == 204
    assert _activities(engine, first) == _activities(engine, second) == ["KiemTraHoSo"]


def test_correlation_keys_select_by_process_variable(client, engine, analyst, desk):
    deploy(client, analyst, [BIRTH])
    first, second = _waiting_for_documents(engine, "HS-040"), _waiting_for_documents(engine, "HS-041")
    client.post(
        f"/engine-rest/process-instance/{second}/variables",
        json={"modifications": {"maHoSo": {"value": "X-41", "type": "String"}}},
        headers=desk,
    )
    body = {"messageName": RESUBMIT, "correlationKeys": {"maHoSo": {"value": "X-41", "type": "String"}}}
    assert client.post("/engine-rest/message", json=body, headers=desk).status_code == 204
    assert _activities(engine, first) == ["ChoBoSung"] and _activities(engine, second) == ["KiemTraHoSo"]


def test_no_match_is_a_mismatching_correlation(client, engine, analyst, desk):
    deploy(client, analyst, [BIRTH, MESSAGE_START])
    _waiting_for_documents(engine, "HS-050")
    cases = [
        {"messageName": "unknown"},
        {"messageName": RESUBMIT, "businessKey": "HS-999"},
        # With an instance id, a start event is never a candidate.
        {"messageName": START_MESSAGE, "processInstanceId": "00000000-0000-0000-0000-000000000000"},
        {"messageName": START_MESSAGE, "tenantId": "other-tenant"},
    ]
    for body in cases:
        response = client.post("/engine-rest/message", json=body, headers=desk)
        assert response.status_code == 400, body
        assert response.get_json() == {
            "type": "MismatchingMessageCorrelationException",
            "message": f"Cannot correlate message '{body['messageName']}': "
            "No process definition or execution matches the parameters",
            "code": None,
        }


def test_refusals(client, runtime, desk):
    analyst = bearer(token(runtime, "analyst"))
    assert client.post("/engine-rest/message", json={"messageName": "m"}, headers=analyst).status_code == 403
    assert client.post("/engine-rest/message", json={"messageName": "m"}).status_code == 401
    for body in (
        {},
        {"messageName": 5},
        {"messageName": "m", "localCorrelationKeys": {"a": {"value": 1}}},
        {"messageName": "m", "processVariables": {"a": {"value": "x", "type": "Long"}}},
        {"messageName": "m", "all": "yes"},
    ):
        response = client.post("/engine-rest/message", json=body, headers=desk)
        assert response.status_code == 400, body
        assert response.get_json()["type"] == "InvalidRequestException"


def test_the_camunda_python_client_starts_and_correlates(client, runtime, analyst, monkeypatch):
    # The client needs pydantic, which it declares but this venv may lack.
    pytest.importorskip("pydantic", reason="camunda-external-task-client-python3 needs pydantic")
    from camunda.client import engine_client
    from camunda.process_definition.process_definition_client import ProcessDefinitionClient

    from .camunda_support import FlaskRequests

    deploy(client, analyst, [BIRTH, MESSAGE_START])
    shim = FlaskRequests(client)
    monkeypatch.setattr(engine_client, "requests", shim)
    monkeypatch.setattr("camunda.process_definition.process_definition_client.requests", shim)
    # Basic authentication with the token as password, as the client's auth_basic config sends it.
    config = {"auth_basic": {"username": "mot-cua", "password": token(runtime, "desk")}}
    engine = runtime.engine

    started = engine_client.EngineClient(config=config).start_process(
        "lien-thong-khai-sinh", {"hoTen": "Phạm D"}, business_key="HS-060"
    )
    assert started["businessKey"] == "HS-060" and not started["ended"]
    assert instances.get_instance(engine, started["id"]).variables == {"hoTen": "Phạm D"}

    by_version = ProcessDefinitionClient(config=config).start_process_by_version(
        "lien-thong-khai-sinh", None, {"soCon": 1}, business_key="HS-061"
    )
    assert by_version["definitionId"] == started["definitionId"]

    [result] = engine_client.EngineClient(config=config).correlate_message(
        START_MESSAGE, business_key="HS-062", process_variables={"n": 1}
    )
    assert result["resultType"] == "ProcessDefinition"
    assert instances.get_instance(engine, result["processInstance"]["id"]).variables == {"n": 1}

    with pytest.raises(Exception, match="400 : MismatchingMessageCorrelationException"):
        engine_client.EngineClient(config=config).correlate_message("nobody-listens", business_key="HS-062")


def test_message_reaches_a_dossier_waiting_at_an_event_based_gateway(client, engine, desk):
    """The payment message races a timer: SpiffWorkflow makes the gateway the waiting task."""
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            '<bpmn:eventBasedGateway id="race" />',
            '<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="M" />'
            "</bpmn:intermediateCatchEvent>",
            '<bpmn:intermediateCatchEvent id="expired"><bpmn:timerEventDefinition>'
            "<bpmn:timeDuration>P30D</bpmn:timeDuration></bpmn:timerEventDefinition>"
            "</bpmn:intermediateCatchEvent>",
            '<bpmn:userTask id="record_payment" />',
            '<bpmn:userTask id="close_file" />',
            '<bpmn:endEvent id="e1" />',
            '<bpmn:endEvent id="e2" />',
            chain("start", "race"),
            chain("race", "paid", "record_payment", "e1"),
            chain("race", "expired", "close_file", "e2"),
        ]
    )
    definitions.deploy(
        engine, [resource(body, process_id="pays", extra='<bpmn:message id="M" name="nop-thue" />')]
    )
    waiting = instances.start_instance(engine, "pays", business_key="DAT-1").id
    assert _activities(engine, waiting) == ["race"]

    response = client.post(
        "/engine-rest/message", json={"messageName": "nop-thue", "businessKey": "DAT-1"}, headers=desk
    )

    assert response.status_code == 204
    assert _activities(engine, waiting) == ["record_payment"]
