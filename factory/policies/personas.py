"""The people's roles in the bootstrap stack: trust and policy documents.

* **Cloud admin**: Service Catalog end user (launch, update, terminate, watch), read of the
  template bucket and the catalog's SSM parameters, and no ``sagemaker:`` action at all.
* **Data scientist**: opens Studio only as the profile tagged with their own ``studiouserid``,
  a tag that must come from the identity provider, never from the caller; optional network
  limits on the presigned URL are explicit denies on the role itself.
* **Publisher**: Service Catalog administration for publishing, and the template bucket.

Where an action accepts only ``"*"`` (Service Authorization Reference, via
:func:`factory.audit.sar.scope_fits`), a statement scoping it to ARNs would never match:
:func:`split_by_scope` sorts actions into an ARN-scoped and a ``"*"`` statement from that data,
and refuses an action that fits neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    ForAllValuesStringEquals,
    Null,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, If, NoValue, Ref, Sub

from factory import naming
from factory.policies import arns, presigned_url
from factory.policies.actions import actions
from factory.template import policy

#: What the samples' placeholders become when a pattern is checked against the SAR's formats.
_SAMPLE = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")

#: AWS managed policy AWSServiceCatalogEndUserFullAccess (v7) and ...EndUserReadOnlyAccess:
#: what an end user needs to browse, launch, update, terminate and watch provisioned products.
END_USER_BROWSE = (
    "DescribeProduct",
    "DescribeProductView",
    "DescribeProvisioningParameters",
    "DescribeProvisioningArtifact",
    "ListLaunchPaths",
    "ListProvisioningArtifacts",
    "ListServiceActionsForProvisioningArtifact",
    "SearchProducts",
)
END_USER_WATCH = (
    "DescribeProvisionedProduct",
    "DescribeRecord",
    "ListRecordHistory",
    "ListStackInstancesForProvisionedProduct",
    "SearchProvisionedProducts",
    "ScanProvisionedProducts",
    "GetProvisionedProductOutputs",
)
END_USER_CHANGE = ("UpdateProvisionedProduct", "TerminateProvisionedProduct")

#: Service Catalog administration the publisher performs (factory/publish: every call it makes,
#: plus the reads the console shows next to them); AWSServiceCatalogAdminFullAccess grants these.
PUBLISHER_ACTIONS = (
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
    # --prune refuses to delete products still provisioned (factory/publish/plan.py)
    "SearchProvisionedProducts",
    # organization shares need Organizations access (factory/publish/plan.py preconditions)
    "GetAWSOrganizationsAccessStatus",
)


def sample_arn(pattern: str) -> str:
    """``arn:${AWS::Partition}:...`` with the pseudo parameters filled in, for SAR checks."""
    return _VARIABLE.sub(lambda m: _SAMPLE.get(m.group(1), "*"), pattern)


def split_by_scope(
    service: str, names: Sequence[str], patterns: Sequence[str]
) -> tuple[list[str], list[str]]:
    """``(scoped, star)``: actions an ARN in ``patterns`` can match, and actions that accept
    only ``"*"``. An action that accepts resource types none of ``patterns`` fits is a mistake
    in the caller's list, so it raises rather than silently widening to ``"*"``."""
    from factory.audit import sar

    scoped, star, misfits = [], [], []
    for name in names:
        action = f"{service}:{name}"
        if sar.accepts_only_star(action):
            star.append(name)
        elif any(sar.scope_fits(action, sample_arn(p)) for p in patterns):
            scoped.append(name)
        else:
            misfits.append(name)
    if misfits:
        raise ValueError(f"{service} action(s) {misfits} fit none of {list(patterns)}")
    return scoped, star


def _scoped_pair(
    service: str, names: Sequence[str], patterns: Sequence[str], sid: str, star_sid: str
) -> list[Statement]:
    scoped, star = split_by_scope(service, names, patterns)
    found = []
    if scoped:
        resources = [Sub(p) for p in patterns]
        found.append(
            Statement(Sid=sid, Effect=Allow, Action=actions(service, *scoped), Resource=resources)
        )
    if star:
        found.append(
            Statement(Sid=star_sid, Effect=Allow, Action=actions(service, *star), Resource=["*"])
        )
    return found


# --- trust -------------------------------------------------------------------------------


def _trusted_root(persona: str) -> Any:
    account = If(f"{persona}SameAccount", Ref("AWS::AccountId"), Ref(f"{persona}TrustAccountId"))
    return Sub("arn:${AWS::Partition}:iam::${Account}:root", Account=account)


