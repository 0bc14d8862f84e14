"""Least-privilege permissions for a Studio execution role (team-level or per person).

Studio (new) calls SageMaker with the execution role's credentials, so the role needs to
manage its own spaces and apps in its domain, run the usual jobs, read and write the
SageMaker SDK's default bucket, log, pull its account's images and use the domain key.
Writes are scoped to ARNs; only List/Describe-style reads that IAM cannot scope use "*".
"""

from __future__ import annotations

from typing import Any

from awacs.aws import Allow, Condition, Statement, StringEquals, StringLike
from troposphere import Sub

from factory.policies import arns
from factory.policies.actions import actions


def _sm(resource: str, domain_id: Any) -> Sub:
    return (
        arns.sagemaker(resource, DomainId=domain_id)
        if "${DomainId}" in resource
        else (arns.sagemaker(resource))
    )


def studio_statements(domain_id: Any) -> list[Statement]:
    """Spaces and apps of one domain; the domain and profiles are read-only."""
    return [
        Statement(
            Sid="ManageSpacesAndAppsInDomain",
            Effect=Allow,
            Action=actions(
                "sagemaker",
                "CreateApp",
                "DeleteApp",
                "DescribeApp",
                "CreateSpace",
                "UpdateSpace",
                "DeleteSpace",
                "DescribeSpace",
                "AddTags",
                "ListTags",
            ),
            Resource=[
                _sm("app/${DomainId}/*", domain_id),
                _sm("space/${DomainId}/*", domain_id),
            ],
        ),
        Statement(
            Sid="ReadOwnDomainAndProfiles",
            Effect=Allow,
            Action=actions("sagemaker", "DescribeDomain", "DescribeUserProfile"),
            Resource=[
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


def support_statements() -> list[Statement]:
    """S3 default bucket, logs, metrics, ECR pulls, VPC networking for jobs."""
    bucket = "sagemaker-${AWS::Region}-${AWS::AccountId}"
    return [
        Statement(
            Sid="UseSageMakerDefaultBucket",
            Effect=Allow,
            Action=actions(
                "s3",
                "CreateBucket",
                "GetBucketLocation",
                "ListBucket",
                "GetObject",
                "PutObject",
                "DeleteObject",
                "AbortMultipartUpload",
            ),
            Resource=[arns.s3(bucket), arns.s3(bucket + "/*")],
        ),
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


def base_statements(domain_id: Any, role_arn: Any, key_arn: Any) -> list[Statement]:
    """Everything a Studio execution role needs, in a stable order."""
    return [
        *studio_statements(domain_id),
        *job_statements(),
        pass_self_statement(role_arn),
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
