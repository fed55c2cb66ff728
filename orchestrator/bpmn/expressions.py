"""Safe expressions for BPMN conditions, timers and parameters, replacing SpiffWorkflow's ``eval``.

Analysts write Camunda 7 expressions (``${amount > 1000 && !empty applicant.email}``) and
SpiffWorkflow-style conditions (``amount > 1000 and status == 'ok'``). This module runs
both without ``eval``: ``expression_parser`` builds a small tree, and the interpreter here
walks it. Only variables, mapping keys, list indexes and whitelisted functions are
reachable; no Python attribute is ever read and nothing is ever assigned.

Errors are always :class:`ExpressionError` and never quote variable values (citizen data).
"""

from __future__ import annotations

import functools
import math
import operator
from collections import ChainMap
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from .expression_functions import DEFAULT_FUNCTIONS, MAX_EXPONENT, date_time
from .expression_parser import (
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    Binary,
    Call,
    Compare,
    Conditional,
    ExpressionError,
    GetVariable,
    Index,
    ListLiteral,
    Literal,
    Logical,
    Member,
    Name,
    Node,
    Template,
    Unary,
    is_iso_literal,
    parse_text,
)

__all__ = [
    "MAX_DEPTH", "MAX_EXPRESSION_LENGTH", "Expression", "ExpressionError", "check_syntax", "evaluate",
    "is_iso_literal", "parse",
]  # fmt: skip

MAX_VALUE_SIZE = 1_000_000  # characters of a built string, or approximate rendered size of a built list
MAX_EVALUATION_SIZE = 10_000_000  # everything one evaluation may build, so many parts cannot add up
MAX_POWER_DIGITS = 100  # `**` results are refused beyond about 10**100 in magnitude


# --------------------------------------------------------------------------- interpreter

_MISSING = object()
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "%": operator.mod}  # fmt: skip
_ORDERING = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
             "<=": operator.le, ">=": operator.ge}  # fmt: skip
_COLLECTIONS = (str, list, tuple, set, frozenset, Mapping)
_SEQUENCES = (str, list, tuple)


