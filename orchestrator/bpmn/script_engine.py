"""SpiffWorkflow glue: a script environment and engine that evaluate safe expressions only.

The engine is not serialized with a workflow, so it is re-attached after every load
(SPIFFWORKFLOW.md trap 5); the environment is replaced too, because message correlation
calls ``environment.evaluate`` directly (trap 6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .expression_functions import DEFAULT_FUNCTIONS
from .expressions import ExpressionError, check_syntax, evaluate


def _for_spiff(value: Any) -> Any:
    """SpiffWorkflow's timers parse ISO text, so dates and durations are handed over as text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _iso_duration(value)
    return value


def _iso_duration(value: timedelta) -> str:
    if value < timedelta(0):
        raise ExpressionError("a negative duration cannot be used as a timer value")
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"P{value.days}D"
    if hours or minutes or seconds or value.microseconds:
        text += f"T{hours}H{minutes}M{seconds}"
        text += f".{value.microseconds:06d}".rstrip("0") + "S" if value.microseconds else "S"
    return text


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates safe expressions and runs no scripts."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__()
        self.functions: dict[str, Callable[..., Any]] = {**DEFAULT_FUNCTIONS, **(functions or {})}

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Any = None) -> Any:
        """Evaluate with task data over the external context (data objects); dates become ISO text."""
        variables = {**(external_context or {}), **context}
        return _for_spiff(evaluate(expression, variables, self.functions))

    def execute(self, script: str, context: Any, external_context: Any = None) -> Any:
        raise ExpressionError("scripts are not supported: use expressions and external tasks instead")

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ExpressionError("scripts are not supported: service calls are external tasks")


class SafeScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose expressions go through the safe evaluator (no eval/exec)."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__(environment=SafeEnvironment(functions))

    def validate(self, expression: str) -> None:
        """Raise ExpressionError for text that does not parse (instead of ``ast.parse``)."""
        problem = check_syntax(expression)
        if problem is not None:
            raise ExpressionError(problem)
