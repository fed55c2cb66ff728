"""Statutory-deadline lint: the liên thông vocabulary of budgets, agencies and clock pauses.

Analysts write deadlines into the diagram in Camunda Modeler (the element templates in
``processes/.camunda/element-templates/`` give them labelled fields); this module checks what
they wrote, located (file, line, element id and name) and with what to do.  Vocabulary, all
``camunda:properties`` (the names the runtime reads):

* process: ``budget`` (whole-dossier statutory duration, e.g. ``3wd``), ``cutoff`` (``HH:MM``),
  ``warnBefore`` (e.g. ``1wd``), ``maTTHC``, ``coQuanChuTri``;
* step (external service/send task): ``agency``, ``budget``, ``stopsClock`` and ``returnsResult``
  (``true``/``false``);
* end event: ``outcome`` = ``refused`` | ``stopped`` (unset: the dossier ends with a result);
* waiting for the applicant (catch event, receive task, event-based gateway): ``pauseClock`` =
  ``supplement`` | ``financial_obligation``;
* boundary/intermediate timers: ``timeDuration`` may be a working duration (``2wd``, ``4wh``).

Durations are read by :func:`orchestrator.calendar.parse_duration`.

**Which processes are checked.**  A process is a *statutory procedure* when it declares a
process property ``budget``.  Only statutory procedures get the step rules (missing agency or
budget, unreadable budget or ``warnBefore``, the path sum): Camunda's own examples and other
generic diagrams declare no budget and must deploy without a flood of warnings.  Two rules hold
in every executable process because they only fire on this vocabulary: an unknown ``pauseClock``,
``stopsClock``, ``returnsResult`` or ``outcome`` value, and a timer that looks like a working
duration but is malformed (e.g. ``2 wd``, ``2wdd``).  In a process without ``budget``, an
unreadable step budget is a warning and ``cutoff``/``warnBefore`` get a warning that they do
nothing.

**The path rule.**  Step budgets must fit in the procedure's budget along every path a dossier
can take, not in total:

* the sum is taken along paths from a start event; the check uses the longest one;
* parallel branches count once (the longest branch), exclusive alternatives count their longest
  alternative (both fall out of the longest path; gateway kinds do not matter);
* loops are ignored: a sequence flow that goes back to a node already on the path (a back edge
  found by depth-first search from the start events, e.g. "supplement, then check again") is
  not followed;
* a path ends at an end event or after a step with ``stopsClock=true``: its completion ends
  processing (national status 9), so steps after it (returning the result) do not count;
* steps inside an embedded sub-process count on the path through the sub-process; a ``budget``
  on the sub-process itself is an alternative to its inside (whichever is longer counts);
* a branch leaving a boundary event counts after its host's whole budget (an upper bound:
  the event fires at the latest when the host ends);
* any activity's ``budget`` counts (a call activity's budget stands for the called process);
  activities without a budget count zero;
* ``wd`` and ``wh`` are working time and add up at 8 working hours per day; a calendar-day
  budget (``3d``, ``P3D``) on the process or on a step cannot be compared with working time,
  so the check is skipped with a warning ("cannot compare"), unless the process and every
  step are in calendar days (sector laws such as construction permits): then the days add up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from orchestrator.calendar import Duration, parse_duration

from .checks import BPMN_NS, CAMUNDA_NS, executable_processes
from .parser import WORKING_DURATION  # the timer values the runtime arms on the business calendar
from .problems import Problem

__all__ = [
    "END_PROPERTIES",
    "OUTCOMES",
    "PAUSE_REASONS",
    "PROCESS_PROPERTIES",
    "STEP_PROPERTIES",
    "WAIT_PROPERTIES",
    "lint_procedure",
]

PROCESS_PROPERTIES = ("budget", "cutoff", "warnBefore", "maTTHC", "coQuanChuTri")
STEP_PROPERTIES = ("agency", "budget", "stopsClock", "returnsResult")
WAIT_PROPERTIES = ("pauseClock",)
END_PROPERTIES = ("outcome",)
PAUSE_REASONS = ("supplement", "financial_obligation")
OUTCOMES = ("refused", "stopped")

_Element = etree._Element

_ACTIVITIES = frozenset(
    {
        "task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "scriptTask",
        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    }
)  # fmt: skip
_FLOW_NODES = _ACTIVITIES | {
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
}  # fmt: skip
# Where a dossier waits: after an event-based gateway the gateway itself is the waiting task
# (its catch events only arm), so that is where its pauseClock takes effect.
_WAITS = frozenset({"intermediateCatchEvent", "receiveTask", "eventBasedGateway"})
_BOOLEANS = frozenset({"true", "false"})
_CUTOFF = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Text that starts like a duration in words (2 wd, 2wdd, 3d, 3 ngày): a number, then letters.
_LOOKS_LIKE_DURATION = re.compile(r"^\d+(?:[.,]\d+)?\s*[^\W\d_]", re.UNICODE)
_PATH_STEPS_SHOWN = 12

# --------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------

NO_AGENCY = "liên thông step has no responsible agency: set Cơ quan xử lý (property agency)"
NO_BUDGET = "liên thông step has no time budget: set Thời hạn bước (property budget)"
_BAD_DURATION = "{label} (property {name}) cannot be read: {reason}"
_EMPTY_DURATION = "{label} (property {name}) is empty: write e.g. {example}"
_FIELDS = {  # property -> (label in the element templates, examples)
    "budget": ("Thời hạn bước", "0.5wd, 2wd, 4wh, 3d or P3D"),
    "process budget": ("Thời hạn giải quyết theo luật", "3wd, 4wh, 15d or P15D"),
    "warnBefore": ("Cảnh báo trước hạn", "1wd, 0.5wd or 4wh"),
}
_CALENDAR_WARN = (
    "warnBefore {value!r} is in calendar days: write it in working time (e.g. 1wd) so it can be "
    "compared with the remaining working time"
)
_WARN_NOT_SHORTER = (
    "warnBefore {warn} is not shorter than the procedure's budget {budget}: the dossier would be "
    "'due soon' from the start; make warnBefore shorter"
)
_BAD_CUTOFF = "cutoff {value!r} is not a time of day: write HH:MM, e.g. 15:00"
_NO_PROCESS_BUDGET = (
    "{names} set but the process has no budget, so {verb} nothing: set Thời hạn giải quyết "
    "(process property budget), e.g. 3wd"
)
_BAD_PAUSE = (
    "pauseClock {value!r} is not a pause reason: choose supplement (waiting for documents) or "
    "financial_obligation (waiting for fees or taxes) in Tạm dừng tính thời hạn"
)
_PAUSE_PLACE = (
    "pauseClock has effect only where the dossier waits for the applicant: put it on an "
    "intermediate catch event or a receive task (after an event-based gateway: on the gateway)"
)
_BAD_STOPS = (
    "stopsClock {value!r} must be true or false (lower case): choose Có or Không in Kết thúc xử lý "
    "(trạng thái 9)"
)
_BAD_RETURNS = (
    "returnsResult {value!r} must be true or false (lower case): choose Có or Không in Trả kết quả "
    "(trạng thái 10)"
)
_BAD_OUTCOME = (
    "outcome {value!r} is not a dossier outcome: choose refused (từ chối) or stopped (dừng xử lý) "
    "in Kết quả hồ sơ, or leave it unset for a dossier that ends with its result"
)
_OUTCOME_PLACE = "outcome has effect only on an end event: the dossier's outcome is where its process ends"
_BAD_TIMER = (
    "timer duration {value!r} looks like a working duration but is malformed: write the number and "
    "the unit in lower case with no space and a dot for decimals, e.g. 2wd, 0.5wd or 4wh (working "
    "time), or an ISO duration such as P3D (calendar days) or PT4H"
)
_CANNOT_COMPARE = (
    "cannot compare step budgets with the procedure's budget: {what} in calendar days, the others in "
    "working time; the sum of step budgets is not checked (write all budgets in wd or wh to check it)"
)
_OVER_BUDGET = (
    "step budgets on the longest path add up to {total} working hours, more than the procedure's "
    "budget {budget} working hours ({budget_text}): {path}; shorten these step budgets{stop_hint} or "
    "raise the procedure's budget"
)
_OVER_BUDGET_DAYS = (
    "step budgets on the longest path add up to {total} days, more than the procedure's budget "
    "{budget_text}: {path}; shorten these step budgets{stop_hint} or raise the procedure's budget"
)
_STOP_HINT = ", mark the step that ends processing (status 9) with stopsClock=true,"


def _b(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _c(local: str) -> str:
    return f"{{{CAMUNDA_NS}}}{local}"


def _local(node: _Element) -> str:
    return etree.QName(node).localname


def _is_bpmn(node: _Element) -> bool:
    return isinstance(node.tag, str) and etree.QName(node).namespace == BPMN_NS


# --------------------------------------------------------------------------------------------------
# Reading properties
# --------------------------------------------------------------------------------------------------


def _properties(node: _Element) -> dict[str, _Element]:
    """The element's own ``camunda:property`` nodes by name (the last one wins, as at run time)."""
    found: dict[str, _Element] = {}
    for holder in node.iterchildren(_b("extensionElements")):
        for group in holder.iterchildren(_c("properties")):
            for prop in group.iterchildren(_c("property")):
                if prop.get("name"):
                    found[prop.get("name")] = prop
    return found


