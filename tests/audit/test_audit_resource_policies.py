"""Resource-based policy evaluation (trust policies) and the session-tag proof."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from factory.audit.conditions import PolicyError
from factory.audit.derived import AuditInputs
from factory.audit.derived import session_tags as tags
from factory.audit.evaluator import (
    Caller,
    Request,
    evaluate_resource_policy,
    principal_matches,
)
from factory.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "launch/studio-catalog-bootstrap.yaml"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Caller"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Caller/alice"
ALICE = Caller("AWS", ROLE, SESSION)
SAML = f"arn:aws:iam::{ACCOUNT}:saml-provider/IdP"


def _doc(*statements: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _trust(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def _decide(document: dict[str, Any], caller: Caller, action: str = "sts:AssumeRole", **ctx: Any):
    request = Request(caller.arn, action, f"arn:aws:iam::{ACCOUNT}:role/Target", ctx)
    return evaluate_resource_policy(document, request, caller, "trust")


# --- principal matching -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "caller", "expected"),
    [
        ("*", ALICE, True),
        ({"AWS": "*"}, ALICE, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ALICE, True),
        ({"AWS": ACCOUNT}, ALICE, True),
        ({"AWS": "arn:aws:iam::999999999999:root"}, ALICE, False),
        ({"AWS": ROLE}, ALICE, True),
        ({"AWS": SESSION}, ALICE, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Other"}, ALICE, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"}, ALICE, False),
        ({"Service": "lambda.amazonaws.com"}, Caller("Service", "lambda.amazonaws.com"), True),
        ({"Service": "lambda.amazonaws.com"}, ALICE, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, Caller("Service", "x.amazonaws.com"), False),
        ({"Federated": SAML}, Caller("Federated", SAML), True),
        ({"Federated": SAML}, Caller("Service", SAML), False),
        ({"AWS": ["arn:aws:iam::999999999999:root", ROLE]}, ALICE, True),
    ],
)
def test_principal_matches(element: Any, caller: Caller, expected: bool) -> None:
    assert principal_matches(element, caller) is expected


def test_invalid_principal_is_an_error() -> None:
    with pytest.raises(PolicyError):
        principal_matches(["x"], ALICE)
    with pytest.raises(PolicyError):
        _decide(_doc({"Effect": "Allow", "Action": "sts:AssumeRole"}), ALICE)


def test_account_principal_allows_with_a_delegation_caveat() -> None:
    decision = _decide(_doc(_trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, Sid="Acct")), ALICE)
    assert decision.allowed
    assert decision.matched_sids == ("Acct",)
    assert any("delegates" in caveat for caveat in decision.caveats)


def test_not_principal_deny_and_explicit_deny_wins() -> None:
    document = _doc(
        _trust("*"),
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Good"},
            "Action": "sts:AssumeRole",
        },
    )
    assert not _decide(document, ALICE).allowed
    assert "explicit deny" in _decide(document, ALICE).reason
    good = Caller("AWS", f"arn:aws:iam::{ACCOUNT}:role/Good")
    assert _decide(document, good).allowed


def test_action_resource_and_conditions_apply() -> None:
    document = _doc(
        _trust(
            {"AWS": ROLE},
            "sts:TagSession",
            Condition={"StringEquals": {"aws:RequestTag/u": "${aws:PrincipalTag/u}"}},
        )
    )
    assert _decide(
        document, ALICE, "sts:TagSession", **{"aws:PrincipalTag/u": "a", "aws:RequestTag/u": "a"}
    ).allowed
    assert not _decide(
        document, ALICE, "sts:TagSession", **{"aws:PrincipalTag/u": "a", "aws:RequestTag/u": "b"}
    ).allowed
    assert not _decide(document, ALICE, "sts:AssumeRole").allowed
    untagged = _decide(document, ALICE, "sts:TagSession", **{"aws:RequestTag/u": "b"})
    assert not untagged.allowed and untagged.caveats
    scoped = _doc(_trust("*", Resource="arn:aws:iam::*:role/Other"))
    assert not _decide(scoped, ALICE).allowed


def test_principal_account_and_arn_are_in_the_context() -> None:
    document = _doc(
        _trust(
            {"AWS": ACCOUNT},
            Condition={
                "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Call*"},
            },
        )
    )
    assert _decide(document, ALICE).allowed


# --- session-tag proof ------------------------------------------------------------------------

TAG_CONDITION = {
    "StringEquals": {"aws:RequestTag/studiouserid": "${aws:PrincipalTag/studiouserid}"},
    "ForAllValues:StringEquals": {"aws:TagKeys": ["studiouserid"]},
}
IDENTITY = {
    "PolicyName": "open",
    "PolicyDocument": _doc(
        {
            "Effect": "Allow",
            "Action": "sagemaker:CreatePresignedDomainUrl",
            "Resource": "arn:aws:sagemaker:*:*:user-profile/*/*",
            "Condition": {
                "StringEquals": {
                    "sagemaker:ResourceTag/studiouserid": "${aws:PrincipalTag/studiouserid}"
                }
            },
        }
    ),
}


def _bootstrap(*trust: Any, identity: dict[str, Any] = IDENTITY) -> dict[str, Any]:
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": _doc(*trust), "Policies": [identity]},
    }
    return {"Resources": {"DataScientistRole": role}}


def _failures(template: dict[str, Any]) -> list[str]:
    result = tags.check(AuditInputs({"launch/studio-catalog-bootstrap.yaml": template}))
    return [f"{f.action}: {f.reason}" for f in result.failures]


ROOT_PRINCIPAL = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}


def test_unconditional_tag_session_fails() -> None:
    failures = _failures(_bootstrap(_trust(ROOT_PRINCIPAL, ["sts:AssumeRole", "sts:TagSession"])))
    assert (
        "sts:TagSession: alice (principal tag studiouserid=alice) may set studiouserid=bob"
        in failures
    )
    assert any("without a studiouserid principal tag" in f for f in failures)


def test_tag_bound_to_the_callers_own_principal_tag_passes() -> None:
    template = _bootstrap(
        _trust(ROOT_PRINCIPAL, "sts:AssumeRole"),
        _trust(ROOT_PRINCIPAL, "sts:TagSession", Condition=TAG_CONDITION),
    )
    assert _failures(template) == []


def test_saml_provider_path_passes() -> None:
    template = _bootstrap(
        _trust(
            {"Federated": {"Ref": "SamlProviderArn"}},
            ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            Condition={"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        )
    )
    template["Parameters"] = {"SamlProviderArn": {"Type": "String", "Default": ""}}
    assert _failures(template) == []


def test_nobody_able_to_sign_in_fails() -> None:
    template = _bootstrap(_trust({"Service": "lambda.amazonaws.com"}))
    assert any("alice cannot sign in" in f for f in _failures(template))


def test_untagged_session_that_can_open_a_profile_fails() -> None:
    no_condition = copy.deepcopy(IDENTITY)
    del no_condition["PolicyDocument"]["Statement"][0]["Condition"]
    template = _bootstrap(
        _trust(ROOT_PRINCIPAL, "sts:AssumeRole"),
        _trust(ROOT_PRINCIPAL, "sts:TagSession", Condition=TAG_CONDITION),
        identity=no_condition,
    )
    # tag_roles finds no aws:PrincipalTag use now: the proof says there is nothing to prove
    assert _failures(template)
    weak = copy.deepcopy(IDENTITY)
    weak["PolicyDocument"]["Statement"][0]["Condition"] = {
        "StringEqualsIfExists": {
            "aws:PrincipalTag/studiouserid": "${aws:PrincipalTag/studiouserid}"
        }
    }
    template = _bootstrap(
        _trust(ROOT_PRINCIPAL, "sts:AssumeRole"),
        _trust(ROOT_PRINCIPAL, "sts:TagSession", Condition=TAG_CONDITION),
        identity=weak,
    )
    assert any("gets a session that can open another profile" in f for f in _failures(template))


def test_every_trust_branch_is_checked() -> None:
    safe = _trust(ROOT_PRINCIPAL, "sts:TagSession", Condition=TAG_CONDITION)
    unsafe = _trust(ROOT_PRINCIPAL, "sts:TagSession")
    template = _bootstrap(
        _trust(ROOT_PRINCIPAL, "sts:AssumeRole"), {"Fn::If": ["Named", safe, unsafe]}
    )
    template["Conditions"] = {"Named": {"Fn::Equals": ["a", "a"]}}
    failures = tags.check(AuditInputs({"launch/studio-catalog-bootstrap.yaml": template})).failures
    assert failures and all("Named=False" in f.resource for f in failures)


@pytest.fixture(scope="module")
def bootstrap() -> dict[str, Any]:
    return load_template(BOOTSTRAP)


def test_mutation_dropping_trust_conditions_fails_on_the_committed_bootstrap(bootstrap) -> None:
    broken = copy.deepcopy(bootstrap)
    trust = broken["Resources"]["DataScientistRole"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
            "Action": "sts:TagSession",
        }
    )
    failures = tags.check(AuditInputs({"launch/studio-catalog-bootstrap.yaml": broken})).failures
    assert any("may set studiouserid=bob" in f.reason for f in failures)
    assert all(f.resource.startswith("DataScientistRole trust policy") for f in failures)


def test_committed_templates_pass(bootstrap) -> None:
    result = tags.check(AuditInputs({"launch/studio-catalog-bootstrap.yaml": bootstrap}))
    assert [f.line() for f in result.failures] == []
