"""Static deployability checks on a parsed BPMN tree, before SpiffWorkflow sees it.

The product runs a deliberately small subset of Camunda 7 BPMN. Everything outside it is refused
here, located (file, line, element id and name) and explained (what is wrong, what to do), so that
nothing unsupported is discovered while a dossier is running.

Rule families, one function (or table) each:

* kinds        - element types refused outright (script tasks, DMN, complex gateways, ...)
* events       - which triggers each kind of event may have; timer and message details
* tasks        - service/send task implementations (only ``camunda:type="external"`` + topic),
                 receive tasks, call activities, compensation handlers
* loops        - multi-instance only on external tasks, with a collection and an element variable
* camunda      - Java attributes, listeners, connectors, scripts in mappings, engine-only hints
* conditions   - script languages and external resources on conditions
* references   - messageRef / errorRef / escalationRef must name a declared element
* structure    - start events, sequence-flow ends, unreachable nodes, boundary attachments, defaults
* ids          - duplicate ids anywhere in the file
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from orchestrator.bpmn.problems import Problem

__all__ = ["BPMN_NS", "CAMUNDA_NS", "check_definitions", "executable_processes"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

_Element = etree._Element

_ID_NAMESPACES = frozenset(
    {
        BPMN_NS,
        "http://www.omg.org/spec/BPMN/20100524/DI",
        "http://www.omg.org/spec/DD/20100524/DI",
        "http://www.omg.org/spec/DD/20100524/DC",
    }
)


def _b(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _c(local: str) -> str:
    return f"{{{CAMUNDA_NS}}}{local}"


# --------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------

_ACTIVITIES = frozenset(
    {
        "task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "scriptTask",
        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    }
)  # fmt: skip
_GATEWAYS = frozenset(
    {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
)
_EVENTS = frozenset(
    {
        "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
        "implicitThrowEvent",
    }
)  # fmt: skip
_CHOREOGRAPHY = frozenset({"callChoreography", "choreographyTask", "subChoreography"})
_FLOW_NODES = _ACTIVITIES | _GATEWAYS | _EVENTS | _CHOREOGRAPHY
# Elements a problem is attributed to: the thing an analyst can click on in the Modeler.
_OWNERS = _FLOW_NODES | {"sequenceFlow", "process", "definitions"}
# Flow nodes that only run when a sequence flow reaches them.
_NEED_INCOMING = _FLOW_NODES - {"startEvent", "boundaryEvent"}

_TRIGGERS = {
    "messageEventDefinition": "message",
    "timerEventDefinition": "timer",
    "errorEventDefinition": "error",
    "escalationEventDefinition": "escalation",
    "terminateEventDefinition": "terminate",
    "signalEventDefinition": "signal",
    "compensateEventDefinition": "compensation",
    "conditionalEventDefinition": "conditional",
    "linkEventDefinition": "link",
    "cancelEventDefinition": "cancel",
}

_EL_LANGUAGES = frozenset({"juel", "el", "uel"})
_VARIABLE_NAME = re.compile(r"^\s*(?:[A-Za-z_]\w*|\$\{\s*[A-Za-z_]\w*\s*\})\s*$")
_TRUE = frozenset({"true", "1"})

# --------------------------------------------------------------------------------------------------
# Messages: what is wrong, then what to do
# --------------------------------------------------------------------------------------------------

NO_EXECUTABLE_PROCESS = "no executable process: tick 'Executable' on the process in Camunda Modeler"

_REFUSED_KINDS = {
    "scriptTask": (
        "script tasks are not supported: BPMN is code we do not execute; move the logic to an external "
        "task or a handler topic"
    ),
    "businessRuleTask": "DMN business rule tasks are not supported: use an external task with a topic",
    "complexGateway": (
        "complex gateways are not supported: use an inclusive or exclusive gateway with conditions"
    ),
    "transaction": (
        "transaction sub-processes are not supported: use an embedded sub-process with error boundary "
        "events and model the undo steps explicitly"
    ),
    "adHocSubProcess": (
        "ad-hoc sub-processes are not supported: model the steps inside an embedded sub-process joined "
        "by parallel or inclusive gateways"
    ),
    "implicitThrowEvent": "implicit throw events are not supported: use an intermediate throw event",
    **dict.fromkeys(
        _CHOREOGRAPHY, "choreographies are not supported: model the procedure as an executable process"
    ),
}

EVENT_SUBPROCESS = (
    "event sub-processes are not supported: model a procedure-wide deadline as a boundary timer on an "
    "embedded sub-process that wraps the steps"
)
COMPENSATION_HANDLER = (
    "compensation handlers are not supported: model the undo steps as ordinary steps after an error "
    "boundary event"
)

# Triggers refused on every kind of event.
_REFUSED_TRIGGERS = {
    "signal": (
        "signal events are not supported: use a message event (a message reaches one dossier, a signal "
        "would reach them all)"
    ),
    "compensation": (
        "compensation events are not supported: model the undo steps as ordinary steps after an error "
        "boundary event"
    ),
    "link": "link events are not supported: connect the two points with a sequence flow",
    "cancel": (
        "cancel events are not supported (they belong to transaction sub-processes): use an error end "
        "event and an error boundary event"
    ),
}

# Which triggers each kind of event may carry ("none" = no event definition).
_ALLOWED_TRIGGERS = {
    "start event": ("none", "message", "timer"),
    "sub-process start event": ("none",),
    "end event": ("none", "message", "error", "terminate", "escalation"),
    "boundary event": ("timer", "message", "error", "escalation", "conditional"),
    "intermediate catch event": ("timer", "message", "conditional"),
    "intermediate throw event": ("none", "message", "escalation"),
}

# Refusals with a better message than the generic one, by (kind of event, trigger).
_TRIGGER_MESSAGES = {
    **{
        ("sub-process start event", trigger): (
            f"a {trigger} start event inside an embedded sub-process is not allowed: remove the event "
            "definition (the sub-process starts when the flow reaches it)"
        )
        for trigger in ("message", "timer", "error", "escalation")
    },
    ("boundary event", "none"): (
        "boundary event has no trigger: make it a timer, message, error or escalation"
    ),
    ("intermediate catch event", "none"): (
        "intermediate catch event has no trigger: make it a timer or a message"
    ),
}

MULTIPLE_TRIGGERS = (
    "events with several triggers (multiple / parallel multiple) are not supported: keep one event "
    "definition, or use an event-based gateway"
)
EVENT_DEFINITION_REF = (
    "shared event definitions (eventDefinitionRef) are not supported: define the trigger on the event itself"
)
TIMER_EMPTY = (
    "timer has no time: set the Timer type (date, duration or cycle) and a value such as P3D in the "
    "Modeler's Timer panel"
)
START_TIMER_IGNORED = (
    "timer start event: its schedule is not run here; dossiers are started through the API "
    "(the event starts them like a none start event)"
)
CONDITIONAL_START = "conditional start events are not supported: start dossiers through the API"
TIMER_CRON = (
    "cron time cycles are not supported: write an ISO 8601 repetition such as R3/PT1H, or a ${...} expression"
)
MESSAGE_NEEDED = "message event needs a message: pick or create one in the Modeler's Message panel"

# Implementations that only make sense inside a Java engine, refused wherever they appear.
_JAVA_ATTRIBUTES = {
    "class": "camunda:class (Java delegate) is not supported here: use camunda:type=external with a topic",
    "delegateExpression": (
        "camunda:delegateExpression (Java delegate expression) is not supported here: use "
        "camunda:type=external with a topic"
    ),
    "expression": (
        "camunda:expression (Java/JUEL method call) is not supported here: use camunda:type=external "
        "with a topic"
    ),
    "variableMappingClass": (
        "camunda:variableMappingClass (Java delegate) is not supported: use camunda:in and camunda:out "
        "mappings"
    ),
    "variableMappingDelegateExpression": (
        "camunda:variableMappingDelegateExpression (Java delegate) is not supported: use camunda:in and "
        "camunda:out mappings"
    ),
}
NO_TOPIC = "external task has no camunda:topic: set Topic in the Modeler's Implementation panel"
TOPIC_WITHOUT_TYPE = (
    "camunda:topic is set but the implementation is not external: set Implementation = External"
)
_NO_IMPLEMENTATION = "{kind} has no implementation: set Implementation = External and a Topic"
_OTHER_TYPE = "camunda:type={value!r} is not supported: use camunda:type=external with a topic"
_OTHER_IMPLEMENTATION = (
    "implementation={value!r} is not supported: set Implementation = External and a Topic in the Modeler"
)
CALLED_ELEMENT_MISSING = (
    "call activity needs Called element: enter the id of the process to call in the Modeler"
)
_BINDING_IGNORED = (
    "camunda:calledElementBinding={value!r} is ignored: the called process is bound when this diagram "
    "is deployed (its newest deployed version at that time)"
)

_MI_HOSTS = frozenset({"serviceTask", "sendTask", "userTask", "subProcess", "callActivity"})
_MI_HOST = (
    "multi-instance is not supported on {kind}: put it on an external task, user task, sub-process or "
    "call activity"
)
LOOP_CARDINALITY = "loopCardinality is not supported: use camunda:collection with a variable holding the list"
MI_NO_COLLECTION = "multi-instance needs camunda:collection: set Collection to the variable holding the list"
MI_BAD_COLLECTION = (
    "camunda:collection must name one variable, as items or ${{items}} (found {value!r}): put the list "
    "in a variable first"
)
MI_NO_ELEMENT_VARIABLE = (
    "multi-instance needs camunda:elementVariable: set Element variable to the name each item gets"
)
STANDARD_LOOP = (
    "standard loops are not supported: loop back with an exclusive gateway, or use multi-instance on an "
    "external task"
)

LISTENERS = "listeners run Java or script code, which is not supported: model the action as an external task"
_REFUSED_EXTENSIONS = {
    "executionListener": LISTENERS,
    "taskListener": LISTENERS,
    "connector": (
        "Camunda Connect connectors are not supported: use camunda:type=external with a topic and let "
        "the agency system call the service"
    ),
    "errorEventDefinition": (
        "camunda:errorEventDefinition (error mapping on external tasks) is not supported: the worker "
        "reports BPMN errors itself (handleBpmnError)"
    ),
}
SCRIPT_PARAMETER_IGNORED = (
    "script in an input/output mapping is ignored (scripts are never executed here): write the value as "
    "text or a ${...} expression if the step needs it"
)
_ENGINE_ONLY_ATTRIBUTES = ("async", "asyncBefore", "asyncAfter", "exclusive", "jobPriority")
_ENGINE_ONLY = "{what} ignored: every step here is already persisted and retried by the worker"

_SCRIPT_CONDITION = "script conditions (language={value}) are not supported: write ${{...}}"
_RESOURCE_CONDITION = (
    "conditions loaded from a resource (camunda:resource={value}) are not supported: write the ${{...}} "
    "expression inline"
)

_UNKNOWN_REFERENCE = (
    "{attribute} {value!r} names no {kind}: pick or create one in the Modeler's {panel} panel"
)
_REFERENCE_KINDS = {
    "messageRef": ("message", "Message"),
    "errorRef": ("error", "Error"),
    "escalationRef": ("escalation", "Escalation"),
}

# SpiffWorkflow names its own task specs so: an element with such an id would replace them.
_RESERVED_IDS = frozenset({"Start", "End", "Root"})
_RESERVED_ID_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")
_RESERVED_ID = "id {value!r} is reserved by the engine: rename the element (e.g. StartEvent_1)"
_DUPLICATE_ID = "duplicate id {value!r} (also on line {line}): ids must be unique; rename one of them"
_UNKNOWN_FLOW_END = "sequence flow points to unknown element {value!r}: reconnect it in the Modeler"
_FLOW_END_MISSING = "sequence flow has no {attribute}: reconnect it in the Modeler"
UNREACHABLE = "unreachable: no incoming sequence flow"
_NO_START = "{kind} has no start event: add a start event"
_UNKNOWN_ATTACHMENT = (
    "boundary event is attached to unknown element {value!r}: attach it to a task or sub-process"
)
_NOT_AN_ACTIVITY = (
    "boundary event is attached to {value!r}, which is not a task or sub-process: attach it to one"
)
_BAD_DEFAULT = (
    "default flow {value!r} is not an outgoing sequence flow of this element: pick the default flow again"
)


# --------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------


def _a(noun: str) -> str:
    """``noun`` with its indefinite article, for messages."""
    return f"{'an' if noun[:1] in 'aeio' else 'a'} {noun}"  # 'a user task'


def _children(node: _Element) -> Iterator[_Element]:
    """Element children only (comments and processing instructions have no namespace)."""
    return node.iterchildren(etree.Element)


def _local(node: _Element) -> str:
    return etree.QName(node).localname


def _is_bpmn(node: _Element) -> bool:
    return etree.QName(node).namespace == BPMN_NS


def _owner(node: _Element) -> _Element:
    """The element an analyst can select in the Modeler that contains ``node``."""
    for candidate in node.iterancestors():
        if _is_bpmn(candidate) and _local(candidate) in _OWNERS:
            return candidate
    return node


@dataclass
class _Checker:
    """Accumulates problems for one file and knows the file-level declarations."""

    filename: str
    handler_topics: frozenset[str]
    declared: dict[str, set[str]]
    problems: list[Problem] = field(default_factory=list)

    def add(
        self, node: _Element, message: str, *, severity: str = "error", owner: _Element | None = None
    ) -> None:
        """Report ``message`` at ``node``'s line, attributed to the flow element that holds it."""
        if owner is None:
            owner = node if _is_bpmn(node) and _local(node) in _OWNERS else _owner(node)
        self.problems.append(Problem.at(node, self.filename, message, owner=owner, severity=severity))


