"""CSV of the stuck queue and of the statistics, for Excel: UTF-8 with a BOM, Vietnamese headers.

Excel reads a CSV without a BOM as the local code page and garbles every diacritic; with
it, "Cơ quan" stays "Cơ quan".  Instants are written in Vietnam's time, as officials read them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from ..calendar import VN_TZ
from .statistics import StatisticsRow
from .stuck import StuckItem

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@")
STUCK_HEADER = (
    "Loại", "Mã hồ sơ", "Mã quy trình", "Hồ sơ (ID)", "Cơ quan", "Bước", "Tên bước",
    "Tác vụ (ID)", "Từ lúc", "Số giờ", "Lý do",
)  # fmt: skip
STATISTICS_HEADER = (
    "Mã", "Tên", "Tiếp nhận", "Trước hạn", "Đúng hạn", "Quá hạn",
    "Đang giải quyết trong hạn", "Đang giải quyết quá hạn", "Tạm dừng",
)  # fmt: skip


def stuck_csv(items: Iterable[StuckItem]) -> str:
    return _csv(
        STUCK_HEADER,
        (
            (
                item.kind,
                item.business_key or "",
                item.process_key,
                item.instance_id,
                item.agency or "",
                item.activity_id or "",
                item.activity_name or "",
                item.task_id or "",
                _local(item.since),
                f"{item.age_seconds / 3600:.1f}",
                item.reason,
            )
            for item in items
        ),
    )


def statistics_csv(rows: Iterable[StatisticsRow]) -> str:
    return _csv(
        STATISTICS_HEADER,
        (
            (
                row.key,
                row.label,
                row.received,
                row.early,
                row.on_time,
                row.late,
                row.open_within_time,
                row.open_overdue,
                row.paused,
            )
            for row in rows
        ),
    )


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows(_safe(row) for row in rows)
    return BOM + buffer.getvalue()


def _safe(row: Sequence[object]) -> list[object]:
    """No cell starts a formula: a business key like "=HYPERLINK(...)" stays text in Excel."""
    return [f"'{cell}" if isinstance(cell, str) and cell[:1] in FORMULA_STARTS else cell for cell in row]


def _local(instant: datetime) -> str:
    return instant.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M")
