"""The dialplan expression language (`ivr.dialplan.expr`): parsing, evaluation, safety."""

from __future__ import annotations

import pytest

from ivr.dialplan.expr import ExprError, compile_expr

ENV = {
    "a": 1,
    "b": 2,
    "s": "Hello",
    "caller": "10086",
    "language": "zh-CN",
    "nums": [1, 2, 3],
    "emotion": {"anger": 0.8, "joy": 0.1},
    "turns": {"count": 3, "failures": 2, "last_intent": "billing"},
    "obj": object(),
    "nothing": None,
    "金额": 1200,
}


def ev(text: str, env: dict | None = None):
    return compile_expr(text)(ENV if env is None else env)


# ---------------------------------------------------------------- precedence
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left associative
        ("2 * 3 % 4", 2),  # (2*3) % 4
        ("-2 * 3", -6),
        ("- -2", 2),
        ("-(1 + 2)", -3),
        ("10 / 4", 2.5),
        ("7 % 3", 1),
        ("1.5 * 2", 3.0),
        ("1 + 2 == 3", True),  # arithmetic binds tighter than comparison
        ("2 * 3 > 5", True),
        ("true or false and false", True),  # and binds tighter than or
        ("(true or false) and false", False),
        ("not true or true", True),  # not binds tighter than or
        ("not (true or true)", False),
        ("not false and false", False),  # not binds tighter than and
        ("not 1 == 2", True),  # comparison binds tighter than not
        ("not not a", True),
        ("a == 1 and b == 2 or false", True),
        ("a == 2 or b == 2 and s == 'Hello'", True),
        ("a == 2 or b == 3 and true", False),
    ],
)
def test_precedence(text, expected):
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


def test_and_or_return_booleans():
    assert ev("a and 'x'") is True
    assert ev("0 or ''") is False
    assert ev("s or nothing") is True


# ---------------------------------------------------------------- in / not in, lists
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 in [1, 2, 3]", True),
        ("4 in [1, 2, 3]", False),
        ("4 not in [1, 2]", True),
        ("2 not in [1, 2]", False),
        ("caller in ['13800138000', '10086']", True),
        ("caller not in ['13800138000', '10086']", False),
        ("'ell' in s", True),
        ("'xyz' in s", False),
        ("3 in nums", True),
        ("1 in nothing", False),  # in over null: false, no crash
        ("1 not in nothing", True),
        ("1 in 5", False),  # in over a number: false, no crash
        ("a + 1 in [2]", True),  # arithmetic binds tighter than in
        ("not a in [5]", True),  # not applies to the whole test
    ],
)
def test_membership(text, expected):
    assert ev(text) is expected


def test_lists():
    assert ev("[]") == []
    assert ev("[1, 'a', [2, 3], null, true]") == [1, "a", [2, 3], None, True]
    assert ev("[a + 1, b * 2]") == [2, 4]
    assert ev("len([1, 2, 3])") == 3


# ---------------------------------------------------------------- strings
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"double"', "double"),
        ("'single'", "single"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"a\\"', "a\\"),
        ("'中文'", "中文"),
        ("''", ""),
        ("'a' + 'b'", "ab"),
        ("'and or not'", "and or not"),  # keywords inside strings are text
    ],
)
def test_strings_and_escapes(text, expected):
    assert ev(text) == expected


# ---------------------------------------------------------------- functions
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("len(s)", 5),
        ("len(caller) == 5", True),
        ("lower(s)", "hello"),
        ("upper(s)", "HELLO"),
        ("contains(s, 'ell')", True),
        ("contains(s, 'xyz')", False),
        ("startswith(caller, '100')", True),
        ("startswith(caller, '138')", False),
        ("int('42')", 42),
        ("int('4.7')", 4),
        ("int(3.9)", 3),
        ("float('2.5')", 2.5),
        ("str(12)", "12"),
        ("str(nothing)", ""),
        ("len(nothing)", None),  # TypeError inside a function -> null
        ("int('x')", None),  # ValueError inside a function -> null
        ("float(nothing)", None),
        ("upper(lower(s))", "HELLO"),
    ],
)
def test_functions(text, expected):
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


def test_string_functions_on_null():
    assert ev("lower(unknown)") is None
    assert ev("upper(unknown)") is None
    assert ev("contains(unknown, 'on')") is not True
    assert ev("startswith(unknown, 'N')") is not True


# ---------------------------------------------------------------- names
def test_unknown_names_are_null():
    assert ev("unknown") is None
    assert ev("unknown.deep.path") is None
    assert ev("unknown == null") is True
    assert ev("nothing == null") is True
    assert ev("null == null") is True


def test_dotted_lookups():
    assert ev("emotion.anger") == 0.8
    assert ev("emotion.anger >= 0.7 and turns.failures >= 2") is True
    assert ev("turns.last_intent == 'billing'") is True
    assert ev("emotion.fear") is None
    assert ev("emotion.anger.x") is None  # through a float: null
    assert ev("金额 > 1000") is True  # Chinese variable names


def test_empty_env():
    assert ev("emotion.anger >= 0.7 or turns.failures >= 2", {}) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nothing < 3", False),
        ("nothing > 3", False),
        ("nothing <= 3", False),
        ("nothing >= 0", False),
        ("unknown > 0.7", False),
        ("3 < unknown", False),
        ("'a' < 1", False),  # mixed types: false, no crash
        ("nothing != 3", True),
        ("not (nothing < 3)", True),
        ("emotion.anger >= 0.7", True),
    ],
)
def test_comparisons_with_null_are_false(text, expected):
    assert ev(text) is expected