# A rule looks at one element and returns True when it refused the element outright: its content
# is then not checked any further (one clear refusal beats a cascade of follow-on messages).
_Rule = Callable[[_Element, _Checker], bool]


# --------------------------------------------------------------------------------------------------
# kinds
# --------------------------------------------------------------------------------------------------


def _refuse_kind(node: _Element, checker: _Checker) -> bool:
    message = _REFUSED_KINDS[_local(node)]
    if _local(node) == "scriptTask" and checker.handler_topics:
        message += f" (handler topics available: {', '.join(sorted(checker.handler_topics))})"
    checker.add(node, message)
    return True


def _is_event_subprocess(node: _Element) -> bool:
    return _local(node) == "subProcess" and (node.get("triggeredByEvent") or "").strip() in _TRUE


def _check_subprocess(node: _Element, checker: _Checker) -> bool:
    if _is_event_subprocess(node):
        checker.add(node, EVENT_SUBPROCESS)
        return True
    return _check_scope(node, checker)


def _check_compensation_handler(node: _Element, checker: _Checker) -> bool:
    if (node.get("isForCompensation") or "").strip() in _TRUE:
        checker.add(node, COMPENSATION_HANDLER)
        return True
    return False


# --------------------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------------------


def _event_kind(event: _Element) -> str:
    local = _local(event)
    if local == "startEvent":
        parent = event.getparent()
        inside = parent is not None and _local(parent) == "subProcess"
        return "sub-process start event" if inside else "start event"
    return {
        "endEvent": "end event",
        "boundaryEvent": "boundary event",
        "intermediateCatchEvent": "intermediate catch event",
        "intermediateThrowEvent": "intermediate throw event",
    }[local]


