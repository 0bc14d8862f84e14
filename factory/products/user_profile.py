"""Product: one person's SageMaker Studio user profile (``templates/studio-user-profile.yaml``).

One person, one profile. The profile is tagged with the person's ``studiouserid`` (the
ABAC key of the presigned-URL policy), finds its domain through the SSM parameters the
domain product publishes, and runs as the domain's team role, a given role, or a
per-person role created here. Hiding a tool is only visibility, so with a per-person role
``EnforceHiddenTools`` turns every hidden app and ML tool into explicit IAM denies
(:mod:`factory.policies.tool_denies`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from troposphere import And, Condition, Equals, GetAtt, If, Not, NoValue, Output, Ref, Sub, Tags
from troposphere.cloudformation import CustomResource
from troposphere.iam import ManagedPolicy, Role, RolePolicy
from troposphere.sagemaker import (
    CodeEditorAppSettings,
    EbsStorageSettings,
    JupyterLabAppSettings,
    OwnershipSettings,
    Space,
    SpaceSettings,
    SpaceSharingSettings,
    SpaceStorageSettings,
    StudioWebPortalSettings,
    UserProfile,
    UserSettings,
)

from factory import naming
from factory.options import StudioUiOptions, parse
from factory.policies import execution_role, tool_denies
from factory.products import ui
from factory.products.network import studio_security_group
from factory.studio import (
    CLASSIC_LANDING_URI,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    STUDIO_LANDING_URI,
)
from factory.template import ProductTemplate, document, list_contains, policy, when

NAME = "studio-user-profile"


class UserProfileOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    domain_name: str = naming.DEFAULT_DOMAIN_NAME
    ui: StudioUiOptions = StudioUiOptions()
    default_role_mode: str = "Team"
    space_ebs_gb: int = 5


class ProfileDrain(CustomResource):
    """``Custom::ProfileDrain``, served by the bootstrap stack's drain function."""

    resource_type = "Custom::ProfileDrain"
    props = {  # noqa: RUF012  (troposphere's declarative property table)
        **CustomResource.props,
        "DomainId": (str, True),
        "UserProfileName": (str, True),
        "PrivateSpace": (str, False),
    }


G_PERSON = "Person"
G_DOMAIN = "Domain (SSM parameters published by the domain product)"
G_ROLE = "Execution role"
G_UI = "Studio experience for this person"
G_NET = "Network and private space"

ROLE_MODES = ["Team", "PerPerson"]
#: A persona name (factory.portfolio.models.SLUG_PATTERN), or empty.
PERSONA_PATTERN = r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?)?$"


def _person(pt: ProductTemplate) -> None:
    pt.parameter(
        G_PERSON,
        "UserProfileName",
        "Person's user ID",
        Type="String",
        MinLength=1,
        MaxLength=NAME_MAX_LENGTH,
        AllowedPattern=NAME_PATTERN,
        ConstraintDescription="One person, one profile: the person's own identifier (e.g. "
        "jane-doe), 1-63 letters, digits and hyphens, starting and ending with a letter or "
        "digit. Never a shared, team or generic name.",
        Description="The person's identifier. Becomes the profile name and the "
        f"'{naming.USER_TAG}' tag the person's sign-in must carry. Create-only.",
    )
    pt.parameter(
        G_PERSON,
        "SsoUserName",
        "IAM Identity Center user name (SSO domains)",
        Type="String",
        Default="",
        MaxLength=128,
        AllowedPattern=r"^[\w+=,.@-]*$",
        ConstraintDescription="The person's IAM Identity Center user name, or empty.",
        Description="Only for SSO domains: the person's Identity Center user name. Empty "
        "uses the user ID above. Assign the person to the domain's Studio application in IAM "
        "Identity Center BEFORE launching: CloudFormation does not (see README, SSO).",
    )
    pt.parameter(
        G_PERSON,
        "Persona",
        "Persona (set by studio-factory users)",
        Type="String",
        Default="",
        MaxLength=64,
        AllowedPattern=PERSONA_PATTERN,
        ConstraintDescription="A persona name of portfolios/personas.yaml, or empty.",
        Description="Informational: the persona whose settings this launch uses, shown by "
        "`studio-factory users list`. Empty when launched by hand.",
    )


