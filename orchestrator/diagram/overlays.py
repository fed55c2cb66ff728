"""The live state drawn over a diagram: where a dossier is, what is late, the path it took, load per step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from .interchange import Bounds
from .svg import node, rect

__all__ = ["OVERLAY_STYLE", "ActivityCount", "Overlays", "decorate", "shape_classes"]


@dataclass(frozen=True)
class ActivityCount:
    open: int = 0  # open dossiers waiting at this activity
    incidents: int = 0  # of them, with an incident


@dataclass(frozen=True)
class Overlays:
    current: frozenset[str] = frozenset()  # element ids where the dossier's tokens are now (blue outline)
    overdue: frozenset[str] = frozenset()  # element ids whose step deadline is overdue (red fill/outline)
    completed: frozenset[str] = frozenset()  # element ids already passed (the path taken; greyed green)
    taken_flows: frozenset[str] = frozenset()  # sequence flow ids taken (highlighted)
    counts: Mapping[str, ActivityCount] = field(default_factory=dict)  # heatmap badges per activity
    incidents: frozenset[str] = frozenset()  # element ids with an incident (red badge)


OVERLAY_STYLE = """
.lt-completed > .lt-body { fill: #e8f5e9; stroke: #2e7d32; }
.lt-current > .lt-body { stroke: #1565c0; stroke-width: 4px; }
.lt-overdue > .lt-body { fill: #ffebee; stroke: #c62828; stroke-width: 4px; }
.lt-taken > .lt-body { stroke: #2e7d32; stroke-width: 3px; }
.lt-heat { fill: #ef6c00; pointer-events: none; }
.lt-badge text { font-family: Arial, Helvetica, sans-serif; font-size: 10px; font-weight: bold; fill: #fff; }
.lt-badge-open rect { fill: #1565c0; }
.lt-badge-incident rect { fill: #c62828; }
"""


def shape_classes(element_id: str, overlays: Overlays) -> list[str]:
    """The CSS classes that show a shape's live state (the style block above gives their look)."""
    states = (
        ("lt-completed", overlays.completed),
        ("lt-current", overlays.current),
        ("lt-overdue", overlays.overdue),
        ("lt-incident", overlays.incidents),
    )
    return [name for name, ids in states if element_id in ids]


def decorate(group: etree._Element, element_id: str, box: Bounds, overlays: Overlays, busiest: int) -> None:
    """Add the state classes, the heat tint and the count badges of one shape's group."""
    classes = shape_classes(element_id, overlays)
    if classes:
        group.set("class", " ".join([group.get("class", ""), *classes]).strip())
    count = overlays.counts.get(element_id)
    incidents = count.incidents if count is not None else 0
    if count is not None and (count.open or count.incidents):
        group.set("data-open", str(count.open))
        group.set("data-incidents", str(count.incidents))
        if count.open and busiest:
            # Tint in proportion to the busiest activity, never so dark the name becomes unreadable.
            opacity = 0.12 + 0.4 * count.open / busiest
            rect(group, box, rx=10, fill_opacity=opacity, class_="lt-heat")
        if count.open:
            _badge(group, box.x + box.width, box.y, str(count.open), "lt-badge lt-badge-open")
    if incidents or element_id in overlays.incidents:
        _badge(group, box.x, box.y, str(incidents) if incidents else "!", "lt-badge lt-badge-incident")


def _badge(group: etree._Element, cx: float, cy: float, text: str, css_class: str) -> None:
    width = 10 + 6 * len(text)
    badge = node(group, "g", class_=css_class)
    node(badge, "rect", x=cx - width / 2, y=cy - 8, width=width, height=16, rx=8)
    label = node(badge, "text", x=cx, y=cy + 3.5, text_anchor="middle")
    label.text = text
