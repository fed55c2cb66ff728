"""One SVG group per DI edge: the line style and end markers of its kind, and its label."""

from __future__ import annotations

from lxml import etree

from .interchange import Bounds, Edge, Element
from .labels import add_text
from .markers import INK, PAPER
from .svg import node, polyline_path

__all__ = ["draw_edge", "marker_definitions"]

_TAKEN = "#2e7d32"


def marker_definitions(parent: etree._Element) -> None:
    """The arrowheads and flow-start marks edges refer to (a taken-flow variant in green)."""
    defs = node(parent, "defs")
    for suffix, colour in (("", INK), ("-taken", _TAKEN)):
        _marker(defs, f"lt-seq-end{suffix}", "M1,1 L11,6 L1,11 z", colour, colour, ref=(11, 6))
        _marker(defs, f"lt-default{suffix}", "M3,2 L9,10", "none", colour, ref=(0, 6))
        _marker(
            defs, f"lt-conditional{suffix}", "M1,6 L7,1 L13,6 L7,11 z", PAPER, colour, ref=(1, 6), size=14
        )
    _marker(defs, "lt-msg-start", "M1,6 a5,5 0 1 0 10,0 a5,5 0 1 0 -10,0 z", PAPER, INK, ref=(1, 6))
    _marker(defs, "lt-msg-end", "M1,1 L11,6 L1,11 z", PAPER, INK, ref=(11, 6))
    _marker(defs, "lt-open-end", "M1,1 L11,6 L1,11", "none", INK, ref=(11, 6))
    _marker(defs, "lt-open-start", "M11,1 L1,6 L11,11", "none", INK, ref=(1, 6))


def _marker(
    defs: etree._Element,
    marker_id: str,
    path: str,
    fill: str,
    stroke: str,
    *,
    ref: tuple[float, float],
    size: float = 12,
) -> None:
    marker = node(
        defs,
        "marker",
        id=marker_id,
        viewBox=f"0 0 {size:g} 12",
        refX=ref[0],
        refY=ref[1],
        markerWidth=size,
        markerHeight=12,
        markerUnits="userSpaceOnUse",
        orient="auto",
    )
    node(marker, "path", d=path, fill=fill, stroke=stroke, stroke_width=1.5, stroke_linejoin="round")


def draw_edge(parent: etree._Element, edge: Edge, element: Element | None, *, taken: bool) -> etree._Element:
    """Append the group for ``edge``; ``taken`` draws a sequence flow on the dossier's path."""
    kind = element.kind if element is not None else "unknown"
    classes = f"lt-edge lt-{kind}{' lt-taken' if taken else ''}"
    group = node(parent, "g", class_=classes, data_element_id=edge.element_id)
    attributes: dict[str, str | float] = {"d": polyline_path(edge.waypoints), "fill": "none", "stroke": INK}
    suffix = "-taken" if taken else ""
    if kind == "sequenceFlow" and element is not None:
        attributes["stroke_width"] = 1.5
        attributes["marker_end"] = f"url(#lt-seq-end{suffix})"
        if element.is_default:
            attributes["marker_start"] = f"url(#lt-default{suffix})"
        elif element.is_conditional:
            attributes["marker_start"] = f"url(#lt-conditional{suffix})"
    elif kind == "messageFlow":
        attributes.update(
            stroke_dasharray="10,6",
            stroke_width=1.5,
            marker_start="url(#lt-msg-start)",
            marker_end="url(#lt-msg-end)",
        )
    elif kind in {"association", "dataInputAssociation", "dataOutputAssociation"}:
        attributes.update(stroke_dasharray="2,5", stroke_linecap="round", stroke_width=1.5)
        direction = element.association_direction if element is not None else "None"
        if kind != "association" or direction in {"One", "Both"}:
            attributes["marker_end"] = "url(#lt-open-end)"
        if direction == "Both":
            attributes["marker_start"] = "url(#lt-open-start)"
    node(group, "path", class_="lt-body", **attributes)
    if element is not None and element.name:
        add_text(group, element.name, _label_box(edge))
    return group


def _label_box(edge: Edge) -> Bounds:
    if edge.label is not None and edge.label.width > 0:
        return Bounds(edge.label.x - 4, edge.label.y, edge.label.width + 8, edge.label.height)
    # No DI label: beside the middle of the middle segment, as the modeller places new labels.
    points = edge.waypoints
    first, second = points[(len(points) - 1) // 2], points[(len(points) - 1) // 2 + 1]
    mid_x, mid_y = (first.x + second.x) / 2, (first.y + second.y) / 2
    return Bounds(mid_x - 45, mid_y - 18, 90, 14)