def _trigger_refusal(kind: str, trigger: str) -> str | None:
    if trigger in _REFUSED_TRIGGERS:
        return _REFUSED_TRIGGERS[trigger]
    allowed = _ALLOWED_TRIGGERS[kind]
    if trigger in allowed:
        return None
    return _TRIGGER_MESSAGES.get((kind, trigger)) or (
        f"{trigger} triggers are not supported on {_a(kind)}: {_a(kind)} may be {', '.join(allowed)}"
    )


def _check_event(event: _Element, checker: _Checker) -> bool:
    definitions = [child for child in _children(event) if _is_bpmn(child) and _local(child) in _TRIGGERS]
    shared = event.find(_b("eventDefinitionRef"))
    if shared is not None:
        checker.add(shared, EVENT_DEFINITION_REF)
        return True
    if len(definitions) > 1:
        checker.add(event, MULTIPLE_TRIGGERS)
        return True
    trigger = _TRIGGERS[_local(definitions[0])] if definitions else "none"
    kind = _event_kind(event)
    if (kind, trigger) == ("start event", "timer"):
        checker.add(event, START_TIMER_IGNORED, severity="warning")
        return True  # the schedule is not run, so its content needs no checking
    if kind == "start event" and trigger == "conditional":
        checker.add(definitions[0], _TRIGGER_MESSAGES.get((kind, trigger)) or CONDITIONAL_START)
        return True
    refusal = _trigger_refusal(kind, trigger)
    if refusal:
        checker.add(definitions[0] if definitions else event, refusal)
        return True
    return False


