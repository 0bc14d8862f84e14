"""Schema of the portfolio definitions in `portfolios/*.yaml` ("portfolios as code").

A portfolio file is a Jinja2 template rendered with `env` (see `Environment`) and then parsed as
YAML into `PortfolioFile`. The models only describe one file; checks that need every file
(unique ids, product references, template files) live in `factory.portfolio.loader`.

Validators that concern one element of a list raise `rule_error(..., at=(index, ...))`: the
`at` context entry tells the loader where below the validated field the problem is, so that
errors point at the offending YAML line rather than at the start of the list.

Regenerate `portfolios/schema.json` after changing a model::

    python -m factory.portfolio.models            # writes portfolios/schema.json
    python -m factory.portfolio.models --check    # exit 1 when the file is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import botocore.session
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from factory import naming
from factory.aws import TAG_PORTFOLIO, TAG_PRODUCT

DEFAULT_LAUNCH_ROLE_NAME = "StudioCatalogLaunchRole"
"""Launch role created in every account by the bootstrap stack."""

SCHEMA_PATH = Path("portfolios/schema.json")
"""Where `python -m factory.portfolio.models` writes the JSON schema (relative to the repo)."""

# --- service limits -------------------------------------------------------------------------
# Lengths and counts the Service Catalog API enforces, read from botocore's service model (the
# API Reference's "Length Constraints" come from the same model) rather than copied, so that a
# botocore upgrade that changes a limit changes the schema (`--check` then reports it).

_SERVICE_MODEL = botocore.session.get_session().get_service_model("servicecatalog")


def _shape_limits(shape: str) -> dict[str, Any]:
    """`min`/`max`/`pattern` of a shape of the Service Catalog model."""
    return dict(_SERVICE_MODEL.shape_for(shape).metadata)


def _member_limits(operation: str, member: str) -> dict[str, Any]:
    """Limits of one input member of an operation (e.g. CreatePortfolio Tags: max 20)."""
    return dict(_SERVICE_MODEL.operation_model(operation).input_shape.members[member].metadata)


def _lengths(shape: str) -> dict[str, int]:
    """`Field` keyword arguments for the length constraints of a string shape."""
    limits = _shape_limits(shape)
    lengths = {"max_length": limits["max"]}
    if limits.get("min"):
        lengths["min_length"] = limits["min"]
    return lengths


TAG_KEY_LIMITS = _shape_limits("TagKey")  # min 1, max 128
TAG_VALUE_LIMITS = _shape_limits("TagValue")  # min 1: the API rejects empty tag values
TAG_OPTION_KEY_LIMITS = _shape_limits("TagOptionKey")  # min 1, max 128
TAG_OPTION_VALUE_LIMITS = _shape_limits("TagOptionValue")  # min 1, max 256
#: Tags per portfolio / product: CreatePortfolio/CreateProduct `Tags` (AddTags, max 20).
MAX_PORTFOLIO_TAGS = _member_limits("CreatePortfolio", "Tags")["max"]
MAX_PRODUCT_TAGS = _member_limits("CreateProduct", "Tags")["max"]
#: NOTIFICATION constraint topics: the `NotificationArns` shape (max 5).
MAX_NOTIFICATION_ARNS = _shape_limits("NotificationArns")["max"]
#: TagOptions associated with one portfolio or one product. Not in the model: Service Catalog
#: quotas ("TagOptions per resource: 25", General Reference "Service Catalog endpoints and
#: quotas", recorded in FIELD-NOTES "Quotas and API facts"). Every value of a key is its own
#: TagOption (CreateTagOption takes one Key and one Value), so each value counts.
MAX_TAG_OPTIONS_PER_RESOURCE = 25

#: The publisher's own tag namespace: it tags portfolios with TAG_PORTFOLIO and products with
#: TAG_PRODUCT and finds its resources by them (factory/aws.py). User tags in it would
#: overwrite or impersonate them, and product tags propagate to every launched resource.
PUBLISHER_TAG_PREFIX = TAG_PORTFOLIO.split(":", 1)[0] + ":"
assert TAG_PRODUCT.startswith(PUBLISHER_TAG_PREFIX)

# --- patterns -------------------------------------------------------------------------------
# Kept ECMA-262 compatible: they end up in schema.json, which editors evaluate.

_PARTITION = r"aws(?:-[a-z]+)*"
_IAM_NAME = r"[A-Za-z0-9_+=,.@-]+"

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
TEMPLATE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
ORGANIZATION_ID_PATTERN = r"^o-[a-z0-9]{10,32}$"
OU_ID_PATTERN = r"^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$"
ROLE_NAME_PATTERN = r"^[A-Za-z0-9_+=,.@-]{1,64}$"
REGION_PATTERN = r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$"
ROLE_ARN_PATTERN = rf"^arn:{_PARTITION}:iam::[0-9]{{12}}:role/(?:{_IAM_NAME}/)*{_IAM_NAME}$"
PRINCIPAL_ARN_PATTERN = (
    rf"^arn:{_PARTITION}:iam::(?:[0-9]{{12}})?:(?:role|user|group)/[A-Za-z0-9_+=,.@*?/-]+$"
)
SNS_TOPIC_ARN_PATTERN = (
    rf"^arn:{_PARTITION}:sns:[a-z]{{2}}(?:-[a-z]+)+-[0-9]+:[0-9]{{12}}:[A-Za-z0-9_-]{{1,256}}$"
)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
RULE_NAME_PATTERN = r"^[A-Za-z0-9]{1,255}$"

PATTERN_HELP: dict[str, str] = {
    SLUG_PATTERN: "lowercase letters, digits and inner hyphens, e.g. 'studio-domain'",
    IDENTIFIER_PATTERN: "a name usable in templates: letters, digits and '_', e.g. 'workload'",
    TEMPLATE_NAME_PATTERN: "a file name in templates/ without '.yaml', e.g. 'studio-domain'",
    ACCOUNT_ID_PATTERN: "a 12-digit AWS account id in quotes, e.g. '111111111111'",
    REGION_PATTERN: "an AWS region name, e.g. 'eu-west-1'",
    ROLE_NAME_PATTERN: "an IAM role name (1-64 of A-Z a-z 0-9 _+=,.@-), no path",
    ROLE_ARN_PATTERN: "an IAM role ARN, e.g. 'arn:aws:iam::111111111111:role/Name'",
    PRINCIPAL_ARN_PATTERN: "an IAM role, user or group ARN",
    SNS_TOPIC_ARN_PATTERN: "an SNS topic ARN, e.g. 'arn:aws:sns:eu-west-1:111111111111:topic'",
    EMAIL_PATTERN: "an e-mail address, e.g. 'ml-platform@example.com'",
    URL_PATTERN: "an http:// or https:// URL",
    RULE_NAME_PATTERN: "an alphanumeric rule name, e.g. 'RestrictInstanceTypes'",
}
"""Plain-language description of each pattern, used in error messages."""

# Condition functions allowed at the top of a CloudFormation rule `Assert` / `RuleCondition`.
RULE_CONDITION_FUNCTIONS = (
    "Fn::And",
    "Fn::Contains",
    "Fn::EachMemberEquals",
    "Fn::EachMemberIn",
    "Fn::Equals",
    "Fn::Not",
    "Fn::Or",
)


def rule_error(message: str, *, at: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """An error for a rule that a field type cannot express.

    `at` is the location of the offending value relative to the validated field or model; the
    loader appends it to the pydantic `loc`. The message is passed through a `{message}`
    placeholder so that braces in user values are never interpreted.
    """
    return PydanticCustomError("portfolio_rule", "{message}", {"at": at, "message": message})


# --- reusable field types --------------------------------------------------------------------


def _check_tag_key(key: str) -> str:
    if key[:4].lower() == "aws:":
        raise rule_error(f"tag keys must not start with 'aws:' (reserved by AWS), got {key!r}")
    if key.startswith(PUBLISHER_TAG_PREFIX):
        raise rule_error(
            f"tag keys starting with {PUBLISHER_TAG_PREFIX!r} are reserved for the publisher "
            f"({TAG_PORTFOLIO}, {TAG_PRODUCT}); choose another key, got {key!r}"
        )
    return _check_tag_characters(key)


def _check_tag_value(value: str) -> str:
    # TagValue: "Length Constraints: Minimum length of 1" (botocore model / API Reference Tag).
    if len(value) < TAG_VALUE_LIMITS["min"]:
        raise rule_error(
            "tag values must not be empty (Service Catalog rejects them); give a value or "
            "remove the tag (an env value that renders empty does this too)"
        )
    return _check_tag_characters(value)


def _check_tag_option_value(value: str) -> str:
    # TagOptionValue: minimum length 1 (botocore model / API Reference CreateTagOption).
    if len(value) < TAG_OPTION_VALUE_LIMITS["min"]:
        raise rule_error(
            "TagOption values must not be empty (Service Catalog rejects them); give a value "
            "or remove it (an env value that renders empty does this too)"
        )
    return _check_tag_characters(value)


def _check_tag_characters(text: str) -> str:
    for char in text:
        if unicodedata.category(char)[0] not in "LNZ" and char not in "_.:/=+-@":
            raise rule_error(
                f"character {char!r} is not allowed in tags: use letters, digits, spaces "
                f"and _ . : / = + - @, got {text!r}"
            )
    return text


def _check_rule_function(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) != 1 or next(iter(value)) not in RULE_CONDITION_FUNCTIONS:
        raise rule_error(
            "must be one rule condition function ("
            + ", ".join(RULE_CONDITION_FUNCTIONS)
            + f") written in long form, got keys {sorted(value)}"
        )
    return value


Slug = Annotated[str, Field(max_length=64, pattern=SLUG_PATTERN)]
Identifier = Annotated[str, Field(max_length=64, pattern=IDENTIFIER_PATTERN)]
AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, examples=["111111111111"])]
# Not re.escape: its `\-` is invalid in the ECMA-262 (unicode) patterns editors evaluate.
_RESERVED_KEY_PATTERN = "^(?:[aA][wW][sS]:|{})".format(
    re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", PUBLISHER_TAG_PREFIX)
)
TagKey = Annotated[
    str,
    Field(
        min_length=TAG_KEY_LIMITS["min"],
        max_length=TAG_KEY_LIMITS["max"],
        json_schema_extra={"not": {"pattern": _RESERVED_KEY_PATTERN}},
    ),
    AfterValidator(_check_tag_key),
]
TagOptionKey = Annotated[
    str,
    Field(
        min_length=TAG_OPTION_KEY_LIMITS["min"],
        max_length=TAG_OPTION_KEY_LIMITS["max"],
        json_schema_extra={"not": {"pattern": _RESERVED_KEY_PATTERN}},
    ),
    AfterValidator(_check_tag_key),
]
# The minimum length is checked by the validator (a clearer message), declared for editors.
TagValue = Annotated[
    str,
    Field(max_length=TAG_VALUE_LIMITS["max"], json_schema_extra={"minLength": 1}),
    AfterValidator(_check_tag_value),
]
TagOptionValue = Annotated[
    str,
    Field(max_length=TAG_OPTION_VALUE_LIMITS["max"], json_schema_extra={"minLength": 1}),
    AfterValidator(_check_tag_option_value),
]
_TAG_RULES = (
    f"keys 1-{TAG_KEY_LIMITS['max']} characters not starting with 'aws:' or "
    f"{PUBLISHER_TAG_PREFIX!r}, values 1-{TAG_VALUE_LIMITS['max']} characters"
)
Tags = Annotated[
    dict[TagKey, TagValue],
    Field(examples=[{"CostCenter": "CC-1234", "Team": "ml-platform"}]),
]


def _check_tag_count(tags: dict[str, str], limit: int, own_tag: str, kind: str) -> None:
    """The publisher adds `own_tag`, so the user may set one tag less than the quota."""
    if len(tags) + 1 > limit:
        raise rule_error(
            f"at most {limit - 1} tags: Service Catalog allows {limit} per {kind} and the "
            f"publisher adds its own {own_tag!r} tag; found {len(tags)}, remove "
            f"{len(tags) + 1 - limit}",
            at=(list(tags)[limit - 1],),
        )


RuleFunction = Annotated[
    dict[str, Any],
    Field(
        json_schema_extra={
            "minProperties": 1,
            "maxProperties": 1,
            "propertyNames": {"enum": list(RULE_CONDITION_FUNCTIONS)},
        }
    ),
    AfterValidator(_check_rule_function),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duplicates(values: Sequence[object]) -> list[int]:
    """Indexes of the values that already occurred earlier in `values`."""
    seen: set[object] = set()
    repeated = []
    for index, value in enumerate(values):
        if value in seen:
            repeated.append(index)
        seen.add(value)
    return repeated


# --- bootstrap rollout (`bootstrap:` in an environment file) ---------------------------------
# Read by `studio-factory bootstrap` (factory.rollout): the bootstrap stack as a StackSet in
# every account the portfolios reach. Names and limits from botocore's cloudformation model
# (CreateStackSetInput, StackSetOperationPreferences, AutoDeployment).

STACK_SET_NAME_PATTERN = r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$"
PARAMETER_KEY_PATTERN = r"^[A-Za-z0-9]{1,255}$"


class OperationPreferences(_Model):
    """How a StackSet operation proceeds (StackSetOperationPreferences, botocore model)."""

    region_order: list[Annotated[str, Field(pattern=REGION_PATTERN)]] = Field(
        default_factory=list,
        description="Regions in this order first (RegionOrder); default: the environment's.",
    )
    region_concurrency: Literal["SEQUENTIAL", "PARALLEL"] = Field(
        "SEQUENTIAL", description="One region at a time (default) or all at once."
    )
    max_concurrent_percentage: int = Field(
        25, ge=1, le=100, description="Accounts deployed at once per region, in percent."
    )
    failure_tolerance_percentage: int = Field(
        0,
        ge=0,
        le=100,
        description="Failed accounts per region (percent) before the operation stops.",
    )

    @field_validator("region_order")
    @classmethod
    def _unique_region_order(cls, regions: list[str]) -> list[str]:
        for index in _duplicates(regions):
            raise rule_error(f"region {regions[index]!r} is listed twice", at=(index,))
        return regions


class Bootstrap(_Model):
    """The bootstrap stack as a StackSet (`studio-factory bootstrap plan|deploy|status`)."""

    stack_set_name: str = Field(
        naming.DEFAULT_STACK_SET_NAME,
        pattern=STACK_SET_NAME_PATTERN,
        description="StackSet name (letters, digits, hyphens; starts with a letter).",
    )
    admin_region: Annotated[str, Field(pattern=REGION_PATTERN)] | None = Field(
        None,
        description="Region the StackSet lives in (its administration region); default: the "
        "environment's first region. `bootstrap --admin-region` and the publisher's coverage "
        "check use it.",
        examples=["eu-west-1"],
    )
    permission_model: Literal["SERVICE_MANAGED", "SELF_MANAGED"] = Field(
        "SERVICE_MANAGED",
        description="SERVICE_MANAGED: AWS Organizations targets (OUs), automatic deployment to "
        "accounts that join them. SELF_MANAGED: account targets, with the administration and "
        "execution roles you created.",
    )
    call_as: Literal["SELF", "DELEGATED_ADMIN"] = Field(
        "SELF",
        description="SELF in the management account; DELEGATED_ADMIN in a member account "
        "registered as StackSets delegated administrator (service-managed only).",
    )
    auto_deployment: bool = Field(
        True, description="Deploy to accounts that join a target OU (service-managed only)."
    )
    retain_stacks_on_account_removal: bool = Field(
        False, description="Keep the stack when an account leaves a target OU."
    )
    administration_role_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        description="Self-managed: the administration role (default: "
        "AWSCloudFormationStackSetAdministrationRole of the calling account).",
    )
    execution_role_name: str = Field(
        "AWSCloudFormationStackSetExecutionRole",
        pattern=r"^[a-zA-Z_0-9+=,.@-]{1,64}$",
        description="Self-managed: the role StackSets assumes in each target account.",
    )
    parameters: dict[Annotated[str, Field(pattern=PARAMETER_KEY_PATTERN)], str] = Field(
        default_factory=dict,
        description="Bootstrap template parameters (e.g. LaunchRoleName, "
        "CloudAdminPrincipalArnPattern); others keep the template's defaults.",
        examples=[{"LaunchRoleName": "StudioCatalogLaunchRole"}],
    )
    operation_preferences: OperationPreferences = Field(default_factory=OperationPreferences)

    @model_validator(mode="after")
    def _service_managed_options(self) -> Bootstrap:
        if self.permission_model == "SELF_MANAGED" and self.call_as == "DELEGATED_ADMIN":
            raise rule_error(
                "call_as DELEGATED_ADMIN is valid only with permission_model SERVICE_MANAGED "
                "(CreateStackSet, CallAs)",
                at=("call_as",),
            )
        return self


# --- environment ----------------------------------------------------------------------------

_RESERVED_ENV_KEYS = frozenset({"name", "accounts", "regions", "bootstrap"})


class Environment(_Model):
    """Per-environment values (`portfolios/environments/<name>.yaml`).

    Portfolio files see them as `env`: `{{ env.name }}`, `{{ env.accounts.<key> }}` and every
    key of `values` directly, e.g. `{{ env.support_email }}`.
    """

    name: Slug = Field(
        description="Environment name; must match the file name (dev.yaml -> dev).",
        examples=["dev", "prod"],
    )
    accounts: dict[Identifier, AccountId] = Field(
        default_factory=dict,
        description="Named AWS account ids, as quoted strings (`{{ env.accounts.<key> }}`).",
        examples=[{"catalog": "111111111111", "workload": "222222222222"}],
    )
    regions: list[Annotated[str, Field(pattern=REGION_PATTERN)]] = Field(
        default_factory=list,
        description="Regions the catalog is published to when no --region is given "
        "(`{{ env.regions }}`). Notification topics must be in each of them.",
        examples=[["eu-west-1"]],
    )
    values: dict[Identifier, Any] = Field(
        default_factory=dict,
        description="Free-form values, available as `{{ env.<key> }}`.",
        examples=[{"support_email": "ml-platform@example.com"}],
    )
    bootstrap: Bootstrap | None = Field(
        None,
        description="The bootstrap stack as a StackSet (`studio-factory bootstrap`); "
        "absent: service-managed defaults.",
    )

    @field_validator("regions")
    @classmethod
    def _unique_regions(cls, regions: list[str]) -> list[str]:
        for index in _duplicates(regions):
            raise rule_error(f"region {regions[index]!r} is listed twice", at=(index,))
        return regions

    @field_validator("values")
    @classmethod
    def _no_reserved_keys(cls, values: dict[str, Any]) -> dict[str, Any]:
        for key in values:
            if key in _RESERVED_ENV_KEYS:
                raise rule_error(
                    f"'{key}' is reserved (env.{key} is set from the top-level '{key}')",
                    at=(key,),
                )
        return values

    def template_context(self) -> dict[str, Any]:
        """The mapping exposed to portfolio templates as `env`."""
        return {
            **self.values,
            "name": self.name,
            "accounts": dict(self.accounts),
            "regions": list(self.regions),
        }


# --- principals -----------------------------------------------------------------------------


def principal_arn_problem(arn: str, principal_type: str) -> str | None:
    """Why `arn` is not valid for `principal_type`, or None when it is."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return f"not an ARN (arn:<partition>:iam:<empty>:<account>:<type>/<name>): {arn!r}"
    _, partition, service, region, account, resource = parts
    if not re.fullmatch(_PARTITION, partition) or service != "iam" or region:
        return (
            "expected arn:<partition>:iam:: followed by the account, e.g. "
            f"'arn:aws:iam::111111111111:role/Name', got {arn!r}"
        )
    if principal_type == "IAM_PATTERN":
        if account:
            return (
                "IAM_PATTERN principals must leave the account field empty "
                f"('arn:aws:iam:::role/path/name-*'), got account {account!r} in {arn!r}"
            )
        name_chars = r"[A-Za-z0-9_+=,.@*?-]+"
    else:
        if not re.fullmatch(r"[0-9]{12}", account):
            hint = " (account-less ARNs need type IAM_PATTERN)" if not account else ""
            return f"IAM principals need a 12-digit account id{hint}, got {arn!r}"
        if "*" in resource or "?" in resource:
            return f"wildcards (* ?) are only allowed with type IAM_PATTERN, got {arn!r}"
        name_chars = _IAM_NAME
    if not re.fullmatch(rf"(?:role|user|group)/(?:{name_chars}/)*{name_chars}", resource):
        wildcards = " ('*' and '?' only there)" if principal_type == "IAM_PATTERN" else ""
        return (
            f"the resource must be role/, user/ or group/ followed by an optional path and a "
            f"name{wildcards}, got {resource!r}"
        )
    return None


