"""Least-privilege permissions for a Studio execution role (team-level or per person).

Studio (new) calls SageMaker with the execution role's credentials, so the role needs to
manage its own spaces and apps in its domain, run the usual jobs, read and write the
SageMaker SDK's default bucket, log, pull its account's images and use the domain key.
Writes are scoped to ARNs; only List/Describe-style reads that IAM cannot scope use "*".
"""

from __future__ import annotations

from typing import Any

from awacs.aws import (
    Allow,
    ArnEquals,
    Condition,
    Null,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import Sub

from factory.policies import arns
from factory.policies.actions import actions


def _sm(resource: str, domain_id: Any, **variables: Any) -> Sub:
    """A SageMaker ARN in ``domain_id``; a literal domain (the boundary's ``*``) is written
    into the text, so the emitted ``Fn::Sub`` carries no variable map for it."""
    if isinstance(domain_id, str):
        resource = resource.replace("${DomainId}", domain_id)
    elif "${DomainId}" in resource:
        variables["DomainId"] = domain_id
    return arns.sagemaker(resource, **variables)


#: IAM policy variable naming the person behind a Studio session. The domain product sets
#: ``DomainSettings.ExecutionRoleIdentityConfig: USER_PROFILE_NAME``, which attaches "a
#: SageMaker AI user profile name to the execution role as a sts:SourceIdentity key"
#: (SageMaker API Reference, DomainSettings.ExecutionRoleIdentityConfig); once set, a
#: source identity cannot be changed by the session (IAM User Guide, "Monitor and control
#: actions taken with assumed roles"). ``${!...}`` keeps Fn::Sub from expanding it.
SOURCE_IDENTITY = "${!aws:SourceIdentity}"

#: Condition keys SageMaker sends with space and app writes (Service Authorization
#: Reference: CreateSpace, UpdateSpace, DeleteSpace, CreateApp, DeleteApp all list both).
OWNER_KEY = "sagemaker:OwnerUserProfileArn"
SHARING_KEY = "sagemaker:SpaceSharingType"


def owner_profile_arn(domain_id: Any, owner: Any = None) -> Sub:
    """ARN of the profile that may own spaces: ``owner`` (a profile name, e.g. a
    ``Ref``) or, by default, the session's source identity (the profile name)."""
    if owner is None:
        return _sm(f"user-profile/${{DomainId}}/{SOURCE_IDENTITY}", domain_id)
    return _sm("user-profile/${DomainId}/${Owner}", domain_id, Owner=owner)


def studio_statements(domain_id: Any, owner: Any = None) -> list[Statement]:
    """Spaces and apps of one domain, isolated per person; domain and profiles read-only.

    Follows the SageMaker Developer Guide, "Give your users access to spaces"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-jl-admin-guide-permissions.html):
    space writes only where ``sagemaker:OwnerUserProfileArn`` is the caller's profile, apps in
    private spaces only for their owner, apps in shared spaces for everyone in the domain.
    ``owner`` is the person's profile name for a per-person role; ``None`` (a shared team
    role, and the boundary) uses the session's source identity instead, so alice's session
    cannot delete bob's private space even though both run as the same role. Apps outside
    any space (e.g. Canvas) carry no owner key: they are scoped to the caller's own
    ``app/<domain>/<profile>/...`` ARNs.
    """
    me = owner_profile_arn(domain_id, owner)
    name = SOURCE_IDENTITY if owner is None else "${Owner}"
    own_apps = _sm(
        f"app/${{DomainId}}/{name}/*", domain_id, **({} if owner is None else {"Owner": owner})
    )
    spaces = _sm("space/${DomainId}/*", domain_id)
    apps = _sm("app/${DomainId}/*", domain_id)
    app_writes = actions("sagemaker", "CreateApp", "DeleteApp")
    return [
        Statement(
            Sid="OwnSpacesOnly",
            Effect=Allow,
            Action=actions("sagemaker", "CreateSpace", "UpdateSpace", "DeleteSpace"),
            Resource=[spaces],
            Condition=Condition(ArnEquals({OWNER_KEY: me})),
        ),
        Statement(
            Sid="AppsInOwnPrivateSpaces",
            Effect=Allow,
            Action=app_writes,
            Resource=[apps],
            Condition=Condition(
                [ArnEquals({OWNER_KEY: me}), StringEquals({SHARING_KEY: "Private"})]
            ),
        ),
        Statement(
            Sid="AppsInSharedSpaces",
            Effect=Allow,
            Action=app_writes,
            Resource=[apps],
            Condition=Condition(StringEquals({SHARING_KEY: "Shared"})),
        ),
        Statement(
            Sid="OwnAppsOutsideSpaces",
            Effect=Allow,
            Action=app_writes,
            Resource=[own_apps],
            Condition=Condition(Null({OWNER_KEY: "true"})),
        ),
        Statement(
            Sid="TagSpacesAndAppsOnCreate",
            Effect=Allow,
            Action=actions("sagemaker", "AddTags"),
            Resource=[apps, spaces],
            Condition=Condition(Null({"sagemaker:TaggingAction": "false"})),
        ),
        Statement(
            Sid="ReadDomainSpacesAppsProfiles",
            Effect=Allow,
            Action=actions(
                "sagemaker",
                "DescribeApp",
                "DescribeSpace",
                "ListTags",
                "DescribeDomain",
                "DescribeUserProfile",
            ),
            Resource=[
                apps,
                spaces,
                _sm("domain/${DomainId}", domain_id),
                _sm("user-profile/${DomainId}/*", domain_id),
            ],
        ),
    ]


_JOB_RESOURCES = (
    "training-job/*",
    "processing-job/*",
    "transform-job/*",
    "hyper-parameter-tuning-job/*",
    "model/*",
    "experiment/*",
    "experiment-trial/*",
    "experiment-trial-component/*",
)


def job_statements() -> list[Statement]:
    return [
        Statement(
            Sid="RunDataScienceJobs",
            Effect=Allow,
            Action=actions(
                "sagemaker",
                "CreateTrainingJob",
                "DescribeTrainingJob",
                "StopTrainingJob",
                "CreateProcessingJob",
                "DescribeProcessingJob",
                "StopProcessingJob",
                "CreateTransformJob",
                "DescribeTransformJob",
                "StopTransformJob",
                "CreateHyperParameterTuningJob",
                "DescribeHyperParameterTuningJob",
                "StopHyperParameterTuningJob",
                "CreateModel",
                "DescribeModel",
                "CreateExperiment",
                "DescribeExperiment",
                "CreateTrial",
                "DescribeTrial",
                "CreateTrialComponent",
                "DescribeTrialComponent",
                "UpdateTrialComponent",
                "AssociateTrialComponent",
                "AddTags",
            ),
            Resource=[arns.sagemaker(r) for r in _JOB_RESOURCES],
        ),
        Statement(
            Sid="ListAndSearchNotScopableByResource",
            Effect=Allow,
            Action=actions(
                "sagemaker",
                "ListApps",
                "ListSpaces",
                "ListDomains",
                "ListUserProfiles",
                "ListTrainingJobs",
                "ListProcessingJobs",
                "ListTransformJobs",
                "ListHyperParameterTuningJobs",
                "ListModels",
                "ListExperiments",
                "ListTrials",
                "ListTrialComponents",
                "ListImages",
                "ListImageVersions",
                "Search",
            ),
            Resource=["*"],
        ),
    ]


def pass_self_statement(role_arn: Any) -> Statement:
    """Jobs started from Studio run as the same role, and only as that role."""
    return Statement(
        Sid="PassOnlyThisRoleToSageMaker",
        Effect=Allow,
        Action=actions("iam", "PassRole"),
        Resource=[role_arn],
        Condition=Condition(StringEquals({"iam:PassedToService": "sagemaker.amazonaws.com"})),
    )


#: The SageMaker Python SDK's default bucket (``Session.default_bucket()``).
DEFAULT_BUCKET = "sagemaker-${AWS::Region}-${AWS::AccountId}"

#: A per-person role reads and writes only ``s3://<default bucket>/studio/<profile>/``.
PERSONAL_PREFIX = "studio/${Owner}"


def bucket_statements(owner: Any = None) -> list[Statement]:
    """The default bucket: all of it (team role, boundary) or one person's prefix.

    With ``owner`` (a per-person role) objects are limited to ``studio/<owner>/`` and
    listing to that prefix (``s3:prefix``, Amazon S3 User Guide, "Condition keys"). The
    prefix is literal, not a session variable, so jobs the person starts (which run as the
    role without a source identity) can use it too.
    """
    bucket_actions = ("CreateBucket", "GetBucketLocation")
    object_actions = ("GetObject", "PutObject", "DeleteObject", "AbortMultipartUpload")
    if owner is None:
        return [
            Statement(
                Sid="UseSageMakerDefaultBucket",
                Effect=Allow,
                Action=actions("s3", *bucket_actions, "ListBucket", *object_actions),
                Resource=[arns.s3(DEFAULT_BUCKET), arns.s3(DEFAULT_BUCKET + "/*")],
            )
        ]
    prefix = PERSONAL_PREFIX
    return [
        Statement(
            Sid="DefaultBucketOwnPrefixObjects",
            Effect=Allow,
            Action=actions("s3", *object_actions),
            Resource=[arns.s3(f"{DEFAULT_BUCKET}/{prefix}/*", Owner=owner)],
        ),
        Statement(
            Sid="DefaultBucketListOwnPrefix",
            Effect=Allow,
            Action=actions("s3", "ListBucket"),
            Resource=[arns.s3(DEFAULT_BUCKET)],
            Condition=Condition(
                StringLike(
                    {"s3:prefix": [Sub(prefix, Owner=owner), Sub(f"{prefix}/*", Owner=owner)]}
                )
            ),
        ),
        Statement(
            Sid="DefaultBucketLocation",
            Effect=Allow,
            Action=actions("s3", *bucket_actions),
            Resource=[arns.s3(DEFAULT_BUCKET)],
        ),
    ]


def support_statements() -> list[Statement]:
    """Logs, metrics, ECR pulls, VPC networking for jobs."""
    return [
        Statement(
            Sid="WriteSageMakerLogs",
            Effect=Allow,
            Action=actions(
                "logs",
                "CreateLogGroup",
                "CreateLogStream",
                "PutLogEvents",
                "DescribeLogStreams",
                "GetLogEvents",
            ),
            Resource=[arns.regional("logs", "log-group:/aws/sagemaker/*")],
        ),
        Statement(
            Sid="PublishSageMakerMetrics",
            Effect=Allow,
            Action=actions("cloudwatch", "PutMetricData"),
            Resource=["*"],
            Condition=Condition(StringLike({"cloudwatch:namespace": "/aws/sagemaker/*"})),
        ),
        Statement(
            Sid="PullImagesFromThisAccount",
            Effect=Allow,
            Action=actions(
                "ecr",
                "BatchGetImage",
                "GetDownloadUrlForLayer",
                "BatchCheckLayerAvailability",
            ),
            Resource=[arns.regional("ecr", "repository/*")],
        ),
        Statement(
            Sid="EcrLoginHasNoResourceScope",
            Effect=Allow,
            Action=actions("ecr", "GetAuthorizationToken"),
            Resource=["*"],
        ),
        Statement(
            Sid="DescribeVpcForVpcOnlyJobs",
            Effect=Allow,
            Action=actions(
                "ec2",
                "DescribeVpcs",
                "DescribeSubnets",
                "DescribeSecurityGroups",
                "DescribeNetworkInterfaces",
                "DescribeDhcpOptions",
            ),
            Resource=["*"],
        ),
        Statement(
            Sid="JobNetworkInterfacesInThisAccount",
            Effect=Allow,
            Action=actions(
                "ec2",
                "CreateNetworkInterface",
                "CreateNetworkInterfacePermission",
                "DeleteNetworkInterface",
                "DeleteNetworkInterfacePermission",
            ),
            Resource=[
                arns.regional("ec2", "network-interface/*"),
                arns.regional("ec2", "subnet/*"),
                arns.regional("ec2", "security-group/*"),
            ],
        ),
    ]


def kms_statement(key_arn: Any) -> Statement:
    return Statement(
        Sid="UseDomainKey",
        Effect=Allow,
        Action=actions(
            "kms",
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "DescribeKey",
            "CreateGrant",
        ),
        Resource=[key_arn],
    )


def base_statements(
    domain_id: Any, role_arn: Any, key_arn: Any, *, owner: Any = None
) -> list[Statement]:
    """Everything a Studio execution role needs, in a stable order.

    ``owner`` (a profile name or ``Ref``) makes it a per-person role: space ownership and
    the S3 prefix are that person's. Without it (team role, and the permissions boundary,
    which must stay a superset of every execution role) spaces are isolated by the
    session's source identity and the whole default bucket is shared.
    """
    return [
        *studio_statements(domain_id, owner),
        *job_statements(),
        pass_self_statement(role_arn),
        *bucket_statements(owner),
        *support_statements(),
        kms_statement(key_arn),
    ]


def trust_statement() -> Statement:
    """SageMaker assumes the role; ``SetSourceIdentity`` carries the profile name into
    CloudTrail (``ExecutionRoleIdentityConfig: USER_PROFILE_NAME``)."""
    from awacs.aws import Principal

    return Statement(
        Effect=Allow,
        Principal=Principal("Service", "sagemaker.amazonaws.com"),
        Action=actions("sts", "AssumeRole", "SetSourceIdentity"),
    )
