"""Deploying: versions, deduplication, storage by reference, and refusals that store nothing."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import func, select

from orchestrator.bpmn.compiler import Resource
from orchestrator.errors import DeploymentRefused, NotFound
from orchestrator.services import definitions, external_tasks, instances
from orchestrator.store.models import ProcessDefinition, ProcessInstance

from .bpmn_builder import chain, external, resource, two_step


def _count(engine, model) -> int:
    with engine.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_same_content_makes_no_new_version(engine):
    first = definitions.deploy(engine, [two_step()])
    again = definitions.deploy(engine, [two_step()])
    assert [d.version for d in first.definitions] == [1]
    assert again.definitions == [] and [d.version for d in again.unchanged] == [1]
    assert _count(engine, ProcessDefinition) == 1


def test_changed_content_is_a_new_version_and_running_instances_keep_theirs(engine):
    definitions.deploy(engine, [two_step()])
    old = instances.start_instance(engine, "p", business_key="OLD")
    definitions.deploy(engine, [two_step(topic_b="tax")])
    new = instances.start_instance(engine, "p", business_key="NEW")
    assert old.definition_id.startswith("p:1:") and new.definition_id.startswith("p:2:")

    external_tasks.complete_external_task(engine, old.current_activities[0]["task_id"])
    view = instances.get_instance(engine, old.id)
    with engine.db.read() as session:
        topics = dict(
            session.execute(select(ProcessInstance.business_key, ProcessInstance.definition_id)).all()
        )
    assert topics["OLD"] == old.definition_id
    assert view.current_activities[0]["id"] == "b"
    from orchestrator.store.models import ExternalTaskRow

    with engine.db.read() as session:
        row = session.scalars(select(ExternalTaskRow).where(ExternalTaskRow.instance_id == old.id)).one()
    assert row.topic == "insurance"  # version 1's topic, not version 2's "tax"


def test_instance_state_is_compressed_and_references_the_spec(engine):
    definitions.deploy(engine, [two_step()])
    started = instances.start_instance(engine, "p")
    with engine.db.read() as session:
        row = session.get(ProcessInstance, started.id)
        definition = session.get(ProcessDefinition, started.definition_id)
    state = json.loads(gzip.decompress(row.state))
    assert "spec" not in state and "subprocess_specs" not in state
    assert row.serializer_version == "spiff-1.5"
    assert json.loads(gzip.decompress(definition.spec_state))["spec"]["name"] == "p"


def test_spec_is_parsed_once_and_cached(engine, monkeypatch):
    definitions.deploy(engine, [two_step()])
    engine.specs._entries.clear()
    calls = []
    original = engine.specs._load
    monkeypatch.setattr(
        engine.specs, "_load", lambda definition_id: calls.append(definition_id) or original(definition_id)
    )
    started = instances.start_instance(engine, "p")
    external_tasks.complete_external_task(engine, started.current_activities[0]["task_id"])
    instances.start_instance(engine, "p")
    assert calls == [started.definition_id]


def test_unknown_process_key_is_not_found(engine):
    with pytest.raises(NotFound):
        instances.start_instance(engine, "nope")


XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">' for i in range(1, 10))
    + ']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</bpmn:definitions>'
)

BAD_INPUTS = {
    "malformed": b"<bpmn:definitions><unclosed>",
    "xxe": XXE.encode(),
    "billion-laughs": LAUGHS.encode(),
    "50MB": b"<x>" + b" " * (50 * 1024 * 1024) + b"</x>",
    "duplicate-ids": resource(
        '<bpmn:startEvent id="s" />' + external("s", "t") + '<bpmn:endEvent id="e" />' + chain("s", "e")
    ).content,
    "dangling-flow": resource(
        '<bpmn:startEvent id="s" /><bpmn:endEvent id="e" />'
        '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="ghost" />'
    ).content,
    "no-topic": resource(
        '<bpmn:startEvent id="s" /><bpmn:serviceTask id="t" camunda:type="external" />'
        '<bpmn:endEvent id="e" />' + chain("s", "t", "e")
    ).content,
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_diagrams_are_refused_and_nothing_is_stored(engine, case):
    with pytest.raises(DeploymentRefused) as refused:
        definitions.deploy(engine, [Resource(f"{case}.bpmn", BAD_INPUTS[case])])
    assert refused.value.problems, "a refusal names at least one problem"
    assert all(p.file == f"{case}.bpmn" for p in refused.value.problems)
    assert "root:" not in " ".join(p.message for p in refused.value.problems)  # /etc/passwd never leaks
    assert _count(engine, ProcessDefinition) == 0


def test_one_bad_file_refuses_the_whole_deployment(engine):
    with pytest.raises(DeploymentRefused):
        definitions.deploy(engine, [two_step(), Resource("bad.bpmn", b"<oops")])
    assert _count(engine, ProcessDefinition) == 0


@pytest.mark.parametrize("value", [{1, 2}, object(), float("nan"), b"bytes"])
def test_unsupported_variable_types_are_refused(engine, value):
    from orchestrator.errors import InvalidInput

    definitions.deploy(engine, [two_step()])
    with pytest.raises(InvalidInput, match="variable 'v'"):
        instances.start_instance(engine, "p", variables={"v": value})
    assert _count(engine, ProcessInstance) == 0
