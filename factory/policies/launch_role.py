"""The launch role's policy: what Service Catalog may do, as this role, to run a Studio product.

Service Catalog assumes the launch role (a launch constraint) and runs the product's
CloudFormation stack with it, so the role needs (1) what Service Catalog itself needs to launch
(Service Catalog Administrator Guide, "Launch constraints": CloudFormation on ``SC-*`` stacks and
``s3:GetObject`` on the copy of the template Service Catalog keeps in its own bucket), and
(2) every permission the CloudFormation registry handlers of the products' resource types list
(``handlers.{create,read,update,delete}.permissions`` and ``tagging.permissions`` in the
schemas cfn-lint ships; ``studio-factory audit`` derives and checks them), scoped as tightly as
the Service Authorization Reference allows:

* IAM: roles only under :data:`naming.EXECUTION_ROLE_PATH` and only with the permissions
  boundary; managed policies only under :data:`naming.POLICY_PATH`; the boundary (and the
  launch role's own managed policy) live under :data:`naming.BOOTSTRAP_POLICY_PATH`, outside
  every pattern the role may change, and an explicit Deny keeps them unmodifiable whatever
  else is granted.
* KMS: key management only on keys tagged ``naming.MANAGED_BY_TAG=naming.MANAGED_BY_VALUE``
  (the keys the products create); a customer-given key only through SageMaker
  (``kms:ViaService``).

Documents only: :mod:`factory.launch.bootstrap` attaches them, :func:`statements` inline and
:func:`network_and_directory_statements` as a managed policy, so the role stays well
under IAM's 10,240-character inline quota in every partition (``aws-us-gov`` ARNs are longer).
Arguments are the template values (intrinsics) the statements refer to.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    Condition,
    Deny,
    ForAnyValueStringEquals,
    Statement,
    StringEquals,
    StringLike,
    StringNotEquals,
)
from troposphere import Sub

from factory import naming
from factory.policies import arns
from factory.policies.actions import actions

#: Admin Guide, "Launch constraints" (servicecatalog/latest/adminguide/constraints-launch.html):
#: Service Catalog provisions from its own copy of the template, which it tags like this.
SERVICE_CATALOG_TEMPLATE_TAG = "s3:ExistingObjectTag/servicecatalog:provisioning"

#: The service-linked role SageMaker creates with the first domain of an account (Developer
#: Guide, "Using service-linked roles for SageMaker AI"; CreateDomain's registry handler lists
#: iam:CreateServiceLinkedRole).
SAGEMAKER_NOTEBOOKS_SLR = (
    "role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleForAmazonSageMakerNotebooks"
)

#: Key operations on keys the products create, from the AWS::KMS::Key and AWS::KMS::Alias
#: registry handlers (create, read, update, delete, tagging) plus the AWS::SageMaker::Domain
#: create handler's key use. Dropped as never used: GenerateDataKey (no handler lists it).
MANAGED_KEY_ACTIONS = (
    "DescribeKey",
    "GetKeyPolicy",
    "PutKeyPolicy",
    "EnableKey",
    "DisableKey",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "GetKeyRotationStatus",
    "UpdateKeyDescription",
    "TagResource",
    "UntagResource",
    "ListResourceTags",
    "ScheduleKeyDeletion",
    "CreateGrant",
    "Decrypt",
    "GenerateDataKeyWithoutPlaintext",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
)

#: What CreateDomain does with the domain's key (registry handler of AWS::SageMaker::Domain,
#: and the Service Authorization Reference's dependent actions of sagemaker:CreateDomain).
DOMAIN_KEY_USE_ACTIONS = (
    "DescribeKey",
    "CreateGrant",
    "Decrypt",
    "GenerateDataKeyWithoutPlaintext",
)

#: IAM actions that change a managed policy's content or existence.
POLICY_CHANGING_ACTIONS = (
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeletePolicy",
    "TagPolicy",
    "UntagPolicy",
)


def _managed_key_condition() -> dict[str, str]:
    return {f"aws:ResourceTag/{naming.MANAGED_BY_TAG}": naming.MANAGED_BY_VALUE}


def _request_tag_condition() -> dict[str, str]:
    return {f"aws:RequestTag/{naming.MANAGED_BY_TAG}": naming.MANAGED_BY_VALUE}


def execution_roles() -> Sub:
    return arns.global_("iam", "role" + naming.EXECUTION_ROLE_PATH + "*")


def product_policies() -> Sub:
    return arns.global_("iam", "policy" + naming.POLICY_PATH + "*")


def bootstrap_policies() -> Sub:
    return arns.global_("iam", "policy" + naming.BOOTSTRAP_POLICY_PATH + "*")


def service_catalog_statements() -> list[Statement]:
    """What Service Catalog needs from the launch role to run the product's stack."""
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
            Resource=[arns.regional("cloudformation", "stack/SC-*")],
        ),
        Statement(
            Sid="ValidateTemplatesHasNoResourceScope",
            Effect=Allow,
            Action=actions("cloudformation", "ValidateTemplate", "GetTemplateSummary"),
            Resource=["*"],
        ),
        Statement(
            # Admin Guide, "Launch constraints": the copy lives in a bucket Service Catalog
            # owns, so no bucket ARN can name it; the object tag is what identifies it.
            Sid="ReadServiceCatalogTemplateCopies",
            Effect=Allow,
            Action=actions("s3", "GetObject"),
            Resource=["*"],
            Condition=Condition(StringEquals({SERVICE_CATALOG_TEMPLATE_TAG: "true"})),
        ),
    ]


