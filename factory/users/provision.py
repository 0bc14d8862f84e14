"""One person's user profile through Service Catalog, as a cloud admin does it in the console:
find the product, its newest active version and a launch path, then launch, update or
terminate the provisioned product.

Only end-user Service Catalog operations are used (AWSServiceCatalogEndUserFullAccess, the
cloud admin's managed policy): SearchProducts, DescribeProduct, ListLaunchPaths,
SearchProvisionedProducts, ProvisionProduct, UpdateProvisionedProduct,
TerminateProvisionedProduct, DescribeRecord, GetProvisionedProductOutputs. No SageMaker call:
the launch role does that work (factory/audit/derived/persona_jobs.py proves the
CloudAdminRole suffices).

* One person, one provisioned product named `studio-user-<person>` (seed: one person = one
  user profile). Adding someone who already has one reports it and changes nothing.
* Every change carries a token derived from what it does (person, product, version,
  parameters, and for updates and terminations the product's last record, so a re-run after
  a failure tries again): a retry or a re-run after a crash replays the first call (API reference,
  ProvisionProduct `ProvisionToken`, UpdateProvisionedProduct `UpdateToken`,
  TerminateProvisionedProduct `TerminateToken`) instead of doing it twice.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from factory.aws import error_code, short_hash, timestamp, unpaged

NAME_PREFIX = "studio-user-"
#: SageMaker UserProfileName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (botocore model, UserProfileName);
#: the provisioned-product name adds the prefix and must stay within ProvisionedProductName's
#: ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}.
PERSON = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
WAIT_TIMEOUT_S = 1800.0
#: DescribeRecord RecordDetail.Status (botocore model, RecordStatus): IN_PROGRESS, CREATED,
#: IN_PROGRESS_IN_ERROR, SUCCEEDED, FAILED.
DONE = ("SUCCEEDED", "FAILED")
#: Parameters an update keeps (`UsePreviousValue`): who the person is and which domain the
#: profile is in (UserProfileName and DomainId are create-only in the CloudFormation schema:
#: a change replaces the profile), and the bootstrap's links. An update that leaves a
#: parameter out resets it to the new version's default (API reference,
#: UpdateProvisioningParameter UsePreviousValue; boto/boto3#3769), which for the domain links
#: would move the person to the default domain.
KEPT_ON_UPDATE = (
    "UserProfileName",
    "SsoUserName",
    "DomainId",
    "DomainAuthMode",
    "TeamExecutionRoleArn",
    "DomainVpcId",
    "DomainKmsKeyArn",
    "PermissionsBoundaryArn",
    "DrainFunctionArn",
    "LifecycleConfigSet",
)
PERSONA_OUTPUT = "Persona"


class UsersError(RuntimeError):
    """A problem the admin can fix; the message says what and how."""


@dataclass(frozen=True)
class Target:
    """Where a person's profile is provisioned from."""

    product_id: str
    product_name: str
    artifact_id: str
    artifact_name: str
    path_id: str


@dataclass
class Result:
    """What happened to one person. status: created | launched | already present | updated |
    up to date | removed | absent | failed | in progress | not attempted | planned."""

    person: str
    name: str
    status: str
    detail: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    record_id: str = ""


def provisioned_name(person: str) -> str:
    return f"{NAME_PREFIX}{person}"


def person_of(name: str) -> str:
    return name.removeprefix(NAME_PREFIX)


def check_person(person: str) -> None:
    if not PERSON.fullmatch(person):
        raise UsersError(
            f"person {person!r}: not a valid SageMaker user profile name; allowed: letters, "
            "digits and hyphens, starting with a letter or digit, at most 63 characters"
        )


# --- the product ------------------------------------------------------------------------------


def find_target(sc: BaseClient, product_name: str) -> Target:
    """The product by its display name (unique: the loader refuses duplicates), its newest
    active DEFAULT version (DEPRECATED ones block new launches: API reference,
    UpdateProvisioningArtifact), and its first launch path."""
    views = [
        v
        for v in unpaged(
            sc.search_products,
            "ProductViewSummaries",
            Filters={"FullTextSearch": [product_name]},
            PageSize=20,
        )
        if v.get("Name") == product_name
    ]
    ids = sorted({v["ProductId"] for v in views})
    if not ids:
        raise UsersError(
            f"product {product_name!r}: not visible to these credentials; publish the catalog, "
            "and use the cloud-admin role (a principal of the portfolio)"
        )
    if len(ids) > 1:
        raise UsersError(f"product {product_name!r}: {len(ids)} products carry this name: {ids}")
    described = sc.describe_product(Id=ids[0])
    artifacts = [
        a
        for a in described.get("ProvisioningArtifacts", [])
        if a.get("Guidance", "DEFAULT") == "DEFAULT"
    ]
    if not artifacts:
        raise UsersError(f"product {product_name!r}: no active version to launch")
    newest = max(artifacts, key=lambda a: (timestamp(a.get("CreatedTime")), a["Id"]))
    paths = list(unpaged(sc.list_launch_paths, "LaunchPathSummaries", ProductId=ids[0]))
    if not paths:
        raise UsersError(f"product {product_name!r}: no launch path for these credentials")
    return Target(
        product_id=ids[0],
        product_name=product_name,
        artifact_id=newest["Id"],
        artifact_name=newest.get("Name", ""),
        path_id=paths[0]["Id"],
    )