class Principal(_Model):
    """An IAM principal allowed to launch the portfolio's products."""

    arn: str = Field(
        min_length=1,
        max_length=1000,
        description="IAM: a full role/user/group ARN with a 12-digit account. IAM_PATTERN: the "
        "account field left empty (arn:aws:iam:::role/...), '*' and '?' allowed in the path "
        "and name only. Patterns are matched in every account the portfolio is shared with "
        "(requires sharing.share_principals).",
        examples=[
            "arn:aws:iam::111111111111:role/StudioCatalogCloudAdminRole",
            "arn:aws:iam:::role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_CloudAdmin_*",
        ],
        json_schema_extra={"pattern": PRINCIPAL_ARN_PATTERN},
    )
    type: Literal["IAM", "IAM_PATTERN"] = Field(
        description="IAM for one principal, IAM_PATTERN for an account-less (wildcard) ARN; "
        "at most 10 IAM_PATTERN principals per portfolio.",
    )

    @model_validator(mode="after")
    def _check_arn(self) -> Principal:
        problem = principal_arn_problem(self.arn, self.type)
        if problem:
            raise rule_error(problem, at=("arn",))
        return self


# --- products -------------------------------------------------------------------------------


class Support(_Model):
    """Support details shown to end users in the Service Catalog console."""

    email: str | None = Field(
        None, max_length=254, pattern=EMAIL_PATTERN, examples=["ml-platform@example.com"]
    )
    url: str | None = Field(
        None, max_length=2083, pattern=URL_PATTERN, examples=["https://wiki.example.com/studio"]
    )
    description: str | None = Field(None, max_length=8191)


