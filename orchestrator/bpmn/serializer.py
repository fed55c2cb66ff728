"""Serialize workflow state with the spec by reference, gzip-compressed.

An instance row stores only its task tree and data; the spec lives once per definition
version (ARCHITECTURE.md §4: halves size and time).  The script engine is not part of
the state, so :meth:`StateSerializer.restore` always attaches the safe one
(SPIFFWORKFLOW.md trap 5).
"""

from __future__ import annotations

import gzip
import json
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import UserTask as DefaultUserTask
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter, MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.task_spec import UserTaskConverter
from SpiffWorkflow.camunda.specs.user_task import UserTask

from .specs import (
    ExternalTask,
    LenientConditionalEventDefinition,
    ParallelCollectionTask,
    SequentialCollectionTask,
)

SERIALIZER_VERSION = f"spiff-{SPIFF_SERIALIZER_VERSION}"


class ExternalTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: ExternalTask) -> dict[str, Any]:
        dct = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        dct["priority"] = spec.priority
        return dct


class WorkflowByReferenceConverter(BpmnWorkflowConverter):
    """Leaves the specs out of the state; they are passed back in on restore."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        from uuid import UUID

        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _config() -> dict[type, type]:
    config = deepcopy(DEFAULT_CONFIG)
    config.pop(DefaultUserTask)
    config[UserTask] = UserTaskConverter
    config[ExternalTask] = ExternalTaskConverter
    config[LenientConditionalEventDefinition] = TimerConditionalEventDefinitionConverter
    config[SequentialCollectionTask] = MultiInstanceTaskConverter
    config[ParallelCollectionTask] = MultiInstanceTaskConverter
    config[BpmnWorkflow] = WorkflowByReferenceConverter
    return config


class StateSerializer:
    """Turns a running workflow into compressed bytes and back. One per thread (trap 7)."""

    version = SERIALIZER_VERSION

    def __init__(self) -> None:
        self._spiff = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config()))

    def dump(self, workflow: BpmnWorkflow) -> bytes:
        dct = self._spiff.to_dict(workflow)
        return gzip.compress(json.dumps(dct, cls=self._spiff._encoder_cls, separators=(",", ":")).encode(), 6)

    def restore(
        self, state: bytes, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any
    ) -> BpmnWorkflow:
        dct = json.loads(gzip.decompress(state))
        workflow = self._spiff.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
        workflow.script_engine = script_engine
        return workflow

    # Specs are stored once per definition version, so a restart needs no re-parse and a
    # running instance keeps exactly the spec it started with.
    def dump_specs(self, spec: Any, subprocess_specs: dict[str, Any]) -> bytes:
        dct = {
            "spec": self._spiff.to_dict(spec),
            "subprocess_specs": {name: self._spiff.to_dict(sub) for name, sub in subprocess_specs.items()},
        }
        return gzip.compress(json.dumps(dct, cls=self._spiff._encoder_cls, separators=(",", ":")).encode(), 6)

    def restore_specs(self, blob: bytes) -> tuple[Any, dict[str, Any]]:
        dct = json.loads(gzip.decompress(blob))
        spec = self._spiff.from_dict(dct["spec"])
        subs = {name: self._spiff.from_dict(sub) for name, sub in dct["subprocess_specs"].items()}
        return spec, subs
