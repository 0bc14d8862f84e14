"""Derived proofs on the shape of policies: resource-level support and IAM size quotas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from factory.audit.derived import AuditInputs
from factory.audit.derived import policy_sizes as sizes
from factory.audit.derived import resource_scope as scope
from factory.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return {
        str(p.relative_to(ROOT)): load_template(p)
        for folder in ("templates", "launch")
        for p in sorted((ROOT / folder).glob("*.yaml"))
    }


def _role(statements: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "p",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
            **extra,
        },
    }


def _inputs(*statements: Any, **resources: Any) -> AuditInputs:
    template = {"Resources": {"Role": _role(list(statements)), **resources}}
    return AuditInputs({"templates/t.yaml": template})


def _allow(action: Any, resource: Any, sid: str = "S") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}


SM = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"


# --- resource scope ---------------------------------------------------------------------------


def test_star_only_action_scoped_to_an_arn_fails_with_the_sar_types() -> None:
    result = scope.check(
        _inputs(
            _allow(
                "servicecatalog:TerminateProvisionedProduct",
                {"Fn::Sub": "arn:${AWS::Partition}:servicecatalog:*:*:stack/*/pp-*"},
                sid="Terminate",
            )
        )
    )
    (failure,) = result.failures
    assert failure.template == "templates/t.yaml"
    assert failure.resource == "Role/p Sid Terminate"
    assert failure.action == "servicecatalog:TerminateProvisionedProduct"
    assert failure.arn == "arn:*:servicecatalog:*:*:stack/*/pp-*"
    assert 'accepts only "*"' in failure.reason
    assert "Service Authorization Reference" in failure.source


def test_wrong_resource_type_fails_and_names_the_accepted_types() -> None:
    result = scope.check(
        _inputs(_allow("sagemaker:CreateDomain", {"Fn::Sub": f"{SM}:user-profile/*/*"}))
    )
    (failure,) = result.failures
    assert "domain (arn:${Partition}:sagemaker:${Region}:${Account}:domain/" in failure.reason


def test_matching_scope_star_and_other_resources_of_the_statement_pass() -> None:
    result = scope.check(
        _inputs(
            _allow(
                ["sagemaker:CreateDomain", "sagemaker:CreateUserProfile"],
                [{"Fn::Sub": f"{SM}:domain/*"}, {"Fn::Sub": f"{SM}:user-profile/*/*"}],
            ),
            _allow("servicecatalog:TerminateProvisionedProduct", "*"),
        )
    )
    assert result.ok
    assert result.checked == 3


def test_wildcard_action_fails_only_when_no_expanded_action_fits() -> None:
    some_fit = _allow("sagemaker:Describe*", {"Fn::Sub": f"{SM}:domain/*"})
    none_fit = _allow("sagemaker:ListDomain*", {"Fn::Sub": f"{SM}:domain/*"}, sid="List")
    result = scope.check(_inputs(some_fit, none_fit))
    assert [f.resource for f in result.failures] == ["Role/p Sid List"]
    assert "sagemaker:ListDomain* (" in result.failures[0].action


def test_both_fn_if_branches_of_statements_and_resources_are_checked() -> None:
    bad = _allow("sagemaker:CreateDomain", {"Fn::Sub": f"{SM}:app/*/*"}, sid="Bad")
    result = scope.check(
        _inputs(
            {"Fn::If": ["C", bad, {"Ref": "AWS::NoValue"}]},
            _allow(
                "kms:CreateKey",
                {"Fn::If": ["C", "*", {"Fn::Sub": "arn:${AWS::Partition}:kms:*:*:key/*"}]},
                sid="Key",
            ),
        )
    )
    assert sorted(f.resource for f in result.failures) == ["Role/p Sid Bad"]


def test_get_att_arn_is_the_resources_service_shape() -> None:
    fn = {"Type": "AWS::Lambda::Function", "Properties": {}}
    good = _allow("lambda:InvokeFunction", {"Fn::GetAtt": ["Fn", "Arn"]}, sid="Good")
    bad = _allow("s3:GetObject", {"Fn::GetAtt": ["Fn", "Arn"]}, sid="Bad")
    result = scope.check(_inputs(good, bad, Fn=fn))
    assert [f.resource for f in result.failures] == ["Role/p Sid Bad"]


def test_unresolvable_resources_and_not_resource_are_skipped_not_failed() -> None:
    result = scope.check(
        _inputs(
            _allow("sagemaker:CreateDomain", {"Ref": "SomeArnParameter"}, sid="Param"),
            {"Effect": "Allow", "Action": "sagemaker:CreateDomain", "NotResource": "x"},
        )
    )
    assert result.ok
    assert "1 statement(s) with unresolvable Resources skipped" in result.title
    assert scope.scan(_inputs()).skipped == ()


def test_managed_policies_and_boundaries_are_checked_too() -> None:
    managed = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_allow("ecr:GetAuthorizationToken", "arn:aws:ecr:*:*:repository/*")],
            }
        },
    }
    result = scope.check(_inputs(Boundary=managed))
    assert [f.resource for f in result.failures] == ["Boundary Sid S"]


def test_mutation_scoping_a_star_only_action_in_the_launch_role_fails(committed) -> None:
    broken = copy.deepcopy(committed)
    boot = broken["launch/studio-catalog-bootstrap.yaml"]
    statements = boot["Resources"]["LaunchRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    statements["Statement"].append(
        _allow(
            "cloudformation:ValidateTemplate",
            {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:*:stack/SC-*"},
            sid="Mutant",
        )
    )
    failures = scope.check(AuditInputs(broken)).failures
    assert any(
        f.resource == "LaunchRole/launch-studio-products Sid Mutant"
        and f.action == "cloudformation:ValidateTemplate"
        for f in failures
    )


def test_committed_templates_pass(committed) -> None:
    result = scope.check(AuditInputs(committed))
    assert [f.line() for f in result.failures] == []


# --- policy sizes -----------------------------------------------------------------------------


def test_longest_regions_come_from_botocore() -> None:
    assert sizes.longest_region("aws-us-gov").startswith("us-gov-")
    assert sizes.longest_region("aws-cn").startswith("cn-")
    assert "global" not in sizes.longest_region("aws")


def test_whitespace_is_not_counted() -> None:
    assert sizes.policy_characters({"A": "b c"}) == len('{"A":"bc"}')


def _padded(count: int) -> AuditInputs:
    arn = {"Fn::Sub": "arn:${AWS::Partition}:s3:::b-${AWS::Region}-${AWS::AccountId}/x"}
    return _inputs(_allow("s3:GetObject", [arn] * count))


def test_quota_is_checked_in_the_partition_with_the_longest_arns() -> None:
    count = 1
    while True:
        found = {
            s.partition: s.characters
            for s in sizes.all_sizes(_padded(count))
            if s.kind == sizes.INLINE
        }
        if found["aws-us-gov"] > sizes.QUOTAS[sizes.INLINE]:
            break
        count += 1
    assert found["aws"] <= sizes.QUOTAS[sizes.INLINE]
    (failure,) = sizes.check(_padded(count)).failures
    assert failure.resource == "Role"
    assert failure.action == "aggregate inline policies per role"
    assert failure.arn.startswith("partition aws-us-gov")
    assert "IAM and AWS STS quotas" in failure.source


def test_conditional_policies_count_and_the_longer_branch_is_taken() -> None:
    deny = {
        "Type": "AWS::IAM::RolePolicy",
        "Condition": "HideTool",
        "Properties": {
            "RoleName": {"Ref": "Role"},
            "PolicyName": "deny",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
            },
        },
    }
    long_branch = _allow("s3:GetObject", "arn:aws:s3:::" + "x" * 500)
    statement = {"Fn::If": ["Short", _allow("s3:GetObject", "*"), long_branch]}
    template = {
        "Conditions": {"HideTool": {"Fn::Equals": ["a", "b"]}},
        "Resources": {"Role": _role([statement]), "Deny": deny},
    }
    (inline,) = [
        s
        for s in sizes.template_sizes("t", template, "aws")
        if s.kind == sizes.INLINE and s.subject == "Role"
    ]
    expected = sizes.policy_characters(
        {"Version": "2012-10-17", "Statement": [long_branch]}
    ) + sizes.policy_characters(deny["Properties"]["PolicyDocument"])
    assert inline.characters == expected


def test_generated_names_take_iam_maximum_length() -> None:
    template = {
        "Resources": {
            "Role": _role([_allow("iam:PassRole", {"Fn::GetAtt": ["Other", "Arn"]})]),
            "Other": _role([]),
        }
    }
    (inline,) = [
        s
        for s in sizes.template_sizes("t", template, "aws")
        if s.kind == sizes.INLINE
        if s.subject == "Role"
    ]
    assert inline.characters > 64


def test_trust_and_managed_policies_are_measured(committed) -> None:
    kinds = {(s.subject, s.kind) for s in sizes.all_sizes(AuditInputs(committed))}
    assert ("LaunchRole", sizes.TRUST) in kinds
    assert ("ExecutionRoleBoundary", sizes.MANAGED) in kinds
    assert any("margin" in line for line in sizes.report_lines(AuditInputs(committed)))


def test_mutation_an_oversized_managed_policy_fails(committed) -> None:
    broken = copy.deepcopy(committed)
    boot = broken["launch/studio-catalog-bootstrap.yaml"]
    document = boot["Resources"]["ExecutionRoleBoundary"]["Properties"]["PolicyDocument"]
    document["Statement"].append(_allow("s3:GetObject", ["arn:aws:s3:::" + "x" * 60] * 100))
    failures = sizes.check(AuditInputs(broken)).failures
    assert any(
        f.resource == "ExecutionRoleBoundary" and f.action == "managed policy" for f in failures
    )


def test_committed_templates_pass_sizes(committed) -> None:
    assert [f.line() for f in sizes.check(AuditInputs(committed)).failures] == []
