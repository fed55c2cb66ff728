"""Tests for the safe expression evaluator that replaces SpiffWorkflow's eval()."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from orchestrator.bpmn.expression_functions import DEFAULT_FUNCTIONS
from orchestrator.bpmn.expressions import (
    Expression,
    ExpressionError,
    check_syntax,
    evaluate,
    is_iso_literal,
    parse,
)
from orchestrator.bpmn.script_engine import SafeEnvironment, SafeScriptEngine

VARIABLES: dict[str, Any] = {
    "amount": 1500,
    "small": 10,
    "status": "ok",
    "code": "HS-001",
    "name": "Nguyễn Văn A",
    "flag": True,
    "off": False,
    "nothing": None,
    "blank": "",
    "items": [1, 2, 3],
    "no_items": [],
    "no_map": {},
    "applicant": {"email": "a@example.vn", "address": {"province": "Hà Nội"}, "tags": ["x", "y"]},
    "due": "2026-12-01T17:00:00+07:00",
    "x": 2.5,
    "naive": datetime(2026, 1, 1),  # deliberately without a time zone
}


def ev(text: str, **extra: Any) -> Any:
    return evaluate(text, {**VARIABLES, **extra})


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        ("'single'", "single"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\nb\tc'", "a\nb\tc"),
        (r"'back\\slash'", "back\\slash"),
        ("'Hồ sơ'", "Hồ sơ"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", True),
        ("False", False),
        ("None", None),
        ("[1, 2, 'a']", [1, 2, "a"]),
        ("[]", []),
        ("[1, 2,]", [1, 2]),
        ("[[1], [2, 3]]", [[1], [2, 3]]),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    assert ev(text) == expected
    assert type(ev(text)) is type(expected)


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # logical, with aliases
        ("flag || off", True),
        ("off or off", False),
        ("flag && off", False),
        ("flag and flag", True),
        ("!flag", False),
        ("not off", True),
        ("nothing or 'default'", "default"),
        ("flag and 'yes'", "yes"),
        # comparisons, with aliases
        ("amount == 1500", True),
        ("amount eq 1500", True),
        ("amount != 1500", False),
        ("amount ne 1", True),
        ("small < amount", True),
        ("small lt amount", True),
        ("small > amount", False),
        ("small gt amount", False),
        ("small <= 10", True),
        ("small le 9", False),
        ("small >= 10", True),
        ("small ge 11", False),
        ("status == 'ok'", True),
        ("'a' < 'b'", True),
        ("nothing == null", True),
        ("nothing != null", False),
        ("nothing is None", True),
        ("amount is not None", True),
        ("1 < 2 < 3", True),
        ("3 > 2 > 1", True),
        ("1 < 3 < 2", False),
        # membership
        ("2 in items", True),
        ("5 in items", False),
        ("5 not in items", True),
        ("'email' in applicant", True),
        ("'HS' in code", True),
        ("status in ['ok', 'done']", True),
        # arithmetic, with aliases
        ("1 + 2", 3),
        ("5 - 8", -3),
        ("4 * 2.5", 10.0),
        ("7 / 2", 3.5),
        ("7 div 2", 3.5),
        ("6 / 3", 2.0),
        ("7 % 3", 1),
        ("7 mod 3", 1),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-small", -10),
        ("+small", 10),
        ("- -small", 10),
        ("'Hồ sơ ' + code", "Hồ sơ HS-001"),
        ("items + [4]", [1, 2, 3, 4]),
        ("'ab' * 3", "ababab"),
        ("3 * 'ab'", "ababab"),
        ("[0] * 3", [0, 0, 0]),
        ("x * 2", 5.0),
        # ternaries
        ("amount > 1000 ? 'big' : 'small'", "big"),
        ("small > 1000 ? 'big' : 'small'", "small"),
        ("'big' if amount > 1000 else 'small'", "big"),
        ("'big' if small > 1000 else 'small'", "small"),
        ("off ? 1 : flag ? 2 : 3", 2),
        ("1 if off else 2 if flag else 3", 2),
        # empty
        ("empty nothing", True),
        ("empty blank", True),
        ("empty no_items", True),
        ("empty no_map", True),
        ("empty items", False),
        ("empty code", False),
        ("empty 0", False),
        ("not empty items", True),
        ("not empty nothing", False),
        ("!empty code", True),
        ("!empty blank", False),
        # parentheses
        ("(1 + 2) * 3", 9),
        ("((((1))))", 1),
    ],
)
def test_operators_and_aliases(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left associative
        ("100 / 10 / 5", 2.0),
        ("2 ** 3 ** 2", 512),  # right associative, like Python
        ("-2 ** 2", -4),  # unary minus binds looser than **, like Python
        ("2 * 3 ** 2", 18),
        ("1 + 2 == 3", True),
        ("1 + 2 > 2 && 1 < 2", True),
        ("flag || flag && off", True),  # && binds tighter than ||
        ("(flag || flag) && off", False),
        ("off && off || flag", True),
        ("!off && flag", True),  # ! binds tighter than &&
        ("!flag && off", False),
        ("not 1 == 2", True),  # Python `not` is looser than ==
        ("!flag == false", True),  # JUEL `!` is tighter than ==
        ("not off and off", False),
        ("flag or off and off", True),
        ("1 + 1 if flag else 5", 2),
        ("amount > 1000 ? 1 + 1 : 2 + 2", 2),
        ("empty no_items && flag", True),
        ("-small + 20", 10),
        ("7 - 2 mod 3", 5),
        ("2 * 3 in [6]", True),
    ],
)
def test_precedence(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_and_or_short_circuit_skip_errors_in_the_unused_branch() -> None:
    assert ev("off && undefined_variable") is False
    assert ev("flag || undefined_variable") is True
    assert ev("flag ? 1 : undefined_variable") == 1
    assert ev("1 > 2 < undefined_variable") is False  # a comparison chain stops at the first False


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${a || b && c}", {"a": True, "b": False, "c": False}, True),
        ("${a || b && c}", {"a": False, "b": True, "c": False}, False),
        ("${!a && b}", {"a": False, "b": True}, True),
        ("${!a && b}", {"a": True, "b": True}, False),
    ],
)
def test_precedence_with_variables(text: str, variables: dict[str, Any], expected: bool) -> None:
    assert evaluate(text, variables) is expected


# --------------------------------------------------------------------------- text forms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${amount > 1000}", True),
        ("#{amount > 1000}", True),
        ("${amount}", 1500),
        ("${items}", [1, 2, 3]),
        ("${nothing}", None),
        ("  ${code}\n  ", "HS-001"),  # whitespace around a whole-text expression (XML) is ignored
        ("${status == '}'}", False),  # a brace inside quotes does not close the expression
        ("amount > 1000 and status == 'ok'", True),  # SpiffWorkflow/Python style, no ${}
        ("amount > 1000", True),
    ],
)
def test_whole_text_expressions_keep_the_value_type(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hồ sơ ${code} đã nhận", "Hồ sơ HS-001 đã nhận"),
        ("${code}-${amount}", "HS-001-1500"),
        ("Total: #{amount * 2} VND", "Total: 3000 VND"),
        ("[${nothing}]", "[]"),  # None renders as empty text
        ("${code} ${flag}", "HS-001 True"),
        ("${'}'} and ${'{'}", "} and {"),
        ("due ${dateTime(due)}", "due 2026-12-01T17:00:00+07:00"),
        ("costs $5 and ${amount}", "costs $5 and 1500"),
    ],
)
def test_interpolation(text: str, expected: str) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "P30D",
        "PT2H",
        "P1DT12H",
        "P0.5D",
        "P1Y2M",
        "P2W",
        "PT30M",
        "PT0.5S",
        "2026-12-01T17:00:00+07:00",
        "2026-12-01T17:00:00Z",
        "2026-12-01T17:00:00",
        "2026-12-01",
        "R3/PT1H",
        "R/P1D",
        "R2/2026-12-01T09:00:00+07:00/P1D",
    ],
)
def test_bare_iso_literals_are_returned_as_text(text: str) -> None:
    assert is_iso_literal(text)
    assert ev(text) == text
    assert ev(f"  {text}\n") == text
    assert check_syntax(text) is None


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "2026-13-01", "amount", "1 + 2", "R3", "PX", "", "p30d"])
def test_non_iso_text_is_not_an_iso_literal(text: str) -> None:
    assert not is_iso_literal(text)


def test_an_impossible_date_is_an_error_not_arithmetic() -> None:
    with pytest.raises(ExpressionError, match="ISO"):
        ev("2026-13-45")


# --------------------------------------------------------------------------- names, members, calls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("applicant.email", "a@example.vn"),
        ("applicant.address.province", "Hà Nội"),
        ("applicant['email']", "a@example.vn"),
        ('applicant["address"]["province"]', "Hà Nội"),
        ("applicant.tags[1]", "y"),
        ("items[0]", 1),
        ("items[-1]", 3),
        ("items[10]", None),  # out of range is null, as in JUEL
        ("code[0]", "H"),
        ("applicant.missing", None),  # a missing key of a map is null, as in Camunda
        ("applicant.missing.deeper", None),
        ("nothing.anything", None),
        ("empty applicant.phone", True),
        ("applicant.phone == null", True),
        ("[10, 20][1]", 20),
        ("execution.getVariable('code')", "HS-001"),
        ("${execution.getVariable('amount') > 1000}", True),
        ("execution.getVariable('not_set')", None),
    ],
)
def test_member_and_index_access(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("len(items)", 3),
        ("len(code)", 6),
        ("str(amount)", "1500"),
        ("int('42')", 42),
        ("int(x)", 2),
        ("float('2.5')", 2.5),
        ("bool(blank)", False),
        ("abs(-3)", 3),
        ("min(3, 1, 2)", 1),
        ("max(items)", 3),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 2),
        ("round(1234, -2)", 1200),
        ("lower('ABC')", "abc"),
        ("upper(code)", "HS-001"),
        ("contains(items, 2)", True),
        ("contains(code, 'HS')", True),
        ("contains(applicant, 'email')", True),
        ("startsWith(code, 'HS')", True),
        ("startsWith(code, 'X')", False),
        ("endsWith(code, '001')", True),
        ("dateTime('2026-12-01T17:00:00Z')", datetime(2026, 12, 1, 17, tzinfo=UTC)),
        ("dateTime('2026-12-01T17:00:00+07:00') == dateTime('2026-12-01T10:00:00Z')", True),
        ("duration('PT2H')", timedelta(hours=2)),
        ("duration('P3D')", timedelta(days=3)),
        ("duration('P1DT12H30M')", timedelta(days=1, hours=12, minutes=30)),
        ("duration('P1W')", timedelta(weeks=1)),
        ("duration('P0.5D')", timedelta(hours=12)),
        ("dateTime('2026-12-01T00:00:00Z') + duration('P30D')", datetime(2026, 12, 31, tzinfo=UTC)),
        ("dateTime(due) > '2026-12-01T00:00:00Z'", True),  # dates compare with ISO text as dates
        ("dateTime(due) < dateTime('2027-01-01')", True),
        ("dateTime(due) == 'not a date'", False),
        ("dateTime(due) != 'not a date'", True),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_date_time_without_offset_is_vietnam_time() -> None:
    value = ev("dateTime('2026-12-01T17:00:00')")
    assert value.utcoffset() == timedelta(hours=7)


def test_now_today_and_date_time_follow_the_clock() -> None:
    with time_machine.travel(datetime(2030, 5, 6, 20, 0, tzinfo=UTC), tick=False):
        now = ev("now()")
        assert now == datetime(2030, 5, 6, 20, 0, tzinfo=UTC)
        assert now.tzinfo is not None
        assert ev("dateTime()") == now
        assert ev("dateTime(nothing)") == now
        assert ev("today()") == date(2030, 5, 7)  # already the 7th in Vietnam (UTC+7)
        assert ev("now() > '2030-01-01T00:00:00Z'") is True


def test_extra_functions_are_called_by_name() -> None:
    def add_working_days(start: str, days: int) -> str:
        return f"{start}+{days}"

    assert evaluate("addWorkingDays(due, 3)", VARIABLES, {"addWorkingDays": add_working_days}).endswith("+3")
    assert evaluate("len(items)", VARIABLES, {"addWorkingDays": add_working_days}) == 3
    assert evaluate("len(items)", VARIABLES, {"len": lambda _: "overridden"}) == "overridden"


def test_unicode_variable_names() -> None:
    assert evaluate("${số_tiền > 1000}", {"số_tiền": 2000}) is True
    assert evaluate("hồ_sơ.mã", {"hồ_sơ": {"mã": "HS-1"}}) == "HS-1"


def test_parse_is_cached_and_reusable() -> None:
    expression = parse("amount > limit")
    assert isinstance(expression, Expression)
    assert parse("amount > limit") is expression
    assert expression.evaluate({"amount": 5, "limit": 1}) is True
    assert expression.evaluate({"amount": 0, "limit": 1}) is False


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("undefined + 1", "unknown variable 'undefined'"),
        ("now", "did you mean now()"),
        ("nofunc(1)", "unknown function 'nofunc'"),
        ("1 +", "unexpected end"),
        ("(1 + 2", "expected ')'"),
        ("1 2", "unexpected '2'"),
        ("", "empty"),
        ("${}", "empty"),
        ("${amount", "never closed"),
        ("'unterminated", "unterminated string"),
        ("1 / 0", "division by zero"),
        ("7 mod 0", "division by zero"),
        ("code + 1", "cannot apply '+' to str and int"),
        ("code < 1", "cannot apply '<' to str and int"),
        ("nothing > 1", "cannot apply '>' to NoneType and int"),
        ("1 in 5", "cannot apply 'in'"),
        ("-code", "cannot apply unary '-'"),
        ("items['a']", "index must be an integer"),
        ("items[flag]", "index must be an integer"),
        ("applicant[items]", "cannot be a key"),
        ("amount.value", "only mappings have members"),
        ("code.upper", "only mappings have members"),
        ("amount[0]", "cannot index"),
        ("int('abc')", "function 'int' failed (ValueError)"),
        ("len(amount)", "function 'len' failed (TypeError)"),
        ("lower(amount)", "lower() needs a text"),
        ("max(no_items)", "function 'max' failed"),
        ("round(12345, -10**8)", "round() digits"),
        ("round(1.5, 'x')", "round() digits"),
        ("upper(items)", "upper() needs a text"),
        ("startsWith(code, items)", "startsWith() needs a text"),
        ("dateTime('yesterday')", "ISO 8601"),
        ("dateTime(amount)", "ISO 8601"),
        ("duration('P1M')", "years or months"),
        ("duration('2 hours')", "ISO 8601 duration"),
        ("dateTime(due) < 'soon'", "non-ISO"),
        ("naive < now()", "cannot apply '<' to datetime and datetime"),  # naive vs aware
        ("execution.getVariable(amount)", "variable name"),
        ("execution.getVariable('a', 'b')", "exactly one argument"),
        ("execution.setVariable('a', 1)", "only whitelisted functions"),
        ("a.", "expected a name after '.'"),
        ("1 ? 2", "expected ':'"),
        ("1 if flag", "expected 'else'"),
        ("(1, 2)", "expected ')'"),
        ("1 == = 2", "assignment is not allowed"),
        ("amount @ 2", "unexpected character '@'"),
        ("{1: 2}", "unexpected character '{'"),
        ("9" * 5000, "number literal too long"),
    ],
)
def test_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(text)
    assert message in str(caught.value)


def test_expression_error_is_a_value_error() -> None:
    assert issubclass(ExpressionError, ValueError)


SECRET = "CCCD-079123456789"
SECRET_VARIABLES = {"secret": SECRET, "record": {"id": SECRET, "n": 7}, "ids": [SECRET]}


@pytest.mark.parametrize(
    "text",
    [
        "int(secret)",
        "float(record.id)",
        "secret + 1",
        "1 + secret",
        "secret < 5",
        "secret in 5",
        "secret * 'x'",
        "-secret",
        "secret.x",
        "secret['x']",
        "record[ids]",
        "ids[secret]",
        "dateTime(secret)",
        "duration(secret)",
        "dateTime() < secret",
        "max(secret, 1)",
        "secret ** 2",
        "secret % 2",
        "${secret} ${undefined}",
        "round(secret)",
    ],
)
def test_error_messages_never_contain_variable_values(text: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, SECRET_VARIABLES)
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None  # no chained Python error carrying the value either


def test_error_message_quotes_at_most_200_characters_of_expression() -> None:
    text = "undefined + " + " + ".join(["1"] * 90)
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, {})
    assert text[:200] in str(caught.value)
    assert text not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("${amount > 1000}", True),
        ("amount > 1000 and status == 'ok'", True),
        ("Hồ sơ ${code} đã nhận", True),
        ("P30D", True),
        ("undefined_is_fine_at_deploy_time", True),
        ("${amount >}", False),
        ("${__import__('os')}", False),
        ("a = 1", False),
        ("Hồ sơ ${code", False),
        ("x" * 10_001, False),
    ],
)
def test_check_syntax(text: str, ok: bool) -> None:
    result = check_syntax(text)
    if ok:
        assert result is None
    else:
        assert isinstance(result, str)
        assert result


def test_check_syntax_refuses_non_text() -> None:
    assert check_syntax(None) == "expression must be a string"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- security


def _assert_refused(text: str, variables: dict[str, Any] | None = None) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text, variables if variables is not None else {"a": {"b": 1}, "s": "text", "items": [1]})


def test_import_os_system_is_refused_at_parse_time_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for text in (
        f"${{__import__('os').system('touch {marker}')}}",
        f"__import__('os').system('touch {marker}')",
        f"Hồ sơ ${{__import__('os').system('touch {marker}')}}",
    ):
        assert check_syntax(text) is not None
        _assert_refused(text)
        with pytest.raises(ExpressionError):
            SafeEnvironment().evaluate(text, {})
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "().__class__.__base__.__subclasses__()",
        "${().__class__.__base__.__subclasses__()}",
        "''.__class__.__mro__[1].__subclasses__()",
        "a.__class__",
        "a.__dict__",
        "a._private",
        "_hidden",
        "__builtins__",
        "s.__len__()",
        "items.__getitem__(0)",
    ],
)
def test_dunder_and_underscore_names_are_refused_at_parse_time(text: str) -> None:
    assert check_syntax(text) is not None
    _assert_refused(text)


def test_underscore_named_functions_cannot_be_called_even_when_supplied() -> None:
    called: list[int] = []
    with pytest.raises(ExpressionError, match="'_'"):
        evaluate("_helper()", {}, {"_helper": lambda: called.append(1)})
    assert called == []


class _Account:
    secret = "attribute value"

    def delete(self) -> None:
        raise AssertionError("must never be called")


@pytest.mark.parametrize(
    "text",
    [
        "account.secret",  # no Python attribute of any object is ever read
        "account.delete",
        "account.delete()",
        "s.upper()",  # not even methods of plain values
        "items.append(4)",
        "a.get('b')",
        "action()",  # a variable holding a callable is not a function
        "(action)()",
        "[action][0]()",
        "a.b()",
    ],
)
def test_no_attribute_access_and_no_calling_of_values(text: str) -> None:
    calls: list[int] = []
    variables = {
        "account": _Account(),
        "s": "text",
        "items": [1, 2, 3],
        "a": {"b": lambda: calls.append(1)},
        "action": lambda: calls.append(1),
    }
    before = copy.copy(variables["items"])
    _assert_refused(text, variables)
    assert calls == []
    assert variables["items"] == before


@pytest.mark.parametrize(
    "text",
    [
        "lambda: 1",
        "(lambda: 1)()",
        "[x for x in items]",
        "[x for x in items if x]",
        "a = 1",
        "(a := 1)",
        "a += 1",
        "1; 2",
        "import os",
        "from os import system",
        "exec('1')",
        "eval('1')",
        "del a",
        "{1, 2}",
        "f'{a}'",
        "yield 1",
    ],
)
def test_forbidden_constructs(text: str) -> None:
    assert check_syntax(text) is not None
    _assert_refused(text)


def test_evaluation_does_not_mutate_variables() -> None:
    variables = copy.deepcopy(VARIABLES)
    snapshot = copy.deepcopy(variables)
    for text in (
        "items + [4]",
        "items * 2",
        "applicant.tags + ['z']",
        "max(items)",
        "Hồ sơ ${code} ${items}",
        "execution.getVariable('items')",
        "[items, applicant]",
        "len(applicant)",
    ):
        evaluate(text, variables)
    assert variables == snapshot
    assert evaluate("items + [4]", MappingProxyType(variables)) == [1, 2, 3, 4]  # read-only mappings work


# --------------------------------------------------------------------------- limits


def _assert_quick_refusal(text: str, variables: dict[str, Any] | None = None, seconds: float = 1.0) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError):
        evaluate(text, variables or {})
    assert time.perf_counter() - started < seconds


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9",
        "10**10**10",
        "${9**9**9}",
        "2 ** 65",
        "2 ** 1000",
        "10 ** 101",
        "(10 ** 60) ** 2",
        "0.001 ** -64",
        "2 ** -65",
        "2.0 ** 400",
        "(-8) ** 0.5",  # complex results are refused too
        "0 ** -1",
    ],
)
def test_power_limits(text: str) -> None:
    _assert_quick_refusal(text)


def test_power_within_limits() -> None:
    assert ev("10 ** 64") == 10**64
    assert ev("(10 ** 50) ** 2") == 10**100
    assert ev("2 ** 64") == 2**64
    assert ev("0.5 ** 2") == 0.25


def test_ten_megabyte_expression_is_refused_quickly() -> None:
    text = "1 + " * (10 * 1024 * 1024 // 4) + "1"
    _assert_quick_refusal(text)
    assert "longer than 10000" in (check_syntax(text) or "")


@pytest.mark.parametrize(
    "text",
    [
        "'a' * 10**8",
        "10**8 * 'a'",
        "'a' * 1000001",
        "[1] * 10**8",
        "[0] * 10**7",
        "str([[0] * 1000] * 100000)",  # nested repetition cannot hide its size from str()
        "('a' * 1000000) + 'b'",
        "('a' * 600000) + ('a' * 600000)",
        "[s, s] + [s]",
    ],
)
def test_large_values_are_refused_before_being_built(text: str) -> None:
    _assert_quick_refusal(text, {"s": "a" * 400_000})


def test_many_large_parts_cannot_add_up() -> None:
    part = "${'a' * 900000}"
    _assert_quick_refusal(part * 3)  # interpolation checks the running total
    _assert_quick_refusal("[" + ", ".join(["'a' * 900000"] * 3) + "]")  # so does a list literal
    # function arguments are each within the limit but together exceed the evaluation budget
    _assert_quick_refusal("max(" + ", ".join(["upper(s)"] * 30) + ")", {"s": "a" * 900_000})


def test_values_at_the_limit_are_allowed() -> None:
    assert len(ev("'a' * 1000000")) == 1_000_000
    assert len(ev("'ab' * 3 + 'c'")) == 7


@pytest.mark.parametrize(
    "text",
    [
        "(" * 4000 + "1" + ")" * 4000,
        "[" * 4000 + "]" * 4000,
        "-" * 5000 + "1",
        "!" * 5000 + "flag",
        " + ".join(["1"] * 2000),  # flat in the text but deep as a tree
        "a" + ".b" * 3000,
        "a" + "[0]" * 3000,
        "${" + "(" * 3000 + "1" + ")" * 3000 + "}",
        "1 if flag else " * 500 + "2",
        "flag ? 1 : " * 900 + "2",
    ],
)
def test_deep_nesting_fails_cleanly_not_with_recursion_error(text: str) -> None:
    assert len(text) <= 10_000  # so it is the depth limit, not the length limit, that refuses it
    assert "nested too deeply" in (check_syntax(text) or "")
    _assert_quick_refusal(text, {"flag": True, "a": {}})


def test_reasonable_nesting_is_fine() -> None:
    assert ev("(" * 50 + "1" + ")" * 50) == 1
    assert ev(" + ".join(["1"] * 50)) == 50


# --------------------------------------------------------------------------- SpiffWorkflow glue


def test_safe_environment_merges_context_over_external_context() -> None:
    environment = SafeEnvironment()
    assert environment.evaluate("a + b", {"a": 1}, {"a": 100, "b": 2}) == 3
    assert environment.evaluate("b", {"a": 1}, {"b": 2}) == 2
    assert environment.evaluate("a", {"a": 1}, None) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${dateTime('2026-12-01T17:00:00+07:00')}", "2026-12-01T17:00:00+07:00"),
        ("${dateTime('2026-12-01T10:00:00Z')}", "2026-12-01T10:00:00+00:00"),
        ("${dateTime('2026-12-01T00:00:00Z') + duration('P30D')}", "2026-12-31T00:00:00+00:00"),
        ("${today()}", "2030-05-07"),
        ("${now()}", "2030-05-06T20:00:00+00:00"),
        ("P30D", "P30D"),
        ("${amount}", 5),
    ],
)
def test_safe_environment_returns_dates_as_iso_text(text: str, expected: Any) -> None:
    with time_machine.travel(datetime(2030, 5, 6, 20, 0, tzinfo=UTC), tick=False):
        assert SafeEnvironment().evaluate(text, {"amount": 5}) == expected


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("${duration('P30D')}", timedelta(days=30)),
        ("${duration('PT2H')}", timedelta(hours=2)),
        ("${duration('PT1.5S')}", timedelta(seconds=1.5)),
        ("${duration('P1DT2H3M4S') * 2}", timedelta(days=2, hours=4, minutes=6, seconds=8)),
    ],
)
def test_safe_environment_returns_durations_as_text_spiffworkflow_reads(text: str, delta: timedelta) -> None:
    value = SafeEnvironment().evaluate(text, {})
    assert isinstance(value, str)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    parsed = TimerEventDefinition.parse_iso_duration(value)
    assert TimerEventDefinition.get_timedelta_from_start(parsed, start) == delta


def test_safe_environment_refuses_scripts_and_service_calls() -> None:
    environment = SafeEnvironment()
    context = {"a": 1}
    with pytest.raises(ExpressionError, match="scripts are not supported"):
        environment.execute("a = 2", context)
    with pytest.raises(ExpressionError, match="scripts are not supported"):
        environment.call_service(context, operation_name="x")
    assert context == {"a": 1}


def test_safe_environment_extra_functions() -> None:
    def double(value: int) -> int:
        return value * 2

    environment = SafeEnvironment({"double": double})
    assert environment.evaluate("double(a) + len(b)", {"a": 2, "b": [1]}) == 5
    assert set(DEFAULT_FUNCTIONS) <= set(environment.functions)
    assert "double" not in DEFAULT_FUNCTIONS  # the shared defaults are not modified


def test_safe_script_engine_validate() -> None:
    engine = SafeScriptEngine()
    engine.validate("${amount > 1000}")
    engine.validate("P30D")
    with pytest.raises(ExpressionError):
        engine.validate("${amount >}")
    with pytest.raises(ExpressionError):
        engine.validate("__import__('os')")


def test_default_functions_cover_the_documented_whitelist() -> None:
    expected = {
        "now", "today", "len", "str", "int", "float", "bool", "abs", "min", "max", "round",
        "lower", "upper", "contains", "startsWith", "endsWith", "dateTime", "duration",
    }  # fmt: skip
    assert set(DEFAULT_FUNCTIONS) == expected
    assert all(callable(function) for function in DEFAULT_FUNCTIONS.values())


# --------------------------------------------------------------------------- engine integration

_DEFINITIONS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
{body}
</bpmn:definitions>
"""

