"""Every diagram in ``processes/``: valid BPMN 2.0, drawn completely, clean to validate, deployable.

* XSD: SpiffWorkflow's bundled BPMN 2.0 schema (``BPMN20.xsd`` with its imports);
* as Camunda Modeler saves it: exporter, execution platform, one executable pool with lanes;
* diagram interchange: every flow node (inside sub-processes too), participant and lane has a
  shape, every sequence and message flow an edge; no two shapes overlap (a boundary event sits
  on its host, a sub-process holds its children); each node is drawn inside its lane;
* names: every flow node, lane and pool has a name in Vietnamese, ids are ASCII;
* the liên thông pattern: processing wrapped in a sub-process with the whole-dossier (or phase)
  timer and the ``TU_CHOI`` refusal boundary, the refusal path ending at ``outcome=refused``;
* ``lienthong validate`` prints nothing (no error, no domain-lint warning) and the whole folder
  deploys together.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import SpiffWorkflow
from lxml import etree

from orchestrator.bpmn.compiler import Resource, compile_resources
from orchestrator.cli import main
from orchestrator.services.definitions import deploy, resources_from_paths

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
DIAGRAMS = sorted(PROCESSES.glob("*.bpmn"))
SCHEMA = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "modeler": "http://camunda.org/schema/modeler/1.0",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
FLOW_NODES = [
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "userTask",
    "task",
    "subProcess",
    "callActivity",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
]
VIETNAMESE = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
KEYS = {
    "birth-registration.bpmn": "lien-thong-khai-sinh",
    "death-registration.bpmn": "lien-thong-khai-tu",
    "land-transfer.bpmn": "chuyen-nhuong-dat",
    "business-registration.bpmn": "dang-ky-doanh-nghiep",
    "construction-permit.bpmn": "cap-phep-xay-dung",
}
Box = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def tree(path: Path) -> etree._ElementTree:
    return etree.parse(str(path))


def flow_nodes(root: etree._Element) -> list[etree._Element]:
    return [node for kind in FLOW_NODES for node in root.iterfind(f".//bpmn:process//bpmn:{kind}", NS)]


def shapes(root: etree._Element) -> dict[str, Box]:
    found = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        bounds = shape.find("dc:Bounds", NS)
        found[shape.get("bpmnElement")] = tuple(float(bounds.get(k)) for k in ("x", "y", "width", "height"))
    return found


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def inside(point: tuple[float, float], box: Box) -> bool:
    return box[0] <= point[0] <= box[0] + box[2] and box[1] <= point[1] <= box[1] + box[3]


def test_the_five_procedures_are_here():
    assert sorted(path.name for path in DIAGRAMS) == sorted(KEYS)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_valid_against_the_bpmn_schema(path, schema):
    assert schema.validate(tree(path)), [str(error) for error in schema.error_log][:5]


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_saved_as_camunda_modeler_does(path):
    root = tree(path).getroot()
    assert root.get("exporter") == "Camunda Modeler" and root.get("exporterVersion").startswith("5.")
    assert root.get(f"{{{NS['modeler']}}}executionPlatform") == "Camunda Platform"
    assert root.get(f"{{{NS['modeler']}}}executionPlatformVersion").startswith("7.")
    [process] = root.iterfind("bpmn:process", NS)
    assert process.get("id") == KEYS[path.name] and process.get("isExecutable") == "true"
    pools = [p for p in root.iterfind(".//bpmn:participant", NS) if p.get("processRef")]
    assert [pool.get("processRef") for pool in pools] == [process.get("id")]
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    assert len(lanes) >= 3, "one lane per agency"
    top_level = {node.get("id") for kind in FLOW_NODES for node in process.iterfind(f"bpmn:{kind}", NS)}
    in_lanes = [ref.text for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
    assert sorted(in_lanes) == sorted(top_level), "every top-level node in exactly one lane"


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_every_element_is_drawn_without_overlaps(path):
    root = tree(path).getroot()
    drawn = shapes(root)
    nodes = flow_nodes(root)
    containers = [*root.iterfind(".//bpmn:participant", NS), *root.iterfind(".//bpmn:lane", NS)]
    assert [n.get("id") for n in [*nodes, *containers] if n.get("id") not in drawn] == []
    edges = {edge.get("bpmnElement"): edge for edge in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    flows = [*root.iterfind(".//bpmn:sequenceFlow", NS), *root.iterfind(".//bpmn:messageFlow", NS)]
    assert [f.get("id") for f in flows if f.get("id") not in edges] == []
    assert all(len(edge.findall("di:waypoint", NS)) >= 2 for edge in edges.values())

    def contains(outer: etree._Element, inner: etree._Element) -> bool:
        return outer.get("id") == inner.get("attachedToRef") or any(
            ancestor is outer for ancestor in inner.iterancestors()
        )

    clashes = [
        (a.get("id"), b.get("id"))
        for i, a in enumerate(nodes)
        for b in nodes[i + 1 :]
        if not contains(a, b) and not contains(b, a) and overlap(drawn[a.get("id")], drawn[b.get("id")])
    ]
    assert clashes == []


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_each_node_is_drawn_in_its_lane(path):
    root = tree(path).getroot()
    drawn = shapes(root)
    pools = {p.get("id"): bool(p.get("processRef")) for p in root.iterfind(".//bpmn:participant", NS)}
    [executable] = [pool for pool, runs in pools.items() if runs]
    px, py, pw, ph = drawn[executable]
    for lane in root.iterfind(".//bpmn:lane", NS):
        x, y, width, height = drawn[lane.get("id")]
        assert px < x and x + width <= px + pw and py <= y and y + height <= py + ph, lane.get("name")
    assert not any(overlap(drawn[executable], drawn[pool]) for pool, runs in pools.items() if not runs)
    for lane in root.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, width, height = drawn[ref.text]
            assert inside((x + width / 2, y + height / 2), drawn[lane.get("id")]), (
                ref.text,
                lane.get("name"),
            )


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_vietnamese_names_and_ascii_ids(path):
    root = tree(path).getroot()
    named = [*flow_nodes(root), *root.iterfind(".//bpmn:lane", NS), *root.iterfind(".//bpmn:participant", NS)]
    assert [n.get("id") for n in named if not (n.get("name") or "").strip()] == []
    assert [n.get("name") for n in named if not VIETNAMESE & set(n.get("name").lower())] == []
    ids = [element.get("id") for element in root.iter() if isinstance(element.tag, str) and element.get("id")]
    assert all(value.isascii() for value in ids)


def properties(element: etree._Element) -> dict[str, str]:
    found = element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS)
    return {prop.get("name"): prop.get("value") for prop in found}


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_processing_is_wrapped_with_the_deadline_timer_and_the_refusal_boundary(path):
    """A wrapping sub-process carries a non-interrupting timer (apology) and the TU_CHOI error boundary,
    whose path ends at the one end event marked ``outcome=refused``."""
    [process] = tree(path).getroot().iterfind("bpmn:process", NS)
    wraps = {node.get("id") for node in process.iterfind("bpmn:subProcess", NS)}
    boundaries = [b for b in process.iterfind("bpmn:boundaryEvent", NS) if b.get("attachedToRef") in wraps]
    timers = [b for b in boundaries if b.find("bpmn:timerEventDefinition", NS) is not None]
    assert timers and all(b.get("cancelActivity") == "false" for b in timers)
    errors = {e.get("id"): e.get("errorCode") for e in process.getparent().iterfind("bpmn:error", NS)}
    refusals = [
        b.get("id")
        for b in boundaries
        if (d := b.find("bpmn:errorEventDefinition", NS)) is not None
        and errors[d.get("errorRef")] == "TU_CHOI"
    ]
    assert len(refusals) == 1
    outcomes = {
        end.get("id"): properties(end).get("outcome") for end in process.iterfind(".//bpmn:endEvent", NS)
    }
    assert [end for end, outcome in outcomes.items() if outcome == "refused"] == ["EndTuChoi"]
    assert set(outcomes.values()) <= {None, "refused", "stopped"}
    flows = {f.get("sourceRef"): f.get("targetRef") for f in process.iterfind("bpmn:sequenceFlow", NS)}
    step = flows[refusals[0]]
    assert flows[step] == "EndTuChoi"  # the refusal boundary -> the refusal notice -> the refused end


def test_validate_prints_nothing_for_the_whole_folder(capsys):
    assert main(["validate", *map(str, DIAGRAMS)]) == 0
    assert capsys.readouterr().out == ""
    compilation = compile_resources([Resource(path.name, path.read_bytes()) for path in DIAGRAMS])
    assert compilation.ok and compilation.problems == []


def test_the_folder_deploys_together(engine):
    result = deploy(engine, resources_from_paths(DIAGRAMS))
    assert result.warnings == []
    assert sorted(definition.key for definition in result.definitions) == sorted(KEYS.values())
    budgets = {d.key: d.properties["properties"]["budget"] for d in result.definitions}
    assert budgets == {
        "lien-thong-khai-sinh": "3wd",
        "lien-thong-khai-tu": "5wd",
        "chuyen-nhuong-dat": "8wd",
        "dang-ky-doanh-nghiep": "3wd",
        "cap-phep-xay-dung": "20d",
    }