@pytest.mark.parametrize(
    "text", ["1 / 0", "a / 0", "5 % 0", "a / (b - 2)", "nothing + 1", "a + 's'", "-s"]
)
def test_bad_arithmetic_is_null(text):
    assert ev(text) is None


def test_null_arithmetic_then_comparison_is_false():
    assert ev("a / 0 > 1") is False
    assert ev("a / 0 == null") is True


# ---------------------------------------------------------------- safety
@pytest.mark.parametrize(
    "text",
    [
        "language.__class__",
        "s.upper",
        "s.__len__",
        "obj.__class__",
        "obj.__class__.__mro__",
        "nums.__class__.__subclasses__",
        "emotion.__class__",
        "emotion.keys",
        "emotion.items",
        "__import__",
        "__builtins__",
        "__builtins__.open",
        "__import__.os",
        "x.__dict__",
        "nums.0",  # no list indexing in conditions
    ],
)
def test_no_attribute_access(text):
    assert ev(text) is None


def test_dunder_call_is_rejected_at_compile_time():
    with pytest.raises(ExprError) as exc:
        compile_expr("__import__('os')")
    assert exc.value.position == 0
    assert "unknown function '__import__'" in str(exc.value)


def test_lookup_does_not_touch_attributes():
    class Trap(dict):
        def __getattr__(self, name):  # pragma: no cover - must never run
            raise AssertionError(f"attribute {name} read")

    env = {"t": Trap(x=1), "o": Trap()}
    assert ev("t.x", env) == 1
    assert ev("t.y", env) is None
    assert ev("o.__class__", env) is None


# ---------------------------------------------------------------- names reported
def test_names_reported():
    e = compile_expr("emotion.anger >= 0.7 or turns.failures >= 2 and len(account) == 8")
    assert e.names == frozenset({"emotion.anger", "turns.failures", "account"})
    assert e.source == "emotion.anger >= 0.7 or turns.failures >= 2 and len(account) == 8"


def test_names_exclude_functions_keywords_and_strings():
    e = compile_expr("lower(x) == 'y' and not true or null in [z, 'w']")
    assert e.names == frozenset({"x", "z"})
    assert compile_expr("1 + 2").names == frozenset()


def test_truthy():
    assert compile_expr("a").truthy(ENV) is True
    assert compile_expr("nothing").truthy(ENV) is False
    assert compile_expr("''").truthy(ENV) is False
    assert compile_expr("[]").truthy(ENV) is False


def test_compiled_once_evaluated_many():
    e = compile_expr("amount > 1000")
    assert e({"amount": 1500}) is True
    assert e({"amount": 500}) is False
    assert e({}) is False


# ---------------------------------------------------------------- syntax errors
@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("1 +", 3, "expected a value, got 'end of expression'"),
        ("a ==", 4, "expected a value, got 'end of expression'"),
        ("not", 3, "expected a value, got 'end of expression'"),
        ("(1", 2, "expected ')', got 'end of expression'"),
        ("(a + 1", 6, "expected ')', got 'end of expression'"),
        ("[1, 2", 5, "expected ']', got 'end of expression'"),
        ("[1, 2 3]", 6, "expected ']', got '3'"),
        ("len(1,", 6, "expected a value, got 'end of expression'"),
        ("len(1 2)", 6, "expected ')', got '2'"),
        ("[1,]", 3, "expected a value, got ']'"),
        (")", 0, "expected a value, got ')'"),
        ("1 2", 2, "unexpected '2'"),
        ("a b", 2, "unexpected 'b'"),
        ("a == == b", 5, "expected a value, got '=='"),
        ("3 > 2 > 1", 6, "unexpected '>'"),  # comparisons do not chain
        ("x not 1", 2, "unexpected 'not'"),
        ("a and", 5, "expected a value, got 'end of expression'"),
        ("1 @ 2", 2, "unexpected character '@'"),
        ("  $", 2, "unexpected character '$'"),
        ("a = 1", 2, "unexpected character '='"),
        ("a == 1 && b", 7, "unexpected character '&'"),
        ("'abc", 0, "unexpected character \"'\""),
        ('x == "abc', 5, "unexpected character '\"'"),
        ("1.", 1, "unexpected character '.'"),
        ("foo(1)", 0, "unknown function 'foo'"),
        ("a == bar()", 5, "unknown function 'bar'"),
    ],
)
def test_syntax_errors(text, position, message):
    with pytest.raises(ExprError) as exc:
        compile_expr(text)
    assert exc.value.position == position
    assert message in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_unknown_function_lists_known_ones():
    with pytest.raises(ExprError) as exc:
        compile_expr("foo(1)")
    assert str(exc.value) == ("unknown function 'foo'; known: contains, float, int, len, lower, "
                              "startswith, str, upper")


def test_non_string_is_an_error():
    with pytest.raises(ExprError) as exc:
        compile_expr(None)  # type: ignore[arg-type]
    assert exc.value.position == 0


@pytest.mark.parametrize(("text", "position"), [("emotion. > 1", 0), ("a..b", 0)])
def test_malformed_dotted_name_is_an_error(text, position):
    with pytest.raises(ExprError) as exc:
        compile_expr(text)
    assert exc.value.position == position
