"""Product: a team-level SageMaker execution role (``templates/studio-team-role.yaml``).

Seed 002 recommends one execution role per team when people share a permission model. The
role is created under the catalog's execution path with the bootstrap's permissions boundary
(the only roles the launch role may create), has a generated name, is trusted by SageMaker
of this account and region only, and holds what :mod:`factory.policies.team_role` describes:
the team's S3 locations, the team key through S3 and SageMaker only, jobs kept inside the
domain's subnets and security groups and encrypted with the team key, pass-self only, ECR
pulls, SageMaker logs. Its ARN is published to SSM under the team's name, so user-profile
launches pick it by team (``TeamExecutionRoleArn`` = :func:`team_ssm_parameter`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from troposphere import (
    And,
    Condition,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    Output,
    Ref,
    Select,
    Split,
    Sub,
    Tags,
)
from troposphere.iam import ManagedPolicy, Role, RolePolicy
from troposphere.ssm import Parameter as SsmParameter

from factory import naming
from factory.options import parse
from factory.policies import team_role
from factory.policies.team_role import S3Location
from factory.studio import NAME_PATTERN
from factory.template import ProductTemplate, document, list_is_set, policy

NAME = "studio-team-role"

#: The product publishes under ``/studio-catalog/teams/<TeamName>/`` (:func:`team_ssm_parameter`);
#: other products read it there. Kept here until it moves to :mod:`factory.naming`, beside the
#: domain's ``DOMAIN_SSM_TEMPLATE``.
TEAM_SSM_TEMPLATE = naming.TEAM_SSM_TEMPLATE
TEAM_KEYS = naming.TEAM_KEYS

#: Tag keys for cost attribution, the same keys ``studio-factory users`` puts on launches
#: (factory/users/bulk.py, ``Row.tags``).
TEAM_TAG = "Team"
COST_CENTER_TAG = "CostCenter"


team_ssm_parameter = naming.team_ssm_parameter


class TeamRoleOptions(BaseModel):
    """Defaults baked into the template (the admin can still change them at launch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The domain whose SSM parameters the team role reads by default.
    domain_name: Annotated[str, Field(pattern=NAME_PATTERN)] = naming.DEFAULT_DOMAIN_NAME
    #: AWS Deep Learning Containers registry of most commercial regions
    #: (aws/deep-learning-containers, ``available_images.md``, "Region / Example URL").
    image_registries: tuple[Annotated[str, Field(pattern=r"^\d{12}$")], ...] = ("763104351884",)


G_TEAM = "Team"
G_DOMAIN = "Domain (SSM parameters published by the domain product)"
G_NETWORK = "Job network (the domain's VPC)"
G_DATA = "Data and encryption"
G_IMAGES = "Container images"
G_CATALOG = "Catalog (SSM parameter published by the bootstrap stack)"

#: A team name: lowercase slug (factory.portfolio.models.SLUG_PATTERN), at most 32 characters
#: so ``/studio-catalog/teams/<team>/...`` stays short.
TEAM_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"
#: Tag values: IAM and SSM accept letters, digits, spaces and ``_ . : / = + - @`` (IAM User
#: Guide, "Tagging IAM resources"; AWS::SSM::Parameter schema, Tags patternProperties).
COST_CENTER_PATTERN = r"^[A-Za-z0-9 _.:/=+@-]{1,128}$"
KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$"

#: S3 locations per access level, and path segments of a location's prefix. CloudFormation
#: cannot map over a list (no loop, and ``Fn::Split`` / ``Fn::Join`` take only literal
#: delimiters), so each location is taken apart with ``Fn::Select`` at a fixed position; the
#: parameter's pattern enforces both bounds, so no location is ever silently ignored.
MAX_LOCATIONS = 4
MAX_PREFIX_DEPTH = 2
#: S3 bucket naming rules (Amazon S3 User Guide, "General purpose bucket naming rules").
BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
#: A key-prefix segment: S3's safe characters without IAM's wildcards ``*`` and ``?`` (Amazon
#: S3 User Guide, "Naming objects": safe characters), plus ``=`` for Hive-style partitions.
SEGMENT = r"[A-Za-z0-9!_.'()=-]+"
#: Characters per level: bounds the managed policy of a level (a location appears in its
#: objects ARN, its bucket ARN and twice as a prefix pattern) under IAM's 6,144 in every
#: partition (tests/products/test_team_role_product.py measures it).
MAX_LOCATIONS_LENGTH = 1024
LOCATION = rf"{BUCKET}(/{SEGMENT}){{0,{MAX_PREFIX_DEPTH}}}"
LOCATIONS_PATTERN = rf"^(|{LOCATION}(,{LOCATION}){{0,{MAX_LOCATIONS - 1}}})$"

LEVELS = {"ReadOnly": False, "ReadWrite": True}  # level -> may write


def _team(pt: ProductTemplate) -> None:
    pt.parameter(
        G_TEAM,
        "TeamName",
        "Team name",
        Type="String",
        MinLength=1,
        MaxLength=32,
        AllowedPattern=TEAM_PATTERN,
        ConstraintDescription="1-32 lowercase letters, digits and inner hyphens, e.g. "
        "fraud-models.",
        Description="The team's short name. Names the SSM parameter "
        "/studio-catalog/teams/<name>/execution-role-arn that user profiles of the team "
        "read, and the Team tag. One launch per team, account and region (a second one "
        "fails on the existing SSM parameter).",
    )
    pt.parameter(
        G_TEAM,
        "CostCenter",
        "Cost center",
        Type="String",
        MinLength=1,
        MaxLength=128,
        AllowedPattern=COST_CENTER_PATTERN,
        ConstraintDescription="1-128 letters, digits, spaces and _ . : / = + - @.",
        Description="Cost center the team's role and jobs are charged to (CostCenter tag).",
    )


def _domain_links(pt: ProductTemplate, opts: TeamRoleOptions) -> None:
    ssm = "AWS::SSM::Parameter::Value<String>"
    for name, label, key in (
        ("DomainId", "Domain ID", "domain-id"),
        ("DomainSecurityGroupId", "Domain security group", "security-group-id"),
        ("DomainKmsKeyArn", "Domain KMS key", "kms-key-arn"),
    ):
        pt.parameter(
            G_DOMAIN,
            name,
            label,
            Type=ssm,
            Default=naming.domain_ssm_parameter(key, opts.domain_name),
            Description=f"SSM parameter holding the domain's {key}. Keep the default unless "
            "the team works in another domain: then replace the domain name in every path "
            "of this group.",
        )


def _network(pt: ProductTemplate) -> None:
    pt.parameter(
        G_NETWORK,
        "JobSubnetIds",
        "Job subnets",
        Type="List<AWS::EC2::Subnet::Id>",
        Description="Private subnets of the domain's VPC in which the team's training, "
        "processing and tuning jobs and models must run (any other subnet, or none, is "
        "denied; batch transform runs in its model's VPC).",
    )
    pt.parameter(
        G_NETWORK,
        "AdditionalJobSecurityGroupIds",
        "Additional job security groups (optional)",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=r"^(|sg-[0-9a-f]{8,17})$",
        ConstraintDescription="Comma-separated security group IDs (sg-...), or empty.",
        Description="Jobs may use the domain's security group and these; any other, or "
        "none, is denied.",
    )


def _data(pt: ProductTemplate) -> None:
    pt.parameter(
        G_DATA,
        "TeamKmsKeyArn",
        "Team KMS key ARN",
        Type="String",
        AllowedPattern=KEY_ARN_PATTERN,
        ConstraintDescription="A KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); not "
        "an alias: SageMaker compares the ARN.",
        Description="The team's key: used only through S3 and SageMaker, and required as "
        "the volume and output key of every job (pass this ARN as VolumeKmsKeyId and "
        "OutputKmsKeyId / KmsKeyId).",
    )
    pt.parameter(
        G_DATA,
        "VolumeKeyRequired",
        "Jobs must encrypt volumes with the team key",
        Type="String",
        Default="true",
        AllowedValues=["true", "false"],
        Description="true: every job names the team key as its volume key. false: a job may "
        "also name none, which instance types with local NVMe storage (e.g. ml.g5, ml.p4d) "
        "require: SageMaker refuses a volume key there and encrypts that storage in "
        "hardware. Another key is denied either way.",
    )
    example = "team-bucket,data-lake/raw/fraud"
    for level, write in LEVELS.items():
        what = "read and write" if write else "read"
        pt.parameter(
            G_DATA,
            f"{level}S3Locations",
            f"{'Read-write' if write else 'Read-only'} S3 locations (optional)",
            Type="String",
            Default="",
            MaxLength=MAX_LOCATIONS_LENGTH,
            AllowedPattern=LOCATIONS_PATTERN,
            ConstraintDescription=f"At most {MAX_LOCATIONS} comma-separated entries, each a "
            f"bucket name or bucket/prefix with at most {MAX_PREFIX_DEPTH} prefix segments "
            "(letters, digits, ! _ . ' ( ) = -), no spaces, no trailing slash; or empty.",
            Description=f"Buckets or bucket/prefix locations the team may {what} "
            f"(e.g. {example}): objects below each location and listing within it, "
            "nothing else in S3.",
        )


def _images(pt: ProductTemplate, opts: TeamRoleOptions) -> None:
    pt.parameter(
        G_IMAGES,
        "EcrRepositoryArns",
        "Team ECR repositories (optional)",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=r"^(|arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9][a-z0-9._/*-]*)$",
        ConstraintDescription="Comma-separated ECR repository ARNs (a * in the name matches "
        "several), or empty.",
        Description="Repositories whose images the team's jobs and notebooks may pull.",
    )
    pt.parameter(
        G_IMAGES,
        "SageMakerImageRegistries",
        "SageMaker image registries (optional)",
        Type="CommaDelimitedList",
        Default=",".join(opts.image_registries),
        AllowedPattern=r"^(|\d{12})$",
        ConstraintDescription="Comma-separated 12-digit AWS account IDs, or empty.",
        Description="AWS accounts holding SageMaker's prebuilt images (default: the AWS "
        "Deep Learning Containers registry of most commercial regions; see the SageMaker "
        "Developer Guide, Docker registry paths, for your region and built-in algorithms). "
        "Empty: no AWS-owned images.",
    )


def _catalog(pt: ProductTemplate) -> None:
    pt.parameter(
        G_CATALOG,
        "PermissionsBoundaryArn",
        "Permissions boundary (SSM parameter)",
        Type="AWS::SSM::Parameter::Value<String>",
        Default=naming.BOUNDARY_SSM_PARAMETER,
        Description="SSM parameter holding the permissions boundary that every role created "
        "by a catalog product carries (published by the bootstrap stack).",
    )


# --- S3 locations as template expressions ---------------------------------------------------


def _entry(level: str, index: int) -> Select:
    """Location ``index`` of ``<level>S3Locations``, ``""`` when there are fewer: commas are
    appended so that ``Fn::Select`` of any position below :data:`MAX_LOCATIONS` exists."""
    return Select(index, Split(",", Sub(f"${{{level}S3Locations}}" + "," * MAX_LOCATIONS)))


def _segment(entry: Select, index: int) -> Select:
    """Path segment ``index`` of a location (0: the bucket), ``""`` past its end."""
    return Select(index, Split("/", Sub("${Location}" + "/" * MAX_PREFIX_DEPTH, Location=entry)))


def _prefix(name: str, entry: Select) -> Sub:
    """The key prefix of a location: its segments after the bucket, as many as it has
    (``/<segment>`` for each further segment the location has, nothing for the others)."""
    further = {
        f"S{depth}": If(f"{name}HasSegment{depth}", Sub("/${S}", S=_segment(entry, depth)), "")
        for depth in range(2, MAX_PREFIX_DEPTH + 1)
    }
    text = "${S1}" + "".join(f"${{{key}}}" for key in further)
    return Sub(text, S1=_segment(entry, 1), **further)


def s3_locations(pt: ProductTemplate, level: str) -> list[S3Location]:
    """Conditions and expressions of each possible location of ``<level>S3Locations``.

    Conditions may use ``Fn::Select``, ``Fn::Split`` and ``Fn::Sub`` inside ``Fn::Equals``
    (cfn-lint's ``schemas/other/functions/equals.json``, rule E8003, lists the functions
    CloudFormation accepts there), as :func:`factory.template.list_contains` does."""
    locations = []
    for index in range(MAX_LOCATIONS):
        name = f"{level}Location{index}"
        entry = _entry(level, index)
        present = pt.condition(f"{name}Present", Not(Equals(entry, "")))
        whole = pt.condition(
            f"{name}WholeBucket", And(Condition(present), Equals(_segment(entry, 1), ""))
        )
        for depth in range(2, MAX_PREFIX_DEPTH + 1):
            pt.condition(f"{name}HasSegment{depth}", Not(Equals(_segment(entry, depth), "")))
        locations.append(
            S3Location(
                present=present,
                whole_bucket=whole,
                objects=Sub("arn:${AWS::Partition}:s3:::${Location}/*", Location=entry),
                bucket=Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=_segment(entry, 0)),
                prefix=_prefix(name, entry),
            )
        )
    return locations