def _named_principal(persona: str) -> dict[str, Any]:
    return {"aws:PrincipalArn": Ref(f"{persona}PrincipalArnPattern")}


def trust(persona: str) -> dict[str, Any]:
    """Trust of a role assumed with ``sts:AssumeRole`` by principals of one account, optionally
    only those matching ``<persona>PrincipalArnPattern``."""
    root = Principal("AWS", _trusted_root(persona))
    assume = actions("sts", "AssumeRole")
    named = Statement(
        Sid="AssumedByNamedPrincipals",
        Effect=Allow,
        Principal=root,
        Action=assume,
        Condition=Condition(ArnLike(_named_principal(persona))),
    )
    anyone = Statement(Sid="AssumedByTrustedAccount", Effect=Allow, Principal=root, Action=assume)
    return policy([If(f"{persona}AnyPrincipal", anyone, named)])


def _tagged_caller(persona: str, named: bool) -> list[Any]:
    """Conditions of an AssumeRole/TagSession by a caller whose own studiouserid principal tag
    came from the identity provider (Identity Center attributes for access control, or a SAML
    ``PrincipalTag:studiouserid`` attribute)."""
    tag = naming.USER_TAG
    found: list[Any] = [Null({f"aws:PrincipalTag/{tag}": "false"})]
    if named:
        found.append(ArnLike(_named_principal(persona)))
    return found


def data_scientist_trust(saml_condition: str = "HasDataScientistSamlProvider") -> dict[str, Any]:
    """A data scientist's ``studiouserid`` comes from the identity provider, never the caller.

    * ``sts:AssumeRole`` only for callers that already carry a ``studiouserid`` principal tag.
    * ``sts:TagSession`` only to pass that same value on (``aws:RequestTag`` equals
      ``${aws:PrincipalTag/...}``) and no other tag key: a caller cannot name someone else.
    * Optional SAML federation: the tag then comes from the IdP-signed assertion.
    """
    persona, tag = "DataScientist", naming.USER_TAG
    root = Principal("AWS", _trusted_root(persona))
    own_tag_only = [
        StringEquals({f"aws:RequestTag/{tag}": f"${{aws:PrincipalTag/{tag}}}"}),
        ForAllValuesStringEquals({"aws:TagKeys": [tag]}),
    ]

    def pair(named: bool) -> list[Statement]:
        return [
            Statement(
                Sid="AssumedOnlyByCallersTaggedByTheirIdentityProvider",
                Effect=Allow,
                Principal=root,
                Action=actions("sts", "AssumeRole"),
                Condition=Condition(_tagged_caller(persona, named)),
            ),
            Statement(
                Sid="SessionTagOnlyTheCallersOwnStudioUserId",
                Effect=Allow,
                Principal=root,
                Action=actions("sts", "TagSession"),
                Condition=Condition([*_tagged_caller(persona, named), *own_tag_only]),
            ),
        ]

    anyone, named = pair(False), pair(True)
    statements: list[Any] = [
        If(f"{persona}AnyPrincipal", a, n) for a, n in zip(anyone, named, strict=True)
    ]
    saml = Statement(
        Sid="FederatedThroughTheSamlIdentityProvider",
        Effect=Allow,
        Principal=Principal("Federated", Ref("DataScientistSamlProviderArn")),
        Action=actions("sts", "AssumeRoleWithSAML", "TagSession"),
        Condition=Condition(StringEquals({"SAML:aud": "https://signin.aws.amazon.com/saml"})),
    )
    statements.append(If(saml_condition, saml, NoValue))
    return policy(statements)


# --- policies ----------------------------------------------------------------------------


def _bucket_read(sid: str, *names: str) -> Statement:
    return Statement(
        Sid=sid,
        Effect=Allow,
        Action=actions("s3", *names),
        Resource=[GetAtt("TemplateBucket", "Arn"), Sub("${TemplateBucket.Arn}/*")],
    )


