"""Which agency handles which topic, read from the diagrams the server runs.

An agency's system subscribes to its topics by name; the demo learns them from each
deployed diagram (``GET /engine-rest/process-definition/key/{key}/xml``): every external
step's ``camunda:topic`` and its ``agency`` extension property, and the BPMN error codes the
diagram declares (so a refusal is thrown as the diagram expects it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from ..bpmn.xml import load_bpmn
from .client import Client

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


@dataclass(frozen=True)
class Step:
    process_key: str
    topic: str
    agency: str | None  # None: the diagram names no agency (``lienthong agency map-topic``)
    error_codes: frozenset[str]  # every error code the step's diagram declares


def deployed_steps(client: Client, process_keys: Iterable[str]) -> list[Step]:
    """The external steps of the newest version of each process, in diagram order."""
    steps: list[Step] = []
    for key in process_keys:
        xml = client.get(f"/engine-rest/process-definition/key/{key}/xml")["bpmn20Xml"]
        steps.extend(steps_of(key, xml.encode()))
    return steps


def steps_of(process_key: str, xml: bytes) -> list[Step]:
    root = load_bpmn(xml, f"{process_key}.bpmn").getroot()
    error_codes = frozenset(
        code for error in root.iter(f"{BPMN}error") if (code := error.get("errorCode")) is not None
    )
    return [
        Step(process_key, topic, _agency(element), error_codes)
        for element in root.iter()
        if (topic := element.get(f"{CAMUNDA}topic"))
    ]


def by_agency(steps: Iterable[Step]) -> dict[str, dict[str, Step]]:
    """Agency -> topic -> step (a topic shared by several diagrams keeps its first step)."""
    agencies: dict[str, dict[str, Step]] = {}
    for step in steps:
        if step.agency is not None:
            agencies.setdefault(step.agency, {}).setdefault(step.topic, step)
    return agencies


def _agency(element: etree._Element) -> str | None:
    for prop in element.iter(f"{CAMUNDA}property"):
        value = prop.get("value")
        if prop.get("name") == "agency" and value:
            return value.strip()
    return None
