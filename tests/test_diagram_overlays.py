"""Live overlays: a dossier's current, overdue and completed steps; a procedure's load per step."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from lxml import etree

from handlers.notices import TOPIC, compose_result_notice
from orchestrator.clock import utcnow
from orchestrator.diagram import (
    ActivityCount,
    Overlays,
    definition_heatmap,
    definition_xml,
    instance_overlays,
    render_svg,
)
from orchestrator.diagram.interchange import read_model
from orchestrator.diagram.path import infer_path
from orchestrator.errors import NotFound
from orchestrator.services import external_tasks, instances
from orchestrator.services.definitions import deploy, resources_from_paths
from orchestrator.ticker import tick

from .bpmn_builder import resource
from .conftest import CORPUS, REPO
from .test_procedure_birth import APPLICANT, KEY, MONDAY

NS = {"s": "http://www.w3.org/2000/svg"}
DIAGRAM = REPO / "processes" / "birth-registration.bpmn"
A1 = CORPUS / "miwg-reference" / "A.1.0.bpmn"
# A.1.0: start -> Task 1 -> Task 2 -> Task 3 -> end
START, TASK1, TASK2, TASK3 = (
    "_93c466ab-b271-4376-a427-f4c353d55ce8",
    "_ec59e164-68b4-4f94-98de-ffb1c58a84af",
    "_820c21c0-45f3-473b-813f-06381cc637cd",
    "_e70a6fcb-913c-4a7b-a65d-e83adc73d69c",
)
FLOW_TO_TASK1, FLOW_TO_TASK2 = (
    "_e16564d7-0c4c-413e-95f6-f668a3f851fb",
    "_d77dd5ec-e4e7-420e-bbe7-8ac9cd1df599",
)


def group(svg: str, element_id: str) -> etree._Element:
    (found,) = etree.fromstring(svg.encode()).xpath(
        "//s:g[@data-element-id=$id]", namespaces=NS, id=element_id
    )
    return found


def classes(node: etree._Element) -> set[str]:
    return set(node.get("class", "").split())


def test_overlays_are_drawn_as_classes_badges_and_green_flows():
    overlays = Overlays(
        current=frozenset({TASK2}),
        overdue=frozenset({TASK2}),
        completed=frozenset({START, TASK1}),
        taken_flows=frozenset({FLOW_TO_TASK1, FLOW_TO_TASK2}),
        counts={TASK3: ActivityCount(open=3, incidents=1), TASK1: ActivityCount(open=1)},
    )
    svg = render_svg(A1.read_bytes(), overlays)
    assert {"lt-current", "lt-overdue"} <= classes(group(svg, TASK2))
    assert "lt-completed" in classes(group(svg, TASK1))
    assert "lt-current" not in classes(group(svg, TASK1))
    flow = group(svg, FLOW_TO_TASK2)
    assert "lt-taken" in classes(flow)
    assert flow.find("s:path", NS).get("marker-end") == "url(#lt-seq-end-taken)"
    busy = group(svg, TASK3)
    assert (busy.get("data-open"), busy.get("data-incidents")) == ("3", "1")
    assert busy.findtext("s:g[@class='lt-badge lt-badge-open']/s:text", namespaces=NS) == "3"
    assert busy.findtext("s:g[@class='lt-badge lt-badge-incident']/s:text", namespaces=NS) == "1"
    # The busiest step is tinted darker than a quieter one.
    tint = {
        element_id: float(group(svg, element_id).find("s:rect[@class='lt-heat']", NS).get("fill-opacity"))
        for element_id in (TASK1, TASK3)
    }
    assert tint[TASK3] > tint[TASK1]
    # The style block gives the states their look: overdue is red, current blue.
    style = etree.fromstring(svg.encode()).findtext("s:style", namespaces=NS)
    assert ".lt-overdue > .lt-body { fill: #ffebee; stroke: #c62828" in style
    assert ".lt-current > .lt-body { stroke: #1565c0" in style


def test_without_overlays_nothing_is_marked():
    svg = render_svg(A1.read_bytes())
    root = etree.fromstring(svg.encode())
    assert not root.xpath(
        "//s:g[contains(@class, 'lt-current') or contains(@class, 'lt-taken')]", namespaces=NS
    )
    assert not root.xpath("//*[@data-open]")


def test_the_path_is_inferred_through_silent_gateways_and_events():
    elements = read_model(DIAGRAM.read_bytes()).elements
    # The sub-process wrapping the whole dossier is open while any step inside it is.
    path = infer_path(elements, recorded={"KiemTraHoSo"}, current={"GiaiQuyetHoSo", "DangKyKhaiSinh"})
    assert path.elements == {"StartHoSo", "BatDau", "KiemTraHoSo", "GatewayHopLe"}
    assert path.flows == {"Flow_VaoGiaiQuyet", "Flow_0s1hx2k", "Flow_1kq7m3d", "Flow_HopLe"}
    # A step that was never recorded stops the inference: nothing beyond it counts as passed.
    first = infer_path(elements, recorded=set(), current={"GiaiQuyetHoSo", "KiemTraHoSo"})
    assert first.elements == {"StartHoSo", "BatDau"}


@pytest.fixture
def birth(runtime, handlers):
    handlers.register(TOPIC)(compose_result_notice)
    (definition,) = deploy(runtime.engine, resources_from_paths([DIAGRAM])).definitions
    return definition.id


def _open_task(engine, instance_id: str, activity_id: str) -> str:
    view = instances.get_instance(engine, instance_id)
    return next(a["task_id"] for a in view.current_activities if a["id"] == activity_id)


def _start_checked(engine, business_key: str) -> str:
    view = instances.start_instance(engine, KEY, business_key=business_key, variables=APPLICANT)
    task = _open_task(engine, view.id, "KiemTraHoSo")
    external_tasks.complete_external_task(engine, task, variables={"ketQuaKiemTra": "hop-le"})
    return view.id


def test_a_dossier_shows_where_it_is_what_is_late_and_the_path_taken(runtime, engine, birth):
    with time_machine.travel(MONDAY, tick=False):
        instance_id = _start_checked(engine, "HS-DIAGRAM-1")
        fresh = instance_overlays(runtime.db, instance_id, now=utcnow())
    # The whole-dossier wrap (sub-process, its timer and refusal boundary) is open beside the step.
    assert fresh.current == {"DangKyKhaiSinh", "GiaiQuyetHoSo", "QuaHanHoSo", "BienTuChoi"}
    assert fresh.overdue == frozenset()
    assert {"StartHoSo", "KiemTraHoSo", "GatewayHopLe"} <= fresh.completed
    assert "ChoBoSung" not in fresh.completed and "TuChoi" not in fresh.completed
    assert fresh.taken_flows == {"Flow_VaoGiaiQuyet", "Flow_0s1hx2k", "Flow_1kq7m3d", "Flow_HopLe"}

    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):  # the 0.5wd step is long overdue
        tick(engine)
        late = instance_overlays(runtime.db, instance_id, now=utcnow())
    assert late.overdue == {"DangKyKhaiSinh"}
    svg = render_svg(definition_xml(runtime.db, birth), late)
    assert {"lt-current", "lt-overdue"} <= classes(group(svg, "DangKyKhaiSinh"))
    assert "lt-completed" in classes(group(svg, "KiemTraHoSo"))
    assert "lt-taken" in classes(group(svg, "Flow_HopLe"))
    assert "lt-taken" not in classes(group(svg, "Flow_BoSung"))


def test_an_incident_is_marked_on_the_dossier(runtime, engine, birth):
    with time_machine.travel(MONDAY, tick=False):
        instance_id = _start_checked(engine, "HS-DIAGRAM-2")
    with runtime.db.write() as session:
        external_tasks.mark_incident(
            session, _open_task(engine, instance_id, "DangKyKhaiSinh"), "hệ thống lỗi"
        )
    overlays = instance_overlays(runtime.db, instance_id, now=utcnow())
    assert overlays.incidents == {"DangKyKhaiSinh"}
    badge = group(render_svg(DIAGRAM.read_bytes(), overlays), "DangKyKhaiSinh")
    assert badge.find("s:g[@class='lt-badge lt-badge-incident']", NS) is not None


def test_the_heatmap_counts_open_tasks_and_incidents_per_activity(runtime, engine, birth):
    with time_machine.travel(MONDAY, tick=False):
        waiting = [
            instances.start_instance(engine, KEY, business_key=f"HS-H{i}", variables=APPLICANT).id
            for i in range(3)
        ]
        moved = _start_checked(engine, "HS-H-moved")
    with runtime.db.write() as session:
        external_tasks.mark_incident(session, _open_task(engine, waiting[0], "KiemTraHoSo"), "lỗi")
    heat = definition_heatmap(runtime.db, birth)
    assert heat.counts == {
        "KiemTraHoSo": ActivityCount(open=3, incidents=1),
        "DangKyKhaiSinh": ActivityCount(open=1, incidents=0),
    }
    assert heat.incidents == {"KiemTraHoSo"}
    assert moved
    svg = render_svg(definition_xml(runtime.db, birth), heat)
    assert group(svg, "KiemTraHoSo").get("data-open") == "3"


def test_the_heatmap_counts_user_tasks_too(runtime, engine):
    body = '<bpmn:startEvent id="s"/><bpmn:userTask id="duyet" name="Duyệt"/><bpmn:endEvent id="e"/>' + (
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="duyet"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="duyet" targetRef="e"/>'
    )
    (definition,) = deploy(engine, [resource(body, process_id="duyet-ho-so")]).definitions
    for number in range(2):
        instances.start_instance(engine, "duyet-ho-so", business_key=f"U{number}")
    assert definition_heatmap(runtime.db, definition.id).counts == {"duyet": ActivityCount(open=2)}


def test_unknown_ids_are_not_found(runtime):
    with pytest.raises(NotFound):
        instance_overlays(runtime.db, "no-such-dossier", now=utcnow())
    with pytest.raises(NotFound):
        definition_heatmap(runtime.db, "no-such:1:definition")
    with pytest.raises(NotFound):
        definition_xml(runtime.db, "no-such:1:definition")
