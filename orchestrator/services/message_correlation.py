"""Camunda's message correlation: to a waiting instance, or else a message start event.

Camunda first looks for executions waiting for the message (narrowed by business key,
instance id, correlation keys and tenant); with none, it starts the process whose start
event waits for that message.  ``all`` delivers to every waiting instance and also starts
one new instance when a definition listens.  Each delivery is its own engine step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..engine import Engine
from ..errors import Conflict, InvalidInput
from ..store.models import Deployment, ProcessDefinition, ProcessInstance
from .camunda_queries import definitions_started_by
from .definitions import start_definition_by_id
from .instances import correlate_message
from .variables import check_variables

EXECUTION = "Execution"
PROCESS_DEFINITION = "ProcessDefinition"


class MismatchingCorrelation(InvalidInput):
    """Camunda's ``MismatchingMessageCorrelationException`` (HTTP 400)."""


@dataclass(frozen=True)
class MessageRequest:
    name: str
    business_key: str | None = None
    instance_id: str | None = None
    correlation_keys: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None
    without_tenant_id: bool = False
    start_messages_only: bool = False
    all: bool = False


@dataclass(frozen=True)
class Correlation:
    result_type: str  # EXECUTION (a waiting instance got it) or PROCESS_DEFINITION (a new one)
    instance_id: str


def correlate(engine: Engine, request: MessageRequest, *, actor: str | None = None) -> list[Correlation]:
    """Deliver the message; at least one correlation, or :class:`MismatchingCorrelation`."""
    if not request.name:
        raise InvalidInput("messageName is required")
    variables = check_variables(request.variables)
    waiting = [] if request.start_messages_only else waiting_instances(engine, request)
    if len(waiting) > 1 and not request.all:
        raise MismatchingCorrelation(
            f"Cannot correlate a message '{request.name}' to a single execution. "
            f"{len(waiting)} executions match the correlation keys"
        )
    results: list[Correlation] = []
    for instance_id in waiting:
        try:
            correlate_message(engine, request.name, instance_id=instance_id, variables=variables, actor=actor)
        except Conflict:
            continue  # it stopped waiting meanwhile (another message, a timer): not a match any more
        results.append(Correlation(EXECUTION, instance_id))
    if request.instance_id is None and (request.all or not results):
        started = _start_by_message(engine, request, variables, actor)
        if started is not None:
            results.append(started)
    if not results:
        raise MismatchingCorrelation(
            f"Cannot correlate message '{request.name}': "
            "No process definition or execution matches the parameters"
        )
    return results


def waiting_instances(engine: Engine, request: MessageRequest) -> list[str]:
    """Ids of running instances that wait for the message now and match the request."""
    listening = _definitions_catching(engine, request.name)
    if not listening:
        return []
    statement = (
        select(ProcessInstance)
        .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
        .join(Deployment, ProcessDefinition.deployment_id == Deployment.id)
        .where(ProcessInstance.status == "running", ProcessInstance.definition_id.in_(listening))
        .order_by(ProcessInstance.created_at, ProcessInstance.id)
    )
    if request.instance_id is not None:
        statement = statement.where(ProcessInstance.id == request.instance_id)
    if request.business_key is not None:
        statement = statement.where(ProcessInstance.business_key == request.business_key)
    if request.without_tenant_id:
        statement = statement.where(Deployment.tenant_id.is_(None))
    elif request.tenant_id is not None:
        statement = statement.where(Deployment.tenant_id == request.tenant_id)
    with engine.db.read() as session:
        rows = list(session.scalars(statement))
    event = BpmnEvent(MessageEventDefinition(request.name))
    return [
        row.id
        for row in rows
        if _keys_match(row.variables or {}, request.correlation_keys) and _waits_for(engine, row, event)
    ]


def _definitions_catching(engine: Engine, message_name: str) -> list[str]:
    """Definitions of running instances with any element catching this message.

    Checked on the cached specs so that only instances that could wait are loaded.
    """
    with engine.db.read() as session:
        running = list(
            session.scalars(
                select(ProcessInstance.definition_id).where(ProcessInstance.status == "running").distinct()
            )
        )
    return [definition_id for definition_id in running if _catches(engine, definition_id, message_name)]


def _catches(engine: Engine, definition_id: str, message_name: str) -> bool:
    loaded = engine.specs.get(definition_id)
    return any(
        message_name in _message_names(getattr(task_spec, "event_definition", None))
        for spec in (loaded.spec, *loaded.subprocess_specs.values())
        for task_spec in spec.task_specs.values()
    )


def _message_names(definition: Any) -> set[str]:
    """Messages an event definition catches, looking inside combined definitions.

    SpiffWorkflow moves the catch events after an event-based gateway into the gateway's
    own ``MultipleEventDefinition``: the gateway, not the catch event, is what waits.
    """
    if isinstance(definition, MessageEventDefinition):
        return {definition.name}
    inner = getattr(definition, "event_definitions", None) or ()
    return {name for item in inner for name in _message_names(item)}


def _keys_match(variables: dict[str, Any], keys: dict[str, Any]) -> bool:
    return all(name in variables and variables[name] == value for name, value in keys.items())


def _waits_for(engine: Engine, row: ProcessInstance, event: BpmnEvent) -> bool:
    workflow = engine.load(row)
    return any(
        getattr(task.task_spec, "event_definition", None) is not None
        and task.task_spec.event_definition.catches(task, event)
        for task in workflow.get_tasks(state=TaskState.WAITING)
    )


def _start_by_message(
    engine: Engine, request: MessageRequest, variables: dict[str, Any], actor: str | None
) -> Correlation | None:
    candidates = definitions_started_by(
        engine.db, request.name, tenant_id=request.tenant_id, without_tenant_id=request.without_tenant_id
    )
    if not candidates:
        return None
    instance = start_definition_by_id(
        engine, candidates[0].id, business_key=request.business_key, variables=variables, actor=actor
    )
    return Correlation(PROCESS_DEFINITION, instance.id)
