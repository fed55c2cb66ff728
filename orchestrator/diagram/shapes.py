"""One SVG group per DI shape: the outline of its kind, its icons and markers, its label."""

from __future__ import annotations

from typing import Any

from lxml import etree

from .interchange import ACTIVITIES, EVENTS, GATEWAYS, SUB_PROCESSES, Bounds, Element, Shape
from .labels import add_text
from .markers import INK, PAPER, TASK_ICON_KINDS, activity_markers, event_icon, gateway_marker, task_icon
from .svg import fmt, node, polygon, rect

__all__ = ["draw_shape", "is_container"]

TITLE_BAND = 30.0  # width of a pool's or lane's title strip
_OUTSIDE_LABEL_WIDTH = 90.0
EXPANDABLE = SUB_PROCESSES | {"callActivity"}
_GLOBAL_TASKS = {
    "globalUserTask": "userTask",
    "globalScriptTask": "scriptTask",
    "globalManualTask": "manualTask",
    "globalBusinessRuleTask": "businessRuleTask",
}
_DATA = frozenset({"dataObjectReference", "dataObject", "dataInput", "dataOutput"})


def is_container(element: Element | None, expanded: bool) -> bool:
    """Shapes other shapes sit on: drawn first so they never cover their content."""
    if element is None:
        return False
    return element.kind in {"participant", "lane"} or (element.kind in EXPANDABLE and expanded)


def draw_shape(
    parent: etree._Element, shape: Shape, element: Element | None, *, expanded: bool
) -> etree._Element:
    """Append the group for ``shape``; ``expanded`` is the sub-process state already resolved."""
    kind = element.kind if element is not None else "unknown"
    group = node(parent, "g", class_=f"lt-shape lt-{kind}", data_element_id=shape.element_id)
    element = element or Element(id=shape.element_id, kind="unknown")
    box = shape.bounds
    if kind in {"participant", "lane"}:
        _pool_or_lane(group, shape, element)
    elif kind in ACTIVITIES:
        _activity(group, shape, element, expanded)
    elif kind in EVENTS:
        _event(group, shape, element)
    elif kind in GATEWAYS:
        c = box.center
        points = [(c.x, box.y), (box.x + box.width, c.y), (c.x, box.y + box.height), (box.x, c.y)]
        polygon(
            group, points, class_="lt-body", fill=PAPER, stroke=INK, stroke_width=2, stroke_linejoin="round"
        )
        gateway_marker(group, element, box, marker_visible=shape.marker_visible)
        _outside_label(group, shape, element)
    elif kind in _DATA:
        _data_object(group, box, element)
        _outside_label(group, shape, element)
    elif kind == "dataStoreReference":
        _data_store(group, box)
        _outside_label(group, shape, element)
    elif kind == "textAnnotation":
        rect(group, box, fill="none", stroke="none", class_="lt-body")
        node(
            group,
            "path",
            d=f"M{fmt(box.x + 10)},{fmt(box.y)} h-10 v{fmt(box.height)} h10",
            fill="none",
            stroke=INK,
        )
        add_text(
            group,
            element.name,
            Bounds(box.x + 5, box.y + 3, box.width - 8, box.height - 6),
            middle=False,
            anchor="start",
        )
    elif kind == "group":
        rect(group, box, rx=10, fill="none", stroke=INK, stroke_dasharray="8,3,1,3", class_="lt-body")
        _placed_label(group, shape, element, Bounds(box.x, box.y + 4, box.width, 15), middle=False)
    else:
        rect(group, box, fill="none", stroke=INK, stroke_dasharray="4,4", class_="lt-body")
        _placed_label(group, shape, element, box)
    return group


def _placed_label(
    group: etree._Element, shape: Shape, element: Element, fallback: Bounds, *, middle: bool = True
) -> None:
    """The name at the DI label's bounds when the diagram gives them, else in ``fallback``."""
    if shape.label is not None and shape.label.width > 0:
        add_text(group, element.name, _widened(shape.label))
    else:
        add_text(group, element.name, fallback, middle=middle)


def _widened(label: Bounds) -> Bounds:
    # Label bounds are measured with the modeller's font; ours is a guess, so allow a little slack.
    return Bounds(label.x - 4, label.y, label.width + 8, label.height)


def _outside_label(group: etree._Element, shape: Shape, element: Element) -> None:
    box = shape.bounds
    below = Bounds(box.center.x - _OUTSIDE_LABEL_WIDTH / 2, box.y + box.height + 4, _OUTSIDE_LABEL_WIDTH, 30)
    _placed_label(group, shape, element, below, middle=False)


def _pool_or_lane(group: etree._Element, shape: Shape, element: Element) -> None:
    box = shape.bounds
    horizontal = shape.horizontal is not False
    is_pool = element.kind == "participant"
    rect(
        group,
        box,
        fill=PAPER if is_pool else "none",
        stroke=INK,
        stroke_width=1.5 if is_pool else 1,
        class_="lt-body",
    )
    if element.black_box:
        add_text(group, element.name, box, css_class="lt-label lt-title")
        return
    if horizontal:
        if is_pool:
            node(
                group,
                "path",
                d=f"M{fmt(box.x + TITLE_BAND)},{fmt(box.y)} v{fmt(box.height)}",
                stroke=INK,
                stroke_width=1.5,
            )
        # Written along the band, bottom to top, like the modeller: rotate a horizontal box about the band.
        cx, cy = box.x + TITLE_BAND / 2, box.center.y
        title = node(group, "g", transform=f"rotate(-90 {fmt(cx)} {fmt(cy)})", class_="lt-title")
        add_text(
            title,
            element.name,
            Bounds(cx - box.height / 2 + 4, cy - TITLE_BAND / 2, box.height - 8, TITLE_BAND),
            css_class="lt-label lt-title",
        )
    else:
        if is_pool:
            node(
                group,
                "path",
                d=f"M{fmt(box.x)},{fmt(box.y + TITLE_BAND)} h{fmt(box.width)}",
                stroke=INK,
                stroke_width=1.5,
            )
        add_text(
            group,
            element.name,
            Bounds(box.x + 4, box.y, box.width - 8, TITLE_BAND),
            css_class="lt-label lt-title",
        )


