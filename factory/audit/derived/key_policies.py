"""Key policies: every KMS operation the launch role performs on a key a product creates is
allowed by the key policy and by the launch role's identity policy.

The operations over the stack's life come from data: the AWS::KMS::Key and AWS::KMS::Alias
registry-schema handlers (create, read, update, delete, tagging) and the KMS permissions (and
SAR dependent actions) of the resources that use the key, e.g. the domain's CreateGrant,
Decrypt, DescribeKey and GenerateDataKeyWithoutPlaintext. KMS authorizes with the key policy
first: a statement naming the account root (``arn:<p>:iam::<a>:root``) delegates to IAM, so
the identity policy must allow as well; this proof requires the identity policy in every case
(KMS Developer Guide, "Key policies in AWS KMS" / "Default key policy"). Alias operations need
the key policy too (KMS API Reference, CreateAlias/UpdateAlias/DeleteAlias, "Required
permissions").

The key policy is a resource-based policy with ``Principal``; the shared evaluator decides
identity policies only, so the matching here is local (``key_policy_allows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from factory.audit import registry, sar
from factory.audit.conditions import condition_matches
from factory.audit.derived._requests import (
    Checker,
    Facts,
    Requirement,
    canonical,
    dependent_actions,
    gated_out,
    requirements_for,
    resource_facts,
)
from factory.audit.derived._world import Rendering, world
from factory.audit.derived.base import AuditInputs, Failure, ProofResult
from factory.audit.evaluator import statements
from factory.audit.patterns import any_match, as_list, normalize_context, scalar_text
from factory.audit.resolver import GETATT_PREFIX

ORDER = 40
PROOF_ID = "key-policies"
TITLE = "Key policies let the launch role manage and use the keys the products create"

KMS_KEY = "AWS::KMS::Key"
KMS_ALIAS = "AWS::KMS::Alias"
KEY_POLICY_SOURCE = (
    "KMS Developer Guide 'Key policies in AWS KMS'; KMS API Reference Create/Update/DeleteAlias "
    "'Required permissions'"
)
POLICY_VARIABLES_VERSION = "2012-10-17"


@dataclass(frozen=True)
class KeyDecision:
    allowed: bool
    reason: str


def check(inputs: AuditInputs) -> ProofResult:
    launch = world(inputs)
    checker = Checker(launch.launch_role)
    principal = launch.launch_role.principal_arn
    failures: list[Failure] = []
    checked: set[tuple[str, str, str, tuple]] = set()
    for rendering in launch.renderings:
        for key_id, key_arn, document in _keys(rendering):
            for requirement in key_requirements(rendering, key_id, key_arn):
                checked.add(
                    (rendering.path, key_id, *requirement.request_key()[:2], requirement.context)
                )
                failures.extend(_judge(requirement, checker, document, principal))
    unique = tuple(dict.fromkeys(sorted(failures, key=lambda f: f.line())))
    return ProofResult(PROOF_ID, TITLE, len({c[2:] for c in checked}), _merge(unique))


def _merge(failures: Iterable[Failure]) -> tuple[Failure, ...]:
    """One failure per template, key, action and ARN (several resources may need it)."""
    merged: dict[tuple[str, str, str, str, str], Failure] = {}
    for failure in failures:
        key = (failure.template, failure.resource, failure.action, failure.arn, failure.reason)
        if key in merged:
            old = merged[key]
            if failure.source not in old.source:
                merged[key] = Failure(*key[:4], f"{old.source}; {failure.source}", old.reason)
        else:
            merged[key] = failure
    return tuple(merged.values())


def _keys(rendering: Rendering) -> list[tuple[str, str, Mapping[str, Any]]]:
    resolver = rendering.resolver
    found = []
    for logical_id, resource in resolver.resources.items():
        if resource.get("Type") != KMS_KEY or not resolver.exists(logical_id):
            continue
        arn = scalar_text(resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))
        document = resolver.resolve(resource.get("Properties", {}).get("KeyPolicy", {}))
        found.append((logical_id, arn, document if isinstance(document, Mapping) else {}))
    return found


def key_requirements(rendering: Rendering, key_id: str, key_arn: str) -> list[Requirement]:
    """KMS requests on ``key_arn`` by the handlers of the key, its aliases and its users."""
    resolver = rendering.resolver
    key_values = {key_arn, scalar_text(resolver.resolve({"Ref": key_id}))}
    found: list[Requirement] = []
    for logical_id, resource in resolver.resources.items():
        kind = str(resource.get("Type"))
        if registry.is_custom(kind) or not resolver.exists(logical_id):
            continue
        try:
            schema = registry.type_schema(kind)
        except registry.UnknownResourceTypeError:
            continue
        facts = resource_facts(rendering, logical_id, schema.taggable)
        if logical_id != key_id and not _uses(facts, key_values):
            continue
        found.extend(_kms_requirements(facts, schema, key_id, key_arn))
    return [r for r in found if r.arn == key_arn]


def _uses(facts: Facts, key_values: set[str]) -> bool:
    if facts.kind.startswith("AWS::IAM::") or facts.kind.startswith("AWS::SSM::"):
        return False  # names the key in a policy document or a published value: no KMS call
    return bool(key_values & set(_strings(facts.properties)))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _kms_requirements(
    facts: Facts, schema: registry.TypeSchema, key_id: str, key_arn: str
) -> list[Requirement]:
    found: list[Requirement] = []
    for permission, phases in schema.permissions().items():
        action = canonical(permission)
        if action is None or gated_out(schema.type_name, action, facts.properties):
            continue
        source = f"{registry.SOURCE} {schema.type_name} {'/'.join(phases)}"
        candidates = [(action, source)] + [
            (dep, f"{sar.SOURCE}: dependent action of {action}")
            for dep in dependent_actions(action)
        ]
        for candidate, why in candidates:
            if candidate.startswith("kms:") and not sar.accepts_only_star(candidate):
                found.extend(
                    requirements_for(candidate, facts, phases, f"{why} ({facts.logical_id})")
                )
    return [
        Requirement(r.template, key_id, r.action, r.arn, r.source, r.context)
        for r in found
        if r.arn == key_arn
    ]


def _judge(
    requirement: Requirement, checker: Checker, document: Mapping[str, Any], principal: str
) -> list[Failure]:
    failures = []
    allowed, reason = checker.decide(requirement)
    base = (requirement.template, requirement.resource, requirement.action, requirement.arn)
    if not allowed:
        failures.append(
            Failure(*base, requirement.source, f"launch role identity policy: {reason}")
        )
    context = {k: list(v) if len(v) != 1 else v[0] for k, v in requirement.context}
    decision = key_policy_allows(document, principal, requirement.action, requirement.arn, context)
    if not decision.allowed:
        source = f"{KEY_POLICY_SOURCE}; {requirement.source}"
        failures.append(Failure(*base, source, f"key policy: {decision.reason}"))
    return failures


def _account_of(principal_arn: str) -> str:
    parts = principal_arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _principal_matches(statement: Mapping[str, Any], principal_arn: str) -> bool:
    """Does the statement's Principal cover the caller (directly, by account, or ``*``)?"""
    if "NotPrincipal" in statement:
        return False  # not used by our key policies; treat as not granting
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    partition, account = principal_arn.split(":")[1], _account_of(principal_arn)
    root = f"arn:{partition}:iam::{account}:root"
    names = [scalar_text(p) for p in as_list(principal.get("AWS"))]
    return any(n in ("*", principal_arn, root, account) for n in names)