class VersionPolicy(_Model):
    """Which provisioning artifacts (product versions) the publisher keeps.

    Newest first: `keep_active` versions stay active (the newest one is DEFAULT), the next
    `keep_deprecated` are DEPRECATED (still usable by existing provisioned products, not for
    new launches), older ones are deactivated.
    """

    keep_active: int = Field(3, ge=1, le=50, description="Versions kept active.")
    keep_deprecated: int = Field(
        2, ge=0, le=98, description="Versions kept DEPRECATED after the active ones."
    )
    delete_inactive: bool = Field(
        False,
        description="Delete deactivated versions; a version is only deleted when no "
        "provisioned product uses it.",
    )

    @model_validator(mode="after")
    def _fits_service_quota(self) -> VersionPolicy:
        if self.keep_active + self.keep_deprecated >= 100:
            raise rule_error(
                "keep_active + keep_deprecated must be below 100 (Service Catalog allows 100 "
                "versions per product and publishing needs a free slot), got "
                f"{self.keep_active} + {self.keep_deprecated}",
                at=("keep_deprecated",),
            )
        return self


class Product(_Model):
    """A Service Catalog product: one CloudFormation template, published as versions.

    Defined once under the top-level `products:` and added to portfolios by id.
    """

    id: Slug = Field(
        description="Stable key used to reference the product; unique across all files.",
        examples=["studio-domain"],
    )
    template: str = Field(
        max_length=128,
        pattern=TEMPLATE_NAME_PATTERN,
        description="Template file in templates/ without the extension.",
        examples=["studio-domain", "studio-user-profile"],
    )
    display_name: str = Field(min_length=1, max_length=8191, examples=["SageMaker Studio domain"])
    owner: str = Field(min_length=1, max_length=8191, examples=["ML Platform team"])
    description: str = Field("", max_length=8191)
    distributor: str = Field("", max_length=8191)
    support: Support = Field(default_factory=Support)
    tags: Tags = Field(
        default_factory=dict,
        description=f"AWS tags ({_TAG_RULES}), at most {MAX_PRODUCT_TAGS - 1}: Service Catalog "
        f"allows {MAX_PRODUCT_TAGS} and the publisher adds {TAG_PRODUCT}. Product tags "
        "propagate to every resource launched from the product.",
        json_schema_extra={"maxProperties": MAX_PRODUCT_TAGS - 1},
    )
    version_policy: VersionPolicy = Field(default_factory=VersionPolicy)

    @field_validator("tags")
    @classmethod
    def _tag_count(cls, tags: dict[str, str]) -> dict[str, str]:
        _check_tag_count(tags, MAX_PRODUCT_TAGS, TAG_PRODUCT, "product")
        return tags


