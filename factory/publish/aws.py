"""AWS plumbing shared by plan and apply: clients, pagination, digests and tokens.

Clients never set ``endpoint_url``: boto3 reads ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_<SERVICE>`` variables itself, which is how tests reach the loopback servers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from factory.naming import TEMPLATE_BUCKET_SSM_PARAMETER

TAG_PORTFOLIO = "studio-catalog:portfolio-id"
TAG_PRODUCT = "studio-catalog:product-id"
#: Fingerprint of (version policy, ordered versions) last enforced on a product; lets a no-op
#: plan skip ListProvisioningArtifacts (one read per product instead of two).
TAG_VERSIONS = "studio-catalog:versions"
DIGEST_PREFIX = "sha256:"
CONSTRAINT_MARK = "studio-catalog"

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})


@dataclass
class Clients:
    """The clients of one region. Built per region (and thread): sessions are not shared."""

    region: str
    sc: BaseClient
    s3: BaseClient
    ssm: BaseClient

    @classmethod
    def create(cls, region: str, profile: str | None = None) -> Clients:
        session = boto3.Session(profile_name=profile, region_name=region)
        return cls(
            region=region,
            sc=session.client("servicecatalog", config=RETRY_CONFIG),
            s3=session.client("s3", config=RETRY_CONFIG),
            ssm=session.client("ssm", config=RETRY_CONFIG),
        )


def pages(
    call: Callable[..., dict[str, Any]],
    result_key: str,
    token_key: str = "NextPageToken",
    **params: Any,
) -> Iterator[dict[str, Any]]:
    """Items of every page of a Service Catalog list call (input token is `PageToken`)."""
    token: str | None = None
    while True:
        response = call(**params, **({"PageToken": token} if token else {}))
        yield from response.get(result_key, [])
        token = response.get(token_key)
        if not token:
            return


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def short_hash(*parts: Any, length: int = 32) -> str:
    """Deterministic hash of JSON-serialisable inputs (idempotency tokens, fingerprints)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def template_key(product_id: str, digest: str) -> str:
    return f"{product_id}/{digest}.yaml"


def template_url(bucket: str, region: str, key: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def version_name(digest: str) -> str:
    return f"v-{digest[:12]}"


def bucket_from_ssm(ssm: BaseClient) -> str:
    response = ssm.get_parameter(Name=TEMPLATE_BUCKET_SSM_PARAMETER)
    return str(response["Parameter"]["Value"])


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
