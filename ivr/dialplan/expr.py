"""A small, safe expression language for dialplan conditions (no `eval`).

    emotion.anger >= 0.7 and turns.failures >= 2
    amount > 1000 or caller in ["13800138000", "10086"]
    language == "en-US" and not verified
    len(account) == 8

Values: numbers, "strings" or 'strings', true, false, null, [lists]. Names are dotted paths
into the call's variables (`amount`, `emotion.anger`, `turns.count`); an unknown name is
null. Operators, loosest first: `or`, `and`, `not`, comparisons (== != < <= > >= in, not in),
+ -, * / %, unary -. Functions: len, lower, upper, contains, startswith, int, float, str.
Expressions are parsed once (`compile_expr`) and evaluated against a mapping.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ExprError(ValueError):
    """The expression is malformed; `position` is the 0-based column of the problem."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.position = position


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<op>==|!=|<=|>=|[<>()\[\],+\-*/%])"
    r"|(?P<name>[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*(?:\.[\w\u4e00-\u9fff]+)*(?P<dot>\.*)))"
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # num, str, op, name, kw, end
    value: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            col = pos + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise ExprError(f"unexpected character {text[col]!r}", col)
        kind = next(k for k in ("num", "str", "op", "name") if m.group(k) is not None)
        value = m.group(kind)
        if kind == "name" and m.group("dot"):
            raise ExprError(f"malformed name {value!r}: a dot must join two names",
                            m.start(kind))
        start = m.start(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "kw"
        out.append(_Tok(kind, value, start))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


Node = Callable[[Mapping[str, Any]], Any]


def _lookup(path: str) -> Node:
    parts = path.split(".")

    def get(env: Mapping[str, Any]) -> Any:
        cur: Any = env
        for p in parts:  # mappings only: no attribute access, nothing to escape through
            cur = cur.get(p) if isinstance(cur, Mapping) else None
            if cur is None:
                return None
        return cur

    return get


def _safe(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except (TypeError, ValueError):
            return None  # len(null), int("x"): null, not a crash mid-call

    call.__name__ = name
    return call


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _safe(len, "len"),
    "lower": _safe(lambda s: None if s is None else str(s).lower(), "lower"),
    "upper": _safe(lambda s: None if s is None else str(s).upper(), "upper"),
    "contains": _safe(lambda s, sub: s is not None and str(sub) in str(s), "contains"),
    "startswith": _safe(lambda s, p: s is not None and str(s).startswith(str(p)), "startswith"),
    "int": _safe(lambda v: int(float(v)), "int"),
    "float": _safe(float, "float"),
    "str": _safe(lambda v: "" if v is None else str(v), "str"),
}


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def cmp(a: Any, b: Any) -> bool:
        try:
            return bool(op(a, b))
        except TypeError:  # null < 3, "a" < 1: false rather than a crash
            return False

    return cmp


def _arith(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def calc(a: Any, b: Any) -> Any:
        try:
            return op(a, b)
        except (TypeError, ZeroDivisionError):
            return None

    return calc


_CMP = {"==": _compare(operator.eq), "!=": _compare(operator.ne), "<": _compare(operator.lt),
        "<=": _compare(operator.le), ">": _compare(operator.gt), ">=": _compare(operator.ge)}
_ADD = {"+": _arith(operator.add), "-": _arith(operator.sub)}
_MUL = {"*": _arith(operator.mul), "/": _arith(operator.truediv), "%": _arith(operator.mod)}


def _contains(item: Any, seq: Any) -> bool:
    try:
        return item in seq
    except TypeError:
        return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.names: set[str] = set()

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self, kind: str, value: str | None = None) -> _Tok | None:
        t = self.tok
        if t.kind == kind and (value is None or t.value == value):
            self.i += 1
            return t
        return None

    def expect(self, kind: str, value: str) -> None:
        if not self.take(kind, value):
            got = self.tok.value or "end of expression"
            raise ExprError(f"expected {value!r}, got {got!r}", self.tok.pos)

    def parse(self) -> Node:
        node = self.or_()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected {self.tok.value!r}", self.tok.pos)
        return node

    def or_(self) -> Node:
        left = self.and_()
        while self.take("kw", "or"):
            right = self.and_()
            left = (lambda a, b: lambda env: bool(a(env)) or bool(b(env)))(left, right)
        return left

    def and_(self) -> Node:
        left = self.not_()
        while self.take("kw", "and"):
            right = self.not_()
            left = (lambda a, b: lambda env: bool(a(env)) and bool(b(env)))(left, right)
        return left

    def not_(self) -> Node:
        if self.take("kw", "not"):
            inner = self.not_()
            return lambda env: not inner(env)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        t = self.tok
        if t.kind == "op" and t.value in _CMP:
            self.i += 1
            right = self.additive()
            fn = _CMP[t.value]
            return lambda env: fn(left(env), right(env))
        if self.take("kw", "in"):
            right = self.additive()
            return lambda env: _contains(left(env), right(env))
        if t.kind == "kw" and t.value == "not" and self.toks[self.i + 1].value == "in":
            self.i += 2
            right = self.additive()
            return lambda env: not _contains(left(env), right(env))
        return left

    def _binary(self, table: dict[str, Callable[[Any, Any], Any]], sub: Callable[[], Node]) -> Node:
        left = sub()
        while self.tok.kind == "op" and self.tok.value in table:
            fn = table[self.tok.value]
            self.i += 1
            right = sub()
            left = (lambda a, b, f: lambda env: f(a(env), b(env)))(left, right, fn)
        return left

    def additive(self) -> Node:
        return self._binary(_ADD, self.multiplicative)

    def multiplicative(self) -> Node:
        return self._binary(_MUL, self.unary)

    def unary(self) -> Node:
        if self.take("op", "-"):
            inner = self.unary()
            return lambda env: _arith(operator.sub)(0, inner(env))
        return self.atom()

    def atom(self) -> Node:
        t = self.tok
        if self.take("num"):
            value: Any = float(t.value) if "." in t.value else int(t.value)
            return lambda env: value
        if self.take("str"):
            s = re.sub(r"\\(.)", r"\1", t.value[1:-1])
            return lambda env: s
        if t.kind == "kw" and t.value in ("true", "false", "null"):
            self.i += 1
            const = {"true": True, "false": False, "null": None}[t.value]
            return lambda env: const
        if self.take("op", "("):
            inner = self.or_()
            self.expect("op", ")")
            return inner
        if self.take("op", "["):
            items: list[Node] = []
            if not self.take("op", "]"):
                items.append(self.or_())
                while self.take("op", ","):
                    items.append(self.or_())
                self.expect("op", "]")
            return lambda env: [f(env) for f in items]
        if self.take("name"):
            if self.take("op", "("):
                fn = FUNCTIONS.get(t.value)
                if fn is None:
                    raise ExprError(f"unknown function {t.value!r}; known: "
                                    + ", ".join(sorted(FUNCTIONS)), t.pos)
                args: list[Node] = []
                if not self.take("op", ")"):
                    args.append(self.or_())
                    while self.take("op", ","):
                        args.append(self.or_())
                    self.expect("op", ")")
                return lambda env: fn(*(a(env) for a in args))
            self.names.add(t.value)
            return _lookup(t.value)
        got = t.value or "end of expression"
        raise ExprError(f"expected a value, got {got!r}", t.pos)


@dataclass(frozen=True)
class Expr:
    source: str
    names: frozenset[str]  # dotted variable names it reads (for lint)
    _fn: Node

    def __call__(self, env: Mapping[str, Any]) -> Any:
        return self._fn(env)

    def truthy(self, env: Mapping[str, Any]) -> bool:
        return bool(self._fn(env))


def compile_expr(text: str) -> Expr:
    """Parse `text`; raises ExprError with a position on bad syntax."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression")
    p = _Parser(text)
    fn = p.parse()
    return Expr(text, frozenset(p.names), fn)