def _value(prop: _Element | None) -> str:
    return (prop.get("value") or "").strip() if prop is not None else ""


def _is_external(node: _Element) -> bool:
    return _local(node) in {"serviceTask", "sendTask"} and (node.get(_c("type")) or "").strip() == "external"


def _is_event_subprocess(node: _Element) -> bool:
    return _local(node) == "subProcess" and (node.get("triggeredByEvent") or "").strip().lower() in {
        "true",
        "1",
    }


def _hours(minutes: int) -> str:
    return f"{Decimal(minutes) / 60:.2f}".rstrip("0").rstrip(".")


@dataclass
class _Lint:
    filename: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, node: _Element, owner: _Element, message: str, severity: str = "error") -> None:
        self.problems.append(Problem.at(node, self.filename, message, owner=owner, severity=severity))

    def duration(
        self, prop: _Element, owner: _Element, which: str, *, severity: str = "error"
    ) -> Duration | None:
        """The property parsed as a duration, or None after reporting why it cannot be read."""
        label, example = _FIELDS[which]
        name = which.rpartition(" ")[2]
        text = _value(prop)
        if not text:
            self.add(prop, owner, _EMPTY_DURATION.format(label=label, name=name, example=example), severity)
            return None
        try:
            return parse_duration(text)
        except ValueError as error:  # parse_duration's messages say what is expected
            self.add(prop, owner, _BAD_DURATION.format(label=label, name=name, reason=error), severity)
            return None


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


