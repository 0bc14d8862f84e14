"""Derived proof: key policies let the launch role manage and use the keys products create."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from factory.audit.derived import key_policies
from factory.audit.derived.base import BOOTSTRAP, AuditInputs, Failure
from factory.audit.derived.key_policies import key_policy_allows
from factory.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "templates/studio-domain.yaml"
ROLE = "arn:aws:iam::123456789012:role/Launch"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, *actions: str, **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": list(actions),
        "Resource": "*",
        **extra,
    }


# --- key policy evaluation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": "arn:aws:iam::123456789012:root"},
        {"AWS": "123456789012"},
        {"AWS": [ROLE]},
        "*",
    ],
)
def test_key_policy_principals_that_cover_the_launch_role(principal: Any) -> None:
    assert key_policy_allows(
        policy(allow(principal, "kms:*")), ROLE, "kms:DeleteAlias", KEY
    ).allowed


def test_key_policy_other_account_or_service_does_not_cover() -> None:
    other = policy(
        allow({"AWS": "arn:aws:iam::999999999999:root"}, "kms:*"),
        allow({"Service": "sagemaker.amazonaws.com"}, "kms:*"),
    )
    decision = key_policy_allows(other, ROLE, "kms:Decrypt", KEY)
    assert not decision.allowed and "no key policy statement" in decision.reason


def test_key_policy_deny_wins_and_conditions_apply() -> None:
    root = {"AWS": "arn:aws:iam::123456789012:root"}
    denied = policy(
        allow(root, "kms:*"), {**allow(root, "kms:ScheduleKeyDeletion"), "Effect": "Deny"}
    )
    assert not key_policy_allows(denied, ROLE, "kms:ScheduleKeyDeletion", KEY).allowed
    assert key_policy_allows(denied, ROLE, "kms:Decrypt", KEY).allowed
    conditional = policy(
        allow(
            root, "kms:*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Other"}}
        )
    )
    assert not key_policy_allows(conditional, ROLE, "kms:Decrypt", KEY).allowed


def test_missing_key_policy_is_the_default_delegation() -> None:
    assert key_policy_allows({}, ROLE, "kms:Decrypt", KEY).allowed


# --- mutation tests on the committed templates ---------------------------------------------


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    paths = [ROOT / DOMAIN, ROOT / "templates/studio-user-profile.yaml", ROOT / BOOTSTRAP]
    return {str(p.relative_to(ROOT)): load_template(p) for p in paths}


def key_policy_actions(templates: dict[str, Any]) -> list[str]:
    key = templates[DOMAIN]["Resources"]["DomainKey"]["Properties"]["KeyPolicy"]
    actions: list[str] = key["Statement"][0]["Action"]
    return actions


def launch_statements(templates: dict[str, Any]) -> list[dict[str, Any]]:
    role = templates[BOOTSTRAP]["Resources"]["LaunchRole"]["Properties"]
    return role["Policies"][0]["PolicyDocument"]["Statement"]


def delete_alias(failures: tuple[Failure, ...], reason: str) -> list[Failure]:
    return [
        f
        for f in failures
        if f.resource == "DomainKey" and f.action == "kms:DeleteAlias" and reason in f.reason
    ]


def test_dropping_delete_alias_from_the_key_policy_fails(committed: dict[str, Any]) -> None:
    fixed = copy.deepcopy(committed)
    if "kms:DeleteAlias" not in key_policy_actions(fixed):
        key_policy_actions(fixed).append("kms:DeleteAlias")
    assert not delete_alias(key_policies.check(AuditInputs(fixed, ROOT)).failures, "key policy")

    broken = copy.deepcopy(fixed)
    key_policy_actions(broken).remove("kms:DeleteAlias")
    [failure] = delete_alias(key_policies.check(AuditInputs(broken, ROOT)).failures, "key policy")
    assert failure.template == DOMAIN
    assert failure.arn.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert "DeleteAlias" in failure.source and "AWS::KMS::Alias" in failure.source


def test_dropping_delete_alias_from_the_launch_role_fails(committed: dict[str, Any]) -> None:
    broken = copy.deepcopy(committed)
    for statement in launch_statements(broken):
        if isinstance(statement, dict) and isinstance(statement.get("Action"), list):
            statement["Action"] = [a for a in statement["Action"] if a != "kms:DeleteAlias"]
    found = delete_alias(key_policies.check(AuditInputs(broken, ROOT)).failures, "identity")
    assert found and found[0].template == DOMAIN


def test_domain_key_users_are_covered(committed: dict[str, Any]) -> None:
    """The domain's KMS permissions (handler + SAR) are checked against the domain key."""
    broken = copy.deepcopy(committed)
    key_policy_actions(broken).remove("kms:CreateGrant")
    failures = key_policies.check(AuditInputs(broken, ROOT)).failures
    grant = [f for f in failures if f.action == "kms:CreateGrant" and "key policy" in f.reason]
    assert grant and "AWS::SageMaker::Domain" in grant[0].source


def test_committed_templates_pass(committed: dict[str, Any]) -> None:
    result = key_policies.check(AuditInputs(committed, ROOT))
    assert result.ok, "\n".join(f.line() for f in result.failures)


# --- synthetic templates -------------------------------------------------------------------


def synthetic(key_policy: dict[str, Any], launch: dict[str, Any]) -> AuditInputs:
    trust = policy(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "servicecatalog.amazonaws.com"},
        }
    )
    boot = {
        "Resources": {
            "LaunchRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "Launch",
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [{"PolicyName": "p", "PolicyDocument": policy(launch)}],
                },
            }
        }
    }
    product = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}},
            "Alias": {
                "Type": "AWS::KMS::Alias",
                "Properties": {"AliasName": "alias/x", "TargetKeyId": {"Ref": "Key"}},
            },
        }
    }
    return AuditInputs({BOOTSTRAP: boot, "templates/k.yaml": product}, ROOT)


ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_root_delegation_and_identity_allow_pass() -> None:
    root = allow({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}, "kms:*")
    result = key_policies.check(synthetic(policy(root), ALL))
    assert result.ok and result.checked > 0


def test_key_policy_without_alias_actions_fails() -> None:
    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    narrow = policy({**allow(root, "kms:*"), "NotAction": ["kms:*Alias"], "Action": None})
    narrow["Statement"][0].pop("Action")
    result = key_policies.check(synthetic(narrow, ALL))
    assert {f.action for f in result.failures} == {
        "kms:CreateAlias",
        "kms:UpdateAlias",
        "kms:DeleteAlias",
    }
