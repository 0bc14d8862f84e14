"""Organization guardrails for SageMaker Studio (seed 002, "Common guardrails").

Six deny-only policy documents, each reviewable on its own (:func:`documents`, written as
``launch/guardrails/<name>.json``) and combined by ``factory/launch/guardrails.py`` into one
service control policy or one IAM managed policy. Deny-only: they never grant anything, so
they are safe next to ``FullAWSAccess`` or any identity policy.

Who each guardrail applies to (the README repeats this table):

==========================  ==========================================  ====================
guardrail                   denies                                      the launch role
==========================  ==========================================  ====================
limit-instance-types        Studio apps and app defaults on instance    exempt on apps,
                            types outside the allowed list              domains, profiles;
                                                                        not on spaces
vpc-only-domains            domains that are not VpcOnly; without       not exempt from
                            subnets or security groups                  VpcOnly; exempt from
                                                                        the presence checks
domain-kms-key              domains without a KMS key                   exempt
presigned-url-networks      opening Studio from other networks          never calls it
job-user-tag                training/processing jobs without the        never calls it
                            ``studiouserid`` tag
app-image-configs           image-config writes by notebook users and   not concerned
                            the catalog's persona/execution roles
==========================  ==========================================  ====================

The launch role (``naming.DEFAULT_LAUNCH_ROLE_NAME``, root path, trusted only by Service
Catalog) runs only the catalog's own templates, whose compliance the tests prove on the
templates themselves. It is exempt (``aws:PrincipalArn`` ``ArnNotLike``) only where the
request-context key a guardrail tests is not documented for the fields the catalog sets, so
a key SageMaker fills differently than modelled would refuse every catalog launch:

* ``sagemaker:InstanceTypes`` is "the list of all instance types associated with the
  resource in the request" (Service Authorization Reference): whether that counts a domain's
  or profile's ``HiddenInstanceTypes`` (types hidden because they are NOT to be used) is not
  documented, and the AWS::SageMaker::Domain create/update handlers call
  ``sagemaker:CreateApp`` (registry schema) for default apps of undocumented type. The
  catalog sets no instance type on domains and profiles and has no app resource (tested),
  so the exemption lets it choose none. Spaces are not exempt: the shared-space product
  sets a space's default type from a parameter, which the guardrail must judge.
* ``sagemaker:VpcSubnets`` / ``VpcSecurityGroupIds`` / ``VolumeKmsKey``: which of
  CreateDomain's fields (``SubnetIds``; ``DomainSettings.SecurityGroupIds`` or
  ``DefaultUserSettings.SecurityGroups``; ``KmsKeyId``) feed them is not documented. The
  domain product always sets every one of them (tested).

``sagemaker:AppNetworkAccessType`` is the request's own field of that name, and the domain
product lets the admin choose it, so the launch role is NOT exempt from VpcOnly: a catalog
launch with ``PublicInternetOnly`` is refused, as the guardrail intends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import awacs.sagemaker as sm
from awacs import awsencode
from awacs.aws import (
    ArnLike,
    ArnNotLike,
    Condition,
    ConditionElement,
    Deny,
    ForAnyValueStringNotLike,
    NotIpAddress,
    Null,
    Statement,
    StringNotEquals,
)

from factory import naming
from factory.template import POLICY_VERSION

#: IAM path of the guardrail managed policy: outside :data:`naming.POLICY_PATH`, where the
#: launch role may create, change and attach policies (``policy/studio-catalog/*`` does not
#: match ``policy/studio-catalog-guardrails/...``), so the catalog can never detach or edit
#: the guardrails that bind it.
GUARDRAIL_POLICY_PATH = "/studio-catalog-guardrails/"

#: The Studio JupyterServer app's reserved instance type: "any user will need the system
#: instance allowed to create the default Jupyter Server app" (seed 002, "Limit notebook
#: access to specific instances"). Always allowed; not part of the configurable list.
SYSTEM_INSTANCE_TYPE = "system"

#: SageMaker actions on Studio resources (domain, user profile, space, app) whose requests
#: carry ``sagemaker:InstanceTypes`` (Service Authorization Reference;
#: ``tests/launch/test_guardrails.py`` derives the list from it). CreateApp starts compute;
#: the others set the defaults a CreateApp without ``ResourceSpec`` falls back to (botocore
#: CreateApp ``ResourceSpec``: "overrides the value ... configured for the user profile or
#: the domain"), so guarding CreateApp alone would leave the defaults as a way round.
#:
#: Split by whether the launch role is exempt. Domains and profiles: the catalog sets no
#: instance type on them (tested) but does set ``HiddenInstanceTypes``, types that are by
#: design NOT meant to be used; whether SageMaker counts those as "instance types associated
#: with the resource in the request" is undocumented, so worst case every catalog domain
#: hiding a disallowed type would be refused. CreateApp: the AWS::SageMaker::Domain handlers
#: call it (registry schema) for default apps of undocumented type. Spaces: the shared-space
#: product sets a space's default instance type from a parameter, an admin's choice the
#: guardrail must judge, so nobody is exempt there.
LAUNCH_EXEMPT_INSTANCE_TYPE_ACTIONS = (
    "CreateApp",
    "CreateDomain",
    "CreateUserProfile",
    "UpdateDomain",
    "UpdateUserProfile",
)
SPACE_INSTANCE_TYPE_ACTIONS = ("CreateSpace", "UpdateSpace")
INSTANCE_TYPE_ACTIONS = LAUNCH_EXEMPT_INSTANCE_TYPE_ACTIONS + SPACE_INSTANCE_TYPE_ACTIONS

#: Training and processing jobs must name their person (seed 002, "Enforce tagging").
TAGGED_JOB_ACTIONS = ("CreateTrainingJob", "CreateProcessingJob")

#: "do not grant the CreateAppImageConfig, UpdateAppImageConfig, or DeleteAppImageConfig
#: permissions to SageMaker Studio notebook users" (seed 002, "Root access in SageMaker
#: Studio"): an image config sets the UID/GID a custom image runs as.
APP_IMAGE_CONFIG_ACTIONS = ("CreateAppImageConfig", "UpdateAppImageConfig", "DeleteAppImageConfig")


def role_pattern(name_or_path: str) -> str:
    """``arn:*:iam::*:role/<name_or_path>``: a role of this name or path in every account and
    partition of the organization. ``ArnLike`` matches each of the six ARN fields on its own,
    with ``*`` allowed in each (IAM User Guide, "ARN condition operators")."""
    return f"arn:*:iam::*:role/{name_or_path.lstrip('/')}"


#: Roles people work through: the bootstrap's persona roles (the data scientist opens
#: Studio with one) and every execution role a product creates (notebooks and jobs run as
#: them); both paths come from :mod:`factory.naming`.
NOTEBOOK_ROLE_PATTERNS = (
    role_pattern(naming.PERSONA_ROLE_PATH + "*"),
    role_pattern(naming.EXECUTION_ROLE_PATH + "*"),
)


@dataclass(frozen=True)
class Values:
    """What the documents are built from: literals (the reviewable JSON) or intrinsic
    functions (the template). ``None`` network lists leave that network out."""

    allowed_instance_types: Any
    launch_role_arn: Any
    presigned_url_cidrs: Any = None
    presigned_url_vpce_ids: Any = None


def _except_launch_role(values: Values) -> ConditionElement:
    return ArnNotLike({"aws:PrincipalArn": values.launch_role_arn})


def limit_instance_types(values: Values) -> list[Statement]:
    """Deny Studio apps, and app defaults, on instance types outside the allowed list.

    ``ForAnyValue:StringNotLike``: denied when any type of the request matches none of the
    allowed patterns (seed 002's SCP); a request without instance types is not concerned.
    """
    outside_list = ForAnyValueStringNotLike(
        {"sagemaker:InstanceTypes": values.allowed_instance_types}
    )
    return [
        Statement(
            Sid="StudioAppsOnAllowedInstanceTypes",
            Effect=Deny,
            Action=[getattr(sm, name) for name in LAUNCH_EXEMPT_INSTANCE_TYPE_ACTIONS],
            Resource=["*"],
            Condition=Condition([outside_list, _except_launch_role(values)]),
        ),
        Statement(
            Sid="StudioSpacesOnAllowedInstanceTypes",
            Effect=Deny,
            Action=[getattr(sm, name) for name in SPACE_INSTANCE_TYPE_ACTIONS],
            Resource=["*"],
            Condition=Condition(outside_list),
        ),
    ]


def vpc_only_domains(values: Values) -> list[Statement]:
    """Deny domains that are not VpcOnly, or lack subnets or security groups.

    Separate statements, because statements OR together where one condition block ANDs its
    operators: seed 002's single statement denies only a domain that is not VpcOnly AND has
    no subnets AND no security groups, so a PublicInternetOnly domain with subnets passes it.
    CreateDomain without ``AppNetworkAccessType`` is PublicInternetOnly (botocore
    CreateDomain: "The default value is PublicInternetOnly"), hence ``StringNotEquals``,
    true on an absent key (IAM User Guide, "Condition operators"). UpdateDomain requests
    omit the field unless they change it, so there the key must also be present
    (``Null: false``); ``StringNotEqualsIfExists`` would not do, as ``...IfExists`` is true
    on an absent key and would deny every other update.
    """
    vpc_only = {"sagemaker:AppNetworkAccessType": "VpcOnly"}
    return [
        Statement(
            Sid="StudioDomainsAreVpcOnly",
            Effect=Deny,
            Action=[sm.CreateDomain],
            Resource=["*"],
            Condition=Condition(StringNotEquals(vpc_only)),
        ),
        Statement(
            Sid="StudioDomainsStayVpcOnly",
            Effect=Deny,
            Action=[sm.UpdateDomain],
            Resource=["*"],
            Condition=Condition(
                [StringNotEquals(vpc_only), Null({"sagemaker:AppNetworkAccessType": "false"})]
            ),
        ),
        _require_on_create_domain("StudioDomainsHaveSubnets", "sagemaker:VpcSubnets", values),
        _require_on_create_domain(
            "StudioDomainsHaveSecurityGroups", "sagemaker:VpcSecurityGroupIds", values
        ),
    ]


def domain_kms_key(values: Values) -> list[Statement]:
    """Deny domains without a KMS key (``sagemaker:VolumeKmsKey``, a CreateDomain condition
    key in the Service Authorization Reference)."""
    return [_require_on_create_domain("StudioDomainsHaveKmsKey", "sagemaker:VolumeKmsKey", values)]


def _require_on_create_domain(sid: str, key: str, values: Values) -> Statement:
    return Statement(
        Sid=sid,
        Effect=Deny,
        Action=[sm.CreateDomain],
        Resource=["*"],
        Condition=Condition([Null({key: "true"}), _except_launch_role(values)]),
    )


def presigned_url_networks(values: Values) -> list[Statement]:
    """Deny opening Studio (IAM domains) except from the allowed CIDRs or VPC endpoints.

    One statement whose operators AND: denied when the request is neither from an allowed
    CIDR nor through an allowed endpoint. Both negated operators are true on an absent key
    (IAM User Guide, "Condition operators"), and "aws:SourceIp is always included in the
    request, except for requests that use an Amazon VPC endpoint", while ``aws:SourceVpce``
    is "only included when the requester uses a VPC endpoint" (AWS re:Post Knowledge Center,
    "iam-restrict-access-policy"), so the two networks are alternatives, never both
    required. Two separate Deny statements would require both, which no request can meet.
    No ``aws:ViaAWSService`` exception: no service calls CreatePresignedDomainUrl for a
    person.
    """
    elements: list[ConditionElement] = []
    if values.presigned_url_cidrs is not None:
        elements.append(NotIpAddress({"aws:SourceIp": values.presigned_url_cidrs}))
    if values.presigned_url_vpce_ids is not None:
        elements.append(StringNotEquals({"aws:SourceVpce": values.presigned_url_vpce_ids}))
    if not elements:
        raise ValueError("presigned-url-networks needs CIDRs, VPC endpoint IDs or both")
    return [
        Statement(
            Sid="OpenStudioOnlyFromAllowedNetworks",
            Effect=Deny,
            Action=[sm.CreatePresignedDomainUrl],
            Resource=["*"],
            Condition=Condition(elements),
        )
    ]


def job_user_tag(values: Values) -> list[Statement]:
    """Deny training and processing jobs created without the ``studiouserid`` tag."""
    del values  # applies to every principal; the launch role creates no jobs
    return [
        Statement(
            Sid="StudioJobsNameTheirPerson",
            Effect=Deny,
            Action=[getattr(sm, name) for name in TAGGED_JOB_ACTIONS],
            Resource=["*"],
            Condition=Condition(Null({f"aws:RequestTag/{naming.USER_TAG}": "true"})),
        )
    ]


def app_image_configs(values: Values) -> list[Statement]:
    """Deny image-config writes to notebook users: any principal carrying a ``studiouserid``
    tag (federated people, per-person roles), and the catalog's persona and execution roles
    (the team role carries no person tag). Two statements: either is enough to deny."""
    del values
    image_configs = [getattr(sm, name) for name in APP_IMAGE_CONFIG_ACTIONS]
    return [
        Statement(
            Sid="PeopleKeepStudioImageConfigs",
            Effect=Deny,
            Action=image_configs,
            Resource=["*"],
            Condition=Condition(Null({f"aws:PrincipalTag/{naming.USER_TAG}": "false"})),
        ),
        Statement(
            Sid="CatalogRolesKeepStudioImageConfigs",
            Effect=Deny,
            Action=image_configs,
            Resource=["*"],
            Condition=Condition(ArnLike({"aws:PrincipalArn": list(NOTEBOOK_ROLE_PATTERNS)})),
        ),
    ]


@dataclass(frozen=True)
class Guardrail:
    name: str
    title: str
    build: Callable[[Values], list[Statement]]


GUARDRAILS: tuple[Guardrail, ...] = (
    Guardrail(
        "limit-instance-types",
        "Studio runs only the allowed instance types (and system)",
        limit_instance_types,
    ),
    Guardrail(
        "vpc-only-domains",
        "Studio domains are VpcOnly with subnets and security groups",
        vpc_only_domains,
    ),
    Guardrail("domain-kms-key", "Studio domains are created with a KMS key", domain_kms_key),
    Guardrail(
        "presigned-url-networks",
        "Studio opens only from the allowed CIDRs or VPC endpoints",
        presigned_url_networks,
    ),
    Guardrail(
        "job-user-tag", "Training and processing jobs carry the studiouserid tag", job_user_tag
    ),
    Guardrail(
        "app-image-configs", "Notebook users never change Studio image configs", app_image_configs
    ),
)

BY_NAME = {g.name: g for g in GUARDRAILS}

#: Sample values of the reviewable documents where the template has a parameter: the
#: whitepaper's documentation CIDRs (RFC 5737) and an endpoint ID of the EC2 API's shape.
SAMPLE_CIDRS = ("192.0.2.0/24", "203.0.113.0/24")
SAMPLE_VPCE_IDS = ("vpce-0123456789abcdef0",)


def allowed_instance_types(configured: Sequence[str]) -> list[str]:
    """The configured list plus :data:`SYSTEM_INSTANCE_TYPE`, last (as in seed 002)."""
    return [*configured, SYSTEM_INSTANCE_TYPE]


#: Seed 002's example list ("Limit notebook access to specific instances"); ml.t3.medium is
#: also the default instance type of JupyterLab and Code Editor spaces.
DEFAULT_ALLOWED_INSTANCE_TYPES = ("ml.t3.medium", "ml.m5.large", "ml.c5.large")


def sample_values(instance_types: Sequence[str]) -> Values:
    return Values(
        allowed_instance_types=allowed_instance_types(instance_types),
        launch_role_arn=role_pattern(naming.DEFAULT_LAUNCH_ROLE_NAME),
        presigned_url_cidrs=list(SAMPLE_CIDRS),
        presigned_url_vpce_ids=list(SAMPLE_VPCE_IDS),
    )


def document(statements: list[Statement]) -> dict[str, Any]:
    """A plain policy document (JSON-ready)."""
    plain = json.loads(json.dumps(statements, cls=awsencode))
    return {"Version": POLICY_VERSION, "Statement": plain}


def documents(
    instance_types: Sequence[str] = DEFAULT_ALLOWED_INSTANCE_TYPES,
) -> dict[str, dict[str, Any]]:
    """Every guardrail as its own policy document, keyed by guardrail name: the allowed
    instance types given (the template's generator option), the default launch role name
    and the sample networks."""
    values = sample_values(instance_types)
    return {g.name: document(g.build(values)) for g in GUARDRAILS}


#: Where the reviewable documents go (``launch/guardrails/<name>.json``).
DOCUMENT_DIR = "launch/guardrails"


def document_text(doc: dict[str, Any]) -> str:
    """Deterministic, reviewable JSON: two-space indent, keys in document order."""
    return json.dumps(doc, indent=2) + "\n"


def files(instance_types: Sequence[str] = DEFAULT_ALLOWED_INSTANCE_TYPES) -> dict[str, str]:
    """``{"launch/guardrails/<name>.json": text}`` for every guardrail."""
    return {
        f"{DOCUMENT_DIR}/{name}.json": document_text(doc)
        for name, doc in documents(instance_types).items()
    }
