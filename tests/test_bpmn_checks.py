"""Static deployability checks: one test (or a few) per rule, then the real corpus."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from orchestrator.bpmn.checks import check_definitions
from orchestrator.bpmn.problems import DiagramRejected, Problem
from orchestrator.bpmn.xml import load_bpmn

from .conftest import CORPUS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:camunda="{CAMUNDA_NS}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://t">\n'
)
DECLARATIONS = (
    '<bpmn:message id="Msg" name="documentReceived" />\n'
    '<bpmn:error id="Err" errorCode="E1" />\n'
    '<bpmn:escalation id="Esc" escalationCode="late" />\n'
)

_ID = re.compile(r'\bid="([^"]+)"')


def chain(*nodes: str) -> str:
    """Start event ``S`` -> each node in turn -> end event ``E``, joined by sequence flows."""
    ids = ["S", *(_ID.search(node).group(1) for node in nodes), "E"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="F{i}" sourceRef="{source}" targetRef="{target}" />\n'
        for i, (source, target) in enumerate(itertools.pairwise(ids))
    )
    return '<bpmn:startEvent id="S" />\n' + "\n".join(nodes) + '\n<bpmn:endEvent id="E" />\n' + flows


def document(body: str, *, executable: bool = True, outside: str = "") -> str:
    flag = "true" if executable else "false"
    return (
        HEADER
        + DECLARATIONS
        + outside
        + f'<bpmn:process id="P" name="Procedure" isExecutable="{flag}">\n{body}</bpmn:process>\n'
        + "</bpmn:definitions>\n"
    )


def check(body: str, *, handler_topics: frozenset[str] = frozenset(), **kwargs: object) -> list[Problem]:
    tree = load_bpmn(document(body, **kwargs).encode(), "t.bpmn")  # type: ignore[arg-type]
    return check_definitions(tree, "t.bpmn", handler_topics=handler_topics)


def errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "error"]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "warning"]


def messages(problems: list[Problem]) -> list[str]:
    return [problem.message for problem in problems]


def the_error(body: str, **kwargs: object) -> Problem:
    """The single problem a body produces (and it must be an error)."""
    problems = check(body, **kwargs)  # type: ignore[arg-type]
    assert len(problems) == 1, [problem.format() for problem in problems]
    assert problems[0].severity == "error"
    return problems[0]


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


EXTERNAL = 'camunda:type="external" camunda:topic="issueCode"'
# The content of a minimal embedded sub-process: start IS -> end IE.
EMPTY_SCOPE = (
    '<bpmn:startEvent id="IS" /><bpmn:endEvent id="IE" />'
    '<bpmn:sequenceFlow id="IF" sourceRef="IS" targetRef="IE" />'
)


# --- supported constructs pass ---------------------------------------------------------------------


def test_a_simple_process_has_no_problems() -> None:
    assert check(chain('<bpmn:userTask id="T" name="Check dossier" />')) == []


KITCHEN_SINK = f"""
<bpmn:laneSet id="LS">
  <bpmn:lane id="L1" name="Desk"><bpmn:flowNodeRef>S</bpmn:flowNodeRef></bpmn:lane>
</bpmn:laneSet>
<bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="U" name="Check" camunda:formKey="embedded:app:forms/check.html"
    camunda:candidateGroups="desk" camunda:assignee="${{officer}}" camunda:dueDate="${{due}}"
    camunda:followUpDate="${{due}}">
  <bpmn:extensionElements>
    <camunda:formData><camunda:formField id="amount" type="long" /></camunda:formData>
    <camunda:properties><camunda:property name="agency" value="commune" /></camunda:properties>
    <camunda:inputOutput>
      <camunda:inputParameter name="a">text</camunda:inputParameter>
      <camunda:inputParameter name="b">
        <camunda:list><camunda:value>1</camunda:value></camunda:list>
      </camunda:inputParameter>
      <camunda:outputParameter name="c">
        <camunda:map><camunda:entry key="k">v</camunda:entry></camunda:map>
      </camunda:outputParameter>
    </camunda:inputOutput>
  </bpmn:extensionElements>
</bpmn:userTask>
<bpmn:manualTask id="M" />
<bpmn:task id="N" />
<bpmn:serviceTask id="X" {EXTERNAL} camunda:taskPriority="5" />
<bpmn:sendTask id="Y" camunda:type="external" camunda:topic="notify" />
<bpmn:serviceTask id="MI1" {EXTERNAL}>
  <bpmn:multiInstanceLoopCharacteristics camunda:collection="${{agencies}}"
    camunda:elementVariable="agency" />
</bpmn:serviceTask>
<bpmn:sendTask id="MI2" {EXTERNAL}>
  <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="agencies"
    camunda:elementVariable="agency">
    <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">${{done}}</bpmn:completionCondition>
  </bpmn:multiInstanceLoopCharacteristics>
</bpmn:sendTask>
<bpmn:exclusiveGateway id="G1" default="F9" />
<bpmn:parallelGateway id="G2" />
<bpmn:inclusiveGateway id="G3" />
<bpmn:eventBasedGateway id="G4" />
<bpmn:receiveTask id="R" messageRef="Msg" />
<bpmn:intermediateCatchEvent id="C1">
  <bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="C2">
  <bpmn:messageEventDefinition messageRef="Msg" />
</bpmn:intermediateCatchEvent>
<bpmn:intermediateThrowEvent id="T1" />
<bpmn:intermediateThrowEvent id="T2">
  <bpmn:messageEventDefinition messageRef="Msg" />
</bpmn:intermediateThrowEvent>
<bpmn:intermediateThrowEvent id="T3">
  <bpmn:escalationEventDefinition escalationRef="Esc" />
</bpmn:intermediateThrowEvent>
<bpmn:callActivity id="CA" calledElement="child" camunda:calledElementBinding="latest">
  <bpmn:extensionElements>
    <camunda:in variables="all" /><camunda:out source="x" target="y" />
  </bpmn:extensionElements>
