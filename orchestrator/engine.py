"""The one step: lock -> load -> act -> advance -> save -> project -> enqueue, one transaction.

Every change to an instance (start, an agency's completion, a timer, a message, an admin
action) goes through :meth:`Engine.step`.  No network I/O happens inside: handlers run
from the outbox after commit (ARCHITECTURE.md §4).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from .bpmn.expression_functions import DEFAULT_FUNCTIONS
from .bpmn.expressions import ExpressionError
from .bpmn.script_engine import SafeScriptEngine
from .bpmn.serializer import StateSerializer
from .calendar import BusinessCalendar
from .clock import utcnow
from .config import Settings
from .deadlines.calendar_source import CalendarSource
from .deadlines.tracking import track_deadlines
from .dossiers.follow import follow_dossier
from .errors import Conflict, NotFound, StepFailed
from .handler_sdk import HandlerRegistry
from .projection import project
from .spec_cache import LoadedSpec, SpecCache
from .store.db import Database
from .store.history import append_events
from .store.models import ExternalTaskRow, ProcessDefinition, ProcessInstance
from .timers import advance
from .topic_map import TopicMap

T = TypeVar("T")


@dataclass
class StepContext:
    """What an action sees: the locked row, its live workflow, the step's clock and actor."""

    session: Session
    instance: ProcessInstance
    workflow: BpmnWorkflow
    now: datetime
    actor: str | None
    settings: Settings
    calendar: BusinessCalendar
    topic_map: TopicMap = field(default_factory=TopicMap)
    properties: dict[str, str] = field(default_factory=dict)  # the process's camunda:properties
    started: bool = False  # this step created the instance
    history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def record(self, type_: str, **fields: Any) -> None:
        """Queue a history event; it is written with the step, or not at all."""
        self.history.append((type_, fields))


