"""Product: a project's shared Studio space (``templates/studio-shared-space.yaml``).

One ``Shared`` JupyterLab or Code Editor space (``AWS::SageMaker::Space``) per project in a
domain, found through the SSM parameters the domain product publishes. Every member of the
domain sees it; each member opens it through their own profile.

What the CloudFormation schema decides here (the ``AWS::SageMaker::Space`` registry schema
bundled in cfn-lint, checked by ``tests/products/test_shared_space_product.py``):

* ``SpaceSettings`` has **no execution role**. A shared space's apps run as the domain's
  ``DefaultSpaceSettings.ExecutionRole`` (SageMaker Developer Guide, "Amazon SageMaker Studio
  spaces": profile settings apply to private spaces only; FIELD-NOTES), which the domain
  product sets to its team role (or the role given to it). A team role for a project is
  therefore chosen on the domain, not here.
* ``SpaceJupyterLabAppSettings``/``SpaceCodeEditorAppSettings`` have **no
  ``AppLifecycleManagement``** in the bundled schema (botocore's CreateSpace has
  ``IdleSettings.IdleTimeoutInMinutes``; the schema's ``SpaceIdleSettings`` definition is
  referenced by nothing and ``additionalProperties`` is false), so idle shutdown comes from
  the domain only: its ``DefaultSpaceSettings.JupyterLabAppSettings`` (the domain product
  sets it). ``DefaultSpaceSettings`` has no ``CodeEditorAppSettings`` (schema and botocore),
  so a Code Editor shared space has, worst case, no idle shutdown the catalog can set.
* ``ResourceSpec.InstanceType`` is an enum: a value outside it fails the schema validation
  CloudFormation runs before the handler, so the default instance type is an
  ``AllowedValues`` list (:data:`INSTANCE_TYPES`) rather than a pattern.
* ``OwnershipSettings`` is optional in the schema and in botocore's CreateSpace, but the
  Developer Guide's space isolation ("Give your users access to spaces") keys on
  ``sagemaker:OwnerUserProfileArn``: an owner is required here, so exactly one person can
  change or delete the space from Studio and is accountable for it.
* ``DomainId``, ``SpaceName``, ``OwnershipSettings`` and ``SpaceSharingSettings`` are
  create-only; the space has a custom name, so an update that would replace it fails and
  rolls back ("CloudFormation cannot update a stack when a custom-named resource requires
  replacing") instead of deleting the project's volume.

Hidden-tool enforcement (README, "Hiding is visibility, not security") is on the PERSON's
role: a person whose tools are enforced is denied ``CreateApp``/``UpdateSpace`` wherever
``sagemaker:SpaceSharingType`` is ``Shared``, and starting an app in this space is that
person's own ``CreateApp`` call (``tests/products/test_shared_space_product.py`` proves it
with the offline evaluator). This product adds no permission to anyone.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from troposphere import Equals, GetAtt, If, NoValue, Output, Ref, Sub, Tags
from troposphere.sagemaker import (
    EbsStorageSettings,
    OwnershipSettings,
    ResourceSpec,
    Space,
    SpaceCodeEditorAppSettings,
    SpaceJupyterLabAppSettings,
    SpaceSettings,
    SpaceSharingSettings,
    SpaceStorageSettings,
)

from factory import naming
from factory.options import parse
from factory.studio import NAME_MAX_LENGTH, NAME_PATTERN
from factory.template import ProductTemplate

NAME = "studio-shared-space"

#: App types of Studio (new) spaces this product offers (the schema's ``AppType`` enum also
#: holds Classic and gateway types, which are not shared-space IDEs).
APP_TYPES = ("JupyterLab", "CodeEditor")

#: The space name is this prefix plus the project name: shared spaces sort together in
#: ListSpaces and stay clear of private spaces, which the user-profile product names after
#: the profile (a clash needs a profile named ``shared-...``; CreateSpace then fails with
#: ResourceInUse and nothing is changed).
SPACE_PREFIX = "shared-"
PROJECT_MAX_LENGTH = NAME_MAX_LENGTH - len(SPACE_PREFIX)
#: SageMaker's name rule (botocore ``SpaceName``: ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``),
#: shortened by the prefix so ``shared-<project>`` stays within 63 characters.
PROJECT_PATTERN = rf"^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{PROJECT_MAX_LENGTH - 1}}}$"

#: Cost attribution per project. SageMaker tags what a shared space creates with the space's
#: ARN (seed 002, "Multiple domains and shared spaces": automatic tagging of resources created
#: by shared spaces) and the domain's ``TagPropagation: ENABLED`` carries the space's custom
#: tags to them. ``CostCenter`` is not a parameter: the portfolio's ``CostCenter`` TagOption
#: (portfolios/studio.yaml) reaches every resource of the provisioned product through Service
#: Catalog (Admin Guide, "TagOptions"); a second, template-level source of the same key could
#: only disagree with it.
PROJECT_TAG = "studio-catalog:project"

#: ``ResourceSpec.InstanceType`` enum of the AWS::SageMaker::Space registry schema, without
#: ``system`` (the reserved type of Classic's JupyterServer app, not an instance) and
#: ``ml.geospatial.interactive`` (only the geospatial image, in one region). The list is kept
#: here so the template stays byte-stable across cfn-lint upgrades; the test compares it with
#: the schema and with botocore's ``AppInstanceType``.
INSTANCE_TYPES: tuple[str, ...] = (
    "ml.t3.micro",
    "ml.t3.small",
    "ml.t3.medium",
    "ml.t3.large",
    "ml.t3.xlarge",
    "ml.t3.2xlarge",
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.m5.4xlarge",
    "ml.m5.8xlarge",
    "ml.m5.12xlarge",
    "ml.m5.16xlarge",
    "ml.m5.24xlarge",
    "ml.m5d.large",
    "ml.m5d.xlarge",
    "ml.m5d.2xlarge",
    "ml.m5d.4xlarge",
    "ml.m5d.8xlarge",
    "ml.m5d.12xlarge",
    "ml.m5d.16xlarge",
    "ml.m5d.24xlarge",
    "ml.c5.large",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.c5.4xlarge",
    "ml.c5.9xlarge",
    "ml.c5.12xlarge",
    "ml.c5.18xlarge",
    "ml.c5.24xlarge",
    "ml.r5.large",
    "ml.r5.xlarge",
    "ml.r5.2xlarge",
    "ml.r5.4xlarge",
    "ml.r5.8xlarge",
    "ml.r5.12xlarge",
    "ml.r5.16xlarge",
    "ml.r5.24xlarge",
    "ml.g4dn.xlarge",
    "ml.g4dn.2xlarge",
    "ml.g4dn.4xlarge",
    "ml.g4dn.8xlarge",
    "ml.g4dn.12xlarge",
    "ml.g4dn.16xlarge",
    "ml.g5.xlarge",
    "ml.g5.2xlarge",
    "ml.g5.4xlarge",
    "ml.g5.8xlarge",
    "ml.g5.12xlarge",
    "ml.g5.16xlarge",
    "ml.g5.24xlarge",
    "ml.g5.48xlarge",
    "ml.p3.2xlarge",
    "ml.p3.8xlarge",
    "ml.p3.16xlarge",
    "ml.p3dn.24xlarge",
    "ml.p4d.24xlarge",
    "ml.p4de.24xlarge",
    "ml.trn1.2xlarge",
    "ml.trn1.32xlarge",
    "ml.trn1n.32xlarge",
)
#: Schema enum values left out of :data:`INSTANCE_TYPES`, with the reason.
EXCLUDED_INSTANCE_TYPES = {
    "system": "reserved type of Studio Classic's JupyterServer app, not an instance",
    "ml.geospatial.interactive": "runs only the geospatial image, in one region",
}

#: EBS bounds of the registry schema (``SpaceEbsVolumeSizeInGb``).
EBS_MIN_GB, EBS_MAX_GB = 5, 16384


class SharedSpaceOptions(BaseModel):
    """Defaults baked into the shared-space template (the admin can still change them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain_name: str = naming.DEFAULT_DOMAIN_NAME
    app_type: str = "JupyterLab"
    instance_type: str = "ml.t3.medium"
    ebs_gb: int = 20

    @field_validator("app_type")
    @classmethod
    def _app_type(cls, v: str) -> str:
        return _one_of("app_type", v, APP_TYPES)

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        return _one_of("instance_type", v, INSTANCE_TYPES)

    @field_validator("ebs_gb")
    @classmethod
    def _ebs(cls, v: int) -> int:
        if not EBS_MIN_GB <= v <= EBS_MAX_GB:
            raise ValueError(f"option ebs_gb: {v}; allowed: {EBS_MIN_GB} to {EBS_MAX_GB}")
        return v


def _one_of(option: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"option {option}: {value!r} not allowed; allowed: {', '.join(allowed)}")
    return value


G_PROJECT = "Project"
G_DOMAIN = "Domain (SSM parameters published by the domain product)"
G_SPACE = "Space"

#: Parameter -> (label, key of the domain's SSM parameter): which domain the space is in.
#: Same parameter names as the user-profile product's ``DOMAIN_LINKS``.
DOMAIN_LINKS = {
    "DomainId": ("Domain ID", "domain-id"),
    "TeamExecutionRoleArn": ("Domain's space execution role", "execution-role-arn"),
}


def _project(pt: ProductTemplate) -> None:
    pt.parameter(
        G_PROJECT,
        "ProjectName",
        "Project name",
        Type="String",
        MinLength=1,
        MaxLength=PROJECT_MAX_LENGTH,
        AllowedPattern=PROJECT_PATTERN,
        ConstraintDescription=f"1-{PROJECT_MAX_LENGTH} letters, digits and hyphens, starting "
        "and ending with a letter or digit (the space is named "
        f"{SPACE_PREFIX}<project>, at most 63 characters).",
        Description=f"The project. Names the space ({SPACE_PREFIX}<project>, unique in the "
        f"domain) and its '{PROJECT_TAG}' cost tag. Create-only.",
    )
    pt.parameter(
        G_PROJECT,
        "OwnerUserProfileName",
        "Owner (a person's user profile)",
        Type="String",
        MinLength=1,
        MaxLength=NAME_MAX_LENGTH,
        AllowedPattern=NAME_PATTERN,
        ConstraintDescription="An existing user profile name of the domain (1-63 letters, "
        "digits and hyphens).",
        Description="The person accountable for the space; the profile must exist. With the "
        "catalog's execution roles only the owner may change or delete the space from Studio. "
        "Create-only. Terminate this product before the owner's profile: a profile that owns "
        "a space cannot be deleted.",
    )


def _domain_links(pt: ProductTemplate, opts: SharedSpaceOptions) -> None:
    for name, (label, key) in DOMAIN_LINKS.items():
        pt.parameter(
            G_DOMAIN,
            name,
            label,
            Type="AWS::SSM::Parameter::Value<String>",
            Default=naming.domain_ssm_parameter(key, opts.domain_name),
            Description=f"SSM parameter holding the domain's {key}. Keep the default unless "
            "the space belongs to another domain: then replace the domain name in every path "
            "of this group.",
        )


def _space_parameters(pt: ProductTemplate, opts: SharedSpaceOptions) -> None:
    pt.parameter(
        G_SPACE,
        "AppType",
        "IDE",
        Type="String",
        Default=opts.app_type,
        AllowedValues=list(APP_TYPES),
        Description="JupyterLab or Code Editor. Create-only (SageMaker's UpdateSpace cannot "
        "change a space's app type).",
    )
    pt.parameter(
        G_SPACE,
        "DefaultInstanceType",
        "Default instance type",
        Type="String",
        Default=opts.instance_type,
        AllowedValues=list(INSTANCE_TYPES),
        ConstraintDescription="An instance type the AWS::SageMaker::Space resource accepts.",
        Description="Instance the space's app starts on unless a member picks another one.",
    )
    pt.parameter(
        G_SPACE,
        "EbsVolumeSizeGb",
        "Storage (GB)",
        Type="Number",
        Default=opts.ebs_gb,
        MinValue=EBS_MIN_GB,
        MaxValue=EBS_MAX_GB,
        ConstraintDescription=f"Whole GB from {EBS_MIN_GB} to {EBS_MAX_GB}.",
        Description="EBS volume shared by the project's members; at most the domain's "
        "maximum space storage (domain product, MaximumEbsVolumeSizeGb).",
    )


def _conditions(pt: ProductTemplate) -> None:
    pt.condition("IsJupyterLab", Equals(Ref("AppType"), "JupyterLab"))
    pt.condition("IsCodeEditor", Equals(Ref("AppType"), "CodeEditor"))


def space_name() -> Sub:
    return Sub(SPACE_PREFIX + "${ProjectName}")


def space_tags() -> Tags:
    """The project's tags, fixed at launch (the project name is create-only). No
    ``studiouserid``: the space is the project's, not the owner's, and that tag would bill
    every member's work to the owner."""
    return Tags(**{PROJECT_TAG: Ref("ProjectName"), naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE})


def _space(pt: ProductTemplate) -> None:
    spec = ResourceSpec(InstanceType=Ref("DefaultInstanceType"))
    pt.template.add_resource(
        Space(
            "SharedSpace",
            DomainId=Ref("DomainId"),
            SpaceName=space_name(),
            SpaceDisplayName=Ref("ProjectName"),
            OwnershipSettings=OwnershipSettings(OwnerUserProfileName=Ref("OwnerUserProfileName")),
            SpaceSharingSettings=SpaceSharingSettings(SharingType="Shared"),
            SpaceSettings=SpaceSettings(
                AppType=Ref("AppType"),
                JupyterLabAppSettings=If(
                    "IsJupyterLab", SpaceJupyterLabAppSettings(DefaultResourceSpec=spec), NoValue
                ),
                CodeEditorAppSettings=If(
                    "IsCodeEditor", SpaceCodeEditorAppSettings(DefaultResourceSpec=spec), NoValue
                ),
                SpaceStorageSettings=SpaceStorageSettings(
                    EbsStorageSettings=EbsStorageSettings(EbsVolumeSizeInGb=Ref("EbsVolumeSizeGb"))
                ),
            ),
            Tags=space_tags(),
        )
    )


def _outputs(pt: ProductTemplate) -> None:
    outputs = {
        "SpaceName": ("Shared space name (unique in the domain)", space_name()),
        "SpaceArn": ("Shared space ARN", GetAtt("SharedSpace", "SpaceArn")),
        "SpaceExecutionRoleArn": (
            "Role the space's apps run as: the domain's default space execution role (a "
            "space cannot have its own); value at launch",
            Ref("TeamExecutionRoleArn"),
        ),
        "CostTag": (
            "Filter cost reports by this tag",
            Sub(PROJECT_TAG + "=${ProjectName}"),
        ),
        "OpenSpace": (
            "How members open the space",
            Sub(
                "Open Studio as your own user profile, choose Spaces, then ${ProjectName} "
                "(shared, ${AppType}). Every member of the domain sees it; people whose "
                "hidden tools are enforced (EnforceHiddenTools) cannot start or change it."
            ),
        ),
    }
    for name, (description, value) in outputs.items():
        pt.template.add_output(Output(name, Description=description, Value=value))


def generate(options: dict[str, Any] | None = None) -> Any:
    """Build the shared-space product template from (validated) generator options."""
    opts: SharedSpaceOptions = parse(NAME, SharedSpaceOptions, options)
    pt = ProductTemplate(
        "SageMaker Studio shared space for one project (Studio Catalog Factory): JupyterLab or "
        "Code Editor, owned by a person, tagged for project cost attribution."
    )
    _project(pt)
    _domain_links(pt, opts)
    _space_parameters(pt, opts)
    _conditions(pt)
    _space(pt)
    _outputs(pt)
    return pt.finish()
