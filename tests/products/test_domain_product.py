"""The domain product, rendered with parameter sets as an admin would launch it."""

from __future__ import annotations

import pytest

from factory import naming
from tests.support.render import LIFECYCLE_ARN, NETWORK, by_sid, load, render, statements

PATH = "templates/studio-domain.yaml"


@pytest.fixture(scope="module")
def default_stack():
    return render(PATH, NETWORK)


def test_defaults_are_vpc_only_studio_new_without_efs(default_stack):
    domain = default_stack.get_resource("Domain")
    assert domain.get_property_value("AppNetworkAccessType") == "VpcOnly"
    assert domain.get_property_value("HomeEfsFileSystemCreation") == "Disabled"
    user = domain.get_property_value("DefaultUserSettings")
    assert user["StudioWebPortal"] == "ENABLED"
    assert user["DefaultLandingUri"] == "studio::"
    assert user["StudioWebPortalSettings"]["HiddenAppTypes"] == ["JupyterServer"]


def test_audit_and_cost_attribution_settings(default_stack):
    domain = default_stack.get_resource("Domain")
    assert domain.get_property_value("DomainSettings")["ExecutionRoleIdentityConfig"] == (
        "USER_PROFILE_NAME"
    )
    assert domain.get_property_value("TagPropagation") == "ENABLED"


def test_classic_on_request_creates_efs():
    domain = render(PATH, {**NETWORK, "StudioClassic": "Enabled"}).get_resource("Domain")
    assert domain.get_property_value("HomeEfsFileSystemCreation") == "Enabled"


def test_idle_shutdown_defaults_and_bounds(default_stack):
    settings = default_stack.get_resource("Domain").get_property_value("DefaultUserSettings")
    idle = settings["JupyterLabAppSettings"]["AppLifecycleManagement"]["IdleSettings"]
    assert idle["LifecycleManagement"] == "ENABLED"
    assert int(idle["IdleTimeoutInMinutes"]) == 60
    assert int(idle["MinIdleTimeoutInMinutes"]) <= 60 <= int(idle["MaxIdleTimeoutInMinutes"])
    assert settings["CodeEditorAppSettings"]["AppLifecycleManagement"]["IdleSettings"] == idle


def test_creates_rotating_key_by_default_and_uses_given_key_otherwise(default_stack):
    key = default_stack.get_resource("DomainKey")
    assert key.get_property_value("EnableKeyRotation") is True
    given = "arn:aws:kms:us-east-1:111111111111:key/abcd"
    stack = render(PATH, {**NETWORK, "KmsKeyArn": given})
    assert "DomainKey" not in stack.data["Resources"]
    assert stack.get_resource("Domain").get_property_value("KmsKeyId") == given


def test_team_role_under_catalog_path_with_boundary(default_stack):
    role = default_stack.get_resource("TeamExecutionRole")
    assert role.get_property_value("Path") == naming.EXECUTION_ROLE_PATH
    assert role.get_property_value("PermissionsBoundary").startswith("arn:aws:iam::")
    assert "RoleName" not in role.get("Properties", {})
    trust = role.get_property_value("AssumeRolePolicyDocument")["Statement"][0]
    assert set(trust["Action"]) == {"sts:AssumeRole", "sts:SetSourceIdentity"}


def test_given_role_replaces_team_role():
    given = "arn:aws:iam::111111111111:role/existing"
    stack = render(PATH, {**NETWORK, "ExecutionRoleArn": given})
    assert "TeamExecutionRole" not in stack.data["Resources"]
    settings = stack.get_resource("Domain").get_property_value("DefaultUserSettings")
    assert settings["ExecutionRole"] == given


def test_pass_role_is_scoped_to_the_team_role(default_stack):
    doc = default_stack.get_resource("TeamExecutionRolePolicy").get_property_value("PolicyDocument")
    pass_role = by_sid(doc)["PassOnlyThisRoleToSageMaker"]
    assert pass_role["Resource"] != ["*"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_presigned_url_policy_is_own_profile_only(default_stack):
    doc = default_stack.get_resource("PresignedUrlPolicy").get_property_value("PolicyDocument")
    allow = by_sid(doc)["OpenStudioOnlyAsOwnProfile"]
    assert allow["Action"] == ["sagemaker:CreatePresignedDomainUrl"]
    assert allow["Condition"]["StringEquals"] == {
        "sagemaker:ResourceTag/studiouserid": "${aws:PrincipalTag/studiouserid}"
    }
    assert ":user-profile/" in allow["Resource"][0]
    assert set(by_sid(doc)) == {"OpenStudioOnlyAsOwnProfile"}


def _presigned_policy(cidrs: str, vpces: str) -> dict:
    stack = render(
        PATH,
        {**NETWORK, "PresignedUrlAllowedCidrs": cidrs, "PresignedUrlAllowedVpceIds": vpces},
    )
    return stack.get_resource("PresignedUrlPolicy").get_property_value("PolicyDocument")


def test_presigned_url_network_restrictions_are_denies():
    cidr_only = by_sid(_presigned_policy("203.0.113.0/24", ""))
    assert cidr_only["DenyPresignedUrlOutsideAllowedCidrs"]["Condition"] == {
        "NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}
    }
    vpce_only = by_sid(_presigned_policy("", "vpce-0123456789abcdef0"))
    assert vpce_only["DenyPresignedUrlOutsideAllowedVpcEndpoints"]["Condition"] == {
        "StringNotEquals": {"aws:sourceVpce": ["vpce-0123456789abcdef0"]}
    }


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({"aws:SourceIp": "203.0.113.9"}, True),  # from the allowed CIDR, no endpoint
        ({"aws:sourceVpce": "vpce-0123456789abcdef0"}, True),  # through the endpoint, no IP
        ({"aws:SourceIp": "198.51.100.7"}, False),
        ({"aws:sourceVpce": "vpce-0fffffffffffffff0"}, False),
    ],
)
def test_with_both_networks_a_request_from_either_is_allowed(context, allowed):
    """Both lists set: one deny that matches only a request from neither network (two
    denies locked everyone out: an endpoint request has no SourceIp, an internet one no
    SourceVpce, and a negated operator matches a missing key)."""
    from factory.audit.evaluator import Policy, PolicySet, Request, evaluate

    document = _presigned_policy("203.0.113.0/24", "vpce-0123456789abcdef0")
    sids = by_sid(document)
    assert set(sids) == {"OpenStudioOnlyAsOwnProfile", "DenyPresignedUrlOutsideAllowedNetworks"}
    role = PolicySet(
        principal="alice",
        principal_arn="arn:aws:iam::111111111111:role/alice",
        identity=(Policy("PresignedUrlPolicy", {**document, "Statement": statements(document)}),),
    )
    request = Request(
        role.principal_arn,
        "sagemaker:CreatePresignedDomainUrl",
        sids["OpenStudioOnlyAsOwnProfile"]["Resource"][0].replace("*", "alice"),
        {
            "aws:PrincipalTag/studiouserid": "alice",
            "sagemaker:ResourceTag/studiouserid": "alice",
            **context,
        },
    )
    assert evaluate(role, request).allowed is allowed


