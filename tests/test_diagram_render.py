"""Diagrams drawn as SVG: every corpus drawing renders, and specific constructs look as BPMN says."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree

from orchestrator.bpmn.problems import DiagramRejected
from orchestrator.diagram import render_svg
from orchestrator.diagram.interchange import read_model
from orchestrator.errors import NotFound

from .conftest import CORPUS, REPO

SVG = "http://www.w3.org/2000/svg"
NS = {"s": SVG}
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MIWG = CORPUS / "miwg-reference"
DRAWN = sorted(
    [
        *MIWG.glob("*.bpmn"),
        *(REPO / "processes").glob("*.bpmn"),
        *(p for p in (CORPUS / "camunda-examples").glob("*.bpmn") if b"BPMNDiagram" in p.read_bytes()),
    ]
)


def parse(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode())


def group(root: etree._Element, element_id: str) -> etree._Element:
    found = root.xpath("//s:g[@data-element-id=$id]", namespaces=NS, id=element_id)
    assert len(found) == 1, element_id
    return found[0]


def id_named(path: Path, name: str, kind: str | None = None) -> str:
    """The id of the element called ``name`` in a corpus file (ids there are opaque GUIDs)."""
    tree = etree.parse(str(path))
    matches = [
        node.get("id")
        for node in tree.iter(f"{{{BPMN}}}*")
        if node.get("id")
        and node.get("name") == name
        and (kind is None or etree.QName(node).localname == kind)
    ]
    assert len(matches) == 1, (name, matches)
    return matches[0]


def classes(node: etree._Element) -> set[str]:
    return set(node.get("class", "").split())


@pytest.mark.parametrize("path", DRAWN, ids=lambda p: p.name)
def test_every_drawing_renders_one_group_per_di_shape_and_edge(path):
    model = read_model(path.read_bytes())
    assert model.diagrams, "no DI"
    for diagram in model.diagrams:
        root = parse(render_svg(path.read_bytes(), diagram=diagram.id))
        assert root.tag == f"{{{SVG}}}svg"
        drawn = [g.get("data-element-id") for g in root.iterfind(".//s:g[@data-element-id]", NS)]
        expected = [shape.element_id for shape in diagram.shapes] + [
            edge.element_id for edge in diagram.edges
        ]
        assert sorted(drawn) == sorted(expected)
        assert root.find("s:style", NS) is not None
        # Self-contained: nothing fetched from elsewhere (fonts, images, scripts).
        assert not root.xpath(
            "//*[local-name()='image' or local-name()='script' or local-name()='foreignObject']"
        )
        assert "@import" not in root.findtext("s:style", namespaces=NS)


def test_corpus_has_what_the_issue_asks_for():
    assert len([p for p in DRAWN if p.parent == MIWG]) == 21
    assert any(p.parent.name == "processes" for p in DRAWN)
    assert len([p for p in DRAWN if p.parent.name == "camunda-examples"]) >= 50


def test_files_with_several_diagrams_draw_each_and_refuse_unknown_ones():
    xml = (MIWG / "C.4.0.bpmn").read_bytes()
    ids = [d.id for d in read_model(xml).diagrams]
    assert len(ids) == 4
    titles = {parse(render_svg(xml, diagram=i)).findtext("s:title", namespaces=NS) for i in ids}
    assert titles == {"Onboarding employee", "IT", "Payroll", *titles} and len(titles) == 4
    assert parse(render_svg(xml)).get("data-diagram-id") == ids[0]
    with pytest.raises(NotFound):
        render_svg(xml, diagram="no-such-diagram")


def test_message_flows_are_dashed_with_a_circle_and_an_open_arrow():
    path = MIWG / "C.2.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    flow = group(root, id_named(path, "Send Credit Card Information", "messageFlow"))
    line = flow.find("s:path", NS)
    assert line.get("stroke-dasharray")
    assert line.get("marker-start") == "url(#lt-msg-start)"
    assert line.get("marker-end") == "url(#lt-msg-end)"
    assert flow.findtext("s:text/s:tspan", namespaces=NS) == "Send Credit Card"
    # The markers exist: an open circle and a white (open) arrowhead.
    start = root.find(".//s:marker[@id='lt-msg-start']/s:path", NS)
    end = root.find(".//s:marker[@id='lt-msg-end']/s:path", NS)
    assert start.get("fill") == end.get("fill") == "#ffffff"


def test_sequence_flows_have_a_filled_arrow_default_slash_and_conditional_diamond():
    path = MIWG / "B.2.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    default = group(root, id_named(path, "Default Sequence Flow 1", "sequenceFlow")).find("s:path", NS)
    assert default.get("marker-start") == "url(#lt-default)"
    assert default.get("marker-end") == "url(#lt-seq-end)"
    from_gateway = group(root, id_named(path, "Conditional Sequence Flow", "sequenceFlow")).find("s:path", NS)
    assert from_gateway.get("marker-start") is None  # the diamond is only for flows leaving an activity
    conditional = group(parse(render_svg((MIWG / "A.2.1.bpmn").read_bytes())), "_To9Z7TOCEeSknpIVFCxNIQ")
    assert conditional.find("s:path", NS).get("marker-start") == "url(#lt-conditional)"
    assert root.find(".//s:marker[@id='lt-seq-end']/s:path", NS).get("fill") == "#22242a"


def test_exclusive_gateway_shows_its_x_only_when_the_marker_is_visible():
    path = MIWG / "C.2.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    visible = group(root, id_named(path, "Done Shopping?", "exclusiveGateway"))
    assert visible.find(".//s:path[@class='lt-gateway-x']", NS) is not None
    hidden_path = MIWG / "A.2.0.bpmn"  # Trisotech wrote no isMarkerVisible there
    hidden_root = parse(render_svg(hidden_path.read_bytes()))
    gateways = hidden_root.xpath("//s:g[contains(@class, 'lt-exclusiveGateway')]", namespaces=NS)
    assert gateways and all(g.find(".//s:path[@class='lt-gateway-x']", NS) is None for g in gateways)


def test_gateway_kinds_get_their_markers():
    root = parse(render_svg((MIWG / "B.2.0.bpmn").read_bytes()))
    for kind, mark in (
        ("parallelGateway", "lt-gateway-plus"),
        ("inclusiveGateway", "lt-gateway-o"),
        ("eventBasedGateway", "lt-gateway-event"),
    ):
        gateways = root.xpath(f"//s:g[contains(@class, 'lt-{kind}')]", namespaces=NS)
        assert gateways, kind
        assert all(g.xpath(f".//*[@class='{mark}']", namespaces=NS) for g in gateways), kind


def test_events_by_position_interruption_and_definition():
    path = MIWG / "B.2.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    timer = group(root, id_named(path, "Boundary Intermediate Event Non-Interrupting Timer"))
    circles = timer.findall("s:circle", NS)
    assert len(circles) == 2 and all(c.get("stroke-dasharray") for c in circles)  # double, dashed
    assert timer.find("s:g[@class='lt-icon lt-event-timer']", NS) is not None
    interrupting = group(root, id_named(path, "Boundary Intermediate Event Interrupting Timer"))
    assert not any(c.get("stroke-dasharray") for c in interrupting.findall("s:circle", NS))
    start = group(root, id_named(path, "Start Event 1 Timer"))
    assert [c.get("stroke-width") for c in start.findall("s:circle", NS)] == ["2"]
    end = group(root, id_named(path, "End Event 1\nMessage"))
    assert end.find("s:circle", NS).get("stroke-width") == "4"
    assert end.find("s:g[@class='lt-icon lt-event-message lt-throwing']", NS) is not None  # filled
    catch = group(root, id_named(path, "Intermediate Event Message Catch"))
    assert catch.find("s:g[@class='lt-icon lt-event-message']", NS) is not None  # open
    for name, kind, icon in (
        ("Intermediate Event Signal Throw 1", None, "signal"),
        ("Intermediate Event Conditional Catch", None, "conditional"),
        ("Intermediate Event Link", "intermediateCatchEvent", "link"),
        ("End Event 5 Terminate", None, "terminate"),
        ("End Event 11 Escalation", None, "escalation"),
        ("End Event 13 Error", None, "error"),
    ):
        assert group(root, id_named(path, name, kind)).xpath(
            f".//*[contains(@class, 'lt-event-{icon}')]", namespaces=NS
        ), name


def test_tasks_show_type_icons_and_activity_markers():
    path = MIWG / "B.2.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    for name, kind in (
        ("User Task 3", "userTask"),
        ("Service Task 4", "serviceTask"),
        ("Send Task 2", "sendTask"),
        ("Receive Task 16", "receiveTask"),
    ):
        assert group(root, id_named(path, name)).find(f"s:g[@class='lt-icon lt-task-{kind}']", NS) is not None
    assert (
        group(root, id_named(path, "User Task 7 Standard Loop")).find(
            ".//*[@class='lt-marker lt-marker-loop']", NS
        )
        is not None
    )
    collapsed = group(root, id_named(path, "Collapsed Sub-Process 2"))
    assert collapsed.find("s:g[@class='lt-marker lt-marker-collapsed']", NS) is not None
    multi = group(root, id_named(path, "Collapsed Sub-Process 1 Multi-Instances"))
    assert multi.find("s:g[@class='lt-marker lt-marker-parallel']", NS) is not None
    call = group(root, id_named(path, "Collapsed Call Activity"))
    assert call.find("s:rect", NS).get("stroke-width") == "5"


def test_lanes_and_pools_have_vertical_titles():
    path = MIWG / "A.4.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    lane = group(root, id_named(path, "Lane 1", "lane"))
    title = lane.find("s:g[@class='lt-title']", NS)
    assert title.get("transform").startswith("rotate(-90")
    assert title.findtext(".//s:tspan", namespaces=NS) == "Lane 1"
    assert lane.find("s:rect", NS) is not None
    pool = group(root, id_named(path, "Pool", "participant"))
    assert pool.findtext(".//s:g[@class='lt-title']//s:tspan", namespaces=NS) == "Pool"


def test_a_label_with_bounds_is_placed_at_its_bounds():
    path = MIWG / "A.1.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    start = group(root, id_named(path, "Start Event"))
    span = start.find("s:text/s:tspan", NS)
    # BPMNLabel bounds x=153.68 width=94.93 y=371.33 height=12.8: centred there.
    assert float(span.get("x")) == pytest.approx(153.68 + 94.93 / 2, abs=0.2)
    assert 371 <= float(span.get("y")) <= 371.33 + 12.8
    assert span.text == "Start Event"


def test_data_objects_stores_annotations_and_groups():
    path = MIWG / "B.2.0.bpmn"
    root = parse(render_svg(path.read_bytes()))
    assert root.xpath("//s:g[contains(@class, 'lt-dataObjectReference')]", namespaces=NS)
    assert root.xpath("//s:g[contains(@class, 'lt-dataStoreReference')]", namespaces=NS)
    annotation = root.xpath("//s:g[contains(@class, 'lt-textAnnotation')]", namespaces=NS)[0]
    assert annotation.findtext(".//s:tspan", namespaces=NS) == "Annotation"
    association = root.xpath("//s:g[contains(@class, 'lt-association')]/s:path", namespaces=NS)[0]
    assert association.get("stroke-dasharray")
    group_shape = root.xpath("//s:g[contains(@class, 'lt-group')]", namespaces=NS)[0]
    assert group_shape.find("s:rect", NS).get("stroke-dasharray")
    data_input = parse(render_svg((MIWG / "C.7.0.bpmn").read_bytes())).xpath(
        "//s:g[contains(@class, 'lt-dataInput')]//*[contains(@class, 'lt-marker-data-input')]", namespaces=NS
    )
    assert data_input


def test_names_are_escaped_never_markup():
    hostile = "<script>alert(1)</script> & \"quoted\" 'x'"
    name = hostile.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  id="d" targetNamespace="t">
  <bpmn:process id="p"><bpmn:task id="t&quot;1" name="{name}"/></bpmn:process>
  <bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane bpmnElement="p">
    <bpmndi:BPMNShape id="S" bpmnElement="t&quot;1">
      <dc:Bounds x="0" y="0" width="300" height="80"/>
    </bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""
    svg = render_svg(xml.encode())
    assert "<script" not in svg
    root = parse(svg)
    assert not root.xpath("//*[local-name()='script']")
    task = group(root, 't"1')
    assert "".join(task.itertext()).replace(" ", "") == hostile.replace(" ", "")


def test_untrusted_files_go_through_the_hardened_loader():
    with pytest.raises(DiagramRejected):
        render_svg(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')
    with pytest.raises(NotFound):  # a valid BPMN file without DI has nothing to draw
        render_svg(
            b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
            b'targetNamespace="t"><bpmn:process id="p"/></bpmn:definitions>'
        )


def test_the_largest_corpus_diagram_renders_quickly():
    """A sanity bound, far above the ~20 ms measured, so a slow machine never flakes."""
    largest = max(DRAWN, key=lambda p: len(read_model(p.read_bytes()).diagrams[0].shapes))
    xml = largest.read_bytes()
    started = time.perf_counter()
    render_svg(xml)
    assert time.perf_counter() - started < 1.0
