"""Launch template: organization guardrails for Studio (``launch/studio-guardrails.yaml``).

Seed 002's "Common guardrails" (documents in :mod:`factory.policies.guardrails`), attached
either as ONE service control policy (management or delegated-administrator account;
``TargetIds``: root, OUs, accounts) or as ONE IAM managed policy attached to given roles
(each member account, e.g. as a StackSet). One policy, not one per guardrail:

* "The AWS Organizations service has a hard limit of five SCPs per account" attached,
  FullAWSAccess included (AWS re:Post Knowledge Center, "How do I manage the SCP character
  size limit or number of SCPs for an AWS Organization?"; Organizations User Guide, "Quotas
  and service limits"). Six guardrails as six SCPs could never be attached together.
* IAM roles take 10 managed policies by default (IAM User Guide, "IAM and AWS STS quotas").

Each guardrail is switched on by a parameter and keeps its own ``Sid``s; the policy holds the
statements of the guardrails switched on. Size: an SCP holds at most 5,120 characters
*including* whitespace (same re:Post article); CloudFormation's AWS::Organizations::Policy
handler sends an object ``Content`` as Jackson's ``ObjectMapper.writeValueAsString`` output,
which has no whitespace (aws-cloudformation-resource-providers-organizations,
``aws-organizations-policy/.../Translator.java``, ``convertObjectToString``). The list
parameters have a ``MaxLength`` chosen so the policy fits with every guardrail on and lists
of the shortest items (``tests/launch/test_guardrails.py`` proves it); an IAM managed
policy's quota (6,144 characters, whitespace not counted) is larger.

Not for Service Catalog: an administrator deploys this stack directly (SCPs only in the
management or delegated-administrator account). The catalog's launch role must never hold
the permissions to create, change or detach these policies, or the guardrails that bind it
would bind nothing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.session import get_session
from pydantic import BaseModel, ConfigDict, field_validator
from troposphere import (
    And,
    Condition,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    NoValue,
    Output,
    Ref,
    Select,
    Split,
    Sub,
    Tags,
)
from troposphere.iam import ManagedPolicy
from troposphere.organizations import Policy as OrganizationsPolicy

from factory import naming
from factory.options import parse
from factory.policies import guardrails
from factory.policies.guardrails import DOCUMENT_DIR
from factory.template import ProductTemplate, list_is_set, policy, when

NAME = "studio-guardrails"

G_ATTACH = "Where the guardrails apply"
G_COMPUTE = "Studio instance types"
G_DOMAINS = "Studio domains"
G_ACCESS = "Opening Studio (IAM domains)"
G_GOVERNANCE = "Jobs and images"

SCP = "ServiceControlPolicy"
IAM = "IamManagedPolicy"
ENABLED, DISABLED = "Enabled", "Disabled"

#: One instance type or an IAM wildcard pattern (``StringNotLike``: ``*``, ``?``), e.g.
#: ``ml.t3.medium`` or ``ml.t3.*``; botocore's AppInstanceType values have this shape
#: (``ml.p6-b200.48xlarge`` included).
INSTANCE_TYPE_ITEM = r"ml\.[a-z0-9*?-]+\.[a-z0-9*?]+"
INSTANCE_TYPES_PATTERN = rf"^{INSTANCE_TYPE_ITEM}(,{INSTANCE_TYPE_ITEM})*$"
_CIDR = r"\d{1,3}(\.\d{1,3}){3}/\d{1,2}"
CIDRS_PATTERN = rf"^(|{_CIDR}(,{_CIDR})*)$"
#: EC2 API Reference, VpcEndpointId: ``vpce-`` and 8 or 17 hexadecimal digits.
_VPCE = r"vpce-[0-9a-f]{8,17}"
VPCE_IDS_PATTERN = rf"^(|{_VPCE}(,{_VPCE})*)$"
#: AWS::Organizations::Policy TargetIds items (registry schema), anchored as a whole (the
#: schema's own pattern anchors only its first and last alternatives): a root, an OU or an
#: account. Empty is the default: a rule requires targets when the mode is SCP.
TARGET_ID_PATTERN = r"^(|r-[0-9a-z]{4,32}|\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"
#: IAM role names (IAM API Reference, RoleName: ``[\w+=,.@-]+``, 1-64), without the comma that
#: separates the list's items.
ROLE_NAME_PATTERN = r"^(|[\w+=.@-]{1,64})$"

#: ``MaxLength`` of the list parameters: with every guardrail on, lists of the shortest items
#: and a 64-character launch role name, the SCP stays within 5,120 characters (tested).
INSTANCE_TYPES_MAX_LENGTH = 500
CIDRS_MAX_LENGTH = 400
VPCE_IDS_MAX_LENGTH = 300


def _app_instance_types() -> frozenset[str]:
    """botocore's SageMaker ``AppInstanceType`` enum (the instance types Studio apps take)."""
    shape = get_session().get_service_model("sagemaker").shape_for("AppInstanceType")
    return frozenset(shape.enum)