def test_security_group_allows_intra_group_traffic(default_stack):
    ingress = default_stack.get_resource("DomainSecurityGroupSelfIngress")
    assert ingress.get_property_value("IpProtocol") == "-1"
    assert default_stack.get_resource("Domain").get_property_value("DomainSettings")[
        "SecurityGroupIds"
    ]


def test_publishes_domain_facts_to_ssm_under_domain_name_prefix():
    stack = render(PATH, {**NETWORK, "DomainName": "research"})
    names = {
        r["Properties"]["Name"]
        for r in stack.data["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    expected = {naming.domain_ssm_parameter(k, "research") for k in naming.DOMAIN_KEYS}
    assert names == expected


def test_outputs_for_the_admin(default_stack):
    expected = {
        "DomainId",
        "DomainArn",
        "StudioUrl",
        "SecurityGroupId",
        "ExecutionRoleArn",
        "PresignedUrlPolicyArn",
    }
    assert expected <= set(default_stack.data["Outputs"])


def test_no_fixed_physical_names():
    resources = load(PATH)["Resources"]
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        for key in ("RoleName", "ManagedPolicyName", "GroupName", "BucketName", "FunctionName"):
            assert not isinstance(props.get(key), str), (
                f"{logical_id}.{key} is fixed: it would collide on a second install"
            )


def test_team_role_isolates_spaces_by_source_identity(default_stack):
    doc = default_stack.get_resource("TeamExecutionRolePolicy").get_property_value("PolicyDocument")
    owner = by_sid(doc)["OwnSpacesOnly"]["Condition"]["ArnEquals"]
    assert owner["sagemaker:OwnerUserProfileArn"].endswith("/${aws:SourceIdentity}")
    domain = default_stack.get_resource("Domain").get_property_value("DomainSettings")
    assert domain["ExecutionRoleIdentityConfig"] == "USER_PROFILE_NAME"


def test_key_policy_allows_alias_deletion_and_key_is_tagged(default_stack):
    key = default_stack.get_resource("DomainKey")
    actions = key.get_property_value("KeyPolicy")["Statement"][0]["Action"]
    assert {"kms:DeleteAlias", "kms:GenerateDataKeyWithoutPlaintext"} <= set(actions)
    tags = {t["Key"]: t["Value"] for t in key.get_property_value("Tags")}
    assert tags[naming.MANAGED_BY_TAG] == naming.MANAGED_BY_VALUE


def test_presigned_url_output_says_it_carries_the_network_denies(default_stack):
    description = default_stack.data["Outputs"]["PresignedUrlPolicyArn"]["Description"]
    assert "CIDRs" in description and "VPC endpoints" in description


def test_sso_domain_outputs_its_identity_center_application():
    assert "SingleSignOnApplicationArn" not in render(PATH, NETWORK).data["Outputs"]
    template = load(PATH)
    output = template["Outputs"]["SingleSignOnApplicationArn"]
    assert output["Condition"] == "IsSso"
    assert output["Value"] == {"Fn::GetAtt": ["Domain", "SingleSignOnApplicationArn"]}
    assert "create-application-assignment" in output["Description"]


def test_lifecycle_configurations_are_attached_only_when_a_set_is_named(default_stack):
    settings = default_stack.get_resource("Domain").get_property_value("DefaultUserSettings")
    assert "BuiltInLifecycleConfigArn" not in settings["JupyterLabAppSettings"]
    stack = render(PATH, {**NETWORK, "LifecycleConfigSet": "ml-team"})
    domain = stack.get_resource("Domain")
    user = domain.get_property_value("DefaultUserSettings")
    space = domain.get_property_value("DefaultSpaceSettings")
    expected = LIFECYCLE_ARN.format("jupyterlab")
    assert user["JupyterLabAppSettings"]["BuiltInLifecycleConfigArn"] == expected
    assert space["JupyterLabAppSettings"]["BuiltInLifecycleConfigArn"] == expected
    assert user["CodeEditorAppSettings"]["BuiltInLifecycleConfigArn"] == LIFECYCLE_ARN.format(
        "code-editor"
    )