#: Repository ARNs of every registry account. The delimiter of ``Fn::Join`` must be a
#: literal, so partition and region are ``*`` (a role acts only in its own partition; pulling
#: AWS's images from another region is harmless).
REGISTRY_ARN_HEAD = "arn:*:ecr:*:"
REGISTRY_ARN_TAIL = ":repository/*"


def _registry_repositories() -> Split:
    return Split(
        ",",
        Join(
            "",
            [
                REGISTRY_ARN_HEAD,
                Join(f"{REGISTRY_ARN_TAIL},{REGISTRY_ARN_HEAD}", Ref("SageMakerImageRegistries")),
                REGISTRY_ARN_TAIL,
            ],
        ),
    )


def _security_groups() -> Any:
    return If(
        "HasAdditionalJobSecurityGroups",
        Split(
            ",",
            Join(
                ",", [Ref("DomainSecurityGroupId"), Join(",", Ref("AdditionalJobSecurityGroupIds"))]
            ),
        ),
        [Ref("DomainSecurityGroupId")],
    )


# --- resources ------------------------------------------------------------------------------


def _tags(**extra: Any) -> dict[str, Any]:
    return {TEAM_TAG: Ref("TeamName"), COST_CENTER_TAG: Ref("CostCenter"), **extra}


def _role(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        Role(
            "TeamExecutionRole",
            Path=naming.EXECUTION_ROLE_PATH,
            PermissionsBoundary=Ref("PermissionsBoundaryArn"),
            AssumeRolePolicyDocument=document([team_role.trust_statement()]),
            Description=Sub("SageMaker execution role of team ${TeamName} (Studio Catalog)"),
            Tags=Tags(**_tags(**{naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE})),
        )
    )


