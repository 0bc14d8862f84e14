"""Launch template: the account bootstrap stack (``launch/studio-catalog-bootstrap.yaml``).

Deployed once per account, or as a StackSet instance, so it names no account, region or
partition. It holds the seeds' central promise: the cloud admin provisions Studio through
Service Catalog with no SageMaker permission at all, because Service Catalog assumes the
launch role, which alone may create Studio resources, and only roles that carry the
permissions boundary.
"""

from __future__ import annotations

import inspect
from typing import Any

from awacs.aws import Allow, Bool, Condition, Deny, Principal, Statement
from troposphere import Equals, GetAtt, If, Not, NoValue, Output, Ref, Split, Sub
from troposphere.awslambda import Code, Function, LoggingConfig
from troposphere.iam import ManagedPolicy, Policy, Role, RolePolicy
from troposphere.logs import LogGroup
from troposphere.s3 import (
    Bucket,
    BucketEncryption,
    BucketPolicy,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)
from troposphere.ssm import Parameter as SsmParameter

from factory import naming
from factory.launch import drain_function
from factory.policies import arns, drain, execution_role, launch_role, personas, team_role
from factory.policies.actions import actions
from factory.template import ProductTemplate, checkov_skip, document, list_is_set, policy, when

NAME = "studio-catalog-bootstrap"

G_ROLES = "Role names and trust"
G_DATA_SCIENTIST = "Data scientists: identity provider and network"
G_TEAM = "Team execution roles"
G_DRAIN = "Profile drain function"

PRINCIPAL_PATTERN = r"^(|arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/*?-]+)$"
PRINCIPAL_HELP = (
    "Empty: any principal of the trusted account that its own IAM policies allow. "
    "Otherwise an IAM role ARN or pattern in that account, e.g. "
    "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_CloudAdmin_*"
)


def _trust_parameters(pt: ProductTemplate, persona: str, label: str) -> None:
    pt.parameter(
        G_ROLES,
        f"{persona}TrustAccountId",
        f"{label}: trusted account",
        Type="String",
        Default="",
        AllowedPattern=r"^(|\d{12})$",
        ConstraintDescription="A 12-digit AWS account ID, or empty for this account.",
        Description=f"Account whose principals may assume the {label} role (empty: this one).",
    )
    pt.parameter(
        G_ROLES,
        f"{persona}PrincipalArnPattern",
        f"{label}: principal ARN or pattern",
        Type="String",
        Default="",
        AllowedPattern=PRINCIPAL_PATTERN,
        ConstraintDescription="An IAM role ARN or pattern with a 12-digit account, never '*'.",
        Description=PRINCIPAL_HELP,
    )


def _parameters(pt: ProductTemplate) -> None:
    pt.parameter(
        G_ROLES,
        "LaunchRoleName",
        "Launch role name",
        Type="String",
        Default=naming.DEFAULT_LAUNCH_ROLE_NAME,
        MinLength=1,
        MaxLength=64,
        AllowedPattern=r"^[\w+=,.@-]+$",
        ConstraintDescription="1-64 characters of letters, digits and +=,.@_-. Launch "
        "constraints use this name (LocalRoleName) in every account.",
        Description="Name of the role Service Catalog assumes to launch Studio products. Keep "
        "it identical in every account that shares the portfolio.",
    )
    for persona, label in (
        ("CloudAdmin", "Cloud admin"),
        ("DataScientist", "Data scientist"),
        ("Publisher", "Publisher (release pipeline)"),
    ):
        _trust_parameters(pt, persona, label)
    pt.parameter(
        G_ROLES,
        naming.STACK_SET_NAME_PARAMETER,
        "Bootstrap StackSet name (publisher's coverage check)",
        Type="String",
        Default=naming.DEFAULT_STACK_SET_NAME,
        MinLength=1,
        MaxLength=128,
        AllowedPattern=r"^[a-zA-Z][-a-zA-Z0-9]*$",
        ConstraintDescription="Letters, digits and hyphens, starting with a letter (a StackSet "
        "name).",
        Description="The StackSet `studio-factory bootstrap` deploys this stack with (it sets "
        "this parameter itself); the publisher role may list its stack instances.",
    )
    _data_scientist_parameters(pt)
    pt.parameter(
        G_DRAIN,
        "DrainReservedConcurrency",
        "Drain function reserved concurrency (0 = none)",
        Type="Number",
        Default="0",
        MinValue=0,
        MaxValue=1000,
        ConstraintDescription="A whole number from 0 to 1000.",
        Description="0 (default): the drain function shares the account's unreserved "
        "concurrency. Lambda keeps 100 of an account's concurrency unreserved, so any "
        "reservation fails in accounts whose limit is 10-50; set it only where the limit allows.",
    )
    pt.parameter(
        G_TEAM,
        "TeamExecutionRoleArns",
        "Other team roles the launch role may pass",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=r"^(|arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+)$",
        ConstraintDescription="Comma-separated IAM role ARNs (no wildcards), or empty.",
        Description="Existing execution roles (outside /studio-catalog/execution/) that "
        "products may assign to domains and profiles.",
    )


