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


# --- issue 7: the launch path works, and the holes are closed ----------------------------
# Each test below asks the offline evaluator a question the emitted bootstrap must answer as
# AWS would; each failed on the template before issue 7's fixes.

ACCOUNT = "123456789012"
REGION = "us-east-1"
SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
IAM = f"arn:aws:iam::{ACCOUNT}"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXEC_ROLE = f"{IAM}:role/studio-catalog/execution/alice"
PRODUCT_POLICY = f"{IAM}:policy/studio-catalog/deny-tools-alice"
SLR = (
    f"{IAM}:role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleForAmazonSageMakerNotebooks"
)


def _principals(context: dict | None = None) -> dict:
    from factory.audit.evaluator import resolve_principals

    return resolve_principals(load(PATH), context or {})


def _boundary_arn() -> str:
    from factory.audit.evaluator import resolve_value

    return str(resolve_value({"Ref": "ExecutionRoleBoundary"}, load(PATH)))


def allowed(role: str, action: str, resource: str, context=None, params=None) -> bool:
    from factory.audit.evaluator import Request, evaluate

    policies = _principals(params)[role]
    request = Request(policies.principal_arn, action, resource, dict(context or {}))
    return evaluate(policies, request).allowed


def managed_key() -> dict:
    from factory import naming

    return {f"aws:ResourceTag/{naming.MANAGED_BY_TAG}": naming.MANAGED_BY_VALUE}


def test_launch_role_reads_service_catalogs_own_template_copy():
    copy = "arn:aws:s3:::cf-templates-abc-us-east-1/template.json"
    tag = {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}
    assert allowed("LaunchRole", "s3:GetObject", copy, tag)
    assert not allowed("LaunchRole", "s3:GetObject", copy)


def test_launch_role_creates_only_the_sagemaker_notebooks_service_linked_role():
    sagemaker = {"iam:AWSServiceName": "sagemaker.amazonaws.com"}
    assert allowed("LaunchRole", "iam:CreateServiceLinkedRole", SLR, sagemaker)
    other = f"{IAM}:role/aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMR"
    assert not allowed("LaunchRole", "iam:CreateServiceLinkedRole", other, sagemaker)
    emr = {"iam:AWSServiceName": "elasticmapreduce.amazonaws.com"}
    assert not allowed("LaunchRole", "iam:CreateServiceLinkedRole", SLR, emr)


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("kms:GenerateDataKeyWithoutPlaintext", KEY, "managed"),
        ("sso:DescribeInstance", "arn:aws:sso:::instance/ssoins-1234567890abcdef", None),
        ("sso:ListInstances", "*", None),
        ("identitystore:DescribeUser", "arn:aws:identitystore:::user/u-1", None),
        ("identitystore:ListUsers", f"arn:aws:identitystore::{ACCOUNT}:identitystore/d-1", None),
        ("iam:ListEntitiesForPolicy", PRODUCT_POLICY, None),
        ("ec2:DescribeInstances", "*", None),
        ("iam:UpdateRole", EXEC_ROLE, None),
        ("iam:UpdateAssumeRolePolicy", EXEC_ROLE, None),
        ("kms:EnableKey", KEY, "managed"),
        ("kms:DisableKey", KEY, "managed"),
        ("kms:DisableKeyRotation", KEY, "managed"),
        ("kms:UpdateKeyDescription", KEY, "managed"),
        ("kms:DeleteAlias", KEY, "managed"),
        ("kms:DeleteAlias", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/sagemaker-studio/d", None),
        ("kms:ListAliases", "*", None),
        (
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0",
            None,
        ),
        (
            "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0",
            None,
        ),
    ],
)
def test_launch_role_has_what_the_registry_handlers_list(action, resource, context):
    assert allowed("LaunchRole", action, resource, managed_key() if context else None)