def _policies(pt: ProductTemplate, locations: dict[str, list[S3Location]]) -> None:
    """One inline policy (Studio, jobs, key, images) and managed policies for the job
    guardrails and each data level: together they exceed the 10,240 characters IAM allows
    inline per role, each stays under the 6,144 of a managed policy (IAM User Guide, "IAM and
    AWS STS quotas"; measured per partition with the longest values the parameters accept
    in tests/products/test_team_role_product.py)."""
    role_arn = GetAtt("TeamExecutionRole", "Arn")
    work = [
        *team_role.role_statements(
            domain_id=Ref("DomainId"), role_arn=role_arn, domain_key_arn=Ref("DomainKmsKeyArn")
        ),
        *team_role.team_key_statements(Ref("TeamKmsKeyArn")),
        *team_role.ecr_pull_statements(
            Ref("EcrRepositoryArns"),
            _registry_repositories(),
            "HasEcrRepositories",
            "HasSageMakerImageRegistries",
        ),
    ]
    guards = team_role.job_guard_statements(
        Ref("JobSubnetIds"), _security_groups(), Ref("TeamKmsKeyArn"), "RequireVolumeKey"
    )
    _managed(pt, "TeamJobGuardrails", "jobs only in the domain's VPC, with the team key", guards)
    pt.template.add_resource(
        RolePolicy(
            "TeamExecutionRolePolicy",
            # The allows arrive after the denies, so the role never runs unguarded jobs.
            DependsOn=["TeamJobGuardrails"],
            RoleName=Ref("TeamExecutionRole"),
            PolicyName="team-studio-and-jobs",
            PolicyDocument=policy(work),
        )
    )
    for level, write in LEVELS.items():
        _managed(
            pt,
            f"Team{level}Data",
            f"{level} S3 locations",
            team_role.s3_statements(level, locations[level], write=write),
            condition=f"Has{level}S3Locations",
        )