def _data_scientist_parameters(pt: ProductTemplate) -> None:
    pt.parameter(
        G_DATA_SCIENTIST,
        "DataScientistSamlProviderArn",
        "SAML identity provider (optional)",
        Type="String",
        Default="",
        AllowedPattern=r"^(|arn:aws[a-z-]*:iam::\d{12}:saml-provider/[\w+=,.@-]+)$",
        ConstraintDescription="An IAM SAML provider ARN, or empty.",
        Description="Empty: data scientists assume the role from a session that already carries "
        "their studiouserid principal tag (IAM Identity Center attributes for access control). "
        "Otherwise: the SAML provider whose assertion sets PrincipalTag:studiouserid.",
    )
    pt.parameter(
        G_DATA_SCIENTIST,
        "PresignedUrlAllowedCidrs",
        "Allowed source CIDRs for opening Studio (optional)",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=r"^(|\d{1,3}(\.\d{1,3}){3}/\d{1,2})$",
        ConstraintDescription="Comma-separated IPv4 CIDRs such as 203.0.113.0/24, or empty.",
        Description="If set, the data scientist role may create presigned Studio URLs only from "
        "these networks (explicit deny on aws:SourceIp).",
    )
    pt.parameter(
        G_DATA_SCIENTIST,
        "PresignedUrlAllowedVpceIds",
        "Allowed VPC endpoints for opening Studio (optional)",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=r"^(|vpce-[0-9a-f]{8,17})$",
        ConstraintDescription="Comma-separated VPC endpoint IDs (vpce-...), or empty.",
        Description="If set, the data scientist role may create presigned Studio URLs only "
        "through these SageMaker API VPC endpoints (explicit deny on aws:sourceVpce).",
    )


def _conditions(pt: ProductTemplate) -> None:
    for persona in ("CloudAdmin", "DataScientist", "Publisher"):
        pt.condition(f"{persona}SameAccount", Equals(Ref(f"{persona}TrustAccountId"), ""))
        pt.condition(f"{persona}AnyPrincipal", Equals(Ref(f"{persona}PrincipalArnPattern"), ""))
    pt.condition(
        "HasTeamRoles", Not(Equals(Sub("${Roles}", Roles=_join_list("TeamExecutionRoleArns")), ""))
    )
    pt.condition(
        "HasDataScientistSamlProvider", Not(Equals(Ref("DataScientistSamlProviderArn"), ""))
    )
    pt.condition("RestrictPresignedUrlSourceIp", list_is_set("PresignedUrlAllowedCidrs"))
    pt.condition("RestrictPresignedUrlVpce", list_is_set("PresignedUrlAllowedVpceIds"))
    pt.condition("ReserveDrainConcurrency", Not(Equals(Ref("DrainReservedConcurrency"), "0")))


def _join_list(parameter: str) -> Any:
    from troposphere import Join

    return Join(",", Ref(parameter))


def _rules(pt: ProductTemplate) -> None:
    assertions = [
        (
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "LaunchRoleName"}, ""]}]},
            "LaunchRoleName must not be empty: launch constraints name this role.",
        ),
    ]
    for persona, label in (
        ("CloudAdmin", "cloud admin"),
        ("DataScientist", "data scientist"),
        ("Publisher", "publisher"),
    ):
        for everyone in ("*", "arn:aws:iam::*:root"):
            assertions.append(
                (
                    {
                        "Fn::Not": [
                            {"Fn::Equals": [{"Ref": f"{persona}PrincipalArnPattern"}, everyone]}
                        ]
                    },
                    f"The {label} role must not trust '{everyone}': name an account and a role.",
                )
            )
    pt.template.add_rule(
        "KeepThePromise",
        {
            "Assertions": [{"Assert": a, "AssertDescription": d} for a, d in assertions],
        },
    )


def _bucket(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Bucket(
            "TemplateBucket",
            VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
            BucketEncryption=BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(
                            SSEAlgorithm="AES256"
                        ),
                        BucketKeyEnabled=True,
                    )
                ]
            ),
            PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
                BlockPublicAcls=True,
                BlockPublicPolicy=True,
                IgnorePublicAcls=True,
                RestrictPublicBuckets=True,
            ),
            OwnershipControls=OwnershipControls(
                Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
            ),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            Metadata=checkov_skip(
                CKV_AWS_18="Holds release artefacts only, written by the publisher role; "
                "object writes are audited with CloudTrail data events rather than a log "
                "bucket per account."
            ),
        )
    )
    pt.template.add_resource(
        BucketPolicy(
            "TemplateBucketPolicy",
            Bucket=Ref("TemplateBucket"),
            PolicyDocument=document(
                [
                    Statement(
                        Sid="DenyInsecureTransport",
                        Effect=Deny,
                        Principal=Principal("*"),
                        Action=actions(
                            "s3", "GetObject", "PutObject", "ListBucket", "DeleteObject"
                        ),
                        Resource=[GetAtt("TemplateBucket", "Arn"), Sub("${TemplateBucket.Arn}/*")],
                        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
                    )
                ]
            ),
        )
    )


