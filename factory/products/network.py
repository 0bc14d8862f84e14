"""Network building blocks shared by products."""

from __future__ import annotations

from typing import Any

from troposphere import Ref, Tags
from troposphere.ec2 import SecurityGroup, SecurityGroupEgress, SecurityGroupIngress

from factory.template import ProductTemplate

HTTPS_OUT = {
    "IpProtocol": "tcp",
    "FromPort": 443,
    "ToPort": 443,
    "CidrIp": "0.0.0.0/0",
    "Description": "HTTPS to VPC endpoints and, if routed, the internet",
}


def studio_security_group(
    pt: ProductTemplate,
    logical_id: str,
    *,
    vpc: Any,
    description: str,
    peers: str,
    tags: Tags,
    condition: str | None = None,
) -> None:
    """A security group for Studio apps: all traffic within the group, HTTPS out.

    The self-referencing rules are separate resources because a group cannot name itself
    in its own inline rules.
    """
    gated = {"Condition": condition} if condition else {}
    pt.template.add_resource(
        SecurityGroup(
            logical_id,
            GroupDescription=description,
            VpcId=vpc,
            SecurityGroupEgress=[HTTPS_OUT],
            Tags=tags,
            **gated,
        )
    )
    pt.template.add_resource(
        SecurityGroupIngress(
            f"{logical_id.removesuffix('Resource')}SelfIngress",
            GroupId=Ref(logical_id),
            IpProtocol="-1",
            SourceSecurityGroupId=Ref(logical_id),
            Description=peers,
            **gated,
        )
    )
    pt.template.add_resource(
        SecurityGroupEgress(
            f"{logical_id.removesuffix('Resource')}SelfEgress",
            GroupId=Ref(logical_id),
            IpProtocol="-1",
            DestinationSecurityGroupId=Ref(logical_id),
            Description=peers,
            **gated,
        )
    )