def _check_timer(definition: _Element, checker: _Checker) -> bool:
    times = [
        child
        for child in _children(definition)
        if _is_bpmn(child)
        and _local(child) in {"timeDate", "timeDuration", "timeCycle"}
        and (child.text or "").strip()
    ]
    if not times:
        checker.add(definition, TIMER_EMPTY)
        return False
    for time in times:
        text = (time.text or "").strip()
        if _local(time) == "timeCycle" and not text.upper().startswith("R") and "{" not in text:
            checker.add(time, TIMER_CRON)
    return False


def _is_catching(definition: _Element) -> bool:
    parent = definition.getparent()
    return parent is not None and _local(parent) in {"startEvent", "boundaryEvent", "intermediateCatchEvent"}


def _check_message_definition(definition: _Element, checker: _Checker) -> bool:
    if _is_catching(definition):
        if not (definition.get("messageRef") or "").strip():
            checker.add(definition, MESSAGE_NEEDED)
    else:
        # A throwing message event is implemented like a service task in Camunda 7.
        _check_implementation(definition, checker, kind=None)
    return False


# --------------------------------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------------------------------


def _check_implementation(node: _Element, checker: _Checker, *, kind: str | None) -> None:
    """Only ``camunda:type="external"`` with a topic; ``kind`` None means an implementation is optional."""
    implementation = node.get("implementation")
    other_implementation = implementation is not None and implementation.strip() != "##WebService"
    if other_implementation:
        checker.add(node, _OTHER_IMPLEMENTATION.format(value=implementation))
    task_type = node.get(_c("type"))
    topic = (node.get(_c("topic")) or "").strip()
    if task_type is not None:
        if task_type.strip() != "external":
            checker.add(node, _OTHER_TYPE.format(value=task_type))
        elif not topic:
            checker.add(node, NO_TOPIC)
        return
    java = any(node.get(_c(name)) is not None for name in _JAVA_ATTRIBUTES)
    connector = node.find(f"{_b('extensionElements')}/{_c('connector')}") is not None
    if java or connector or other_implementation:
        return  # refused by its own rule, with its own message
    if topic:
        checker.add(node, TOPIC_WITHOUT_TYPE)
    elif kind is not None:
        checker.add(node, _NO_IMPLEMENTATION.format(kind=kind))