def _flow_nodes(process: _Element) -> Iterator[_Element]:
    """Every BPMN flow node in the process, inside embedded sub-processes too."""
    for node in process.iterdescendants():
        if _is_bpmn(node) and _local(node) in _FLOW_NODES:
            yield node


def _check_process(process: _Element, lint: _Lint) -> tuple[Duration | None, bool]:
    """Process properties; returns (budget if readable, whether the process is statutory)."""
    props = _properties(process)
    statutory = "budget" in props
    budget = lint.duration(props["budget"], process, "process budget") if statutory else None
    if "cutoff" in props and not _CUTOFF.match(_value(props["cutoff"])):
        lint.add(props["cutoff"], process, _BAD_CUTOFF.format(value=_value(props["cutoff"])))
    warn = props.get("warnBefore")
    if warn is not None:
        warn_before = lint.duration(warn, process, "warnBefore")
        if warn_before is not None and not warn_before.is_working_time:
            lint.add(warn, process, _CALENDAR_WARN.format(value=_value(warn)), "warning")
        elif (
            warn_before is not None
            and budget is not None
            and budget.is_working_time
            and warn_before.working_minutes >= budget.working_minutes
        ):
            lint.add(warn, process, _WARN_NOT_SHORTER.format(warn=warn_before, budget=budget), "warning")
    if not statutory:
        unused = [name for name in ("cutoff", "warnBefore") if name in props]
        if unused:
            names = " and ".join(unused)
            verb = "they do" if len(unused) > 1 else "it does"
            lint.add(props[unused[0]], process, _NO_PROCESS_BUDGET.format(names=names, verb=verb), "warning")
    return budget, statutory