def sagemaker_statements() -> list[Statement]:
    resources = [
        arns.sagemaker(r)
        for r in (
            "domain/*",
            "user-profile/*/*",
            "space/*/*",
            "app/*/*",
            "studio-lifecycle-config/*",
        )
    ]
    return [
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
                # The Domain handler creates/deletes the domain's default apps.
                "CreateApp",
                "DeleteApp",
                "DescribeApp",
                "CreateStudioLifecycleConfig",
                "DeleteStudioLifecycleConfig",
                "DescribeStudioLifecycleConfig",
                "AddTags",
                "DeleteTags",
                "ListTags",
            ),
            Resource=resources,
        ),
        Statement(
            Sid="ReadStudioImages",
            Effect=Allow,
            Action=actions("sagemaker", "DescribeImage", "DescribeImageVersion"),
            Resource=[arns.sagemaker("image/*"), arns.sagemaker("image-version/*/*")],
        ),
        Statement(
            Sid="FirstDomainCreatesSageMakerServiceLinkedRole",
            Effect=Allow,
            Action=actions("iam", "CreateServiceLinkedRole"),
            Resource=[arns.global_("iam", SAGEMAKER_NOTEBOOKS_SLR)],
            Condition=Condition(StringEquals({"iam:AWSServiceName": "sagemaker.amazonaws.com"})),
        ),
    ]


def identity_center_statements() -> list[Statement]:
    """AWS::SageMaker::UserProfile handlers in SSO domains resolve the Identity Center user."""
    return [
        Statement(
            # AWS::SageMaker::UserProfile handlers (SSO domains resolve the Identity Center
            # user). The identity store may belong to the organization's management account.
            Sid="ResolveIdentityCenterUsersForSsoProfiles",
            Effect=Allow,
            Action=[
                *actions("sso", "DescribeInstance"),
                *actions("identitystore", "DescribeUser", "ListUsers"),
            ],
            Resource=[
                Sub("arn:${AWS::Partition}:sso:::instance/*"),
                Sub("arn:${AWS::Partition}:identitystore::*:identitystore/*"),
                Sub("arn:${AWS::Partition}:identitystore:::user/*"),
            ],
        ),
        Statement(
            Sid="ListIdentityCenterInstancesHasNoResourceScope",
            Effect=Allow,
            Action=actions("sso", "ListInstances"),
            Resource=["*"],
        ),
        Statement(
            # identitystore:DescribeUser/ListUsers list kms:Decrypt as a dependent action (an
            # Identity Center store encrypted with a customer key, possibly the management
            # account's): only through Identity Store.
            Sid="ReadIdentityStoreKeysOnlyThroughIdentityStore",
            Effect=Allow,
            Action=actions("kms", "Decrypt"),
            Resource=[Sub("arn:${AWS::Partition}:kms:*:*:key/*")],
            Condition=Condition(StringLike({"kms:ViaService": "identitystore.*.amazonaws.com"})),
        ),
    ]


def efs_statements() -> list[Statement]:
    return [
        Statement(
            # AWS::SageMaker::Domain handlers list EFS calls (as "efs:"): a Studio Classic domain's
            # home volume. SageMaker makes them on the caller's behalf (forward access session,
            # aws:ViaAWSService), so they are allowed only that way, never directly.
            Sid="ClassicDomainEfsOnlyThroughSageMaker",
            Effect=Allow,
            Action=actions(
                "elasticfilesystem",
                "DescribeMountTargets",
                "DeleteMountTarget",
                "DeleteFileSystem",
                "TagResource",
                "UntagResource",
            ),
            Resource=[arns.regional("elasticfilesystem", "file-system/*")],
            Condition=Condition(Bool({"aws:ViaAWSService": "true"})),
        ),
        Statement(
            Sid="CreateClassicDomainEfsHasNoResourceScope",
            Effect=Allow,
            Action=actions("elasticfilesystem", "CreateFileSystem"),
            Resource=["*"],
            Condition=Condition(Bool({"aws:ViaAWSService": "true"})),
        ),
    ]


