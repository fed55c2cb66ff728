"""Draw one diagram of a BPMN file as a self-contained SVG, optionally with a dossier's live state."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from .edges import draw_edge, marker_definitions
from .interchange import Bounds, Diagram, Element, Model, Point, Shape, read_model
from .labels import FONT_SIZE
from .overlays import OVERLAY_STYLE, Overlays, decorate
from .shapes import EXPANDABLE, draw_shape, is_container
from .svg import node, svg_root

__all__ = ["render_svg"]

_MARGIN = 24.0
# No external font: the console must work offline, so the browser's own sans-serif is used.
_STYLE = (
    f"""
.lt-label {{ font-family: Arial, Helvetica, sans-serif; font-size: {FONT_SIZE:g}px; fill: #22242a; }}
.lt-title {{ font-weight: bold; }}
"""
    + OVERLAY_STYLE
)


def render_svg(xml: bytes, overlays: Overlays | None = None, *, diagram: str | None = None) -> str:
    """The SVG of the BPMNDI diagram ``diagram`` (default: the first) of ``xml``.

    Raises ``DiagramRejected`` for a file the hardened loader refuses and ``NotFound`` when the
    file has no such diagram. Every shape and edge is a ``<g data-element-id="...">``.
    """
    model = read_model(xml)
    return draw(model, model.diagram(diagram), overlays or Overlays())


def draw(model: Model, diagram: Diagram, overlays: Overlays) -> str:
    box = _extent(diagram)
    root = svg_root(
        viewBox=f"{box.x:.0f} {box.y:.0f} {box.width:.0f} {box.height:.0f}",
        width=round(box.width),
        height=round(box.height),
        class_="lt-diagram",
        data_diagram_id=diagram.id,
        role="img",
    )
    node(root, "title").text = diagram.name or diagram.id
    node(root, "style").text = _STYLE
    marker_definitions(root)
    node(root, "rect", x=box.x, y=box.y, width=box.width, height=box.height, fill="#ffffff")
    expanded = _expanded_states(model, diagram)
    containers, others = [], []
    for shape in diagram.shapes:
        element = model.elements.get(shape.element_id)
        (containers if is_container(element, expanded[shape.id]) else others).append(shape)
    # Outer containers first (pools, then lanes, then sub-processes), then flows, then what sits on them.
    containers.sort(key=lambda shape: -shape.bounds.width * shape.bounds.height)
    others.sort(key=lambda shape: _layer(model.elements.get(shape.element_id)))
    busiest = max((count.open for count in overlays.counts.values()), default=0)
    for shape in containers:
        _shape(root, model, shape, expanded[shape.id], overlays, busiest)
    for edge in diagram.edges:
        draw_edge(
            root, edge, model.elements.get(edge.element_id), taken=edge.element_id in overlays.taken_flows
        )
    for shape in others:
        _shape(root, model, shape, expanded[shape.id], overlays, busiest)
    return etree.tostring(root, encoding="unicode")


def _shape(
    root: etree._Element, model: Model, shape: Shape, expanded: bool, overlays: Overlays, busiest: int
) -> None:
    group = draw_shape(root, shape, model.elements.get(shape.element_id), expanded=expanded)
    decorate(group, shape.element_id, shape.bounds, overlays, busiest)


def _layer(element: Element | None) -> int:
    """Boundary events after the activity they sit on; groups and annotations on top."""
    if element is None:
        return 3
    return {"boundaryEvent": 1, "group": 2, "textAnnotation": 2}.get(element.kind, 0)


def _expanded_states(model: Model, diagram: Diagram) -> dict[str, bool]:
    """Each shape's isExpanded; when the DI omits it, a sub-process is expanded if shapes sit inside it."""
    states = {}
    for shape in diagram.shapes:
        element = model.elements.get(shape.element_id)
        if shape.expanded is not None:
            states[shape.id] = shape.expanded
        elif element is not None and element.kind in EXPANDABLE:
            states[shape.id] = any(
                other is not shape and _inside(other.bounds.center, shape.bounds) for other in diagram.shapes
            )
        else:
            states[shape.id] = False
    return states


def _inside(point: Point, box: Bounds) -> bool:
    return box.x < point.x < box.x + box.width and box.y < point.y < box.y + box.height


def _extent(diagram: Diagram) -> Bounds:
    xs: list[float] = []
    ys: list[float] = []
    for box in _all_bounds(diagram):
        xs += [box.x, box.x + box.width]
        ys += [box.y, box.y + box.height]
    for edge in diagram.edges:
        xs += [point.x for point in edge.waypoints]
        ys += [point.y for point in edge.waypoints]
    if not xs:
        return Bounds(0, 0, 100, 100)
    left, top = min(xs) - _MARGIN, min(ys) - _MARGIN
    return Bounds(left, top, max(xs) + _MARGIN - left, max(ys) + _MARGIN - top)


def _all_bounds(diagram: Diagram) -> Iterable[Bounds]:
    for shape in diagram.shapes:
        yield shape.bounds
        if shape.label is not None:
            yield shape.label
    for edge in diagram.edges:
        if edge.label is not None:
            yield edge.label