# --- reading ----------------------------------------------------------------------------------


def existing(sc: BaseClient, name: str) -> dict[str, Any] | None:
    """The live provisioned product of that name (any admin's: Account level), if any."""
    for item in unpaged(
        sc.search_provisioned_products,
        "ProvisionedProducts",
        AccessLevelFilter={"Key": "Account", "Value": "self"},
        Filters={"SearchQuery": [f"name:{name}"]},
        PageSize=100,
    ):
        if item.get("Name") == name and item.get("Status") != "TERMINATED":
            return dict(item)
    return None


def listing(sc: BaseClient) -> list[dict[str, Any]]:
    """Every provisioned user profile of the account (`studio-user-*`), 100 per request."""
    return [
        dict(item)
        for item in unpaged(
            sc.search_provisioned_products,
            "ProvisionedProducts",
            AccessLevelFilter={"Key": "Account", "Value": "self"},
            Filters={"SearchQuery": [NAME_PREFIX]},
            PageSize=100,
        )
        if str(item.get("Name", "")).startswith(NAME_PREFIX)
    ]


def outputs(sc: BaseClient, name: str) -> dict[str, str]:
    response = sc.get_provisioned_product_outputs(ProvisionedProductName=name)
    return {o["OutputKey"]: o.get("OutputValue", "") for o in response.get("Outputs", [])}


def persona_of(sc: BaseClient, name: str) -> str:
    """The persona a launch recorded (the product's `Persona` output); "" when launched by
    hand, by an older version without that output, or not readable yet."""
    try:
        return outputs(sc, name).get(PERSONA_OUTPUT, "")
    except Exception as exc:
        if error_code(exc) in ("ResourceNotFoundException", "InvalidParametersException"):
            return ""
        raise


# --- changing ---------------------------------------------------------------------------------


def launch(
    sc: BaseClient,
    target: Target,
    person: str,
    parameters: list[dict[str, str]],
    tags: Mapping[str, str],
) -> str:
    """ProvisionProduct; returns the record id. A name already taken answers
    DuplicateResourceException (botocore model, ProvisionProduct errors)."""
    token = short_hash("user", person, target.product_id, target.artifact_id)
    record = sc.provision_product(
        ProductId=target.product_id,
        ProvisioningArtifactId=target.artifact_id,
        PathId=target.path_id,
        ProvisionedProductName=provisioned_name(person),
        ProvisioningParameters=parameters,
        Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        ProvisionToken=token,
    )["RecordDetail"]
    return str(record["RecordId"])


def update(
    sc: BaseClient,
    target: Target,
    pp_id: str,
    parameters: list[dict[str, str]],
    last_record: str = "",
) -> str:
    """UpdateProvisionedProduct to the target version with the persona's parameters; the
    person's identity parameters keep their values. Tags are not sent: a tag change reaches
    the UserProfile, where it has forced a replacement (FIELD-NOTES, roadmap#2094)."""
    values = [p for p in parameters if p["Key"] not in KEPT_ON_UPDATE]
    values += [{"Key": key, "UsePreviousValue": True} for key in KEPT_ON_UPDATE]  # type: ignore[dict-item]
    token = short_hash("update", pp_id, last_record, target.artifact_id, values)
    record = sc.update_provisioned_product(
        ProvisionedProductId=pp_id,
        ProductId=target.product_id,
        ProvisioningArtifactId=target.artifact_id,
        PathId=target.path_id,
        ProvisioningParameters=values,
        UpdateToken=token,
    )["RecordDetail"]
    return str(record["RecordId"])


def terminate(sc: BaseClient, pp_id: str, last_record: str = "") -> str:
    """TerminateProvisionedProduct. The profile's drain custom resource (bootstrap stack)
    deletes its apps and spaces first: a profile with apps cannot be deleted (FIELD-NOTES)."""
    record = sc.terminate_provisioned_product(
        ProvisionedProductId=pp_id, TerminateToken=short_hash("terminate", pp_id, last_record)
    )["RecordDetail"]
    return str(record["RecordId"])


def wait_for(sc: BaseClient, record_id: str, timeout_s: float = WAIT_TIMEOUT_S) -> dict[str, Any]:
    """DescribeRecord until SUCCEEDED or FAILED (or the timeout: the last detail)."""
    deadline, delay = time.monotonic() + timeout_s, 0.2
    while True:
        detail = sc.describe_record(Id=record_id)["RecordDetail"]
        if detail["Status"] in DONE or time.monotonic() > deadline:
            return dict(detail)
        time.sleep(delay)
        delay = min(delay * 2, 10.0)


def record_errors(detail: Mapping[str, Any]) -> str:
    errors = "; ".join(e.get("Description", "") for e in detail.get("RecordErrors", []))
    return errors or str(detail.get("Status", ""))