def _check_service_task(node: _Element, checker: _Checker) -> bool:
    kind = "service task" if _local(node) == "serviceTask" else "send task"
    _check_implementation(node, checker, kind=kind)
    return False


def _check_receive_task(node: _Element, checker: _Checker) -> bool:
    if not (node.get("messageRef") or "").strip():
        checker.add(node, MESSAGE_NEEDED)
    return False


def _check_call_activity(node: _Element, checker: _Checker) -> bool:
    if not (node.get("calledElement") or "").strip():
        checker.add(node, CALLED_ELEMENT_MISSING)
    binding = node.get(_c("calledElementBinding"))
    if binding is not None and binding.strip() not in {"", "latest"}:
        checker.add(node, _BINDING_IGNORED.format(value=binding), severity="warning")
    return False


# --------------------------------------------------------------------------------------------------
# loops
# --------------------------------------------------------------------------------------------------


_KIND_LABELS = {"subProcess": "sub-process", "adHocSubProcess": "ad-hoc sub-process"}


def _kind_label(local: str) -> str:
    """``userTask`` -> ``user task``, for messages."""
    return _KIND_LABELS.get(local) or re.sub(r"(?<!^)([A-Z])", r" \1", local).lower()


def _check_multi_instance(loop: _Element, checker: _Checker) -> bool:
    host = loop.getparent()
    host_local = _local(host) if host is not None else ""
    if host_local not in _MI_HOSTS:
        checker.add(loop, _MI_HOST.format(kind=_a(_kind_label(host_local))))
        return True
    if loop.find(_b("loopCardinality")) is not None:
        checker.add(loop, LOOP_CARDINALITY)
        return True
    collection = loop.get(_c("collection"))
    if collection is None or not collection.strip():
        checker.add(loop, MI_NO_COLLECTION)
    elif not _VARIABLE_NAME.match(collection):
        checker.add(loop, MI_BAD_COLLECTION.format(value=collection))
    if not (loop.get(_c("elementVariable")) or "").strip():
        checker.add(loop, MI_NO_ELEMENT_VARIABLE)
    return False


def _refuse_standard_loop(loop: _Element, checker: _Checker) -> bool:
    checker.add(loop, STANDARD_LOOP)
    return True


# --------------------------------------------------------------------------------------------------
# camunda extensions
# --------------------------------------------------------------------------------------------------


