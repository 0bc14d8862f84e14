"""How many user profiles the account may still take, with only the cloud admin's permissions
(no SageMaker permission: sagemaker:ListUserProfiles is out of reach).

What AWS has (Service Quotas, service code `sagemaker`): "Maximum number of Studio user
profiles allowed per account", quota code L-AC46C40F, adjustable. It is per account and
Region, not per domain: every profile of every domain counts. Its default is account
dependent: in February 2024 ListAWSDefaultServiceQuotas answered 2 while one account's applied
value (ListServiceQuotas) was 60 (gruntwork-io/terraform-aws-utilities, docs/quotas.md, which
codegen/quotas/generate_quotas.py generates with these calls, us-east-1 by default; commits
3dd9fcb "add quota codegen" and 04f5883 "use defaults vs actuals"). Third-party data, not an
AWS document: the value is read at run time, never assumed, and matched by name, not code.

Service Quotas facts (botocore service-quotas model, 2019-06-24): ListServiceQuotas "lists the
applied quota values ... If the applied quota value is not available for a quota, the quota is
not retrieved", so ListAWSDefaultServiceQuotas fills the gaps; both have paginators (result key
Quotas); ServiceQuota.Value is a double (0-10^10) and optional; both operations can fail with
AccessDeniedException and NoSuchResourceException.

IAM actions (Service Authorization Reference): servicequotas:ListServiceQuotas and
servicequotas:ListAWSDefaultServiceQuotas, both on resource "*" (no resource types).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from factory.aws import error_code

SERVICE_CODE = "sagemaker"
MATCH = "user profile"
#: A quota counted per user profile (apps per user profile, ...) is not a cap on profiles.
PER_PROFILE = "per user profile"
UNKNOWN = frozenset({"AccessDeniedException", "NoSuchResourceException"})


@dataclass(frozen=True)
class Quota:
    """`source`: "applied" (ListServiceQuotas) or "default" (ListAWSDefaultServiceQuotas)."""

    value: int
    name: str
    code: str
    source: str


def _quotas(client: BaseClient, operation: str) -> Iterator[Mapping[str, Any]]:
    for page in client.get_paginator(operation).paginate(ServiceCode=SERVICE_CODE):
        yield from page.get("Quotas", [])


def _profile_quotas(client: BaseClient, operation: str, source: str) -> dict[str, Quota]:
    """The quotas on user profiles, by quota code."""
    found: dict[str, Quota] = {}
    for quota in _quotas(client, operation):
        name = str(quota.get("QuotaName", ""))
        lowered = name.lower()
        if MATCH not in lowered or PER_PROFILE in lowered or quota.get("Value") is None:
            continue
        code = str(quota.get("QuotaCode", ""))
        # Worst case: a fractional value allows only its whole part.
        found[code] = Quota(math.floor(float(quota["Value"])), name, code, source)
    return found


def profile_quota(client: BaseClient) -> Quota | None:
    """The smallest quota on user profiles (applied value, else default), or None when Service
    Quotas cannot tell (access denied, no such service in this Region, no such quota): the
    caller then asks for --max-profiles. `client`: a service-quotas client of the domain's
    Region."""
    try:
        applied = _profile_quotas(client, "list_service_quotas", "applied")
        defaults = _profile_quotas(client, "list_aws_default_service_quotas", "default")
    except ClientError as exc:
        if error_code(exc) in UNKNOWN:
            return None
        raise
    merged = {**defaults, **applied}
    if not merged:
        return None
    return min(merged.values(), key=lambda q: (q.value, q.code))


def check_capacity(existing: int, new: int, quota: Quota | int) -> str | None:
    """The problem when `new` more profiles would exceed the quota, else None. `existing`:
    the profiles already there (the quota counts the whole account in the Region; the caller
    knows only provisioned products, a lower bound)."""
    limit = quota.value if isinstance(quota, Quota) else quota
    if new <= 0 or existing + new <= limit:
        return None
    what = f"{quota.name}, {quota.code}" if isinstance(quota, Quota) else "--max-profiles"
    return (
        f"{new} new people + {existing} existing profiles > quota {limit} ({what}); ask for an "
        "increase in Service Quotas, or split the file"
    )
