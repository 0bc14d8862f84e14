"""IAM `Condition` element evaluation.

Semantics follow the IAM reference ("Condition operators", "Multivalued context keys"):
operators AND together, keys within an operator AND together, values of one key OR together.
A key absent from the request context makes a positive operator false and a negated operator
(`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, ...) true; `...IfExists` makes it true;
`ForAllValues:` is true and `ForAnyValue:` false on an absent or empty key; `Null` tests presence.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from factory.audit.patterns import (
    NormalContext,
    as_list,
    scalar_text,
    substitute,
    wildcard_match,
)

Matcher = Callable[[str, str, NormalContext | None], bool]

FOR_ALL = "ForAllValues"
FOR_ANY = "ForAnyValue"


class PolicyError(ValueError):
    """A policy document uses syntax that cannot be evaluated."""


@dataclass(frozen=True)
class Operator:
    name: str
    qualifier: str | None
    if_exists: bool


def parse_operator(text: str) -> Operator:
    qualifier, _, name = text.rpartition(":")
    if qualifier not in ("", FOR_ALL, FOR_ANY):
        raise PolicyError(f"unknown condition set operator {qualifier!r}")
    if_exists = name.endswith("IfExists")
    return Operator(name.removesuffix("IfExists"), qualifier or None, if_exists)


def _string_equals(policy: str, request: str, context: NormalContext | None) -> bool:
    return substitute(policy, context) == request


def _string_equals_ignore_case(policy: str, request: str, context: NormalContext | None) -> bool:
    return substitute(policy, context).lower() == request.lower()


def _string_like(policy: str, request: str, context: NormalContext | None) -> bool:
    return wildcard_match(policy, request, context)


def _arn_like(policy: str, request: str, context: NormalContext | None) -> bool:
    return request.count(":") >= 5 and wildcard_match(policy, request, context, arn=True)


def _bool(policy: str, request: str, context: NormalContext | None) -> bool:
    return substitute(policy, context).lower() == request.lower()


def _binary(policy: str, request: str, _context: NormalContext | None) -> bool:
    return policy == request


def _ip_address(policy: str, request: str, _context: NormalContext | None) -> bool:
    try:
        return ipaddress.ip_address(request) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        parsed = datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _compare(parse: Callable[[str], float], relation: Callable[[float, float], bool]) -> Matcher:
    def matcher(policy: str, request: str, _context: NormalContext | None) -> bool:
        try:
            return relation(parse(request), parse(policy))
        except ValueError:
            return False

    return matcher


def _ordered(prefix: str, parse: Callable[[str], float]) -> dict[str, tuple[Matcher, bool]]:
    return {
        f"{prefix}Equals": (_compare(parse, operator.eq), False),
        f"{prefix}NotEquals": (_compare(parse, operator.eq), True),
        f"{prefix}LessThan": (_compare(parse, operator.lt), False),
        f"{prefix}LessThanEquals": (_compare(parse, operator.le), False),
        f"{prefix}GreaterThan": (_compare(parse, operator.gt), False),
        f"{prefix}GreaterThanEquals": (_compare(parse, operator.ge), False),
    }


OPERATORS: dict[str, tuple[Matcher, bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip_address, False),
    "NotIpAddress": (_ip_address, True),
    **_ordered("Numeric", _number),
    **_ordered("Date", _date),
}


def _null_matches(values: list[str], present: bool) -> bool:
    return any((value.lower() == "true") != present for value in values)


def _key_matches(
    op: Operator,
    values: list[str],
    request_values: tuple[str, ...],
    variables: NormalContext | None,
) -> bool:
    if op.name == "Null":
        return _null_matches(values, bool(request_values))
    if op.name not in OPERATORS:
        raise PolicyError(f"unsupported condition operator {op.name!r}")
    matcher, negated = OPERATORS[op.name]
    if not request_values:
        if op.if_exists or op.qualifier == FOR_ALL:
            return True
        return negated and op.qualifier is None

    def satisfied(request_value: str) -> bool:
        hit = any(matcher(value, request_value, variables) for value in values)
        return hit != negated

    if op.qualifier == FOR_ANY or (op.qualifier is None and not negated):
        return any(satisfied(value) for value in request_values)
    return all(satisfied(value) for value in request_values)


def condition_matches(
    condition: Mapping[str, Any],
    context: NormalContext,
    variables: NormalContext | None,
) -> bool:
    """Evaluate a whole `Condition` block. `variables=None` disables policy variables."""
    for operator_text, body in condition.items():
        op = parse_operator(operator_text)
        if not isinstance(body, Mapping):
            raise PolicyError(f"condition operator {operator_text!r} needs a key/value mapping")
        for key, raw in body.items():
            values = [scalar_text(value) for value in as_list(raw)]
            if not _key_matches(op, values, context.get(key.lower(), ()), variables):
                return False
    return True
