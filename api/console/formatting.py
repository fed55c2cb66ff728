"""Jinja filters: Vietnam time, ages, and the Vietnamese labels of codes stored in English."""

from __future__ import annotations

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
    "handed_over": "Chuyển giao bước",
    "step_clock_started": "Bắt đầu tính thời hạn bước",
    "task_completed": "Hoàn thành bước",
    "task_failed": "Bước báo lỗi",
    "incident": "Phát sinh sự cố",
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
}


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


def _label(table: dict[str, str]):
    return lambda code: "" if code is None else table.get(code, code)


def register_filters(app: Flask) -> None:
    app.add_template_filter(vn_datetime, "vn_datetime")
    app.add_template_filter(age, "age")
    app.add_template_filter(_label(OUTCOME_LABELS), "outcome_label")
    app.add_template_filter(_label(DEADLINE_STATE_LABELS), "deadline_state_label")
    app.add_template_filter(_label(STATUS_LABELS), "status_label")
    app.add_template_filter(_label(STUCK_KIND_LABELS), "stuck_kind_label")
    app.add_template_filter(_label(EVENT_LABELS), "event_label")
