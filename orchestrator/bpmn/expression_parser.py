"""Tokenizer and Pratt parser for the safe expression language (see ``expressions.py``).

The parser turns expression text into a tree of the small, immutable node classes below.
It never hands user text to ``eval``, ``exec``, ``compile`` or the ``ast`` module: the
language is exactly what this file accepts, and anything else is an ``ExpressionError``.

Text forms accepted by :func:`parse_text`:

* bare ISO 8601 literals (``P30D``, ``2026-12-01T17:00:00Z``, ``R3/PT1H``) → the same string;
* ``${expr}`` / ``#{expr}`` as the whole text → the value of ``expr``;
* text mixing literal parts and ``${expr}`` → string interpolation;
* anything else → a plain expression (SpiffWorkflow/Python-style conditions).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

MAX_EXPRESSION_LENGTH = 10_000
MAX_DEPTH = 100  # parser recursion and tree depth; keeps the interpreter far from RecursionError


class ExpressionError(ValueError):
    """Any failure to parse or evaluate an expression.

    Messages name the problem (and may quote the expression text) but never contain
    variable values: those are citizen data and error messages end up in logs.
    """


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Node:
    """Base of all tree nodes; ``depth`` is computed once so limits are cheap to check."""

    depth: int = field(init=False, default=1, compare=False, repr=False)

    def __post_init__(self) -> None:
        deepest = 0
        for f in fields(self):
            value = getattr(self, f.name)
            children = value if isinstance(value, tuple) else (value,)
            for child in children:
                if isinstance(child, Node):
                    deepest = max(deepest, child.depth)
                elif isinstance(child, tuple):  # (op, operand) pairs of a comparison chain
                    deepest = max([deepest, *(c.depth for c in child if isinstance(c, Node))])
        if deepest + 1 > MAX_DEPTH:
            raise ExpressionError(f"expression is nested too deeply (limit {MAX_DEPTH})")
        object.__setattr__(self, "depth", deepest + 1)


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    obj: Node
    key: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    obj: Node
    key: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class GetVariable(Node):
    """Camunda's ``execution.getVariable('name')``."""

    name: Node


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-", "+", "not", "empty"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # "+", "-", "*", "/", "%", "**"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logical(Node):
    op: str  # "and", "or" (short-circuit)
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A Python-style chain: ``a < b <= c`` means ``a < b and b <= c``."""

    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    test: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class Template(Node):
    """Literal text mixed with ``${...}`` parts; rendered as one string."""

    parts: tuple[str | Node, ...]


# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:()\[\],.])
    """,
    re.VERBOSE | re.DOTALL,
)

# Words with a meaning in the language; they cannot be variable names.
_WORD_OPERATORS = frozenset({
    "and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod", "in", "is", "if", "else",
    "empty", "true", "false", "null", "True", "False", "None",
})  # fmt: skip
_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
# Python statements and constructs someone may try; a clear refusal beats "unknown variable".
_FORBIDDEN_WORDS = frozenset({
    "lambda", "for", "while", "def", "class", "import", "from", "as", "with", "del", "global", "nonlocal",
    "yield", "await", "async", "return", "raise", "try", "except", "finally", "assert", "pass", "break",
    "continue", "elif", "exec", "eval",
})  # fmt: skip
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0", "/": "/"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "number", "string", "name", "op", "end"
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; refuses anything outside the language up front."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise ExpressionError(_bad_character(text, pos))
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "name":
            if value.startswith("_"):
                raise ExpressionError(f"names starting with '_' are not allowed: '{value[:50]}'")
            if value in _FORBIDDEN_WORDS:
                raise ExpressionError(f"'{value}' is not supported in expressions")
            if value in _WORD_OPERATORS:
                kind = "op"
        if kind != "space":
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    tokens.append(Token("end", "", pos))
    return tokens


def _bad_character(text: str, pos: int) -> str:
    char = text[pos]
    if char in "'\"":
        return f"unterminated string starting at position {pos}"
    if char == ";":
        return "';' is not allowed: an expression is a single expression"
    if char == "=":
        return f"assignment is not allowed (did you mean '=='?) at position {pos}"
    return f"unexpected character {char!r} at position {pos}"


