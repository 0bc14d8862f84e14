"""Who may open Studio as which user profile (whitepaper: "Securing access to the
pre-signed URL").

A data scientist may create a presigned URL only for a profile whose ``studiouserid`` tag
equals their own ``studiouserid`` principal tag. Optional network restrictions are
expressed as explicit denies, so they hold whatever else the caller is allowed.
"""

from __future__ import annotations

from typing import Any

import awacs.sagemaker as sm
from awacs.aws import (
    Allow,
    Condition,
    Deny,
    NotIpAddress,
    Statement,
    StringEquals,
    StringNotEquals,
)

from factory.naming import USER_TAG
from factory.policies import arns

OWN_PROFILE_CONDITION = {f"sagemaker:ResourceTag/{USER_TAG}": f"${{aws:PrincipalTag/{USER_TAG}}}"}


def profile_arn(domain_id: Any) -> Any:
    """All user profiles of one domain (``domain_id`` may be a string or an intrinsic)."""
    return arns.sagemaker("user-profile/${DomainId}/*", DomainId=domain_id)


def allow_own_profile(profile_resources: list[Any]) -> Statement:
    return Statement(
        Sid="OpenStudioOnlyAsOwnProfile",
        Effect=Allow,
        Action=[sm.CreatePresignedDomainUrl],
        Resource=profile_resources,
        Condition=Condition(StringEquals(OWN_PROFILE_CONDITION)),
    )


def deny_outside_cidrs(cidrs: Any) -> Statement:
    return Statement(
        Sid="DenyPresignedUrlOutsideAllowedCidrs",
        Effect=Deny,
        Action=[sm.CreatePresignedDomainUrl],
        Resource=["*"],
        Condition=Condition(NotIpAddress({"aws:SourceIp": cidrs})),
    )


def deny_outside_vpc_endpoints(endpoint_ids: Any) -> Statement:
    return Statement(
        Sid="DenyPresignedUrlOutsideAllowedVpcEndpoints",
        Effect=Deny,
        Action=[sm.CreatePresignedDomainUrl],
        Resource=["*"],
        Condition=Condition(StringNotEquals({"aws:sourceVpce": endpoint_ids})),
    )