_GATEWAY_PROCESS = """
  <bpmn:process id="route" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gateway" />
    <bpmn:exclusiveGateway id="gateway" />
    <bpmn:sequenceFlow id="f_big" sourceRef="gateway" targetRef="end_big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        ${amount &gt; 1000}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="gateway" targetRef="end_small">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        ${amount &lt;= 1000}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end_big" />
    <bpmn:endEvent id="end_small" />
  </bpmn:process>
"""

_TIMER_PROCESS = """
  <bpmn:process id="wait" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="timer" />
    <bpmn:intermediateCatchEvent id="timer">
      <bpmn:timerEventDefinition id="timer_def">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{duration}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="timer" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
"""


def _workflow(
    body: str, process_id: str, functions: dict[str, Callable[..., Any]] | None = None
) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(_DEFINITIONS.format(body=body).encode("utf-8"))
    return BpmnWorkflow(parser.get_spec(process_id), script_engine=SafeScriptEngine(functions))


def _run(workflow: BpmnWorkflow, **data: Any) -> None:
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**data)
    workflow.do_engine_steps()


def _completed(workflow: BpmnWorkflow) -> set[str]:
    return {task.task_spec.name for task in workflow.get_tasks(state=TaskState.COMPLETED)}


@pytest.mark.parametrize(
    ("amount", "taken", "skipped"), [(5000, "end_big", "end_small"), (1000, "end_small", "end_big")]
)
def test_gateway_conditions_run_through_the_safe_engine(amount: int, taken: str, skipped: str) -> None:
    workflow = _workflow(_GATEWAY_PROCESS, "route")
    _run(workflow, amount=amount)
    assert workflow.is_completed()
    assert taken in _completed(workflow)
    assert skipped not in _completed(workflow)