class _Evaluation:
    """One evaluation: the variables, the callable functions and what has been built so far."""

    def __init__(self, variables: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> None:
        self.variables = variables
        self.functions = functions
        self.spent = 0

    def charge(self, size: int) -> None:
        self.spent += size
        if self.spent > MAX_EVALUATION_SIZE:
            raise ExpressionError(f"expression builds more than {MAX_EVALUATION_SIZE} characters of data")

    def run(self, node: Node) -> Any:
        match node:
            case Literal(value=value):
                return value
            case Name(name=name):
                value = self.variables.get(name, _MISSING)
                if value is _MISSING:
                    hint = f" (did you mean {name}()?)" if name in self.functions else ""
                    raise ExpressionError(f"unknown variable '{name}'{hint}")
                return value
            case Member(obj=obj, key=key):
                return _read_key(self.run(obj), key)
            case Index(obj=obj, key=key):
                return _read_index(self.run(obj), self.run(key))
            case GetVariable(name=name):
                key = self.run(name)
                if not isinstance(key, str):
                    raise ExpressionError("execution.getVariable needs a variable name (a string)")
                return self.variables.get(key)  # Camunda returns null for an unset variable
            case Call(function=name, args=args):
                return self._call(name, args)
            case ListLiteral(items=items):
                values = [self.run(item) for item in items]
                self.charge(_limited_size(values))
                return values
            case Unary(op=op, operand=operand):
                return _unary(op, self.run(operand))
            case Binary(op=op, left=left, right=right):
                return self._binary(op, self.run(left), self.run(right))
            case Logical(op=op, left=left, right=right):
                value = self.run(left)  # short-circuit, and like Python the deciding operand is the value
                if (op == "and") == bool(value):
                    return self.run(right)
                return value
            case Compare(first=first, rest=rest):
                left_value = self.run(first)
                for op, right in rest:
                    right_value = self.run(right)
                    if not _compare(op, left_value, right_value):
                        return False
                    left_value = right_value
                return True
            case Conditional(test=test, then=then, otherwise=otherwise):
                return self.run(then) if self.run(test) else self.run(otherwise)
            case Template(parts=parts):
                return self._render(parts)
        raise ExpressionError(f"unsupported expression element {type(node).__name__}")

    def _call(self, name: str, arg_nodes: tuple[Node, ...]) -> Any:
        function = self.functions.get(name)  # only names: a variable holding a callable is never called
        if function is None:
            raise ExpressionError(f"unknown function '{name}'")
        args = [self.run(arg) for arg in arg_nodes]
        try:
            result = function(*args)
        except ExpressionError:
            raise
        except Exception as exc:
            # The original message may quote argument values (citizen data): keep only its type.
            raise ExpressionError(f"function '{name}' failed ({type(exc).__name__})") from None
        self.charge(_size(result, MAX_EVALUATION_SIZE))
        return result

    def _binary(self, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            return _power(left, right)
        if op == "%" and isinstance(left, str | bytes):
            # str % args is printf-style formatting (e.g. '%*d' pads to any width): refused.
            raise ExpressionError("'%' is only for numbers")
        if op == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            self.charge(_check_built(_size(left, MAX_VALUE_SIZE) + _size(right, MAX_VALUE_SIZE)))
        elif op == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, _SEQUENCES) and isinstance(count, int):
                    # Checked before building: 'a' * 10**8 must not allocate anything.
                    self.charge(_check_built(_size(sequence, MAX_VALUE_SIZE) * max(count, 0)))
        try:
            return _ARITHMETIC[op](left, right)
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
        except OverflowError:
            raise ExpressionError(f"number out of range in '{op}'") from None
        except (TypeError, ValueError):
            raise ExpressionError(_type_message(op, left, right)) from None

    def _render(self, parts: tuple[str | Node, ...]) -> str:
        pieces: list[str] = []
        total = 0
        for part in parts:
            piece = part if isinstance(part, str) else _to_text(self.run(part))
            total += len(piece)
            _check_built(total)  # checked part by part: many large parts must not pile up
            pieces.append(piece)
        self.charge(total)
        return "".join(pieces)


def _read_key(obj: Any, key: str) -> Any:
    if obj is None:
        return None  # JUEL: a property of null is null
    if isinstance(obj, Mapping):
        return obj.get(key)  # a missing key is null, as with Camunda's map resolver
    raise ExpressionError(f"cannot read '{key}' of a {type(obj).__name__}: only mappings have members")


def _read_index(obj: Any, key: Any) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        try:
            return obj.get(key)
        except TypeError:
            raise ExpressionError(f"a {type(key).__name__} cannot be a key") from None
    if isinstance(obj, _SEQUENCES):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ExpressionError(f"a {type(obj).__name__} index must be an integer")
        return obj[key] if -len(obj) <= key < len(obj) else None
    raise ExpressionError(f"cannot index a {type(obj).__name__}")


def _unary(op: str, value: Any) -> Any:
    if op == "not":
        return not value
    if op == "empty":
        return value is None or (isinstance(value, _COLLECTIONS) and not value)
    if not isinstance(value, int | float | timedelta):
        raise ExpressionError(f"cannot apply unary '{op}' to {type(value).__name__}")
    return -value if op == "-" else +value


def _power(base: Any, exponent: Any) -> Any:
    if not (isinstance(base, int | float) and isinstance(exponent, int | float)):
        raise ExpressionError(_type_message("**", base, exponent))
    # Refuse before computing: 9**9**9 would otherwise run for a very long time.
    if abs(exponent) > MAX_EXPONENT:
        raise ExpressionError(f"exponent larger than {MAX_EXPONENT} in '**'")
    if base != 0 and math.log10(abs(base)) * exponent > MAX_POWER_DIGITS:
        raise ExpressionError(f"result of '**' would exceed 10**{MAX_POWER_DIGITS}")
    try:
        result = base**exponent
    except ZeroDivisionError:
        raise ExpressionError("division by zero in '**'") from None
    except OverflowError:
        raise ExpressionError("number out of range in '**'") from None
    if isinstance(result, complex):
        raise ExpressionError("result of '**' is not a real number")
    return result


def _compare(op: str, left: Any, right: Any) -> bool:
    try:
        if op in ("in", "not in"):
            return (left in right) == (op == "in")
        if op in ("is", "is not"):
            return (left is right) == (op == "is")
        left, right = _align_dates(left, right)
        return bool(_ORDERING[op](left, right))
    except _NotADate:
        if op in ("==", "!="):
            return op == "!="
        raise ExpressionError(f"cannot compare a date with a non-ISO text using '{op}'") from None
    except TypeError:
        raise ExpressionError(_type_message(op, left, right)) from None


class _NotADate(Exception):
    pass


def _align_dates(left: Any, right: Any) -> tuple[Any, Any]:
    """Task data holds dates as ISO text (it is JSON): compare them with real dates as dates."""
    if isinstance(left, date) and isinstance(right, str):
        return left, _text_as_date(right, left)
    if isinstance(right, date) and isinstance(left, str):
        return _text_as_date(left, right), right
    return left, right


def _text_as_date(text: str, like: date) -> date:
    try:
        value = date_time(text)
    except ExpressionError:
        raise _NotADate from None
    return value if isinstance(like, datetime) else value.date()


def _type_message(op: str, left: Any, right: Any) -> str:
    return f"cannot apply '{op}' to {type(left).__name__} and {type(right).__name__}"


def _size(value: Any, limit: int) -> int:
    """Approximate rendered size of a value; stops walking once past ``limit``."""
    total = 0
    pending = [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            if total <= limit:
                pending.extend(item)
        elif isinstance(item, Mapping):
            total += len(item)
            if total <= limit:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        else:
            total += 8
    return total


def _limited_size(value: Any) -> int:
    return _check_built(_size(value, MAX_VALUE_SIZE))


def _check_built(size: int) -> int:
    if size > MAX_VALUE_SIZE:
        raise ExpressionError(f"expression would build a value larger than {MAX_VALUE_SIZE} characters")
    return size


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    _limited_size(value)
    try:
        return str(value)
    except ValueError:  # an integer beyond Python's digit limit
        raise ExpressionError("value too large to show as text") from None


# --------------------------------------------------------------------------- public API


class Expression:
    """A parsed expression; evaluate it any number of times against different variables."""

    __slots__ = ("_root", "text")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self._root = root

    def evaluate(
        self, variables: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] | None = None
    ) -> Any:
        """Evaluate with ``variables`` (never modified) and DEFAULT_FUNCTIONS plus ``functions``."""
        usable = DEFAULT_FUNCTIONS if functions is None else ChainMap(dict(functions), DEFAULT_FUNCTIONS)
        try:
            return _Evaluation(variables, usable).run(self._root)
        except ExpressionError as exc:
            raise ExpressionError(f"{exc} in expression '{_excerpt(self.text)}'") from None
        except RecursionError:  # self-referencing data compared with itself, for instance
            raise ExpressionError(f"data nested too deeply in expression '{_excerpt(self.text)}'") from None
        except Exception as exc:  # the contract is "always ExpressionError", and never the raw message
            problem = f"evaluation failed ({type(exc).__name__})"
            raise ExpressionError(f"{problem} in expression '{_excerpt(self.text)}'") from None

    def __repr__(self) -> str:
        return f"Expression({_excerpt(self.text)!r})"


def _excerpt(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "…"


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Expression:
    return Expression(text, parse_text(text))


def _parse_checked(text: str) -> Expression:
    # Type and length are checked before the cache so a 10 MB string is not even hashed.
    if not isinstance(text, str):
        raise ExpressionError("expression must be a string")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    return _parse_cached(text)


def parse(text: str) -> Expression:
    """Parse (once; results are cached by text) or raise ExpressionError naming the problem."""
    try:
        return _parse_checked(text)
    except ExpressionError as exc:
        where = f" in expression '{_excerpt(text)}'" if isinstance(text, str) else ""
        raise ExpressionError(f"{exc}{where}") from None


def evaluate(
    text: str, variables: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] | None = None
) -> Any:
    """Parse ``text`` (cached) and evaluate it against ``variables``."""
    return parse(text).evaluate(variables, functions)


def check_syntax(text: str) -> str | None:
    """None when ``text`` parses; otherwise a short message for the deploy-time validator."""
    try:
        _parse_checked(text)
    except ExpressionError as exc:
        return str(exc)
    return None
