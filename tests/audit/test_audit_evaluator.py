"""Offline IAM evaluation for `studio-factory audit`: action db, conditions, resolver, hygiene."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from factory.audit.evaluator import (
    AllowListError,
    Policy,
    PolicyError,
    PolicySet,
    Request,
    ResolveError,
    UnknownActionError,
    allowed_requests,
    apply_allow_list,
    evaluate,
    expand_action_pattern,
    is_write_action,
    load_allow_list,
    parse_allow_list,
    principal_can_any,
    resolve_principals,
    resolve_value,
    scan_template,
    scan_templates,
)
from factory.audit.patterns import wildcard_match

ACCOUNT = "123456789012"
DOMAIN_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:domain/d-1"
PROFILE_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:user-profile/d-1/alice"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Tester"


def doc(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def policies(*documents: dict[str, Any], boundary: dict[str, Any] | None = None) -> PolicySet:
    return PolicySet(
        principal="Tester",
        principal_arn=ROLE_ARN,
        identity=tuple(Policy(f"P{i}", d) for i, d in enumerate(documents)),
        boundary=Policy("Boundary", boundary) if boundary else None,
    )


def request(
    action: str = "s3:GetObject", resource: str = "arn:aws:s3:::b/k", **context: Any
) -> Request:
    return Request(ROLE_ARN, action, resource, context)


def conditional(condition: dict[str, Any], **context: Any) -> bool:
    return evaluate(policies(doc(allow(Condition=condition))), request(**context)).allowed


# --- action database ---------------------------------------------------------------------


def test_expand_service_wildcard_uses_action_database() -> None:
    actions = expand_action_pattern("sagemaker:*")
    assert "sagemaker:CreateDomain" in actions
    assert "sagemaker:CreatePresignedDomainUrl" in actions
    assert len(actions) > 300
    assert all(action.startswith("sagemaker:") for action in actions)


def test_expand_is_case_insensitive_and_supports_question_mark() -> None:
    describes = expand_action_pattern("SageMaker:describe*")
    assert "sagemaker:DescribeDomain" in describes
    assert all(a.split(":")[1].startswith("Describe") for a in describes)
    assert expand_action_pattern("sagemaker:CreateDomai?") == ["sagemaker:CreateDomain"]
    assert expand_action_pattern("iam:passrole") == ["iam:PassRole"]


@pytest.mark.parametrize("pattern", ["sagemakr:*", "sagemaker:CreateDomian"])
def test_expand_rejects_patterns_matching_nothing(pattern: str) -> None:
    with pytest.raises(UnknownActionError):
        expand_action_pattern(pattern)


@pytest.mark.parametrize(
    ("action", "write"),
    [
        ("sagemaker:CreateDomain", True),
        ("sagemaker:AddTags", True),
        ("iam:PassRole", True),
        ("sagemaker:DescribeDomain", False),
        ("sagemaker:ListDomains", False),
    ],
)
def test_is_write_action(action: str, write: bool) -> None:
    assert is_write_action(action) is write


def test_is_write_action_rejects_unknown_action() -> None:
    with pytest.raises(UnknownActionError):
        is_write_action("sagemaker:Nope")


# --- matching ------------------------------------------------------------------------------


def test_resource_match_is_case_sensitive_and_action_match_is_not() -> None:
    pset = policies(doc(allow("S3:get*", "arn:aws:s3:::Bucket/*")))
    assert evaluate(pset, request("s3:GetObject", "arn:aws:s3:::Bucket/k")).allowed
    assert not evaluate(pset, request("s3:GetObject", "arn:aws:s3:::bucket/k")).allowed


def test_question_mark_matches_one_character() -> None:
    pset = policies(doc(allow(resource="arn:aws:s3:::b/?")))
    assert evaluate(pset, request(resource="arn:aws:s3:::b/k")).allowed
    assert not evaluate(pset, request(resource="arn:aws:s3:::b/kk")).allowed


def test_arn_wildcards_stay_within_their_segment() -> None:
    pattern = f"arn:aws:sagemaker:*:{ACCOUNT}:domain/*"
    assert wildcard_match(pattern, DOMAIN_ARN, arn=True)
    assert not wildcard_match(pattern, f"arn:aws:sagemaker:x:1:{ACCOUNT}:domain/d", arn=True)
    assert wildcard_match("*", DOMAIN_ARN, arn=True)


# --- evaluation logic ----------------------------------------------------------------------


def test_no_statement_means_no_allow() -> None:
    decision = evaluate(policies(doc(allow("s3:PutObject"))), request())
    assert not decision.allowed
    assert decision.reason == "no allow"


def test_allow_reports_sid_and_policy() -> None:
    decision = evaluate(policies(doc(allow(Sid="Read"))), request())
    assert decision.allowed
    assert decision.reason == "allowed by statement Sid Read in policy P0"
    assert decision.matched_sids == ("Read",)


def test_explicit_deny_wins_across_policies() -> None:
    pset = policies(doc(allow("s3:*")), doc(deny(Sid="NoGet")))
    decision = evaluate(pset, request())
    assert not decision.allowed
    assert decision.reason == "explicit deny by statement Sid NoGet in policy P1"
    assert decision.matched_sids == ("NoGet",)


def test_statement_without_sid_is_labelled_by_index() -> None:
    decision = evaluate(policies(doc(allow("s3:PutObject"), deny())), request())
    assert decision.reason == "explicit deny by statement #1 in policy P0"


def test_boundary_must_also_allow() -> None:
    identity = doc(allow("s3:*"))
    boundary = doc(allow("s3:Get*"))
    assert evaluate(policies(identity, boundary=boundary), request()).allowed
    decision = evaluate(policies(identity, boundary=boundary), request("s3:PutObject"))
    assert not decision.allowed
    assert decision.reason == "not allowed by permissions boundary"


def test_boundary_alone_grants_nothing() -> None:
    decision = evaluate(policies(doc(allow("s3:PutObject")), boundary=doc(allow("*"))), request())
    assert decision.reason == "no allow"


def test_deny_in_boundary_is_explicit_deny() -> None:
    boundary = doc(allow("*"), deny(Sid="Fence"))
    decision = evaluate(policies(doc(allow("*")), boundary=boundary), request())
    assert decision.reason == "explicit deny by statement Sid Fence in policy Boundary"


def test_not_action_allows_everything_else() -> None:
    pset = policies(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert evaluate(pset, request("s3:GetObject")).allowed
    assert not evaluate(pset, request("IAM:CreateRole")).allowed


def test_not_action_deny_with_not_resource() -> None:
    statement = {"Effect": "Deny", "NotAction": "s3:Get*", "NotResource": "arn:aws:s3:::safe/*"}
    pset = policies(doc(allow("s3:*"), statement))
    assert not evaluate(pset, request("s3:PutObject", "arn:aws:s3:::b/k")).allowed
    assert evaluate(pset, request("s3:PutObject", "arn:aws:s3:::safe/k")).allowed
    assert evaluate(pset, request("s3:GetObject", "arn:aws:s3:::b/k")).allowed


def test_statement_without_resource_is_an_error() -> None:
    with pytest.raises(PolicyError):
        evaluate(policies(doc({"Effect": "Allow", "Action": "*"})), request())


def test_unsupported_operator_is_an_error() -> None:
    with pytest.raises(PolicyError):
        conditional({"StringSortOf": {"aws:x": "y"}}, **{"aws:x": "y"})


# --- conditions ----------------------------------------------------------------------------

KEY = "aws:PrincipalTag/team"


@pytest.mark.parametrize(
    ("operator", "value", "actual", "expected"),
    [
        ("StringEquals", "ml", "ml", True),
        ("StringEquals", "ml", "ML", False),
        ("StringEquals", ["a", "ml"], "ml", True),
        ("StringNotEquals", "ml", "ml", False),
        ("StringNotEquals", ["a", "b"], "ml", True),
        ("StringEqualsIgnoreCase", "ml", "ML", True),
        ("StringNotEqualsIgnoreCase", "ml", "ML", False),
        ("StringLike", "m*", "ml", True),
        ("StringLike", "m?", "mlx", False),
        ("StringNotLike", "m*", "ml", False),
        ("StringNotLike", "x*", "ml", True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericNotEquals", "10", "11", True),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "11", True),
        ("NumericGreaterThanEquals", "10", "9", False),
        ("NumericEquals", "10", "ten", False),
        ("DateLessThan", "2030-01-01T00:00:00Z", "2026-05-01T00:00:00Z", True),
        ("DateGreaterThan", "2030-01-01T00:00:00Z", "1893456000", False),
        ("Bool", "true", "true", True),
        ("Bool", True, "false", False),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
        ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
        ("IpAddress", "10.0.0.0/8", "192.168.0.1", False),
        ("NotIpAddress", "10.0.0.0/8", "192.168.0.1", True),
        ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
        ("ArnEquals", f"arn:aws:iam::{ACCOUNT}:role/*", ROLE_ARN, True),
        ("ArnLike", "arn:aws:iam::*:role/Test?r", ROLE_ARN, True),
        ("ArnLike", "arn:aws:iam::*:role/Other", ROLE_ARN, False),
        ("ArnNotEquals", "arn:aws:iam::*:role/Other", ROLE_ARN, True),
        ("ArnNotLike", "arn:aws:iam::*:role/*", ROLE_ARN, False),
        ("ArnLike", "arn:aws:iam::*:role/*", "not-an-arn", False),
    ],
)
def test_condition_operators(operator: str, value: Any, actual: str, expected: bool) -> None:
    assert conditional({operator: {KEY: value}}, **{KEY: actual}) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("NumericEquals", False),
        ("Bool", False),
        ("ArnLike", False),
        ("IpAddress", False),
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotLike", True),
        ("NotIpAddress", True),
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAllValues:StringEquals", True),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    assert conditional({operator: {KEY: "1"}}) is expected


def test_if_exists_evaluates_present_keys() -> None:
    assert conditional({"StringEqualsIfExists": {KEY: "ml"}}, **{KEY: "ml"})
    assert not conditional({"StringEqualsIfExists": {KEY: "ml"}}, **{KEY: "web"})


@pytest.mark.parametrize(
    ("value", "present", "expected"),
    [("true", False, True), ("true", True, False), ("false", True, True), (False, False, False)],
)
def test_null_operator(value: Any, present: bool, expected: bool) -> None:
    context = {KEY: "ml"} if present else {}
    assert conditional({"Null": {KEY: value}}, **context) is expected


def test_condition_keys_are_case_insensitive_and_values_are_not() -> None:
    assert conditional({"StringEquals": {"AWS:principaltag/TEAM": "ml"}}, **{KEY: "ml"})


def test_multiple_keys_and_operators_are_anded() -> None:
    condition = {"StringEquals": {KEY: "ml", "aws:RequestedRegion": "us-east-1"}}
    assert conditional(condition, **{KEY: "ml", "aws:RequestedRegion": "us-east-1"})
    assert not conditional(condition, **{KEY: "ml", "aws:RequestedRegion": "eu-west-1"})
    two_operators = {"StringEquals": {KEY: "ml"}, "Bool": {"aws:SecureTransport": "true"}}
    assert not conditional(two_operators, **{KEY: "ml", "aws:SecureTransport": "false"})


TAG_KEYS = "aws:TagKeys"


def test_for_any_value() -> None:
    condition = {"ForAnyValue:StringEquals": {TAG_KEYS: ["team", "owner"]}}
    assert conditional(condition, **{TAG_KEYS: ["cost", "owner"]})
    assert not conditional(condition, **{TAG_KEYS: ["cost"]})
    assert not conditional(condition, **{TAG_KEYS: []})


def test_for_all_values() -> None:
    condition = {"ForAllValues:StringLike": {TAG_KEYS: ["team", "studio*"]}}
    assert conditional(condition, **{TAG_KEYS: ["team", "studiouserid"]})
    assert not conditional(condition, **{TAG_KEYS: ["team", "cost"]})
    assert conditional(condition, **{TAG_KEYS: []})


def test_negated_set_operators() -> None:
    any_not = {"ForAnyValue:StringNotEquals": {TAG_KEYS: ["team"]}}
    assert conditional(any_not, **{TAG_KEYS: ["team", "cost"]})
    assert not conditional(any_not, **{TAG_KEYS: ["team"]})
    all_not = {"ForAllValues:StringNotEquals": {TAG_KEYS: ["team"]}}
    assert conditional(all_not, **{TAG_KEYS: ["cost"]})
    assert not conditional(all_not, **{TAG_KEYS: ["cost", "team"]})


def test_unknown_set_qualifier_is_an_error() -> None:
    with pytest.raises(PolicyError):
        conditional({"ForSomeValues:StringEquals": {KEY: "x"}}, **{KEY: "x"})


# --- policy variables ----------------------------------------------------------------------

OWN_TAG = {
    "StringEquals": {"sagemaker:ResourceTag/studiouserid": "${aws:PrincipalTag/studiouserid}"}
}
OWN_PROFILE = doc(
    allow(
        "sagemaker:CreatePresignedDomainUrl",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:user-profile/*/*",
        Sid="OwnProfile",
        Condition=OWN_TAG,
    )
)


def test_policy_variable_in_condition_value() -> None:
    mine = {"aws:PrincipalTag/studiouserid": "alice", "sagemaker:ResourceTag/studiouserid": "alice"}
    theirs = {**mine, "sagemaker:ResourceTag/studiouserid": "bob"}
    action = "sagemaker:CreatePresignedDomainUrl"
    assert evaluate(policies(OWN_PROFILE), Request(ROLE_ARN, action, PROFILE_ARN, mine)).allowed
    assert not evaluate(
        policies(OWN_PROFILE), Request(ROLE_ARN, action, PROFILE_ARN, theirs)
    ).allowed


def test_policy_variable_in_resource() -> None:
    pset = policies(doc(allow(resource="arn:aws:s3:::home/${aws:username}/*")))
    assert evaluate(
        pset, request(resource="arn:aws:s3:::home/alice/k", **{"aws:username": "alice"})
    ).allowed
    assert not evaluate(
        pset, request(resource="arn:aws:s3:::home/bob/k", **{"aws:username": "alice"})
    ).allowed


def test_policy_variable_value_is_literal_not_a_wildcard() -> None:
    pset = policies(doc(allow(resource="arn:aws:s3:::home/${aws:username}/k")))
    assert not evaluate(
        pset, request(resource="arn:aws:s3:::home/alice/k", **{"aws:username": "*"})
    ).allowed


def test_policy_variable_default_and_escapes() -> None:
    pset = policies(doc(allow(resource="arn:aws:s3:::home/${aws:username, 'shared'}/${*}")))
    assert evaluate(pset, request(resource="arn:aws:s3:::home/shared/*")).allowed
    assert not evaluate(pset, request(resource="arn:aws:s3:::home/shared/k")).allowed


def test_missing_policy_variable_skips_statement_with_caveat() -> None:
    decision = evaluate(
        policies(OWN_PROFILE),
        Request(
            ROLE_ARN,
            "sagemaker:CreatePresignedDomainUrl",
            PROFILE_ARN,
            {"sagemaker:ResourceTag/studiouserid": "alice"},
        ),
    )
    assert not decision.allowed
    (caveat,) = decision.caveats
    assert caveat == (
        "statement Sid OwnProfile in policy P0 skipped: "
        "${aws:PrincipalTag/studiouserid} has no value"
    )


def test_variables_are_literal_in_old_policy_versions() -> None:
    pset = policies(doc(allow(resource="arn:aws:s3:::home/${aws:username}"), version="2008-10-17"))
    assert evaluate(pset, request(resource="arn:aws:s3:::home/${aws:username}")).allowed
    assert not evaluate(
        pset, request(resource="arn:aws:s3:::home/alice", **{"aws:username": "alice"})
    ).allowed


def test_principal_arn_defaults_from_request_principal() -> None:
    condition = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Tester"}}
    assert conditional(condition)


# --- resolver: intrinsic functions ---------------------------------------------------------

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Env": {"Type": "String", "Default": "dev"},
        "DomainId": {"Type": "String"},
        "Subnets": {"Type": "CommaDelimitedList", "Default": "s-1, s-2"},
    },
    "Mappings": {"Regions": {"us-east-1": {"Short": "use1"}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Both": {
            "Fn::And": [{"Condition": "NotProd"}, {"Fn::Or": [True, {"Condition": "IsProd"}]}]
        },
    },
    "Resources": {
        "Admin": {
            "Type": "AWS::IAM::Role",
            "Properties": {"RoleName": {"Fn::Sub": "${Env}-admin"}, "Path": "/studio/"},
        },
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "data"}},
        "Key": {"Type": "AWS::KMS::Key"},
        "Domain": {"Type": "AWS::SageMaker::Domain"},
        "Boundary": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"ManagedPolicyName": "fence"},
        },
    },
}
CONTEXT = {"DomainId": "d-1"}
SAGEMAKER_PREFIX = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
IAM_PREFIX = "arn:${AWS::Partition}:iam::${AWS::AccountId}"


def resolved(value: Any, **kwargs: Any) -> Any:
    return resolve_value(value, TEMPLATE, {**CONTEXT, **kwargs.pop("context", {})}, **kwargs)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::AccountId"}, ACCOUNT),
        ({"Ref": "Env"}, "dev"),
        ({"Ref": "DomainId"}, "d-1"),
        ({"Ref": "Subnets"}, ["s-1", "s-2"]),
        ({"Ref": "Admin"}, "dev-admin"),
        ({"Ref": "Bucket"}, "Bucket"),
        ({"Ref": "Boundary"}, f"arn:aws:iam::{ACCOUNT}:policy/fence"),
        ({"Fn::GetAtt": ["Admin", "Arn"]}, f"arn:aws:iam::{ACCOUNT}:role/studio/dev-admin"),
        ({"Fn::GetAtt": "Bucket.Arn"}, "arn:aws:s3:::data"),
        ({"Fn::GetAtt": "Key.Arn"}, f"arn:aws:kms:us-east-1:{ACCOUNT}:key/Key"),
        ({"Fn::GetAtt": ["Domain", "DomainId"]}, "Domain.DomainId"),
        (
            {"Fn::Sub": SAGEMAKER_PREFIX + ":domain/${DomainId}"},
            DOMAIN_ARN,
        ),
        (
            {"Fn::Sub": "${Bucket.Arn}/${!aws:PrincipalTag/team}/*"},
            "arn:aws:s3:::data/${aws:PrincipalTag/team}/*",
        ),
        ({"Fn::Sub": ["${Prefix}-${Env}", {"Prefix": {"Ref": "DomainId"}}]}, "d-1-dev"),
        ({"Fn::Join": [":", ["a", {"Ref": "Env"}, {"Ref": "AWS::NoValue"}]]}, "a:dev"),
        ({"Fn::Join": ["|", {"Ref": "Subnets"}]}, "s-1|s-2"),
        ({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}, "b"),
        ({"Fn::Select": ["0", {"Ref": "Subnets"}]}, "s-1"),
        ({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Short"]}, "use1"),
        ({"Fn::FindInMap": ["Regions", "eu-west-1", "Short", {"DefaultValue": "x"}]}, "x"),
        ({"Fn::ImportValue": "SharedRoleArn"}, "import:SharedRoleArn"),
        ({"Fn::If": ["IsProd", "p", "d"]}, "d"),
        ({"Fn::If": ["Both", "yes", "no"]}, "yes"),
        (["a", {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}], ["a"]),
        ({"k": {"Ref": "AWS::NoValue"}, "v": 1}, {"v": 1}),
    ],
)
def test_resolve_intrinsics(node: Any, expected: Any) -> None:
    assert resolved(node) == expected


def test_context_overrides_parameters_pseudo_parameters_and_imports() -> None:
    context = {"Env": "prod", "AWS::Region": "eu-west-1", "Fn::ImportValue:Shared": "arn:x"}
    assert resolved({"Fn::If": ["IsProd", "p", "d"]}, context=context) == "p"
    assert resolved({"Fn::Sub": "${AWS::Region}"}, context=context) == "eu-west-1"
    assert resolved({"Fn::ImportValue": "Shared"}, context=context) == "arn:x"


def test_caller_can_force_conditions() -> None:
    assert resolved({"Fn::If": ["IsProd", "p", "d"]}, conditions={"IsProd": True}) == "p"


def test_policy_document_version_date_becomes_text() -> None:
    import datetime

    assert resolved({"Version": datetime.date(2012, 10, 17)}) == {"Version": "2012-10-17"}


@pytest.mark.parametrize(
    "node",
    [
        {"Ref": "Nope"},
        {"Fn::Sub": "${aws:username}"},
        {"Fn::GetAtt": ["Nope", "Arn"]},
        {"Fn::Base64": "x"},
        {"Fn::If": ["Unknown", 1, 2]},
        {"Fn::FindInMap": ["Regions", "eu-west-1", "Short"]},
        {"Fn::Select": [5, ["a"]]},
    ],
)
def test_resolve_errors(node: Any) -> None:
    with pytest.raises(ResolveError):
        resolved(node)


def test_parameter_without_default_needs_context() -> None:
    with pytest.raises(ResolveError, match="DomainId"):
        resolve_value({"Ref": "DomainId"}, TEMPLATE)


# --- resolver: principals ------------------------------------------------------------------


def role(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, **properties}}


def managed(document: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": document, **properties},
    }


def test_resolve_principals_collects_every_attachment() -> None:
    template = {
        "Resources": {
            "Fence": managed(doc(allow("*"))),
            "ByArn": managed(doc(allow("s3:*"))),
            "ByRoles": managed(doc(allow("sqs:*")), Roles=[{"Ref": "Worker"}]),
            "Extra": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "x",
                    "PolicyDocument": doc(allow("sns:*")),
                    "Roles": [{"Ref": "Worker"}],
                },
            },
            "Worker": role(
                Policies=[
                    {
                        "PolicyName": "inline",
                        "PolicyDocument": {"Fn::If": ["Never", {}, doc(allow("logs:*"))]},
                    }
                ],
                ManagedPolicyArns=[{"Ref": "ByArn"}, "arn:aws:iam::aws:policy/ReadOnlyAccess"],
                PermissionsBoundary={"Ref": "Fence"},
            ),
            "Gone": {**role(), "Condition": "Never"},
        },
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
    }
    sets = resolve_principals(template)
    assert list(sets) == ["Worker"]
    worker = sets["Worker"]
    assert [p.name for p in worker.identity] == ["Worker/inline", "ByArn", "ByRoles", "Extra"]
    assert worker.identity[0].document == doc(allow("logs:*"))
    assert worker.boundary is not None and worker.boundary.name == "Fence"
    assert worker.unresolved == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert worker.principal_arn == f"arn:aws:iam::{ACCOUNT}:role/Worker"


def test_external_policies_fill_in_arns_outside_the_template() -> None:
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    template = {
        "Resources": {
            "R": role(ManagedPolicyArns=[arn], PermissionsBoundary="arn:aws:iam::1:policy/b")
        }
    }
    pset = resolve_principals(template, external_policies={arn: doc(allow("s3:Get*"))})["R"]
    assert [p.name for p in pset.identity] == [arn]
    decision = evaluate(pset, request())
    assert decision.allowed
    assert decision.caveats == (
        "permissions boundary arn:aws:iam::1:policy/b is not in the template: not applied",
    )


def test_unresolved_managed_policy_is_a_caveat() -> None:
    template = {"Resources": {"R": role(ManagedPolicyArns=["arn:aws:iam::aws:policy/X"])}}
    decision = evaluate(resolve_principals(template)["R"], request())
    assert decision.caveats == (
        "managed policy arn:aws:iam::aws:policy/X is not in the template: not evaluated",
    )


# --- the studio questions, end to end ------------------------------------------------------

OWN_TAG = {
    "StringEquals": {"sagemaker:ResourceTag/studiouserid": "${aws:PrincipalTag/studiouserid}"}
}
BOUNDARY_ARN = {"Fn::Sub": IAM_PREFIX + ":policy/StudioBoundary"}
STUDIO: dict[str, Any] = {
    "Resources": {
        "StudioBoundary": managed(
            doc(allow("sagemaker:*"), allow(["s3:*", "iam:PassRole", "iam:CreateRole"])),
            ManagedPolicyName="StudioBoundary",
        ),
        "CloudAdminGuardrails": managed(
            doc(
                {
                    "Sid": "DenyDomainLifecycle",
                    "Effect": "Deny",
                    "Action": ["sagemaker:CreateDomain", "sagemaker:DeleteDomain"],
                    "Resource": "*",
                },
            ),
            Roles=[{"Ref": "CloudAdmin"}],
        ),
        "CloudAdmin": role(
            Policies=[
                {"PolicyName": "admin", "PolicyDocument": doc(allow("sagemaker:*", Sid="Operate"))}
            ],
        ),
        "DataScientist": role(
            Policies=[
                {
                    "PolicyName": "studio",
                    "PolicyDocument": doc(
                        allow(
                            "sagemaker:CreatePresignedDomainUrl",
                            {"Fn::Sub": SAGEMAKER_PREFIX + ":user-profile/*/*"},
                            Sid="OwnProfileOnly",
                            Condition=OWN_TAG,
                        ),
                        allow(["sagemaker:Describe*", "sagemaker:List*"], Sid="Read"),
                    ),
                }
            ],
            PermissionsBoundary={"Ref": "StudioBoundary"},
        ),
        "LaunchRole": role(
            Policies=[
                {
                    "PolicyName": "launch",
                    "PolicyDocument": doc(
                        allow(
                            "iam:CreateRole",
                            {"Fn::Sub": IAM_PREFIX + ":role/studio-*"},
                            Sid="CreateBoundedRoles",
                            Condition={"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
                        ),
                        allow(
                            "iam:PassRole",
                            {"Fn::GetAtt": ["DataScientist", "Arn"]},
                            Sid="PassExecutionRole",
                            Condition={
                                "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
                            },
                        ),
                    ),
                }
            ],
        ),
    }
}


@pytest.fixture(scope="module")
def studio() -> dict[str, PolicySet]:
    return resolve_principals(STUDIO)


def test_cloud_admin_cannot_create_domain_on_any_resource(studio: dict[str, PolicySet]) -> None:
    admin = studio["CloudAdmin"]
    assert not principal_can_any(admin, "sagemaker:CreateDomain", ["*", DOMAIN_ARN])
    decision = evaluate(admin, Request(admin.principal_arn, "sagemaker:CreateDomain", DOMAIN_ARN))
    assert (
        decision.reason
        == "explicit deny by statement Sid DenyDomainLifecycle in policy CloudAdminGuardrails"
    )
    assert principal_can_any(admin, "sagemaker:Describe*", DOMAIN_ARN)


def test_allowed_requests_lists_witnesses(studio: dict[str, PolicySet]) -> None:
    allowed = allowed_requests(studio["CloudAdmin"], "sagemaker:*Domain", DOMAIN_ARN)
    actions = {d.request.action for d in allowed}
    assert "sagemaker:UpdateDomain" in actions
    assert not actions & {"sagemaker:CreateDomain", "sagemaker:DeleteDomain"}


def test_data_scientist_presigned_url_only_for_own_profile(studio: dict[str, PolicySet]) -> None:
    scientist = studio["DataScientist"]
    own = {"aws:PrincipalTag/studiouserid": "alice", "sagemaker:ResourceTag/studiouserid": "alice"}
    other = {**own, "sagemaker:ResourceTag/studiouserid": "bob"}
    action = "sagemaker:CreatePresignedDomainUrl"
    yes = evaluate(scientist, Request(scientist.principal_arn, action, PROFILE_ARN, own))
    assert yes.allowed
    assert yes.matched_sids == ("OwnProfileOnly", "#0")
    assert not evaluate(
        scientist, Request(scientist.principal_arn, action, PROFILE_ARN, other)
    ).allowed
    assert not principal_can_any(scientist, action, PROFILE_ARN, other)


def test_data_scientist_is_bounded(studio: dict[str, PolicySet]) -> None:
    scientist = studio["DataScientist"]
    assert not principal_can_any(scientist, "sagemaker:CreateDomain")
    assert not principal_can_any(scientist, "iam:*")


def test_launch_role_create_role_requires_boundary(studio: dict[str, PolicySet]) -> None:
    launch = studio["LaunchRole"]
    new_role = f"arn:aws:iam::{ACCOUNT}:role/studio-x"
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/StudioBoundary"
    with_boundary = Request(
        launch.principal_arn, "iam:CreateRole", new_role, {"iam:PermissionsBoundary": boundary}
    )
    assert evaluate(launch, with_boundary).allowed
    assert not principal_can_any(launch, "iam:CreateRole", new_role, {})
    assert not principal_can_any(
        launch,
        "iam:CreateRole",
        new_role,
        {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/Other"},
    )


def test_launch_role_cannot_pass_arbitrary_roles(studio: dict[str, PolicySet]) -> None:
    launch = studio["LaunchRole"]
    to_sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    scientist_arn = f"arn:aws:iam::{ACCOUNT}:role/DataScientist"
    assert evaluate(
        launch, Request(launch.principal_arn, "iam:PassRole", scientist_arn, to_sagemaker)
    ).allowed
    others = [f"arn:aws:iam::{ACCOUNT}:role/Admin", "*"]
    assert not principal_can_any(
        launch, "iam:PassRole", others, to_sagemaker, policy_resources=False
    )
    allowed = allowed_requests(launch, "iam:PassRole", "*", to_sagemaker)
    assert [d.request.resource for d in allowed] == [scientist_arn]


# --- hygiene -------------------------------------------------------------------------------


def hygiene(
    *statements: dict[str, Any], kind: str = "AWS::IAM::ManagedPolicy", prop: str = "PolicyDocument"
) -> set[str]:
    template = {"Resources": {"P": {"Type": kind, "Properties": {prop: doc(*statements)}}}}
    return {finding.finding for finding in scan_template("t.yaml", template)}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (allow("*"), {"action-star", "resource-star-write", "passrole-unconstrained"}),
        (allow("iam:*", "arn:aws:iam::1:role/x"), {"iam-wildcard", "passrole-unconstrained"}),
        (allow("iam:Create*", "arn:aws:iam::1:role/x"), {"iam-wildcard"}),
        (allow("sagemaker:*", DOMAIN_ARN), {"service-wildcard"}),
        (allow("sagemaker:Describe*"), set()),
        (allow(["sagemaker:Describe*", "sagemaker:CreateDomain"]), {"resource-star-write"}),
        (allow("sagemaker:AddTags"), {"resource-star-write"}),
        (allow("sagemaker:MadeUpAction"), {"resource-star-write"}),
        (allow("iam:PassRole", ROLE_ARN), {"passrole-unconstrained"}),
        (
            allow(
                "iam:PassRole",
                ROLE_ARN,
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            set(),
        ),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, {"resource-star-write"}),
        ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x"}, set()),
        (
            {"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:aws:s3:::x"},
            {"resource-star-write"},
        ),
        (deny("*"), set()),
        (
            allow({"Fn::If": ["C", "sagemaker:DescribeDomain", "sagemaker:*"]}, DOMAIN_ARN),
            {"service-wildcard"},
        ),
    ],
)
def test_hygiene_findings(statement: dict[str, Any], expected: set[str]) -> None:
    assert hygiene(statement) == expected


def test_hygiene_labels_resource_policies_and_skips_star_on_key_policies() -> None:
    key_policy = hygiene(
        allow("kms:*", Principal={"AWS": "arn:aws:iam::1:root"}),
        kind="AWS::KMS::Key",
        prop="KeyPolicy",
    )
    assert key_policy == {"service-wildcard"}
    template = {
        "Resources": {
            "BP": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "PolicyDocument": doc(allow("s3:*", "arn:aws:s3:::b/*", Principal="*"))
                },
            }
        }
    }
    (finding,) = scan_template("t.yaml", template)
    assert (finding.kind, finding.resource_type, finding.finding) == (
        "resource",
        "AWS::S3::BucketPolicy",
        "service-wildcard",
    )


def test_hygiene_scans_inline_policies_and_statement_branches() -> None:
    template = {
        "Resources": {
            "R": role(
                Policies=[
                    {
                        "PolicyName": "p",
                        "PolicyDocument": {
                            "Statement": [
                                {"Fn::If": ["C", allow("*", Sid="Wide"), {"Ref": "AWS::NoValue"}]}
                            ]
                        },
                    }
                ]
            )
        }
    }
    findings = scan_template("t.yaml", template)
    assert {(f.resource, f.policy, f.sid, f.kind) for f in findings} == {
        ("R", "R/p", "Wide", "identity")
    }


SCANNED = {
    "Resources": {"P": managed(doc(allow("sagemaker:*", DOMAIN_ARN, Sid="Ops"), allow("*")))}
}


def test_allow_list_suppresses_and_reports_unused_entries() -> None:
    entries = parse_allow_list(
        [
            {
                "template": "t.yaml",
                "resource": "P",
                "sid": "Ops",
                "finding": "service-wildcard",
                "reason": "operators",
            },
            {
                "template": "t.yaml",
                "resource": "P",
                "sid": "#1",
                "finding": "action-star",
                "reason": "break glass",
            },
            {
                "template": "t.yaml",
                "resource": "P",
                "sid": "Gone",
                "finding": "iam-wildcard",
                "reason": "stale",
            },
        ]
    )
    report = scan_templates({"t.yaml": SCANNED}, entries)
    assert {(f.sid, f.finding) for f in report.findings} == {
        ("#1", "resource-star-write"),
        ("#1", "passrole-unconstrained"),
    }
    assert [entry.reason for _, entry in report.suppressed] == ["operators", "break glass"]
    assert [entry.sid for entry in report.unused] == ["Gone"]
    assert not report.ok


def test_clean_report_is_ok() -> None:
    report = apply_allow_list(scan_template("t.yaml", {"Resources": {}}), ())
    assert report.ok


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"template": "t", "resource": "P", "sid": "S", "finding": "action-star"}, "reason"),
        (
            {
                "template": "t",
                "resource": "P",
                "sid": "S",
                "finding": "action-star",
                "reason": "  ",
            },
            "reason",
        ),
        (
            {"template": "t", "resource": "P", "sid": "S", "finding": "nope", "reason": "r"},
            "unknown finding",
        ),
        (
            {
                "template": "t",
                "resource": "P",
                "sid": "S",
                "finding": "action-star",
                "reason": "r",
                "x": 1,
            },
            "unknown keys",
        ),
        ("just text", "mapping"),
    ],
)
def test_allow_list_validation(entry: Any, message: str) -> None:
    with pytest.raises(AllowListError, match=message):
        parse_allow_list([entry])


def test_load_allow_list_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "allow.yaml"
    path.write_text(
        "- template: t.yaml\n  resource: P\n  sid: Ops\n"
        "  finding: service-wildcard\n  reason: operators\n",
        encoding="utf-8",
    )
    (entry,) = load_allow_list(path)
    assert entry.reason == "operators"
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert load_allow_list(tmp_path / "empty.yaml") == ()
    (tmp_path / "bad.yaml").write_text("template: t\n", encoding="utf-8")
    with pytest.raises(AllowListError):
        load_allow_list(tmp_path / "bad.yaml")