# --- portfolio content ----------------------------------------------------------------------


class LaunchRole(_Model):
    """The LAUNCH constraint: the role CloudFormation uses to provision the product.

    Give exactly one of `local_role_name` (resolved in the account where the product is
    launched, so it works for shared portfolios) or `arn`.
    """

    local_role_name: str | None = Field(
        None,
        pattern=ROLE_NAME_PATTERN,
        description="Name of a role that exists in every launching account.",
        examples=[DEFAULT_LAUNCH_ROLE_NAME],
    )
    arn: str | None = Field(
        None,
        pattern=ROLE_ARN_PATTERN,
        description="Full role ARN (single-account portfolios only).",
        examples=["arn:aws:iam::111111111111:role/StudioCatalogLaunchRole"],
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> LaunchRole:
        if (self.local_role_name is None) == (self.arn is None):
            raise rule_error("give exactly one of 'local_role_name' or 'arn'")
        return self

    def constraint_parameters(self) -> dict[str, str]:
        """The `Parameters` document of the LAUNCH constraint."""
        if self.local_role_name is not None:
            return {"LocalRoleName": self.local_role_name}
        return {"RoleArn": str(self.arn)}


class RuleAssertion(_Model):
    """One assertion of a template constraint rule."""

    Assert: RuleFunction = Field(
        description="Rule condition function in long form, e.g. {'Fn::Contains': [...]}.",
        examples=[{"Fn::Contains": [["ml.t3.medium"], {"Ref": "InstanceType"}]}],
    )
    AssertDescription: str = Field(
        min_length=1,
        description="Message shown to the end user when the assertion fails.",
    )


class TemplateRule(_Model):
    """A TEMPLATE constraint rule (CloudFormation `Rules` syntax)."""

    RuleCondition: RuleFunction | None = Field(
        None, description="Apply the assertions only when this condition holds."
    )
    Assertions: list[RuleAssertion] = Field(min_length=1)


class ProductRef(_Model):
    """A product in a portfolio, with the constraints that apply in that portfolio."""

    product: Slug = Field(description="Id of a product under `products:` in any file.")
    launch_role: LaunchRole = Field(
        default_factory=lambda: LaunchRole(local_role_name=DEFAULT_LAUNCH_ROLE_NAME),
        description="LAUNCH constraint; defaults to the bootstrap stack's "
        f"{DEFAULT_LAUNCH_ROLE_NAME}.",
    )
    tag_updates: Literal["ALLOWED", "NOT_ALLOWED"] = Field(
        "NOT_ALLOWED",
        description="RESOURCE_UPDATE constraint. Keep NOT_ALLOWED for SageMaker Domains and "
        "UserProfiles: changing their tags replaces the resource (and its home directory).",
    )
    template_rules: dict[Annotated[str, Field(pattern=RULE_NAME_PATTERN)], TemplateRule] = Field(
        default_factory=dict,
        description="TEMPLATE constraint `Rules`, by rule name.",
    )
    notification_arns: list[Annotated[str, Field(pattern=SNS_TOPIC_ARN_PATTERN)]] = Field(
        default_factory=list,
        max_length=MAX_NOTIFICATION_ARNS,
        description="NOTIFICATION constraint: SNS topics receiving stack events (at most "
        f"{MAX_NOTIFICATION_ARNS}), in the region the catalog is published to.",
    )

    @field_validator("notification_arns")
    @classmethod
    def _unique_topics(cls, arns: list[str]) -> list[str]:
        for index in _duplicates(arns):
            raise rule_error(f"duplicate topic {arns[index]!r}", at=(index,))
        return arns

    def template_constraint_rules(self) -> dict[str, Any]:
        """The `Rules` of the TEMPLATE constraint, in CloudFormation form."""
        return {
            name: rule.model_dump(exclude_none=True) for name, rule in self.template_rules.items()
        }


def _attach_to_tag(value: Any) -> str | None:
    if value == "portfolio":
        return "portfolio"
    return "products" if isinstance(value, list) else None


AttachTo = Annotated[
    Annotated[Literal["portfolio"], Tag("portfolio")] | Annotated[list[Slug], Tag("products")],
    Discriminator(
        _attach_to_tag,
        custom_error_type="attach_to",
        custom_error_message="must be 'portfolio' or a list of product ids of this portfolio",
    ),
]


class TagOption(_Model):
    """A TagOption: a tag key whose value end users pick from `values` when launching."""

    key: TagOptionKey = Field(examples=["CostCenter"])
    values: list[TagOptionValue] = Field(
        min_length=1,
        description="Each value is one TagOption; a portfolio or product can have at most "
        f"{MAX_TAG_OPTIONS_PER_RESOURCE}.",
        examples=[["CC-1001", "CC-1002"]],
        json_schema_extra={"maxItems": MAX_TAG_OPTIONS_PER_RESOURCE},
    )
    attach_to: AttachTo = Field(
        "portfolio",
        description="'portfolio' (all its products) or a list of product ids of this portfolio.",
        examples=["portfolio", ["studio-domain"]],
    )

    @field_validator("values")
    @classmethod
    def _unique_values(cls, values: list[str]) -> list[str]:
        for index in _duplicates(values):
            raise rule_error(f"duplicate value {values[index]!r}", at=(index,))
        return values


def _organization_node_problem(node_type: str, value: str) -> str | None:
    pattern, example = {
        "ORGANIZATION": (ORGANIZATION_ID_PATTERN, "o-a1b2c3d4e5"),
        "ORGANIZATIONAL_UNIT": (OU_ID_PATTERN, "ou-a1b2-c3d4e5f6"),
        "ACCOUNT": (ACCOUNT_ID_PATTERN, "111111111111"),
    }[node_type]
    if re.fullmatch(pattern, value):
        return None
    return f"{node_type} ids look like {example!r}, got {value!r}"


class OrganizationNode(_Model):
    """An AWS Organizations node to share with (requires trusted access for Service Catalog)."""

    type: Literal["ORGANIZATION", "ORGANIZATIONAL_UNIT", "ACCOUNT"]
    value: str = Field(
        description="o-xxxxxxxxxx, ou-xxxx-xxxxxxxx or a 12-digit account id, matching `type`.",
        examples=["ou-a1b2-c3d4e5f6"],
        json_schema_extra={
            "pattern": f"{ORGANIZATION_ID_PATTERN}|{OU_ID_PATTERN}|{ACCOUNT_ID_PATTERN}"
        },
    )

    @model_validator(mode="after")
    def _value_matches_type(self) -> OrganizationNode:
        problem = _organization_node_problem(self.type, self.value)
        if problem:
            raise rule_error(problem, at=("value",))
        return self


class Sharing(_Model):
    """Who the portfolio is shared with."""

    accounts: list[AccountId] = Field(
        default_factory=list, description="Account-to-account shares (imported by each account)."
    )
    organization_nodes: list[OrganizationNode] = Field(
        default_factory=list, description="AWS Organizations shares."
    )
    share_tag_options: bool = Field(False, description="Include TagOptions in the shares.")
    share_principals: bool = Field(
        False,
        description="Principal name sharing: the portfolio's principals (typically IAM_PATTERN) "
        "are associated in the recipient accounts. Organization shares only.",
    )

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[str]) -> list[str]:
        for index in _duplicates(accounts):
            raise rule_error(f"account {accounts[index]!r} is listed twice", at=(index,))
        return accounts

    @field_validator("organization_nodes")
    @classmethod
    def _unique_nodes(cls, nodes: list[OrganizationNode]) -> list[OrganizationNode]:
        for index in _duplicates([node.value for node in nodes]):
            raise rule_error(f"{nodes[index].value!r} is listed twice", at=(index, "value"))
        return nodes

    @model_validator(mode="after")
    def _principal_sharing_needs_organization(self) -> Sharing:
        if self.share_principals and not self.organization_nodes:
            raise rule_error(
                "share_principals only applies to organization_nodes shares; account shares "
                "cannot share principals (add organization_nodes or set it to false)",
                at=("share_principals",),
            )
        return self