def _check_nodes(process: _Element, statutory: bool, lint: _Lint) -> dict[_Element, Duration]:
    """Step, wait and timer rules; returns the readable budgets of activities."""
    budgets: dict[_Element, Duration] = {}
    for node in _flow_nodes(process):
        props = _properties(node)
        local = _local(node)
        if statutory and _is_external(node):
            if not _value(props.get("agency")):
                lint.add(props.get("agency", node), node, NO_AGENCY, "warning")
            if "budget" not in props:
                lint.add(node, node, NO_BUDGET, "warning")
        if "budget" in props and local in _ACTIVITIES:
            severity = "error" if statutory else "warning"
            budget = lint.duration(props["budget"], node, "budget", severity=severity)
            if budget is not None:
                budgets[node] = budget
        if "stopsClock" in props and _value(props["stopsClock"]) not in _BOOLEANS:
            lint.add(props["stopsClock"], node, _BAD_STOPS.format(value=_value(props["stopsClock"])))
        if "returnsResult" in props and _value(props["returnsResult"]) not in _BOOLEANS:
            lint.add(props["returnsResult"], node, _BAD_RETURNS.format(value=_value(props["returnsResult"])))
        if "outcome" in props:
            if _value(props["outcome"]) not in OUTCOMES:
                lint.add(props["outcome"], node, _BAD_OUTCOME.format(value=_value(props["outcome"])))
            elif local != "endEvent":
                lint.add(props["outcome"], node, _OUTCOME_PLACE, "warning")
        if "pauseClock" in props:
            value = _value(props["pauseClock"])
            if value not in PAUSE_REASONS:
                lint.add(props["pauseClock"], node, _BAD_PAUSE.format(value=value))
            elif local not in _WAITS:
                lint.add(props["pauseClock"], node, _PAUSE_PLACE, "warning")
        if local in {"boundaryEvent", "intermediateCatchEvent"}:
            _check_timers(node, lint)
    return budgets


def _check_timers(event: _Element, lint: _Lint) -> None:
    for definition in event.iterchildren(_b("timerEventDefinition")):
        for duration in definition.iterchildren(_b("timeDuration")):
            text = (duration.text or "").strip()
            if _LOOKS_LIKE_DURATION.match(text) and not WORKING_DURATION.fullmatch(text):
                lint.add(duration, event, _BAD_TIMER.format(value=text))


# --------------------------------------------------------------------------------------------------
# The path rule
# --------------------------------------------------------------------------------------------------

# A graph node: a flow node, or the entry / exit / own-budget point of an embedded sub-process.
_Key = tuple[_Element, str]