def _managed(
    pt: ProductTemplate,
    logical_id: str,
    what: str,
    statements: list[Any],
    condition: str | None = None,
) -> None:
    extra = {"Condition": condition} if condition else {}
    pt.template.add_resource(
        ManagedPolicy(
            logical_id,
            Path=naming.POLICY_PATH,
            Description=Sub(f"Team ${{TeamName}} execution role: {what}"),
            Roles=[Ref("TeamExecutionRole")],
            PolicyDocument=policy(statements),
            **extra,
        )
    )


def _ssm(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        SsmParameter(
            "SsmExecutionRoleArn",
            Type="String",
            Name=Sub(TEAM_SSM_TEMPLATE.format(team="${TeamName}") + "/execution-role-arn"),
            Value=GetAtt("TeamExecutionRole", "Arn"),
            Description=Sub("SageMaker execution role of team ${TeamName}"),
            Tags=_tags(),
            # Published once its policies are in place: nobody picks a half-built role.
            DependsOn=["TeamExecutionRolePolicy"],
        )
    )


def _conditions(pt: ProductTemplate) -> dict[str, list[S3Location]]:
    pt.condition("HasAdditionalJobSecurityGroups", list_is_set("AdditionalJobSecurityGroupIds"))
    pt.condition("RequireVolumeKey", Equals(Ref("VolumeKeyRequired"), "true"))
    pt.condition("HasEcrRepositories", list_is_set("EcrRepositoryArns"))
    pt.condition("HasSageMakerImageRegistries", list_is_set("SageMakerImageRegistries"))
    locations = {}
    for level in LEVELS:
        pt.condition(f"Has{level}S3Locations", Not(Equals(Ref(f"{level}S3Locations"), "")))
        locations[level] = s3_locations(pt, level)
    return locations