MAX_PATTERN_PRINCIPALS = 10


def _check_portfolio_tag_option_count(options: list[TagOption]) -> None:
    """TagOptions attached to the portfolio itself, one per value, within the quota."""
    count = 0
    for index, option in enumerate(options):
        if option.attach_to != "portfolio":
            continue
        for position in range(len(option.values)):
            count += 1
            if count > MAX_TAG_OPTIONS_PER_RESOURCE:
                total = sum(len(o.values) for o in options if o.attach_to == "portfolio")
                raise rule_error(
                    f"at most {MAX_TAG_OPTIONS_PER_RESOURCE} TagOptions per portfolio (Service "
                    f"Catalog quota; each value is one TagOption), found {total} attached to "
                    "the portfolio; remove values or attach some to products",
                    at=(index, "values", position),
                )


class Portfolio(_Model):
    """A Service Catalog portfolio: products, who may launch them, and who it is shared with."""

    id: Slug = Field(
        description="Stable key of the portfolio; unique across all files. The publisher "
        "finds the AWS portfolio by this key, so do not rename it.",
        examples=["sagemaker-studio"],
    )
    display_name: str = Field(min_length=1, max_length=100, examples=["SageMaker Studio"])
    description: str = Field("", max_length=2000)
    provider_name: str = Field(min_length=1, max_length=50, examples=["ML Platform team"])
    tags: Tags = Field(
        default_factory=dict,
        description=f"AWS tags ({_TAG_RULES}), at most {MAX_PORTFOLIO_TAGS - 1}: Service "
        f"Catalog allows {MAX_PORTFOLIO_TAGS} and the publisher adds {TAG_PORTFOLIO}.",
        json_schema_extra={"maxProperties": MAX_PORTFOLIO_TAGS - 1},
    )
    principals: list[Principal] = Field(
        default_factory=list,
        max_length=100,
        description=f"At most 100, of which at most {MAX_PATTERN_PRINCIPALS} IAM_PATTERN.",
    )
    products: list[ProductRef] = Field(default_factory=list)
    tag_options: list[TagOption] = Field(default_factory=list)
    sharing: Sharing = Field(default_factory=Sharing)

    @field_validator("tags")
    @classmethod
    def _tag_count(cls, tags: dict[str, str]) -> dict[str, str]:
        _check_tag_count(tags, MAX_PORTFOLIO_TAGS, TAG_PORTFOLIO, "portfolio")
        return tags

    @field_validator("principals")
    @classmethod
    def _check_principals(cls, principals: list[Principal]) -> list[Principal]:
        for index in _duplicates([principal.arn for principal in principals]):
            raise rule_error(f"duplicate principal {principals[index].arn!r}", at=(index, "arn"))
        patterns = [i for i, p in enumerate(principals) if p.type == "IAM_PATTERN"]
        if len(patterns) > MAX_PATTERN_PRINCIPALS:
            raise rule_error(
                f"at most {MAX_PATTERN_PRINCIPALS} IAM_PATTERN principals per portfolio "
                f"(Service Catalog limit), found {len(patterns)}",
                at=(patterns[MAX_PATTERN_PRINCIPALS],),
            )
        return principals

    @field_validator("products")
    @classmethod
    def _unique_products(cls, refs: list[ProductRef]) -> list[ProductRef]:
        for index in _duplicates([ref.product for ref in refs]):
            raise rule_error(
                f"product {refs[index].product!r} is listed twice", at=(index, "product")
            )
        return refs

    @field_validator("tag_options")
    @classmethod
    def _check_tag_options(cls, options: list[TagOption], info: ValidationInfo) -> list[TagOption]:
        for index in _duplicates([option.key for option in options]):
            raise rule_error(
                f"TagOption key {options[index].key!r} is defined twice; merge the values",
                at=(index, "key"),
            )
        refs: list[ProductRef] | None = info.data.get("products")
        if refs is None:  # products failed validation, reported there
            return options
        listed = [ref.product for ref in refs]
        for index, option in enumerate(options):
            if option.attach_to == "portfolio":
                continue
            for position, product in enumerate(option.attach_to):
                if product not in listed:
                    raise rule_error(
                        f"product {product!r} is not in this portfolio's products "
                        f"({', '.join(listed) or 'none'})",
                        at=(index, "attach_to", position),
                    )
        _check_portfolio_tag_option_count(options)
        return options

    @model_validator(mode="after")
    def _arn_launch_roles_not_shared(self) -> Portfolio:
        # Admin Guide "Launch constraints" / CreateConstraint Parameters (API Reference): with
        # RoleArn the constraint names one account's role; LocalRoleName "allows launch-role
        # constraints to be account-agnostic" and is resolved in the launching account, so a
        # shared portfolio needs it: recipients cannot use another account's launch role.
        if not (self.sharing.accounts or self.sharing.organization_nodes):
            return self
        for index, ref in enumerate(self.products):
            if ref.launch_role.arn is not None:
                name = ref.launch_role.arn.rsplit("/", 1)[-1]
                raise rule_error(
                    "a launch role given by 'arn' only works in the account that owns it, but "
                    "this portfolio is shared (sharing.accounts / organization_nodes); use "
                    f"'local_role_name: {name}' with that role in every account",
                    at=("products", index, "launch_role", "arn"),
                )
        return self

    def tag_options_for(self, product_id: str) -> list[TagOption]:
        """TagOptions attached directly to `product_id` (not via the portfolio)."""
        return [
            option
            for option in self.tag_options
            if option.attach_to != "portfolio" and product_id in option.attach_to
        ]


