"""Tiny BPMN documents for tests: wrap flow elements in a valid Camunda Modeler envelope."""

from __future__ import annotations

import itertools

from orchestrator.bpmn.compiler import Resource

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)


def definitions(body: str, *, process_id: str = "p", name: str = "Test", extra: str = "") -> str:
    return (
        f'{HEADER}{extra}<bpmn:process id="{process_id}" name="{name}" isExecutable="true">\n'
        f"{body}\n</bpmn:process>\n</bpmn:definitions>\n"
    )


def resource(body: str, *, process_id: str = "p", extra: str = "", filename: str | None = None) -> Resource:
    xml = definitions(body, process_id=process_id, extra=extra)
    return Resource(filename or f"{process_id}.bpmn", xml.encode())


def external(
    task_id: str, topic: str, *, name: str | None = None, extra_attrs: str = "", inner: str = ""
) -> str:
    label = f' name="{name}"' if name else ""
    return (
        f'<bpmn:serviceTask id="{task_id}"{label} camunda:type="external" camunda:topic="{topic}"'
        f" {extra_attrs}>{inner}</bpmn:serviceTask>"
    )


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        f"</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def chain(*element_ids: str) -> str:
    """Sequence flows linking the ids in order."""
    return "\n".join(flow(f"f_{a}_{b}", a, b) for a, b in itertools.pairwise(element_ids))


def two_step(topic_a: str = "police", topic_b: str = "insurance", process_id: str = "p") -> Resource:
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            external("a", topic_a, name="Step A"),
            external("b", topic_b, name="Step B"),
            '<bpmn:endEvent id="end" />',
            chain("start", "a", "b", "end"),
        ]
    )
    return resource(body, process_id=process_id)