def _boundary(pt: ProductTemplate) -> None:
    """The ceiling of every role a product creates: what an execution role may ever do."""
    role_pattern = arns.global_("iam", "role" + naming.EXECUTION_ROLE_PATH + "*")
    base = execution_role.base_statements("*", role_pattern, arns.regional("kms", "key/*"))
    # The team-role product's buckets (any in this account, which covers the default bucket)
    # and image registries (which cover this account's) replace the narrower statements: a
    # boundary is one managed policy, 6,144 characters in every partition (policy-sizes).
    superseded = {"UseSageMakerDefaultBucket", "PullImagesFromThisAccount"}
    statements = [
        *(statement for statement in base if statement.Sid not in superseded),
        *team_role.boundary_statements(),
    ]
    pt.template.add_resource(
        ManagedPolicy(
            "ExecutionRoleBoundary",
            Path=naming.BOOTSTRAP_POLICY_PATH,
            Description="Permissions boundary of every execution role Studio products create",
            PolicyDocument=policy(statements),
        )
    )


def _launch_role(pt: ProductTemplate) -> None:
    statements = launch_role.statements(
        Ref("ExecutionRoleBoundary"), GetAtt("ProfileDrainFunction", "Arn")
    )
    team_pass = launch_role.team_pass_statement(Ref("TeamExecutionRoleArns"))
    pt.template.add_resource(
        ManagedPolicy(
            "LaunchRoleNetworkPolicy",
            Path=naming.BOOTSTRAP_POLICY_PATH,
            Description="Launch role: Studio security groups and IAM Identity Center reads "
            "for SSO user profiles",
            PolicyDocument=policy(launch_role.network_and_directory_statements()),
        )
    )
    pt.template.add_resource(
        Role(
            "LaunchRole",
            ManagedPolicyArns=[Ref("LaunchRoleNetworkPolicy")],
            RoleName=Ref("LaunchRoleName"),
            Description="Assumed by Service Catalog to launch SageMaker Studio products",
            AssumeRolePolicyDocument=document(
                [
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", "servicecatalog.amazonaws.com"),
                        Action=actions("sts", "AssumeRole"),
                    )
                ]
            ),
            Policies=[
                Policy(
                    PolicyName="launch-studio-products",
                    PolicyDocument=policy([*statements, when("HasTeamRoles", team_pass)]),
                )
            ],
        )
    )


def _cloud_admin_role(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Role(
            "CloudAdminRole",
            Path=naming.PERSONA_ROLE_PATH,
            Description="Provisions Studio domains and users through Service Catalog only",
            AssumeRolePolicyDocument=personas.trust("CloudAdmin"),
            Policies=[
                Policy(
                    PolicyName="service-catalog-end-user",
                    PolicyDocument=policy(personas.cloud_admin_statements()),
                )
            ],
        )
    )


def _data_scientist_role(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Role(
            "DataScientistRole",
            Path=naming.PERSONA_ROLE_PATH,
            Description="Opens SageMaker Studio only as the profile tagged with the caller's "
            "studiouserid, a tag set by the identity provider",
            AssumeRolePolicyDocument=personas.data_scientist_trust(),
            Policies=[
                Policy(
                    PolicyName="open-own-studio-profile",
                    PolicyDocument=policy(personas.data_scientist_statements()),
                )
            ],
        )
    )


def _publisher_role(pt: ProductTemplate) -> None:
    launch_role_arn = arns.global_("iam", "role/${LaunchRoleName}")
    pt.template.add_resource(
        Role(
            "PublisherRole",
            Path=naming.PERSONA_ROLE_PATH,
            Description="Release pipeline: publishes Studio products into Service Catalog",
            AssumeRolePolicyDocument=personas.trust("Publisher"),
            Policies=[
                Policy(
                    PolicyName="publish-catalog",
                    PolicyDocument=policy(personas.publisher_statements(launch_role_arn)),
                )
            ],
            Metadata=checkov_skip(
                CKV_AWS_111="The Service Catalog actions on '*' accept only '*' (Service "
                "Authorization Reference); every other write names portfolio/product ARNs, the "
                "launch role or the template bucket."
            ),
        )
    )


