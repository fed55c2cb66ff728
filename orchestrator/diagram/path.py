"""The path a dossier took, inferred where the history is silent.

The history records the steps that wait (user and external tasks, timers), not the gateways,
plain events and script tasks the engine passes in the same step, and it records no sequence
flow ids at all. So the path is inferred from the diagram: a silent element counts as passed
when it lies on a chain of flows from a start event to a recorded step, through silent or
recorded elements only; a flow counts as taken when both its ends were passed (or its target is
where the dossier is now). A silent element on an untaken branch that rejoins the path before a
recorded step is also marked: the history cannot tell the two branches apart. Catch events
(messages, signals, conditions) are wait states the history does not name, so they are never
inferred: a dossier that went round a supplement loop shows the loop's catch event unmarked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .interchange import Element

__all__ = ["TakenPath", "infer_path"]

# Elements whose passing the history records (user and external tasks; timers when they fire).
_RECORDED = frozenset({"userTask", "serviceTask", "sendTask", "businessRuleTask", "receiveTask"})
# Wait states the history names no activity for (a correlated message): passed only if recorded,
# or a loop back through "waiting for the citizen's supplement" would always look taken.
_WAITING = frozenset({"intermediateCatchEvent", "boundaryEvent"})


def _silent(element: Element) -> bool:
    return element.kind not in _RECORDED | _WAITING and "timer" not in element.event_definitions


@dataclass(frozen=True)
class TakenPath:
    elements: frozenset[str]  # passed: recorded steps and the silent elements between them
    flows: frozenset[str]  # sequence flows taken


def infer_path(elements: Mapping[str, Element], recorded: Iterable[str], current: Iterable[str]) -> TakenPath:
    """The elements passed (recorded ones plus inferred silent ones) and the sequence flows taken."""
    recorded, current = frozenset(recorded), frozenset(current)
    reached = recorded | current
    successors: dict[str, set[str]] = defaultdict(set)
    predecessors: dict[str, set[str]] = defaultdict(set)
    for element in elements.values():
        if element.kind == "sequenceFlow" and element.source and element.target:
            successors[element.source].add(element.target)
            predecessors[element.target].add(element.source)
        elif element.kind == "boundaryEvent" and element.attached_to:
            successors[element.attached_to].add(element.id)
            predecessors[element.id].add(element.attached_to)

    def passable(element_id: str) -> bool:
        element = elements.get(element_id)
        return element_id in reached or (element is not None and _silent(element))

    starts = [e.id for e in elements.values() if e.kind == "startEvent" and passable(e.id)]
    forward = _walk(starts, successors, passable)
    backward = _walk([e for e in reached if e in elements], predecessors, passable)
    passed = recorded | frozenset(
        element_id for element_id in forward & backward if element_id not in reached and passable(element_id)
    )
    taken = frozenset(
        element.id
        for element in elements.values()
        if element.kind == "sequenceFlow" and element.source in passed and element.target in passed | current
    )
    return TakenPath(passed, taken)


def _walk(starts: Iterable[str], edges: Mapping[str, set[str]], passable: Callable[[str], bool]) -> set[str]:
    seen = set(starts)
    stack = list(seen)
    while stack:
        for following in edges.get(stack.pop(), ()):
            if following not in seen and passable(following):
                seen.add(following)
                stack.append(following)
    return seen