def network_statements() -> list[Statement]:
    return [
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
                "UpdateSecurityGroupRuleDescriptionsIngress",
                "UpdateSecurityGroupRuleDescriptionsEgress",
                "CreateTags",
                "DeleteTags",
            ),
            Resource=[arns.regional("ec2", "security-group/*"), arns.regional("ec2", "vpc/*")],
        ),
        Statement(
            # The network product (AWS::EC2::VPC, Subnet, RouteTable, VPCEndpoint handlers in
            # the registry schemas bundled in cfn-lint): this account and region only, like
            # the security groups above.
            Sid="StudioNetworks",
            Effect=Allow,
            Action=actions(
                "ec2",
                "CreateVpc",
                "DeleteVpc",
                "ModifyVpcAttribute",
                "DescribeVpcAttribute",
                "CreateSubnet",
                "DeleteSubnet",
                "ModifySubnetAttribute",
                "CreateRouteTable",
                "DeleteRouteTable",
                "AssociateRouteTable",
                "DisassociateRouteTable",
                "ReplaceRouteTableAssociation",
                "CreateVpcEndpoint",
                "ModifyVpcEndpoint",
                "DeleteVpcEndpoints",
                "CreateTags",
                "DeleteTags",
            ),
            Resource=[
                arns.regional("ec2", f"{kind}/*")
                for kind in ("vpc", "subnet", "route-table", "vpc-endpoint", "security-group")
            ],
        ),
        Statement(
            # SAR: ec2:CreateVpcEndpoint depends on it for private DNS (interface endpoints).
            Sid="EndpointPrivateDns",
            Effect=Allow,
            Action=actions("route53", "AssociateVPCWithHostedZone"),
            Resource=[Sub("arn:${AWS::Partition}:route53:::hostedzone/*")],
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
                # AWS::EC2::SecurityGroup delete handler (waits for attached instances).
                "DescribeInstances",
                # AWS::EC2::VPC / Subnet read handlers.
                "DescribeNetworkAcls",
                "DescribeVpcEncryptionControls",
            ),
            Resource=["*"],
        ),
    ]


def kms_statements() -> list[Statement]:
    """Keys the products create carry the managed-by tag; only those may be managed.

    A customer-given domain key carries no such tag: CreateDomain uses it through SageMaker
    (forward access sessions set ``kms:ViaService``), so that use is allowed only via SageMaker.
    """
    keys = arns.regional("kms", "key/*")
    via_sagemaker = {"kms:ViaService": Sub("sagemaker.${AWS::Region}.amazonaws.com")}
    return [
        Statement(
            Sid="CreateDomainKeysHasNoResourceScope",
            Effect=Allow,
            Action=actions("kms", "CreateKey"),
            Resource=["*"],
            Condition=Condition(
                [
                    StringEquals(_request_tag_condition()),
                    ForAnyValueStringEquals({"aws:TagKeys": [naming.MANAGED_BY_TAG]}),
                ]
            ),
        ),
        Statement(
            # CreateKey with Tags also checks kms:TagResource (dependent action), and the
            # AWS::KMS::Key create handler tags the new key: only with the managed-by tag.
            Sid="TagNewKeysAsManagedByTheCatalog",
            Effect=Allow,
            Action=actions("kms", "TagResource"),
            Resource=[keys],
            Condition=Condition(StringEquals(_request_tag_condition())),
        ),
        Statement(
            Sid="ManageOnlyKeysTheProductsCreated",
            Effect=Allow,
            Action=actions("kms", *MANAGED_KEY_ACTIONS),
            Resource=[keys],
            Condition=Condition(StringEquals(_managed_key_condition())),
        ),
        Statement(
            # Alias operations are authorised on the alias and on the key (KMS API Reference,
            # CreateAlias/UpdateAlias/DeleteAlias); the key side is the statement above.
            Sid="StudioKeyAliases",
            Effect=Allow,
            Action=actions("kms", "CreateAlias", "UpdateAlias", "DeleteAlias"),
            Resource=[arns.regional("kms", "alias/sagemaker-studio/*")],
        ),
        Statement(
            Sid="ReadAliasesHasNoResourceScope",
            Effect=Allow,
            Action=actions("kms", "ListAliases"),
            Resource=["*"],
        ),
        Statement(
            Sid="UseAGivenDomainKeyOnlyThroughSageMaker",
            Effect=Allow,
            Action=actions("kms", *DOMAIN_KEY_USE_ACTIONS),
            Resource=[keys],
            Condition=Condition(StringEquals(via_sagemaker)),
        ),
    ]