</bpmn:callActivity>
<bpmn:subProcess id="SP">
  <bpmn:startEvent id="SPS" />
  <bpmn:serviceTask id="SPT" {EXTERNAL} />
  <bpmn:endEvent id="SPE" />
  <bpmn:sequenceFlow id="SPF1" sourceRef="SPS" targetRef="SPT" />
  <bpmn:sequenceFlow id="SPF2" sourceRef="SPT" targetRef="SPE" />
</bpmn:subProcess>
<bpmn:boundaryEvent id="B1" attachedToRef="SP">
  <bpmn:timerEventDefinition><bpmn:timeDate>2030-01-01T00:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="B2" attachedToRef="U" cancelActivity="false">
  <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="B3" attachedToRef="X">
  <bpmn:errorEventDefinition errorRef="Err" />
</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="B4" attachedToRef="CA">
  <bpmn:escalationEventDefinition escalationRef="Esc" />
</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="B5" attachedToRef="R">
  <bpmn:messageEventDefinition messageRef="Msg" />
</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="B6" attachedToRef="X"><bpmn:errorEventDefinition /></bpmn:boundaryEvent>
<bpmn:endEvent id="E1" />
<bpmn:endEvent id="E2"><bpmn:messageEventDefinition messageRef="Msg" /></bpmn:endEvent>
<bpmn:endEvent id="E3"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:endEvent>
<bpmn:endEvent id="E4"><bpmn:terminateEventDefinition /></bpmn:endEvent>
<bpmn:endEvent id="E5"><bpmn:escalationEventDefinition escalationRef="Esc" /></bpmn:endEvent>
<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="U" />
<bpmn:sequenceFlow id="F2" sourceRef="U" targetRef="M" />
<bpmn:sequenceFlow id="F3" sourceRef="M" targetRef="N" />
<bpmn:sequenceFlow id="F4" sourceRef="N" targetRef="X" />
<bpmn:sequenceFlow id="F5" sourceRef="X" targetRef="Y" />
<bpmn:sequenceFlow id="F6" sourceRef="Y" targetRef="MI1" />
<bpmn:sequenceFlow id="F7" sourceRef="MI1" targetRef="MI2" />
<bpmn:sequenceFlow id="F8" sourceRef="MI2" targetRef="G1" />
<bpmn:sequenceFlow id="F9" sourceRef="G1" targetRef="G2" />
<bpmn:sequenceFlow id="F10" sourceRef="G1" targetRef="G3">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${{fast}}</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="F10b" sourceRef="G1" targetRef="G3">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="JUEL">
    ${{slow}}
  </bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="F11" sourceRef="G2" targetRef="G4" />
<bpmn:sequenceFlow id="F12" sourceRef="G3" targetRef="G4" />
<bpmn:sequenceFlow id="F13" sourceRef="G4" targetRef="R" />
<bpmn:sequenceFlow id="F14" sourceRef="G4" targetRef="C1" />
<bpmn:sequenceFlow id="F15" sourceRef="G4" targetRef="C2" />
<bpmn:sequenceFlow id="F16" sourceRef="R" targetRef="T1" />
<bpmn:sequenceFlow id="F17" sourceRef="C1" targetRef="T2" />
<bpmn:sequenceFlow id="F18" sourceRef="C2" targetRef="T3" />
<bpmn:sequenceFlow id="F19" sourceRef="T1" targetRef="CA" />
<bpmn:sequenceFlow id="F20" sourceRef="T2" targetRef="SP" />
<bpmn:sequenceFlow id="F21" sourceRef="T3" targetRef="E1" />
<bpmn:sequenceFlow id="F22" sourceRef="CA" targetRef="E2" />
<bpmn:sequenceFlow id="F23" sourceRef="SP" targetRef="E3" />
<bpmn:sequenceFlow id="F24" sourceRef="B1" targetRef="E4" />
<bpmn:sequenceFlow id="F25" sourceRef="B2" targetRef="E5" />
<bpmn:sequenceFlow id="F26" sourceRef="B3" targetRef="E1" />
<bpmn:sequenceFlow id="F27" sourceRef="B4" targetRef="E1" />
<bpmn:sequenceFlow id="F28" sourceRef="B5" targetRef="E1" />
<bpmn:sequenceFlow id="F29" sourceRef="B6" targetRef="E1" />
<bpmn:dataObject id="DO" /><bpmn:dataObjectReference id="DOR" dataObjectRef="DO" />
<bpmn:dataStoreReference id="DSR" />
<bpmn:textAnnotation id="TA"><bpmn:text>note</bpmn:text></bpmn:textAnnotation>
<bpmn:association id="A1" sourceRef="U" targetRef="TA" />
<bpmn:group id="GR" categoryValueRef="CV" />
"""

KITCHEN_OUTSIDE = """
<bpmn:category id="Cat"><bpmn:categoryValue id="CV" value="phase 1" /></bpmn:category>
<bpmn:collaboration id="Col">
  <bpmn:participant id="Pa" name="Commune" processRef="P" />
  <bpmn:participant id="Pb" name="Citizen" />
  <bpmn:messageFlow id="MF" sourceRef="Pb" targetRef="R" />
