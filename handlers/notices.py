"""Compose the Vietnamese notice an applicant is sent when the result is ready.

The text is stored on the dossier (``thongBaoKetQua``); delivering it by e-mail or
webhook is the notification outbox's job, so this handler has no outside effect and is
naturally idempotent.
"""

from __future__ import annotations

from orchestrator.handler_sdk import HandlerCall, handler

TOPIC = "lienthong-thong-bao-ket-qua"


@handler(TOPIC)
def compose_result_notice(call: HandlerCall) -> dict[str, str]:
    code = call.business_key or call.instance_id
    applicant = call.variables.get("nguoiNopHoSo") or "Ông/Bà"
    return {
        "thongBaoKetQua": (
            f"Kính gửi {applicant}: hồ sơ số {code} đã có kết quả. "
            "Ông/Bà vui lòng nhận kết quả theo hình thức đã đăng ký."
        )
    }
