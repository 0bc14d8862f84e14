"""Launch template: the account bootstrap stack (``launch/studio-catalog-bootstrap.yaml``).

Deployed once per account, or as a StackSet instance, so it names no account, region or
partition. It holds the seeds' central promise: the cloud admin provisions Studio through
Service Catalog with no SageMaker permission at all, because Service Catalog assumes the
launch role, which alone may create Studio resources, and only roles that carry the
permissions boundary.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    Condition,
    Deny,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Equals, GetAtt, If, Not, Output, Ref, Split, Sub
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
from factory.policies import arns, execution_role, presigned_url
from factory.policies.actions import actions
from factory.template import ProductTemplate, checkov_skip, document, policy

NAME = "studio-catalog-bootstrap"

#: Drains run one per terminated profile; 20 at once lets a bulk offboarding proceed
#: without starving the account's unreserved Lambda concurrency. Throttled asynchronous
#: invocations are retried by Lambda, so a burst only queues.
DRAIN_CONCURRENCY = 20

G_ROLES = "Role names and trust"
G_TEAM = "Team execution roles"

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


def _conditions(pt: ProductTemplate) -> None:
    for persona in ("CloudAdmin", "DataScientist", "Publisher"):
        pt.condition(f"{persona}SameAccount", Equals(Ref(f"{persona}TrustAccountId"), ""))
        pt.condition(f"{persona}AnyPrincipal", Equals(Ref(f"{persona}PrincipalArnPattern"), ""))
    pt.condition(
        "HasTeamRoles", Not(Equals(Sub("${Roles}", Roles=_join_list("TeamExecutionRoleArns")), ""))
    )


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


def _trust(persona: str, *extra_actions: str) -> Any:
    account = If(f"{persona}SameAccount", Ref("AWS::AccountId"), Ref(f"{persona}TrustAccountId"))
    root = Sub("arn:${AWS::Partition}:iam::${Account}:root", Account=account)
    assume = Statement(
        Sid="AssumedByNamedPrincipals",
        Effect=Allow,
        Principal=Principal("AWS", root),
        Action=actions("sts", "AssumeRole", *extra_actions),
        Condition=Condition(ArnLike({"aws:PrincipalArn": Ref(f"{persona}PrincipalArnPattern")})),
    )
    anyone = Statement(
        Sid="AssumedByTrustedAccount",
        Effect=Allow,
        Principal=Principal("AWS", root),
        Action=actions("sts", "AssumeRole", *extra_actions),
    )
    return policy([If(f"{persona}AnyPrincipal", anyone, assume)])


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
    statements = execution_role.base_statements("*", role_pattern, arns.regional("kms", "key/*"))
    pt.template.add_resource(
        ManagedPolicy(
            "ExecutionRoleBoundary",
            Path=naming.POLICY_PATH,
            Description="Permissions boundary of every execution role Studio products create",
            PolicyDocument=policy(statements),
        )
    )


def _launch_statements() -> list[Statement]:
    stack = arns.regional("cloudformation", "stack/SC-*")
    sm = [
        arns.sagemaker(r)
        for r in (
            "domain/*",
            "user-profile/*/*",
            "space/*/*",
            "app/*/*",
            "studio-lifecycle-config/*",
        )
    ]
    execution_roles = arns.global_("iam", "role" + naming.EXECUTION_ROLE_PATH + "*")
    boundary = {"iam:PermissionsBoundary": Ref("ExecutionRoleBoundary")}
    return [
        Statement(
            Sid="RunServiceCatalogStacksOnly",
            Effect=Allow,
            Action=actions(
                "cloudformation",
                "CreateStack",
                "UpdateStack",
                "DeleteStack",
                "DescribeStacks",
                "DescribeStackEvents",
                "DescribeStackResource",
                "DescribeStackResources",
                "GetTemplate",
                "SetStackPolicy",
                "ContinueUpdateRollback",
            ),
            Resource=[stack],
        ),
        Statement(
            Sid="ValidateTemplatesHasNoResourceScope",
            Effect=Allow,
            Action=actions("cloudformation", "ValidateTemplate", "GetTemplateSummary"),
            Resource=["*"],
        ),
        Statement(
            Sid="ReadProductTemplates",
            Effect=Allow,
            Action=actions("s3", "GetObject"),
            Resource=[Sub("${TemplateBucket.Arn}/*")],
        ),
        Statement(
            Sid="ManageStudioResources",
            Effect=Allow,
            Action=actions(
                "sagemaker",
                "CreateDomain",
                "UpdateDomain",
                "DeleteDomain",
                "DescribeDomain",
                "CreateUserProfile",
                "UpdateUserProfile",
                "DeleteUserProfile",
                "DescribeUserProfile",
                "CreateSpace",
                "UpdateSpace",
                "DeleteSpace",
                "DescribeSpace",
                "CreateStudioLifecycleConfig",
                "DeleteStudioLifecycleConfig",
                "DescribeStudioLifecycleConfig",
                "AddTags",
                "DeleteTags",
                "ListTags",
            ),
            Resource=sm,
        ),
        Statement(
            Sid="StudioSecurityGroups",
            Effect=Allow,
            Action=actions(
                "ec2",
                "CreateSecurityGroup",
                "DeleteSecurityGroup",
                "AuthorizeSecurityGroupIngress",
                "AuthorizeSecurityGroupEgress",
                "RevokeSecurityGroupIngress",
                "RevokeSecurityGroupEgress",
                "CreateTags",
                "DeleteTags",
            ),
            Resource=[arns.regional("ec2", "security-group/*"), arns.regional("ec2", "vpc/*")],
        ),
        Statement(
            Sid="DescribeNetworkHasNoResourceScope",
            Effect=Allow,
            Action=actions(
                "ec2",
                "DescribeSecurityGroups",
                "DescribeSecurityGroupRules",
                "DescribeVpcs",
                "DescribeSubnets",
                "DescribeNetworkInterfaces",
                "DescribeVpcEndpoints",
                "DescribeRouteTables",
            ),
            Resource=["*"],
        ),
        Statement(
            Sid="CreateDomainKeysHasNoResourceScope",
            Effect=Allow,
            Action=actions("kms", "CreateKey"),
            Resource=["*"],
        ),
        Statement(
            Sid="ManageDomainKeys",
            Effect=Allow,
            Action=actions(
                "kms",
                "DescribeKey",
                "PutKeyPolicy",
                "GetKeyPolicy",
                "EnableKeyRotation",
                "GetKeyRotationStatus",
                "TagResource",
                "UntagResource",
                "ListResourceTags",
                "ScheduleKeyDeletion",
                "CreateGrant",
                "Decrypt",
                "GenerateDataKey",
                "CreateAlias",
                "DeleteAlias",
                "UpdateAlias",
            ),
            Resource=[
                arns.regional("kms", "key/*"),
                arns.regional("kms", "alias/sagemaker-studio/*"),
            ],
        ),
        Statement(
            Sid="TagDomainEfsForClassic",
            Effect=Allow,
            Action=actions("elasticfilesystem", "TagResource", "UntagResource"),
            Resource=[arns.regional("elasticfilesystem", "file-system/*")],
        ),
        Statement(
            Sid="ProductSsmParametersOnly",
            Effect=Allow,
            Action=actions(
                "ssm",
                "PutParameter",
                "DeleteParameter",
                "GetParameter",
                "GetParameters",
                "AddTagsToResource",
                "RemoveTagsFromResource",
                "ListTagsForResource",
            ),
            Resource=[arns.regional("ssm", "parameter" + naming.SSM_ROOT + "/*")],
        ),
        Statement(
            Sid="CreateRolesOnlyWithBoundaryUnderCatalogPath",
            Effect=Allow,
            Action=actions("iam", "CreateRole", "PutRolePermissionsBoundary"),
            Resource=[execution_roles],
            Condition=Condition(StringEquals(boundary)),
        ),
        Statement(
            Sid="ManageCatalogExecutionRoles",
            Effect=Allow,
            Action=actions(
                "iam",
                "DeleteRole",
                "GetRole",
                "TagRole",
                "UntagRole",
                "UpdateRoleDescription",
                "PutRolePolicy",
                "DeleteRolePolicy",
                "GetRolePolicy",
                "ListRolePolicies",
                "ListAttachedRolePolicies",
            ),
            Resource=[execution_roles],
        ),
        Statement(
            Sid="ManageCatalogManagedPolicies",
            Effect=Allow,
            Action=actions(
                "iam",
                "CreatePolicy",
                "DeletePolicy",
                "GetPolicy",
                "CreatePolicyVersion",
                "DeletePolicyVersion",
                "ListPolicyVersions",
                "GetPolicyVersion",
            ),
            Resource=[arns.global_("iam", "policy" + naming.POLICY_PATH + "*")],
        ),
        Statement(
            Sid="PassOnlyCatalogAndNamedTeamRolesToSageMaker",
            Effect=Allow,
            Action=actions("iam", "PassRole"),
            Resource=[execution_roles],
            Condition=Condition(StringEquals({"iam:PassedToService": "sagemaker.amazonaws.com"})),
        ),
        Statement(
            Sid="InvokeOnlyTheProfileDrainFunction",
            Effect=Allow,
            Action=actions("lambda", "InvokeFunction"),
            Resource=[GetAtt("ProfileDrainFunction", "Arn")],
        ),
    ]


def _launch_role(pt: ProductTemplate) -> None:
    team_pass = Statement(
        Sid="PassNamedTeamRolesToSageMaker",
        Effect=Allow,
        Action=actions("iam", "PassRole"),
        Resource=Ref("TeamExecutionRoleArns"),
        Condition=Condition(StringEquals({"iam:PassedToService": "sagemaker.amazonaws.com"})),
    )
    pt.template.add_resource(
        Role(
            "LaunchRole",
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
                    PolicyDocument=policy(
                        [*_launch_statements(), If("HasTeamRoles", team_pass, Ref("AWS::NoValue"))]
                    ),
                )
            ],
        )
    )


def _cloud_admin_role(pt: ProductTemplate) -> None:
    """Service Catalog end user, and nothing of SageMaker: not even read."""
    end_user = actions(
        "servicecatalog",
        "DescribeProduct",
        "DescribeProductView",
        "DescribeProvisioningParameters",
        "DescribeProvisionedProduct",
        "DescribeRecord",
        "ListLaunchPaths",
        "SearchProducts",
        "SearchProvisionedProducts",
        "ScanProvisionedProducts",
        "ListRecordHistory",
        "DescribeProvisioningArtifact",
        "ListProvisioningArtifacts",
        "GetProvisionedProductOutputs",
        "ListServiceActionsForProvisioningArtifact",
    )
    statements = [
        Statement(
            Sid="BrowseTheCatalog",
            Effect=Allow,
            Action=end_user,
            Resource=["*"],
        ),
        Statement(
            Sid="LaunchCatalogProducts",
            Effect=Allow,
            Action=actions("servicecatalog", "ProvisionProduct"),
            Resource=[arns.regional("catalog", "product/*")],
        ),
        Statement(
            Sid="UpdateAndTerminateProvisionedProducts",
            Effect=Allow,
            Action=actions(
                "servicecatalog",
                "UpdateProvisionedProduct",
                "TerminateProvisionedProduct",
            ),
            Resource=[arns.regional("servicecatalog", "stack/*/pp-*")],
        ),
        Statement(
            Sid="ReadTemplateBucket",
            Effect=Allow,
            Action=actions("s3", "GetObject", "ListBucket"),
            Resource=[GetAtt("TemplateBucket", "Arn"), Sub("${TemplateBucket.Arn}/*")],
        ),
        Statement(
            Sid="ReadCatalogSsmParameters",
            Effect=Allow,
            Action=actions("ssm", "GetParameter", "GetParameters", "GetParametersByPath"),
            Resource=[arns.regional("ssm", "parameter" + naming.SSM_ROOT + "/*")],
        ),
    ]
    pt.template.add_resource(
        Role(
            "CloudAdminRole",
            Path=naming.PERSONA_ROLE_PATH,
            Description="Provisions Studio domains and users through Service Catalog only",
            AssumeRolePolicyDocument=_trust("CloudAdmin"),
            Policies=[
                Policy(PolicyName="service-catalog-end-user", PolicyDocument=policy(statements))
            ],
        )
    )


def _data_scientist_role(pt: ProductTemplate) -> None:
    read = Statement(
        Sid="ReadWhatStudioLaunchNeeds",
        Effect=Allow,
        Action=actions("sagemaker", "DescribeDomain", "DescribeUserProfile", "ListTags"),
        Resource=[arns.sagemaker("domain/*"), arns.sagemaker("user-profile/*/*")],
    )
    lists = Statement(
        Sid="ListingHasNoResourceScope",
        Effect=Allow,
        Action=actions("sagemaker", "ListDomains", "ListUserProfiles", "ListApps", "ListSpaces"),
        Resource=["*"],
    )
    statements = [
        presigned_url.allow_own_profile([presigned_url.profile_arn("*")]),
        read,
        lists,
    ]
    pt.template.add_resource(
        Role(
            "DataScientistRole",
            Path=naming.PERSONA_ROLE_PATH,
            Description="Opens SageMaker Studio only as the profile tagged with the caller's "
            "studiouserid principal tag",
            AssumeRolePolicyDocument=_trust("DataScientist", "TagSession"),
            Policies=[
                Policy(PolicyName="open-own-studio-profile", PolicyDocument=policy(statements))
            ],
        )
    )


def _publisher_role(pt: ProductTemplate) -> None:
    admin = actions(
        "servicecatalog",
        "CreatePortfolio",
        "UpdatePortfolio",
        "DeletePortfolio",
        "DescribePortfolio",
        "CreateProduct",
        "UpdateProduct",
        "DeleteProduct",
        "DescribeProductAsAdmin",
        "CreateProvisioningArtifact",
        "UpdateProvisioningArtifact",
        "DeleteProvisioningArtifact",
        "DescribeProvisioningArtifact",
        "ListProvisioningArtifacts",
        "AssociateProductWithPortfolio",
        "DisassociateProductFromPortfolio",
        "ListPortfoliosForProduct",
        "CreateConstraint",
        "UpdateConstraint",
        "DeleteConstraint",
        "DescribeConstraint",
        "ListConstraintsForPortfolio",
        "AssociatePrincipalWithPortfolio",
        "DisassociatePrincipalFromPortfolio",
        "ListPrincipalsForPortfolio",
        "CreateTagOption",
        "UpdateTagOption",
        "DescribeTagOption",
        "ListTagOptions",
        "AssociateTagOptionWithResource",
        "DisassociateTagOptionFromResource",
        "CreatePortfolioShare",
        "UpdatePortfolioShare",
        "DeletePortfolioShare",
        "DescribePortfolioShares",
        "DescribePortfolioShareStatus",
        "ListPortfolioAccess",
        "ListPortfolios",
        "SearchProductsAsAdmin",
    )
    statements = [
        Statement(
            Sid="AdministerCatalogPortfoliosAndProducts",
            Effect=Allow,
            Action=admin,
            Resource=[
                arns.regional("catalog", "portfolio/*"),
                arns.regional("catalog", "product/*"),
            ],
        ),
        Statement(
            Sid="CreateCatalogResourcesHasNoResourceScope",
            Effect=Allow,
            Action=actions(
                "servicecatalog",
                "CreatePortfolio",
                "CreateProduct",
                "CreateTagOption",
                "ListPortfolios",
                "SearchProductsAsAdmin",
                "ListTagOptions",
            ),
            Resource=["*"],
        ),
        Statement(
            Sid="UploadTemplates",
            Effect=Allow,
            Action=actions("s3", "PutObject", "GetObject", "ListBucket"),
            Resource=[GetAtt("TemplateBucket", "Arn"), Sub("${TemplateBucket.Arn}/*")],
        ),
        Statement(
            Sid="ReadCatalogSsmParameters",
            Effect=Allow,
            Action=actions("ssm", "GetParameter", "GetParameters"),
            Resource=[arns.regional("ssm", "parameter" + naming.SSM_ROOT + "/*")],
        ),
    ]
    pt.template.add_resource(
        Role(
            "PublisherRole",
            Path=naming.PERSONA_ROLE_PATH,
            Description="Release pipeline: publishes Studio products into Service Catalog",
            AssumeRolePolicyDocument=_trust("Publisher"),
            Policies=[Policy(PolicyName="publish-catalog", PolicyDocument=policy(statements))],
            Metadata=checkov_skip(
                CKV_AWS_111="servicecatalog:CreatePortfolio, CreateProduct and CreateTagOption "
                "support no resource scope; every other write names portfolio/product ARNs or "
                "the template bucket."
            ),
        )
    )


def drain_source() -> str:
    """The drain handler as embedded in ``Code.ZipFile``: same code, minus documentation.

    Docstrings and type annotations are for maintainers and have no effect at run time;
    stripping them through ``ast`` (rather than a minifier dependency) keeps the bootstrap
    template under the 51,200-byte limit for direct uploads.
    """
    tree = _Strip().visit(ast.parse(inspect.getsource(drain_function)))
    code = ast.unparse(ast.fix_missing_locations(tree))
    # unparse indents by exactly four spaces and, with docstrings gone, emits no multi-line
    # string literal, so one space per level is the same program.
    return "\n".join(_one_space_indent(line) for line in code.splitlines()) + "\n"


def _one_space_indent(line: str) -> str:
    stripped = line.lstrip(" ")
    return " " * ((len(line) - len(stripped)) // 4) + stripped


class _Strip(ast.NodeTransformer):
    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.returns = None
        return self._body(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        return self._body(node)

    def visit_Module(self, node: ast.Module) -> ast.Module:
        node.body = [
            n for n in node.body if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")
        ]
        return self._body(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.Assign | None:
        if node.value is None:
            return None
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)

    def _body(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        node.body = body or [ast.Pass()]
        return node


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
            PolicyDocument=policy(
                [
                    Statement(
                        Sid="ListingHasNoResourceScope",
                        Effect=Allow,
                        Action=actions("sagemaker", "ListApps", "ListSpaces"),
                        Resource=["*"],
                    ),
                    Statement(
                        Sid="DeleteStudioAppsAndSpaces",
                        Effect=Allow,
                        Action=actions("sagemaker", "DeleteApp", "DeleteSpace"),
                        Resource=[arns.sagemaker("app/*/*"), arns.sagemaker("space/*/*")],
                    ),
                    Statement(
                        Sid="WriteOwnLogs",
                        Effect=Allow,
                        Action=actions("logs", "CreateLogStream", "PutLogEvents"),
                        Resource=[Sub("${ProfileDrainLogs.Arn}")],
                    ),
                ]
            ),
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
            ReservedConcurrentExecutions=DRAIN_CONCURRENCY,
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
