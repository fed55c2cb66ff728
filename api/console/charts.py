"""Stacked bars drawn with CSS widths: one bar per agency or procedure, no chart library."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.admin import StatisticsRow

# (attribute of a statistics row, CSS class, Vietnamese label), in the order the bar is stacked.
SERIES = (
    ("early", "early", "Trước hạn"),
    ("on_time", "on-time", "Đúng hạn"),
    ("late", "late", "Quá hạn"),
    ("open_within_time", "open", "Đang xử lý trong hạn"),
    ("open_overdue", "overdue", "Đang quá hạn"),
    ("paused", "paused", "Đang tạm dừng"),
)


@dataclass(frozen=True)
class Segment:
    css_class: str
    label: str
    count: int
    percent: float  # of the bar's total, for the CSS width


def segments(row: StatisticsRow) -> list[Segment]:
    """The non-empty parts of one row's bar; widths add up to 100 %."""
    counts = [(css, label, int(getattr(row, attribute))) for attribute, css, label in SERIES]
    total = sum(count for _, _, count in counts)
    if total == 0:
        return []
    return [
        Segment(css, label, count, round(100 * count / total, 2)) for css, label, count in counts if count
    ]
