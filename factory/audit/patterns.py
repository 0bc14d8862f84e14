"""IAM string matching: `*`/`?` wildcards, ARN segments and policy variables.

Policy variables (`${aws:PrincipalTag/team}`, `${aws:username, 'default'}`, and the escapes
`${*}`, `${?}`, `${$}`) are bound from a normalized request context. A variable whose key is
absent or multi-valued, and that has no default, raises `UnresolvedVariableError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

NormalContext = Mapping[str, tuple[str, ...]]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'((?:[^']|'')*)'\s*$")
_ESCAPES = frozenset("*?$")
_ARN_COLONS = 5


class UnresolvedVariableError(LookupError):
    """A policy variable has no single value in the request context."""

    def __init__(self, variable: str) -> None:
        super().__init__(variable)
        self.variable = variable


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalize_context(context: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Lower-case the keys (IAM key names are case-insensitive) and make every value a tuple."""
    return {
        key.lower(): tuple(scalar_text(v) for v in as_list(value)) for key, value in context.items()
    }


def variable_value(expression: str, context: NormalContext) -> str:
    if expression in _ESCAPES:
        return expression
    match = _DEFAULT.match(expression)
    name, default = (
        (match.group(1), match.group(2).replace("''", "'")) if match else (expression, None)
    )
    values = context.get(name.strip().lower(), ())
    if len(values) == 1:
        return values[0]
    if default is not None:
        return default
    raise UnresolvedVariableError(name.strip())


def substitute(value: str, context: NormalContext | None) -> str:
    """Replace policy variables with their values; `context=None` leaves the text untouched."""
    if context is None or "${" not in value:
        return value
    return _VARIABLE.sub(lambda m: variable_value(m.group(1), context), value)


def _wildcards(text: str, *, arn: bool, colons: int) -> tuple[str, int]:
    out: list[str] = []
    for char in text:
        within_segment = arn and colons < _ARN_COLONS
        if char == "*":
            out.append("[^:]*" if within_segment else ".*")
        elif char == "?":
            out.append("[^:]" if within_segment else ".")
        else:
            colons += 1 if char == ":" else 0
            out.append(re.escape(char))
    return "".join(out), colons


def _literal_colons(pattern: str, variables: bool) -> int:
    return (_VARIABLE.sub("", pattern) if variables else pattern).count(":")


def _translate(pattern: str, context: NormalContext | None, *, arn: bool) -> str:
    arn = arn and _literal_colons(pattern, context is not None) >= _ARN_COLONS
    parts = _VARIABLE.split(pattern) if context is not None else [pattern]
    out: list[str] = []
    colons = 0
    for index, part in enumerate(parts):
        if index % 2:
            out.append(re.escape(variable_value(part, context or {})))
        else:
            text, colons = _wildcards(part, arn=arn, colons=colons)
            out.append(text)
    return "".join(out)


@lru_cache(maxsize=8192)
def _compiled(pattern: str, ignore_case: bool, arn: bool) -> re.Pattern[str]:
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.compile(_translate(pattern, None, arn=arn), flags)


def wildcard_match(
    pattern: str,
    value: str,
    context: NormalContext | None = None,
    *,
    ignore_case: bool = False,
    arn: bool = False,
) -> bool:
    """IAM glob match; with `arn=True` a six-segment pattern keeps wildcards in their segment."""
    if context is None or "${" not in pattern:
        return _compiled(pattern, ignore_case, arn).fullmatch(value) is not None
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(_translate(pattern, context, arn=arn), value, flags) is not None


def any_match(patterns: Iterable[str], value: str, **options: Any) -> bool:
    return any(wildcard_match(pattern, value, **options) for pattern in patterns)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _bound_or_placeholder(expression: str, context: NormalContext) -> str:
    try:
        return variable_value(expression, context)
    except UnresolvedVariableError:
        return "x"


def witness(pattern: str, context: NormalContext) -> str:
    """A concrete string matched by `pattern`, using context values for variables where known."""
    parts = _VARIABLE.split(pattern)
    return "".join(
        _bound_or_placeholder(part, context)
        if index % 2
        else part.replace("*", "x").replace("?", "x")
        for index, part in enumerate(parts)
    )