def _activity(group: etree._Element, shape: Shape, element: Element, expanded: bool) -> None:
    box = shape.bounds
    kind = element.kind
    attributes: dict[str, str | float] = {"fill": PAPER, "stroke": INK, "stroke_width": 2}
    if kind == "callActivity":
        attributes["stroke_width"] = 5
    if element.triggered_by_event:
        attributes["stroke_dasharray"] = "2,4"
        attributes["stroke_linecap"] = "round"
    if expanded:
        attributes["fill_opacity"] = 0.95
    rect(group, box, rx=10, class_="lt-body", **attributes)
    if kind == "transaction":
        node(
            group,
            "rect",
            x=box.x + 3,
            y=box.y + 3,
            width=box.width - 6,
            height=box.height - 6,
            rx=8,
            fill="none",
            stroke=INK,
            stroke_width=1.5,
        )
    calls_task = _GLOBAL_TASKS.get(element.called_kind or "")
    task_icon(group, calls_task or kind, box, instantiate=element.instantiate)
    # A collapsed call activity shows "+" when it calls a process, the task's icon when a global task.
    calls_global_task = calls_task is not None or (element.called_kind or "").startswith("global")
    markers = activity_markers(
        group, element, box, collapsed=not expanded and kind in EXPANDABLE and not calls_global_task
    )
    if expanded:
        top_left = Bounds(box.x + 8, box.y + 6, box.width - 16, 30)
        add_text(group, element.name, top_left, middle=False, anchor="start")
        return
    bottom = 18 if markers else 4
    inset = 22 if (calls_task or kind) in TASK_ICON_KINDS else 5  # room for the type icon
    _placed_label(
        group,
        shape,
        element,
        Bounds(box.x + 5, box.y + inset / 2, box.width - 10, box.height - inset / 2 - bottom),
    )


def _event(group: etree._Element, shape: Shape, element: Element) -> None:
    box = shape.bounds
    c = box.center
    radius = min(box.width, box.height) / 2
    dashed = {"stroke_dasharray": "5,3"} if not element.interrupting else {}
    kind = element.kind

    def ring(r: float, width: float, fill: str = PAPER, **extra: Any) -> None:
        node(group, "circle", cx=c.x, cy=c.y, r=r, fill=fill, stroke=INK, stroke_width=width, **extra)

    # BPMN tells events apart by their ring: thin (start), double (intermediate), thick (end).
    if kind == "endEvent":
        ring(radius, 4, class_="lt-body")
    elif kind == "startEvent":
        ring(radius, 2, class_="lt-body", **dashed)
    else:
        ring(radius, 1.5, class_="lt-body", **dashed)
        ring(radius - 3, 1.5, fill="none", **dashed)
    event_icon(group, element, box, throwing=kind in {"endEvent", "intermediateThrowEvent"})
    _outside_label(group, shape, element)


def _data_object(group: etree._Element, box: Bounds, element: Element) -> None:
    fold = min(box.width, box.height) * 0.3
    x, y, w, h = box.x, box.y, box.width, box.height
    node(
        group,
        "path",
        d=f"M{fmt(x)},{fmt(y)} h{fmt(w - fold)} l{fmt(fold)},{fmt(fold)} v{fmt(h - fold)} h{fmt(-w)} z",
        fill=PAPER,
        stroke=INK,
        class_="lt-body",
    )
    node(group, "path", d=f"M{fmt(x + w - fold)},{fmt(y)} v{fmt(fold)} h{fmt(fold)}", fill="none", stroke=INK)
    if element.collection:
        node(
            group,
            "path",
            d=" ".join(f"M{fmt(x + w / 2 + dx)},{fmt(y + h - 10)} v8" for dx in (-4, 0, 4)),
            stroke=INK,
            stroke_width=1.5,
            class_="lt-marker lt-marker-collection",
        )
    if element.data_direction is not None:
        arrow = [
            (x + 4, y + 6),
            (x + 10, y + 6),
            (x + 10, y + 3),
            (x + 15, y + 8),
            (x + 10, y + 13),
            (x + 10, y + 10),
            (x + 4, y + 10),
        ]
        polygon(
            group,
            arrow,
            fill=INK if element.data_direction == "output" else PAPER,
            stroke=INK,
            class_=f"lt-marker lt-marker-data-{element.data_direction}",
        )


def _data_store(group: etree._Element, box: Bounds) -> None:
    x, y, w, h = box.x, box.y, box.width, box.height
    ry = min(h * 0.12, 8)
    node(
        group,
        "path",
        d=f"M{fmt(x)},{fmt(y + ry)} a{fmt(w / 2)},{fmt(ry)} 0 0 1 {fmt(w)},0 v{fmt(h - 2 * ry)} "
        f"a{fmt(w / 2)},{fmt(ry)} 0 0 1 {fmt(-w)},0 z",
        fill=PAPER,
        stroke=INK,
        stroke_width=1.5,
        class_="lt-body",
    )
    for offset in (ry, ry * 1.8, ry * 2.6):
        node(
            group,
            "path",
            d=f"M{fmt(x)},{fmt(y + offset)} a{fmt(w / 2)},{fmt(ry)} 0 0 0 {fmt(w)},0",
            fill="none",
            stroke=INK,
        )
