"""The team execution role product: rendered with parameter sets, and its policies evaluated
with the offline IAM evaluator (identity policies plus the catalog's permissions boundary).

The boundary is the committed bootstrap's ``ExecutionRoleBoundary`` plus
:func:`factory.policies.team_role.boundary_statements`, which the bootstrap does not carry
yet (``test_boundary_needs_the_team_statements`` shows why it must).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from troposphere import encode_to_dict

from factory import naming
from factory.audit.evaluator import (
    Caller,
    PolicySet,
    Request,
    evaluate,
    evaluate_resource_policy,
    resolve_principals,
)
from factory.audit.resolver import TemplateResolver
from factory.policies import team_role as policies
from factory.products import team_role
from tests.support.render import ROOT, by_sid, load, render, statements

PATH = "templates/studio-team-role.yaml"
BOOTSTRAP = "launch/studio-catalog-bootstrap.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/studio-catalog-bootstrap/ExecutionRoleBoundary"
DOMAIN_ID = "d-abcdefghijkl"
DOMAIN_SG = "sg-0d0d0d0d0d0d0d0d0"
EXTRA_SG = "sg-0e0e0e0e0e0e0e0e0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
TEAM_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/99999999-2222-3333-4444-555555555555"
DOMAIN_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/dddddddd-2222-3333-4444-555555555555"
REPO = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/fraud/trainer"
DLC = "763104351884"

#: What an admin types in the console (strings, as Service Catalog sends them).
LAUNCH = {
    "TeamName": "fraud",
    "CostCenter": "CC-1234",
    "JobSubnetIds": ",".join(SUBNETS),
    "AdditionalJobSecurityGroupIds": EXTRA_SG,
    "TeamKmsKeyArn": TEAM_KEY,
    "ReadOnlyS3Locations": "lake/raw/fraud,reference-data",
    "ReadWriteS3Locations": "fraud-team,shared-work/fraud",
    "EcrRepositoryArns": REPO,
}
#: The SSM-typed parameters, resolved (CloudFormation reads them before anything else).
RESOLVED_SSM = {
    "DomainId": DOMAIN_ID,
    "DomainSecurityGroupId": DOMAIN_SG,
    "DomainKmsKeyArn": DOMAIN_KEY,
    "PermissionsBoundaryArn": BOUNDARY_ARN,
}


# --- the template as committed ----------------------------------------------------------------


def test_committed_template_is_what_the_generator_emits() -> None:
    from factory.build import render as emit

    assert (ROOT / PATH).read_text() == emit(team_role.generate())


def test_template_is_cfn_lint_clean_warnings_included() -> None:
    from factory.lint import lint_text

    assert [str(f) for f in lint_text(PATH, (ROOT / PATH).read_text())] == []


def test_every_parameter_has_a_console_group_label_and_description() -> None:
    template = load(PATH)
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for g in interface["ParameterGroups"] for p in g["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"])
    assert set(interface["ParameterLabels"]) == set(template["Parameters"])
    for name, spec in template["Parameters"].items():
        assert spec["Description"], name
        if "AllowedPattern" in spec:
            assert spec["ConstraintDescription"], name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"domain_nam": "research"}, "did you mean"),
        ({"domain_name": "my_domain"}, "domain_name"),
        ({"image_registries": ["76310435188"]}, "image_registries.0"),
    ],
)
def test_bad_generator_options_are_refused(options, message) -> None:
    from factory.options import OptionsError

    with pytest.raises(OptionsError, match=message):
        team_role.generate(options)


def test_generator_options_change_the_defaults() -> None:
    template = team_role.generate(
        {"domain_name": "research", "image_registries": ["111122223333", "444455556666"]}
    ).to_dict()
    parameters = template["Parameters"]
    assert parameters["DomainId"]["Default"] == "/studio-catalog/domains/research/domain-id"
    assert parameters["SageMakerImageRegistries"]["Default"] == "111122223333,444455556666"


def test_allows_are_attached_after_the_denies_and_published_last() -> None:
    resources = load(PATH)["Resources"]
    assert resources["TeamExecutionRolePolicy"]["DependsOn"] == ["TeamJobGuardrails"]
    assert resources["SsmExecutionRoleArn"]["DependsOn"] == ["TeamExecutionRolePolicy"]


# --- rendered with parameter sets --------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Any:
    return render(PATH, {**LAUNCH, **RESOLVED_SSM})


def test_role_under_catalog_path_with_boundary_and_generated_name(stack) -> None:
    role = stack.get_resource("TeamExecutionRole")
    assert role.get_property_value("Path") == naming.EXECUTION_ROLE_PATH
    assert role.get_property_value("PermissionsBoundary") == BOUNDARY_ARN
    assert "RoleName" not in role["Properties"]
    tags = {t["Key"]: t["Value"] for t in role.get_property_value("Tags")}
    assert tags == {
        "Team": "fraud",
        "CostCenter": "CC-1234",
        naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE,
    }


def test_managed_policies_are_under_the_catalog_policy_path(stack) -> None:
    for logical_id in ("TeamJobGuardrails", "TeamReadOnlyData", "TeamReadWriteData"):
        managed = stack.get_resource(logical_id)
        assert managed.get_property_value("Path") == naming.POLICY_PATH
        assert "ManagedPolicyName" not in managed["Properties"]


def test_trusted_by_sagemaker_of_this_account_and_region_only(stack) -> None:
    trust = stack.get_resource("TeamExecutionRole").get_property_value("AssumeRolePolicyDocument")
    (statement,) = statements(trust)
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert set(statement["Action"]) == {"sts:AssumeRole", "sts:SetSourceIdentity"}
    (source,) = statement["Condition"]["ArnLike"].values()
    assert re.fullmatch(r"arn:aws:sagemaker:us-east-1:\d{12}:\*", source)
    assert list(statement["Condition"]["ArnLike"]) == ["aws:SourceArn"]


def test_publishes_role_arn_under_the_team_ssm_path(stack) -> None:
    ssm = stack.get_resource("SsmExecutionRoleArn")
    assert ssm.get_property_value("Name") == "/studio-catalog/teams/fraud/execution-role-arn"
    assert ssm.get_property_value("Name") == team_role.team_ssm_parameter("fraud")
    assert ssm.get_property_value("Tags") == {"Team": "fraud", "CostCenter": "CC-1234"}
    assert ssm.get_property_value("Type") == "String"


def test_team_ssm_helper_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="execution-role-arn"):
        team_role.team_ssm_parameter("fraud", "role")


def test_listing_is_limited_to_the_prefix_unless_a_whole_bucket(stack) -> None:
    read_only = by_sid(stack.get_resource("TeamReadOnlyData").get_property_value("PolicyDocument"))
    assert read_only["ReadOnlyListLocation0"]["Resource"] == ["arn:aws:s3:::lake"]
    assert read_only["ReadOnlyListLocation0"]["Condition"] == {
        "StringLike": {"s3:prefix": ["raw/fraud", "raw/fraud/*"]}
    }
    assert read_only["ReadOnlyListLocation1"]["Resource"] == ["arn:aws:s3:::reference-data"]
    assert "Condition" not in read_only["ReadOnlyListLocation1"]
    objects = [r for r in read_only["ReadOnlyObjects"]["Resource"] if r]
    assert objects == ["arn:aws:s3:::lake/raw/fraud/*", "arn:aws:s3:::reference-data/*"]
    assert read_only["ReadOnlyObjects"]["Action"] == ["s3:GetObject"]
    assert set(read_only) == {"ReadOnlyListLocation0", "ReadOnlyListLocation1", "ReadOnlyObjects"}


def test_without_locations_or_images_nothing_is_granted() -> None:
    params = {
        **LAUNCH,
        **RESOLVED_SSM,
        "ReadOnlyS3Locations": "",
        "ReadWriteS3Locations": "",
        "EcrRepositoryArns": "",
        "SageMakerImageRegistries": "",
    }
    stack = render(PATH, params)
    assert "TeamReadOnlyData" not in stack.data["Resources"]
    assert "TeamReadWriteData" not in stack.data["Resources"]
    work = by_sid(
        stack.get_resource("TeamExecutionRolePolicy").get_property_value("PolicyDocument")
    )
    assert "PullTeamRepositories" not in work and "PullSageMakerImageRegistries" not in work
    assert "EcrLoginHasNoResourceScope" in work


def test_four_locations_of_two_segments_fit_the_parameter() -> None:
    four = ",".join(f"bucket-{i}/raw/team-a" for i in range(4))
    stack = render(PATH, {**LAUNCH, **RESOLVED_SSM, "ReadWriteS3Locations": four})
    doc = stack.get_resource("TeamReadWriteData").get_property_value("PolicyDocument")
    lists = {sid: s for sid, s in by_sid(doc).items() if "List" in sid}
    assert len(lists) == 4
    for index, statement in enumerate(lists.values()):
        assert statement["Resource"] == [f"arn:aws:s3:::bucket-{index}"]
        assert statement["Condition"]["StringLike"]["s3:prefix"] == ["raw/team-a", "raw/team-a/*"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("TeamName", "Fraud_Team"),
        ("TeamName", "-fraud"),
        ("TeamName", "a" * 33),
        ("CostCenter", "cc;1"),
        ("TeamKmsKeyArn", "alias/team"),
        ("TeamKmsKeyArn", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/team"),
        ("ReadOnlyS3Locations", ",".join(f"bucket-{i}" for i in range(5))),  # five
        ("ReadOnlyS3Locations", "bucket-a/x/y/z"),  # three prefix segments
        ("ReadOnlyS3Locations", "bucket-a/raw/"),  # trailing slash
        ("ReadOnlyS3Locations", "bucket-a/*"),  # IAM wildcard
        ("ReadOnlyS3Locations", "bucket-a, bucket-b"),  # space
        ("ReadWriteS3Locations", "Bucket"),
        ("AdditionalJobSecurityGroupIds", "default"),
        ("EcrRepositoryArns", "fraud/trainer"),
        ("SageMakerImageRegistries", "76310435188"),
    ],
)
def test_bad_values_are_rejected_before_launch(param, value) -> None:
    with pytest.raises(ValueError, match=param):
        render(PATH, {**LAUNCH, **RESOLVED_SSM, param: value})


def test_more_locations_than_supported_are_rejected_not_ignored() -> None:
    five = ",".join(f"bucket-{i}" for i in range(team_role.MAX_LOCATIONS + 1))
    assert not re.fullmatch(team_role.LOCATIONS_PATTERN, five)
    assert re.fullmatch(team_role.LOCATIONS_PATTERN, five.rsplit(",", 1)[0])


# --- the offline evaluator -----------------------------------------------------------------------


def _boundary(with_team_statements: bool = True) -> Mapping[str, Any]:
    bootstrap = load(BOOTSTRAP)
    resolver = TemplateResolver(bootstrap, {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION})
    document = copy.deepcopy(
        resolver.resolve(bootstrap["Resources"]["ExecutionRoleBoundary"]["Properties"])[
            "PolicyDocument"
        ]
    )
    team_sids = {s.Sid for s in policies.boundary_statements()}
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") not in team_sids]
    if with_team_statements:
        extra = encode_to_dict(policies.boundary_statements())
        document["Statement"] += TemplateResolver({}, {"AWS::AccountId": ACCOUNT}).resolve(extra)
    return document


@pytest.fixture(scope="module")
def boundary() -> Mapping[str, Any]:
    return _boundary()


def team(
    boundary: Mapping[str, Any], template: Mapping[str, Any] | None = None, **params: str
) -> PolicySet:
    context = {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        **LAUNCH,
        **RESOLVED_SSM,
        **params,
    }
    principals = resolve_principals(template or load(PATH), context, {}, {BOUNDARY_ARN: boundary})
    role = principals["TeamExecutionRole"]
    assert role.boundary is not None and not role.unresolved
    return role


@pytest.fixture(scope="module")
def role(boundary) -> PolicySet:
    return team(boundary)


def decide(role: PolicySet, action: str, resource: str, **context: Any) -> Any:
    if action.startswith("s3:"):
        # S3 puts the bucket owner's account in every request (Amazon S3 User Guide,
        # condition keys: s3:ResourceAccount); the boundary keeps roles in this account.
        context.setdefault("s3:ResourceAccount", ACCOUNT)
    return evaluate(role, Request(role.principal_arn, action, resource, context))


def allowed(role: PolicySet, action: str, resource: str, **context: Any) -> bool:
    return decide(role, action, resource, **context).allowed


def _sm(resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}"


#: What SageMaker puts in the request context of a well-formed job request (condition keys
#: from the Service Authorization Reference; multivalued keys as lists).
GOOD_JOB = {
    policies.SUBNETS_KEY: [SUBNETS[0]],
    policies.SECURITY_GROUPS_KEY: [DOMAIN_SG],
    policies.VOLUME_KEY: TEAM_KEY,
    policies.OUTPUT_KEY: TEAM_KEY,
}

JOB_RESOURCES = {
    "sagemaker:CreateTrainingJob": "training-job/t1",
    "sagemaker:CreateProcessingJob": "processing-job/p1",
    "sagemaker:CreateTransformJob": "transform-job/b1",
    "sagemaker:CreateHyperParameterTuningJob": "hyper-parameter-tuning-job/h1",
    "sagemaker:CreateModel": "model/m1",
}


def job(role: PolicySet, action: str, **overrides: Any) -> Any:
    """The job request with only the keys SageMaker sends for ``action``, then overrides
    (``None`` removes a key)."""
    keys = policies.condition_keys(action)
    context = {k: v for k, v in GOOD_JOB.items() if k in keys}
    for key, value in overrides.items():
        name = {
            "subnets": policies.SUBNETS_KEY,
            "groups": policies.SECURITY_GROUPS_KEY,
            "volume": policies.VOLUME_KEY,
            "output": policies.OUTPUT_KEY,
        }[key]
        if value is None:
            context.pop(name, None)
        else:
            context[name] = value
    return decide(role, action, _sm(JOB_RESOURCES[action]), **context)


@pytest.mark.parametrize("action", policies.JOB_ACTIONS)
def test_job_in_team_subnets_with_team_key_is_allowed(role, action) -> None:
    decision = job(role, action)
    assert decision.allowed, decision.reason


def test_training_job_may_use_an_additional_security_group(role) -> None:
    assert job(role, "sagemaker:CreateTrainingJob", groups=[DOMAIN_SG, EXTRA_SG]).allowed


@pytest.mark.parametrize(
    ("overrides", "deny_sid"),
    [
        ({"subnets": None, "groups": None}, "DenyJobsWithoutVpcSubnets"),
        ({"subnets": None}, "DenyJobsWithoutVpcSubnets"),
        ({"groups": None}, "DenyJobsWithoutVpcSecurityGroups"),
        ({"subnets": ["subnet-0aaaaaaaaaaaaaaaa"]}, "DenyJobsOutsideTeamSubnets"),
        ({"subnets": [SUBNETS[0], "subnet-0aaaaaaaaaaaaaaaa"]}, "DenyJobsOutsideTeamSubnets"),
        ({"groups": ["sg-0aaaaaaaaaaaaaaaa"]}, "DenyJobsOutsideTeamSecurityGroups"),
        ({"volume": OTHER_KEY}, "DenyVolumesWithAnotherKey"),
        ({"volume": None}, "DenyJobsWithoutVolumeKey"),
        ({"output": OTHER_KEY}, "DenyOutputsWithoutTeamKey"),
        ({"output": None}, "DenyOutputsWithoutTeamKey"),
    ],
)
def test_training_job_outside_the_rules_is_explicitly_denied(role, overrides, deny_sid) -> None:
    decision = job(role, "sagemaker:CreateTrainingJob", **overrides)
    assert not decision.allowed
    assert deny_sid in decision.matched_sids, decision.reason


def test_without_required_volume_key_a_job_may_name_none_but_never_another(boundary) -> None:
    """Instance types with local NVMe storage refuse a volume key."""
    relaxed = team(boundary, VolumeKeyRequired="false")
    assert job(relaxed, "sagemaker:CreateTrainingJob", volume=None).allowed
    assert not job(relaxed, "sagemaker:CreateTrainingJob", volume=OTHER_KEY).allowed
    assert not job(relaxed, "sagemaker:CreateTrainingJob", output=None).allowed
    assert not job(relaxed, "sagemaker:CreateTrainingJob", subnets=None).allowed


def test_transform_job_needs_the_team_key_and_a_model_needs_the_vpc(role) -> None:
    assert not job(role, "sagemaker:CreateTransformJob", volume=OTHER_KEY).allowed
    assert not job(role, "sagemaker:CreateTransformJob", output=None).allowed
    assert not job(role, "sagemaker:CreateModel", subnets=None).allowed
    assert not job(role, "sagemaker:CreateModel", groups=["sg-0aaaaaaaaaaaaaaaa"]).allowed


def test_guards_cover_exactly_the_actions_that_send_each_key() -> None:
    """Derived from the SAR: every job action that sends a key is guarded by it, no other."""
    document = encode_to_dict(policies.job_guard_statements(["s"], ["g"], "k", "C"))
    unwrapped = [s["Fn::If"][1] if "Fn::If" in s else s for s in document]
    guarded = {s["Sid"]: set(s["Action"]) for s in unwrapped}
    for sid, key in (
        ("DenyJobsWithoutVpcSubnets", policies.SUBNETS_KEY),
        ("DenyJobsOutsideTeamSubnets", policies.SUBNETS_KEY),
        ("DenyJobsWithoutVpcSecurityGroups", policies.SECURITY_GROUPS_KEY),
        ("DenyJobsOutsideTeamSecurityGroups", policies.SECURITY_GROUPS_KEY),
        ("DenyVolumesWithAnotherKey", policies.VOLUME_KEY),
        ("DenyJobsWithoutVolumeKey", policies.VOLUME_KEY),
        ("DenyOutputsWithoutTeamKey", policies.OUTPUT_KEY),
    ):
        expected = {a for a in policies.JOB_ACTIONS if key in policies.condition_keys(a)}
        assert guarded[sid] == expected, sid
    assert policies.actions_supporting(policies.SUBNETS_KEY) == [
        "sagemaker:CreateTrainingJob",
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:CreateModel",
    ]
    assert "sagemaker:CreateModel" not in policies.actions_supporting(policies.VOLUME_KEY)


def _mutate(sid: str, change: Any) -> dict[str, Any]:
    template = copy.deepcopy(dict(load(PATH)))
    document = template["Resources"]["TeamJobGuardrails"]["Properties"]["PolicyDocument"]
    changed = [
        change(s) if isinstance(s, dict) and s.get("Sid") == sid else s
        for s in document["Statement"]
    ]
    document["Statement"] = [s for s in changed if s is not None]
    return template


def test_mutation_without_the_null_deny_a_job_without_vpc_slips_through(boundary) -> None:
    """ForAnyValue is false on a missing key: the Null statement is what stops "no VPC"."""
    weakened = team(boundary, _mutate("DenyJobsWithoutVpcSubnets", lambda s: None))
    decision = job(weakened, "sagemaker:CreateTrainingJob", subnets=None)
    assert decision.allowed


def test_mutation_for_all_values_lets_one_foreign_subnet_through(boundary) -> None:
    def for_all(statement: dict[str, Any]) -> dict[str, Any]:
        condition = statement["Condition"].pop("ForAnyValue:StringNotEquals")
        statement["Condition"]["ForAllValues:StringNotEquals"] = condition
        return statement

    weakened = team(boundary, _mutate("DenyJobsOutsideTeamSubnets", for_all))
    mixed = [SUBNETS[0], "subnet-0aaaaaaaaaaaaaaaa"]
    assert job(weakened, "sagemaker:CreateTrainingJob", subnets=mixed).allowed


def test_mutation_without_the_key_deny_another_key_is_accepted(boundary) -> None:
    weakened = team(boundary, _mutate("DenyVolumesWithAnotherKey", lambda s: None))
    assert job(weakened, "sagemaker:CreateTrainingJob", volume=OTHER_KEY).allowed


# --- S3 -------------------------------------------------------------------------------------


def _object(bucket_and_key: str) -> str:
    return f"arn:aws:s3:::{bucket_and_key}"


@pytest.mark.parametrize(
    ("action", "key", "expected"),
    [
        ("s3:GetObject", "lake/raw/fraud/2024/data.csv", True),
        ("s3:GetObject", "reference-data/any/thing", True),
        ("s3:PutObject", "lake/raw/fraud/out.csv", False),  # read-only location
        ("s3:GetObject", "lake/raw/fraudster/data.csv", False),  # prefix is a whole segment
        ("s3:GetObject", "lake/raw/other/data.csv", False),
        ("s3:GetObject", "lake/curated/data.csv", False),
        ("s3:GetObject", "other-bucket/data.csv", False),
        ("s3:PutObject", "fraud-team/models/model.tar.gz", True),
        ("s3:DeleteObject", "shared-work/fraud/tmp", True),
        ("s3:PutObject", "shared-work/payments/tmp", False),
        ("s3:GetObject", "shared-work/fraud/x", True),
        ("s3:GetObject", f"sagemaker-{REGION}-{ACCOUNT}/anything", False),
    ],
)
def test_objects_only_inside_the_given_locations(role, action, key, expected) -> None:
    assert allowed(role, action, _object(key)) is expected


@pytest.mark.parametrize(
    ("bucket", "prefix", "expected"),
    [
        ("lake", "raw/fraud", True),
        ("lake", "raw/fraud/", True),
        ("lake", "raw/fraud/2024/", True),
        ("lake", "raw/", False),
        ("lake", "raw/fraudster/", False),
        ("lake", None, False),
        ("reference-data", None, True),
        ("reference-data", "anything/", True),
        ("shared-work", "fraud/", True),
        ("shared-work", "payments/", False),
        ("other-bucket", None, False),
    ],
)
def test_listing_only_inside_the_given_locations(role, bucket, prefix, expected) -> None:
    context = {} if prefix is None else {"s3:prefix": prefix}
    assert allowed(role, "s3:ListBucket", _object(bucket), **context) is expected


def test_boundary_needs_the_team_statements() -> None:
    """Without :func:`boundary_statements`, the bootstrap's boundary (default bucket only,
    this account's images only) cuts the team's data and SageMaker's images."""
    role = team(_boundary(with_team_statements=False))
    decision = decide(role, "s3:GetObject", _object("lake/raw/fraud/data.csv"))
    assert decision.reason == "not allowed by permissions boundary"
    dlc = f"arn:aws:ecr:{REGION}:{DLC}:repository/pytorch-training"
    assert decide(role, "ecr:BatchGetImage", dlc).reason == "not allowed by permissions boundary"