#: Parameter -> (label, key of the domain's SSM parameter under naming.DOMAIN_SSM_TEMPLATE):
#: which domain a profile belongs to. `studio-factory users --domain D` sets each to D's path.
DOMAIN_LINKS = {
    "DomainId": ("Domain ID", "domain-id"),
    "DomainAuthMode": ("Domain auth mode", "auth-mode"),
    "TeamExecutionRoleArn": ("Team execution role", "execution-role-arn"),
    "DomainVpcId": ("Domain VPC", "vpc-id"),
    "DomainKmsKeyArn": ("Domain KMS key", "kms-key-arn"),
}


def _domain_links(pt: ProductTemplate, opts: UserProfileOptions) -> None:
    ssm = "AWS::SSM::Parameter::Value<String>"
    for name, (label, key) in DOMAIN_LINKS.items():
        pt.parameter(
            G_DOMAIN,
            name,
            label,
            Type=ssm,
            Default=naming.domain_ssm_parameter(key, opts.domain_name),
            Description=f"SSM parameter holding the domain's {key}. Keep the default unless "
            "this person belongs to another domain: then replace the domain name in every "
            "path of this group.",
        )


def _role(pt: ProductTemplate, opts: UserProfileOptions) -> None:
    pt.parameter(
        G_ROLE,
        "ExecutionRoleMode",
        "Execution role",
        Type="String",
        Default=opts.default_role_mode,
        AllowedValues=ROLE_MODES,
        Description="Team: the domain's team role, or the existing role below if given. "
        "PerPerson: a least-privilege role for this person only (needed for "
        "EnforceHiddenTools).",
    )
    pt.parameter(
        G_ROLE,
        "ExistingExecutionRoleArn",
        "Existing role ARN (optional)",
        Type="String",
        Default="",
        AllowedPattern=r"^(|arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+)$",
        ConstraintDescription="An IAM role ARN, or empty.",
        Description="With ExecutionRoleMode Team: use this role instead of the domain's "
        "team role. Leave empty with PerPerson.",
    )
    pt.parameter(
        G_ROLE,
        "PermissionsBoundaryArn",
        "Permissions boundary (SSM parameter)",
        Type="AWS::SSM::Parameter::Value<String>",
        Default=naming.BOUNDARY_SSM_PARAMETER,
        Description="SSM parameter holding the boundary every per-person role carries.",
    )
    pt.parameter(
        G_ROLE,
        "DrainFunctionArn",
        "Profile drain function (SSM parameter)",
        Type="AWS::SSM::Parameter::Value<String>",
        Default=naming.DRAIN_FUNCTION_SSM_PARAMETER,
        Description="SSM parameter holding the bootstrap stack's drain function, which "
        "deletes the person's apps and spaces so terminating this product never fails.",
    )
    pt.parameter(
        G_ROLE,
        "EnforceHiddenTools",
        "Enforce hidden tools with IAM",
        Type="String",
        Default="true",
        AllowedValues=["true", "false"],
        Description="With a PerPerson role: add explicit IAM denies for every hidden app and "
        "ML tool that has an IAM action (hiding alone is only visibility).",
    )


def _ui(pt: ProductTemplate, opts: UserProfileOptions) -> None:
    ui.parameters(pt, G_UI, opts.ui, scope="person")
    ui.lifecycle_parameter(pt, G_UI, "Empty keeps the domain's.")
    pt.parameter(
        G_UI,
        "DefaultLandingUri",
        "Lands in",
        Type="String",
        Default=STUDIO_LANDING_URI,
        AllowedValues=[STUDIO_LANDING_URI, CLASSIC_LANDING_URI],
        Description="studio:: is Studio (new). app:JupyterServer: is Studio Classic: only on "
        "request, with Classic enabled on the domain.",
    )


def _network(pt: ProductTemplate, opts: UserProfileOptions) -> None:
    pt.parameter(
        G_NET,
        "PersonalSecurityGroup",
        "Personal security group",
        Type="String",
        Default="false",
        AllowedValues=["true", "false"],
        Description="true: the person's apps get their own security group (isolated from "
        "other people's apps in VpcOnly domains).",
    )
    pt.parameter(
        G_NET,
        "CreatePrivateSpace",
        "Private JupyterLab space",
        Type="String",
        Default="false",
        AllowedValues=["true", "false"],
        Description="Create a private JupyterLab space owned by this person, named like the "
        "profile.",
    )
    pt.parameter(
        G_NET,
        "PrivateSpaceEbsSizeGb",
        "Private space storage (GB)",
        Type="Number",
        Default=opts.space_ebs_gb,
        MinValue=5,
        MaxValue=16384,
        Description="EBS size of the private space; at most the domain's maximum.",
    )