def _check_java_attributes(node: _Element, checker: _Checker) -> None:
    for name, message in _JAVA_ATTRIBUTES.items():
        if node.get(_c(name)) is not None:
            checker.add(node, message)


def _check_engine_only_attributes(node: _Element, checker: _Checker) -> None:
    present = [f"camunda:{name}" for name in _ENGINE_ONLY_ATTRIBUTES if node.get(_c(name)) is not None]
    if present:
        checker.add(node, _ENGINE_ONLY.format(what=", ".join(present)), severity="warning")


def _refuse_extension(node: _Element, checker: _Checker) -> bool:
    checker.add(node, _REFUSED_EXTENSIONS[_local(node)])
    return True


def _warn_script_parameter(node: _Element, checker: _Checker) -> bool:
    checker.add(node, SCRIPT_PARAMETER_IGNORED, severity="warning")
    return True


def _warn_retry_cycle(node: _Element, checker: _Checker) -> bool:
    checker.add(node, _ENGINE_ONLY.format(what="camunda:failedJobRetryTimeCycle"), severity="warning")
    return False


# --------------------------------------------------------------------------------------------------
# conditions
# --------------------------------------------------------------------------------------------------


def _check_condition(node: _Element, checker: _Checker) -> bool:
    language = node.get("language")
    if language is not None and language.strip().lower() not in _EL_LANGUAGES:
        checker.add(node, _SCRIPT_CONDITION.format(value=language))
    resource = node.get(_c("resource"))
    if resource is not None:
        checker.add(node, _RESOURCE_CONDITION.format(value=resource))
    return False


# --------------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------------


def _declared_ids(root: _Element) -> dict[str, set[str]]:
    """Ids of the root-level message, error and escalation declarations, by kind."""
    declared: dict[str, set[str]] = {kind: set() for kind, _ in _REFERENCE_KINDS.values()}
    for child in _children(root):
        if _is_bpmn(child) and _local(child) in declared:
            declared[_local(child)].add(child.get("id") or "")
    return declared


def _check_references(node: _Element, checker: _Checker) -> None:
    for attribute, (kind, panel) in _REFERENCE_KINDS.items():
        value = (node.get(attribute) or "").strip()
        if not value:
            continue
        names = checker.declared[kind]
        # QName references ("tns:Message_1") name the same declaration.
        if value not in names and value.rpartition(":")[2] not in names:
            checker.add(
                node,
                _UNKNOWN_REFERENCE.format(attribute=attribute, value=value, kind=kind, panel=panel),
            )


# --------------------------------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------------------------------


def _check_scope(scope: _Element, checker: _Checker) -> bool:
    """Start events, sequence-flow ends, reachability, boundary attachments and default flows."""
    nodes = {
        child.get("id"): child
        for child in _children(scope)
        if _is_bpmn(child) and _local(child) in _FLOW_NODES
    }
    flows = list(scope.iterchildren(_b("sequenceFlow")))
    targets: set[str | None] = set()
    outgoing: dict[str | None, set[str | None]] = {}
    for flow in flows:
        for attribute in ("sourceRef", "targetRef"):
            value = (flow.get(attribute) or "").strip()
            if not value:
                checker.add(flow, _FLOW_END_MISSING.format(attribute=attribute))
            elif value not in nodes:
                checker.add(flow, _UNKNOWN_FLOW_END.format(value=value))
        targets.add(flow.get("targetRef"))
        outgoing.setdefault(flow.get("sourceRef"), set()).add(flow.get("id"))

    if not any(_local(node) == "startEvent" for node in nodes.values()):
        kind = "process" if _local(scope) == "process" else "sub-process"
        checker.add(scope, _NO_START.format(kind=kind))

    for node_id, node in nodes.items():
        local = _local(node)
        if local in _NEED_INCOMING and node_id not in targets and not _exempt_from_incoming(node):
            checker.add(node, UNREACHABLE, severity="warning")
        if local == "boundaryEvent":
            attached = (node.get("attachedToRef") or "").strip()
            if attached not in nodes:
                checker.add(node, _UNKNOWN_ATTACHMENT.format(value=attached))
            elif _local(nodes[attached]) not in _ACTIVITIES:
                checker.add(node, _NOT_AN_ACTIVITY.format(value=attached))
        default = node.get("default")
        if default is not None and default not in outgoing.get(node_id, set()):
            checker.add(node, _BAD_DEFAULT.format(value=default))
    return False


