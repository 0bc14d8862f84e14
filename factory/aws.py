"""AWS plumbing shared by the publisher and the users commands (the one AWS layer): clients,
pagination, digests and tokens.

Clients never set ``endpoint_url``: boto3 reads ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_<SERVICE>`` variables itself, which is how tests reach the loopback servers.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from factory.naming import TEMPLATE_BUCKET_SSM_PARAMETER

TAG_PORTFOLIO = "studio-catalog:portfolio-id"
TAG_PRODUCT = "studio-catalog:product-id"
#: Legacy product tag that held the version-policy fingerprint. Product tags propagate to every
#: provisioned product's resources (API reference, Tag data type), so the fingerprint now lives
#: in the current version's Description (FINGERPRINT_MARK) and publish removes this tag.
TAG_VERSIONS = "studio-catalog:versions"
DIGEST_PREFIX = "sha256:"
#: `<DIGEST_PREFIX><sha256> <FINGERPRINT_MARK><fingerprint>` in a version's Description:
#: DescribeProductAsAdmin's ProvisioningArtifactSummaries carry Description (botocore model),
#: so a no-op plan still needs no ListProvisioningArtifacts.
FINGERPRINT_MARK = "versions:"
CONSTRAINT_MARK = "studio-catalog"
#: Tags AWS reserves (`aws:` prefix) can be neither set nor removed by callers (API reference,
#: Tag data type); every other tag on a resource we own is managed by the YAML.
RESERVED_TAG_PREFIX = "aws:"

#: Throttling and 5xx are retried (standard mode, 10 attempts); a dead endpoint is not: a
#: connection error fails in seconds (`connect_timeout`, and `_no_retry_for_quota_errors`
#: stops retries of connection errors) instead of 20-34 s of silent retries (issue 9).
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=60,
)

#: Quota errors that botocore's standard retry mode treats as throttling
#: (botocore/retries/standard.py, ThrottledRetryableChecker._THROTTLED_ERROR_CODES lists
#: `LimitExceededException`). Service Catalog answers it for its quotas (100 versions per
#: product, ...; Service Catalog API reference, errors of CreateProvisioningArtifact): not
#: transient, so it must not be retried.
NOT_RETRIED = frozenset({"LimitExceededException"})


def _no_retry_for_quota_errors(
    response: Any = None, caught_exception: Exception | None = None, **_: Any
) -> bool | None:
    """`needs-retry` handler registered first: botocore's endpoint takes the first non-None
    answer (botocore/endpoint.py, Endpoint._needs_retry), so False stops the retry. Quota
    errors and connection failures (nothing listens) are not retried."""
    if isinstance(caught_exception, (EndpointConnectionError, ConnectTimeoutError)):
        return False
    if response is None:
        return None
    parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
    code = (parsed or {}).get("Error", {}).get("Code")
    return False if code in NOT_RETRIED else None


def without_quota_retries(client: BaseClient) -> BaseClient:
    event = f"needs-retry.{client.meta.service_model.service_id.hyphenize()}"
    client.meta.events.register_first(event, _no_retry_for_quota_errors)
    return client


@dataclass
class Clients:
    """The clients of one region. Built per region (and thread): sessions are not shared."""

    region: str
    sc: BaseClient
    s3: BaseClient
    ssm: BaseClient
    sts: BaseClient

    def __post_init__(self) -> None:
        for client in (self.sc, self.s3, self.ssm, self.sts):
            without_quota_retries(client)

    @classmethod
    def create(cls, region: str, profile: str | None = None) -> Clients:
        session = boto3.Session(botocore_session=_botocore_session(profile), region_name=region)
        return cls(
            region=region,
            sc=session.client("servicecatalog", config=RETRY_CONFIG),
            s3=session.client("s3", config=RETRY_CONFIG),
            ssm=session.client("ssm", config=RETRY_CONFIG),
            sts=session.client("sts", config=RETRY_CONFIG),
        )


@functools.cache
def _shared_loader() -> Any:
    """botocore's data loader caches the service models it parsed, but per session: sharing
    one across the per-region sessions saves ~0.1 s of JSON parsing per client."""
    return botocore.loaders.create_loader()


def _botocore_session(profile: str | None) -> botocore.session.Session:
    """A new session (sessions are not shared between threads), with the shared loader."""
    core = botocore.session.Session(profile=profile)
    core.register_component("data_loader", _shared_loader())
    return core


def session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """A new boto3 session on the shared loader (one per thread: sessions are not shared)."""
    return boto3.Session(botocore_session=_botocore_session(profile), region_name=region)


def client(
    service: str, region: str | None, profile: str | None = None, config: Config = RETRY_CONFIG
) -> BaseClient:
    """A client with the project's retry configuration; quota errors are not retried."""
    (made,) = clients(region, profile, service, config=config)
    return made


def clients(
    region: str | None, profile: str | None, *services: str, config: Config = RETRY_CONFIG
) -> tuple[BaseClient, ...]:
    """:func:`client` for several services of one region, from one session (a botocore
    session registers its ~600 built-in handlers when made: one per client was most of what
    starting a run cost the test suite)."""
    made = session(profile, region)
    return tuple(without_quota_retries(made.client(name, config=config)) for name in services)


def pages(client: BaseClient, method: str, result_key: str, **params: Any) -> Iterator[Any]:
    """Items of every page, through botocore's paginator for the operation (its model knows
    each operation's token names, e.g. ListTagOptions answers `PageToken`)."""
    for page in client.get_paginator(method).paginate(**params):
        yield from page.get(result_key, [])


def unpaged(call: Callable[..., dict[str, Any]], result_key: str, **params: Any) -> Iterator[Any]:
    """For list calls botocore has no paginator for (DescribePortfolioShares,
    ListProvisioningArtifacts): follow NextPageToken by hand."""
    token: str | None = None
    while True:
        response = call(**params, **({"PageToken": token} if token else {}))
        yield from response.get(result_key, [])
        token = response.get("NextPageToken")
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


@functools.cache
def dns_suffix(region: str) -> str:
    """The partition's DNS suffix from botocore's partition data (aws-cn: amazonaws.com.cn).

    Cached: the data ships with botocore, and a new Session parses its endpoints.json (~40 ms)
    for every template URL otherwise."""
    session = boto3.Session()
    partition = session.get_partition_for_region(region)
    resolver = session._session._get_internal_component("endpoint_resolver")
    return str(resolver.get_partition_dns_suffix(partition))


def template_url(bucket: str, region: str, key: str) -> str:
    """Virtual-hosted URL in the bucket's own region and partition."""
    return f"https://{bucket}.s3.{region}.{dns_suffix(region)}/{key}"


def version_name(digest: str) -> str:
    return f"v-{digest[:12]}"


def bucket_from_ssm(ssm: BaseClient) -> str:
    response = ssm.get_parameter(Name=TEMPLATE_BUCKET_SSM_PARAMETER)
    return str(response["Parameter"]["Value"])


def timestamp(value: Any) -> float:
    """Seconds of a botocore timestamp (datetime) or a number; 0.0 when absent."""
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value or 0.0)


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
