"""Jinja filters: Vietnam time, ages, and the Vietnamese labels of codes stored in English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask

from orchestrator.calendar import VN_TZ

OUTCOME_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
DEADLINE_STATE_LABELS = {
    "running": "Đang tính giờ",
    "warned": "Sắp đến hạn",
    "overdue": "Quá hạn",
    "paused": "Đang tạm dừng",
    "met": "Đã kết thúc",
    "suspended": "Đang bị đình chỉ",
}
STATUS_LABELS = {
    "running": "Đang xử lý",
    "suspended": "Đang bị đình chỉ",
    "completed": "Đã hoàn thành",
    "cancelled": "Đã hủy",
    "error": "Lỗi",
}
STUCK_KIND_LABELS = {
    "not_fetched": "Cơ quan chưa nhận xử lý",
    "lock_expired": "Hết hạn khóa nhiều lần",
    "incident": "Sự cố: hết số lần thử",
    "step_overdue": "Bước quá hạn",
    "dossier_overdue": "Hồ sơ quá hạn",
    "paused_too_long": "Tạm dừng quá thời hạn bổ sung",
    "message_waiting": "Chờ thông điệp quá lâu",
    "job_dead_lettered": "Tác vụ nội bộ thất bại",
}

EVENT_LABELS = {
    "instance_started": "Tiếp nhận hồ sơ",
    "instance_completed": "Hoàn thành hồ sơ",
    "instance_cancelled": "Hủy hồ sơ",
    "appointment_made": "Hẹn ngày trả kết quả",
    "reappointed": "Hẹn lại ngày trả kết quả",
    "handed_over": "Chuyển giao bước",
    "user_task_created": "Giao việc cho công chức",
    "step_clock_started": "Bắt đầu tính thời hạn bước",
    "step_finished": "Kết thúc tính thời hạn bước",
    "dossier_clock_stopped": "Dừng tính thời hạn hồ sơ",
    "deadline_error": "Không tính được thời hạn",
    "task_completed": "Hoàn thành bước",
    "task_interrupted": "Bước bị ngắt",
    "task_failed": "Bước báo lỗi",
    "bpmn_error": "Cơ quan báo lỗi nghiệp vụ",
    "incident": "Phát sinh sự cố",
    "timer_fired": "Đến giờ hẹn",
    "clock_paused": "Tạm dừng tính thời hạn",
    "clock_resumed": "Tiếp tục tính thời hạn",
    "deadline_warning": "Cảnh báo sắp đến hạn",
    "deadline_overdue": "Quá hạn",
    "message_correlated": "Nhận thông điệp",
    "variables_modified": "Sửa biến",
    "admin.retry_incident": "Quản trị: thử lại sự cố",
    "admin.extend_deadline": "Quản trị: gia hạn bước",
    "admin.reassign_step": "Quản trị: chuyển giao bước",
    "admin.suspend": "Quản trị: tạm đình chỉ",
    "admin.resume": "Quản trị: tiếp tục xử lý",
    "admin.cancel": "Quản trị: hủy hồ sơ",
    "admin.move_token": "Quản trị: di chuyển bước",
    # dossier.<transition> (orchestrator/dossiers/transitions.py::transition_name)
    "dossier.received": "Hồ sơ: đã tiếp nhận",
    "dossier.processing_started": "Hồ sơ: bắt đầu giải quyết",
    "dossier.supplement_requested": "Hồ sơ: yêu cầu bổ sung",
    "dossier.supplement_received": "Hồ sơ: đã nhận bổ sung",
    "dossier.payment_requested": "Hồ sơ: chờ thực hiện nghĩa vụ tài chính",
    "dossier.payment_received": "Hồ sơ: đã thực hiện nghĩa vụ tài chính",
    "dossier.refused": "Hồ sơ: từ chối",
    "dossier.finished": "Hồ sơ: đã có kết quả",
    "dossier.returned": "Hồ sơ: đã trả kết quả",
    "dossier.withdrawn": "Hồ sơ: rút hồ sơ",
    "dossier.stopped": "Hồ sơ: dừng giải quyết",
}
# An event type added later still reads as Vietnamese; its code is shown beside the label.
EVENT_FAMILY_LABELS = {"admin.": "Thao tác quản trị", "dossier.": "Hồ sơ chuyển trạng thái"}
OTHER_EVENT_LABEL = "Sự kiện khác"


def vn_datetime(value: datetime | str | None) -> str:
    """``dd/mm/yyyy HH:MM`` in Vietnam time; empty for no value."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def age(seconds: float | None) -> str:
    """A duration the way officials say it: ``2 ngày 3 giờ``, ``45 phút``."""
    if seconds is None:
        return ""
    minutes = max(0, int(seconds // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    return f"{minutes} phút"


def event_label(code: str | None) -> str:
    """The Vietnamese name of a history event type; a type without one falls back to its family."""
    if code is None:
        return ""
    if code in EVENT_LABELS:
        return EVENT_LABELS[code]
    family = next((label for prefix, label in EVENT_FAMILY_LABELS.items() if code.startswith(prefix)), None)
    return family or OTHER_EVENT_LABEL


def _label(table: dict[str, str]) -> Callable[[str | None], str]:
    return lambda code: "" if code is None else table.get(code, code)


def register_filters(app: Flask) -> None:
    app.add_template_filter(vn_datetime, "vn_datetime")
    app.add_template_filter(age, "age")
    app.add_template_filter(_label(OUTCOME_LABELS), "outcome_label")
    app.add_template_filter(_label(DEADLINE_STATE_LABELS), "deadline_state_label")
    app.add_template_filter(_label(STATUS_LABELS), "status_label")
    app.add_template_filter(_label(STUCK_KIND_LABELS), "stuck_kind_label")
    app.add_template_filter(event_label, "event_label")
