"""Statutory-deadline lint (orchestrator.bpmn.domain_lint) and the Camunda Modeler element templates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestrator.bpmn.compiler import Resource, compile_resources
from orchestrator.bpmn.domain_lint import (
    END_PROPERTIES,
    NO_AGENCY,
    NO_BUDGET,
    OUTCOMES,
    PAUSE_REASONS,
    PROCESS_PROPERTIES,
    STEP_PROPERTIES,
    WAIT_PROPERTIES,
    lint_procedure,
)
from orchestrator.bpmn.problems import Problem
from orchestrator.bpmn.xml import load_bpmn
from orchestrator.calendar import parse_duration

from .bpmn_builder import chain, definitions, external, flow
from .conftest import CORPUS

ROOT = Path(__file__).resolve().parent.parent
BIRTH = ROOT / "processes" / "birth-registration.bpmn"
TEMPLATES = ROOT / "processes" / ".camunda" / "element-templates" / "lienthong.json"
SCHEMA = "https://unpkg.com/@camunda/element-templates-json-schema/resources/schema.json"


# --------------------------------------------------------------------------------------------------
# Building small diagrams
# --------------------------------------------------------------------------------------------------


def props(**values: str) -> str:
    entries = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in values.items())
    return (
        f"<bpmn:extensionElements><camunda:properties>{entries}</camunda:properties></bpmn:extensionElements>"
    )


def step(task_id: str, budget: str | None = None, *, agency: str | None = "CA-XA", **more: str) -> str:
    values = {k: v for k, v in {"agency": agency, "budget": budget, **more}.items() if v is not None}
    return external(
        task_id, f"topic-{task_id}", name=f"Bước {task_id}", inner=props(**values) if values else ""
    )


def procedure(*elements: str, budget: str | None = "3wd", **process_props: str) -> str:
    values = {"budget": budget, **process_props} if budget is not None else process_props
    head = props(**values) if values else ""
    return definitions("\n".join([head, *elements]))


def sequence(*steps: str, budget: str | None = "3wd") -> str:
    """start -> each step in turn -> end."""
    ids = [re.search(r'id="([^"]+)"', s).group(1) for s in steps]
    return procedure(
        '<bpmn:startEvent id="start" />',
        *steps,
        '<bpmn:endEvent id="end" />',
        chain("start", *ids, "end"),
        budget=budget,
    )


def gateway(kind: str, gateway_id: str) -> str:
    return f'<bpmn:{kind} id="{gateway_id}" />'


def lint(xml: str, filename: str = "t.bpmn") -> list[Problem]:
    return lint_procedure(load_bpmn(xml.encode(), filename), filename)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [p.format() for p in problems]
    return problems[0]


# --------------------------------------------------------------------------------------------------
# Which processes are checked
# --------------------------------------------------------------------------------------------------


def test_a_process_without_budget_is_not_a_statutory_procedure():
    xml = sequence(external("a", "police"), external("b", "insurance"), budget=None)
    assert lint(xml) == []


def test_generic_corpus_diagrams_get_no_lint_problems():
    if not CORPUS.is_dir():
        pytest.skip("corpus not available")
    files = sorted(CORPUS.rglob("*.bpmn"))
    assert files
    found = {}
    for path in files:
        try:
            tree = load_bpmn(path.read_bytes(), path.name)
        except Exception:  # unreadable files are the XML layer's business
            continue
        if problems := lint_procedure(tree, path.name):
            found[path.name] = [p.format() for p in problems]
    assert found == {}


def test_non_executable_processes_are_not_checked():
    xml = sequence(step("a", "9wd"), budget="1wd").replace('isExecutable="true"', 'isExecutable="false"')
    assert lint(xml) == []


# --------------------------------------------------------------------------------------------------
# Steps: agency and budget
# --------------------------------------------------------------------------------------------------


def test_step_without_agency_is_a_located_warning():
    xml = sequence(step("a", "1wd", agency=None))
    problem = only(lint(xml, "khai-sinh.bpmn"))
    assert problem.severity == "warning"
    assert problem.message == NO_AGENCY
    assert problem.message.startswith("liên thông step has no responsible agency")
    assert (problem.file, problem.element_id, problem.element_name) == ("khai-sinh.bpmn", "a", "Bước a")
    assert problem.line == xml.splitlines().index(next(li for li in xml.splitlines() if 'id="a"' in li)) + 1


def test_step_with_empty_agency_is_warned_at_the_property():
    problem = only(lint(sequence(step("a", "1wd", agency=""))))
    assert (problem.severity, problem.message, problem.element_id) == ("warning", NO_AGENCY, "a")


def test_step_without_budget_is_a_warning():
    problem = only(lint(sequence(step("a"))))
    assert (problem.severity, problem.element_id) == ("warning", "a")
    assert problem.message == NO_BUDGET
    assert "set Thời hạn bước (property budget)" in problem.message


def test_send_tasks_are_steps_and_other_tasks_are_not():
    send = '<bpmn:sendTask id="s" camunda:type="external" camunda:topic="notify" />'
    user = '<bpmn:userTask id="u" />'
    problems = lint(sequence(send, user))
    assert sorted((p.element_id, p.message) for p in problems) == [("s", NO_AGENCY), ("s", NO_BUDGET)]


def test_steps_inside_a_sub_process_are_checked():
    inner = '<bpmn:startEvent id="s2" />' + step("x", agency=None) + '<bpmn:endEvent id="e2" />'
    inner += chain("s2", "x", "e2")
    sub = f'<bpmn:subProcess id="sub">{inner}</bpmn:subProcess>'
    problems = lint(sequence(sub))
    assert sorted(p.message for p in problems) == sorted([NO_AGENCY, NO_BUDGET])
    assert {p.element_id for p in problems} == {"x"}


def test_unreadable_step_budget_is_an_error_with_the_parse_message():
    problem = only(lint(sequence(step("a", "2 ngày"))))
    assert problem.severity == "error"
    assert problem.element_id == "a"
    assert problem.message.startswith("Thời hạn bước (property budget) cannot be read: unknown duration")
    assert "0.5wd" in problem.message


def test_fractional_calendar_days_are_refused():
    problem = only(lint(sequence(step("a", "1.5d"))))
    assert problem.severity == "error"
    assert "calendar days must be a whole number" in problem.message


def test_unreadable_step_budget_outside_a_statutory_procedure_is_only_a_warning():
    problem = only(lint(sequence(step("a", "3"), budget=None)))
    assert problem.severity == "warning"
    assert "cannot be read" in problem.message


def test_empty_step_budget_is_an_error():
    problem = only(lint(sequence(step("a", ""))))
    assert problem.severity == "error"
    assert problem.message.startswith("Thời hạn bước (property budget) is empty: write e.g.")


# --------------------------------------------------------------------------------------------------
# Process properties
# --------------------------------------------------------------------------------------------------


def test_unreadable_process_budget_is_an_error_on_the_process():
    problem = only(lint(sequence(step("a", "1wd"), budget="ba ngày")))
    assert (problem.severity, problem.element_id, problem.element_name) == ("error", "p", "Test")
    assert problem.message.startswith("Thời hạn giải quyết theo luật (property budget) cannot be read")


def test_empty_process_budget_is_an_error():
    problem = only(lint(sequence(step("a", "1wd"), budget="")))
    assert problem.severity == "error"
    assert "is empty" in problem.message


def test_unreadable_warn_before_is_an_error():
    xml = procedure('<bpmn:startEvent id="s" />', warnBefore="1 ngày")
    problem = only(lint(xml))
    assert problem.severity == "error"
    assert problem.message.startswith("Cảnh báo trước hạn (property warnBefore) cannot be read")


def test_warn_before_not_shorter_than_the_budget_is_a_warning():
    problem = only(lint(procedure('<bpmn:startEvent id="s" />', warnBefore="3wd")))
    assert problem.severity == "warning"
    assert "warnBefore 3wd is not shorter than the procedure's budget 3wd" in problem.message


def test_bad_cutoff_is_an_error():
    problem = only(lint(procedure('<bpmn:startEvent id="s" />', cutoff="15h")))
    assert problem.severity == "error"
    assert problem.message == "cutoff '15h' is not a time of day: write HH:MM, e.g. 15:00"


def test_valid_process_properties_give_nothing():
    xml = procedure(
        '<bpmn:startEvent id="s" />',
        warnBefore="1wd",
        cutoff="15:00",
        maTTHC="1.001193",
        coQuanChuTri="UBND-XA",
    )
    assert lint(xml) == []


def test_cutoff_and_warn_before_without_budget_are_a_warning():
    problem = only(
        lint(procedure('<bpmn:startEvent id="s" />', budget=None, cutoff="15:00", warnBefore="1wd"))
    )
    assert problem.severity == "warning"
    assert problem.message.startswith("cutoff and warnBefore set but the process has no budget")


# --------------------------------------------------------------------------------------------------
# The path rule
# --------------------------------------------------------------------------------------------------


def test_a_sequence_over_the_budget_is_an_error_naming_the_path():
    problem = only(lint(sequence(step("a", "2wd"), step("b", "1wd"), step("c", "4wh"))))
    assert problem.severity == "error"
    assert (problem.element_id, problem.element_name) == ("p", "Test")
    assert problem.message.startswith(
        "step budgets on the longest path add up to 28 working hours, more than the procedure's budget "
        "24 working hours (3wd): a 2wd → b 1wd → c 4wh;"
    )


def test_a_sequence_exactly_at_the_budget_is_fine():
    assert lint(sequence(step("a", "2.5wd"), step("b", "3wh"), step("c", "PT1H"))) == []


def test_fractional_hours_are_reported():
    problem = only(lint(sequence(step("a", "3wd"), step("b", "PT30M"))))
    assert "add up to 24.5 working hours" in problem.message


def parallel(left: str, right: str, after: str, kind: str = "parallelGateway") -> str:
    """start -> fork -> (L | R) -> join -> after -> end."""
    return procedure(
        '<bpmn:startEvent id="start" />',
        gateway(kind, "fork"),
        left,
        right,
        gateway(kind, "join"),
        after,
        '<bpmn:endEvent id="end" />',
        chain("start", "fork"),
        flow("f_l", "fork", "L"),
        flow("f_r", "fork", "R"),
        flow("f_lj", "L", "join"),
        flow("f_rj", "R", "join"),
        chain("join", "A", "end"),
    )


def test_parallel_branches_count_once_the_longest():
    # 2 + 1 + 1 = 4wd over all steps, but a dossier waits only for the longer branch: 2 + 1 = 3wd.
    assert lint(parallel(step("L", "2wd"), step("R", "1wd"), step("A", "1wd"))) == []


def test_parallel_branch_too_long_is_reported_through_that_branch():
    problem = only(lint(parallel(step("L", "1wd"), step("R", "2.5wd"), step("A", "1wd"))))
    assert "add up to 28 working hours" in problem.message
    assert "R 2.5wd → A 1wd" in problem.message
    assert "L 1wd" not in problem.message


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_alternatives_count_their_longest_alternative(kind):
    assert lint(parallel(step("L", "2.5wd"), step("R", "2wd"), step("A", "0.5wd"), kind=kind)) == []
    problem = only(lint(parallel(step("L", "2.5wd"), step("R", "2wd"), step("A", "1wd"), kind=kind)))
    assert "L 2.5wd → A 1wd" in problem.message


def test_loops_are_ignored():
    # check (1wd) -> ok? -- no --> supplement -> check again ...; the loop back is not summed.
    xml = procedure(
        '<bpmn:startEvent id="start" />',
        step("check", "1wd"),
        gateway("exclusiveGateway", "ok"),
        step("fix", "1wd"),
        step("decide", "1wd"),
        '<bpmn:endEvent id="end" />',
        chain("start", "check", "ok"),
        flow("f_fix", "ok", "fix", "${again}"),
        flow("f_back", "fix", "check"),
        flow("f_on", "ok", "decide"),
        chain("decide", "end"),
    )
    # Longest path without the back edge: check -> fix (ends there) = 2wd, or check -> decide = 2wd.
    assert lint(xml) == []
    tight = xml.replace('name="budget" value="3wd"', 'name="budget" value="1.5wd"')
    problem = only(lint(tight))
    assert "add up to 16 working hours" in problem.message


def test_the_path_ends_at_the_step_that_stops_the_clock():
    steps = (step("a", "2wd"), step("b", "1wd", stopsClock="true"), step("ret", "1wd"))
    assert lint(sequence(*steps)) == []
    without = (step("a", "2wd"), step("b", "1wd", stopsClock="false"), step("ret", "1wd"))
    problem = only(lint(sequence(*without)))
    assert "a 2wd → b 1wd → ret 1wd" in problem.message


def test_a_branch_that_bypasses_the_stopping_step_still_counts():
    xml = parallel(
        step("L", "2wd", stopsClock="true"), step("R", "1wd"), step("A", "2.5wd"), kind="exclusiveGateway"
    )
    problem = only(lint(xml))
    assert "R 1wd → A 2.5wd" in problem.message


def sub_process(*inner: str, sub_id: str = "sub", **sub_props: str) -> str:
    ids = [re.search(r'id="([^"]+)"', s).group(1) for s in inner]
    body = "".join(
        [
            props(**sub_props) if sub_props else "",
            f'<bpmn:startEvent id="{sub_id}_s" />',
            *inner,
            f'<bpmn:endEvent id="{sub_id}_e" />',
            chain(f"{sub_id}_s", *ids, f"{sub_id}_e"),
        ]
    )
    return f'<bpmn:subProcess id="{sub_id}" name="Nhóm bước">{body}</bpmn:subProcess>'


def test_steps_inside_an_embedded_sub_process_count_on_the_path_through_it():
    xml = sequence(step("a", "1wd"), sub_process(step("x", "1wd"), step("y", "1.5wd")), step("b", "0.5wd"))
    problem = only(lint(xml))
    assert "add up to 32 working hours" in problem.message
    assert "a 1wd → x 1wd → y 1.5wd → b 0.5wd" in problem.message


def test_a_sub_process_budget_is_an_alternative_to_its_inside():
    inside_shorter = sequence(step("a", "1wd"), sub_process(step("x", "0.5wd"), budget="2.5wd"))
    problem = only(lint(inside_shorter))
    assert "sub 2.5wd" in problem.message
    assert lint(sequence(step("a", "1wd"), sub_process(step("x", "0.5wd"), budget="2wd"))) == []


def test_nested_sub_processes_with_a_stopping_step_inside():
    # a 2 + x 0.5 = 2.5wd until the clock stops; y and ret (2wd more) come after status 9.
    inner = sub_process(step("x", "0.5wd", stopsClock="true"), step("y", "1wd"), sub_id="inner")
    xml = sequence(step("a", "2wd"), sub_process(inner, sub_id="outer"), step("ret", "1wd"), budget="2.5wd")
    assert lint(xml) == []
    problem = only(lint(xml.replace('value="true"', 'value="false"')))
    assert "a 2wd → x 0.5wd → y 1wd → ret 1wd" in problem.message


def test_an_empty_sub_process_does_not_cut_the_path():
    empty = '<bpmn:subProcess id="sub" />'
    problem = only(lint(sequence(step("a", "2wd"), empty, step("b", "2wd"))))
    assert "a 2wd → b 2wd" in problem.message


def test_a_boundary_branch_counts_after_its_host():
    def with_boundary(reminder: str) -> str:
        return procedure(
            '<bpmn:startEvent id="start" />',
            step("host", "2wd"),
            '<bpmn:boundaryEvent id="late" cancelActivity="false" attachedToRef="host">'
            "<bpmn:timerEventDefinition><bpmn:timeDuration>1wd</bpmn:timeDuration>"
            "</bpmn:timerEventDefinition></bpmn:boundaryEvent>",
            step("remind", reminder, agency="MOT-CUA"),
            '<bpmn:endEvent id="end" />',
            '<bpmn:endEvent id="end2" />',
            chain("start", "host", "end"),
            chain("late", "remind", "end2"),
        )

    assert lint(with_boundary("1wd")) == []
    problem = only(lint(with_boundary("1.5wd")))
    assert "host 2wd → remind 1.5wd" in problem.message


def test_calendar_day_procedure_budget_cannot_be_compared():
    problem = only(lint(sequence(step("a", "20wd"), budget="P15D")))
    assert problem.severity == "warning"
    assert problem.message.startswith("cannot compare step budgets with the procedure's budget")
    assert "the procedure's budget 15d is in calendar days" in problem.message


def test_calendar_day_step_budget_cannot_be_compared():
    problem = only(lint(sequence(step("a", "3d"), step("b", "2wd"))))
    assert problem.severity == "warning"
    assert "cannot compare" in problem.message
    assert "the budget of a is in calendar days" in problem.message


def test_calendar_days_everywhere_add_up_as_days():
    """A sector law counting days (construction permit: 20 days) with every leg in days is checked."""
    assert lint(sequence(step("a", "5d"), step("b", "12d"), step("c", "3d"), budget="20d")) == []
    problem = only(lint(sequence(step("a", "5d"), step("b", "12d"), step("c", "4d"), budget="P20D")))
    assert problem.severity == "error"
    assert problem.message.startswith("step budgets on the longest path add up to 21 days")
    assert "procedure's budget 20d: a 5d → b 12d → c 4d" in problem.message


def test_no_step_budgets_no_comparison():
    assert errors(lint(sequence(step("a"), budget="P15D"))) == []


# --------------------------------------------------------------------------------------------------
# Timers, pauses, stopsClock
# --------------------------------------------------------------------------------------------------


def timer_process(value: str, *, budget: str | None = None) -> str:
    return procedure(
        '<bpmn:startEvent id="start" />',
        '<bpmn:intermediateCatchEvent id="wait" name="Chờ"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>{value}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>",
        '<bpmn:endEvent id="end" />',
        chain("start", "wait", "end"),
        budget=budget,
    )


@pytest.mark.parametrize("value", ["2 wd", "2wdd", "0,5wd", "2WD", "3d", "3 ngày làm việc", "1.5 wh"])
def test_malformed_working_timer_is_an_error_with_a_hint(value):
    problem = only(lint(timer_process(value)))
    assert (problem.severity, problem.element_id, problem.element_name) == ("error", "wait", "Chờ")
    assert problem.message.startswith(
        f"timer duration {value!r} looks like a working duration but is malformed"
    )
    assert "e.g. 2wd, 0.5wd or 4wh" in problem.message


@pytest.mark.parametrize("value", ["2wd", "0.5wd", "4wh", "P1D", "PT4H", "${dueIn}", "2026-12-01T10:00:00"])
def test_well_formed_timers_give_nothing(value):
    assert lint(timer_process(value)) == []


def test_working_timers_deploy():
    compilation = compile_resources([Resource("t.bpmn", timer_process("0.5wd", budget="3wd").encode())])
    assert compilation.ok, [p.format() for p in compilation.problems]


@pytest.mark.parametrize("reason", PAUSE_REASONS)
def test_pause_reasons_on_a_wait(reason):
    catch = (
        f'<bpmn:intermediateCatchEvent id="w">{props(pauseClock=reason)}'
        '<bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>'
    )
    receive = f'<bpmn:receiveTask id="r" messageRef="M">{props(pauseClock=reason)}</bpmn:receiveTask>'
    race = f'<bpmn:eventBasedGateway id="g">{props(pauseClock=reason)}</bpmn:eventBasedGateway>'
    assert lint(sequence(catch, receive, race, budget=None)) == []


def test_unknown_pause_reason_is_an_error():
    catch = (
        f'<bpmn:intermediateCatchEvent id="w" name="Chờ bổ sung">{props(pauseClock="bo-sung")}'
        "</bpmn:intermediateCatchEvent>"
    )
    problem = only(lint(sequence(catch, budget=None)))
    assert (problem.severity, problem.element_id) == ("error", "w")
    assert problem.message.startswith("pauseClock 'bo-sung' is not a pause reason: choose supplement")


def test_pause_on_a_step_is_a_warning():
    problem = only(lint(sequence(step("a", "1wd", pauseClock="supplement"))))
    assert problem.severity == "warning"
    assert "intermediate catch event or a receive task" in problem.message


@pytest.mark.parametrize("value", ["yes", "1"])
def test_returns_result_must_be_true_or_false(value):
    problem = only(lint(sequence(step("a", "1wd", returnsResult=value))))
    assert problem.severity == "error"
    assert problem.message.startswith(f"returnsResult {value!r} must be true or false")


def _ending(outcome: str) -> str:
    """start -> a -> an end event with ``outcome``."""
    return procedure(
        '<bpmn:startEvent id="start" />',
        step("a", "1wd"),
        f'<bpmn:endEvent id="end" name="Từ chối">{props(outcome=outcome)}</bpmn:endEvent>',
        chain("start", "a", "end"),
    )


def test_an_end_event_states_the_dossier_outcome_from_the_vocabulary():
    assert lint(_ending("refused")) == [] and lint(_ending("stopped")) == []
    problem = only(lint(_ending("tu-choi")))
    assert (problem.severity, problem.element_id) == ("error", "end")
    assert problem.message.startswith("outcome 'tu-choi' is not a dossier outcome: choose refused")


def test_an_outcome_away_from_an_end_event_is_a_warning():
    problem = only(lint(sequence(step("a", "1wd", outcome="refused"))))
    assert problem.severity == "warning" and "only on an end event" in problem.message


@pytest.mark.parametrize("value", ["yes", "True", ""])
def test_stops_clock_must_be_true_or_false(value):
    problem = only(lint(sequence(step("a", "1wd", stopsClock=value))))
    assert problem.severity == "error"
    assert problem.message.startswith(f"stopsClock {value!r} must be true or false")


# --------------------------------------------------------------------------------------------------
# Wired into compilation; the real procedure
# --------------------------------------------------------------------------------------------------


def test_compilation_refuses_a_procedure_over_its_budget():
    compilation = compile_resources(
        [Resource("t.bpmn", sequence(step("a", "2wd"), step("b", "2wd")).encode())]
    )
    assert not compilation.ok
    assert compilation.processes == []
    assert compilation.errors[0].message.startswith("step budgets on the longest path add up to 32")


def test_compilation_keeps_lint_warnings():
    compilation = compile_resources([Resource("t.bpmn", sequence(step("a", agency=None)).encode())])
    assert compilation.ok
    assert sorted(p.message for p in compilation.problems) == sorted([NO_AGENCY, NO_BUDGET])


def test_birth_registration_has_no_lint_problems():
    assert lint_procedure(load_bpmn(BIRTH.read_bytes(), BIRTH.name), BIRTH.name) == []
    compilation = compile_resources([Resource(BIRTH.name, BIRTH.read_bytes())])
    assert compilation.ok
    assert compilation.problems == []


def test_birth_registration_budgets_fill_the_statutory_three_days_up_to_status_9():
    """0.5 + 0.5 + 1 + 1 + 0 = 3wd up to the result notice; returning the result is after status 9."""
    xml = BIRTH.read_text(encoding="utf-8")
    assert lint(xml.replace('name="budget" value="3wd"', 'name="budget" value="2.5wd"'))[
        0
    ].message.startswith("step budgets on the longest path add up to 24 working hours")
    without_stop = xml.replace('<camunda:property name="stopsClock" value="true" />', "")
    problem = only(lint(without_stop))
    assert "add up to 28 working hours" in problem.message
    assert (
        "KiemTraHoSo 0.5wd → DangKyKhaiSinh 0.5wd → DangKyThuongTru 1wd → CapTheBHYT 1wd → TraKetQua 0.5wd"
        in problem.message
    )


# --------------------------------------------------------------------------------------------------
# Element templates
# --------------------------------------------------------------------------------------------------


def templates() -> list[dict]:
    return json.loads(TEMPLATES.read_text(encoding="utf-8"))


def by_id() -> dict[str, dict]:
    return {template["id"]: template for template in templates()}


def test_templates_are_a_list_of_complete_templates():
    loaded = templates()
    assert isinstance(loaded, list)
    for template in loaded:
        for key in ("$schema", "name", "id", "appliesTo", "properties"):
            assert key in template, (template.get("id"), key)
        assert template["$schema"] == SCHEMA
        assert template["version"] == 1
        assert template["id"].startswith("vn.lienthong.")
        for prop in template["properties"]:
            assert "binding" in prop and "type" in prop["binding"]
            if prop["binding"]["type"] == "camunda:property":
                assert prop["type"] in {"String", "Hidden", "Dropdown"}  # the schema allows no other
    assert sorted(by_id()) == [
        "vn.lienthong.AgencyStep",
        "vn.lienthong.ApplicantWait",
        "vn.lienthong.DeskStep",
        "vn.lienthong.DossierOutcome",
        "vn.lienthong.StatutoryDeadline",
    ]


def test_templates_bind_only_the_vocabulary():
    allowed = {
        "vn.lienthong.AgencyStep": set(STEP_PROPERTIES) - {"returnsResult"},  # results go back at the desk
        "vn.lienthong.DeskStep": set(STEP_PROPERTIES),
        "vn.lienthong.ApplicantWait": set(WAIT_PROPERTIES),
        "vn.lienthong.StatutoryDeadline": set(PROCESS_PROPERTIES),
        "vn.lienthong.DossierOutcome": set(END_PROPERTIES),
    }
    vocabulary = set(PROCESS_PROPERTIES) | set(STEP_PROPERTIES) | set(WAIT_PROPERTIES) | set(END_PROPERTIES)
    for template_id, template in by_id().items():
        names = {
            p["binding"]["name"] for p in template["properties"] if p["binding"]["type"] == "camunda:property"
        }
        assert names <= vocabulary
        assert names == allowed[template_id]


def test_template_targets_and_labels():
    found = by_id()
    assert found["vn.lienthong.AgencyStep"]["appliesTo"] == ["bpmn:ServiceTask"]
    assert found["vn.lienthong.DeskStep"]["appliesTo"] == ["bpmn:ServiceTask"]
    assert found["vn.lienthong.ApplicantWait"]["appliesTo"] == [
        "bpmn:IntermediateCatchEvent",
        "bpmn:ReceiveTask",
        "bpmn:EventBasedGateway",  # after an event-based gateway the gateway is what waits
    ]
    assert found["vn.lienthong.DossierOutcome"]["appliesTo"] == ["bpmn:EndEvent"]
    [outcome] = found["vn.lienthong.DossierOutcome"]["properties"]
    assert outcome["label"] == "Kết quả hồ sơ" and [c["value"] for c in outcome["choices"]] == list(OUTCOMES)
    desk_return = {p["binding"]["name"]: p for p in found["vn.lienthong.DeskStep"]["properties"]}[
        "returnsResult"
    ]
    assert desk_return["label"] == "Trả kết quả (trạng thái 10)" and desk_return["value"] == "false"
    assert found["vn.lienthong.StatutoryDeadline"]["appliesTo"] == ["bpmn:Process"]
    for template_id in ("vn.lienthong.AgencyStep", "vn.lienthong.DeskStep"):
        fields = {p["binding"]["name"]: p for p in found[template_id]["properties"]}
        assert fields["camunda:type"]["type"] == "Hidden" and fields["camunda:type"]["value"] == "external"
        assert fields["camunda:topic"]["label"] == "Chủ đề (topic)"
        assert fields["camunda:topic"]["constraints"]["notEmpty"] is True
        assert fields["agency"]["label"] == "Cơ quan xử lý"
        assert fields["budget"]["label"] == "Thời hạn bước (vd. 0.5wd, 2wd)"
        assert fields["stopsClock"]["label"] == "Kết thúc xử lý (trạng thái 9)"
        assert fields["stopsClock"]["choices"] == [
            {"name": "Không", "value": "false"},
            {"name": "Có", "value": "true"},
        ]
    desk = {p["binding"]["name"]: p for p in found["vn.lienthong.DeskStep"]["properties"]}
    assert desk["agency"]["value"] == "MOT-CUA"
    assert desk["camunda:topic"]["value"].startswith("mot-cua-")
    wait = found["vn.lienthong.ApplicantWait"]["properties"][0]
    assert wait["label"] == "Tạm dừng tính thời hạn"
    assert [c["value"] for c in wait["choices"]] == list(PAUSE_REASONS)
    deadline = {p["binding"]["name"]: p for p in found["vn.lienthong.StatutoryDeadline"]["properties"]}
    assert deadline["budget"]["label"] == "Thời hạn giải quyết theo luật"
    assert deadline["cutoff"]["value"] == "15:00"
    assert deadline["warnBefore"]["value"] == "1wd"


VALID_DURATIONS = [
    "0wd",
    "0.5wd",
    "2wd",
    "2,5wd",
    "4wh",
    "3d",
    "15d",
    "P3D",
    "PT4H",
    "PT30M",
    "PT1H30M",
    "PT0.5H",
]
INVALID_DURATIONS = ["", "3", "2 wd", "2wdd", "1.5d", "P1.5D", "P", "PT", "P1DT2H", "P1W", "ba ngày", "wd"]


def duration_patterns() -> list[tuple[str, str]]:
    found = []
    for template in templates():
        for prop in template["properties"]:
            if prop["binding"].get("name") in {"budget", "warnBefore"}:
                found.append(
                    (f"{template['id']}:{prop['binding']['name']}", prop["constraints"]["pattern"]["value"])
                )
    return found


def test_duration_patterns_accept_what_the_calendar_reads():
    patterns = duration_patterns()
    assert len(patterns) == 4
    for where, pattern in patterns:
        for text in VALID_DURATIONS:
            assert re.search(pattern, text), (where, text)
            parse_duration(text)
        for text in INVALID_DURATIONS:
            assert not re.search(pattern, text), (where, text)


def test_cutoff_pattern():
    deadline = {p["binding"]["name"]: p for p in by_id()["vn.lienthong.StatutoryDeadline"]["properties"]}
    pattern = deadline["cutoff"]["constraints"]["pattern"]["value"]
    assert all(re.search(pattern, t) for t in ("15:00", "07:30", "23:59"))
    assert not any(re.search(pattern, t) for t in ("15h", "24:00", "7:30", "15:60"))