# --- pass role, key, images, logs, Studio ------------------------------------------------------


def test_pass_role_only_itself_only_to_sagemaker(role) -> None:
    me = role.principal_arn
    assert allowed(role, "iam:PassRole", me, **{"iam:PassedToService": "sagemaker.amazonaws.com"})
    other = f"arn:aws:iam::{ACCOUNT}:role{naming.EXECUTION_ROLE_PATH}other-team"
    assert not allowed(
        role, "iam:PassRole", other, **{"iam:PassedToService": "sagemaker.amazonaws.com"}
    )
    assert not allowed(role, "iam:PassRole", me, **{"iam:PassedToService": "ec2.amazonaws.com"})


@pytest.mark.parametrize(
    ("action", "via", "expected"),
    [
        ("kms:Decrypt", "s3", True),
        ("kms:GenerateDataKey", "sagemaker", True),
        ("kms:Decrypt", None, False),
        ("kms:Decrypt", "ec2", False),
        ("kms:CreateGrant", None, False),
    ],
)
def test_team_key_only_through_s3_and_sagemaker(role, action, via, expected) -> None:
    context = {} if via is None else {"kms:ViaService": f"{via}.{REGION}.amazonaws.com"}
    assert allowed(role, action, TEAM_KEY, **context) is expected