def _statement_applies(
    statement: Mapping[str, Any],
    action: str,
    key_arn: str,
    context: Mapping[str, Any],
    version: str,
) -> bool:
    if "Action" in statement:
        if not any_match(as_list(statement["Action"]), action, ignore_case=True):
            return False
    elif any_match(as_list(statement.get("NotAction")), action, ignore_case=True):
        return False
    resources = [scalar_text(r) for r in as_list(statement.get("Resource", "*"))]
    if "*" not in resources and not any_match(resources, key_arn, arn=True):
        return False
    normal = normalize_context(context)
    variables = normal if version == POLICY_VARIABLES_VERSION else None
    return condition_matches(statement.get("Condition", {}), normal, variables)


def key_policy_allows(
    document: Mapping[str, Any],
    principal_arn: str,
    action: str,
    key_arn: str,
    context: Mapping[str, Any] | None = None,
) -> KeyDecision:
    """Evaluate a key policy for one request: Deny wins, then any Allow whose Principal is the
    caller, its account root (delegation to IAM) or ``*``. A missing policy is KMS's default
    key policy, which delegates everything to IAM."""
    if not document:
        return KeyDecision(True, "default key policy delegates to IAM")
    full = {"aws:PrincipalArn": principal_arn, **(context or {})}
    version = scalar_text(document.get("Version", ""))
    allows: list[str] = []
    for index, statement in enumerate(statements(document)):
        if not _principal_matches(statement, principal_arn):
            continue
        if not _statement_applies(statement, action, key_arn, full, version):
            continue
        label = statement.get("Sid") or f"#{index}"
        if statement.get("Effect") == "Deny":
            return KeyDecision(False, f"explicit deny by key policy statement {label}")
        allows.append(str(label))
    if not allows:
        return KeyDecision(False, f"no key policy statement allows {action} to {principal_arn}")
    return KeyDecision(True, f"allowed by key policy statement {allows[0]}")


__all__ = ["GETATT_PREFIX", "KeyDecision", "check", "key_policy_allows", "key_requirements"]
