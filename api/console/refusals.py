"""Why an action was refused, in Vietnamese for the official who clicked.

The services raise English errors (the JSON API keeps them, for developers).  The console
shows the official the refusals they actually hit, recognised by error type and message;
anything else falls back to a plain sentence per error type, never to the English text.
"""

from __future__ import annotations

import re

from orchestrator.errors import Conflict, InvalidInput, NotFound, OrchestratorError, StepFailed

from .formatting import STATUS_LABELS

# (error type, English message pattern, Vietnamese sentence); ``{status}`` is the dossier's status label.
KNOWN_REFUSALS: tuple[tuple[type[OrchestratorError], str, str], ...] = (
    (InvalidInput, r"needs a reason", "Hãy ghi lý do."),
    (InvalidInput, r"reason is at most", "Lý do quá dài (tối đa 1000 ký tự)."),
    (Conflict, r"process instance is (\w+), not suspended", "Hồ sơ không ở trạng thái tạm đình chỉ."),
    (
        Conflict,
        r"process instance is (\w+)",
        "Hồ sơ đang ở trạng thái “{status}”: không thực hiện được thao tác này.",
    ),
    (Conflict, r"has no incident", "Bước này không còn sự cố (có thể vừa được thử lại)."),
    (Conflict, r"changed meanwhile", "Hồ sơ vừa thay đổi; hãy tải lại trang và thử lại."),
    (NotFound, r"^agency '", "Không có cơ quan với mã này."),
    (NotFound, r"^external task '", "Bước này đã kết thúc hoặc không còn tồn tại; hãy tải lại trang."),
    (NotFound, r"^deadline ", "Thời hạn này không còn tồn tại; hãy tải lại trang."),
    (NotFound, r"^process instance '", "Không tìm thấy hồ sơ."),
    (
        InvalidInput,
        r"topic is handled in process",
        "Chủ đề này do hệ thống xử lý tự động, không giao cho cơ quan được.",
    ),
    (
        InvalidInput,
        r"done by an in-process handler",
        "Bước này do hệ thống xử lý tự động, không có cơ quan để đổi.",
    ),
    (InvalidInput, r"give the agency or the topic", "Nhập cơ quan mới, chủ đề mới, hoặc cả hai."),
    (
        InvalidInput,
        r"only a step's deadline",
        "Chỉ gia hạn được thời hạn của một bước; hẹn trả của hồ sơ chỉ đổi bằng phiếu xin lỗi và hẹn lại.",
    ),
    (Conflict, r"this step is finished", "Bước này đã kết thúc: không gia hạn được nữa."),
    (
        InvalidInput,
        r"clock is paused",
        "Thời hạn đang tạm dừng: chỉ gia hạn được theo thời gian làm việc (ví dụ 2wd, 4wh).",
    ),
    (
        InvalidInput,
        r"must be later than the current",
        "Hạn mới phải muộn hơn hạn hiện tại, trong giờ làm việc.",
    ),
    (InvalidInput, r"give either 'by'", "Nhập đúng một trong hai: số ngày gia hạn hoặc hạn mới."),
    (InvalidInput, r"name the activities to cancel", "Chọn bước cần hủy và bước bắt đầu lại."),
    (
        InvalidInput,
        r"is not active in this dossier",
        "Bước được chọn để hủy không còn mở trong hồ sơ; hãy tải lại trang.",
    ),
    (
        InvalidInput,
        r"must be in the same process",
        "Các bước cần hủy phải cùng một quy trình hoặc tiểu quy trình.",
    ),
    (InvalidInput, r"multi-instance", "Không di chuyển được bước lặp nhiều lần (multi-instance)."),
    (
        InvalidInput,
        r"start or boundary event",
        "Không đặt bước xử lý vào sự kiện bắt đầu hoặc sự kiện biên được.",
    ),
    (InvalidInput, r"joins several paths", "Bước này gộp nhiều nhánh: hãy chọn một bước sau nó."),
    (InvalidInput, r"waits for other paths", "Bước này còn chờ các nhánh khác nên không bắt đầu được ở đây."),
    (
        InvalidInput,
        r"not an activity of the process",
        "Bước bắt đầu lại phải thuộc cùng quy trình (hoặc tiểu quy trình) với các bước bị hủy.",
    ),
)
BY_TYPE: tuple[tuple[type[OrchestratorError], str], ...] = (
    (NotFound, "Không tìm thấy dữ liệu cần thao tác; hãy tải lại trang."),
    (Conflict, "Hồ sơ vừa thay đổi hoặc không ở trạng thái cho phép thao tác này; hãy tải lại trang."),
    (InvalidInput, "Dữ liệu nhập không hợp lệ."),
    (StepFailed, "Quy trình không chạy tiếp được với thay đổi này; không có gì bị thay đổi."),
)
OTHERWISE = "Thao tác bị từ chối; không có gì bị thay đổi."


def refusal_text(error: OrchestratorError) -> str:
    """The Vietnamese sentence for ``error``: a known case, else its type's, never the English detail."""
    for error_type, pattern, sentence in KNOWN_REFUSALS:
        match = re.search(pattern, error.detail) if isinstance(error, error_type) else None
        if match:
            status = match.group(1) if match.groups() else ""
            return sentence.format(status=STATUS_LABELS.get(status, status))
    return next((sentence for error_type, sentence in BY_TYPE if isinstance(error, error_type)), OTHERWISE)