def test_launch_role_attaches_only_catalog_policies_to_bounded_catalog_roles():
    ok = {"iam:PermissionsBoundary": _boundary_arn(), "iam:PolicyARN": PRODUCT_POLICY}
    assert allowed("LaunchRole", "iam:AttachRolePolicy", EXEC_ROLE, ok)
    assert allowed("LaunchRole", "iam:DetachRolePolicy", EXEC_ROLE, ok)
    admin = {**ok, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert not allowed("LaunchRole", "iam:AttachRolePolicy", EXEC_ROLE, admin)
    unbounded = {"iam:PolicyARN": PRODUCT_POLICY}
    assert not allowed("LaunchRole", "iam:AttachRolePolicy", EXEC_ROLE, unbounded)


@pytest.mark.parametrize(
    "action", ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateGrant"]
)
def test_launch_role_manages_only_keys_the_products_created(action):
    assert allowed("LaunchRole", action, KEY, managed_key())
    assert not allowed("LaunchRole", action, KEY)


def test_launch_role_creates_keys_only_tagged_as_managed():
    from factory import naming

    tagged = {
        f"aws:RequestTag/{naming.MANAGED_BY_TAG}": naming.MANAGED_BY_VALUE,
        "aws:TagKeys": [naming.MANAGED_BY_TAG, "Name"],
    }
    assert allowed("LaunchRole", "kms:CreateKey", "*", tagged)
    assert not allowed("LaunchRole", "kms:CreateKey", "*")
    assert not allowed("LaunchRole", "kms:CreateKey", "*", {"aws:RequestTag/x": "y"})


def test_a_given_domain_key_is_usable_only_through_sagemaker():
    via = {"kms:ViaService": f"sagemaker.{REGION}.amazonaws.com"}
    for action in ("kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt"):
        assert allowed("LaunchRole", action, KEY, via)
        assert not allowed("LaunchRole", action, KEY)
    assert not allowed("LaunchRole", "kms:PutKeyPolicy", KEY, via)


def test_boundary_lives_outside_the_product_policy_path():
    from factory import naming

    boundary = _boundary_arn()
    assert f":policy{naming.BOOTSTRAP_POLICY_PATH}" in boundary
    assert f":policy{naming.POLICY_PATH}" not in boundary
    assert allowed("LaunchRole", "iam:CreatePolicyVersion", PRODUCT_POLICY)


@pytest.mark.parametrize(
    "action",
    [
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
    ],
)
def test_launch_role_can_never_change_the_boundary(action):
    """Even with a grant on every policy added, the explicit Deny holds (issue 7 3d)."""
    import copy

    from factory.audit.evaluator import Request, evaluate, resolve_principals

    broken = copy.deepcopy(load(PATH))
    statements = broken["Resources"]["LaunchRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    statements["Statement"].append({"Effect": "Allow", "Action": "iam:*Policy*", "Resource": "*"})
    policies = resolve_principals(broken)["LaunchRole"]
    boundary = _boundary_arn()
    assert not evaluate(policies, Request(policies.principal_arn, action, boundary)).allowed


def test_launch_role_cannot_swap_or_drop_a_roles_boundary():
    other = {"iam:PermissionsBoundary": f"{IAM}:policy/studio-catalog/permissive"}
    assert not allowed("LaunchRole", "iam:PutRolePermissionsBoundary", EXEC_ROLE, other)
    assert not allowed("LaunchRole", "iam:CreateRole", EXEC_ROLE, other)
    own = {"iam:PermissionsBoundary": _boundary_arn()}
    assert allowed("LaunchRole", "iam:PutRolePermissionsBoundary", EXEC_ROLE, own)
    assert not allowed("LaunchRole", "iam:DeleteRolePermissionsBoundary", EXEC_ROLE, own)


def test_drain_concurrency_is_not_reserved_unless_asked():
    function = render(PATH).get_resource("ProfileDrainFunction")
    assert "ReservedConcurrentExecutions" not in function["Properties"]
    reserved = render(PATH, {"DrainReservedConcurrency": "20"})
    props = reserved.get_resource("ProfileDrainFunction")["Properties"]
    assert int(props["ReservedConcurrentExecutions"]) == 20


def test_drain_function_embeds_the_tested_source_verbatim():
    import inspect

    from factory.launch import drain_function

    code = load(PATH)["Resources"]["ProfileDrainFunction"]["Properties"]["Code"]["ZipFile"]
    assert code == inspect.getsource(drain_function)


@pytest.mark.parametrize(
    "action",
    [
        "servicecatalog:UpdateProvisionedProduct",
        "servicecatalog:TerminateProvisionedProduct",
        "servicecatalog:DescribeRecord",
        "servicecatalog:ListRecordHistory",
        "servicecatalog:DescribeProvisionedProduct",
    ],
)
def test_cloud_admin_updates_terminates_and_watches(action):
    assert allowed("CloudAdminRole", action, "*")


def test_cloud_admin_still_has_no_sagemaker_action():
    from factory.audit.evaluator import principal_can_any

    policies = _principals()["CloudAdminRole"]
    assert not principal_can_any(policies, "sagemaker:*", ["*"], {})


def test_publisher_can_publish_with_the_launch_role():
    launch_role = f"{IAM}:role/StudioCatalogLaunchRole"
    to_sc = {"iam:PassedToService": "servicecatalog.amazonaws.com"}
    assert allowed("PublisherRole", "iam:GetRole", launch_role)
    assert allowed("PublisherRole", "iam:PassRole", launch_role, to_sc)
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert not allowed("PublisherRole", "iam:PassRole", launch_role, to_ec2)
    assert not allowed("PublisherRole", "iam:PassRole", EXEC_ROLE, to_sc)
    for action in ("cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary"):
        assert allowed("PublisherRole", action, "*")
    for action in (
        "servicecatalog:AssociateProductWithPortfolio",
        "servicecatalog:UpdateTagOption",
    ):
        assert allowed("PublisherRole", action, "*")
    parameter = (
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/studio-catalog/bootstrap/template-bucket-name"
    )
    assert allowed("PublisherRole", "ssm:GetParameter", parameter)


@pytest.mark.parametrize(
    "role", ["LaunchRole", "CloudAdminRole", "DataScientistRole", "PublisherRole"]
)
def test_every_allowed_action_can_match_one_of_its_resources(role):
    """Service Authorization Reference: an action scoped to ARNs it cannot take never matches."""
    from factory.audit import sar
    from factory.audit.patterns import as_list

    misfits = []
    for policy in _principals()[role].identity:
        for statement in policy.document["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            resources = [str(r) for r in as_list(statement["Resource"])]
            for action in as_list(statement["Action"]):
                if not any(sar.scope_fits(action, r) for r in resources):
                    misfits.append(f"{statement.get('Sid')}: {action} on {resources}")
    assert misfits == []


# --- the data scientist's identity comes from the identity provider ----------------------

CALLER = f"{IAM}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_DataScientist_abc"


def _trust(conditions_params: dict | None = None):
    from factory.audit.resolver import TemplateResolver

    template = load(PATH)
    resolver = TemplateResolver(template, conditions_params or {})
    document = template["Resources"]["DataScientistRole"]["Properties"]["AssumeRolePolicyDocument"]
    return resolver.resolve(document)


def trusts(action: str, context: dict, caller=None, params: dict | None = None) -> bool:
    from factory.audit.evaluator import Caller, Request, evaluate_resource_policy

    who = caller or Caller("AWS", CALLER, f"{IAM.replace('iam', 'sts')}:assumed-role/x/alice")
    role = f"{IAM}:role/studio-catalog/personas/DataScientistRole"
    decision = evaluate_resource_policy(
        _trust(params), Request(who.arn, action, role, context), who
    )
    return decision.allowed


def test_data_scientist_cannot_choose_someone_elses_studiouserid():
    alice = {"aws:PrincipalTag/studiouserid": "alice"}
    assert trusts("sts:AssumeRole", alice)
    own = {**alice, "aws:RequestTag/studiouserid": "alice", "aws:TagKeys": ["studiouserid"]}
    assert trusts("sts:TagSession", own)
    foreign = {**alice, "aws:RequestTag/studiouserid": "bob", "aws:TagKeys": ["studiouserid"]}
    assert not trusts("sts:TagSession", foreign)
    extra = {**own, "aws:RequestTag/team": "x", "aws:TagKeys": ["studiouserid", "team"]}
    assert not trusts("sts:TagSession", extra)


def test_a_caller_without_an_identity_provider_tag_cannot_assume_or_tag():
    assert not trusts("sts:AssumeRole", {})
    chosen = {"aws:RequestTag/studiouserid": "bob", "aws:TagKeys": ["studiouserid"]}
    assert not trusts("sts:TagSession", chosen)


def test_saml_federation_is_off_by_default_and_bound_to_the_sign_in_audience():
    from factory.audit.evaluator import Caller

    provider = f"{IAM}:saml-provider/corp-idp"
    saml = Caller("Federated", provider)
    aud = {"SAML:aud": "https://signin.aws.amazon.com/saml"}
    assert not trusts("sts:AssumeRoleWithSAML", aud, saml)
    params = {"DataScientistSamlProviderArn": provider}
    assert trusts("sts:AssumeRoleWithSAML", aud, saml, params)
    assert trusts("sts:TagSession", aud, saml, params)
    assert not trusts("sts:AssumeRoleWithSAML", {"SAML:aud": "https://evil.example"}, saml, params)


def test_presigned_url_network_limits_apply_to_the_data_scientist_role():
    own = {"aws:PrincipalTag/studiouserid": "alice", "sagemaker:ResourceTag/studiouserid": "alice"}
    profile = f"{SM}:user-profile/d-abc/alice"
    url = "sagemaker:CreatePresignedDomainUrl"
    assert allowed("DataScientistRole", url, profile, {**own, "aws:SourceIp": "198.51.100.7"})
    limited = {"PresignedUrlAllowedCidrs": ["203.0.113.0/24"]}
    inside = {**own, "aws:SourceIp": "203.0.113.9"}
    outside = {**own, "aws:SourceIp": "198.51.100.7"}
    assert allowed("DataScientistRole", url, profile, inside, limited)
    assert not allowed("DataScientistRole", url, profile, outside, limited)
    vpce = {"PresignedUrlAllowedVpceIds": ["vpce-0123456789abcdef0"]}
    through = {**own, "aws:sourceVpce": "vpce-0123456789abcdef0"}
    assert allowed("DataScientistRole", url, profile, through, vpce)
    assert not allowed("DataScientistRole", url, profile, own, vpce)


def test_classic_domain_efs_is_reachable_only_through_sagemaker():
    fs = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-0123456789abcdef0"
    via = {"aws:ViaAWSService": "true"}
    for action in ("elasticfilesystem:DeleteFileSystem", "elasticfilesystem:TagResource"):
        assert allowed("LaunchRole", action, fs, via)
        assert not allowed("LaunchRole", action, fs)
    assert allowed("LaunchRole", "elasticfilesystem:CreateFileSystem", "*", via)
    assert not allowed("LaunchRole", "elasticfilesystem:CreateFileSystem", "*")


@pytest.mark.parametrize(
    ("action", "resource", "sharing", "expected"),
    [
        ("sagemaker:DeleteSpace", "space/d-abc/alice", "Private", True),
        ("sagemaker:DeleteApp", "app/d-abc/alice/jupyterlab/default", "Private", True),
        ("sagemaker:DeleteApp", "app/d-abc/alice/jupyterserver/default", None, True),
        ("sagemaker:DeleteSpace", "space/d-abc/team-shared", "Shared", False),
        ("sagemaker:DeleteApp", "app/d-abc/team-shared/jupyterlab/default", "Shared", False),
    ],
)
def test_the_drain_function_can_never_delete_shared_spaces_or_their_apps(
    action, resource, sharing, expected
):
    """IAM agrees with the code: whatever the function tries, shared spaces survive."""
    context = {"sagemaker:SpaceSharingType": sharing} if sharing else {}
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:{resource}"
    assert allowed("ProfileDrainRole", action, arn, context) is expected