def drain_source() -> str:
    """The drain handler as embedded in ``Code.ZipFile``: the tested module, verbatim.

    The bootstrap is deployed through S3 (1 MB template limit) and ZipFile takes up to 4 MB
    (AWS::Lambda::Function registry schema), so nothing is stripped.
    """
    return inspect.getsource(drain_function)


def _drain_function(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Role(
            "ProfileDrainRole",
            Description="Deletes a user profile's apps and spaces before the profile is deleted",
            AssumeRolePolicyDocument=document(
                [
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", "lambda.amazonaws.com"),
                        Action=actions("sts", "AssumeRole"),
                    )
                ]
            ),
        )
    )
    pt.template.add_resource(
        RolePolicy(
            "ProfileDrainPolicy",
            RoleName=Ref("ProfileDrainRole"),
            PolicyName="drain-user-profiles",
            PolicyDocument=policy(drain.statements(Sub("${ProfileDrainLogs.Arn}"))),
        )
    )
    pt.template.add_resource(
        Function(
            "ProfileDrainFunction",
            DependsOn=["ProfileDrainPolicy"],
            Description="Custom::ProfileDrain for Studio user-profile products",
            Runtime="python3.12",
            Handler="index.handler",
            Timeout=900,
            MemorySize=256,
            Role=GetAtt("ProfileDrainRole", "Arn"),
            Code=Code(ZipFile=drain_source()),
            LoggingConfig=LoggingConfig(LogGroup=Ref("ProfileDrainLogs")),
            ReservedConcurrentExecutions=If(
                "ReserveDrainConcurrency", Ref("DrainReservedConcurrency"), NoValue
            ),
            Metadata=checkov_skip(
                CKV_AWS_116="A CloudFormation custom resource handler answers CloudFormation "
                "itself (SUCCESS or FAILED) on every path; a dead-letter queue would hold "
                "nothing.",
                CKV_AWS_117="Must reach the SageMaker API and CloudFormation's pre-signed S3 "
                "response URL; outside a VPC it needs no endpoints or NAT in every account.",
            ),
        )
    )
    pt.template.add_resource(
        LogGroup(
            "ProfileDrainLogs",
            LogGroupName=Sub("/aws/lambda/studio-catalog-profile-drain-${AWS::StackName}"),
            RetentionInDays=365,
            Metadata=checkov_skip(
                CKV_AWS_158="Holds only profile, space and app names; CloudWatch Logs encrypts "
                "at rest by default, and a KMS key per account would protect no secret."
            ),
        )
    )


def _published(pt: ProductTemplate) -> None:
    values = {
        "permissions-boundary-arn": Ref("ExecutionRoleBoundary"),
        "profile-drain-function-arn": GetAtt("ProfileDrainFunction", "Arn"),
        "template-bucket-name": Ref("TemplateBucket"),
        "launch-role-name": Ref("LaunchRole"),
    }
    for key, value in values.items():
        logical = "Ssm" + "".join(p.title() for p in key.split("-"))
        pt.template.add_resource(
            SsmParameter(
                logical,
                Type="String",
                Name=f"{naming.BOOTSTRAP_SSM_PREFIX}/{key}",
                Value=value,
                Description=f"Studio Catalog Factory bootstrap: {key}",
            )
        )
    outputs = {
        "TemplateBucketName": Ref("TemplateBucket"),
        "LaunchRoleArn": GetAtt("LaunchRole", "Arn"),
        "LaunchRoleName": Ref("LaunchRole"),
        "CloudAdminRoleArn": GetAtt("CloudAdminRole", "Arn"),
        "DataScientistRoleArn": GetAtt("DataScientistRole", "Arn"),
        "PublisherRoleArn": GetAtt("PublisherRole", "Arn"),
        "PermissionsBoundaryArn": Ref("ExecutionRoleBoundary"),
        "ProfileDrainFunctionArn": GetAtt("ProfileDrainFunction", "Arn"),
    }
    for name, value in outputs.items():
        pt.template.add_output(Output(name, Value=value))


def generate(options: dict[str, Any] | None = None) -> Any:
    if options:
        from factory.options import OptionsError

        raise OptionsError(
            NAME, [f"option {k}: unknown; this template takes no options" for k in options]
        )
    pt = ProductTemplate(
        "Studio Catalog Factory account bootstrap: template bucket, Service Catalog launch "
        "role, permissions boundary, cloud-admin / data-scientist / publisher roles and the "
        "user-profile drain function. StackSet-ready."
    )
    _parameters(pt)
    _conditions(pt)
    _rules(pt)
    _bucket(pt)
    _boundary(pt)
    _launch_role(pt)
    _cloud_admin_role(pt)
    _data_scientist_role(pt)
    _publisher_role(pt)
    _drain_function(pt)
    _published(pt)
    return pt.finish()


__all__ = ["NAME", "Split", "generate"]
