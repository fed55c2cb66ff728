"""The Camunda-flavoured BPMN parser: SpiffWorkflow's CamundaParser, keeping everything.

Every element kind gets a parser class that stores all ``camunda:*`` attributes,
``camunda:properties``, input/output mappings and unknown extension XML on
``task_spec.extensions``.  External service and send tasks become :class:`ExternalTask`;
message events use the plain BPMN message definition (variables in, variables out, as
Camunda's ``POST /message`` does); multi-instance uses the standard BPMN classes fed from
``camunda:collection`` / ``camunda:elementVariable`` (the stock Camunda multi-instance
mutates the shared spec, SPIFFWORKFLOW.md trap 4).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.event_parsers import (
    BoundaryEventParser,
    EndEventParser,
    EventBasedGatewayParser,
    IntermediateCatchEventParser,
    IntermediateThrowEventParser,
    ReceiveTaskParser,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.task_parsers import (
    CallActivityParser,
    ConditionalGatewayParser,
    GatewayParser,
    SubWorkflowParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    CallActivity,
    EndEvent,
    EventBasedGateway,
    ExclusiveGateway,
    InclusiveGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    ManualTask,
    NoneTask,
    ParallelGateway,
    ReceiveTask,
    StartEvent,
    SubWorkflowTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import NSMAP, CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser
from SpiffWorkflow.camunda.specs.user_task import UserTask

from .extensions import read_extensions
from .specs import (
    ExternalTask,
    LenientConditionalEventDefinition,
    ParallelCollectionTask,
    SequentialCollectionTask,
)

# Working days or working hours, fractions allowed: "2wd", "0.5wd", "4wh" (see orchestrator/calendar).
WORKING_DURATION = re.compile(r"\d+(?:\.\d+)?w[dh]")
_BARE_NAME = re.compile(r"^\s*(?:[$#]\{\s*)?([A-Za-z][A-Za-z0-9_]*)\s*\}?\s*$")


class _KeepsExtensions:
    """Mixin: every parsed node keeps all of its Camunda extensions."""

    node: Any

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return read_extensions(node if node is not None else self.node)

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        self._add_camunda_collection_loop(loop_characteristics)  # type: ignore[attr-defined]


class _MultiInstanceFromCollection:
    """Multi-instance over ``camunda:collection`` with ``camunda:elementVariable``."""

    def _add_camunda_collection_loop(self, loop: Any) -> None:
        collection = loop.get(f"{{{NSMAP['camunda']}}}collection")
        element_var = loop.get(f"{{{NSMAP['camunda']}}}elementVariable")
        match = _BARE_NAME.match(collection or "")
        if match is None or not element_var:
            self.raise_validation_exception(  # type: ignore[attr-defined]
                "multi-instance needs camunda:collection naming a list variable and camunda:elementVariable"
            )
        sequential = loop.get("isSequential") == "true"
        original = self.spec.task_specs.pop(self.task.name)  # type: ignore[attr-defined]
        params = {
            "task_spec": "",
            "cardinality": None,
            "data_input": TaskDataReference(match.group(1)),
            "data_output": None,
            "input_item": TaskDataReference(element_var),
            "output_item": None,
            "condition": None,
        }
        cls = SequentialCollectionTask if sequential else ParallelCollectionTask
        self.task = cls(self.spec, original.name, **params)  # type: ignore[attr-defined]
        self._copy_task_attrs(original, loop)  # type: ignore[attr-defined]


class TaskWithExtensionsParser(_KeepsExtensions, _MultiInstanceFromCollection, TaskParser):
    pass


class ExternalTaskParser(TaskWithExtensionsParser):
    """Service and send tasks: only ``camunda:type="external"`` with a topic is executable here."""

    def create_task(self) -> ExternalTask:
        topic = self.attribute("topic", "camunda")
        if self.attribute("type", "camunda") != "external" or not topic:
            self.raise_validation_exception(
                "service and send tasks must be external tasks: set camunda:type=external and a topic"
            )
        return ExternalTask(
            self.spec,
            self.bpmn_id,
            topic=topic,
            priority=self.attribute("taskPriority", "camunda"),
            **self.bpmn_attributes,
        )


class CamundaUserTaskParser(_KeepsExtensions, _MultiInstanceFromCollection, UserTaskParser):
    pass


def _with_extensions(base: type) -> type:
    return type(f"Camunda{base.__name__}", (_KeepsExtensions, _MultiInstanceFromCollection, base), {})


class _CamundaEventRules:
    def parse_conditional_event(self, event: Any) -> LenientConditionalEventDefinition:
        definition = super().parse_conditional_event(event)  # type: ignore[misc]
        return LenientConditionalEventDefinition(definition.expression, description=definition.description)

    def parse_timer_event(self, event: Any) -> Any:
        """A working-time duration (``2wd``, ``0.5wd``, ``4wh``) counts on the business calendar.

        The diagram keeps what the analyst typed; the spec arms the timer at the instant the
        calendar gives (a time date), through the ``workingDue`` expression function.
        """
        duration = event.find(f"{{{NSMAP['bpmn']}}}timeDuration")
        text = (duration.text or "").strip() if duration is not None else ""
        if WORKING_DURATION.fullmatch(text):
            name = self.node.get("name", self.node.get("id"))  # type: ignore[attr-defined]
            return TimeDateEventDefinition(name, f"${{workingDue('{text}')}}", description="Timer")
        return super().parse_timer_event(event)  # type: ignore[misc]


def _event_parser(base: type) -> type:
    return type(f"Camunda{base.__name__}", (_KeepsExtensions, _CamundaEventRules, base), {})


class TopLevelStartEventParser(_event_parser(StartEventParser)):  # type: ignore[misc]
    """A process's own start event starts the instance whatever its trigger.

    Dossiers are started through the API (or ``POST /message`` for a message start);
    a Camunda timer start schedule (often a Quartz cron) is not run here, and the
    validator says so.  The original trigger is kept in ``extensions["start_trigger"]``.
    """

    def create_task(self) -> Any:
        if etree.QName(self.node.getparent()).localname != "process":
            return super().create_task()
        trigger = self._trigger()
        task = self._create_task(NoneEventDefinition(description="Default"))
        self.spec.start.connect(task)
        task.start_trigger = trigger
        return task

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions = super().parse_extensions(node)
        trigger = getattr(self.task, "start_trigger", None)
        if trigger:
            extensions["start_trigger"] = trigger
        return extensions

    def _trigger(self) -> dict[str, str] | None:
        message = self.xpath("./bpmn:messageEventDefinition")
        if message:
            ref = message[0].get("messageRef")
            return {"kind": "message", "message": self.process_parser.parser.messages.get(ref, ref or "")}
        if self.xpath("./bpmn:timerEventDefinition"):
            return {"kind": "timer"}
        return None


class LienthongParser(CamundaParser):
    """CamundaParser that loses nothing from Camunda Modeler diagrams."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        full_tag("userTask"): (CamundaUserTaskParser, UserTask),
        full_tag("manualTask"): (TaskWithExtensionsParser, ManualTask),
        full_tag("task"): (TaskWithExtensionsParser, NoneTask),
        full_tag("serviceTask"): (ExternalTaskParser, ExternalTask),
        full_tag("sendTask"): (ExternalTaskParser, ExternalTask),
        full_tag("receiveTask"): (_event_parser(ReceiveTaskParser), ReceiveTask),
        full_tag("startEvent"): (TopLevelStartEventParser, StartEvent),
        full_tag("endEvent"): (_event_parser(EndEventParser), EndEvent),
        full_tag("intermediateCatchEvent"): (
            _event_parser(IntermediateCatchEventParser),
            IntermediateCatchEvent,
        ),
        full_tag("intermediateThrowEvent"): (
            _event_parser(IntermediateThrowEventParser),
            IntermediateThrowEvent,
        ),
        full_tag("boundaryEvent"): (_event_parser(BoundaryEventParser), BoundaryEvent),
        full_tag("eventBasedGateway"): (_event_parser(EventBasedGatewayParser), EventBasedGateway),
        full_tag("exclusiveGateway"): (_with_extensions(ConditionalGatewayParser), ExclusiveGateway),
        full_tag("inclusiveGateway"): (_with_extensions(ConditionalGatewayParser), InclusiveGateway),
        full_tag("parallelGateway"): (_with_extensions(GatewayParser), ParallelGateway),
        full_tag("subProcess"): (_with_extensions(SubWorkflowParser), SubWorkflowTask),
        full_tag("callActivity"): (_with_extensions(CallActivityParser), CallActivity),
    }

    def __init__(self) -> None:
        super().__init__(namespaces=NSMAP)