def cloud_admin_statements() -> list[Statement]:
    """Service Catalog end user, and nothing of SageMaker: not even read. Plus the reads
    `studio-factory users` makes besides Service Catalog: the identity store (its own
    account's store, every group, user and membership in it: the command picks the group at
    run time) and the SageMaker quotas (Service Quotas accepts only "*" for these reads)."""
    product = "arn:${AWS::Partition}:catalog:${AWS::Region}:${AWS::AccountId}:product/*"
    return [
        Statement(
            Sid="BrowseTheCatalog",
            Effect=Allow,
            Action=actions("servicecatalog", *END_USER_BROWSE),
            Resource=["*"],
        ),
        *_scoped_pair(
            "servicecatalog",
            ["ProvisionProduct"],
            [product],
            "LaunchCatalogProducts",
            "LaunchCatalogProductsHasNoResourceScope",
        ),
        Statement(
            Sid="WatchProvisionedProducts",
            Effect=Allow,
            Action=actions("servicecatalog", *END_USER_WATCH),
            Resource=["*"],
        ),
        Statement(
            # Service Authorization Reference: both accept only "*"; Service Catalog itself
            # limits them to provisioned products the caller may access (portfolio access).
            Sid="UpdateAndTerminateProvisionedProductsHasNoResourceScope",
            Effect=Allow,
            Action=actions("servicecatalog", *END_USER_CHANGE),
            Resource=["*"],
        ),
        Statement(
            # AWSServiceCatalogEndUserReadOnlyAccess: stack events behind a provisioned product.
            Sid="WatchServiceCatalogStacks",
            Effect=Allow,
            Action=actions(
                "cloudformation", "DescribeStackEvents", "DescribeStacks", "ListStackResources"
            ),
            Resource=[arns.regional("cloudformation", "stack/SC-*")],
        ),
        _bucket_read("ReadTemplateBucket", "GetObject", "ListBucket"),
        Statement(
            Sid="ReadCatalogSsmParameters",
            Effect=Allow,
            Action=actions("ssm", "GetParameter", "GetParameters", "GetParametersByPath"),
            Resource=[arns.regional("ssm", "parameter" + naming.SSM_ROOT + "/*")],
        ),
        *_identity_center_and_quota_reads(),
    ]


#: `studio-factory users sync --identity-center-group`: the group's id, its members, each
#: member's user name (IAM Identity Center identity store, read only).
IDENTITY_STORE_READS = ("GetGroupId", "ListGroupMemberships", "DescribeUser")
#: `studio-factory users import`: the SageMaker user-profile quota (applied, else default).
QUOTA_READS = ("ListServiceQuotas", "ListAWSDefaultServiceQuotas")


def _identity_center_and_quota_reads() -> list[Statement]:
    """Resources as narrow as the Service Authorization Reference's resource types allow:
    the identity store's ARN carries its account (this one); group, user and membership ARNs
    carry no account or store. Service Quotas' list actions take no resource type, so they
    land in a ``HasNoResourceScope`` statement (if the SAR ever gives them the ``quota``
    type, only SageMaker's quotas fit)."""
    identity = "arn:${AWS::Partition}:identitystore::"
    quota = "arn:${AWS::Partition}:servicequotas:${AWS::Region}:${AWS::AccountId}:sagemaker/*"
    return [
        *_scoped_pair(
            "identitystore",
            IDENTITY_STORE_READS,
            [
                identity + "${AWS::AccountId}:identitystore/*",
                identity + ":group/*",
                identity + ":user/*",
                identity + ":membership/*",
            ],
            "ReadIdentityCenterGroupMembers",
            "ReadIdentityCenterGroupMembersHasNoResourceScope",
        ),
        *_scoped_pair(
            "servicequotas",
            QUOTA_READS,
            [quota],
            "ReadSageMakerQuotas",
            "ReadServiceQuotasHasNoResourceScope",
        ),
    ]


def data_scientist_statements(
    cidrs_condition: str = "RestrictPresignedUrlSourceIp",
    vpce_condition: str = "RestrictPresignedUrlVpce",
) -> list[Any]:
    """Open Studio as one's own profile; the optional network limits are explicit denies on
    this role (where they apply), not in a managed policy nobody attaches."""
    return [
        presigned_url.allow_own_profile([presigned_url.profile_arn("*")]),
        Statement(
            Sid="ReadWhatStudioLaunchNeeds",
            Effect=Allow,
            Action=actions("sagemaker", "DescribeDomain", "DescribeUserProfile", "ListTags"),
            Resource=[arns.sagemaker("domain/*"), arns.sagemaker("user-profile/*/*")],
        ),
        Statement(
            Sid="ListingHasNoResourceScope",
            Effect=Allow,
            Action=actions(
                "sagemaker", "ListDomains", "ListUserProfiles", "ListApps", "ListSpaces"
            ),
            Resource=["*"],
        ),
        *presigned_url.network_denies(
            Ref("PresignedUrlAllowedCidrs"),
            Ref("PresignedUrlAllowedVpceIds"),
            cidrs_condition,
            vpce_condition,
        ),
    ]


