"""The shared-space product: one project's shared space, and no way back to a denied tool.

Three kinds of checks:

* the rendered template (cloud-radar, as CloudFormation would launch it) and its constraints;
* what AWS's own data says the space can be (the AWS::SageMaker::Space registry schema
  bundled in cfn-lint, botocore's SageMaker model, the Service Authorization Reference), so a
  schema change that would allow an execution role or idle settings on a space is noticed;
* isolation, with the offline IAM evaluator: the requests a person makes to use this space
  are built from the emitted template (its ARN, owner and sharing type) and decided against
  the execution roles the domain and user-profile products emit.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from factory import naming
from factory.audit.derived import launch_handlers, launch_service_catalog
from factory.audit.derived.base import BOOTSTRAP, AuditInputs
from factory.audit.evaluator import Policy, PolicySet, Request, evaluate
from factory.audit.resolver import TemplateResolver
from factory.build import render as render_text
from factory.lint import lint_text
from factory.policies import tool_denies
from factory.products import shared_space
from tests.products.test_product_isolation import (
    ACCOUNT,
    DOMAIN,
    PROFILE,
    PROFILE_DOMAIN,
    REGION,
    TEAM_DOMAIN,
    _boundary_document,
    allowed,
    person_role,
    team_role,
)
from tests.support.render import SSM_DEFAULTS, load, render, rules_fail

PATH = "templates/studio-shared-space.yaml"
ROOT = Path(__file__).resolve().parents[2]
CHURN = {"ProjectName": "churn", "OwnerUserProfileName": "bob"}


def _space(params: dict[str, str] | None = None) -> dict[str, Any]:
    stack = render(PATH, {**CHURN, **(params or {})})
    return stack.get_resource("SharedSpace")["Properties"]


def _schema(resource_type: str) -> dict[str, Any]:
    schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        "us-east-1", resource_type
    ).schema
    return schema


def _botocore_shape(name: str) -> Any:
    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name)


# --- the template -----------------------------------------------------------------------------


def test_committed_template_is_the_generators_output_and_lints_clean() -> None:
    text = render_text(shared_space.generate())
    assert (ROOT / PATH).read_text() == text, "regenerate templates/studio-shared-space.yaml"
    assert lint_text(PATH, text) == []


def test_space_is_shared_owned_and_named_after_the_project() -> None:
    space = _space()
    assert space["SpaceSharingSettings"] == {"SharingType": "Shared"}
    assert space["OwnershipSettings"] == {"OwnerUserProfileName": "bob"}
    assert space["SpaceName"] == "shared-churn"
    assert space["SpaceDisplayName"] == "churn"
    assert space["DomainId"] == SSM_DEFAULTS["DomainId"]


def test_the_only_resource_is_the_space_and_no_ssm_parameter_is_written() -> None:
    """Nothing reads the space from SSM; the domain is read, never written."""
    template = load(PATH)
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::SageMaker::Space"}
    defaults = {
        name: spec["Default"]
        for name, spec in template["Parameters"].items()
        if spec["Type"].startswith("AWS::SSM::Parameter::Value")
    }
    assert defaults == {
        "DomainId": naming.domain_ssm_parameter("domain-id"),
        "TeamExecutionRoleArn": naming.domain_ssm_parameter("execution-role-arn"),
    }


@pytest.mark.parametrize(
    ("app_type", "settings", "absent"),
    [
        ("JupyterLab", "JupyterLabAppSettings", "CodeEditorAppSettings"),
        ("CodeEditor", "CodeEditorAppSettings", "JupyterLabAppSettings"),
    ],
)
def test_app_type_gets_its_own_settings_only(app_type, settings, absent) -> None:
    space = _space(
        {"AppType": app_type, "DefaultInstanceType": "ml.m5.large", "EbsVolumeSizeGb": "50"}
    )["SpaceSettings"]
    assert space["AppType"] == app_type
    assert space[settings] == {"DefaultResourceSpec": {"InstanceType": "ml.m5.large"}}
    assert absent not in space
    assert int(space["SpaceStorageSettings"]["EbsStorageSettings"]["EbsVolumeSizeInGb"]) == 50


def test_defaults_are_jupyterlab_on_a_small_instance() -> None:
    settings = _space()["SpaceSettings"]
    assert settings["AppType"] == "JupyterLab"
    assert settings["JupyterLabAppSettings"]["DefaultResourceSpec"]["InstanceType"] == (
        "ml.t3.medium"
    )


def test_tags_attribute_cost_to_the_project_never_to_a_person() -> None:
    tags = {t["Key"]: t["Value"] for t in _space()["Tags"] if t}
    assert tags == {
        shared_space.PROJECT_TAG: "churn",
        naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE,
    }
    assert naming.USER_TAG not in tags  # would bill every member's work to the owner


def test_cost_center_comes_from_the_portfolio_tag_option_not_a_parameter() -> None:
    """Service Catalog propagates the portfolio's CostCenter TagOption to every resource; a
    template-level CostCenter would be a second source of the same key."""
    portfolio = (ROOT / "portfolios" / "studio.yaml").read_text()
    assert re.search(r"- key: CostCenter\n\s+values:", portfolio)
    assert "CostCenter" not in load(PATH)["Parameters"]


def test_outputs_name_the_space_its_arn_and_the_role_it_runs_as() -> None:
    outputs = render(PATH, CHURN).data["Outputs"]
    assert outputs["SpaceName"]["Value"] == "shared-churn"
    assert load(PATH)["Outputs"]["SpaceArn"]["Value"] == {"Fn::GetAtt": ["SharedSpace", "SpaceArn"]}
    assert outputs["SpaceExecutionRoleArn"]["Value"] == SSM_DEFAULTS["TeamExecutionRoleArn"]
    assert outputs["CostTag"]["Value"] == "studio-catalog:project=churn"
    assert "EnforceHiddenTools" in outputs["OpenSpace"]["Value"]


# --- constraints --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a" * 57, "churn_model", "-churn", "churn-", "churn model", ""])
def test_project_name_rules(name) -> None:
    with pytest.raises(ValueError, match="ProjectName"):
        render(PATH, {**CHURN, "ProjectName": name})


@pytest.mark.parametrize("name", ["a" * 56, "churn", "Churn-2024", "c--1"])
def test_valid_project_names_give_valid_space_names(name) -> None:
    space_name = _space({"ProjectName": name})["SpaceName"]
    schema = _schema("AWS::SageMaker::Space")["properties"]["SpaceName"]
    assert re.fullmatch(schema["pattern"], space_name)
    assert len(space_name) <= schema["maxLength"]


@pytest.mark.parametrize("owner", ["a" * 64, "bob_smith", "-bob", ""])
def test_owner_must_be_a_profile_name(owner) -> None:
    with pytest.raises(ValueError, match="OwnerUserProfileName"):
        render(PATH, {**CHURN, "OwnerUserProfileName": owner})


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("DefaultInstanceType", "system"),
        ("DefaultInstanceType", "ml.g6.xlarge"),  # botocore knows it, the schema enum does not
        ("AppType", "JupyterServer"),
        ("AppType", "RStudioServerPro"),
        ("EbsVolumeSizeGb", "4"),
        ("EbsVolumeSizeGb", "16385"),
    ],
)
def test_space_settings_are_bounded(param, value) -> None:
    with pytest.raises(ValueError, match=param):
        render(PATH, {**CHURN, param: value})


def test_every_parameter_has_a_console_group_label_and_no_rule_fails_by_default() -> None:
    template = load(PATH)
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for g in interface["ParameterGroups"] for p in g["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"])
    assert set(interface["ParameterLabels"]) == set(template["Parameters"])
    assert rules_fail(PATH, CHURN) == []


def test_generator_options_are_validated() -> None:
    from factory.options import OptionsError

    for bad in ({"app_type": "JupyterServer"}, {"instance_type": "system"}, {"ebs_gb": 4}):
        with pytest.raises(OptionsError, match=next(iter(bad))):
            shared_space.generate(bad)
    custom = shared_space.generate({"domain_name": "research", "app_type": "CodeEditor"})
    parameters = custom.to_dict()["Parameters"]
    assert parameters["AppType"]["Default"] == "CodeEditor"
    assert parameters["DomainId"]["Default"] == "/studio-catalog/domains/research/domain-id"


# --- what AWS's data says a space can be --------------------------------------------------------


def test_instance_types_are_the_schema_enum_minus_the_documented_exclusions() -> None:
    enum = _schema("AWS::SageMaker::Space")["definitions"]["ResourceSpec"]["properties"][
        "InstanceType"
    ]["enum"]
    assert set(shared_space.INSTANCE_TYPES) == set(enum) - set(shared_space.EXCLUDED_INSTANCE_TYPES)
    assert set(shared_space.EXCLUDED_INSTANCE_TYPES) <= set(enum)
    assert len(shared_space.INSTANCE_TYPES) == len(set(shared_space.INSTANCE_TYPES))
    assert set(shared_space.INSTANCE_TYPES) <= set(_botocore_shape("AppInstanceType").enum)


def test_app_types_and_storage_bounds_come_from_the_schema() -> None:
    schema = _schema("AWS::SageMaker::Space")["definitions"]
    assert set(shared_space.APP_TYPES) <= set(schema["AppType"]["enum"])
    ebs = schema["SpaceEbsVolumeSizeInGb"]
    assert (ebs["minimum"], ebs["maximum"]) == (shared_space.EBS_MIN_GB, shared_space.EBS_MAX_GB)


def test_a_space_cannot_have_its_own_execution_role() -> None:
    """If this fails, the schema gained a role on the space: offer a team role ARN parameter
    (with iam:PassRole to sagemaker.amazonaws.com on the launch role) instead of the domain's
    DefaultSpaceSettings role."""
    settings = _schema("AWS::SageMaker::Space")["definitions"]["SpaceSettings"]["properties"]
    assert not [name for name in settings if "Role" in name]
    assert "ExecutionRole" not in _botocore_shape("SpaceSettings").members
    domain = _schema("AWS::SageMaker::Domain")["definitions"]["DefaultSpaceSettings"]
    assert "ExecutionRole" in domain["required"]


def test_space_idle_settings_exist_in_the_api_but_not_in_the_cloudformation_schema() -> None:
    """If this fails, cfn-lint's schema gained the space's idle settings: add an idle-timeout
    parameter (botocore's SpaceIdleSettings.IdleTimeoutInMinutes, 60 to 525600)."""
    definitions = _schema("AWS::SageMaker::Space")["definitions"]
    for name in ("SpaceJupyterLabAppSettings", "SpaceCodeEditorAppSettings"):
        assert "AppLifecycleManagement" not in definitions[name]["properties"], name
        assert definitions[name]["additionalProperties"] is False
        assert "AppLifecycleManagement" in _botocore_shape(name).members, name
    assert "CodeEditorAppSettings" not in _botocore_shape("DefaultSpaceSettings").members


def test_launch_role_already_runs_every_handler_of_the_space() -> None:
    """Registry handler permissions (create/read/update/delete/tagging) and the SSM reads,
    decided against the committed bootstrap's launch role: nothing new is needed."""
    templates = {PATH: load(PATH), BOOTSTRAP: load(BOOTSTRAP)}
    for proof in (launch_handlers, launch_service_catalog):
        result = proof.check(AuditInputs(templates, ROOT))
        assert result.checked > 0
        assert [f.line() for f in result.failures] == [], proof.PROOF_ID


# --- isolation: a shared space gives nobody back a denied tool ---------------------------------


@pytest.fixture(scope="module")
def boundary() -> Any:
    """The execution-role permissions boundary exactly as the bootstrap generator emits it."""
    return _boundary_document()


def _arn(resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}"


@dataclass(frozen=True)
class SharedSpaceFacts:
    """What IAM sees of requests on the space: its ARNs and the condition keys SageMaker
    sends (Service Authorization Reference: ``space/${DomainId}/${SpaceName}``, and
    ``app/${DomainId}/${SpaceName}/${AppType}/${AppName}`` for a space's apps)."""

    domain_id: str
    space_name: str
    context: dict[str, str]

    @property
    def space(self) -> str:
        return _arn(f"space/{self.domain_id}/{self.space_name}")

    def app(self, app_type: str) -> str:
        return _arn(f"app/{self.domain_id}/{self.space_name}/{app_type}/default")


def shared_space_facts(domain_id: str, owner: str = "bob") -> SharedSpaceFacts:
    """Built from the emitted template: name, owner and sharing type as launched."""
    template = load(PATH)
    context = {"DomainId": domain_id, "ProjectName": "churn", "OwnerUserProfileName": owner}
    props = TemplateResolver(template, context).resolve(
        template["Resources"]["SharedSpace"]["Properties"]
    )
    owner_name = props["OwnershipSettings"]["OwnerUserProfileName"]
    return SharedSpaceFacts(
        domain_id,
        props["SpaceName"],
        {
            "sagemaker:OwnerUserProfileArn": _arn(f"user-profile/{domain_id}/{owner_name}"),
            "sagemaker:SpaceSharingType": props["SpaceSharingSettings"]["SharingType"],
        },
    )


def _on_space(role: PolicySet, action: str, facts: SharedSpaceFacts, session: str) -> bool:
    return allowed(role, action, facts.space, session, **facts.context)


def _start(role: PolicySet, app_type: str, facts: SharedSpaceFacts, session: str) -> bool:
    return allowed(role, "sagemaker:CreateApp", facts.app(app_type), session, **facts.context)


def _deciding_sids(role: PolicySet, app_type: str, facts: SharedSpaceFacts) -> tuple[str, ...]:
    context = {**facts.context, "aws:SourceIdentity": "alice"}
    request = Request(role.principal_arn, "sagemaker:CreateApp", facts.app(app_type), context)
    return evaluate(role, request).matched_sids


ENFORCED = {"HiddenAppTypes": "JupyterServer,CodeEditor", "HiddenMlTools": "Training"}


def test_enforced_person_cannot_start_any_app_in_the_shared_space(boundary) -> None:
    role = person_role(boundary, "alice", **ENFORCED)
    facts = shared_space_facts(PROFILE_DOMAIN)
    assert facts.context["sagemaker:SpaceSharingType"] == "Shared"
    for app_type in ("jupyterlab", "codeeditor"):
        assert not _start(role, app_type, facts, "alice"), app_type
        assert tool_denies.SHARED_SPACES_SID in _deciding_sids(role, app_type, facts)
    # the hidden tool's own deny matches the space's app ARN as well
    assert tool_denies.statement_sid("CodeEditor") in _deciding_sids(role, "codeeditor", facts)


def test_enforced_person_cannot_change_or_delete_the_shared_space(boundary) -> None:
    role = person_role(boundary, "alice", **ENFORCED)
    facts = shared_space_facts(PROFILE_DOMAIN)
    for action in ("sagemaker:UpdateSpace", "sagemaker:DeleteSpace"):
        assert not _on_space(role, action, facts, "alice"), action
    # even as the space's owner: an enforced owner cannot switch the space to a hidden app type
    own = shared_space_facts(PROFILE_DOMAIN, owner="alice")
    assert not _on_space(role, "sagemaker:UpdateSpace", own, "alice")


def test_what_the_space_role_would_give_back_is_exactly_what_is_denied(boundary) -> None:
    """The space's apps run as the domain's team role, which may train; alice's role may not.
    The shared-space deny is what keeps her from getting a session as that role."""
    training = _arn("training-job/t1")
    assert allowed(team_role(boundary), "sagemaker:CreateTrainingJob", training, None)
    alice = person_role(boundary, "alice", **ENFORCED)
    assert not allowed(alice, "sagemaker:CreateTrainingJob", training, "alice")


def test_mutation_without_the_shared_space_deny_the_door_opens(boundary) -> None:
    """Mutation test of ``test_enforced_person_cannot_start_any_app_in_the_shared_space``:
    without the shared-space deny in the committed profile template, alice starts the shared
    JupyterLab (not hidden), whose space role trains for her."""
    template = copy.deepcopy(load(PROFILE))
    document = template["Resources"]["HiddenToolDenies"]["Properties"]["PolicyDocument"]
    document["Statement"] = [
        s
        for s in document["Statement"]
        if not (isinstance(s, dict) and s.get("Sid") == tool_denies.SHARED_SPACES_SID)
    ]
    role = person_role(boundary, "alice", template, **ENFORCED)
    facts = shared_space_facts(PROFILE_DOMAIN)
    assert _start(role, "jupyterlab", facts, "alice")
    assert not _start(role, "codeeditor", facts, "alice")  # the per-tool deny still holds


@pytest.mark.parametrize("who", ["team", "per-person"])
def test_members_use_the_space_but_only_the_owner_manages_it(boundary, who) -> None:
    if who == "team":
        alice = bob = team_role(boundary)
        domain_id = TEAM_DOMAIN
    else:
        alice = person_role(boundary, "alice", EnforceHiddenTools="false")
        bob = person_role(boundary, "bob", EnforceHiddenTools="false")
        domain_id = PROFILE_DOMAIN
    facts = shared_space_facts(domain_id, owner="bob")
    for role, session in ((alice, "alice"), (bob, "bob")):
        assert _start(role, "jupyterlab", facts, session), session
    for action in ("sagemaker:UpdateSpace", "sagemaker:DeleteSpace"):
        assert not _on_space(alice, action, facts, "alice"), action
        assert _on_space(bob, action, facts, "bob"), action


def _presigned_url_policy() -> PolicySet:
    template = load(DOMAIN)
    conditions = {"RestrictSourceIp": False, "RestrictVpce": False}
    resolver = TemplateResolver(template, {"AWS::AccountId": ACCOUNT}, conditions)
    document = resolver.resolve(
        template["Resources"]["PresignedUrlPolicy"]["Properties"]["PolicyDocument"]
    )
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice"
    return PolicySet("alice", arn, (Policy("PresignedUrlPolicy", document),))


def test_the_space_is_opened_only_through_the_persons_own_profile() -> None:
    """CreatePresignedDomainUrl acts on a user profile only (SAR: no space resource, no space
    condition key): naming the shared space in the request changes nothing about whose
    profile, and so whose execution role, the session uses."""
    from factory.audit import sar

    assert [rt.name for rt in sar.resource_types("sagemaker:CreatePresignedDomainUrl")] == [
        "user-profile"
    ]
    policy = _presigned_url_policy()

    def open_as(profile: str) -> bool:
        context = {
            f"aws:PrincipalTag/{naming.USER_TAG}": "alice",
            f"sagemaker:ResourceTag/{naming.USER_TAG}": profile,
        }
        resource = _arn(f"user-profile/{TEAM_DOMAIN}/{profile}")
        request = Request(
            policy.principal_arn, "sagemaker:CreatePresignedDomainUrl", resource, context
        )
        return evaluate(policy, request).allowed

    assert open_as("alice")
    assert not open_as("bob")  # e.g. the space's owner
