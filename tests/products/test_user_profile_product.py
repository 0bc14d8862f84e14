"""The user-profile product: one person, one profile, and hidden tools that really are denied."""

from __future__ import annotations

import pytest

from factory.policies import tool_denies
from factory.studio import HIDEABLE_APP_TYPES
from tests.support.render import LIFECYCLE_ARN, SSM_DEFAULTS, by_sid, render, statements

PATH = "templates/studio-user-profile.yaml"
ALICE = {"UserProfileName": "alice"}
PER_PERSON = {**ALICE, "ExecutionRoleMode": "PerPerson"}
ENFORCEABLE = [row for row in tool_denies.TABLE if row.enforceable]


def _hide(row: tool_denies.ToolDeny) -> dict[str, str]:
    if row.kind == "app":
        return {"HiddenAppTypes": row.tool}
    return {"HiddenAppTypes": "", "HiddenMlTools": row.tool}


def _policy(stack) -> dict[str, dict]:
    """Every statement of the per-person role's hidden-tool policy, by Sid ({} if none)."""
    resource = stack.data["Resources"].get("HiddenToolDenies")
    return by_sid(resource["Properties"]["PolicyDocument"]) if resource else {}


def _denies(stack) -> dict[str, dict]:
    """The hidden-tool denies, without the shared-space deny every enforced role gets."""
    return {k: v for k, v in _policy(stack).items() if k != tool_denies.SHARED_SPACES_SID}


def test_profile_is_tagged_with_the_person():
    profile = render(PATH, ALICE).get_resource("UserProfile")
    assert profile.get_property_value("UserProfileName") == "alice"
    assert {"Key": "studiouserid", "Value": "alice"} in profile.get_property_value("Tags")
    assert profile.get_property_value("DomainId") == SSM_DEFAULTS["DomainId"]


def test_iam_domain_has_no_sso_fields():
    props = render(PATH, ALICE).get_resource("UserProfile")["Properties"]
    assert "SingleSignOnUserIdentifier" not in props
    assert "SingleSignOnUserValue" not in props


@pytest.mark.parametrize(
    ("sso_name", "expected"), [("", "alice"), ("alice@example.com", "alice@example.com")]
)
def test_sso_domain_maps_the_identity_center_user(sso_name, expected):
    stack = render(PATH, {**ALICE, "DomainAuthMode": "SSO", "SsoUserName": sso_name})
    props = stack.get_resource("UserProfile")["Properties"]
    assert props["SingleSignOnUserIdentifier"] == "UserName"
    assert props["SingleSignOnUserValue"] == expected


def test_team_role_by_default_and_given_role_when_set():
    settings = render(PATH, ALICE).get_resource("UserProfile").get_property_value("UserSettings")
    assert settings["ExecutionRole"] == SSM_DEFAULTS["TeamExecutionRoleArn"]
    given = "arn:aws:iam::111111111111:role/alice-special"
    stack = render(PATH, {**ALICE, "ExistingExecutionRoleArn": given})
    assert (
        stack.get_resource("UserProfile").get_property_value("UserSettings")["ExecutionRole"]
        == given
    )
    assert "PersonExecutionRole" not in stack.data["Resources"]


def test_per_person_role_is_tagged_bounded_and_passes_only_itself():
    stack = render(PATH, PER_PERSON)
    role = stack.get_resource("PersonExecutionRole")["Properties"]
    assert role["PermissionsBoundary"] == SSM_DEFAULTS["PermissionsBoundaryArn"]
    assert role["Path"] == "/studio-catalog/execution/"
    assert {"Key": "studiouserid", "Value": "alice"} in role["Tags"]
    doc = stack.get_resource("PersonExecutionRolePolicy")["Properties"]["PolicyDocument"]
    for statement in statements(doc):
        if "iam:PassRole" in statement["Action"]:
            assert statement["Resource"] != ["*"]
            assert statement["Condition"]["StringEquals"]["iam:PassedToService"] == (
                "sagemaker.amazonaws.com"
            )


def test_studio_new_landing_and_classic_hidden_by_default():
    settings = render(PATH, ALICE).get_resource("UserProfile").get_property_value("UserSettings")
    assert settings["StudioWebPortal"] == "ENABLED"
    assert settings["DefaultLandingUri"] == "studio::"
    assert settings["StudioWebPortalSettings"]["HiddenAppTypes"] == ["JupyterServer"]


@pytest.mark.parametrize("row", ENFORCEABLE, ids=lambda r: r.tool)
def test_each_hidden_tool_becomes_exactly_its_deny(row):
    stack = render(PATH, {**PER_PERSON, **_hide(row)})
    denies = _denies(stack)
    assert set(denies) == {tool_denies.statement_sid(row.tool)}
    statement = denies[tool_denies.statement_sid(row.tool)]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == list(row.actions)
    expected = [
        r.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::AccountId}", "555555555555")
        .replace("${DomainId}", SSM_DEFAULTS["DomainId"])
        for r in row.resources
    ]
    assert statement["Resource"] == expected


def test_several_hidden_tools_each_get_a_deny_and_unhidden_ones_none():
    stack = render(
        PATH,
        {
            **PER_PERSON,
            "HiddenAppTypes": "JupyterServer,Canvas",
            "HiddenMlTools": "Training,JumpStart,Comet",
        },
    )
    assert set(_denies(stack)) == {
        "DenyHiddenJupyterServer",
        "DenyHiddenCanvas",
        "DenyHiddenTraining",
        "DenyHiddenJumpStart",
    }