def _unescape(quoted: str) -> str:
    body = quoted[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        escaped = next(chars)  # the token regex guarantees a character follows
        out.append(_ESCAPES.get(escaped, escaped))  # \\ \' \" and unknown escapes → the character
    return "".join(out)


# --------------------------------------------------------------------------- parser

# Binding powers, lowest first. Python-style `not` sits below comparisons (`not a == b`
# is `not (a == b)`); JUEL's `!`, unary minus and `empty` bind tighter, as in JUEL.
_TERNARY, _OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _POWER, _POSTFIX = range(10, 110, 10)
_BINARY = {
    "||": ("or", _OR), "or": ("or", _OR), "&&": ("and", _AND), "and": ("and", _AND),
    "+": ("+", _SUM), "-": ("-", _SUM),
    "*": ("*", _PRODUCT), "/": ("/", _PRODUCT), "div": ("/", _PRODUCT),
    "%": ("%", _PRODUCT), "mod": ("%", _PRODUCT),
    "**": ("**", _POWER),
}  # fmt: skip
_COMPARISONS = {
    "==": "==", "eq": "==", "!=": "!=", "ne": "!=", "<": "<", "lt": "<", ">": ">", "gt": ">",
    "<=": "<=", "le": "<=", ">=": ">=", "ge": ">=", "in": "in", "is": "is",
}  # fmt: skip


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.nesting = 0

    def parse(self) -> Node:
        if self._peek().kind == "end":
            raise ExpressionError("empty expression")
        node = self._expression(0)
        token = self._peek()
        if token.kind != "end":
            raise ExpressionError(f"unexpected '{token.value}' at position {token.pos}")
        return node

    # -- token helpers
    def _peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def _next(self) -> Token:
        token = self._peek()
        self.index += 1
        return token

    def _is(self, value: str, ahead: int = 0) -> bool:
        token = self._peek(ahead)
        return token.kind == "op" and token.value == value

    def _expect(self, value: str) -> None:
        token = self._next()
        if not (token.kind == "op" and token.value == value):
            found = f"'{token.value}'" if token.kind != "end" else "end of expression"
            raise ExpressionError(f"expected '{value}' but found {found} at position {token.pos}")

    # -- Pratt core
    def _expression(self, right_power: int) -> Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:  # checked before recursing further: no RecursionError
            raise ExpressionError(f"expression is nested too deeply (limit {MAX_DEPTH})")
        try:
            left = self._prefix(self._next())
            while right_power < self._infix_power():
                left = self._infix(self._next(), left)
            return left
        finally:
            self.nesting -= 1

    def _infix_power(self) -> int:
        token = self._peek()
        if token.kind != "op":
            return 0
        value = token.value
        if value in _BINARY:
            return _BINARY[value][1]
        if value in _COMPARISONS or (value == "not" and self._is("in", 1)):
            return _COMPARE
        if value in ("?", "if"):
            return _TERNARY
        if value in (".", "[", "("):
            return _POSTFIX
        return 0

    def _prefix(self, token: Token) -> Node:
        if token.kind == "number":
            return Literal(_number(token))
        if token.kind == "string":
            return Literal(_unescape(token.value))
        if token.kind == "name":
            return Name(token.value)
        value = token.value
        if token.kind == "op":
            if value in _CONSTANTS:
                return Literal(_CONSTANTS[value])
            if value == "(":
                inner = self._expression(0)
                self._expect(")")
                return inner
            if value == "[":
                return ListLiteral(self._sequence("]"))
            if value in ("-", "+"):
                return Unary(value, self._expression(_UNARY))
            if value == "!":
                return Unary("not", self._expression(_UNARY))
            if value == "not":
                return Unary("not", self._expression(_NOT))
            if value == "empty":
                return Unary("empty", self._expression(_UNARY))
        if token.kind == "end":
            raise ExpressionError("unexpected end of expression")
        raise ExpressionError(f"unexpected '{value}' at position {token.pos}")

    def _infix(self, token: Token, left: Node) -> Node:
        value = token.value
        if value == ".":
            name = self._next()
            if name.kind != "name":
                raise ExpressionError(f"expected a name after '.' at position {name.pos}")
            return Member(left, name.value)
        if value == "[":
            key = self._expression(0)
            self._expect("]")
            return Index(left, key)
        if value == "(":
            return self._call(left, token)
        if value == "?":
            then = self._expression(0)
            self._expect(":")
            return Conditional(left, then, self._expression(_TERNARY - 1))
        if value == "if":
            test = self._expression(_TERNARY)
            self._expect("else")
            return Conditional(test, left, self._expression(_TERNARY - 1))
        if value in _BINARY:
            op, power = _BINARY[value]
            if op in ("and", "or"):
                return Logical(op, left, self._expression(power))
            # `**` is right-associative and its right side may carry a unary sign (2 ** -1).
            right = self._expression(_UNARY - 1) if op == "**" else self._expression(power)
            return Binary(op, left, right)
        return self._comparison(token, left)

    def _comparison(self, token: Token, left: Node) -> Node:
        rest: list[tuple[str, Node]] = []
        while True:
            op = self._comparison_op(token)
            rest.append((op, self._expression(_COMPARE)))
            if self._infix_power() != _COMPARE:
                return Compare(left, tuple(rest))
            token = self._next()

    def _comparison_op(self, token: Token) -> str:
        if token.value == "not":  # `not in`; _infix_power only lets `not` through before `in`
            self._expect("in")
            return "not in"
        if token.value == "is" and self._is("not"):
            self._next()
            return "is not"
        return _COMPARISONS[token.value]

    def _call(self, callee: Node, token: Token) -> Node:
        args = self._sequence(")")
        if isinstance(callee, Name):
            return Call(callee.name, args)
        if isinstance(callee, Member) and callee.key == "getVariable" and callee.obj == Name("execution"):
            if len(args) != 1:
                raise ExpressionError("execution.getVariable takes exactly one argument")
            return GetVariable(args[0])
        raise ExpressionError(f"only whitelisted functions can be called, by name (position {token.pos})")

    def _sequence(self, closer: str) -> tuple[Node, ...]:
        items: list[Node] = []
        while not self._is(closer):
            items.append(self._expression(0))
            if not self._is(closer):
                self._expect(",")
        self._next()
        return tuple(items)


def _number(token: Token) -> int | float:
    try:
        is_decimal = "." in token.value or "e" in token.value.lower()
        number: int | float = float(token.value) if is_decimal else int(token.value)
    except ValueError:  # an integer literal beyond Python's digit limit
        raise ExpressionError(f"number literal too long at position {token.pos}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ExpressionError(f"number literal out of range at position {token.pos}")
    return number


# --------------------------------------------------------------------------- ISO literals

_NUM = r"[0-9]+(?:[.,][0-9]+)?"
_DURATION = (
    rf"P(?=[0-9T])(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?=[0-9])(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
)
_TIME = r"T[0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:[.,][0-9]+)?)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
_DATE = rf"[0-9]{{4}}-(?:[0-9]{{2}}-[0-9]{{2}}|W[0-9]{{2}}-?[0-9])(?:{_TIME})?"
_DURATION_RE = re.compile(_DURATION)
_DATE_RE = re.compile(_DATE)
_CYCLE_RE = re.compile(rf"R[0-9]*/(?:{_DURATION}|{_DATE})(?:/(?:{_DURATION}|{_DATE}))?")


def is_iso_literal(text: str) -> bool:
    """True for a bare ISO 8601 duration, date/datetime or repeating interval.

    Such text is a timer value, not an expression: ``2026-12-01`` must not become
    the subtraction 2026 - 12 - 1. Calendar dates are also checked for validity.
    """
    if not isinstance(text, str):
        return False
    text = text.strip()
    if _DURATION_RE.fullmatch(text):
        return True
    if _DATE_RE.fullmatch(text):
        return _valid_date(text)
    if _CYCLE_RE.fullmatch(text):
        return all(_valid_date(part) for part in text.split("/")[1:] if not part.startswith("P"))
    return False


def _valid_date(text: str) -> bool:
    if "W" in text:
        return True  # week dates are shape-checked only; SpiffWorkflow parses them itself
    try:
        value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError:
        return False
    return value is not None


# --------------------------------------------------------------------------- whole text


def parse_text(text: str) -> Node:
    """Parse any accepted text form (see module docstring) into a tree."""
    if not isinstance(text, str):
        raise ExpressionError("expression must be a string")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    stripped = text.strip()
    if is_iso_literal(stripped):
        return Literal(stripped)
    if _DATE_RE.fullmatch(stripped) or _CYCLE_RE.fullmatch(stripped):
        raise ExpressionError("invalid ISO 8601 date or time")
    if "${" not in text and "#{" not in text:
        return _Parser(text).parse()
    start = _template_start(stripped, 0)
    if start == 0:
        end = _template_end(stripped, start)
        if end == len(stripped) - 1:  # the whole text is one ${...}: keep the value's type
            return _Parser(stripped[2:end]).parse()
    return _template(text)


def _template(text: str) -> Template:
    parts: list[str | Node] = []
    pos = 0
    while (start := _template_start(text, pos)) >= 0:
        if start > pos:
            parts.append(text[pos:start])
        end = _template_end(text, start)
        parts.append(_Parser(text[start + 2 : end]).parse())
        pos = end + 1
    if pos < len(text):
        parts.append(text[pos:])
    return Template(tuple(parts))


def _template_start(text: str, pos: int) -> int:
    starts = [i for i in (text.find("${", pos), text.find("#{", pos)) if i >= 0]
    return min(starts, default=-1)


def _template_end(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` at ``start``; quotes may contain ``}``."""
    quote = ""
    pos = start + 2
    while pos < len(text):
        char = text[pos]
        if quote:
            if char == "\\":
                pos += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "}":
            return pos
        pos += 1
    raise ExpressionError(f"'{text[start : start + 2]}' at position {start} is never closed with '}}'")