def _outputs(pt: ProductTemplate) -> None:
    for name, description, value in (
        ("ExecutionRoleArn", "The team's execution role", GetAtt("TeamExecutionRole", "Arn")),
        ("ExecutionRoleName", "Its generated name", Ref("TeamExecutionRole")),
        ("TeamName", "Team name", Ref("TeamName")),
        (
            "SsmParameterName",
            "SSM parameter holding the role ARN: give it as TeamExecutionRoleArn when "
            "launching a team member's user profile",
            Ref("SsmExecutionRoleArn"),
        ),
    ):
        pt.template.add_output(Output(name, Description=description, Value=value))


def generate(options: dict[str, Any] | None = None) -> Any:
    """Build the team-role product template from (validated) generator options."""
    opts: TeamRoleOptions = parse(NAME, TeamRoleOptions, options)
    pt = ProductTemplate(
        "SageMaker execution role for one team (Studio Catalog Factory): the team's S3 "
        "locations and key, jobs only in the domain's VPC and encrypted with the team key."
    )
    _team(pt)
    _domain_links(pt, opts)
    _network(pt)
    _data(pt)
    _images(pt, opts)
    _catalog(pt)
    locations = _conditions(pt)
    _role(pt)
    _policies(pt, locations)
    _ssm(pt)
    _outputs(pt)
    return pt.finish()
