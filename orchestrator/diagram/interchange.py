"""Read a BPMN file's diagram interchange (BPMNDI) and the semantic facts drawing needs.

The drawing never looks at the raw XML again: it gets :class:`Diagram` (shapes with bounds,
edges with waypoints, label bounds, the DI flags) and :class:`Element` (what each shape or edge
stands for: its kind, name, event definitions, markers). Files come from uploads, so they are
parsed by the hardened :func:`orchestrator.bpmn.xml.load_bpmn`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from orchestrator.bpmn.xml import load_bpmn
from orchestrator.errors import NotFound

__all__ = ["Bounds", "Diagram", "Edge", "Element", "Model", "Point", "Shape", "read_model"]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "manualTask",
        "businessRuleTask",
        "scriptTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
SUB_PROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EVENTS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
GATEWAYS = frozenset(
    {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
)


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> Point:
        return Point(self.x + self.width / 2, self.y + self.height / 2)


@dataclass(frozen=True)
class Element:
    """The semantic side of a shape or edge, reduced to what changes its picture."""

    id: str
    kind: str  # the BPMN local name: userTask, boundaryEvent, sequenceFlow, participant, ...
    name: str = ""
    event_definitions: tuple[str, ...] = ()  # local names without "EventDefinition": message, timer, ...
    loop: str | None = None  # loop | parallel | sequential
    interrupting: bool = True  # boundary cancelActivity / event sub-process start isInterrupting
    parallel_multiple: bool = False
    instantiate: bool = False  # receive task or event-based gateway that starts the process
    exclusive_event_gateway: bool = True
    triggered_by_event: bool = False  # event sub-process
    for_compensation: bool = False
    collection: bool = False  # data object (reference) that is a collection
    data_direction: str | None = None  # input | output, for dataInput / dataOutput shapes
    source: str | None = None
    target: str | None = None
    attached_to: str | None = None  # the activity a boundary event sits on
    called_kind: str | None = None  # what a call activity calls, when in the file: process, globalUserTask...
    is_default: bool = False  # sequence flow that is its source's default
    is_conditional: bool = False  # conditional sequence flow leaving an activity
    association_direction: str = "None"
    black_box: bool = False  # a participant without a process


@dataclass(frozen=True)
class Shape:
    element_id: str
    id: str
    bounds: Bounds
    label: Bounds | None = None
    expanded: bool | None = None
    horizontal: bool | None = None
    marker_visible: bool = False


@dataclass(frozen=True)
class Edge:
    element_id: str
    id: str
    waypoints: tuple[Point, ...]
    label: Bounds | None = None


@dataclass(frozen=True)
class Diagram:
    id: str
    name: str
    shapes: tuple[Shape, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True)
class Model:
    diagrams: tuple[Diagram, ...]
    elements: dict[str, Element] = field(default_factory=dict)

    def diagram(self, diagram_id: str | None = None) -> Diagram:
        """The diagram with this id (or the first); NotFound when the file has no such drawing."""
        if diagram_id is None and self.diagrams:
            return self.diagrams[0]
        for candidate in self.diagrams:
            if candidate.id == diagram_id:
                return candidate
        raise NotFound(
            "the BPMN file has no diagram interchange to draw"
            if diagram_id is None
            else f"the BPMN file has no diagram '{diagram_id}'"
        )


def read_model(xml: bytes, filename: str = "diagram.bpmn") -> Model:
    """Parse ``xml`` safely and read its drawings and the semantic facts they depend on."""
    root = load_bpmn(xml, filename).getroot()
    return Model(diagrams=tuple(_diagrams(root)), elements=_elements(root))


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _flag(element: etree._Element, name: str, default: bool | None = None) -> bool | None:
    value = element.get(name)
    return default if value is None else value.strip().lower() == "true"


def _number(element: etree._Element, name: str) -> float:
    try:
        return float(element.get(name, "0"))
    except ValueError:
        return 0.0


def _bounds(parent: etree._Element) -> Bounds | None:
    node = parent.find(f"{{{DC}}}Bounds")
    if node is None:
        return None
    return Bounds(*(_number(node, name) for name in ("x", "y", "width", "height")))


def _label_bounds(parent: etree._Element) -> Bounds | None:
    label = parent.find(f"{{{BPMNDI}}}BPMNLabel")
    return None if label is None else _bounds(label)


def _diagrams(root: etree._Element) -> list[Diagram]:
    diagrams = []
    for index, node in enumerate(root.iterfind(f"{{{BPMNDI}}}BPMNDiagram")):
        shapes, edges = [], []
        for shape in node.iter(f"{{{BPMNDI}}}BPMNShape"):
            bounds = _bounds(shape)
            if bounds is not None and shape.get("bpmnElement"):
                shapes.append(
                    Shape(
                        element_id=shape.get("bpmnElement", ""),
                        id=shape.get("id", ""),
                        bounds=bounds,
                        label=_label_bounds(shape),
                        expanded=_flag(shape, "isExpanded"),
                        horizontal=_flag(shape, "isHorizontal"),
                        marker_visible=bool(_flag(shape, "isMarkerVisible", False)),
                    )
                )
        for edge in node.iter(f"{{{BPMNDI}}}BPMNEdge"):
            points = tuple(
                Point(_number(point, "x"), _number(point, "y"))
                for point in edge.iterfind(f"{{{DI}}}waypoint")
            )
            if len(points) >= 2 and edge.get("bpmnElement"):
                edges.append(
                    Edge(edge.get("bpmnElement", ""), edge.get("id", ""), points, _label_bounds(edge))
                )
        diagrams.append(
            Diagram(
                node.get("id") or f"diagram-{index + 1}", node.get("name") or "", tuple(shapes), tuple(edges)
            )
        )
    return diagrams


def _elements(root: etree._Element) -> dict[str, Element]:
    nodes = {
        node.get("id", ""): node
        for node in root.iter(f"{{{BPMN}}}*")
        if node.get("id") and not node.tag.endswith("EventDefinition")
    }
    defaults = {node.get("default") for node in nodes.values() if node.get("default")}
    kinds = {element_id: _local(node) for element_id, node in nodes.items()}
    return {
        element_id: _element(element_id, node, nodes, kinds, defaults) for element_id, node in nodes.items()
    }


def _element(
    element_id: str,
    node: etree._Element,
    nodes: dict[str, etree._Element],
    kinds: dict[str, str],
    defaults: set[str | None],
) -> Element:
    kind = kinds[element_id]
    source = node.get("sourceRef")
    referenced = nodes.get(
        _local_ref(node.get("dataObjectRef") or node.get("dataStoreRef") or node.get("categoryValueRef"))
    )
    return Element(
        id=element_id,
        kind=kind,
        name=_name(node, referenced),
        event_definitions=_event_definitions(node),
        loop=_loop(node),
        interrupting=bool(_flag(node, "cancelActivity", True)) and bool(_flag(node, "isInterrupting", True)),
        parallel_multiple=bool(_flag(node, "parallelMultiple", False)),
        instantiate=bool(_flag(node, "instantiate", False)),
        exclusive_event_gateway=node.get("eventGatewayType", "Exclusive") != "Parallel",
        triggered_by_event=bool(_flag(node, "triggeredByEvent", False)),
        for_compensation=bool(_flag(node, "isForCompensation", False)),
        collection=bool(_flag(node, "isCollection", False))
        or (referenced is not None and bool(_flag(referenced, "isCollection", False))),
        data_direction={"dataInput": "input", "dataOutput": "output"}.get(kind),
        source=source,
        target=node.get("targetRef"),
        attached_to=node.get("attachedToRef"),
        called_kind=kinds.get(_local_ref(node.get("calledElement"))),
        is_default=element_id in defaults,
        is_conditional=kind == "sequenceFlow"
        and node.find(f"{{{BPMN}}}conditionExpression") is not None
        and kinds.get(source or "") in ACTIVITIES,
        association_direction=node.get("associationDirection", "None"),
        black_box=kind == "participant" and not node.get("processRef"),
    )


def _local_ref(reference: str | None) -> str:
    """An id reference without its namespace prefix (``tns:Process_1`` -> ``Process_1``)."""
    return (reference or "").rpartition(":")[2]


def _name(node: etree._Element, referenced: etree._Element | None) -> str:
    if _local(node) == "group" and referenced is not None:
        return (referenced.get("value") or "").strip()
    if _local(node) == "textAnnotation":
        text = node.find(f"{{{BPMN}}}text")
        return (text.text or "").strip() if text is not None else ""
    name = node.get("name")
    if not name and referenced is not None:
        name = referenced.get("name")
    return (name or "").strip()


def _event_definitions(node: etree._Element) -> tuple[str, ...]:
    found = []
    for child in node:
        if not isinstance(child.tag, str):
            continue
        local = _local(child)
        if local.endswith("EventDefinition"):
            found.append(local.removesuffix("EventDefinition"))
        elif local == "eventDefinitionRef":
            found.append("reference")
    return tuple(found)


def _loop(node: etree._Element) -> str | None:
    if node.find(f"{{{BPMN}}}standardLoopCharacteristics") is not None:
        return "loop"
    multi = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    if multi is not None:
        return "sequential" if _flag(multi, "isSequential", False) else "parallel"
    return None
