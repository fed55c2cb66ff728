"""Console action forms: each needs a reason, acts through ``orchestrator.admin``, and shows the outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from lxml import html as lxml_html
from sqlalchemy import select

from api.console.refusals import refusal_text
from orchestrator.access import add_agency
from orchestrator.deadlines.evaluation import control_sheet
from orchestrator.errors import Conflict, InvalidInput, NotFound, StepFailed
from orchestrator.services.instances import get_instance
from orchestrator.store.models import Event, ExternalTaskRow

from .agency_fixtures import admin_token
from .console_helpers import FIRST_STEP, build_scenario, login, post_form

NOW = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)  # Monday 16/03/2026 10:00 in Vietnam
REASON = "Cơ quan đã khắc phục sự cố kết nối"


@pytest.fixture
def scenario(client, runtime):
    built = build_scenario(runtime, now=NOW)
    with time_machine.travel(NOW, tick=False):
        login(client, admin_token(runtime))
        yield built


def _admin_events(engine, instance_id: str) -> list[Event]:
    with engine.db.read() as session:
        return list(
            session.scalars(
                select(Event)
                .where(Event.instance_id == instance_id, Event.type.like("admin.%"))
                .order_by(Event.id)
            )
        )


def _task(engine, task_id: str) -> ExternalTaskRow:
    with engine.db.read() as session:
        return session.get(ExternalTaskRow, task_id)


def _queue(client, **query) -> str:
    return client.get("/console/stuck", query_string=query).text


def test_retrying_an_incident_records_who_and_why_and_it_leaves_the_queue(client, engine, scenario):
    page = f"/console/dossiers/{scenario.incident_id}"
    assert "HS-SU-CO" in _queue(client, kind="incident")
    answer = post_form(
        client,
        page,
        f"/console/tasks/{scenario.incident_task_id}/retry",
        instance_id=scenario.incident_id,
        reason=REASON,
    )
    assert answer.status_code == 302 and answer.headers["Location"].startswith(page)
    shown = client.get(page).text
    assert "Đã thử lại sự cố" in shown and REASON in shown and "Quản trị: thử lại sự cố" in shown
    assert "HS-SU-CO" not in _queue(client, kind="incident")
    assert not _task(engine, scenario.incident_task_id).incident
    [event] = _admin_events(engine, scenario.incident_id)
    assert event.type == "admin.retry_incident" and event.data["reason"] == REASON
    assert event.actor.startswith("client:")


def test_an_action_without_a_reason_changes_nothing(client, engine, scenario):
    page = f"/console/dossiers/{scenario.incident_id}"
    answer = post_form(
        client,
        page,
        f"/console/tasks/{scenario.incident_task_id}/retry",
        instance_id=scenario.incident_id,
        reason="   ",
    )
    assert answer.status_code == 302
    assert "Hãy ghi lý do." in client.get(page).text
    assert (
        _task(engine, scenario.incident_task_id).incident
        and _admin_events(engine, scenario.incident_id) == []
    )


def test_a_refused_action_is_explained_on_the_page(client, engine, scenario):
    page = f"/console/dossiers/{scenario.overdue_id}"
    current = get_instance(engine, scenario.overdue_id).current_activities
    overdue_task = next(a["task_id"] for a in current if a["id"] == FIRST_STEP)
    post_form(
        client, page, f"/console/tasks/{overdue_task}/retry", instance_id=scenario.overdue_id, reason=REASON
    )
    shown = client.get(page).text
    # The official reads why in Vietnamese; the service's English stays in the JSON API.
    assert "Không thực hiện được: Bước này không còn sự cố" in shown
    assert "has no incident" not in shown
    assert _admin_events(engine, scenario.overdue_id) == []


def test_refusals_read_in_vietnamese_and_unknown_ones_fall_back_by_type():
    assert refusal_text(Conflict("process instance is completed")).startswith(
        "Hồ sơ đang ở trạng thái “Đã hoàn"
    )
    assert refusal_text(Conflict("process instance is running, not suspended")) == (
        "Hồ sơ không ở trạng thái tạm đình chỉ."
    )
    assert refusal_text(NotFound("agency 'X' does not exist")) == "Không có cơ quan với mã này."
    assert refusal_text(
        InvalidInput("'E' joins several paths: start before an activity after it")
    ).startswith("Bước này gộp nhiều nhánh")
    unknown = refusal_text(InvalidInput("something nobody mapped"))
    assert unknown == "Dữ liệu nhập không hợp lệ." and "nobody" not in unknown
    assert refusal_text(StepFailed("expression failed")).startswith("Quy trình không chạy tiếp được")


def test_bulk_retry_shows_the_dry_run_count_before_it_acts(client, engine, scenario):
    fields = {"kind": "incident", "agency": "", "process_key": "", "reason": REASON}
    dry_run = post_form(client, "/console/stuck", "/console/stuck/retry", **fields)
    assert dry_run.status_code == 200
    assert 'id="dry-run-count">1<' in dry_run.text and "Xác nhận thử lại 1 sự cố" in dry_run.text
    assert _task(engine, scenario.incident_task_id).incident  # a dry run changes nothing
    done = post_form(client, "/console/stuck", "/console/stuck/retry", **fields, confirmed="1")
    assert done.status_code == 302
    assert "Đã thử lại 1 sự cố." in client.get(done.headers["Location"]).text
    assert not _task(engine, scenario.incident_task_id).incident
    assert [e.type for e in _admin_events(engine, scenario.incident_id)] == ["admin.retry_incident"]


def test_extending_a_step_keeps_the_original_due(client, engine, scenario):
    page = f"/console/dossiers/{scenario.overdue_id}"
    step = next(row for row in control_sheet(engine.db, scenario.overdue_id) if row.activity_id == FIRST_STEP)
    before = step.due_at
    post_form(
        client,
        page,
        f"/console/deadlines/{step.id}/extend",
        instance_id=scenario.overdue_id,
        by="",
        until="",
        reason=REASON,
    )
    assert "Nhập đúng một trong hai" in client.get(page).text
    post_form(
        client,
        page,
        f"/console/deadlines/{step.id}/extend",
        instance_id=scenario.overdue_id,
        by="10wd",
        reason=REASON,
    )
    assert "Đã gia hạn" in client.get(page).text
    after = next(row for row in control_sheet(engine.db, scenario.overdue_id) if row.id == step.id)
    assert after.due_at > before and after.original_due_at == step.original_due_at
    assert [e.type for e in _admin_events(engine, scenario.overdue_id)] == ["admin.extend_deadline"]


def test_reassigning_a_step_moves_it_to_another_agency(client, engine, runtime, scenario):
    page = f"/console/dossiers/{scenario.incident_id}"
    action = f"/console/tasks/{scenario.incident_task_id}/reassign"
    post_form(client, page, action, instance_id=scenario.incident_id, agency="", topic="", reason=REASON)
    assert "Nhập cơ quan mới, chủ đề mới, hoặc cả hai." in client.get(page).text
    post_form(client, page, action, instance_id=scenario.incident_id, agency="CA-XA", reason=REASON)
    assert "Không thực hiện được" in client.get(page).text  # no such agency yet
    add_agency(runtime.db, "CA-XA", "Công an cấp xã")
    post_form(client, page, action, instance_id=scenario.incident_id, agency="CA-XA", reason=REASON)
    assert "Đã chuyển giao bước." in client.get(page).text
    assert _task(engine, scenario.incident_task_id).agency == "CA-XA"
    assert [e.type for e in _admin_events(engine, scenario.incident_id)] == ["admin.reassign_step"]


def test_suspend_resume_and_cancel_a_dossier(client, engine, scenario):
    page = f"/console/dossiers/{scenario.overdue_id}"
    post_form(client, page, f"/console/dossiers/{scenario.overdue_id}/suspend", reason=REASON)
    suspended = client.get(page).text
    assert "Đã tạm đình chỉ hồ sơ." in suspended and "Đang bị đình chỉ" in suspended
    assert "Tiếp tục xử lý" in suspended and "HS-QUA-HAN" not in _queue(client)
    post_form(client, page, f"/console/dossiers/{scenario.overdue_id}/resume", reason=REASON)
    assert get_instance(engine, scenario.overdue_id).status == "running"
    post_form(client, page, f"/console/dossiers/{scenario.overdue_id}/cancel", reason=REASON)
    cancelled = client.get(page).text
    assert "Đã hủy hồ sơ." in cancelled and 'id="actions"' not in cancelled  # nothing left to act on
    assert [e.type for e in _admin_events(engine, scenario.overdue_id)] == [
        "admin.suspend",
        "admin.resume",
        "admin.cancel",
    ]


def test_moving_the_token_shows_a_preview_before_it_moves(client, engine, scenario):
    page = f"/console/dossiers/{scenario.overdue_id}"
    # The target is chosen from the diagram's activities, by name: no element id typed by hand.
    [target] = lxml_html.fromstring(client.get(page).text).xpath(
        "//select[@name='start_before']/option[@value='DangKyKhaiSinh']"
    )
    assert target.text_content().startswith("Đăng ký khai sinh")
    fields = {"cancel_activities": FIRST_STEP, "start_before": "DangKyKhaiSinh", "reason": REASON}
    preview = post_form(client, page, f"/console/dossiers/{scenario.overdue_id}/move", **fields)
    assert preview.status_code == 200 and "Xem trước" in preview.text
    assert "Đăng ký khai sinh" in preview.text and 'name="confirmed" value="1"' in preview.text
    open_steps = [a["id"] for a in get_instance(engine, scenario.overdue_id).current_activities]
    assert FIRST_STEP in open_steps and "DangKyKhaiSinh" not in open_steps  # the preview changed nothing
    assert _admin_events(engine, scenario.overdue_id) == []
    moved = post_form(client, page, f"/console/dossiers/{scenario.overdue_id}/move", confirmed="1", **fields)
    assert moved.status_code == 302
    assert "Đã di chuyển bước xử lý." in client.get(page).text
    assert "DangKyKhaiSinh" in [a["id"] for a in get_instance(engine, scenario.overdue_id).current_activities]
    assert [e.type for e in _admin_events(engine, scenario.overdue_id)] == ["admin.move_token"]


def test_a_target_outside_the_diagram_is_refused_by_the_form(client, engine, scenario):
    page = f"/console/dossiers/{scenario.overdue_id}"
    fields = {"cancel_activities": FIRST_STEP, "start_before": "NoSuchStep", "reason": REASON}
    refused = post_form(client, page, f"/console/dossiers/{scenario.overdue_id}/move", **fields)
    assert refused.status_code == 302 and _admin_events(engine, scenario.overdue_id) == []
    assert FIRST_STEP in [a["id"] for a in get_instance(engine, scenario.overdue_id).current_activities]
