"""Icons and markers inside shapes: task types, activity markers, event definitions, gateway marks.

Shapes follow Camunda Modeler's look in simplified strokes; every icon is scaled to its shape's
bounds so diagrams drawn at another size (the MIWG files use 30-px events) stay proportioned.
"""

from __future__ import annotations

import math

from lxml import etree

from .interchange import Bounds, Element
from .svg import node, polygon

__all__ = ["TASK_ICON_KINDS", "activity_markers", "event_icon", "gateway_marker", "task_icon"]

INK = "#22242a"
PAPER = "#ffffff"


def _scaled(
    points: list[tuple[float, float]], cx: float, cy: float, scale: float
) -> list[tuple[float, float]]:
    return [(cx + x * scale, cy + y * scale) for x, y in points]


# --- task types -------------------------------------------------------------------------------


def task_icon(parent: etree._Element, kind: str, box: Bounds, *, instantiate: bool = False) -> None:
    """The type icon in a task's top-left corner (nothing for a plain task)."""
    x, y = box.x + 6, box.y + 6
    drawer = _TASK_ICONS.get(kind)
    if drawer is not None:
        group = node(parent, "g", class_=f"lt-icon lt-task-{kind}")
        drawer(group, x, y, instantiate)


def _user(group: etree._Element, x: float, y: float, _: bool) -> None:
    node(group, "circle", cx=x + 8, cy=y + 5, r=4, fill=PAPER, stroke=INK, stroke_width=1.2)
    node(
        group,
        "path",
        d=f"M{x + 1},{y + 17} c0,-6 3,-8 7,-8 s7,2 7,8 z",
        fill=PAPER,
        stroke=INK,
        stroke_width=1.2,
    )


def _service(group: etree._Element, x: float, y: float, _: bool) -> None:
    cx, cy = x + 8, y + 8
    teeth = [
        (cx + radius * math.cos(math.pi * i / 8), cy + radius * math.sin(math.pi * i / 8))
        for i in range(16)
        for radius in ((7.5,) if i % 2 == 0 else (5.5,))
    ]
    polygon(group, teeth, fill=PAPER, stroke=INK, stroke_width=1.1)
    node(group, "circle", cx=cx, cy=cy, r=2.5, fill=PAPER, stroke=INK, stroke_width=1.1)


def _envelope(
    group: etree._Element, x: float, y: float, filled: bool, width: float = 16, height: float = 11
) -> None:
    node(group, "rect", x=x, y=y, width=width, height=height, fill=INK if filled else PAPER, stroke=INK)
    node(
        group,
        "path",
        d=f"M{x},{y} L{x + width / 2},{y + height / 2} L{x + width},{y}",
        fill="none",
        stroke=PAPER if filled else INK,
    )


def _send(group: etree._Element, x: float, y: float, _: bool) -> None:
    _envelope(group, x, y + 2, True)


def _receive(group: etree._Element, x: float, y: float, instantiate: bool) -> None:
    if instantiate:
        node(group, "circle", cx=x + 8, cy=y + 8, r=10, fill="none", stroke=INK)
        _envelope(group, x + 2, y + 3.5, False, 12, 9)
    else:
        _envelope(group, x, y + 2, False)


def _manual(group: etree._Element, x: float, y: float, _: bool) -> None:
    node(
        group,
        "path",
        d=f"M{x},{y + 8} l5,-5 h9 a1,1 0 0 1 0,2 h-6 h8 a1,1 0 0 1 0,2 h-8 h7 a1,1 0 0 1 0,2 h-7 h6 "
        f"a1,1 0 0 1 0,2 h-12 l-2,-1 z",
        fill=PAPER,
        stroke=INK,
        stroke_width=1.1,
    )


def _business_rule(group: etree._Element, x: float, y: float, _: bool) -> None:
    node(group, "rect", x=x, y=y + 2, width=17, height=12, fill=PAPER, stroke=INK)
    node(group, "rect", x=x, y=y + 2, width=17, height=3.5, fill=INK, stroke=INK)
    node(group, "path", d=f"M{x},{y + 9.5} h17 M{x + 5},{y + 5.5} v8.5", stroke=INK, fill="none")