def _conditions(pt: ProductTemplate) -> list[str]:
    ui.conditions(pt)
    pt.condition("IsSso", Equals(Ref("DomainAuthMode"), "SSO"))
    pt.condition("SsoUserNameGiven", Not(Equals(Ref("SsoUserName"), "")))
    pt.condition("PerPersonRole", Equals(Ref("ExecutionRoleMode"), "PerPerson"))
    pt.condition("ExistingRole", Not(Equals(Ref("ExistingExecutionRoleArn"), "")))
    pt.condition("CreatePersonalSg", Equals(Ref("PersonalSecurityGroup"), "true"))
    pt.condition("CreateSpace", Equals(Ref("CreatePrivateSpace"), "true"))
    pt.condition(
        "EnforceOnPersonRole",
        And(
            Condition("PerPersonRole"),
            Equals(Ref("EnforceHiddenTools"), "true"),
        ),
    )
    denies = []
    for row in tool_denies.TABLE:
        if not row.enforceable:
            continue
        parameter = "HiddenAppTypes" if row.kind == "app" else "HiddenMlTools"
        pt.condition(f"Hide{row.tool}", list_contains(parameter, row.tool))
        denies.append(
            pt.condition(
                f"Deny{row.tool}",
                And(Condition("EnforceOnPersonRole"), Condition(f"Hide{row.tool}")),
            )
        )
    return denies


def _rules(pt: ProductTemplate) -> None:
    pt.template.add_rule(
        "PerPersonRoleExcludesExistingRole",
        {
            "RuleCondition": {"Fn::Equals": [{"Ref": "ExecutionRoleMode"}, "PerPerson"]},
            "Assertions": [
                {
                    "Assert": {"Fn::Equals": [{"Ref": "ExistingExecutionRoleArn"}, ""]},
                    "AssertDescription": "ExecutionRoleMode PerPerson creates the role: leave "
                    "ExistingExecutionRoleArn empty.",
                }
            ],
        },
    )
    pt.template.add_rule(
        "ClassicLandingNeedsClassicVisible",
        {
            "RuleCondition": {"Fn::Equals": [{"Ref": "DefaultLandingUri"}, CLASSIC_LANDING_URI]},
            "Assertions": [
                {
                    "Assert": {
                        "Fn::Not": [{"Fn::Contains": [{"Ref": "HiddenAppTypes"}, "JupyterServer"]}]
                    },
                    "AssertDescription": (
                        "Landing in Studio Classic needs JupyterServer not hidden."
                    ),
                }
            ],
        },
    )


def role_arn() -> Any:
    return If(
        "PerPersonRole",
        GetAtt("PersonExecutionRole", "Arn"),
        If("ExistingRole", Ref("ExistingExecutionRoleArn"), Ref("TeamExecutionRoleArn")),
    )


def person_tags() -> Tags:
    """Tags of the profile and space: never changed after launch (changing Tags on these
    resources has forced replacement, cloudformation-coverage-roadmap#2094, #1803)."""
    return Tags(**{naming.USER_TAG: Ref("UserProfileName")})


def managed_tags() -> Tags:
    """Tags of resources whose launch-role permissions may be scoped by tag (role, SG)."""
    return Tags(
        **{naming.USER_TAG: Ref("UserProfileName"), naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE}
    )


def _person_role(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Role(
            "PersonExecutionRole",
            Condition="PerPersonRole",
            Path=naming.EXECUTION_ROLE_PATH,
            PermissionsBoundary=Ref("PermissionsBoundaryArn"),
            AssumeRolePolicyDocument=document([execution_role.trust_statement()]),
            Description=Sub("SageMaker Studio execution role of ${UserProfileName}"),
            Tags=managed_tags(),
        )
    )
    pt.template.add_resource(
        RolePolicy(
            "PersonExecutionRolePolicy",
            Condition="PerPersonRole",
            RoleName=Ref("PersonExecutionRole"),
            PolicyName="studio-execution",
            PolicyDocument=policy(
                execution_role.base_statements(
                    Ref("DomainId"),
                    GetAtt("PersonExecutionRole", "Arn"),
                    Ref("DomainKmsKeyArn"),
                    owner=Ref("UserProfileName"),
                )
            ),
        )
    )
    _hidden_tool_denies(pt)