def _exempt_from_incoming(node: _Element) -> bool:
    return _is_event_subprocess(node) or (node.get("isForCompensation") or "").strip() in _TRUE


def _check_duplicate_ids(root: _Element, checker: _Checker) -> None:
    """BPMN and diagram-interchange ids share one id space; extension ids (form fields...) do not."""
    first_line: dict[str, int | None] = {}
    for node in root.iter(etree.Element):
        node_id = node.get("id")
        if node_id is None or etree.QName(node).namespace not in _ID_NAMESPACES:
            continue
        if node_id in first_line:
            checker.add(node, _DUPLICATE_ID.format(value=node_id, line=first_line[node_id]), owner=node)
        else:
            first_line[node_id] = node.sourceline
        if node_id in _RESERVED_IDS or node_id.endswith(_RESERVED_ID_SUFFIXES):
            checker.add(node, _RESERVED_ID.format(value=node_id), owner=node)


# --------------------------------------------------------------------------------------------------
# Dispatch and walk
# --------------------------------------------------------------------------------------------------


_BPMN_RULES: dict[str, _Rule] = {
    **dict.fromkeys(_REFUSED_KINDS, _refuse_kind),
    "process": _check_scope,
    "subProcess": _check_subprocess,
    **dict.fromkeys(
        ("startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent", "intermediateThrowEvent"),
        _check_event,
    ),
    "serviceTask": _check_service_task,
    "sendTask": _check_service_task,
    "receiveTask": _check_receive_task,
    "callActivity": _check_call_activity,
    "multiInstanceLoopCharacteristics": _check_multi_instance,
    "standardLoopCharacteristics": _refuse_standard_loop,
    "timerEventDefinition": _check_timer,
    "messageEventDefinition": _check_message_definition,
    "conditionExpression": _check_condition,
    "completionCondition": _check_condition,
}

_CAMUNDA_RULES: dict[str, _Rule] = {
    **dict.fromkeys(_REFUSED_EXTENSIONS, _refuse_extension),
    "script": _warn_script_parameter,
    "failedJobRetryTimeCycle": _warn_retry_cycle,
}

# Checks that apply to every BPMN element that was not refused by its own rule.
_COMMON_RULES: tuple[Callable[[_Element, _Checker], None], ...] = (
    _check_java_attributes,
    _check_engine_only_attributes,
    _check_references,
)


def _visit(node: _Element, checker: _Checker) -> bool:
    """Run the rules for one element; True means look inside it too."""
    namespace = etree.QName(node).namespace
    if namespace == BPMN_NS:
        if _check_compensation_handler(node, checker):
            return False
        rule = _BPMN_RULES.get(_local(node))
        if rule is not None and rule(node, checker):
            return False
        for common in _COMMON_RULES:
            common(node, checker)
        return True
    if namespace == CAMUNDA_NS:
        rule = _CAMUNDA_RULES.get(_local(node))
        return not (rule is not None and rule(node, checker))
    return True  # other vendors' extensions: ignored, but BPMN inside them is still checked


def _walk(process: _Element, checker: _Checker) -> None:
    stack = [process]
    while stack:
        node = stack.pop()
        if _visit(node, checker):
            stack.extend(reversed(list(_children(node))))


def executable_processes(root: _Element) -> Iterator[_Element]:
    for process in root.iterchildren(_b("process")):
        # Camunda Modeler writes "true"; the XSD boolean also allows "1".
        if (process.get("isExecutable") or "").strip().lower() in _TRUE:
            yield process


def check_definitions(
    tree: etree._ElementTree | _Element,
    filename: str,
    *,
    handler_topics: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Every deployability problem in a loaded BPMN file, ordered by line.

    Only executable processes are checked (others in a collaboration are documentation); ids are
    checked across the whole file. ``handler_topics`` are the topics served by in-process handlers;
    they are offered as the alternative when a script task is refused. Problems with severity
    ``"error"`` block deployment, ``"warning"`` ones do not.
    """
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    checker = _Checker(filename=filename, handler_topics=handler_topics, declared=_declared_ids(root))
    _check_duplicate_ids(root, checker)
    processes = list(executable_processes(root))
    if not processes:
        checker.add(root, NO_EXECUTABLE_PROCESS)
    for process in processes:
        _walk(process, checker)
    return sorted(checker.problems, key=lambda problem: problem.line or 0)
