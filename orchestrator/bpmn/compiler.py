"""From BPMN bytes to runnable specs, or to located problems: the one road in.

``lienthong validate``, ``lienthong deploy``, the Camunda deployment endpoint and the
start-up load of ``processes/`` all come through :func:`compile_resources`, so a diagram
that validates is exactly a diagram that deploys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from .checks import check_definitions, executable_processes
from .domain_lint import lint_procedure
from .expressions import check_syntax
from .extensions import BPMN_NS, CAMUNDA_NS, read_extensions
from .parser import WORKING_DURATION, LienthongParser
from .problems import DiagramRejected, Problem
from .xml import load_bpmn

_NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}


@dataclass(frozen=True)
class Resource:
    """One uploaded file."""

    name: str
    content: bytes

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class CompiledProcess:
    key: str
    name: str | None
    version_tag: str | None
    resource: Resource
    spec: Any
    subprocess_specs: dict[str, Any]
    properties: dict[str, Any]
    start_message: str | None
    # Content hashes of called processes resolved from earlier deployments: a changed
    # callee makes a new caller version, since the called spec is bound at deploy time.
    dependency_hashes: list[str] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256(self.resource.content_hash.encode())
        for dependency in sorted(self.dependency_hashes):
            digest.update(dependency.encode())
        return digest.hexdigest()


@dataclass
class Compilation:
    processes: list[CompiledProcess]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


# Returns the BPMN bytes of the newest deployed definition of a process key, if any.
DeployedLookup = Callable[[str], Resource | None]


def compile_resources(resources: Iterable[Resource], deployed: DeployedLookup | None = None) -> Compilation:
    """Check and parse a set of files deployed together; never raises for bad input."""
    problems: list[Problem] = []
    trees: list[tuple[Resource, Any]] = []
    for resource in resources:
        try:
            tree = load_bpmn(resource.content, resource.name)
        except DiagramRejected as rejected:
            problems.extend(rejected.problems)
            continue
        found = (
            check_definitions(tree, resource.name)
            + lint_procedure(tree, resource.name)
            + _expression_problems(tree, resource.name)
        )
        problems.extend(found)
        if not any(p.severity == "error" for p in found):
            trees.append((resource, tree))
    if any(p.severity == "error" for p in problems):
        return Compilation([], _ordered(problems))
    processes = _parse(trees, deployed, problems)
    return Compilation(
        processes if not any(p.severity == "error" for p in problems) else [], _ordered(problems)
    )


def _ordered(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line or 0))


def _parse(
    trees: list[tuple[Resource, Any]], deployed: DeployedLookup | None, problems: list[Problem]
) -> list:
    parser = LienthongParser()
    executable: list[tuple[Resource, Any]] = []
    for resource, tree in trees:
        try:
            parser.add_bpmn_xml(tree, resource.name)
        except ValidationException as error:
            problems.append(_problem_from(error, resource.name, tree))
            continue
        executable += [(resource, p) for p in executable_processes(tree.getroot())]
    dependency_hashes = _add_deployed_dependencies(parser, deployed, problems, trees)
    if any(p.severity == "error" for p in problems):
        return []  # a missing callee would only produce follow-on errors
    compiled: list[CompiledProcess] = []
    for resource, process in executable:
        key = process.get("id")
        try:
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
        except ValidationException as error:
            problems.append(_problem_from(error, resource.name, process.getroottree()))
            continue
        extensions = read_extensions(process)
        compiled.append(
            CompiledProcess(
                key=key,
                name=process.get("name"),
                version_tag=(extensions.get("camunda") or {}).get("versionTag"),
                resource=resource,
                spec=spec,
                subprocess_specs=subprocess_specs,
                properties=extensions,
                start_message=_start_message(spec),
                dependency_hashes=[dependency_hashes[k] for k in subprocess_specs if k in dependency_hashes],
            )
        )
    return compiled


def _add_deployed_dependencies(
    parser: LienthongParser,
    deployed: DeployedLookup | None,
    problems: list[Problem],
    trees: list[tuple[Resource, Any]],
) -> dict[str, str]:
    """Add called processes that are not in this deployment from the newest deployed version."""
    hashes: dict[str, str] = {}
    pending = set(parser.get_process_dependencies()) - set(parser.process_parsers)
    while pending:
        key = pending.pop()
        resource = deployed(key) if deployed else None
        if resource is None:
            problems.extend(_missing_callee(key, trees))
            continue
        parser.add_bpmn_xml(load_bpmn(resource.content, resource.name), resource.name)
        hashes[key] = resource.content_hash
        pending |= set(parser.get_process_dependencies()) - set(parser.process_parsers)
    return hashes


def _missing_callee(key: str, trees: list[tuple[Resource, Any]]) -> list[Problem]:
    """One problem per call activity that calls ``key``, located in its file."""
    message = (
        f"calls process '{key}', which is neither in this deployment nor deployed: "
        "deploy that process first, or in the same deployment"
    )
    return [
        _located(node, resource.name, message)
        for resource, tree in trees
        for node in tree.getroot().iterfind(".//bpmn:callActivity", _NS)
        if node.get("calledElement") == key
    ]


def _start_message(spec: Any) -> str | None:
    for task_spec in spec.task_specs.values():
        trigger = getattr(task_spec, "extensions", {}).get("start_trigger") or {}
        if trigger.get("kind") == "message":
            return trigger.get("message")
    return None


def _problem_from(error: ValidationException, filename: str, tree: Any) -> Problem:
    # SpiffWorkflow looks for a `line_number` attribute that lxml elements do not have.
    line = error.line_number if isinstance(error.line_number, int) else None
    if line is None and error.id:
        found = tree.getroot().xpath("//*[@id=$id]", id=error.id)
        line = found[0].sourceline if found else None
    message = str(error.args[0]) if error.args else str(error)
    return Problem(
        file=filename,
        line=line,
        element_id=error.id or None,
        element_name=error.name or None,
        message=message,
    )


# Expressions analysts type into the Modeler, checked now rather than when a dossier reaches them.
_EXPRESSION_PATHS = (
    ".//bpmn:conditionExpression",
    ".//bpmn:timeDate",
    ".//bpmn:timeDuration",
    ".//bpmn:timeCycle",
    ".//bpmn:condition",
)


def _expression_problems(tree: Any, filename: str) -> list[Problem]:
    problems: list[Problem] = []
    for path in _EXPRESSION_PATHS:
        for node in tree.getroot().iterfind(path, _NS):
            if _in_top_level_start(node):
                continue  # a process's start timer is not run here (the validator warns)
            text = (node.text or "").strip()
            if WORKING_DURATION.fullmatch(text):
                continue  # a working-time timer ("2wd"), armed on the business calendar
            error = check_syntax(text) if text else None
            if error:
                problems.append(_located(node, filename, f"expression '{text[:80]}' cannot be read: {error}"))
    for node in tree.getroot().iterfind(".//camunda:inputOutput/*", _NS):
        text = node.text or ""
        if ("${" in text or "#{" in text) and (error := check_syntax(text.strip())):
            problems.append(
                _located(node, filename, f"mapping '{text.strip()[:80]}' cannot be read: {error}")
            )
    return problems


def _in_top_level_start(node: Any) -> bool:
    event = node.getparent().getparent() if node.getparent() is not None else None
    return (
        event is not None
        and event.tag == f"{{{BPMN_NS}}}startEvent"
        and event.getparent() is not None
        and event.getparent().tag == f"{{{BPMN_NS}}}process"
    )


def _located(node: Any, filename: str, message: str) -> Problem:
    """A problem attached to the nearest enclosing element that has an id."""
    owner = node
    while owner is not None and owner.get("id") is None:
        owner = owner.getparent()
    return Problem.at(node, filename, message, owner=owner)
