"""Bad values are rejected by the templates' own constraints, before any resource exists."""

from __future__ import annotations

import pytest

from tests.support.render import NETWORK, render, rules_fail

PROFILE = "templates/studio-user-profile.yaml"
DOMAIN = "templates/studio-domain.yaml"


@pytest.mark.parametrize("name", ["a" * 64, "jane_doe", "-jane", "jane-", "jane doe", ""])
def test_profile_name_rules(name):
    with pytest.raises(ValueError, match="UserProfileName"):
        render(PROFILE, {"UserProfileName": name})


@pytest.mark.parametrize("name", ["a" * 63, "jane-doe", "j", "jane--doe", "A1"])
def test_valid_profile_names(name):
    render(PROFILE, {"UserProfileName": name})


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (PROFILE, {"UserProfileName": "alice", "HiddenAppTypes": "KernelGateway"}),
        (PROFILE, {"UserProfileName": "alice", "HiddenAppTypes": "JupyterServer,RSessionGateway"}),
        (DOMAIN, {**NETWORK, "HiddenAppTypes": "KernelGateway"}),
    ],
)
def test_unhideable_app_types_are_rejected(path, params):
    with pytest.raises(ValueError, match="HiddenAppTypes"):
        render(path, params)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("HiddenMlTools", "NotATool"),
        ("HiddenInstanceTypes", "p4d.24xlarge"),
        ("KmsKeyArn", "my-key"),
        ("ExecutionRoleArn", "arn:aws:iam::123:role/x"),
        ("PresignedUrlAllowedCidrs", "10.0.0.0"),
        ("PresignedUrlAllowedVpceIds", "vpc-123"),
        ("AppNetworkAccessType", "Public"),
        ("IdleTimeoutMinutes", "30"),
        ("DomainName", "my_domain"),
    ],
)
def test_domain_rejects_bad_values(param, value):
    with pytest.raises(ValueError, match=param):
        render(DOMAIN, {**NETWORK, param: value})


def test_per_person_role_with_existing_role_is_refused_by_a_rule():
    params = {
        "UserProfileName": "alice",
        "ExecutionRoleMode": "PerPerson",
        "ExistingExecutionRoleArn": "arn:aws:iam::111111111111:role/x",
    }
    assert rules_fail(PROFILE, params) == [
        "ExecutionRoleMode PerPerson creates the role: leave ExistingExecutionRoleArn empty."
    ]


def test_classic_landing_needs_classic_visible():
    params = {"UserProfileName": "alice", "DefaultLandingUri": "app:JupyterServer:"}
    assert rules_fail(PROFILE, params) == [
        "Landing in Studio Classic needs JupyterServer not hidden."
    ]
    assert rules_fail(PROFILE, {**params, "HiddenAppTypes": ""}) == []


def test_every_parameter_has_a_console_group_and_label():
    from tests.support.render import load

    for path in (DOMAIN, PROFILE):
        template = load(path)
        interface = template["Metadata"]["AWS::CloudFormation::Interface"]
        grouped = [p for g in interface["ParameterGroups"] for p in g["Parameters"]]
        assert sorted(grouped) == sorted(template["Parameters"])
        assert set(interface["ParameterLabels"]) == set(template["Parameters"])
