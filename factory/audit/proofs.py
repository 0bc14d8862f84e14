"""The separation-of-duties questions ``studio-factory audit`` answers from the templates.

Each :class:`Question` names a persona (a role in the bootstrap stack), a request and the
answer the seeds promise. The answers come from the offline evaluator, so a policy edit
that breaks a promise fails the audit (and the test suite) before anything is deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from factory import naming
from factory.audit.evaluator import (
    PolicySet,
    Request,
    evaluate,
    principal_can_any,
    resolve_principals,
    resolve_value,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role{naming.EXECUTION_ROLE_PATH}alice"


@dataclass(frozen=True)
class Question:
    persona: str
    text: str
    action: str
    resource: str
    expected: bool
    context: Mapping[str, Any] | None = None
    every_action: bool = False  # action is a pattern: "may it do ANY matching action?"


@dataclass(frozen=True)
class Answer:
    question: Question
    allowed: bool
    reason: str

    @property
    def ok(self) -> bool:
        return self.allowed == self.question.expected


def questions(boundary_arn: str) -> list[Question]:
    own = {"aws:PrincipalTag/studiouserid": "alice", "sagemaker:ResourceTag/studiouserid": "alice"}
    other = {"aws:PrincipalTag/studiouserid": "alice", "sagemaker:ResourceTag/studiouserid": "bob"}
    to_sm = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    return [
        Question(
            "CloudAdminRole",
            "holds no SageMaker permission at all",
            "sagemaker:*",
            "*",
            False,
            every_action=True,
        ),
        Question(
            "CloudAdminRole",
            "launches catalog products",
            "servicecatalog:ProvisionProduct",
            f"arn:aws:catalog:{REGION}:{ACCOUNT}:product/prod-abcdefghijklm",
            True,
        ),
        Question(
            "CloudAdminRole",
            "cannot assume other roles (e.g. the publisher)",
            "sts:AssumeRole",
            f"arn:aws:iam::{ACCOUNT}:role/PublisherRole",
            False,
        ),
        Question(
            "DataScientistRole",
            "opens Studio as their own profile",
            "sagemaker:CreatePresignedDomainUrl",
            f"{SM}:user-profile/d-abc/alice",
            True,
            own,
        ),
        Question(
            "DataScientistRole",
            "cannot open another person's profile",
            "sagemaker:CreatePresignedDomainUrl",
            f"{SM}:user-profile/d-abc/bob",
            False,
            other,
        ),
        Question(
            "DataScientistRole",
            "cannot create profiles",
            "sagemaker:CreateUserProfile",
            f"{SM}:user-profile/d-abc/mallory",
            False,
        ),
        Question(
            "LaunchRole",
            "creates execution roles with the boundary",
            "iam:CreateRole",
            EXEC_ROLE,
            True,
            {"iam:PermissionsBoundary": boundary_arn},
        ),
        Question(
            "LaunchRole",
            "cannot create a role without the boundary",
            "iam:CreateRole",
            EXEC_ROLE,
            False,
        ),
        Question(
            "LaunchRole",
            "cannot create a role outside the catalog path",
            "iam:CreateRole",
            f"arn:aws:iam::{ACCOUNT}:role/Admin",
            False,
            {"iam:PermissionsBoundary": boundary_arn},
        ),
        Question(
            "LaunchRole",
            "passes catalog execution roles to SageMaker",
            "iam:PassRole",
            EXEC_ROLE,
            True,
            to_sm,
        ),
        Question(
            "LaunchRole",
            "cannot pass an arbitrary role",
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/Admin",
            False,
            to_sm,
        ),
        Question(
            "LaunchRole",
            "cannot pass a catalog role to another service",
            "iam:PassRole",
            EXEC_ROLE,
            False,
            {"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        Question(
            "LaunchRole",
            "runs Service Catalog stacks",
            "cloudformation:CreateStack",
            f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/SC-{ACCOUNT}-pp-abc/1",
            True,
        ),
        Question(
            "LaunchRole",
            "cannot touch stacks outside Service Catalog's",
            "cloudformation:DeleteStack",
            f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/network/1",
            False,
        ),
        Question(
            "LaunchRole",
            "cannot remove a role's boundary",
            "iam:DeleteRolePermissionsBoundary",
            EXEC_ROLE,
            False,
        ),
        Question(
            "PublisherRole",
            "cannot launch products",
            "servicecatalog:ProvisionProduct",
            f"arn:aws:catalog:{REGION}:{ACCOUNT}:product/prod-abcdefghijklm",
            False,
        ),
    ]


def ask(principals: Mapping[str, PolicySet], question: Question) -> Answer:
    policies = principals[question.persona]
    context = dict(question.context or {})
    if question.every_action:
        allowed = principal_can_any(policies, question.action, [question.resource], context)
        reason = "some matching action is allowed" if allowed else "every matching action denied"
        return Answer(question, allowed, reason)
    decision = evaluate(
        policies, Request(policies.principal_arn, question.action, question.resource, context)
    )
    return Answer(question, decision.allowed, decision.reason)


def audit_bootstrap(template: Mapping[str, Any]) -> list[Answer]:
    principals = resolve_principals(template)
    boundary = resolve_value({"Ref": "ExecutionRoleBoundary"}, template)
    return [ask(principals, q) for q in questions(str(boundary))]
