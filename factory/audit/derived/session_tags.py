"""Anyone can be anyone: session tags must come from the identity provider.

The data scientist's role opens Studio only where ``sagemaker:ResourceTag/studiouserid``
equals ``${aws:PrincipalTag/studiouserid}``. If the role's trust policy lets a caller pass any
``studiouserid`` session tag (``sts:TagSession`` without a condition), the caller picks whose
Studio to open (FIELD-NOTES, "A role trusted for sts:TagSession without a condition";
IAM User Guide, "Passing session tags in AWS STS": ``aws:RequestTag``/``aws:TagKeys`` in the
trust policy control which tags a caller may set).

For every role of the bootstrap whose policies use ``aws:PrincipalTag/studiouserid``, and for
every combination of the conditions its trust policy branches on, the trust policy (evaluated
as a resource-based policy) must:

* deny ``sts:TagSession`` by alice (principal tag ``studiouserid=alice`` set by the IdP)
  asking for ``studiouserid=bob``, and by a caller without that principal tag;
* let alice sign in: ``sts:AssumeRole`` + ``sts:TagSession`` with her own tag, or through a
  SAML provider (``sts:AssumeRoleWithSAML`` + ``sts:TagSession``, the tags then come from the
  signed assertion);
* if a caller without the tag may assume the role untagged, the role's identity policies must
  not let that session open any profile.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from factory.audit.derived.base import BOOTSTRAP, AuditInputs, Failure, ProofResult
from factory.audit.evaluator import (
    Caller,
    Request,
    evaluate,
    evaluate_resource_policy,
    resolve_principals,
    resolve_value,
)
from factory.audit.patterns import as_list

ORDER = 70
PROOF_ID = "session-tags"
TITLE = "Nobody can choose the studiouserid session tag of the data scientist's role"
SOURCE = (
    'IAM User Guide, "Passing session tags in AWS STS"; FIELD-NOTES "sts:TagSession without a '
    'condition"; issue 7 "Anyone can be anyone"'
)
TAG = "studiouserid"
ACCOUNT = "123456789012"
REGION = "us-east-1"
# An IAM Identity Center permission-set role: the usual caller (IAM Identity Center User
# Guide, "IAM roles created by IAM Identity Center").
CALLER_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_DataScientist_0123456789abcdef"
)
CALLER_PATTERN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_*"
SAML_PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/StudioIdP"
# Context of an AssumeRoleWithSAML request (IAM User Guide, "Available keys for SAML-based
# AWS STS federation").
SAML_CONTEXT = {"SAML:aud": "https://signin.aws.amazon.com/saml"}
PROFILE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/d-abcdefghijkl/bob"


@dataclass(frozen=True)
class Variant:
    conditions: Mapping[str, bool]
    trust: Mapping[str, Any]

    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.conditions.items()))
        return f"[{shown}]" if shown else "[defaults]"


def parameter_values(template: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters set so the trusted caller is alice's IdP role, in this account."""
    values: dict[str, Any] = {}
    for name in template.get("Parameters") or {}:
        lowered = name.lower()
        if lowered.endswith("principalarnpattern"):
            values[name] = CALLER_PATTERN
        elif lowered.endswith("trustaccountid"):
            values[name] = ACCOUNT
        elif "saml" in lowered and lowered.endswith(("arn", "providerarn")):
            values[name] = SAML_PROVIDER
    return values


def _if_conditions(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_if_conditions(item) for item in node)) if node else set()
    if isinstance(node, Mapping):
        found: set[str] = set()
        if list(node) == ["Fn::If"] and as_list(node["Fn::If"]):
            found.add(str(as_list(node["Fn::If"])[0]))
        for value in node.values():
            found |= _if_conditions(value)
        return found
    return set()


def variants(template: Mapping[str, Any], role: str) -> Iterator[Variant]:
    """The role's trust policy resolved for every combination of its Fn::If conditions."""
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
    names = sorted(_if_conditions(trust))
    context = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, **parameter_values(template)}
    for values in itertools.product((True, False), repeat=len(names)):
        conditions = dict(zip(names, values, strict=True))
        yield Variant(conditions, resolve_value(trust, template, context, conditions))


def tag_roles(template: Mapping[str, Any]) -> list[str]:
    """Roles whose identity policies decide on ``aws:PrincipalTag/studiouserid``."""
    needle = f"aws:PrincipalTag/{TAG}".lower()
    return [
        logical_id
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::IAM::Role"
        and needle in repr(resource.get("Properties", {}).get("Policies")).lower()
    ]