def test_grants_on_the_team_key_only_for_aws_resources(role) -> None:
    via = {"kms:ViaService": f"sagemaker.{REGION}.amazonaws.com"}
    assert allowed(
        role, "kms:CreateGrant", TEAM_KEY, **via, **{"kms:GrantIsForAWSResource": "true"}
    )
    assert not allowed(role, "kms:CreateGrant", TEAM_KEY, **via)
    assert not allowed(role, "kms:Decrypt", OTHER_KEY, **via)


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        (REPO, True),
        (f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/payments/trainer", False),
        (f"arn:aws:ecr:{REGION}:{DLC}:repository/pytorch-training", True),
        (f"arn:aws:ecr:{REGION}:210987654321:repository/pytorch-training", False),
    ],
)
def test_image_pulls_from_given_repositories_and_sagemaker_registries(
    role, repository, expected
) -> None:
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
        assert allowed(role, action, repository) is expected
    assert allowed(role, "ecr:GetAuthorizationToken", "*")


def test_logs_only_under_aws_sagemaker(role) -> None:
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:x"
    assert allowed(role, "logs:PutLogEvents", group)
    other = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/team/fraud:log-stream:x"
    assert not allowed(role, "logs:PutLogEvents", other)


def test_studio_spaces_are_isolated_per_person_on_the_shared_team_role(role) -> None:
    def delete_space(session: str, owner: str) -> bool:
        return allowed(
            role,
            "sagemaker:DeleteSpace",
            _sm(f"space/{DOMAIN_ID}/{owner}-space"),
            **{
                "aws:SourceIdentity": session,
                "sagemaker:OwnerUserProfileArn": _sm(f"user-profile/{DOMAIN_ID}/{owner}"),
                "sagemaker:SpaceSharingType": "Private",
            },
        )

    assert delete_space("alice", "alice")
    assert not delete_space("alice", "bob")


