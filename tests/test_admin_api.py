"""/api/v1/admin: admin scope only, JSON and CSV (BOM, header), actions with a reason."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from sqlalchemy import select

from orchestrator.store.models import Event

from .api_helpers import auth_headers
from .test_admin_stuck import open_task, start, vn

ADMIN_GETS = ("/api/v1/admin/stuck", "/api/v1/admin/statistics?group_by=agency")


@pytest.fixture
def admin_headers(runtime):
    return auth_headers(runtime, ("admin",))


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_only_admins(client, runtime, path):
    assert client.get(path).status_code == 401
    worker = auth_headers(runtime, ("worker",), agency="UBND-XA")
    assert client.get(path, headers=worker).status_code == 403
    desk = auth_headers(runtime, ("desk",))
    assert (
        client.post("/api/v1/admin/incidents/x/retry", json={"reason": "r"}, headers=desk).status_code == 403
    )
    assert client.get(path, headers=auth_headers(runtime, ("admin",))).status_code == 200


def test_stuck_as_json_and_csv(client, engine, admin_headers):
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        instance_id = start(engine, business_key="=HS-1")
    with time_machine.travel(vn("2026-11-24T10:00"), tick=False):
        body = client.get(
            "/api/v1/admin/stuck?kind=step_overdue&kind=not_fetched", headers=admin_headers
        ).json
        answer = client.get("/api/v1/admin/stuck?format=csv&sort=kind", headers=admin_headers)
        by_accept = client.get("/api/v1/admin/stuck", headers={**admin_headers, "Accept": "text/csv"})
        bad = client.get("/api/v1/admin/stuck?kind=nonsense", headers=admin_headers)
    assert {item["kind"] for item in body} == {"step_overdue", "not_fetched"}
    assert body[0]["instanceId"] == instance_id and body[0]["agency"] == "UBND-XA"
    assert answer.headers["Content-Type"].startswith("text/csv") and by_accept.data == answer.data
    text = answer.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["Loại", "Mã hồ sơ", "Mã quy trình"]
    assert rows[1][0] == "not_fetched" and rows[1][1] == "'=HS-1"  # never a formula in Excel
    assert bad.status_code == 400 and bad.content_type == "application/problem+json"


def test_statistics_as_json_and_csv(client, engine, admin_headers):
    from orchestrator.services import instances

    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        first = start(engine, business_key="HS-1")
        start(engine, business_key="HS-2")
        instances.complete_task(engine, first, open_task(engine, first, "a"))
    with time_machine.travel(vn("2026-11-24T10:00"), tick=False):
        legs = client.get("/api/v1/admin/statistics?group_by=agency", headers=admin_headers).json
        dossiers = client.get(
            "/api/v1/admin/statistics?group_by=procedure&from=2026-11-01T00:00:00%2B07:00",
            headers=admin_headers,
        ).json
        table = client.get("/api/v1/admin/statistics?group_by=procedure&format=csv", headers=admin_headers)
    assert legs == [
        {
            "key": "UBND-XA",
            "label": "UBND-XA",
            "received": 2,
            "early": 1,
            "onTime": 0,
            "late": 0,
            "openWithinTime": 0,
            "openOverdue": 1,
            "paused": 0,
        }
    ]
    assert dossiers[0]["label"] == "Thủ tục thử"
    assert (dossiers[0]["received"], dossiers[0]["paused"], dossiers[0]["openWithinTime"]) == (2, 1, 1)
    lines = table.data.decode("utf-8").lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Mã,Tên,Tiếp nhận") and "Thủ tục thử" in lines[1]


def test_actions_through_the_api(client, engine, admin_headers):
    instance_id = start(engine)
    suspend = f"/api/v1/admin/process-instances/{instance_id}/suspend"
    assert client.post(suspend, json={}, headers=admin_headers).status_code == 400  # no reason
    assert client.post(suspend, json={"reason": "Kiểm tra"}, headers=admin_headers).status_code == 204
    assert client.post(suspend, json={"reason": "Lần nữa"}, headers=admin_headers).status_code == 409
    resume = f"/api/v1/admin/process-instances/{instance_id}/resume"
    assert client.post(resume, json={"reason": "Xong"}, headers=admin_headers).status_code == 204

    move = f"/api/v1/admin/process-instances/{instance_id}/move"
    body = {"reason": "Bỏ qua bước a", "cancelActivities": ["a"], "startBefore": "b"}
    preview = client.post(move, json=body, headers=admin_headers)
    assert preview.status_code == 200
    assert preview.json == {
        "cancelActivities": ["a"],
        "startBefore": "b",
        "resultingActivities": ["b"],
        "warnings": [],
        "applied": False,
    }
    assert client.post(move, json={**body, "preview": False}, headers=admin_headers).json["applied"] is True
    task_id = open_task(engine, instance_id, "b")
    reassign = client.post(
        f"/api/v1/admin/tasks/{task_id}/reassign",
        json={"reason": "Đổi", "topic": "cong-an-moi"},
        headers=admin_headers,
    )
    assert reassign.status_code == 204
    retry = client.post(
        f"/api/v1/admin/incidents/{task_id}/retry", json={"reason": "r"}, headers=admin_headers
    )
    assert retry.status_code == 409  # no incident
    dry = client.post("/api/v1/admin/incidents/retry", json={"reason": "r"}, headers=admin_headers)
    assert dry.json == {"count": 0, "dryRun": True}
    with engine.db.read() as session:
        types = session.scalars(
            select(Event.type).where(Event.instance_id == instance_id, Event.type.startswith("admin."))
        ).all()
    assert types == ["admin.suspend", "admin.resume", "admin.move_token", "admin.reassign_step"]


def test_extend_through_the_api(client, engine, admin_headers):
    from orchestrator.deadlines.evaluation import control_sheet

    instance_id = start(engine)
    step = next(row for row in control_sheet(engine.db, instance_id) if row.scope == "step")
    url = f"/api/v1/admin/deadlines/{step.id}/extend"
    assert client.post(url, json={"reason": "r"}, headers=admin_headers).status_code == 400  # by or until
    answer = client.post(url, json={"reason": "Chờ ý kiến", "by": "1wd"}, headers=admin_headers)
    assert answer.status_code == 200
    assert answer.json["extensionMinutes"] == 480 and answer.json["extendedBy"].startswith("client:")
    assert (
        client.post(
            "/api/v1/admin/deadlines/999999/extend", json={"reason": "r", "by": "1wd"}, headers=admin_headers
        ).status_code
        == 404
    )