def _tags(request_tag: str) -> dict[str, Any]:
    return {f"aws:RequestTag/{TAG}": request_tag, "aws:TagKeys": [TAG]}


def _alice(tagged: bool = True) -> tuple[Caller, dict[str, Any]]:
    context: dict[str, Any] = {"aws:PrincipalArn": CALLER_ROLE}
    if tagged:
        context[f"aws:PrincipalTag/{TAG}"] = "alice"
    session = CALLER_ROLE.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
    return Caller("AWS", CALLER_ROLE, session + "/alice"), context


def _federated(trust: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for statement in as_list(trust.get("Statement")):
        principal = statement.get("Principal") if isinstance(statement, Mapping) else None
        if isinstance(principal, Mapping):
            found += [str(v) for v in as_list(principal.get("Federated"))]
    return list(dict.fromkeys(found))


class _Check:
    """The requests of one role and trust-policy variant."""

    def __init__(self, role: str, role_arn: str, variant: Variant) -> None:
        self.role, self.role_arn, self.variant = role, role_arn, variant
        self.failures: list[Failure] = []
        self.checked = 0

    def allowed(self, caller: Caller, action: str, context: Mapping[str, Any]) -> bool:
        self.checked += 1
        request = Request(caller.arn, action, self.role_arn, dict(context))
        return evaluate_resource_policy(self.variant.trust, request, caller, self.role).allowed

    def fail(self, action: str, reason: str) -> None:
        self.failures.append(
            Failure(
                template=BOOTSTRAP,
                resource=f"{self.role} trust policy {self.variant.label()}",
                action=action,
                arn=self.role_arn,
                source=SOURCE,
                reason=reason,
            )
        )

    def foreign_tags(self) -> None:
        caller, own = _alice()
        if self.allowed(caller, "sts:TagSession", {**own, **_tags("bob")}):
            self.fail("sts:TagSession", f"alice (principal tag {TAG}=alice) may set {TAG}=bob")
        caller, untagged = _alice(tagged=False)
        if self.allowed(caller, "sts:TagSession", {**untagged, **_tags("bob")}):
            self.fail("sts:TagSession", f"a caller without a {TAG} principal tag may set {TAG}=bob")

    def sign_in(self) -> None:
        caller, own = _alice()
        tags = {**own, **_tags("alice")}
        by_role = self.allowed(caller, "sts:AssumeRole", tags) and self.allowed(
            caller, "sts:TagSession", tags
        )
        saml = {**SAML_CONTEXT, **_tags("alice")}
        by_saml = any(
            self.allowed(Caller("Federated", provider), "sts:AssumeRoleWithSAML", saml)
            and self.allowed(Caller("Federated", provider), "sts:TagSession", saml)
            for provider in _federated(self.variant.trust)
        )
        if not (by_role or by_saml):
            self.fail(
                "sts:AssumeRole",
                f"alice cannot sign in with her own {TAG} tag (neither AssumeRole+TagSession "
                "nor AssumeRoleWithSAML+TagSession is allowed)",
            )

    def untagged_session(self, identity_allows_open: bool) -> None:
        caller, untagged = _alice(tagged=False)
        if self.allowed(caller, "sts:AssumeRole", untagged) and identity_allows_open:
            self.fail(
                "sts:AssumeRole",
                f"a caller without a {TAG} tag gets a session that can open another profile",
            )


def _untagged_session_opens_profile(template: Mapping[str, Any], role: str) -> bool:
    policies = resolve_principals(template, {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION})[
        role
    ]
    context = {f"sagemaker:ResourceTag/{TAG}": "bob"}
    request = Request(
        policies.principal_arn, "sagemaker:CreatePresignedDomainUrl", PROFILE, context
    )
    return evaluate(policies, request).allowed


def find_failures(template: Mapping[str, Any]) -> tuple[int, list[Failure]]:
    checked, failures = 0, []
    roles = tag_roles(template)
    if not roles:
        reason = f"no role decides on aws:PrincipalTag/{TAG}: nothing to prove"
        return 0, [Failure(BOOTSTRAP, "DataScientistRole", "*", "*", SOURCE, reason)]
    for role in roles:
        opens = _untagged_session_opens_profile(template, role)
        role_arn = resolve_principals(template)[role].principal_arn
        for variant in variants(template, role):
            run = _Check(role, role_arn, variant)
            run.foreign_tags()
            run.sign_in()
            run.untagged_session(opens)
            checked += run.checked
            failures += run.failures
    return checked, failures


def check(inputs: AuditInputs) -> ProofResult:
    checked, failures = find_failures(inputs.bootstrap)
    return ProofResult(PROOF_ID, TITLE, checked, tuple(failures))