def publisher_statements(launch_role_arn: Any) -> list[Statement]:
    """Publish products, constraints and shares; upload templates; nothing else."""
    catalog = "arn:${AWS::Partition}:catalog:${AWS::Region}:${AWS::AccountId}:"
    return [
        *_scoped_pair(
            "servicecatalog",
            PUBLISHER_ACTIONS,
            [catalog + "portfolio/*", catalog + "product/*"],
            "AdministerCatalogPortfoliosAndProducts",
            "CreateCatalogResourcesHasNoResourceScope",
        ),
        Statement(
            # AWSServiceCatalogAdminFullAccess: Service Catalog validates a new version's
            # template with the caller's permissions.
            Sid="ValidateTemplatesHasNoResourceScope",
            Effect=Allow,
            Action=actions("cloudformation", "ValidateTemplate", "GetTemplateSummary"),
            Resource=["*"],
        ),
        Statement(
            # Launch constraints by LocalRoleName are checked against the role (GetRole) and
            # Service Catalog is handed the role (PassRole), as AWSServiceCatalogAdminFullAccess
            # grants; only the launch role, and only to Service Catalog.
            Sid="ConstrainLaunchesToTheLaunchRole",
            Effect=Allow,
            Action=actions("iam", "GetRole"),
            Resource=[launch_role_arn],
        ),
        Statement(
            Sid="PassTheLaunchRoleToServiceCatalogOnly",
            Effect=Allow,
            Action=actions("iam", "PassRole"),
            Resource=[launch_role_arn],
            Condition=Condition(
                StringEquals({"iam:PassedToService": "servicecatalog.amazonaws.com"})
            ),
        ),
        Statement(
            # head_object (GetObject, ListBucket for a clean 404) and put_object in
            # factory/publish/apply.py; Service Catalog reads the template as the caller.
            Sid="UploadTemplates",
            Effect=Allow,
            Action=actions("s3", "PutObject", "GetObject", "ListBucket"),
            Resource=[GetAtt("TemplateBucket", "Arn"), Sub("${TemplateBucket.Arn}/*")],
        ),
        Statement(
            # The per-region publish lock (factory/publish/lock.py) is released with a
            # conditional DeleteObject; nothing else in the bucket may be deleted.
            Sid="ReleaseThePublishLock",
            Effect=Allow,
            Action=actions("s3", "DeleteObject"),
            Resource=[Sub("${TemplateBucket.Arn}/" + naming.PUBLISH_LOCK_PREFIX + "*")],
        ),
        Statement(
            Sid="ReadBootstrapSsmParameters",
            Effect=Allow,
            Action=actions("ssm", "GetParameter", "GetParameters"),
            Resource=[arns.regional("ssm", "parameter" + naming.BOOTSTRAP_SSM_PREFIX + "/*")],
        ),
        Statement(
            # The coverage check after a plan (factory/publish/coverage.py): which shared
            # accounts have a bootstrap stack instance. Only the bootstrap StackSet, by the
            # name `bootstrap` gives this stack (SAR: stackset/Name:Id), in any region and
            # account: the StackSet lives in the administration region, and a service-managed
            # one in the management account even when a delegated administrator created it
            # (botocore model, CreateStackSetInput.CallAs).
            Sid="ReadBootstrapStackInstances",
            Effect=Allow,
            Action=actions("cloudformation", "ListStackInstances"),
            Resource=[
                Sub(
                    "arn:${AWS::Partition}:cloudformation:*:*:stackset/${Name}:*",
                    Name=Ref(naming.STACK_SET_NAME_PARAMETER),
                )
            ],
        ),
        Statement(
            # The accounts below a shared OU or organization (factory.rollout.state's
            # reader). Organizations ARNs name the management account and organization id,
            # unknown here; these reads accept "*" (DescribeOrganization, ListRoots: only "*").
            Sid="ReadTheAccountsOfSharedOrganizationNodesHasNoResourceScope",
            Effect=Allow,
            Action=actions(
                "organizations",
                "DescribeOrganization",
                "ListRoots",
                "ListAccountsForParent",
                "ListOrganizationalUnitsForParent",
            ),
            Resource=["*"],
        ),
    ]
