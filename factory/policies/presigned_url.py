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


def deny_outside_networks(cidrs: Any, endpoint_ids: Any) -> Statement:
    """Both lists given: deny only a request that matches neither. Two separate denies would
    lock everyone out: a request through a VPC endpoint carries no ``aws:SourceIp`` and one
    from the internet no ``aws:SourceVpce`` (IAM User Guide, global condition keys), and a
    negated operator matches a missing key."""
    return Statement(
        Sid="DenyPresignedUrlOutsideAllowedNetworks",
        Effect=Deny,
        Action=[sm.CreatePresignedDomainUrl],
        Resource=["*"],
        Condition=Condition(
            [
                NotIpAddress({"aws:SourceIp": cidrs}),
                StringNotEquals({"aws:sourceVpce": endpoint_ids}),
            ]
        ),
    )


def network_denies(cidrs: Any, endpoint_ids: Any, cidr_condition: str, vpce_condition: str) -> list:
    """The deny statements for the lists that are set (template conditions name them):
    CIDRs only, endpoints only, or both in one statement (:func:`deny_outside_networks`)."""
    from troposphere import If, NoValue

    return [
        If(
            cidr_condition,
            If(
                vpce_condition,
                deny_outside_networks(cidrs, endpoint_ids),
                deny_outside_cidrs(cidrs),
            ),
            NoValue,
        ),
        If(
            vpce_condition,
            If(cidr_condition, NoValue, deny_outside_vpc_endpoints(endpoint_ids)),
            NoValue,
        ),
    ]