def _script(group: etree._Element, x: float, y: float, _: bool) -> None:
    node(
        group,
        "path",
        d=f"M{x + 4},{y} h11 c-4,4 4,8 0,15 h-11 c4,-7 -4,-11 0,-15 z",
        fill=PAPER,
        stroke=INK,
        stroke_width=1.1,
    )
    node(group, "path", d=f"M{x + 4},{y + 4} h6 M{x + 5},{y + 7.5} h6 M{x + 5},{y + 11} h6", stroke=INK)


_TASK_ICONS = {
    "userTask": _user,
    "serviceTask": _service,
    "sendTask": _send,
    "receiveTask": _receive,
    "manualTask": _manual,
    "businessRuleTask": _business_rule,
    "scriptTask": _script,
}
TASK_ICON_KINDS = frozenset(_TASK_ICONS)

# --- activity markers (bottom centre) ----------------------------------------------------------


def activity_markers(parent: etree._Element, element: Element, box: Bounds, *, collapsed: bool) -> list[str]:
    """Loop / multi-instance / compensation / ad-hoc / collapsed markers, centred at the bottom."""
    names = []
    if element.loop:
        names.append(element.loop)
    if element.for_compensation:
        names.append("compensation")
    if element.kind == "adHocSubProcess":
        names.append("adhoc")
    if collapsed:
        names.append("collapsed")
    size, gap = 12.0, 3.0
    left = box.x + box.width / 2 - (len(names) * size + (len(names) - 1) * gap) / 2
    top = box.y + box.height - size - 4
    for index, name in enumerate(names):
        group = node(parent, "g", class_=f"lt-marker lt-marker-{name}")
        _MARKERS[name](group, left + index * (size + gap), top, size)
    return names


def _loop_marker(group: etree._Element, x: float, y: float, size: float) -> None:
    node(
        group,
        "path",
        d=f"M{x + 3},{y + size - 1} A{size / 2 - 1},{size / 2 - 1} 0 1 1 {x + size - 3},{y + size - 1}",
        fill="none",
        stroke=INK,
        stroke_width=1.5,
    )
    polygon(
        group,
        [(x + size - 3, y + size - 1), (x + size + 0.5, y + size - 3), (x + size - 2, y + size - 5)],
        fill=INK,
    )


def _parallel_marker(group: etree._Element, x: float, y: float, size: float) -> None:
    node(group, "path", d=" ".join(f"M{x + dx},{y} v{size}" for dx in (2, 6, 10)), stroke=INK, stroke_width=2)


def _sequential_marker(group: etree._Element, x: float, y: float, size: float) -> None:
    node(group, "path", d=" ".join(f"M{x},{y + dy} h{size}" for dy in (2, 6, 10)), stroke=INK, stroke_width=2)


def _compensation_marker(group: etree._Element, x: float, y: float, size: float) -> None:
    half = size / 2
    polygon(group, [(x, y + half), (x + half, y + 2), (x + half, y + size - 2)], fill="none", stroke=INK)
    polygon(
        group, [(x + half, y + half), (x + size, y + 2), (x + size, y + size - 2)], fill="none", stroke=INK
    )


def _adhoc_marker(group: etree._Element, x: float, y: float, size: float) -> None:
    node(group, "path", d=f"M{x},{y + 7} q3,-5 6,0 t6,0", fill="none", stroke=INK, stroke_width=1.5)


def _collapsed_marker(group: etree._Element, x: float, y: float, size: float) -> None:
    node(group, "rect", x=x, y=y, width=size, height=size, fill=PAPER, stroke=INK)
    node(
        group,
        "path",
        d=f"M{x + 2.5},{y + size / 2} h{size - 5} M{x + size / 2},{y + 2.5} v{size - 5}",
        stroke=INK,
        stroke_width=1.5,
    )