def ssm_statements() -> list[Statement]:
    return [
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
    ]


def iam_statements(boundary_arn: Any) -> list[Statement]:
    """Roles and policies the products create, never more than the boundary allows."""
    with_boundary = {"iam:PermissionsBoundary": boundary_arn}
    return [
        Statement(
            Sid="CreateRolesOnlyWithBoundaryUnderCatalogPath",
            Effect=Allow,
            Action=actions("iam", "CreateRole", "PutRolePermissionsBoundary"),
            Resource=[execution_roles()],
            Condition=Condition(StringEquals(with_boundary)),
        ),
        Statement(
            Sid="ManageCatalogExecutionRoles",
            Effect=Allow,
            Action=actions(
                "iam",
                "DeleteRole",
                "GetRole",
                "UpdateRole",
                "UpdateRoleDescription",
                "UpdateAssumeRolePolicy",
                "TagRole",
                "UntagRole",
                "ListRoleTags",
                "PutRolePolicy",
                "DeleteRolePolicy",
                "GetRolePolicy",
                "ListRolePolicies",
                "ListAttachedRolePolicies",
            ),
            Resource=[execution_roles()],
        ),
        Statement(
            # AWS::IAM::Role update and AWS::IAM::ManagedPolicy create/update/delete handlers.
            Sid="AttachOnlyCatalogPoliciesToBoundedCatalogRoles",
            Effect=Allow,
            Action=actions("iam", "AttachRolePolicy", "DetachRolePolicy"),
            Resource=[execution_roles()],
            Condition=Condition(
                [StringEquals(with_boundary), ArnLike({"iam:PolicyARN": product_policies()})]
            ),
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
                "ListEntitiesForPolicy",
            ),
            Resource=[product_policies()],
        ),
        Statement(
            Sid="PassOnlyCatalogAndNamedTeamRolesToSageMaker",
            Effect=Allow,
            Action=actions("iam", "PassRole"),
            Resource=[execution_roles()],
            Condition=Condition(StringEquals({"iam:PassedToService": "sagemaker.amazonaws.com"})),
        ),
    ]


def boundary_guard_statements(boundary_arn: Any) -> list[Statement]:
    """Explicit denies: whatever an Allow grants, the ceiling of product roles stays put."""
    return [
        Statement(
            Sid="NeverChangeTheBoundaryOrOwnPolicies",
            Effect=Deny,
            Action=actions("iam", *POLICY_CHANGING_ACTIONS),
            Resource=[boundary_arn, bootstrap_policies()],
        ),
        Statement(
            Sid="NeverRemoveARolesBoundary",
            Effect=Deny,
            Action=actions("iam", "DeleteRolePermissionsBoundary"),
            Resource=["*"],
        ),
        Statement(
            Sid="NeverSetAnotherBoundary",
            Effect=Deny,
            Action=actions("iam", "PutRolePermissionsBoundary"),
            Resource=["*"],
            Condition=Condition(StringNotEquals({"iam:PermissionsBoundary": boundary_arn})),
        ),
    ]


def drain_statement(function_arn: Any) -> Statement:
    return Statement(
        Sid="InvokeOnlyTheProfileDrainFunction",
        Effect=Allow,
        Action=actions("lambda", "InvokeFunction"),
        Resource=[function_arn],
    )


def team_pass_statement(team_role_arns: Any) -> Statement:
    return Statement(
        Sid="PassNamedTeamRolesToSageMaker",
        Effect=Allow,
        Action=actions("iam", "PassRole"),
        Resource=team_role_arns,
        Condition=Condition(StringEquals({"iam:PassedToService": "sagemaker.amazonaws.com"})),
    )


def statements(boundary_arn: Any, drain_function_arn: Any) -> list[Statement]:
    """The launch role's inline statements, in reading order."""
    return [
        *service_catalog_statements(),
        *sagemaker_statements(),
        *kms_statements(),
        *efs_statements(),
        *ssm_statements(),
        *iam_statements(boundary_arn),
        *boundary_guard_statements(boundary_arn),
        drain_statement(drain_function_arn),
    ]


def network_and_directory_statements() -> list[Statement]:
    """Security groups and Identity Center reads: the launch role's managed policy."""
    return [*network_statements(), *identity_center_statements()]