class Engine:
    def __init__(self, db: Database, settings: Settings, handlers: HandlerRegistry) -> None:
        self.db = db
        self.settings = settings
        self.handlers = handlers
        self._local = threading.local()
        self.specs = SpecCache(db, self.serializer)
        self.calendars = CalendarSource(db)
        self.topic_map = TopicMap()
        # Stateless, so one is shared; it is re-attached after every load (trap 5).
        self.script_engine = SafeScriptEngine(
            functions={**DEFAULT_FUNCTIONS, "workingDue": self._working_due}
        )

    def _working_due(self, duration: str, agency: str | None = None) -> str:
        """``${workingDue('2wd')}``: a timer due counted on the working-day calendar from now."""
        return self.calendars.get().add(utcnow(), duration, agency=agency).isoformat()

    def serializer(self) -> StateSerializer:
        """This thread's serializer (SpiffWorkflow's registry is not thread-safe)."""
        serializer = getattr(self._local, "serializer", None)
        if serializer is None:
            serializer = self._local.serializer = StateSerializer()
        return serializer

    # -- creating -----------------------------------------------------------------------

    def start(
        self,
        definition: ProcessDefinition,
        *,
        business_key: str | Callable[[Session, datetime], str] | None,
        variables: dict[str, Any],
        actor: str | None,
        within: Callable[[Session, ProcessInstance], None] | None = None,
    ) -> ProcessInstance:
        """Create and run a new instance up to its first wait state, in one transaction.

        ``business_key`` may be a function that reserves it inside that transaction (a dossier
        code from its daily sequence), so the first task rows and history already carry it.
        ``within`` runs last inside that transaction (e.g. to store an idempotent answer
        that must commit with the instance, or not at all).
        """
        loaded = self.specs.get(definition.id)
        workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
        workflow.data.update(variables)
        # Variables go on the start task so they flow down the task tree like any data.
        workflow.task_tree.data.update(variables)
        now = utcnow()
        with self.db.write() as session:
            if callable(business_key):
                business_key = business_key(session, now)
            instance = ProcessInstance(
                id=str(uuid.uuid4()),
                definition_id=definition.id,
                process_key=definition.key,
                business_key=business_key,
                status="running",
                version=0,
                state=b"",
                serializer_version=StateSerializer.version,
                variables={},
                current_activities=[],
                created_at=now,
                updated_at=now,
            )
            session.add(instance)
            session.flush()  # the row must exist before projection rows reference it
            context = self._context(session, instance, workflow, loaded, now, actor)
            context.started = True
            context.record("instance_started", data={"business_key": business_key})
            self._finish(context)
            if within is not None:
                within(session, instance)
        return instance

    # -- changing -----------------------------------------------------------------------

    def step(
        self,
        instance_id: str,
        act: Callable[[StepContext], T],
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> T:
        """Apply ``act`` to one instance under its lock and persist everything it caused."""
        with self.db.write() as session:
            instance = self.lock_instance(session, instance_id)
            return self.step_locked(session, instance, act, actor=actor, expected_version=expected_version)

    def step_for_task(
        self,
        task_id: str,
        act: Callable[[StepContext], T],
        *,
        actor: str | None = None,
        task_filter: ColumnElement[bool] | None = None,
    ) -> T:
        """The step for the instance owning an external task, found inside the same transaction.

        ``task_filter`` narrows which task rows count (e.g. the caller's agency): a row it
        excludes is "does not exist", before any check could confirm that the task exists.
        """
        with self.db.write() as session:
            # One statement finds and locks the owning instance (the task row itself is not locked).
            instance = session.scalars(
                select(ProcessInstance)
                .join(ExternalTaskRow, ExternalTaskRow.instance_id == ProcessInstance.id)
                .where(ExternalTaskRow.id == task_id, *([] if task_filter is None else [task_filter]))
                .with_for_update(of=ProcessInstance)
            ).first()
            if instance is None:
                raise NotFound(f"external task '{task_id}' does not exist")
            return self.step_locked(session, instance, act, actor=actor)

    @staticmethod
    def lock_instance(session: Session, instance_id: str) -> ProcessInstance:
        """The instance row, locked: every change to a dossier takes this lock first."""
        instance = session.execute(
            select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
        ).scalar_one_or_none()
        if instance is None:
            raise NotFound(f"process instance '{instance_id}' does not exist")
        return instance

    def step_locked(
        self,
        session: Session,
        instance: ProcessInstance,
        act: Callable[[StepContext], T],
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> T:
        """The step for a row the caller already locked (the timer sweep claims it first)."""
        if expected_version is not None and instance.version != expected_version:
            raise Conflict(
                f"process instance changed meanwhile (version {instance.version}, "
                f"expected {expected_version})"
            )
        if instance.status != "running":
            raise Conflict(f"process instance is {instance.status}")
        loaded = self.specs.get(instance.definition_id)
        workflow = self.load(instance)
        context = self._context(session, instance, workflow, loaded, utcnow(), actor)
        try:
            result = act(context)
        except (SpiffWorkflowException, ExpressionError) as error:
            raise StepFailed(_safe_reason(error)) from error
        self._finish(context)
        return result

    def load(self, instance: ProcessInstance) -> BpmnWorkflow:
        """The live workflow of an instance row, for reading (changes go through ``step``)."""
        loaded = self.specs.get(instance.definition_id)
        return self.serializer().restore(
            instance.state, loaded.spec, loaded.subprocess_specs, self.script_engine
        )

    def _context(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        loaded: LoadedSpec,
        now: datetime,
        actor: str | None,
    ) -> StepContext:
        return StepContext(
            session,
            instance,
            workflow,
            now,
            actor,
            self.settings,
            self.calendars.get(),
            self.topic_map,
            loaded.properties,
        )

    def _finish(self, context: StepContext) -> None:
        try:
            advance(context)
        except (SpiffWorkflowException, ExpressionError) as error:
            # The transaction rolls back: nothing of this step is kept, the caller is told why.
            raise StepFailed(_safe_reason(error)) from error
        instance = context.instance
        instance.state = self.serializer().dump(context.workflow)
        instance.serializer_version = StateSerializer.version
        instance.version += 1
        instance.updated_at = context.now
        # No autoflush: the instance row is written once, at commit, with its last event hash.
        with context.session.no_autoflush:
            track_deadlines(context, project(context, self.handlers.topics()))
            follow_dossier(context)  # the dossier's state and portal outbox follow the process
            append_events(context.session, instance, context.history, at=context.now, actor=context.actor)


def _safe_reason(error: Exception) -> str:
    """A failure description without task data: expression errors name expressions, not values."""
    if isinstance(error, ExpressionError):
        return str(error)
    task = getattr(error, "task", None)
    where = f" at '{task.task_spec.bpmn_id}'" if task is not None and task.task_spec.bpmn_id else ""
    # SpiffWorkflow wraps the original error without `from`, so it sits in __context__.
    inner = error.__cause__ or error.__context__
    detail = (
        str(inner)
        if isinstance(inner, ExpressionError)
        else getattr(error, "error_type", type(error).__name__)
    )
    return f"the diagram could not advance{where}: {detail}"