@pytest.mark.parametrize(
    ("service", "source", "expected"),
    [
        ("sagemaker.amazonaws.com", _sm("training-job/t1"), True),
        ("sagemaker.amazonaws.com", _sm(f"user-profile/{DOMAIN_ID}/alice"), True),
        (
            "sagemaker.amazonaws.com",
            f"arn:aws:sagemaker:{REGION}:210987654321:training-job/t",
            False,
        ),
        ("sagemaker.amazonaws.com", f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:training-job/t", False),
        ("sagemaker.amazonaws.com", None, False),
        ("ec2.amazonaws.com", _sm("training-job/t1"), False),
    ],
)
def test_trust_is_sagemaker_of_this_account_and_region(service, source, expected) -> None:
    template = load(PATH)
    resolver = TemplateResolver(template, {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION})
    trust = resolver.resolve(
        template["Resources"]["TeamExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]
    )
    context = {} if source is None else {"aws:SourceArn": source}
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/studio-catalog/execution/team"
    for action in ("sts:AssumeRole", "sts:SetSourceIdentity"):
        request = Request(service, action, role_arn, context)
        decision = evaluate_resource_policy(trust, request, Caller("Service", service))
        assert decision.allowed is expected, (action, decision.reason)


# --- sizes ------------------------------------------------------------------------------------

PARTITIONS = {"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"}
INLINE_LIMIT, MANAGED_LIMIT, TRUST_LIMIT = 10_240, 6_144, 2_048


def policy_chars(document: Any) -> int:
    """Characters IAM counts: the JSON document without whitespace (IAM User Guide, "IAM and
    AWS STS quotas")."""
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"))))


def _longest_locations() -> str:
    """Four locations whose total length is the parameter's maximum."""
    bucket, segment = "b" * 63, "s" * 1024
    entry = f"{bucket}/{segment}/{segment}"
    room = team_role.MAX_LOCATIONS_LENGTH - (team_role.MAX_LOCATIONS - 1)
    each = room // team_role.MAX_LOCATIONS
    return ",".join([entry[:each]] * team_role.MAX_LOCATIONS)


@pytest.mark.parametrize("partition", sorted(PARTITIONS))
def test_policies_fit_iam_quotas_in_every_partition(partition) -> None:
    """Every policy with the longest values the parameters accept (and generous lists:
    16 subnets, 5 security groups, 5 repositories, 5 registries)."""
    region = PARTITIONS[partition]
    locations = _longest_locations()
    assert len(locations) <= team_role.MAX_LOCATIONS_LENGTH
    key = f"arn:{partition}:kms:{region}:{ACCOUNT}:key/" + "1" * 36
    repo = f"arn:{partition}:ecr:{region}:{ACCOUNT}:repository/" + "r" * 200
    context = {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
        **LAUNCH,
        **RESOLVED_SSM,
        "TeamName": "a" * 32,
        "DomainId": "d-" + "x" * 12,
        "DomainKmsKeyArn": key,
        "TeamKmsKeyArn": key,
        "JobSubnetIds": ",".join(["subnet-" + "0" * 17] * 16),
        "AdditionalJobSecurityGroupIds": ",".join(["sg-" + "0" * 17] * 5),
        "ReadOnlyS3Locations": locations,
        "ReadWriteS3Locations": locations,
        "EcrRepositoryArns": ",".join([repo] * 5),
        "SageMakerImageRegistries": ",".join([DLC] * 5),
    }
    template = load(PATH)
    resolver = TemplateResolver(template, context)
    resources = template["Resources"]
    sizes = {
        "trust": policy_chars(
            resolver.resolve(
                resources["TeamExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]
            )
        ),
        "inline": policy_chars(
            resolver.resolve(resources["TeamExecutionRolePolicy"]["Properties"]["PolicyDocument"])
        ),
    }
    for logical_id in ("TeamJobGuardrails", "TeamReadOnlyData", "TeamReadWriteData"):
        document = resolver.resolve(resources[logical_id]["Properties"]["PolicyDocument"])
        sizes[logical_id] = policy_chars(document)
    limits = {"trust": TRUST_LIMIT, "inline": INLINE_LIMIT}
    over = {k: v for k, v in sizes.items() if v > limits.get(k, MANAGED_LIMIT)}
    assert over == {}, sizes
    assert sizes["TeamReadWriteData"] > 3_000  # sanity: the long locations were measured


def test_the_boundary_keeps_a_given_location_inside_this_account(role) -> None:
    """A location given at launch in another account's bucket is cut by the boundary
    (s3:ResourceAccount), even though the role's own policy names it."""
    object_arn = "arn:aws:s3:::shared-work/fraud/x"
    assert allowed(role, "s3:GetObject", object_arn)
    assert not allowed(role, "s3:GetObject", object_arn, **{"s3:ResourceAccount": "999999999999"})