def test_denies_need_enforcement_and_a_per_person_role():
    hidden = {"HiddenMlTools": "Training"}
    assert _policy(render(PATH, {**PER_PERSON, **hidden, "EnforceHiddenTools": "false"})) == {}
    assert _policy(render(PATH, {**ALICE, **hidden})) == {}


def test_tool_without_iam_action_adds_no_deny_but_the_policy_is_never_empty():
    stack = render(PATH, {**PER_PERSON, "HiddenAppTypes": "", "HiddenMlTools": "Comet"})
    assert _denies(stack) == {}
    assert set(_policy(stack)) == {tool_denies.SHARED_SPACES_SID}


def test_enforced_role_is_kept_out_of_shared_spaces():
    shared = _policy(render(PATH, PER_PERSON))[tool_denies.SHARED_SPACES_SID]
    assert shared["Effect"] == "Deny"
    assert set(shared["Action"]) == {
        "sagemaker:CreateSpace",
        "sagemaker:UpdateSpace",
        "sagemaker:CreateApp",
    }
    assert shared["Condition"] == {"StringEquals": {"sagemaker:SpaceSharingType": "Shared"}}


def test_hidden_tool_denies_are_one_managed_policy_under_the_catalog_path():
    policy = render(PATH, PER_PERSON).get_resource("HiddenToolDenies")["Properties"]
    assert policy["Path"] == "/studio-catalog/"
    assert "ManagedPolicyName" not in policy
    assert len(policy["Roles"]) == 1


def test_app_deny_covers_every_hideable_app_type():
    assert {r.tool for r in ENFORCEABLE if r.kind == "app"} == set(HIDEABLE_APP_TYPES)


def test_private_space_is_owned_and_private():
    stack = render(PATH, {**ALICE, "CreatePrivateSpace": "true", "PrivateSpaceEbsSizeGb": "20"})
    space = stack.get_resource("PrivateSpace")["Properties"]
    assert space["OwnershipSettings"] == {"OwnerUserProfileName": "alice"}
    assert space["SpaceSharingSettings"] == {"SharingType": "Private"}
    assert space["SpaceSettings"]["AppType"] == "JupyterLab"
    assert (
        int(
            space["SpaceSettings"]["SpaceStorageSettings"]["EbsStorageSettings"][
                "EbsVolumeSizeInGb"
            ]
        )
        == 20
    )
    assert "PrivateSpace" not in render(PATH, ALICE).data["Resources"]


def test_personal_security_group_isolates_the_person():
    stack = render(PATH, {**ALICE, "PersonalSecurityGroup": "true"})
    sg = stack.get_resource("PersonalSecurityGroupResource")["Properties"]
    assert sg["VpcId"] == SSM_DEFAULTS["DomainVpcId"]
    settings = stack.get_resource("UserProfile").get_property_value("UserSettings")
    assert len(settings["SecurityGroups"]) == 1


def test_outputs_tell_how_to_open_studio():
    outputs = render(PATH, ALICE).data["Outputs"]
    assert {"UserProfileArn", "ExecutionRoleArn", "OpenStudio"} <= set(outputs)
    assert "create-presigned-domain-url" in outputs["OpenStudio"]["Value"]


def test_sso_output_gives_the_identity_center_assignment_step():
    """CloudFormation does not assign the profile (cloudformation-coverage-roadmap#1128)."""
    stack = render(PATH, {**ALICE, "DomainAuthMode": "SSO", "SsoUserName": "alice@example.com"})
    how = stack.data["Outputs"]["OpenStudio"]["Value"]
    assert "roadmap#1128" in how
    assert "aws sso-admin create-application-assignment --application-arn" in how
    assert "--principal-type USER" in how
    assert "AttributeValue=alice@example.com" in how


def test_per_person_role_policy_scopes_spaces_and_data_to_the_person():
    doc = render(PATH, PER_PERSON).get_resource("PersonExecutionRolePolicy")["Properties"]
    sids = by_sid(doc["PolicyDocument"])
    owner = sids["OwnSpacesOnly"]["Condition"]["ArnEquals"]["sagemaker:OwnerUserProfileArn"]
    assert owner.endswith(f":user-profile/{SSM_DEFAULTS['DomainId']}/alice")
    objects = sids["DefaultBucketOwnPrefixObjects"]["Resource"]
    assert objects == ["arn:aws:s3:::sagemaker-us-east-1-555555555555/studio/alice/*"]


def test_a_profile_attaches_lifecycle_configurations_only_when_a_set_is_named():
    plain = render(PATH, {"UserProfileName": "alice"}).get_resource("UserProfile")
    assert "JupyterLabAppSettings" not in plain.get_property_value("UserSettings")
    stack = render(PATH, {"UserProfileName": "alice", "LifecycleConfigSet": "ml-team"})
    settings = stack.get_resource("UserProfile").get_property_value("UserSettings")
    assert settings["CodeEditorAppSettings"]["BuiltInLifecycleConfigArn"] == (
        LIFECYCLE_ARN.format("code-editor")
    )