_MARKERS = {
    "loop": _loop_marker,
    "parallel": _parallel_marker,
    "sequential": _sequential_marker,
    "compensation": _compensation_marker,
    "adhoc": _adhoc_marker,
    "collapsed": _collapsed_marker,
}

# --- event definitions -------------------------------------------------------------------------

_EVENT_SHAPES: dict[str, list[tuple[float, float]]] = {
    "error": [(-7, 8), (-2.5, -8), (2, 2), (7, -8), (2.5, 8), (-2, -2)],
    "escalation": [(0, -9), (6, 8), (0, 2), (-6, 8)],
    "signal": [(0, -9), (8, 6), (-8, 6)],
    "link": [(-8, -3.5), (1, -3.5), (1, -8), (8.5, 0), (1, 8), (1, 3.5), (-8, 3.5)],
    "multiple": [(0, -9), (8.5, -2.8), (5.3, 7.3), (-5.3, 7.3), (-8.5, -2.8)],
    "parallelMultiple": [
        (-2.5, -8),
        (2.5, -8),
        (2.5, -2.5),
        (8, -2.5),
        (8, 2.5),
        (2.5, 2.5),
        (2.5, 8),
        (-2.5, 8),
        (-2.5, 2.5),
        (-8, 2.5),
        (-8, -2.5),
        (-2.5, -2.5),
    ],
}


def event_icon(parent: etree._Element, element: Element, box: Bounds, *, throwing: bool) -> str | None:
    """The event definition's icon, filled when the event throws; returns the icon's name."""
    definitions = [d for d in element.event_definitions if d != "reference"] or list(
        element.event_definitions
    )
    if not definitions:
        return None
    name = (
        definitions[0]
        if len(definitions) == 1
        else ("parallelMultiple" if element.parallel_multiple else "multiple")
    )
    center = box.center
    scale = min(box.width, box.height) / 36
    fill, stroke = (INK, INK) if throwing else (PAPER, INK)
    group = node(parent, "g", class_=f"lt-icon lt-event-{name}{' lt-throwing' if throwing else ''}")
    if name == "message":
        width, height = 18 * scale, 12 * scale
        x, y = center.x - width / 2, center.y - height / 2
        node(group, "rect", x=x, y=y, width=width, height=height, fill=fill, stroke=INK)
        node(
            group,
            "path",
            d=f"M{x:.1f},{y:.1f} L{center.x:.1f},{center.y:.1f} L{x + width:.1f},{y:.1f}",
            fill="none",
            stroke=PAPER if throwing else INK,
        )
    elif name == "timer":
        radius = 11 * scale
        node(group, "circle", cx=center.x, cy=center.y, r=radius, fill=PAPER, stroke=INK, stroke_width=1.5)
        ticks = " ".join(
            f"M{center.x + 0.75 * radius * math.cos(a):.1f},{center.y + 0.75 * radius * math.sin(a):.1f} "
            f"L{center.x + radius * math.cos(a):.1f},{center.y + radius * math.sin(a):.1f}"
            for a in (math.pi * i / 6 for i in range(12))
        )
        node(group, "path", d=ticks, stroke=INK)
        node(
            group,
            "path",
            d=f"M{center.x:.1f},{center.y - 0.7 * radius:.1f} L{center.x:.1f},{center.y:.1f} "
            f"L{center.x + 0.5 * radius:.1f},{center.y:.1f}",
            fill="none",
            stroke=INK,
            stroke_width=1.5,
        )
    elif name == "conditional":
        width, height = 12 * scale, 15 * scale
        x, y = center.x - width / 2, center.y - height / 2
        node(group, "rect", x=x, y=y, width=width, height=height, fill=PAPER, stroke=INK)
        node(
            group,
            "path",
            d=" ".join(
                f"M{x + 2 * scale:.1f},{y + dy * scale:.1f} h{width - 4 * scale:.1f}" for dy in (3, 6, 9, 12)
            ),
            stroke=INK,
        )
    elif name == "compensate":
        polygon(
            group, _scaled([(-9, 0), (-1, -6), (-1, 6)], center.x, center.y, scale), fill=fill, stroke=stroke
        )
        polygon(
            group, _scaled([(-1, 0), (7, -6), (7, 6)], center.x, center.y, scale), fill=fill, stroke=stroke
        )
    elif name == "terminate":
        node(group, "circle", cx=center.x, cy=center.y, r=10 * scale, fill=INK, stroke=INK)
    elif name == "cancel":
        arm = 7 * scale
        node(
            group,
            "path",
            d=f"M{center.x - arm:.1f},{center.y - arm:.1f} l{2 * arm:.1f},{2 * arm:.1f} "
            f"M{center.x + arm:.1f},{center.y - arm:.1f} l{-2 * arm:.1f},{2 * arm:.1f}",
            stroke=INK,
            stroke_width=4 * scale,
        )
    elif name in _EVENT_SHAPES:
        polygon(
            group,
            _scaled(_EVENT_SHAPES[name], center.x, center.y, scale),
            fill=fill,
            stroke=stroke,
            stroke_linejoin="round",
        )
    return name