class PortfolioFile(_Model):
    """A portfolio definition file (portfolios/*.yaml) of the Studio Catalog Factory.

    The file is a Jinja2 template: `{{ env.X }}` expressions are substituted with the values
    of portfolios/environments/<env>.yaml before the YAML is parsed and validated, so the
    schema describes the rendered file (patterns also accept values containing '{{').
    """

    model_config = ConfigDict(title="Studio Catalog Factory portfolio file")

    version: Literal[1] = Field(1, description="Format version of this file.")
    products: list[Product] = Field(
        default_factory=list,
        description="Products defined by this file; portfolios in any file can use them.",
    )
    portfolios: list[Portfolio] = Field(
        default_factory=list, description="Portfolios defined by this file."
    )


# --- JSON schema ----------------------------------------------------------------------------

_TEMPLATE_EXPRESSION = r"\{\{"


def _accept_templates(node: Any) -> Any:
    """Let every `pattern` also match unrendered `{{ env.X }}` values (editors see the source)."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                result[key] = f"(?:{value})|{_TEMPLATE_EXPRESSION}"
            elif key == "not":  # a `not` pattern must keep rejecting what it rejects
                result[key] = value
            else:
                result[key] = _accept_templates(value)
        return result
    if isinstance(node, list):
        return [_accept_templates(item) for item in node]
    return node


def json_schema() -> dict[str, Any]:
    """JSON schema of a portfolio file, as written to portfolios/schema.json."""
    return _accept_templates(PortfolioFile.model_json_schema())


def render_json_schema() -> str:
    """The schema as text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_json_schema(path: Path = SCHEMA_PATH) -> bool:
    """Write the schema to `path`; return True when the file changed."""
    text = render_json_schema()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m factory.portfolio.models [--check] [PATH]`."""
    parser = argparse.ArgumentParser(
        prog="python -m factory.portfolio.models",
        description="Write the JSON schema of portfolio files.",
    )
    parser.add_argument("path", nargs="?", type=Path, default=SCHEMA_PATH)
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the file is out of date"
    )
    args = parser.parse_args(argv)
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.is_file() else None
        if current != render_json_schema():
            print(f"{args.path} is out of date: run studio-factory schema")
            return 1
        return 0
    changed = export_json_schema(args.path)
    print(f"{args.path} {'written' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