def hidden_tool_statements() -> list[Any]:
    """The denies of the hidden-tool policy: shared spaces always, each tool when hidden."""
    return [
        tool_denies.deny_shared_spaces(),
        *(
            when(f"Deny{row.tool}", tool_denies.deny_statement(row, Ref("DomainId")))
            for row in tool_denies.TABLE
            if row.enforceable
        ),
    ]


def _hidden_tool_denies(pt: ProductTemplate) -> None:
    """One managed policy of conditional denies (limit 6,144 characters) rather than one
    inline policy per tool, which together exceeded the role's 10,240-character inline
    budget in aws-us-gov with every tool hidden (IAM User Guide, "IAM and AWS STS quotas").
    The shared-space deny is unconditional, so the document is never empty."""
    pt.template.add_resource(
        ManagedPolicy(
            "HiddenToolDenies",
            Condition="EnforceOnPersonRole",
            Path=naming.POLICY_PATH,
            Description=Sub(
                "Hidden Studio tools and shared spaces denied to ${UserProfileName} "
                "(EnforceHiddenTools)"
            ),
            Roles=[Ref("PersonExecutionRole")],
            PolicyDocument=policy(hidden_tool_statements()),
        )
    )


def _security_group(pt: ProductTemplate) -> None:
    studio_security_group(
        pt,
        "PersonalSecurityGroupResource",
        vpc=Ref("DomainVpcId"),
        description="SageMaker Studio apps of one person",
        peers="The person's apps talk to each other",
        tags=managed_tags(),
        condition="CreatePersonalSg",
    )


def _profile(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        UserProfile(
            "UserProfile",
            DomainId=Ref("DomainId"),
            UserProfileName=Ref("UserProfileName"),
            SingleSignOnUserIdentifier=If("IsSso", "UserName", NoValue),
            SingleSignOnUserValue=If("IsSso", _sso_user(), NoValue),
            Tags=person_tags(),
            UserSettings=UserSettings(
                ExecutionRole=role_arn(),
                SecurityGroups=If(
                    "CreatePersonalSg", [Ref("PersonalSecurityGroupResource")], NoValue
                ),
                StudioWebPortal="ENABLED",
                DefaultLandingUri=Ref("DefaultLandingUri"),
                StudioWebPortalSettings=StudioWebPortalSettings(**ui.portal_settings()),
                JupyterLabAppSettings=If(
                    ui.LIFECYCLE_CONDITION,
                    JupyterLabAppSettings(
                        BuiltInLifecycleConfigArn=ui.lifecycle_reference("jupyterlab")
                    ),
                    NoValue,
                ),
                CodeEditorAppSettings=If(
                    ui.LIFECYCLE_CONDITION,
                    CodeEditorAppSettings(
                        BuiltInLifecycleConfigArn=ui.lifecycle_reference("code-editor")
                    ),
                    NoValue,
                ),
            ),
        )
    )


def _space(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Space(
            "PrivateSpace",
            Condition="CreateSpace",
            DomainId=Ref("DomainId"),
            SpaceName=Ref("UserProfileName"),
            SpaceDisplayName=Sub("${UserProfileName} (private JupyterLab)"),
            OwnershipSettings=OwnershipSettings(OwnerUserProfileName=Ref("UserProfileName")),
            SpaceSharingSettings=SpaceSharingSettings(SharingType="Private"),
            DependsOn=["UserProfile"],
            SpaceSettings=SpaceSettings(
                AppType="JupyterLab",
                SpaceStorageSettings=SpaceStorageSettings(
                    EbsStorageSettings=EbsStorageSettings(
                        EbsVolumeSizeInGb=Ref("PrivateSpaceEbsSizeGb")
                    )
                ),
            ),
            Tags=person_tags(),
        )
    )