# --- gateways ----------------------------------------------------------------------------------


def gateway_marker(
    parent: etree._Element, element: Element, box: Bounds, *, marker_visible: bool
) -> str | None:
    """The gateway's mark inside its diamond; an exclusive gateway shows X only when asked to."""
    c = box.center
    arm = min(box.width, box.height) * 0.2
    thick = max(min(box.width, box.height) / 12, 2.0)
    group = node(parent, "g", class_="lt-icon")
    cross = f"M{c.x - arm:.1f},{c.y:.1f} h{2 * arm:.1f} M{c.x:.1f},{c.y - arm:.1f} v{2 * arm:.1f}"
    ex = (
        f"M{c.x - arm * 0.8:.1f},{c.y - arm * 0.8:.1f} l{1.6 * arm:.1f},{1.6 * arm:.1f} "
        f"M{c.x + arm * 0.8:.1f},{c.y - arm * 0.8:.1f} l{-1.6 * arm:.1f},{1.6 * arm:.1f}"
    )
    if element.kind == "exclusiveGateway":
        if not marker_visible:
            parent.remove(group)
            return None
        node(group, "path", d=ex, stroke=INK, stroke_width=thick, class_="lt-gateway-x")
        return "exclusive"
    if element.kind == "parallelGateway":
        node(group, "path", d=cross, stroke=INK, stroke_width=thick, class_="lt-gateway-plus")
        return "parallel"
    if element.kind == "inclusiveGateway":
        node(
            group,
            "circle",
            cx=c.x,
            cy=c.y,
            r=arm * 1.1,
            fill="none",
            stroke=INK,
            stroke_width=thick * 0.8,
            class_="lt-gateway-o",
        )
        return "inclusive"
    if element.kind == "complexGateway":
        node(
            group,
            "path",
            d=f"{cross} {ex}",
            stroke=INK,
            stroke_width=thick * 0.8,
            class_="lt-gateway-complex",
        )
        return "complex"
    if element.kind == "eventBasedGateway":
        radius = arm * 1.2
        node(group, "circle", cx=c.x, cy=c.y, r=radius, fill="none", stroke=INK)
        if not element.instantiate:
            node(group, "circle", cx=c.x, cy=c.y, r=radius - 2.5, fill="none", stroke=INK)
        if element.exclusive_event_gateway:
            polygon(
                group,
                _scaled(_EVENT_SHAPES["multiple"], c.x, c.y, radius / 14),
                fill="none",
                stroke=INK,
                class_="lt-gateway-event",
            )
        else:
            polygon(
                group,
                _scaled(_EVENT_SHAPES["parallelMultiple"], c.x, c.y, radius / 14),
                fill="none",
                stroke=INK,
                class_="lt-gateway-event",
            )
        return "eventBased"
    parent.remove(group)
    return None