def test_gateway_condition_error_surfaces_as_a_workflow_error() -> None:
    workflow = _workflow(_GATEWAY_PROCESS, "route")
    with pytest.raises(Exception, match="Error evaluating expression") as caught:
        _run(workflow)  # no 'amount' variable
    assert isinstance(caught.value.__context__, ExpressionError)
    assert "unknown variable 'amount'" in str(caught.value.__context__)


@pytest.mark.parametrize("duration", ["P30D", "${duration('P30D')}", "${wait_for}", "#{wait_for}"])
def test_timer_with_bare_iso_duration_waits(duration: str) -> None:
    workflow = _workflow(_TIMER_PROCESS.format(duration=duration), "wait")
    started = datetime.now(UTC)
    _run(workflow, wait_for="P30D")
    timer = next(task for task in workflow.get_tasks() if task.task_spec.name == "timer")
    assert timer.state == TaskState.WAITING
    due = TimerEventDefinition.get_datetime(timer.internal_data["event_value"])
    assert timedelta(days=29) < due - started < timedelta(days=31)
    assert not workflow.is_completed()


def test_timer_fires_after_the_duration_passes() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        workflow = _workflow(_TIMER_PROCESS.format(duration="PT2H"), "wait")
        _run(workflow)
        assert not workflow.is_completed()
        traveller.shift(timedelta(hours=3))
        workflow.refresh_timers()
        workflow.do_engine_steps()
        assert workflow.is_completed()