def _drain(pt: ProductTemplate) -> None:
    """Deleted first on termination (it depends on the profile and, through ``Ref``, on the
    private space), so apps and spaces are gone before CloudFormation deletes them."""
    pt.template.add_resource(
        ProfileDrain(
            "ProfileDrain",
            DependsOn=["UserProfile"],
            ServiceToken=Ref("DrainFunctionArn"),
            ServiceTimeout=900,
            DomainId=Ref("DomainId"),
            UserProfileName=Ref("UserProfileName"),
            PrivateSpace=If("CreateSpace", Ref("PrivateSpace"), ""),
        )
    )


#: CloudFormation creates the profile but never assigns the person to the domain's IAM
#: Identity Center application (cloudformation-coverage-roadmap#1128); without that
#: assignment the person does not see Studio in the access portal. The command's shape is
#: botocore's sso-admin CreateApplicationAssignment (ApplicationArn, PrincipalId,
#: PrincipalType USER|GROUP) and identitystore GetUserId (AlternateIdentifier.
#: UniqueAttribute); the application ARN is the domain's ``SingleSignOnApplicationArn``
#: attribute (AWS::SageMaker::Domain registry schema), published by the domain product as
#: its ``SingleSignOnApplicationArn`` output. The AWS::SageMaker::UserProfile reference
#: says the user (or a group with the user) must be assigned *to create* the profile.
SSO_ASSIGNMENT = (
    "${SsoUser} must be assigned to the domain's IAM Identity Center application, which "
    "CloudFormation does not do (cloudformation-coverage-roadmap#1128); do it before "
    "launching (or re-launching) this product: IAM Identity Center "
    "console > Applications > the SageMaker Studio application of domain ${DomainId} > "
    "Assign users, or aws sso-admin create-application-assignment --application-arn "
    "<SingleSignOnApplicationArn output of the domain product> --principal-id <user ID: "
    "aws identitystore get-user-id --identity-store-id <aws sso-admin list-instances> "
    "--alternate-identifier UniqueAttribute={AttributePath=userName,AttributeValue=${SsoUser}}"
    "> --principal-type USER"
)


def _sso_user() -> Any:
    return If("SsoUserNameGiven", Ref("SsoUserName"), Ref("UserProfileName"))


def _outputs(pt: ProductTemplate) -> None:
    how = If(
        "IsSso",
        Sub(
            "Sign in to the IAM Identity Center access portal and choose the SageMaker Studio "
            "application. " + SSO_ASSIGNMENT + ".",
            SsoUser=_sso_user(),
        ),
        Sub(
            "As a principal tagged studiouserid=${UserProfileName}: the SageMaker console, "
            "or aws sagemaker create-presigned-domain-url --domain-id ${DomainId} "
            "--user-profile-name ${UserProfileName}"
        ),
    )
    for name, description, value in (
        ("UserProfileArn", "User profile ARN", GetAtt("UserProfile", "UserProfileArn")),
        ("UserProfileName", "User profile name", Ref("UserProfileName")),
        ("Persona", "Persona of the launch (studio-factory users)", Ref("Persona")),
        ("ExecutionRoleArn", "Execution role the person's apps run as", role_arn()),
        ("OpenStudio", "How the person opens Studio", how),
    ):
        pt.template.add_output(Output(name, Description=description, Value=value))
    pt.template.add_output(
        Output(
            "PrivateSpaceName",
            Condition="CreateSpace",
            Description="The person's private JupyterLab space",
            Value=Ref("UserProfileName"),
        )
    )


def generate(options: dict[str, Any] | None = None) -> Any:
    opts: UserProfileOptions = parse(NAME, UserProfileOptions, options)
    if opts.default_role_mode not in ROLE_MODES:
        from factory.options import OptionsError

        raise OptionsError(
            NAME,
            [
                f"option default_role_mode: {opts.default_role_mode!r} not allowed; "
                f"allowed: {', '.join(ROLE_MODES)}"
            ],
        )
    pt = ProductTemplate(
        "SageMaker Studio user profile for one person (Studio Catalog Factory): "
        "studiouserid-tagged, optional per-person role with enforced hidden tools."
    )
    _person(pt)
    _domain_links(pt, opts)
    _role(pt, opts)
    _ui(pt, opts)
    _network(pt, opts)
    _conditions(pt)
    _rules(pt)
    _person_role(pt)
    _security_group(pt)
    _profile(pt)
    _space(pt)
    _drain(pt)
    _outputs(pt)
    return pt.finish()
