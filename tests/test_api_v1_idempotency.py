"""Idempotency-Key on start: a retry replays the first answer and never starts a second dossier."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from orchestrator.access import create_token
from orchestrator.clock import utcnow
from orchestrator.services import definitions, idempotency, instances
from orchestrator.store.models import IdempotencyRecord, ProcessInstance

from .api_helpers import auth_headers
from .bpmn_builder import two_step

PROBLEM = "application/problem+json"
START = "/api/v1/process-definitions/p/start"
REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def deployed(engine):
    definitions.deploy(engine, [two_step()])


@pytest.fixture
def desk(runtime):
    return auth_headers(runtime)


def count_instances(engine) -> int:
    with engine.db.read() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance))


def test_a_retry_replays_the_first_answer(client, desk, engine, deployed):
    headers = {**desk, "Idempotency-Key": "hs-0001"}
    body = {"businessKey": "HS-1", "variables": {"hoTen": "Nguyễn Văn A"}}
    first = client.post(START, json=body, headers=headers)
    assert first.status_code == 201 and REPLAYED not in first.headers

    retry = client.post(START, json=body, headers=headers)

    assert retry.status_code == 201 and retry.headers[REPLAYED] == "true"
    assert retry.get_json() == first.get_json()
    assert count_instances(engine) == 1


def test_the_replay_is_the_stored_answer_not_the_current_state(client, desk, engine, deployed):
    headers = {**desk, "Idempotency-Key": "hs-0002"}
    first = client.post(START, json={"businessKey": "HS-2"}, headers=headers).get_json()
    instances.complete_task(engine, first["id"], first["currentActivities"][0]["taskId"])

    retry = client.post(START, json={"businessKey": "HS-2"}, headers=headers)

    assert retry.get_json() == first and retry.get_json()["version"] == 1
    with engine.db.read() as session:
        record = session.scalars(select(IdempotencyRecord)).one()
    assert (record.key, record.status_code, record.response) == ("hs-0002", 201, first)


def test_formatting_and_key_order_do_not_make_another_request(client, desk, engine, deployed):
    headers = {**desk, "Idempotency-Key": "hs-0003"}
    one = '{"businessKey": "HS-3", "variables": {"a": 1, "b": 2}}'
    other = '{ "variables":{"b":2,"a":1},\n "businessKey":"HS-3" }'
    assert client.post(START, data=one, content_type="application/json", headers=headers).status_code == 201
    retry = client.post(START, data=other, content_type="application/json", headers=headers)
    assert retry.status_code == 201 and retry.headers[REPLAYED] == "true"
    assert count_instances(engine) == 1


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (START, {"businessKey": "HS-4", "variables": {"hoTen": "someone else"}}),
        (START, {"businessKey": "HS-4-other"}),
        ("/api/v1/process-definitions/q/start", {"businessKey": "HS-4"}),  # another procedure
    ],
)
def test_the_same_key_for_another_request_is_a_422(client, desk, engine, url, body):
    definitions.deploy(engine, [two_step()])
    definitions.deploy(engine, [two_step(process_id="q")])
    headers = {**desk, "Idempotency-Key": "hs-0004"}
    assert client.post(START, json={"businessKey": "HS-4"}, headers=headers).status_code == 201

    reused = client.post(url, json=body, headers=headers)

    assert reused.status_code == 422 and reused.mimetype == PROBLEM
    assert "someone else" not in reused.get_data(as_text=True)
    assert count_instances(engine) == 1


def test_keys_belong_to_their_client(client, runtime, engine, deployed):
    body = {"businessKey": "HS-5"}
    one = client.post(START, json=body, headers={**auth_headers(runtime), "Idempotency-Key": "k"})
    two = client.post(START, json=body, headers={**auth_headers(runtime), "Idempotency-Key": "k"})
    assert one.status_code == two.status_code == 201
    assert REPLAYED not in two.headers and one.get_json()["id"] != two.get_json()["id"]


def test_a_failed_start_releases_the_key(client, desk, engine):
    headers = {**desk, "Idempotency-Key": "hs-0006"}
    missing = client.post(START, json={"businessKey": "HS-6"}, headers=headers)
    assert missing.status_code == 404 and missing.mimetype == PROBLEM

    definitions.deploy(engine, [two_step()])
    retry = client.post(START, json={"businessKey": "HS-6"}, headers=headers)

    assert retry.status_code == 201 and REPLAYED not in retry.headers
    assert count_instances(engine) == 1


def test_a_request_in_progress_is_a_409(client, runtime, engine, deployed):
    api_client, token = create_token(runtime.db, name="desk", scopes=["desk"])
    request_hash = idempotency.fingerprint("POST", START, {"businessKey": "HS-7"})
    assert idempotency.claim(runtime.db, api_client.id, "hs-0007", request_hash) is None  # "running"

    response = client.post(
        START,
        json={"businessKey": "HS-7"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "hs-0007"},
    )

    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert "in progress" in response.get_json()["detail"]
    assert count_instances(engine) == 0


def test_concurrent_requests_with_one_key_start_one_dossier(runtime, engine, deployed):
    """Racing requests: one starts the dossier; the others replay it or hear it is in progress."""
    from api import create_app

    app = create_app(runtime=runtime)
    headers = {**auth_headers(runtime), "Idempotency-Key": "race"}
    contenders = 6
    barrier = threading.Barrier(contenders)
    outcomes: list[tuple[int, str | None, str | None]] = []

    def send() -> None:
        client = app.test_client()
        barrier.wait(10)
        response = client.post(START, json={"businessKey": "HS-RACE"}, headers=headers)
        body = response.get_json()
        outcomes.append((response.status_code, response.headers.get(REPLAYED), body.get("id")))

    threads = [threading.Thread(target=send) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert count_instances(engine) == 1
    assert len(outcomes) == contenders
    fresh = [o for o in outcomes if o[:2] == (201, None)]
    assert len(fresh) == 1, outcomes
    others = [o for o in outcomes if o is not fresh[0]]
    assert all(o == (201, "true", fresh[0][2]) or o[0] == 409 for o in others), outcomes


def test_without_a_key_every_request_starts_a_dossier(client, desk, engine, deployed):
    for _ in range(2):
        assert client.post(START, json={"businessKey": "HS-8"}, headers=desk).status_code == 201
    assert count_instances(engine) == 2


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_key_is_1_to_255_characters(client, desk, engine, deployed, key):
    response = client.post(START, json={}, headers={**desk, "Idempotency-Key": key})
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert [e["field"] for e in response.get_json()["errors"]] == ["Idempotency-Key"]
    assert count_instances(engine) == 0


def test_purged_keys_are_new_again(client, runtime, desk, engine, deployed):
    headers = {**desk, "Idempotency-Key": "hs-0009"}
    client.post(START, json={"businessKey": "HS-9"}, headers=headers)
    assert idempotency.purge(runtime.db, created_before=utcnow() - timedelta(days=1)) == 0
    assert idempotency.purge(runtime.db, created_before=utcnow() + timedelta(seconds=1)) == 1
    again = client.post(START, json={"businessKey": "HS-9"}, headers=headers)
    assert again.status_code == 201 and REPLAYED not in again.headers
    assert count_instances(engine) == 2


def test_an_unexpected_failure_after_the_commit_replays_the_committed_answer(
    client, desk, engine, deployed, monkeypatch
):
    """A failure after the commit must not free the key for a second dossier: the answer was
    stored in the start's own transaction, so the retry replays it."""
    from orchestrator.services import instances as service

    real_start = service.start_instance

    def start_then_fail(*args, **kwargs):
        real_start(*args, **kwargs)
        raise RuntimeError("connection lost after commit")

    monkeypatch.setattr(service, "start_instance", start_then_fail)
    headers = {**desk, "Idempotency-Key": "hs-0010"}
    failed = client.post(START, json={"businessKey": "HS-10"}, headers=headers)
    assert failed.status_code == 500 and failed.mimetype == PROBLEM
    monkeypatch.setattr(service, "start_instance", real_start)

    retry = client.post(START, json={"businessKey": "HS-10"}, headers=headers)

    assert retry.status_code == 201 and retry.headers[REPLAYED] == "true"
    assert retry.get_json()["businessKey"] == "HS-10"
    assert count_instances(engine) == 1


def test_the_answer_commits_with_the_dossier(client, desk, engine, deployed, monkeypatch):
    """No window between the start's commit and storing its answer: a crash after the commit
    (here: storing afterwards would fail) still leaves a replayable answer, never a stuck 409."""

    def no_late_store(*_args, **_kwargs):
        raise AssertionError("the start's answer must be stored inside the start's transaction")

    monkeypatch.setattr(idempotency, "store", no_late_store)
    headers = {**desk, "Idempotency-Key": "hs-atomic"}
    first = client.post(START, json={"businessKey": "HS-A"}, headers=headers)
    retry = client.post(START, json={"businessKey": "HS-A"}, headers=headers)
    assert first.status_code == retry.status_code == 201 and retry.headers[REPLAYED] == "true"
    assert retry.get_json() == first.get_json() and count_instances(engine) == 1
