"""The bootstrap stack: StackSet-ready, and refuses parameters that would break the promise."""

from __future__ import annotations

import re

import pytest

from tests.support.render import load, render, rules_fail

PATH = "launch/studio-catalog-bootstrap.yaml"


@pytest.mark.parametrize("persona", ["CloudAdmin", "DataScientist", "Publisher"])
@pytest.mark.parametrize("everyone", ["*", "arn:aws:iam::*:root"])
def test_trusting_everyone_is_refused_by_a_rule(persona, everyone):
    failed = rules_fail(PATH, {f"{persona}PrincipalArnPattern": everyone})
    assert len(failed) == 1
    assert f"must not trust '{everyone}'" in failed[0]


def test_empty_launch_role_name_is_refused():
    assert rules_fail(PATH, {"LaunchRoleName": ""}) == [
        "LaunchRoleName must not be empty: launch constraints name this role."
    ]
    with pytest.raises(ValueError, match="LaunchRoleName"):
        render(PATH, {"LaunchRoleName": ""})


def test_defaults_pass_the_rules():
    assert rules_fail(PATH, {}) == []


def test_no_hard_coded_partition_account_or_region():
    """StackSet-ready: resources and outputs use pseudo parameters (patterns and rules that
    validate input may spell ``arn:aws``)."""
    import copy
    import json

    template = copy.deepcopy(load(PATH))
    template["Resources"]["ProfileDrainFunction"]["Properties"].pop("Code")
    code = json.dumps([template["Resources"], template["Outputs"]])
    assert not re.search(r"arn:aws[a-z-]*:", code), "use ${AWS::Partition}"
    assert not re.search(r"\b\d{12}\b", code), "no account IDs"
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af)-[a-z]+-\d\b", code), "no regions"


def test_launch_role_is_trusted_only_by_service_catalog():
    role = load(PATH)["Resources"]["LaunchRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "servicecatalog.amazonaws.com"}


def test_every_launch_statement_says_why():
    role = load(PATH)["Resources"]["LaunchRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    plain = [s for s in statements if "Fn::If" not in s]
    assert plain and all(s.get("Sid") for s in plain)


def test_profile_product_reads_what_bootstrap_publishes():
    from factory import naming

    names = {
        r["Properties"]["Name"]
        for r in load(PATH)["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    assert {
        naming.BOUNDARY_SSM_PARAMETER,
        naming.DRAIN_FUNCTION_SSM_PARAMETER,
        naming.TEMPLATE_BUCKET_SSM_PARAMETER,
    } <= names
    profile = load("templates/studio-user-profile.yaml")["Parameters"]
    assert profile["DrainFunctionArn"]["Default"] == naming.DRAIN_FUNCTION_SSM_PARAMETER
    assert profile["PermissionsBoundaryArn"]["Default"] == naming.BOUNDARY_SSM_PARAMETER
