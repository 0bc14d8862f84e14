"""Product: a production SageMaker Studio domain (``templates/studio-domain.yaml``).

Studio (new) by default, VpcOnly on private subnets the admin selects, a customer-managed
key, a least-privilege team execution role under the catalog's role path and boundary,
sourceIdentity audit, tag propagation, built-in idle shutdown, and an ABAC policy that
lets each person open Studio only as their own profile. The domain's IDs are published to
SSM so the user-profile product (and the admin) never needs the SageMaker console.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import Allow, Principal, Statement
from pydantic import BaseModel, ConfigDict, model_validator
from troposphere import (
    Equals,
    GetAtt,
    If,
    NoValue,
    Output,
    Ref,
    Sub,
    Tags,
)
from troposphere.iam import ManagedPolicy, Role, RolePolicy
from troposphere.kms import Alias, Key
from troposphere.sagemaker import (
    AppLifecycleManagement,
    CodeEditorAppSettings,
    DefaultEbsStorageSettings,
    DefaultSpaceSettings,
    DefaultSpaceStorageSettings,
    Domain,
    DomainSettings,
    IdleSettings,
    JupyterLabAppSettings,
    StudioWebPortalSettings,
    UserSettings,
)
from troposphere.ssm import Parameter as SsmParameter

from factory import naming
from factory.options import IdleOptions, StudioUiOptions, parse
from factory.policies import execution_role, presigned_url
from factory.policies.actions import actions
from factory.products import ui
from factory.products.network import studio_security_group
from factory.studio import NAME_MAX_LENGTH, NAME_PATTERN
from factory.template import ProductTemplate, document, list_is_set, policy

NAME = "studio-domain"


class DomainOptions(BaseModel):
    """Defaults baked into the domain template (the admin can still change them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain_name: str = naming.DEFAULT_DOMAIN_NAME
    ui: StudioUiOptions = StudioUiOptions()
    idle: IdleOptions = IdleOptions()
    default_ebs_gb: int = 5
    max_ebs_gb: int = 100

    @model_validator(mode="after")
    def _ebs(self) -> DomainOptions:
        if not 5 <= self.default_ebs_gb <= self.max_ebs_gb <= 16384:
            raise ValueError(
                f"option default_ebs_gb/max_ebs_gb: {self.default_ebs_gb}/{self.max_ebs_gb}; "
                "allowed: 5 <= default_ebs_gb <= max_ebs_gb <= 16384"
            )
        return self


G_DOMAIN = "Domain"
G_NETWORK = "Network (never the default VPC)"
G_SECURITY = "Encryption and execution role"
G_UI = "Studio experience"
G_IDLE = "Idle shutdown and storage"
G_URL = "Presigned URL access"


def _parameters(pt: ProductTemplate, opts: DomainOptions) -> None:
    pt.parameter(
        G_DOMAIN,
        "DomainName",
        "Domain name",
        Type="String",
        Default=opts.domain_name,
        MaxLength=NAME_MAX_LENGTH,
        AllowedPattern=NAME_PATTERN,
        ConstraintDescription="1-63 letters, digits and hyphens; must start and end with "
        "a letter or digit.",
        Description="Name of the domain; also names the SSM prefix "
        "/studio-catalog/domains/<name>/ that user-profile products read. Create-only: "
        "changing it replaces the domain.",
    )
    pt.parameter(
        G_DOMAIN,
        "AuthMode",
        "Authentication mode",
        Type="String",
        Default="IAM",
        AllowedValues=["IAM", "SSO"],
        Description="IAM (presigned URLs) or SSO (IAM Identity Center). Create-only: it "
        "cannot be changed after the domain exists.",
    )
    pt.parameter(
        G_NETWORK,
        "VpcId",
        "VPC",
        Type="AWS::EC2::VPC::Id",
        Description="VPC with private subnets and SageMaker VPC endpoints. Never the default VPC.",
    )
    pt.parameter(
        G_NETWORK,
        "SubnetIds",
        "Private subnets",
        Type="List<AWS::EC2::Subnet::Id>",
        Description="Private subnets of that VPC in at least two Availability Zones, sized "
        "for ~5 IPs per user (see the README's IP planning).",
    )
    pt.parameter(
        G_NETWORK,
        "AppNetworkAccessType",
        "App network access",
        Type="String",
        Default="VpcOnly",
        AllowedValues=["VpcOnly", "PublicInternetOnly"],
        Description="VpcOnly sends all Studio traffic through your VPC (recommended).",
    )
    pt.parameter(
        G_SECURITY,
        "KmsKeyArn",
        "KMS key ARN (optional)",
        Type="String",
        Default="",
        AllowedPattern=r"^(|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+)$",
        ConstraintDescription="Leave empty to create a key, or give a KMS key ARN "
        "(arn:aws:kms:<region>:<account>:key/<id>).",
        Description="Empty: create a customer-managed key with rotation. Otherwise the ARN "
        "of an existing key. Create-only.",
    )
    pt.parameter(
        G_SECURITY,
        "ExecutionRoleArn",
        "Default execution role ARN (optional)",
        Type="String",
        Default="",
        AllowedPattern=r"^(|arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+)$",
        ConstraintDescription="Leave empty to create a team role, or give an IAM role ARN.",
        Description="Empty: create a least-privilege team execution role. Otherwise the ARN "
        "of an existing role that SageMaker can assume.",
    )
    pt.parameter(
        G_SECURITY,
        "PermissionsBoundaryArn",
        "Permissions boundary (SSM parameter)",
        Type="AWS::SSM::Parameter::Value<String>",
        Default=naming.BOUNDARY_SSM_PARAMETER,
        Description="SSM parameter holding the permissions boundary that every role created "
        "by a catalog product carries (published by the bootstrap stack).",
    )
    ui.parameters(pt, G_UI, opts.ui, scope="domain")
    pt.parameter(
        G_UI,
        "StudioClassic",
        "Studio Classic",
        Type="String",
        Default="Disabled",
        AllowedValues=["Disabled", "Enabled"],
        Description="Enabled creates the EFS home volume Classic needs. Keep Disabled unless "
        "a team asked for Classic; also remove JupyterServer from hidden apps then.",
    )
    ui.idle_parameters(pt, G_IDLE, opts.idle)
    ui.lifecycle_parameter(pt, G_UI, "Applies to everyone in the domain and shared spaces.")
    pt.parameter(
        G_IDLE,
        "DefaultEbsVolumeSizeGb",
        "Default space storage (GB)",
        Type="Number",
        Default=opts.default_ebs_gb,
        MinValue=5,
        MaxValue=16384,
        Description="EBS volume size of a new space.",
    )
    pt.parameter(
        G_IDLE,
        "MaximumEbsVolumeSizeGb",
        "Maximum space storage (GB)",
        Type="Number",
        Default=opts.max_ebs_gb,
        MinValue=5,
        MaxValue=16384,
        Description="Largest EBS volume a person may give a space.",
    )
    pt.parameter(
        G_URL,
        "PresignedUrlAllowedCidrs",
        "Allowed source CIDRs (optional)",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=r"^(|\d{1,3}(\.\d{1,3}){3}/\d{1,2})$",
        ConstraintDescription="Comma-separated IPv4 CIDRs such as 203.0.113.0/24, or empty.",
        Description="If set, presigned URLs may only be created from these networks "
        "(aws:SourceIp).",
    )
    pt.parameter(
        G_URL,
        "PresignedUrlAllowedVpceIds",
        "Allowed VPC endpoints (optional)",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=r"^(|vpce-[0-9a-f]{8,17})$",
        ConstraintDescription="Comma-separated VPC endpoint IDs (vpce-...), or empty.",
        Description="If set, presigned URLs may only be created through these SageMaker API "
        "VPC endpoints (aws:sourceVpce).",
    )


def _conditions(pt: ProductTemplate) -> None:
    pt.condition("CreateKey", Equals(Ref("KmsKeyArn"), ""))
    pt.condition("CreateRole", Equals(Ref("ExecutionRoleArn"), ""))
    pt.condition("ClassicEnabled", Equals(Ref("StudioClassic"), "Enabled"))
    pt.condition("IsSso", Equals(Ref("AuthMode"), "SSO"))
    pt.condition("RestrictSourceIp", list_is_set("PresignedUrlAllowedCidrs"))
    pt.condition("RestrictVpce", list_is_set("PresignedUrlAllowedVpceIds"))
    ui.conditions(pt)


def _rules(pt: ProductTemplate) -> None:
    pt.template.add_rule(
        "SubnetsInVpc",
        {
            "Assertions": [
                {
                    "Assert": {
                        "Fn::EachMemberEquals": [
                            {"Fn::ValueOfAll": ["AWS::EC2::Subnet::Id", "VpcId"]},
                            {"Ref": "VpcId"},
                        ]
                    },
                    "AssertDescription": "All subnets must belong to the selected VPC.",
                }
            ]
        },
    )


#: Resource types whose registry handlers act on the domain key over the stack's life:
#: the key and its alias themselves, and the domain (CreateDomain's kms:CreateGrant,
#: Decrypt, DescribeKey, GenerateDataKeyWithoutPlaintext).
KEY_LIFE_TYPES = ("AWS::KMS::Key", "AWS::KMS::Alias", "AWS::SageMaker::Domain")

#: Key operations outside CloudFormation's handlers: the execution roles' data-key use
#: (:func:`factory.policies.execution_role.kms_statement`) and grant housekeeping and key
#: recovery by administrators (KMS Developer Guide, "Default key policy": key
#: administrators).
KEY_EXTRA_ACTIONS = (
    "Encrypt",
    "GenerateDataKey",
    "ReEncryptFrom",
    "ReEncryptTo",
    "ListGrants",
    "RevokeGrant",
    "RetireGrant",
    "CancelKeyDeletion",
)


def key_policy_actions() -> list[str]:
    """Every KMS action on the key that the stack's life needs, derived from the
    CloudFormation registry schemas cfn-lint ships (``handlers.*.permissions`` and
    ``tagging.permissions`` of :data:`KEY_LIFE_TYPES`), kept where the Service Authorization
    Reference says the action acts on a ``key`` (CreateKey and List* act on ``*`` and mean
    nothing in a key policy). Alias operations need the key policy's permission as well as
    the caller's IAM policy (KMS API Reference, CreateAlias / UpdateAlias / DeleteAlias)."""
    from factory.audit import registry
    from factory.audit.actions import canonical_action

    found: set[str] = {f"kms:{name}" for name in KEY_EXTRA_ACTIONS}
    for resource_type in KEY_LIFE_TYPES:
        for permission in registry.type_schema(resource_type).permissions():
            action = canonical_action(permission)
            if action and action.startswith("kms:") and _acts_on_key(action):
                found.add(action)
    return sorted(found)


def _acts_on_key(action: str) -> bool:
    from factory.audit import sar

    return any(rt.name == "key" for rt in sar.resource_types(action))


def managed_tags(**extra: Any) -> Tags:
    """Tags of resources the launch role's permissions may be scoped by (key, role, SG)."""
    return Tags(**{naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE, **extra})


def _key(pt: ProductTemplate) -> None:
    names = [action.split(":", 1)[1] for action in key_policy_actions()]
    key_policy = document(
        [
            Statement(
                Sid="AccountAdministersKeyThroughIam",
                Effect=Allow,
                Principal=Principal(
                    "AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
                ),
                Action=actions("kms", *names),
                Resource=["*"],
            ),
        ]
    )
    pt.template.add_resource(
        Key(
            "DomainKey",
            Condition="CreateKey",
            Description=Sub("SageMaker Studio domain ${DomainName}: EBS volumes and EFS home"),
            EnableKeyRotation=True,
            KeyPolicy=key_policy,
            Tags=managed_tags(**{"studio-catalog:domain": Ref("DomainName")}),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    pt.template.add_resource(
        Alias(
            "DomainKeyAlias",
            Condition="CreateKey",
            AliasName=Sub("alias/sagemaker-studio/${DomainName}"),
            TargetKeyId=Ref("DomainKey"),
        )
    )


def _security_group(pt: ProductTemplate) -> None:
    studio_security_group(
        pt,
        "DomainSecurityGroup",
        vpc=Ref("VpcId"),
        description="SageMaker Studio apps: traffic within the group, HTTPS out",
        peers="Studio apps talk to each other (Classic: JupyterServer to kernels, EFS)",
        tags=managed_tags(Name=Sub("sagemaker-studio-${DomainName}")),
    )


def key_arn() -> Any:
    return If("CreateKey", GetAtt("DomainKey", "Arn"), Ref("KmsKeyArn"))


def role_arn() -> Any:
    return If("CreateRole", GetAtt("TeamExecutionRole", "Arn"), Ref("ExecutionRoleArn"))


def _team_role(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Role(
            "TeamExecutionRole",
            Condition="CreateRole",
            Path=naming.EXECUTION_ROLE_PATH,
            PermissionsBoundary=Ref("PermissionsBoundaryArn"),
            AssumeRolePolicyDocument=document([execution_role.trust_statement()]),
            Description=Sub("Team execution role of SageMaker Studio domain ${DomainName}"),
            Tags=managed_tags(**{"studio-catalog:domain": Ref("DomainName")}),
        )
    )
    pt.template.add_resource(
        RolePolicy(
            "TeamExecutionRolePolicy",
            Condition="CreateRole",
            RoleName=Ref("TeamExecutionRole"),
            PolicyName="studio-execution",
            PolicyDocument=policy(
                execution_role.base_statements(
                    GetAtt("Domain", "DomainId"),
                    GetAtt("TeamExecutionRole", "Arn"),
                    key_arn(),
                )
            ),
        )
    )


def _domain(pt: ProductTemplate) -> None:
    sg = [Ref("DomainSecurityGroup")]
    storage = DefaultSpaceStorageSettings(
        DefaultEbsStorageSettings=DefaultEbsStorageSettings(
            DefaultEbsVolumeSizeInGb=Ref("DefaultEbsVolumeSizeGb"),
            MaximumEbsVolumeSizeInGb=Ref("MaximumEbsVolumeSizeGb"),
        )
    )
    idle = AppLifecycleManagement(
        IdleSettings=IdleSettings(
            LifecycleManagement=Ref("IdleShutdown"),
            IdleTimeoutInMinutes=If("IdleShutdownEnabled", Ref("IdleTimeoutMinutes"), NoValue),
            MinIdleTimeoutInMinutes=If(
                "IdleShutdownEnabled", Ref("MinIdleTimeoutMinutes"), NoValue
            ),
            MaxIdleTimeoutInMinutes=If(
                "IdleShutdownEnabled", Ref("MaxIdleTimeoutMinutes"), NoValue
            ),
        )
    )
    pt.template.add_resource(
        Domain(
            "Domain",
            DomainName=Ref("DomainName"),
            AuthMode=Ref("AuthMode"),
            VpcId=Ref("VpcId"),
            SubnetIds=Ref("SubnetIds"),
            AppNetworkAccessType=Ref("AppNetworkAccessType"),
            KmsKeyId=key_arn(),
            HomeEfsFileSystemCreation=If("ClassicEnabled", "Enabled", "Disabled"),
            TagPropagation="ENABLED",
            DomainSettings=DomainSettings(
                ExecutionRoleIdentityConfig="USER_PROFILE_NAME",
                SecurityGroupIds=sg,
            ),
            DefaultUserSettings=UserSettings(
                ExecutionRole=role_arn(),
                SecurityGroups=sg,
                StudioWebPortal="ENABLED",
                DefaultLandingUri="studio::",
                StudioWebPortalSettings=StudioWebPortalSettings(**ui.portal_settings()),
                JupyterLabAppSettings=JupyterLabAppSettings(
                    AppLifecycleManagement=idle,
                    BuiltInLifecycleConfigArn=ui.lifecycle_arn("jupyterlab"),
                ),
                CodeEditorAppSettings=CodeEditorAppSettings(
                    AppLifecycleManagement=idle,
                    BuiltInLifecycleConfigArn=ui.lifecycle_arn("code-editor"),
                ),
                SpaceStorageSettings=storage,
            ),
            DefaultSpaceSettings=DefaultSpaceSettings(
                ExecutionRole=role_arn(),
                SecurityGroups=sg,
                JupyterLabAppSettings=JupyterLabAppSettings(
                    AppLifecycleManagement=idle,
                    BuiltInLifecycleConfigArn=ui.lifecycle_arn("jupyterlab"),
                ),
                SpaceStorageSettings=storage,
            ),
        )
    )


def _presigned_url_policy(pt: ProductTemplate) -> None:
    statements: list[Any] = [
        presigned_url.allow_own_profile([presigned_url.profile_arn(GetAtt("Domain", "DomainId"))]),
        *presigned_url.network_denies(
            Ref("PresignedUrlAllowedCidrs"),
            Ref("PresignedUrlAllowedVpceIds"),
            "RestrictSourceIp",
            "RestrictVpce",
        ),
    ]
    pt.template.add_resource(
        ManagedPolicy(
            "PresignedUrlPolicy",
            Path=naming.POLICY_PATH,
            Description=Sub(
                "Open Studio in domain ${DomainName} only as the profile tagged with your own "
                f"{naming.USER_TAG}, only from the allowed networks when set"
            ),
            PolicyDocument=policy(statements),
        )
    )


def _ssm_outputs(pt: ProductTemplate) -> None:
    values = {
        "domain-id": GetAtt("Domain", "DomainId"),
        "domain-arn": GetAtt("Domain", "DomainArn"),
        "execution-role-arn": role_arn(),
        "security-group-id": Ref("DomainSecurityGroup"),
        "vpc-id": Ref("VpcId"),
        "auth-mode": Ref("AuthMode"),
        "kms-key-arn": key_arn(),
    }
    assert tuple(values) == naming.DOMAIN_KEYS
    for key, value in values.items():
        logical = "Ssm" + "".join(part.title() for part in key.split("-"))
        pt.template.add_resource(
            SsmParameter(
                logical,
                Type="String",
                Name=Sub(naming.DOMAIN_SSM_TEMPLATE.format(domain="${DomainName}") + f"/{key}"),
                Value=value,
                Description=Sub(f"SageMaker Studio domain ${{DomainName}}: {key}"),
            )
        )


def _outputs(pt: ProductTemplate) -> None:
    outputs = {
        "DomainId": ("Studio domain ID", GetAtt("Domain", "DomainId")),
        "DomainArn": ("Studio domain ARN", GetAtt("Domain", "DomainArn")),
        "StudioUrl": (
            "Studio URL (sign in through your IdP or a presigned URL)",
            GetAtt("Domain", "Url"),
        ),
        "SecurityGroupId": ("Security group of Studio apps", Ref("DomainSecurityGroup")),
        "ExecutionRoleArn": ("Default execution role", role_arn()),
        "KmsKeyArn": ("KMS key encrypting Studio storage", key_arn()),
        "PresignedUrlPolicyArn": (
            "Attach to every role people open Studio with (roles you manage yourself): "
            "presigned URLs only for their own profile, and only from the allowed CIDRs / "
            "VPC endpoints when set (explicit denies in this policy)",
            Ref("PresignedUrlPolicy"),
        ),
        "SsmPrefix": (
            "SSM prefix user-profile products read",
            Sub(naming.DOMAIN_SSM_TEMPLATE.format(domain="${DomainName}")),
        ),
    }
    for name, (description, value) in outputs.items():
        pt.template.add_output(Output(name, Description=description, Value=value))
    pt.template.add_output(
        Output(
            "SingleSignOnApplicationArn",
            Condition="IsSso",
            Description="IAM Identity Center application of this domain: assign each person "
            "to it (aws sso-admin create-application-assignment --application-arn <this> "
            "--principal-id <user ID> --principal-type USER) before launching their "
            "profile; CloudFormation does not (cloudformation-coverage-roadmap#1128)",
            Value=GetAtt("Domain", "SingleSignOnApplicationArn"),
        )
    )


def generate(options: dict[str, Any] | None = None) -> Any:
    """Build the domain product template from (validated) generator options."""
    opts: DomainOptions = parse(NAME, DomainOptions, options)
    pt = ProductTemplate(
        "SageMaker Studio domain (Studio Catalog Factory): VpcOnly, KMS-encrypted, Studio "
        "(new) by default, idle shutdown, per-person presigned-URL access."
    )
    _parameters(pt, opts)
    _conditions(pt)
    _rules(pt)
    _key(pt)
    _security_group(pt)
    _team_role(pt)
    _domain(pt)
    _presigned_url_policy(pt)
    _ssm_outputs(pt)
    _outputs(pt)
    return pt.finish()