class GuardrailOptions(BaseModel):
    """Defaults baked into the template (the admin can still change the parameter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_instance_types: list[str] = list(guardrails.DEFAULT_ALLOWED_INSTANCE_TYPES)

    @field_validator("allowed_instance_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("option allowed_instance_types: empty; allowed: one or more types")
        known = _app_instance_types()
        problems = []
        for item in value:
            if item == guardrails.SYSTEM_INSTANCE_TYPE:
                problems.append(f"{item!r} is always allowed (JupyterServer); leave it out")
            elif not re.fullmatch(INSTANCE_TYPE_ITEM, item):
                problems.append(f"{item!r} is not an instance type or pattern such as ml.t3.*")
            elif "*" not in item and "?" not in item and item not in known:
                problems.append(f"{item!r} is not a Studio instance type (botocore)")
        if problems:
            raise ValueError(f"option allowed_instance_types: {'; '.join(problems)}")
        if len(",".join(value)) > INSTANCE_TYPES_MAX_LENGTH:
            raise ValueError(
                "option allowed_instance_types: longer than "
                f"{INSTANCE_TYPES_MAX_LENGTH} characters joined; allowed: a shorter list "
                "(patterns such as ml.t3.* count once)"
            )
        return value


def parse_options(options: dict[str, Any] | None) -> GuardrailOptions:
    opts: GuardrailOptions = parse(NAME, GuardrailOptions, options)
    return opts


def document_files(options: dict[str, Any] | None = None) -> dict[str, str]:
    """The reviewable documents (``launch/guardrails/<name>.json``) for these options."""
    return guardrails.files(parse_options(options).allowed_instance_types)


def _switch(pt: ProductTemplate, group: str, name: str, label: str, description: str) -> None:
    pt.parameter(
        group,
        name,
        label,
        Type="String",
        Default=ENABLED,
        AllowedValues=[ENABLED, DISABLED],
        Description=description,
    )


def _attach_parameters(pt: ProductTemplate) -> None:
    pt.parameter(
        G_ATTACH,
        "AttachAs",
        "Attach as",
        Type="String",
        Default=SCP,
        AllowedValues=[SCP, IAM],
        Description="ServiceControlPolicy: one SCP attached to the targets below (deploy in "
        "the management or a delegated-administrator account; binds every principal of the "
        "member accounts). IamManagedPolicy: one managed policy attached to the roles below "
        "(deploy in each account).",
    )
    pt.parameter(
        G_ATTACH,
        "TargetIds",
        "SCP targets: root, OU or account IDs",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=TARGET_ID_PATTERN,
        ConstraintDescription="Comma-separated r-xxxx root, ou-xxxx-xxxxxxxx OU or 12-digit "
        "account IDs.",
        Description="Required for ServiceControlPolicy. SCPs do not bind the management account.",
    )
    pt.parameter(
        G_ATTACH,
        "RoleNames",
        "IAM mode: role names",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=ROLE_NAME_PATTERN,
        ConstraintDescription="Comma-separated IAM role names (not ARNs), 1-64 characters of "
        "letters, digits and +=.@_-.",
        Description="Required for IamManagedPolicy: the roles people and their notebooks use "
        "(e.g. the bootstrap's DataScientistRole and the execution roles).",
    )
    pt.parameter(
        G_ATTACH,
        "LaunchRoleName",
        "Catalog launch role name",
        Type="String",
        Default=naming.DEFAULT_LAUNCH_ROLE_NAME,
        MinLength=1,
        MaxLength=64,
        AllowedPattern=r"^[\w+=,.@-]+$",
        ConstraintDescription="1-64 characters of letters, digits and +=,.@_- (the "
        "bootstrap's LaunchRoleName).",
        Description="The bootstrap's launch role, in every account: exempt only where the "
        "catalog's templates are proven compliant (README, Launch: guardrails).",
    )


def _guardrail_parameters(pt: ProductTemplate, opts: GuardrailOptions) -> None:
    _switch(
        pt,
        G_COMPUTE,
        "LimitInstanceTypes",
        "Limit instance types",
        "Deny Studio apps and app defaults (domain, profile, space) on other instance types.",
    )
    pt.parameter(
        G_COMPUTE,
        "AllowedInstanceTypes",
        "Allowed instance types",
        Type="String",
        Default=",".join(opts.allowed_instance_types),
        MaxLength=INSTANCE_TYPES_MAX_LENGTH,
        AllowedPattern=INSTANCE_TYPES_PATTERN,
        ConstraintDescription="Comma-separated instance types or patterns such as "
        f"ml.t3.medium,ml.m5.*; at most {INSTANCE_TYPES_MAX_LENGTH} characters.",
        Description="system (Studio's JupyterServer app) is always allowed.",
    )
    _switch(
        pt,
        G_DOMAINS,
        "RequireVpcOnlyDomains",
        "Require VpcOnly domains",
        "Deny domains that are not VpcOnly, or have no subnets or security groups.",
    )
    _switch(
        pt,
        G_DOMAINS,
        "RequireDomainKmsKey",
        "Require a KMS key",
        "Deny domains created without a KMS key.",
    )
    pt.parameter(
        G_ACCESS,
        "PresignedUrlAllowedCidrs",
        "Allowed source CIDRs (optional)",
        Type="String",
        Default="",
        MaxLength=CIDRS_MAX_LENGTH,
        AllowedPattern=CIDRS_PATTERN,
        ConstraintDescription="Comma-separated IPv4 CIDRs such as 203.0.113.0/24, no spaces, "
        f"at most {CIDRS_MAX_LENGTH} characters; or empty.",
        Description="With the endpoints below: open Studio only from these networks OR through "
        "those endpoints. Both empty: no network guardrail.",
    )
    pt.parameter(
        G_ACCESS,
        "PresignedUrlAllowedVpceIds",
        "Allowed VPC endpoints (optional)",
        Type="String",
        Default="",
        MaxLength=VPCE_IDS_MAX_LENGTH,
        AllowedPattern=VPCE_IDS_PATTERN,
        ConstraintDescription="Comma-separated VPC endpoint IDs (vpce-...), no spaces, at "
        f"most {VPCE_IDS_MAX_LENGTH} characters; or empty.",
        Description="SageMaker API endpoints through which presigned Studio URLs may be "
        "created (aws:SourceVpce).",
    )
    _switch(
        pt,
        G_GOVERNANCE,
        "RequireJobUserTag",
        "Require studiouserid on jobs",
        f"Deny training and processing jobs created without the {naming.USER_TAG} tag.",
    )
    _switch(
        pt,
        G_GOVERNANCE,
        "ProtectAppImageConfigs",
        "Keep notebook users off image configs",
        "Deny Create/Update/DeleteAppImageConfig to people (studiouserid principal tag) and to "
        "the catalog's persona and execution roles.",
    )


#: Guardrail name -> the switch parameter and condition that turn it on.
SWITCHES = {
    "limit-instance-types": "LimitInstanceTypes",
    "vpc-only-domains": "RequireVpcOnlyDomains",
    "domain-kms-key": "RequireDomainKmsKey",
    "job-user-tag": "RequireJobUserTag",
    "app-image-configs": "ProtectAppImageConfigs",
}


def _conditions(pt: ProductTemplate) -> None:
    pt.condition("IsScp", Equals(Ref("AttachAs"), SCP))
    pt.condition("IsIam", Equals(Ref("AttachAs"), IAM))
    for parameter in SWITCHES.values():
        pt.condition(f"{parameter}On", Equals(Ref(parameter), ENABLED))
    pt.condition("HasUrlCidrs", Not(Equals(Ref("PresignedUrlAllowedCidrs"), "")))
    pt.condition("HasUrlVpces", Not(Equals(Ref("PresignedUrlAllowedVpceIds"), "")))
    pt.condition("UrlCidrsAndVpces", And(Condition("HasUrlCidrs"), Condition("HasUrlVpces")))
    pt.condition("UrlCidrsOnly", And(Condition("HasUrlCidrs"), Not(Condition("HasUrlVpces"))))
    pt.condition("UrlVpcesOnly", And(Not(Condition("HasUrlCidrs")), Condition("HasUrlVpces")))
    pt.condition("HasRoleNames", list_is_set("RoleNames"))
    pt.condition("HasTargetIds", list_is_set("TargetIds"))


def _rules(pt: ProductTemplate) -> None:
    enabled = [{"Fn::Equals": [{"Ref": p}, ENABLED]} for p in SWITCHES.values()]
    networks = [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": p}, ""]}]}
        for p in ("PresignedUrlAllowedCidrs", "PresignedUrlAllowedVpceIds")
    ]
    pt.template.add_rule(
        "AtLeastOneGuardrail",
        {
            "Assertions": [
                {
                    "Assert": {"Fn::Or": [*enabled, *networks]},
                    "AssertDescription": "Switch on at least one guardrail (a policy without "
                    "statements is invalid).",
                }
            ]
        },
    )
    for mode, parameter, what in (
        (SCP, "TargetIds", "an SCP attached nowhere binds nobody: give root, OU or account IDs"),
        (IAM, "RoleNames", "a policy attached to no role binds nobody: give role names"),
    ):
        pt.template.add_rule(
            f"{parameter}Given",
            {
                "RuleCondition": {"Fn::Equals": [{"Ref": "AttachAs"}, mode]},
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Contains": [{"Ref": parameter}, ""]}]},
                        "AssertDescription": f"{parameter} must list no empty item with "
                        f"AttachAs={mode}: {what}.",
                    }
                ],
            },
        )


def template_values() -> guardrails.Values:
    """The documents' values as intrinsic functions of this template's parameters."""
    return guardrails.Values(
        allowed_instance_types=Split(
            ",", Sub("${AllowedInstanceTypes}," + guardrails.SYSTEM_INSTANCE_TYPE)
        ),
        launch_role_arn=Sub(guardrails.role_pattern("${LaunchRoleName}")),
        presigned_url_cidrs=Split(",", Ref("PresignedUrlAllowedCidrs")),
        presigned_url_vpce_ids=Split(",", Ref("PresignedUrlAllowedVpceIds")),
    )


def _network_statement(values: guardrails.Values) -> Any:
    """The presigned-URL guardrail in the variant the network parameters call for."""

    def variant(cidrs: bool, vpces: bool) -> Any:
        (statement,) = guardrails.presigned_url_networks(
            guardrails.Values(
                values.allowed_instance_types,
                values.launch_role_arn,
                values.presigned_url_cidrs if cidrs else None,
                values.presigned_url_vpce_ids if vpces else None,
            )
        )
        return statement

    return If(
        "UrlCidrsAndVpces",
        variant(True, True),
        If(
            "UrlCidrsOnly",
            variant(True, False),
            when("UrlVpcesOnly", variant(False, True)),
        ),
    )


def policy_document() -> dict[str, Any]:
    """The one document the stack attaches: the statements of the guardrails switched on."""
    values = template_values()
    statements: list[Any] = []
    for guardrail in guardrails.GUARDRAILS:
        if guardrail.name == "presigned-url-networks":
            statements.append(_network_statement(values))
            continue
        condition = f"{SWITCHES[guardrail.name]}On"
        statements.extend(when(condition, s) for s in guardrail.build(values))
    return policy(statements)


def _policies(pt: ProductTemplate) -> None:
    document = policy_document()
    stack_uuid = Select(2, Split("/", Ref("AWS::StackId")))
    pt.template.add_resource(
        OrganizationsPolicy(
            "ServiceControlPolicy",
            Condition="IsScp",
            # Organizations policy names are unique (botocore CreatePolicy:
            # DuplicatePolicyException); the stack's UUID keeps a second stack apart and the
            # name within CreatePolicy's 128 characters, which a stack name would not.
            Name=Join("-", [NAME, stack_uuid]),
            Description=Sub(
                "SageMaker Studio guardrails (Studio Catalog Factory, stack ${AWS::StackName})"
            ),
            Type="SERVICE_CONTROL_POLICY",
            Content=document,
            # Always given in this mode (rule TargetIdsGiven); the If only keeps cfn-lint from
            # checking the parameter's empty default against the schema's pattern (W1030).
            TargetIds=If("HasTargetIds", Ref("TargetIds"), NoValue),
            Tags=Tags(**{naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE}),
        )
    )
    pt.template.add_resource(
        ManagedPolicy(
            "GuardrailPolicy",
            Condition="IsIam",
            Path=guardrails.GUARDRAIL_POLICY_PATH,
            Description="SageMaker Studio guardrails (Studio Catalog Factory): deny-only",
            PolicyDocument=document,
            Roles=If("HasRoleNames", Ref("RoleNames"), NoValue),
        )
    )


def _outputs(pt: ProductTemplate) -> None:
    outputs = (
        ("ServiceControlPolicyId", "IsScp", "SCP ID (p-...)", Ref("ServiceControlPolicy")),
        ("ServiceControlPolicyArn", "IsScp", "SCP ARN", GetAtt("ServiceControlPolicy", "Arn")),
        (
            "ManagedPolicyArn",
            "IsIam",
            "Guardrail managed policy: attach it to further roles people or notebooks use",
            Ref("GuardrailPolicy"),
        ),
    )
    for name, condition, description, value in outputs:
        pt.template.add_output(
            Output(name, Condition=condition, Description=description, Value=value)
        )


def generate(options: dict[str, Any] | None = None) -> Any:
    opts = parse_options(options)
    pt = ProductTemplate(
        "Studio Catalog Factory guardrails for SageMaker Studio (seed 002, Common guardrails): "
        "instance types, VpcOnly and KMS-encrypted domains, presigned-URL networks, job tags, "
        "image configs. One SCP or one IAM managed policy, deny-only."
    )
    _attach_parameters(pt)
    _guardrail_parameters(pt, opts)
    _conditions(pt)
    _rules(pt)
    _policies(pt)
    _outputs(pt)
    return pt.finish()


# --- the reviewable documents: `python -m factory.launch [--check]` ---------------------------


def _committed_options(root: Path) -> dict[str, Any] | None:
    """This template's section of the project's factory-options.yaml (as the build reads)."""
    from factory.build import OPTIONS_FILE, read_options

    path = root / OPTIONS_FILE
    if not path.exists():
        return None
    return read_options(path).options.get(NAME)


def main(argv: Sequence[str] | None = None) -> int:
    """Write launch/guardrails/*.json (atomically, only what changed), or with --check exit 1
    with a unified diff when a committed document differs (make check-generated)."""
    import argparse

    from factory.build import atomic_write, find_project_root, unified_diff

    parser = argparse.ArgumentParser(prog="python -m factory.launch")
    parser.add_argument("--check", action="store_true", help="fail when a document differs")
    args = parser.parse_args(argv)
    root = find_project_root(Path.cwd())
    if root is None:
        print("error: not inside the project (no pyproject.toml with templates/)", file=sys.stderr)
        return 1
    files = document_files(_committed_options(root))
    stale = []
    for path, text in sorted(files.items()):
        target = root / path
        committed = target.read_bytes() if target.exists() else b""
        if committed == text.encode("utf-8"):
            continue
        if args.check:
            sys.stdout.write(unified_diff(path, committed, text))
            stale.append(path)
        else:
            atomic_write(target, text)
            print(f"wrote {path}")
    known = set(files)
    extra = sorted(str(p.relative_to(root)) for p in (root / DOCUMENT_DIR).glob("*.json"))
    extra = [p for p in extra if p not in known]
    for path in extra:
        print(f"error: {path}: no guardrail produces this file; delete it", file=sys.stderr)
    if stale:
        fix = "run python -m factory.launch"
        print(f"error: {', '.join(stale)}: out of date; {fix}", file=sys.stderr)
    if not stale and not extra and args.check:
        print("launch/guardrails/*.json are up to date")
    return 1 if stale or extra else 0