</bpmn:collaboration>
"""


def test_every_supported_construct_passes_without_errors_or_warnings() -> None:
    assert check(KITCHEN_SINK, outside=KITCHEN_OUTSIDE) == []


# --- processes -------------------------------------------------------------------------------------


def test_no_executable_process_is_one_error_on_definitions() -> None:
    problem = the_error(chain('<bpmn:scriptTask id="Bad" />'), executable=False)
    assert problem.message == "no executable process: tick 'Executable' on the process in Camunda Modeler"
    assert problem.element_id == "Defs"
    assert problem.line == 2


def test_non_executable_processes_beside_an_executable_one_are_not_checked() -> None:
    other = '<bpmn:process id="Doc" isExecutable="false"><bpmn:scriptTask id="Bad" /></bpmn:process>\n'
    assert check(chain('<bpmn:userTask id="T" />'), outside=other) == []


# --- kinds refused outright ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            '<bpmn:scriptTask id="K" name="Compute" scriptFormat="groovy"><bpmn:script>x</bpmn:script>'
            "</bpmn:scriptTask>",
            "script tasks are not supported: BPMN is code we do not execute; move the logic to an external "
            "task or a handler topic",
        ),
        (
            '<bpmn:businessRuleTask id="K" name="Decide" camunda:decisionRef="d" />',
            "DMN business rule tasks are not supported: use an external task with a topic",
        ),
        ('<bpmn:complexGateway id="K" name="Join" />', "complex gateways are not supported"),
        (
            '<bpmn:transaction id="K" name="Pay"><bpmn:scriptTask id="Inner" /></bpmn:transaction>',
            "transaction sub-processes are not supported",
        ),
        (
            '<bpmn:adHocSubProcess id="K" name="Any order"><bpmn:task id="Inner" /></bpmn:adHocSubProcess>',
            "ad-hoc sub-processes are not supported",
        ),
        (
            '<bpmn:task id="K" name="Undo" isForCompensation="true" />',
            "compensation handlers are not supported",
        ),
    ],
)
def test_unsupported_element_kinds_are_refused_once(node: str, expected: str) -> None:
    problem = the_error(chain(node))
    assert problem.message.startswith(expected)
    assert problem.element_id == "K"
    assert problem.element_name is not None
    assert ": " in problem.message  # says what to do


def test_business_rule_task_with_a_java_class_gets_one_refusal_only() -> None:
    problem = the_error(chain('<bpmn:businessRuleTask id="K" camunda:class="a.B" />'))
    assert problem.message.startswith("DMN business rule tasks")


def test_script_task_refusal_offers_the_handler_topics() -> None:
    problems = check(
        chain('<bpmn:scriptTask id="K" />'), handler_topics=frozenset({"receipt", "dossierCode"})
    )
    assert problems[0].message.endswith("(handler topics available: dossierCode, receipt)")


def test_event_subprocess_is_refused_as_a_whole() -> None:
    body = chain('<bpmn:userTask id="T" />') + (
        '<bpmn:subProcess id="ESP" name="Deadline" triggeredByEvent="true">\n'
        '  <bpmn:startEvent id="ES"><bpmn:timerEventDefinition><bpmn:timeDuration>P5D</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:startEvent>\n"
        '  <bpmn:scriptTask id="Inner" />\n'
        "</bpmn:subProcess>\n"
    )
    problem = the_error(body)
    assert problem.element_id == "ESP"
    assert problem.message == (
        "event sub-processes are not supported: model a procedure-wide deadline as a boundary timer on "
        "an embedded sub-process that wraps the steps"
    )


# --- events ----------------------------------------------------------------------------------------


def event(tag: str, definition: str, node_id: str = "V", extra: str = "") -> str:
    return f'<bpmn:{tag} id="{node_id}" name="Event" {extra}>{definition}</bpmn:{tag}>'


TIMER = "<bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>"
MESSAGE = '<bpmn:messageEventDefinition messageRef="Msg" />'
SIGNAL = "<bpmn:signalEventDefinition />"
CONDITIONAL = (
    "<bpmn:conditionalEventDefinition><bpmn:condition>${x}</bpmn:condition></bpmn:conditionalEventDefinition>"
)
COMPENSATE = "<bpmn:compensateEventDefinition />"
LINK = '<bpmn:linkEventDefinition name="L" />'
CANCEL = "<bpmn:cancelEventDefinition />"


def test_timer_start_event_is_a_warning() -> None:
    """Camunda examples carry cron start timers: the schedule is not run, the event starts the instance."""
    body = (
        event("startEvent", TIMER, "S")
        + '<bpmn:endEvent id="E" /><bpmn:sequenceFlow id="F" sourceRef="S" targetRef="E" />'
    )
    problems = check(body)
    assert [(p.severity, p.element_id) for p in problems] == [("warning", "S")]
    assert problems[0].message.startswith("timer start event: its schedule is not run here")


@pytest.mark.parametrize("kind", ["boundaryEvent", "intermediateCatchEvent"])
def test_conditional_events_are_allowed(kind: str) -> None:
    if kind == "boundaryEvent":
        body = chain('<bpmn:userTask id="T" />') + event(kind, CONDITIONAL, extra='attachedToRef="T"')
        body += '<bpmn:sequenceFlow id="FB" sourceRef="V" targetRef="E" />'
    else:
        body = chain(event(kind, CONDITIONAL))
    assert errors(check(body)) == []


def test_message_start_event_is_allowed_and_needs_a_message() -> None:
    ok = (
        event("startEvent", MESSAGE, "S")
        + '<bpmn:endEvent id="E" /><bpmn:sequenceFlow id="F" sourceRef="S" targetRef="E" />'
    )
    assert check(ok) == []
    bad = ok.replace(' messageRef="Msg"', "")
    problem = the_error(bad)
    assert (
        problem.message == "message event needs a message: pick or create one in the Modeler's Message panel"
    )
    assert problem.element_id == "S"


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (SIGNAL, "signal events are not supported"),
        (COMPENSATE, "compensation events are not supported"),
        (CANCEL, "cancel events are not supported"),
        ("", "boundary event has no trigger"),
    ],
)
def test_refused_boundary_events(definition: str, expected: str) -> None:
    body = chain('<bpmn:userTask id="T" />') + event("boundaryEvent", definition, extra='attachedToRef="T"')
    body += '<bpmn:sequenceFlow id="FB" sourceRef="V" targetRef="E" />'
    problem = the_error(body)
    assert problem.message.startswith(expected)
    assert problem.element_id == "V"


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (SIGNAL, "signal events are not supported"),
        (LINK, "link events are not supported"),
        ("", "intermediate catch event has no trigger"),
        ("<bpmn:errorEventDefinition />", "error triggers are not supported on an intermediate catch event"),
    ],
)
def test_refused_intermediate_catch_events(definition: str, expected: str) -> None:
    assert the_error(chain(event("intermediateCatchEvent", definition))).message.startswith(expected)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (SIGNAL, "signal events are not supported"),
        (COMPENSATE, "compensation events are not supported"),
        (LINK, "link events are not supported"),
        (TIMER, "timer triggers are not supported on an intermediate throw event"),
    ],
)
def test_refused_intermediate_throw_events(definition: str, expected: str) -> None:
    assert the_error(chain(event("intermediateThrowEvent", definition))).message.startswith(expected)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (SIGNAL, "signal events are not supported"),
        (COMPENSATE, "compensation events are not supported"),
        (CANCEL, "cancel events are not supported"),
        (TIMER, "timer triggers are not supported on an end event"),
    ],
)
def test_refused_end_events(definition: str, expected: str) -> None:
    body = '<bpmn:startEvent id="S" />' + event("endEvent", definition, "E")
    body += '<bpmn:sequenceFlow id="F" sourceRef="S" targetRef="E" />'
    assert the_error(body).message.startswith(expected)


def test_signal_start_event_is_refused() -> None:
    body = (
        event("startEvent", SIGNAL, "S")
        + '<bpmn:endEvent id="E" /><bpmn:sequenceFlow id="F" sourceRef="S" targetRef="E" />'
    )
    assert the_error(body).message.startswith("signal events are not supported")


def test_start_event_inside_an_embedded_subprocess_cannot_have_a_trigger() -> None:
    inner = (
        event("startEvent", MESSAGE, "IS")
        + '<bpmn:endEvent id="IE" /><bpmn:sequenceFlow id="IF" sourceRef="IS" targetRef="IE" />'
    )
    problem = the_error(chain(f'<bpmn:subProcess id="SP">{inner}</bpmn:subProcess>'))
    assert problem.element_id == "IS"
    assert problem.message.startswith("a message start event inside an embedded sub-process is not allowed")


def test_event_with_several_triggers_is_refused() -> None:
    problem = the_error(chain(event("intermediateCatchEvent", TIMER + MESSAGE)))
    assert problem.message.startswith("events with several triggers")


def test_shared_event_definition_reference_is_refused() -> None:
    problem = the_error(
        chain(event("intermediateCatchEvent", "<bpmn:eventDefinitionRef>TD</bpmn:eventDefinitionRef>"))
    )
    assert problem.message.startswith("shared event definitions (eventDefinitionRef) are not supported")


@pytest.mark.parametrize(
    "definition",
    [
        "<bpmn:timerEventDefinition />",
        "<bpmn:timerEventDefinition><bpmn:timeDuration>  </bpmn:timeDuration></bpmn:timerEventDefinition>",
        "<bpmn:timerEventDefinition><bpmn:timeDate /></bpmn:timerEventDefinition>",
    ],
)
def test_timer_without_a_time_is_refused(definition: str) -> None:
    problem = the_error(chain(event("intermediateCatchEvent", definition)))
    assert problem.message.startswith("timer has no time: set the Timer type")
    assert problem.element_id == "V"


def test_cron_time_cycle_is_refused_but_iso_and_expressions_pass() -> None:
    def cycle(text: str) -> str:
        return chain(
            event(
                "intermediateCatchEvent",
                f"<bpmn:timerEventDefinition><bpmn:timeCycle>{text}</bpmn:timeCycle></bpmn:timerEventDefinition>",
            )
        )

    assert the_error(cycle("0 0 9 * * ?")).message.startswith("cron time cycles are not supported")
    assert check(cycle("R3/PT1H")) == []
    assert check(cycle("${reminderCycle}")) == []


def test_message_catch_and_boundary_events_need_a_message() -> None:
    catch = chain(event("intermediateCatchEvent", "<bpmn:messageEventDefinition />"))
    assert the_error(catch).message.startswith("message event needs a message")
    boundary = chain('<bpmn:userTask id="T" />') + event(
        "boundaryEvent", "<bpmn:messageEventDefinition />", extra='attachedToRef="T"'
    )
    boundary += '<bpmn:sequenceFlow id="FB" sourceRef="V" targetRef="E" />'
    assert the_error(boundary).message.startswith("message event needs a message")


def test_throwing_message_events_need_no_message_but_refuse_java() -> None:
    assert check(chain(event("intermediateThrowEvent", "<bpmn:messageEventDefinition />"))) == []
    java = chain(event("intermediateThrowEvent", '<bpmn:messageEventDefinition camunda:class="a.B" />'))
    problem = the_error(java)
    assert problem.message.startswith("camunda:class (Java delegate) is not supported here")
    assert problem.element_id == "V"
    no_topic = chain(
        event("intermediateThrowEvent", '<bpmn:messageEventDefinition camunda:type="external" />')
    )
    assert the_error(no_topic).message.startswith("external task has no camunda:topic")


# --- service and send tasks ------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["serviceTask", "sendTask"])
@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            'camunda:class="org.example.Delegate"',
            "camunda:class (Java delegate) is not supported here: use camunda:type=external with a topic",
        ),
        (
            'camunda:delegateExpression="${bean}"',
            "camunda:delegateExpression (Java delegate expression) is not supported here: "
            "use camunda:type=external with a topic",
        ),
        (
            'camunda:expression="${bean.call()}"',
            "camunda:expression (Java/JUEL method call) is not supported here: "
            "use camunda:type=external with a topic",
        ),
        (
            'camunda:type="external"',
            "external task has no camunda:topic: set Topic in the Modeler's Implementation panel",
        ),
        (
            'camunda:type="external" camunda:topic="  "',
            "external task has no camunda:topic: set Topic in the Modeler's Implementation panel",
        ),
        (
            'camunda:type="mail"',
            "camunda:type='mail' is not supported: use camunda:type=external with a topic",
        ),
        ('camunda:topic="issueCode"', "camunda:topic is set but the implementation is not external"),
        ('implementation="##unspecified"', "implementation='##unspecified' is not supported"),
        ('implementation="webService"', "implementation='webService' is not supported"),
    ],
)
def test_task_implementations_other_than_external_with_topic_are_refused(
    tag: str, attributes: str, expected: str
) -> None:
    problem = the_error(chain(f'<bpmn:{tag} id="K" name="Do" {attributes} />'))
    assert problem.message.startswith(expected)
    assert problem.element_id == "K"
    assert problem.element_name == "Do"


def test_service_task_without_implementation() -> None:
    problem = the_error(chain('<bpmn:serviceTask id="K" />'))
    assert problem.message == "service task has no implementation: set Implementation = External and a Topic"
    problem = the_error(chain('<bpmn:sendTask id="K" implementation="##WebService" />'))
    assert problem.message == "send task has no implementation: set Implementation = External and a Topic"


def test_external_task_with_web_service_default_passes() -> None:
    assert check(chain(f'<bpmn:serviceTask id="K" implementation="##WebService" {EXTERNAL} />')) == []


def test_connector_is_refused_once() -> None:
    node = (
        '<bpmn:serviceTask id="K"><bpmn:extensionElements><camunda:connector>'
        "<camunda:connectorId>http-connector</camunda:connectorId>"
        '<camunda:inputOutput><camunda:inputParameter name="url">'
        '<camunda:script scriptFormat="js">x</camunda:script>'
        "</camunda:inputParameter></camunda:inputOutput>"
        "</camunda:connector></bpmn:extensionElements></bpmn:serviceTask>"
    )
    problem = the_error(chain(node))
    assert problem.message == (
        "Camunda Connect connectors are not supported: use camunda:type=external with a topic and let the "
        "agency system call the service"
    )
    assert problem.element_id == "K"


def test_receive_task_needs_a_message() -> None:
    assert check(chain('<bpmn:receiveTask id="K" messageRef="Msg" />')) == []
    assert check(chain('<bpmn:receiveTask id="K" messageRef="tns:Msg" />')) == []
    problem = the_error(chain('<bpmn:receiveTask id="K" name="Wait" />'))
    assert problem.message.startswith("message event needs a message")
    assert (problem.element_id, problem.element_name) == ("K", "Wait")


# --- call activities -------------------------------------------------------------------------------


def test_call_activity_needs_called_element() -> None:
    problem = the_error(chain('<bpmn:callActivity id="K" />'))
    assert problem.message.startswith("call activity needs Called element")
    assert the_error(chain('<bpmn:callActivity id="K" calledElement=" " />')).message.startswith(
        "call activity needs Called element"
    )


def test_call_activity_binding_other_than_latest_is_only_a_warning() -> None:
    problems = check(
        chain('<bpmn:callActivity id="K" calledElement="c" camunda:calledElementBinding="deployment" />')
    )
    assert [problem.severity for problem in problems] == ["warning"]
    assert problems[0].message.startswith("camunda:calledElementBinding='deployment' is ignored")


def test_call_activity_java_variable_mapping_is_refused() -> None:
    problem = the_error(
        chain('<bpmn:callActivity id="K" calledElement="c" camunda:variableMappingClass="a.B" />')
    )
    assert problem.message.startswith("camunda:variableMappingClass (Java delegate) is not supported")


# --- loops -----------------------------------------------------------------------------------------


def mi(host: str, loop: str, attributes: str = EXTERNAL) -> str:
    return chain(f'<bpmn:{host} id="K" {attributes}>{loop}</bpmn:{host}>')


GOOD_MI = (
    '<bpmn:multiInstanceLoopCharacteristics camunda:collection="items" camunda:elementVariable="item" />'
)


@pytest.mark.parametrize("collection", ["items", "${items}", "${ items }"])
def test_multi_instance_on_external_task_with_collection_passes(collection: str) -> None:
    loop = (
        f'<bpmn:multiInstanceLoopCharacteristics camunda:collection="{collection}" '
        'camunda:elementVariable="item" />'
    )
    assert check(mi("serviceTask", loop)) == []


@pytest.mark.parametrize(
    ("host", "attributes"),
    [("userTask", ""), ("subProcess", ""), ("callActivity", 'calledElement="c"')],
)
def test_multi_instance_on_other_activities_passes(host: str, attributes: str) -> None:
    if host == "subProcess":
        body = chain(f'<bpmn:subProcess id="K">{GOOD_MI}{EMPTY_SCOPE}</bpmn:subProcess>')
    else:
        body = mi(host, GOOD_MI, attributes)
    assert errors(check(body)) == []


def test_multi_instance_on_a_receive_task_is_refused() -> None:
    problem = the_error(mi("receiveTask", GOOD_MI, 'messageRef="Msg"'))
    assert problem.message.startswith("multi-instance is not supported on a receive task")
    assert problem.element_id == "K"


def test_loop_cardinality_is_refused() -> None:
    loop = (
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics>"
    )
    problem = the_error(mi("serviceTask", loop))
    assert (
        problem.message
        == "loopCardinality is not supported: use camunda:collection with a variable holding the list"
    )


def test_multi_instance_needs_collection_and_element_variable() -> None:
    problems = check(mi("sendTask", "<bpmn:multiInstanceLoopCharacteristics />"))
    assert [problem.message.split(":")[0] for problem in problems] == [
        "multi-instance needs camunda",
        "multi-instance needs camunda",
    ]
    assert "camunda:collection" in problems[0].message
    assert "camunda:elementVariable" in problems[1].message
    bad = (
        '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${order.items()}" '
        'camunda:elementVariable="i" />'
    )
    assert the_error(mi("serviceTask", bad)).message.startswith("camunda:collection must name one variable")


def test_standard_loop_is_refused() -> None:
    problem = the_error(mi("serviceTask", "<bpmn:standardLoopCharacteristics />"))
    assert problem.message.startswith("standard loops are not supported")


# --- camunda extensions ----------------------------------------------------------------------------


def test_engine_only_attributes_are_warnings() -> None:
    node = (
        f'<bpmn:serviceTask id="K" {EXTERNAL} camunda:asyncBefore="true" camunda:exclusive="false" '
        'camunda:jobPriority="5" />'
    )
    problems = check(chain(node))
    assert errors(problems) == []
    assert messages(problems) == [
        "camunda:asyncBefore, camunda:exclusive, camunda:jobPriority ignored: every step here is already "
        "persisted and retried by the worker"
    ]
    retry = (
        f'<bpmn:serviceTask id="K" {EXTERNAL}><bpmn:extensionElements>'
        "<camunda:failedJobRetryTimeCycle>R5/PT5M</camunda:failedJobRetryTimeCycle>"
        "</bpmn:extensionElements></bpmn:serviceTask>"
    )
    problems = check(chain(retry))
    assert [(problem.severity, problem.element_id) for problem in problems] == [("warning", "K")]
    assert problems[0].message.startswith("camunda:failedJobRetryTimeCycle ignored")


@pytest.mark.parametrize(
    "listener",
    [
        '<camunda:executionListener class="a.B" event="start" />',
        '<camunda:executionListener event="end"><camunda:script scriptFormat="groovy">x</camunda:script>'
        "</camunda:executionListener>",
        '<camunda:taskListener delegateExpression="${l}" event="create" />',
    ],
)
def test_listeners_are_refused_once(listener: str) -> None:
    node = (
        f'<bpmn:userTask id="K"><bpmn:extensionElements>{listener}</bpmn:extensionElements></bpmn:userTask>'
    )
    problem = the_error(chain(node))
    assert (
        problem.message
        == "listeners run Java or script code, which is not supported: model the action as an external task"
    )
    assert problem.element_id == "K"


def test_process_level_listener_is_refused() -> None:
    body = (
        '<bpmn:extensionElements><camunda:executionListener class="a.B" event="start" />'
        "</bpmn:extensionElements>"
    )
    problem = the_error(body + chain('<bpmn:userTask id="T" />'))
    assert problem.element_id == "P"


def test_script_in_input_output_mapping_is_ignored_with_a_warning() -> None:
    node = (
        f'<bpmn:serviceTask id="K" {EXTERNAL}><bpmn:extensionElements><camunda:inputOutput>'
        '<camunda:inputParameter name="ok">text</camunda:inputParameter>'
        '<camunda:outputParameter name="bad"><camunda:list>'
        '<camunda:script scriptFormat="javascript">1</camunda:script>'
        "</camunda:list></camunda:outputParameter>"
        "</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>"
    )
    problems = check(chain(node))
    assert [(p.severity, p.element_id) for p in problems] == [("warning", "K")]
    assert problems[0].message.startswith("script in an input/output mapping is ignored")


def test_camunda_error_event_definition_on_external_task_is_refused() -> None:
    node = (
        f'<bpmn:serviceTask id="K" {EXTERNAL}><bpmn:extensionElements>'
        '<camunda:errorEventDefinition id="CE" errorRef="Err" expression="${true}" />'
        "</bpmn:extensionElements></bpmn:serviceTask>"
    )
    assert the_error(chain(node)).message.startswith("camunda:errorEventDefinition")


# --- conditions ------------------------------------------------------------------------------------


def conditional_flow(condition: str) -> str:
    plain = '<bpmn:sequenceFlow id="F1" sourceRef="G" targetRef="E" />'
    body = chain('<bpmn:exclusiveGateway id="G" />')
    assert plain in body
    return body.replace(
        plain,
        f'<bpmn:sequenceFlow id="F1" name="ok" sourceRef="G" targetRef="E">{condition}</bpmn:sequenceFlow>',
    )


@pytest.mark.parametrize("language", ["", ' language="juel"', ' language="JUEL"'])
def test_el_conditions_pass(language: str) -> None:
    flow = conditional_flow(
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"{language}>${{a}}'
        "</bpmn:conditionExpression>"
    )
    assert check(flow) == []


@pytest.mark.parametrize("language", ["groovy", "javascript", "python", "http://www.w3.org/1999/XPath"])
def test_script_conditions_are_refused(language: str) -> None:
    flow = conditional_flow(
        f'<bpmn:conditionExpression language="{language}">a &gt; 1</bpmn:conditionExpression>'
    )
    problem = the_error(flow)
    assert problem.message == f"script conditions (language={language}) are not supported: write ${{...}}"
    assert (problem.element_id, problem.element_name) == ("F1", "ok")


def test_conditions_from_a_resource_are_refused() -> None:
    flow = conditional_flow('<bpmn:conditionExpression camunda:resource="deployment:cond.js" />')
    assert the_error(flow).message.startswith(
        "conditions loaded from a resource (camunda:resource=deployment:cond.js)"
    )


# --- references ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ('<bpmn:receiveTask id="K" messageRef="Nope" />', "messageRef 'Nope' names no message"),
        (
            event("intermediateThrowEvent", '<bpmn:escalationEventDefinition escalationRef="Nope" />', "K"),
            "escalationRef 'Nope' names no escalation",
        ),
        (f'<bpmn:sendTask id="K" {EXTERNAL} messageRef="Nope" />', "messageRef 'Nope' names no message"),
    ],
)
def test_references_must_name_a_declaration(node: str, expected: str) -> None:
    problem = the_error(chain(node))
    assert problem.message.startswith(expected)
    assert problem.element_id == "K"


def test_error_end_event_reference_must_exist() -> None:
    body = '<bpmn:startEvent id="S" />' + event(
        "endEvent", '<bpmn:errorEventDefinition errorRef="Nope" />', "E"
    )
    body += '<bpmn:sequenceFlow id="F" sourceRef="S" targetRef="E" />'
    assert the_error(body).message.startswith("errorRef 'Nope' names no error")


# --- structure -------------------------------------------------------------------------------------


def test_duplicate_ids_name_the_first_line() -> None:
    text = document(chain('<bpmn:userTask id="T" />\n<bpmn:manualTask id="T" />'))
    problems = check_definitions(load_bpmn(text.encode(), "t.bpmn"), "t.bpmn")
    duplicate = next(problem for problem in problems if problem.message.startswith("duplicate id"))
    first = line_of(text, '<bpmn:userTask id="T"')
    assert (
        duplicate.message
        == f"duplicate id 'T' (also on line {first}): ids must be unique; rename one of them"
    )
    assert duplicate.line == line_of(text, '<bpmn:manualTask id="T"')


def test_extension_ids_are_not_bpmn_ids() -> None:
    form = (
        '<bpmn:extensionElements><camunda:formData><camunda:formField id="amount" /></camunda:formData>'
        "</bpmn:extensionElements>"
    )
    body = chain(
        f'<bpmn:userTask id="A">{form}</bpmn:userTask>', f'<bpmn:userTask id="B">{form}</bpmn:userTask>'
    )
    assert check(body) == []


def test_sequence_flow_to_unknown_or_other_scope_element() -> None:
    body = chain('<bpmn:userTask id="T" />') + '<bpmn:sequenceFlow id="FX" sourceRef="T" targetRef="Ghost" />'
    problem = the_error(body)
    assert problem.message.startswith("sequence flow points to unknown element 'Ghost'")
    assert problem.element_id == "FX"
    inner = EMPTY_SCOPE
    crossing = (
        chain(f'<bpmn:subProcess id="SP">{inner}</bpmn:subProcess>')
        + '<bpmn:sequenceFlow id="FX" sourceRef="S" targetRef="IE" />'
    )
    assert the_error(crossing).message.startswith("sequence flow points to unknown element 'IE'")


def test_sequence_flow_without_target() -> None:
    body = chain('<bpmn:userTask id="T" />') + '<bpmn:sequenceFlow id="FX" sourceRef="T" />'
    assert the_error(body).message.startswith("sequence flow has no targetRef")


@pytest.mark.parametrize(
    "node",
    [
        '<bpmn:userTask id="Orphan" />',
        '<bpmn:exclusiveGateway id="Orphan" />',
        '<bpmn:intermediateThrowEvent id="Orphan" />',
        '<bpmn:endEvent id="Orphan" />',
        f'<bpmn:serviceTask id="Orphan" {EXTERNAL} />',
    ],
)
def test_flow_node_without_incoming_flow_is_a_warning(node: str) -> None:
    problems = check(chain('<bpmn:userTask id="T" />') + node)
    assert [(problem.severity, problem.element_id, problem.message) for problem in problems] == [
        ("warning", "Orphan", "unreachable: no incoming sequence flow")
    ]


def test_start_and_boundary_events_need_no_incoming_flow() -> None:
    body = chain('<bpmn:userTask id="T" />') + event("boundaryEvent", TIMER, "BT", 'attachedToRef="T"')
    body += '<bpmn:sequenceFlow id="FB" sourceRef="BT" targetRef="E" />'
    assert check(body) == []


def test_process_and_subprocess_need_a_start_event() -> None:
    problems = check('<bpmn:userTask id="T" />')
    assert [(p.severity, p.element_id, p.message) for p in problems] == [
        ("error", "P", "process has no start event: add a start event"),
        ("warning", "T", "unreachable: no incoming sequence flow"),
    ]
    inner = '<bpmn:userTask id="IT" />'
    problems = errors(check(chain(f'<bpmn:subProcess id="SP">{inner}</bpmn:subProcess>')))
    assert [(p.element_id, p.message) for p in problems] == [
        ("SP", "sub-process has no start event: add a start event")
    ]


def test_boundary_event_must_be_attached_to_an_activity() -> None:
    expected = {
        "Ghost": "boundary event is attached to unknown element 'Ghost'",
        "S": "boundary event is attached to 'S', which is not a task or sub-process",
    }
    for target, start in expected.items():
        boundary = event("boundaryEvent", TIMER, "BT", f'attachedToRef="{target}"')
        body = chain('<bpmn:userTask id="T" />') + boundary
        body += '<bpmn:sequenceFlow id="FB" sourceRef="BT" targetRef="E" />'
        problem = the_error(body)
        assert problem.message.startswith(start)
        assert problem.element_id == "BT"


def test_default_flow_must_leave_the_gateway() -> None:
    body = chain('<bpmn:exclusiveGateway id="G" default="F0" />')
    problem = the_error(body)
    assert problem.message.startswith("default flow 'F0' is not an outgoing sequence flow of this element")
    assert problem.element_id == "G"


# --- reporting -------------------------------------------------------------------------------------


def test_every_problem_is_reported_in_line_order_with_location() -> None:
    body = chain(
        '<bpmn:scriptTask id="A" name="First" />',
        '<bpmn:serviceTask id="B" name="Second" camunda:class="x.Y" />',
        '<bpmn:businessRuleTask id="C" name="Third" />',
    )
    text = document(body)
    problems = check_definitions(load_bpmn(text.encode(), "many.bpmn"), "many.bpmn")
    assert [(p.element_id, p.element_name, p.line) for p in problems] == [
        ("A", "First", line_of(text, 'id="A"')),
        ("B", "Second", line_of(text, 'id="B"')),
        ("C", "Third", line_of(text, 'id="C"')),
    ]
    assert all(p.file == "many.bpmn" and p.severity == "error" for p in problems)


def test_problem_inside_an_element_points_at_its_own_line_and_names_the_element() -> None:
    text = document(
        chain(
            '<bpmn:userTask id="K" name="Review">\n<bpmn:extensionElements>\n'
            '<camunda:taskListener class="a.B" event="create" />\n</bpmn:extensionElements>\n</bpmn:userTask>'
        )
    )
    [problem] = check_definitions(load_bpmn(text.encode(), "t.bpmn"), "t.bpmn")
    assert (problem.element_id, problem.element_name) == ("K", "Review")
    assert problem.line == line_of(text, "<camunda:taskListener")


# --- the real corpus -------------------------------------------------------------------------------

CORPUS_FILES = sorted((CORPUS / "camunda-examples").glob("*.bpmn")) + sorted(
    (CORPUS / "miwg-reference").glob("*.bpmn")
)
needs_corpus = pytest.mark.skipif(len(CORPUS_FILES) != 75, reason=f"corpus not found at {CORPUS}")

# Files whose every element is supported: they deploy (warnings at most).
PASSING = {
    "C.9.1.bpmn",
    "clients__java__order-handling__order-handling.bpmn",
    "spring-boot-starter__external-task-client__loan-granting-spring-boot-webapp__bpmn__loan-granting.bpmn",
    "migration__migrate-on-deployment__exampleProcess.bpmn",
    "multi-tenancy__schema-isolation__processes__tenant1__tenant1_process.bpmn",
    "multi-tenancy__tenant-identifier-shared-definitions__processes__default__mainProcess.bpmn",
    "multi-tenancy__tenant-identifier-shared-definitions__processes__default__subProcess.bpmn",
    "multi-tenancy__tenant-identifier-shared-definitions__processes__tenant2__subProcess.bpmn",
    "process-engine-plugin__bpmn-parse-listener__bpmnParseListenerOnUserTask.bpmn",
    "process-engine-plugin__handling-jpa-variables__process.bpmn",
    "spring-boot-starter__example-webapp-ee__bpmn__sample.bpmn",
    "startevent__message-start__message_start_process.bpmn",
    "testing__junit5__camunda-bpm-junit-assert__testProcess.bpmn",
    "testing__junit5__camunda-bpm-junit-use-engine__testProcess.bpmn",
    "usertask__task-camunda-forms__invoiceApproval.bpmn",
    "usertask__task-form-embedded-bpmn-events__invoicePayment.bpmn",
    "usertask__task-form-embedded-react__react-example.bpmn",
    "usertask__task-form-embedded__loanApproval.bpmn",
    "wildfly__jackson-annotations__waitingState.bpmn",
}


def corpus_problems(path: Path) -> list[Problem]:
    try:
        tree = load_bpmn(path.read_bytes(), path.name)
    except DiagramRejected as rejected:
        return rejected.problems
    return check_definitions(tree, path.name)


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_corpus_file_is_checked_without_crashing(path: Path) -> None:
    problems = corpus_problems(path)
    assert all(problem.file == path.name and problem.message for problem in problems)
    assert all(problem.severity in {"error", "warning"} for problem in problems)
    assert [problem.line or 0 for problem in problems] == sorted(problem.line or 0 for problem in problems)
    for problem in errors(problems):
        assert problem.line is not None and problem.element_id is not None
    assert (not errors(problems)) == (path.name in PASSING), [p.format() for p in errors(problems)]


@needs_corpus
def test_corpus_java_delegate_is_located() -> None:
    path = (
        CORPUS
        / "camunda-examples"
        / "servicetask__service-invocation-synchronous__synchronousServiceInvocation.bpmn"
    )
    problems = errors(corpus_problems(path))
    assert [(p.element_id, p.element_name, p.message) for p in problems] == [
        (
            "ServiceTask_1",
            "Synchronous Service Task",
            "camunda:class (Java delegate) is not supported here: use camunda:type=external with a topic",
        )
    ]
    assert problems[0].line == line_of(path.read_text(), '<bpmn2:serviceTask id="ServiceTask_1"') == 13


# The two external-task examples the corpus README says must run end to end: they deploy, with a
# warning for each construct whose Camunda meaning is not reproduced (cron start timers, script mappings).
@needs_corpus
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clients__java__order-handling__order-handling.bpmn", [("StartEvent_1", "timer start event")]),
        (
            "spring-boot-starter__external-task-client__loan-granting-spring-boot-webapp__bpmn__loan-granting.bpmn",
            [("Task_1lvjtd4", "script in an input/output mapping"), ("StartEvent_1", "timer start event")],
        ),
    ],
)
def test_corpus_external_task_examples_pass_with_warnings(name: str, expected: list[tuple[str, str]]) -> None:
    problems = corpus_problems(CORPUS / "camunda-examples" / name)
    assert errors(problems) == []
    assert [
        (p.element_id, p.message[: len(start)]) for p, (_, start) in zip(problems, expected, strict=True)
    ] == (expected)


def test_comments_anywhere_are_ignored() -> None:
    timer = (
        "<bpmn:timerEventDefinition><!-- three days --><bpmn:timeDuration>P3D</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition>"
    )
    body = "<!-- start -->" + chain(event("intermediateCatchEvent", f"<!-- wait -->{timer}"))
    assert check(body) == []


@pytest.mark.parametrize("reserved", ["Start", "End", "Root", "Task_1.BoundaryEventSplit"])
def test_ids_reserved_by_the_engine_are_refused(reserved: str) -> None:
    """An element named like one of SpiffWorkflow's own task specs would replace it at run time."""
    body = (
        f'<bpmn:startEvent id="{reserved}" /><bpmn:endEvent id="E" />'
        f'<bpmn:sequenceFlow id="F" sourceRef="{reserved}" targetRef="E" />'
    )
    problem = the_error(body)
    assert problem.element_id == reserved and "reserved by the engine" in problem.message
