"""/api/v1/dossiers over HTTP: receipt, actions, 409 problems, lists, history, sync status, isolation."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from .agency_fixtures import admin_token, bearer, make_agency_token
from .dossier_support import AGENCY, APPLICANT, DOCUMENTS, PROCEDURE, deploy_procedure, open_task, vn

PROBLEM = "application/problem+json"
API = "/api/v1/dossiers"


@pytest.fixture
def desk(runtime) -> dict[str, str]:
    deploy_procedure(runtime.engine)
    return bearer(make_agency_token(runtime, AGENCY, scopes=("desk",)))


def _receive(client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {
        "procedure": PROCEDURE,
        "agency": AGENCY,
        "channel": "online",
        "applicant": {
            "name": APPLICANT["name"],
            "idNumber": APPLICANT["id_number"],
            "email": "lan@example.vn",
        },
        "documents": DOCUMENTS,
        **overrides,
    }
    response = client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_receipt_then_the_whole_lifecycle_over_http(client, runtime, desk):
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        receipt = _receive(client, desk)
    assert receipt["code"] == "UBND-XA-261123-0001" and len(receipt["lookupCode"]) == 4
    assert receipt["receivedAt"].startswith("2026-11-23T01:00") and receipt["nationalStatus"] == 2
    assert receipt["appointmentAt"].startswith("2026-11-26T01:00")
    code = receipt["code"]

    # The state machine refuses what cannot happen now, as a problem without dossier data.
    response = client.post(f"{API}/{code}/return", json={"how": "desk"}, headers=desk)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert "received" in response.get_json()["detail"] and APPLICANT["name"] not in response.get_data(
        as_text=True
    )

    response = client.post(
        f"{API}/{code}/supplement-request",
        json={"reason": "Thiếu giấy tờ", "items": ["Giấy chứng sinh"], "variables": {"ketQua": "bo-sung"}},
        headers=desk,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["state"], body["nationalStatus"]) == ("supplement_requested", 5)
    assert body["supplements"][0]["items"] == ["Giấy chứng sinh"]

    response = client.post(f"{API}/{code}/supplement", json={"variables": {"boSung": True}}, headers=desk)
    assert response.get_json()["nationalStatus"] == 4
    response = client.post(f"{API}/{code}/supplement", json={}, headers=desk)
    assert response.status_code == 409  # not waiting any more

    instance_id = client.get(f"{API}/{code}", headers=desk).get_json()["instanceId"]
    runtime_complete(runtime, instance_id, "check", ketQua="hop-le")
    runtime_complete(runtime, instance_id, "appraise", thue=False)
    response = client.post(f"{API}/{code}/finish", json={}, headers=desk)
    assert response.get_json()["nationalStatus"] == 9
    response = client.post(f"{API}/{code}/return", json={"how": "electronic"}, headers=desk)
    body = response.get_json()
    assert (body["nationalStatus"], body["returnMethod"], body["outcome"]) == (10, "electronic", "result")

    history = client.get(f"{API}/{code}/history", headers=desk).get_json()["items"]
    assert [e["type"] for e in history] == [
        "dossier.received",
        "dossier.supplement_requested",
        "dossier.supplement_received",
        "dossier.finished",
        "dossier.returned",
    ]
    assert all(e["actor"] and e["at"] for e in history)

    sync = client.get(f"{API}/{code}/portal-sync", headers=desk).get_json()
    assert [c["nationalStatus"] for c in sync["changes"]] == [2, 5, 4, 9, 10]
    assert sync["pending"] == 5 and sync["lastSentStatus"] is None


def runtime_complete(runtime, instance_id: str, activity: str, **variables: Any) -> None:
    from orchestrator.services import instances

    task = open_task(runtime.engine, instance_id, activity)
    instances.complete_task(runtime.engine, instance_id, task, variables=variables)


def test_withdraw_stop_and_refuse_need_a_reason(client, desk):
    code = _receive(client, desk)["code"]
    for action in ("withdraw", "stop", "refuse"):
        response = client.post(f"{API}/{code}/{action}", json={}, headers=desk)
        assert response.status_code == 400 and response.mimetype == PROBLEM, action
    response = client.post(f"{API}/{code}/withdraw", json={"reason": "Công dân rút hồ sơ"}, headers=desk)
    assert (response.status_code, response.get_json()["nationalStatus"]) == (200, 7)
    response = client.post(f"{API}/{code}/stop", json={"reason": "lần hai"}, headers=desk)
    assert response.status_code == 409


def test_bad_receipts_are_400_problems(client, desk):
    bad = [
        {"channel": "fax"},
        {"applicant": {"idNumber": "1"}},
        {"documents": [{"name": "A", "copies": 0}]},
        {"unknown": 1},
    ]
    for override in bad:
        body = {"procedure": PROCEDURE, "agency": AGENCY, "channel": "online", "applicant": {"name": "A"}}
        response = client.post(API, json={**body, **override}, headers=desk)
        assert response.status_code == 400 and response.mimetype == PROBLEM, override


def test_lists_filter_and_page(client, runtime, desk):
    codes = [_receive(client, desk)["code"] for _ in range(3)]
    client.post(f"{API}/{codes[0]}/stop", json={"reason": "Dừng"}, headers=desk)
    page = client.get(f"{API}?limit=2", headers=desk).get_json()
    assert [d["code"] for d in page["items"]] == codes[::-1][:2]
    rest = client.get(f"{API}?limit=2&cursor={page['nextCursor']}", headers=desk).get_json()
    assert [d["code"] for d in rest["items"]] == [codes[0]] and rest["nextCursor"] is None
    stopped = client.get(f"{API}?national_status=8", headers=desk).get_json()["items"]
    assert [d["code"] for d in stopped] == [codes[0]]
    assert [
        d["code"] for d in client.get(f"{API}?state=received", headers=desk).get_json()["items"]
    ] == codes[:0:-1]
    assert len(client.get(f"{API}?procedure=1.000001", headers=desk).get_json()["items"]) == 3
    assert "applicant" not in page["items"][0]
    assert client.get(f"{API}?national_status=11", headers=desk).status_code == 400


def test_idempotent_receipt(client, desk):
    headers = {**desk, "Idempotency-Key": "quay-1-0001"}
    first = _receive(client, headers)
    again = client.post(
        API,
        json={
            "procedure": PROCEDURE,
            "agency": AGENCY,
            "channel": "online",
            "applicant": {
                "name": APPLICANT["name"],
                "idNumber": APPLICANT["id_number"],
                "email": "lan@example.vn",
            },
            "documents": DOCUMENTS,
        },
        headers=headers,
    )
    assert again.status_code == 201 and again.get_json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get(API, headers=desk).get_json()["items"]) == 1


def test_agency_isolation(client, runtime, desk):
    code = _receive(client, desk)["code"]
    other_desk = bearer(make_agency_token(runtime, "UBND-XB", scopes=("desk",)))
    land_office = bearer(make_agency_token(runtime, "SO-TN"))
    assert client.get(f"{API}/{code}").status_code == 401
    assert client.get(f"{API}/{code}", headers=other_desk).status_code == 404
    assert client.get(f"{API}/{code}/history", headers=other_desk).status_code == 404
    assert client.get(f"{API}/{code}/portal-sync", headers=land_office).status_code == 404
    assert client.get(API, headers=other_desk).get_json()["items"] == []
    response = client.post(f"{API}/{code}/stop", json={"reason": "x"}, headers=other_desk)
    assert response.status_code == 404
    response = client.post(
        API,
        json={"procedure": PROCEDURE, "agency": AGENCY, "channel": "online", "applicant": {"name": "A"}},
        headers=other_desk,
    )
    assert response.status_code == 403
    assert client.post(f"{API}/{code}/stop", json={"reason": "x"}, headers=land_office).status_code == 403

    # Once a step is handed over to the land office, it may read the dossier (not act on it).
    instance_id = client.get(f"{API}/{code}", headers=desk).get_json()["instanceId"]
    runtime_complete(runtime, instance_id, "check", ketQua="hop-le")
    assert client.get(f"{API}/{code}", headers=land_office).status_code == 200
    assert client.get(f"{API}/{code}/portal-sync", headers=land_office).status_code == 200
    admin = bearer(admin_token(runtime))
    assert client.get(f"{API}/{code}", headers=admin).status_code == 200
    assert client.post(f"{API}/{code}/stop", json={"reason": "Sai sót"}, headers=admin).status_code == 200
