"""Camunda output parameters: evaluated when a task completes, written into its data."""

from __future__ import annotations

from typing import Any

from ..bpmn.mappings import evaluate_parameters
from ..bpmn.specs import LOCAL_VARIABLES


def apply_outputs(task: Any, environment: Any) -> None:
    outputs = (getattr(task.task_spec, "extensions", {}) or {}).get("outputs") or []
    if not outputs:
        return
    scope = {**task.data, **task.internal_data.get(LOCAL_VARIABLES, {})}
    task.data.update(evaluate_parameters(outputs, scope, environment))
