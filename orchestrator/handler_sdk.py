"""What ``handlers/`` may import: register a function for a topic, read its call, raise errors.

A handler runs from the outbox after the step that reached its task has committed,
outside any lock; what it returns completes the task through the same path an agency
uses.  Delivery is at least once, so a handler must be idempotent: use
``call.idempotency_key`` (instance id + task id) for any outside effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

HandlerResult = Mapping[str, Any] | None
Handler = Callable[["HandlerCall"], HandlerResult]


@dataclass(frozen=True)
class HandlerCall:
    instance_id: str
    task_id: str
    topic: str
    activity_id: str
    business_key: str | None
    variables: Mapping[str, Any]
    local_variables: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1

    @property
    def idempotency_key(self) -> str:
        return f"{self.instance_id}:{self.task_id}"


class HandlerBpmnError(Exception):
    """Raise to throw a BPMN error at the task (caught only by that task's boundary events)."""

    def __init__(self, code: str, message: str = "", variables: Mapping[str, Any] | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.variables = dict(variables or {})


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, topic: str) -> Callable[[Handler], Handler]:
        """Decorator: ``@registry.register("topic")``. One handler per topic."""

        def decorate(function: Handler) -> Handler:
            existing = self._handlers.get(topic)
            if existing is not None and existing is not function:
                raise ValueError(f"topic '{topic}' already has a handler: {existing.__qualname__}")
            self._handlers[topic] = function
            return function

        return decorate

    def get(self, topic: str) -> Handler | None:
        return self._handlers.get(topic)

    def topics(self) -> frozenset[str]:
        return frozenset(self._handlers)


# The process-wide registry that ``handlers/`` fills at import time.
registry = HandlerRegistry()
handler = registry.register
