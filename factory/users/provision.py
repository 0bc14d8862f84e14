"""Provision one person's user profile through Service Catalog, as a cloud admin would in the
console: find the product, its newest active version and a launch path, then ProvisionProduct.

Only end-user Service Catalog operations are used (AWSServiceCatalogEndUserFullAccess, the
cloud admin's managed policy): SearchProducts, DescribeProduct, ListLaunchPaths,
SearchProvisionedProducts, ProvisionProduct, DescribeRecord, GetProvisionedProductOutputs.

* One person, one provisioned product named `studio-user-<person>` (seed: one person = one
  user profile). Adding someone who already has one reports it and changes nothing.
* The ProvisionToken is derived from the person, product and version: a retry or a re-run
  after a crash replays the first call (API reference, ProvisionProduct) instead of
  provisioning twice; the name check comes first anyway.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from factory.publish.aws import short_hash, timestamp, unpaged

NAME_PREFIX = "studio-user-"
#: SageMaker UserProfileName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (botocore model, UserProfileName);
#: the provisioned-product name adds the prefix and must stay within ProvisionedProductName's
#: ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}.
PERSON = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
WAIT_TIMEOUT_S = 1800.0
#: DescribeRecord RecordDetail.Status (botocore model, RecordStatus): IN_PROGRESS, CREATED,
#: IN_PROGRESS_IN_ERROR, SUCCEEDED, FAILED.
DONE = ("SUCCEEDED", "FAILED")


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
    person: str
    name: str
    status: str  # created | already present | failed | planned
    detail: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


def provisioned_name(person: str) -> str:
    return f"{NAME_PREFIX}{person}"


def check_person(person: str) -> None:
    if not PERSON.fullmatch(person):
        raise UsersError(
            f"person {person!r}: not a valid SageMaker user profile name; allowed: letters, "
            "digits and hyphens, starting with a letter or digit, at most 63 characters"
        )


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


def add(
    sc: BaseClient,
    target: Target,
    person: str,
    parameters: list[dict[str, str]],
    tags: dict[str, str],
    *,
    wait: bool = True,
    check_existing: bool = True,
) -> Result:
    """`check_existing=False` when the caller listed every profile just before (bulk import):
    the deterministic ProvisionToken still turns a repeated launch into a replay."""
    name = provisioned_name(person)
    found = existing(sc, name) if check_existing else None
    if found is not None:
        return Result(person, name, "already present", f"status {found.get('Status')}")
    token = short_hash("user", person, target.product_id, target.artifact_id)
    record = sc.provision_product(
        ProductId=target.product_id,
        ProvisioningArtifactId=target.artifact_id,
        PathId=target.path_id,
        ProvisionedProductName=name,
        ProvisioningParameters=parameters,
        Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        ProvisionToken=token,
    )["RecordDetail"]
    if not wait:
        return Result(person, name, "created", f"record {record['RecordId']} in progress")
    status = wait_for(sc, record["RecordId"])
    if status["Status"] != "SUCCEEDED":
        errors = "; ".join(e.get("Description", "") for e in status.get("RecordErrors", []))
        return Result(person, name, "failed", errors or status["Status"])
    outputs = {
        o["OutputKey"]: o.get("OutputValue", "")
        for o in sc.get_provisioned_product_outputs(ProvisionedProductName=name).get("Outputs", [])
    }
    return Result(person, name, "created", "", outputs)


def wait_for(sc: BaseClient, record_id: str) -> dict[str, Any]:
    deadline, delay = time.monotonic() + WAIT_TIMEOUT_S, 0.2
    while True:
        detail = sc.describe_record(Id=record_id)["RecordDetail"]
        if detail["Status"] in DONE or time.monotonic() > deadline:
            return dict(detail)
        time.sleep(delay)
        delay = min(delay * 2, 10.0)


def listing(sc: BaseClient) -> list[dict[str, Any]]:
    """Every provisioned user profile of the account (`studio-user-*`)."""
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
