"""The steps of a BPMN file by id and name: for choosing one in a form, and for naming one in a table."""

from __future__ import annotations

from dataclasses import dataclass

from .interchange import ACTIVITIES, read_model

__all__ = ["Step", "step_names", "token_targets"]

# Where an admin may start a dossier again: activities and the events a token waits at.
# Start, boundary and end events are refused by the move itself, so they are not offered.
_TARGET_KINDS = ACTIVITIES | {"intermediateCatchEvent", "intermediateThrowEvent"}


@dataclass(frozen=True)
class Step:
    id: str
    name: str  # empty when the modeller gave none


def step_names(xml: bytes) -> dict[str, str]:
    """Every named flow element's name by id (tasks, events, gateways, sub-processes)."""
    return {element.id: element.name for element in read_model(xml).elements.values() if element.name}


def token_targets(xml: bytes) -> list[Step]:
    """The activities and intermediate events of the file, in document order."""
    return [
        Step(element.id, element.name)
        for element in read_model(xml).elements.values()
        if element.kind in _TARGET_KINDS
    ]