@dataclass
class _Graph:
    budgets: dict[_Element, Duration]
    in_days: bool = False  # every budget is in calendar days: add up days, not working minutes
    weight: dict[_Key, int] = field(default_factory=dict)
    successors: dict[_Key, list[_Key]] = field(default_factory=dict)
    stops: set[_Key] = field(default_factory=set)

    def node(self, key: _Key, minutes: int = 0) -> _Key:
        self.weight[key] = minutes
        self.successors.setdefault(key, [])
        return key

    def edge(self, source: _Key, target: _Key) -> None:
        self.successors[source].append(target)

    def minutes(self, element: _Element) -> int:
        budget = self.budgets.get(element)
        if budget is None or budget.is_working_time == self.in_days:
            return 0
        return budget.days if self.in_days else budget.working_minutes

    def add_scope(self, scope: _Element) -> tuple[list[_Key], list[_Key]]:
        """Add the flow nodes directly in ``scope``; returns its (entries, exits)."""
        ends: dict[str, tuple[_Key, _Key]] = {}
        order: list[_Element] = []
        for child in scope.iterchildren():
            if not _is_bpmn(child) or _local(child) not in _FLOW_NODES or _is_event_subprocess(child):
                continue
            order.append(child)
            if _local(child) == "subProcess":
                enter = self.node((child, "enter"))
                leave = self.node((child, "leave"))
                stops_before = len(self.stops)
                inner_entries, inner_exits = self.add_scope(child)
                for entry in inner_entries:
                    self.edge(enter, entry)
                for exit_ in inner_exits:
                    self.edge(exit_, leave)
                if child in self.budgets:  # its own budget: an alternative to the inside
                    own = self.node((child, "own"), self.minutes(child))
                    self.edge(enter, own)
                    if len(self.stops) > stops_before:
                        self.stops.add(own)  # the clock stops inside: the path ends with it
                    else:
                        self.edge(own, leave)
                elif not inner_entries:
                    self.edge(enter, leave)
                ends[child.get("id") or ""] = (enter, leave)
            else:
                key = self.node((child, ""), self.minutes(child))
                ends[child.get("id") or ""] = (key, key)
            if _value(_properties(child).get("stopsClock")) == "true":
                self.stops.add(ends[child.get("id") or ""][1])
        has_incoming: set[str] = set()
        has_outgoing: set[str] = set()
        for flow in scope.iterchildren(_b("sequenceFlow")):
            source, target = flow.get("sourceRef") or "", flow.get("targetRef") or ""
            if source in ends and target in ends:
                self.edge(ends[source][1], ends[target][0])
                has_incoming.add(target)
                has_outgoing.add(source)
        for child in order:
            if _local(child) == "boundaryEvent" and (host := child.get("attachedToRef") or "") in ends:
                self.edge(ends[host][1], ends[child.get("id") or ""][0])
                has_incoming.add(child.get("id") or "")
        starts = [ends[c.get("id") or ""][0] for c in order if _local(c) == "startEvent"]
        if not starts:
            starts = [ends[c.get("id") or ""][0] for c in order if (c.get("id") or "") not in has_incoming]
        exits = [ends[c.get("id") or ""][1] for c in order if (c.get("id") or "") not in has_outgoing]
        return starts, exits


def _longest_path(graph: _Graph, roots: list[_Key]) -> tuple[int, list[_Key]]:
    """Longest path from ``roots``, ignoring back edges and not continuing past a stopsClock step."""
    # Depth-first search: back edges (to a node on the current path) close loops and are dropped;
    # the finishing order reversed is a topological order of what remains.
    state: dict[_Key, int] = {}  # 1 on the current path, 2 finished
    finished: list[_Key] = []
    forward: dict[_Key, list[_Key]] = {}
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[_Key, Iterator[_Key]]] = [(root, iter(graph.successors[root]))]
        while stack:
            key, successors = stack[-1]
            for successor in successors:
                if state.get(successor) == 1:
                    continue  # back edge: a loop
                forward.setdefault(key, []).append(successor)
                if successor not in state:
                    state[successor] = 1
                    stack.append((successor, iter(graph.successors[successor])))
                    break
            else:
                state[key] = 2
                finished.append(key)
                stack.pop()
    distance: dict[_Key, int] = {}
    previous: dict[_Key, _Key | None] = {}
    for root in roots:
        distance[root] = graph.weight[root]
        previous[root] = None
    for key in reversed(finished):
        if key not in distance or key in graph.stops:
            continue  # not reached, or the clock stops here
        for successor in forward.get(key, []):
            candidate = distance[key] + graph.weight[successor]
            if candidate > distance.get(successor, -1):
                distance[successor] = candidate
                previous[successor] = key
    if not distance:
        return 0, []
    end = max(distance, key=lambda k: distance[k])
    path: list[_Key] = []
    cursor: _Key | None = end
    while cursor is not None:
        path.append(cursor)
        cursor = previous[cursor]
    return distance[end], path[::-1]


