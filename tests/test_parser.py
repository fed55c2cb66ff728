"""The Camunda parser keeps every extension on every element kind (stock CamundaParser drops most)."""

from __future__ import annotations

from orchestrator.bpmn.compiler import compile_resources
from orchestrator.bpmn.specs import ExternalTask

from .bpmn_builder import resource

PROPERTIES = (
    '<bpmn:extensionElements><camunda:properties><camunda:property name="agency" value="CA-XA" />'
    '<camunda:property name="budget" value="1wd" /></camunda:properties>'
    '<vendor:hint xmlns:vendor="urn:vendor">keep me</vendor:hint></bpmn:extensionElements>'
)
BODY = f"""
<bpmn:startEvent id="s" camunda:initiator="nguoiNop">{PROPERTIES}</bpmn:startEvent>
<bpmn:serviceTask id="t" camunda:type="external" camunda:topic="cong-an" camunda:taskPriority="7">
  <bpmn:extensionElements>
    <camunda:properties><camunda:property name="agency" value="CA-XA" /></camunda:properties>
    <camunda:inputOutput>
      <camunda:inputParameter name="soTien">${{amount}}</camunda:inputParameter>
      <camunda:inputParameter name="ds"><camunda:list><camunda:value>a</camunda:value></camunda:list>
      </camunda:inputParameter>
      <camunda:inputParameter name="m"><camunda:map><camunda:entry key="k">v</camunda:entry></camunda:map>
      </camunda:inputParameter>
      <camunda:outputParameter name="ketQua">${{ok}}</camunda:outputParameter>
    </camunda:inputOutput>
  </bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:exclusiveGateway id="g" camunda:asyncBefore="true">{PROPERTIES}</bpmn:exclusiveGateway>
<bpmn:userTask id="u" camunda:candidateGroups="mot-cua" camunda:dueDate="${{han}}">
{PROPERTIES}</bpmn:userTask>
<bpmn:subProcess id="sp">{PROPERTIES}
  <bpmn:startEvent id="ss" /><bpmn:endEvent id="se" />
  <bpmn:sequenceFlow id="sf" sourceRef="ss" targetRef="se" />
</bpmn:subProcess>
<bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="false">{PROPERTIES}
  <bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:endEvent id="e">{PROPERTIES}</bpmn:endEvent>
<bpmn:endEvent id="be" />
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="g" />
<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="u" />
<bpmn:sequenceFlow id="f4" sourceRef="u" targetRef="sp" />
<bpmn:sequenceFlow id="f5" sourceRef="sp" targetRef="e" />
<bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="be" />
"""


def _specs():
    compilation = compile_resources([resource(BODY)])
    assert compilation.ok, [p.format() for p in compilation.errors]
    return compilation.processes[0].spec.task_specs


def test_every_element_kind_keeps_properties_and_unknown_xml():
    specs = _specs()
    for element_id in ("s", "g", "u", "sp", "b", "e"):
        extensions = specs[element_id].extensions
        assert extensions["properties"] == {"agency": "CA-XA", "budget": "1wd"}, element_id
        assert any("keep me" in xml for xml in extensions["xml"]), element_id


def test_camunda_attributes_are_kept_on_every_kind():
    specs = _specs()
    assert specs["s"].extensions["camunda"] == {"initiator": "nguoiNop"}
    assert specs["g"].extensions["camunda"] == {"asyncBefore": "true"}
    assert specs["u"].extensions["camunda"] == {"candidateGroups": "mot-cua", "dueDate": "${han}"}


def test_external_task_spec_and_mappings():
    task = _specs()["t"]
    assert isinstance(task, ExternalTask)
    assert (task.topic, task.priority, task.agency) == ("cong-an", "7", "CA-XA")
    inputs = {p["name"]: p for p in task.extensions["inputs"]}
    assert inputs["soTien"] == {"name": "soTien", "kind": "text", "value": "${amount}"}
    assert inputs["ds"]["kind"] == "list" and inputs["ds"]["value"] == [{"kind": "text", "value": "a"}]
    assert inputs["m"]["value"] == {"k": {"kind": "text", "value": "v"}}
    assert task.extensions["outputs"] == [{"name": "ketQua", "kind": "text", "value": "${ok}"}]


def test_extensions_survive_the_stored_spec_round_trip():
    """Specs are stored once per version and restored after a restart: nothing may be lost."""
    from orchestrator.bpmn.serializer import StateSerializer

    compiled = compile_resources([resource(BODY)]).processes[0]
    serializer = StateSerializer()
    spec, _ = serializer.restore_specs(serializer.dump_specs(compiled.spec, compiled.subprocess_specs))
    assert spec.task_specs["t"].topic == "cong-an"
    assert spec.task_specs["u"].extensions == compiled.spec.task_specs["u"].extensions