def _describe(path: list[_Key], budgets: dict[_Element, Duration]) -> str:
    steps = []
    for element, part in path:
        if part in {"", "own"} and element in budgets and budgets[element].amount:
            steps.append(f"{element.get('id')} {budgets[element]}")
    if len(steps) > _PATH_STEPS_SHOWN:
        steps = [*steps[:_PATH_STEPS_SHOWN], "…"]
    return " → ".join(steps)


def _check_sum(process: _Element, budget: Duration, budgets: dict[_Element, Duration], lint: _Lint) -> None:
    if not budgets:
        return
    calendar_steps = [element for element, duration in budgets.items() if not duration.is_working_time]
    if not budget.is_working_time and len(calendar_steps) == len(budgets):
        _check_day_sum(process, budget, budgets, lint)
        return
    if not budget.is_working_time or calendar_steps:
        if not budget.is_working_time:
            what = f"the procedure's budget {budget} is"
        else:
            ids = ", ".join(element.get("id") or "?" for element in calendar_steps[:5])
            what = f"the budget of {ids} {'is' if len(calendar_steps) == 1 else 'are'}"
        lint.add(_properties(process)["budget"], process, _CANNOT_COMPARE.format(what=what), "warning")
        return
    graph = _Graph(budgets)
    roots, _ = graph.add_scope(process)
    total, path = _longest_path(graph, roots)
    if total > budget.working_minutes:
        lint.add(
            _properties(process)["budget"],
            process,
            _OVER_BUDGET.format(
                total=_hours(total),
                budget=_hours(budget.working_minutes),
                budget_text=budget,
                path=_describe(path, budgets),
                stop_hint="" if graph.stops else _STOP_HINT,
            ),
        )


def _check_day_sum(
    process: _Element, budget: Duration, budgets: dict[_Element, Duration], lint: _Lint
) -> None:
    """The path rule when the law counts days and every step budget is in days too."""
    graph = _Graph(budgets, in_days=True)
    roots, _ = graph.add_scope(process)
    total, path = _longest_path(graph, roots)
    if total > budget.days:
        lint.add(
            _properties(process)["budget"],
            process,
            _OVER_BUDGET_DAYS.format(
                total=total,
                budget_text=budget,
                path=_describe(path, budgets),
                stop_hint="" if graph.stops else _STOP_HINT,
            ),
        )


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def lint_procedure(tree: etree._ElementTree | _Element, filename: str) -> list[Problem]:
    """Statutory-deadline problems in the executable processes of a loaded BPMN file, by line.

    Errors (unreadable durations, step budgets over the procedure's budget on a path, unknown
    ``pauseClock``/``stopsClock`` values, malformed working-duration timers) block deployment;
    warnings (a step without agency or budget, comparisons that cannot be made) do not.
    """
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    lint = _Lint(filename)
    for process in executable_processes(root):
        budget, statutory = _check_process(process, lint)
        budgets = _check_nodes(process, statutory, lint)
        if budget is not None:
            _check_sum(process, budget, budgets, lint)
    return sorted(lint.problems, key=lambda problem: problem.line or 0)
