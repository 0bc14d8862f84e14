"""Product: a private VPC for a VpcOnly Studio domain (``templates/studio-network.yaml``).

Private subnets in two or three Availability Zones, no internet gateway and no NAT, and the
VPC endpoints a ``VpcOnly`` domain needs to work without the internet. Its VPC ID and subnet
IDs are published to SSM under ``/studio-catalog/networks/<NetworkName>/`` so the domain
product can be launched into it without anyone copying IDs; the addresses are sized with
``studio-factory plan-network`` (:mod:`factory.network_plan`), whose recommendation for the
generator's ``planned_users`` is the template's default.

Sources of what the network must provide:

* SageMaker Developer Guide, "Connect Amazon SageMaker Studio in a VPC to External Resources"
  (and "Connect Studio notebooks in a VPC to external resources" for Classic): in VpcOnly mode
  "you won't be able to run Studio unless your VPC has an interface endpoint to the SageMaker
  API and runtime, or a NAT gateway with internet access"; "You must use private subnets
  only"; interface endpoints for "Amazon S3 and other AWS services you require".
* SageMaker Developer Guide, "Connect to Studio Through an Interface VPC Endpoint": the Studio
  endpoint's service name is ``aws.sagemaker.<region>.studio``, private DNS on, and the
  endpoints' security group must allow HTTPS in from Studio.
* "Other AWS services you require" are those the execution role is given for Studio apps and
  jobs (:mod:`factory.policies.execution_role`): STS (the SDKs' sessions and caller identity),
  CloudWatch Logs (``/aws/sagemaker/*``), ECR api and dkr (image pulls), S3 (the default
  bucket, through a gateway endpoint: no ENI, no hourly charge).
* VPC User Guide, "Access an AWS service using an interface VPC endpoint": private DNS needs
  the VPC's ``enableDnsSupport`` and ``enableDnsHostnames``.

No internet route, and none to opt into: packages come through the organisation's mirror (a
CodeArtifact or proxy endpoint added to this VPC), which keeps VpcOnly meaningful. No flow
logs either: checkov asks for none on CloudFormation, and ``AWS::EC2::FlowLog``'s create
handler lists ``s3:PutBucketPolicy`` (S3 destination) or ``iam:PassRole`` (CloudWatch Logs),
which the launch role would need on buckets or roles no product owns; organisations usually
turn flow logs on centrally.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from troposphere import (
    Cidr,
    Equals,
    FindInMap,
    GetAtt,
    GetAZs,
    If,
    Join,
    Output,
    Ref,
    Select,
    Split,
    Sub,
    Tags,
)
from troposphere.ec2 import (
    VPC,
    RouteTable,
    SecurityGroup,
    Subnet,
    SubnetRouteTableAssociation,
    VPCEndpoint,
)
from troposphere.ssm import Parameter as SsmParameter

from factory import naming, network_plan
from factory.options import parse
from factory.studio import NAME_MAX_LENGTH, NAME_PATTERN
from factory.template import ProductTemplate, list_is_set

NAME = "studio-network"

#: SSM contract (proposed for factory/naming.py): what the domain product can read.
NETWORK_SSM_TEMPLATE = naming.NETWORK_SSM_TEMPLATE
NETWORK_KEYS = naming.NETWORK_KEYS
DEFAULT_NETWORK_NAME = "studio"

#: Tag naming the network on every resource (cost of the endpoints, per network).
NETWORK_TAG = "studio-catalog:network"

#: Interface endpoints: logical ID -> service name (``${AWS::Region}`` substituted). Sources in
#: the module docstring. Each puts one ENI in every subnet; network_plan counts
#: ``ENDPOINTS_PER_SUBNET`` (10) per subnet, which a test keeps above this table's length.
INTERFACE_ENDPOINTS: dict[str, str] = {
    "SageMakerApiEndpoint": "com.amazonaws.${AWS::Region}.sagemaker.api",
    "SageMakerRuntimeEndpoint": "com.amazonaws.${AWS::Region}.sagemaker.runtime",
    "StudioEndpoint": "aws.sagemaker.${AWS::Region}.studio",
    "StsEndpoint": "com.amazonaws.${AWS::Region}.sts",
    "LogsEndpoint": "com.amazonaws.${AWS::Region}.logs",
    "EcrApiEndpoint": "com.amazonaws.${AWS::Region}.ecr.api",
    "EcrDkrEndpoint": "com.amazonaws.${AWS::Region}.ecr.dkr",
}
S3_ENDPOINT_SERVICE = "com.amazonaws.${AWS::Region}.s3"

MAX_AZS = 3
SUBNETS = tuple(f"PrivateSubnet{i + 1}" for i in range(MAX_AZS))
SUBNET_PREFIXES = tuple(
    str(p) for p in range(network_plan.LARGEST_PREFIX, network_plan.SMALLEST_PREFIX + 1)
)

#: ``AllowedPattern`` of the VPC CIDR: a dotted quad and a VPC prefix (VPC User Guide, "VPC
#: CIDR blocks": /16 to /28).
OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
CIDR_PATTERN = rf"^({OCTET}\.){{3}}{OCTET}/(1[6-9]|2[0-8])$"
#: One Availability Zone name (a CommaDelimitedList's items are matched one by one).
AZ_PATTERN = r"^(|[a-z]{2}(-[a-z]+)+-[0-9]+[a-z])$"


class NetworkOptions(BaseModel):
    """Defaults baked into the network template (the admin can still change them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    network_name: str = Field(DEFAULT_NETWORK_NAME, pattern=NAME_PATTERN)
    #: The default VpcCidr and SubnetPrefixLength are plan-network's answer for this many
    #: people with its other defaults (seed 002's worked example: 100 -> /22 subnets).
    planned_users: int = 100
    availability_zones: int = 3
    base_address: str = network_plan.DEFAULT_BASE_ADDRESS

    @model_validator(mode="after")
    def _plannable(self) -> NetworkOptions:
        self.plan()
        return self

    def plan(self) -> network_plan.NetworkPlan:
        inputs = network_plan.PlanInputs(users=self.planned_users, azs=self.availability_zones)
        try:
            return network_plan.plan(inputs, self.base_address)
        except network_plan.PlanError as error:
            name = {"users": "planned_users", "azs": "availability_zones"}.get(
                error.field, error.field
            )
            raise ValueError(f"option {name}: {error.what}; allowed: {error.allowed}") from None


G_NETWORK = "Network"
G_ADDRESSES = "Addresses (size them with `studio-factory plan-network`)"


def _parameters(pt: ProductTemplate, opts: NetworkOptions) -> None:
    defaults = opts.plan().template_parameters()
    pt.parameter(
        G_NETWORK,
        "NetworkName",
        "Network name",
        Type="String",
        Default=opts.network_name,
        MaxLength=NAME_MAX_LENGTH,
        AllowedPattern=NAME_PATTERN,
        ConstraintDescription="1-63 letters, digits and hyphens; must start and end with "
        "a letter or digit.",
        Description="Names the SSM prefix /studio-catalog/networks/<name>/ that the domain "
        "product reads, and the resources' Name tags. Unique per account and Region: a "
        "second network needs another name.",
    )
    pt.parameter(
        G_ADDRESSES,
        "VpcCidr",
        "VPC CIDR",
        Type="String",
        Default=defaults["VpcCidr"],
        AllowedPattern=CIDR_PATTERN,
        ConstraintDescription="An IPv4 CIDR with a prefix from /16 to /28, such as 10.0.0.0/20.",
        Description="Private range of the VPC, not overlapping networks it will be connected "
        "to. It must hold AvailabilityZoneCount subnets of SubnetPrefixLength (3 /22 subnets "
        "need a /20, 2 need a /21): `studio-factory plan-network --users N` prints both.",
    )
    pt.parameter(
        G_ADDRESSES,
        "SubnetPrefixLength",
        "Subnet prefix length",
        Type="String",
        Default=defaults["SubnetPrefixLength"],
        AllowedValues=list(SUBNET_PREFIXES),
        ConstraintDescription="A prefix length from 16 to 28 (VPC User Guide).",
        Description="Size of each private subnet (22 = /22, 1,019 usable addresses). Each "
        "subnet is sized for every person at once; subnets cannot be added to a domain later.",
    )
    pt.parameter(
        G_ADDRESSES,
        "AvailabilityZoneCount",
        "Availability Zones",
        Type="String",
        Default=defaults["AvailabilityZoneCount"],
        AllowedValues=["2", "3"],
        Description="Number of private subnets, one per Availability Zone: 2 in a Region "
        "where your account has only two.",
    )
    pt.parameter(
        G_ADDRESSES,
        "AvailabilityZones",
        "Availability Zone names (optional)",
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=AZ_PATTERN,
        ConstraintDescription="Comma-separated Availability Zone names such as "
        "us-east-1a,us-east-1b,us-east-1c, or empty.",
        Description="Empty: the Region's first Availability Zones (Fn::GetAZs). Otherwise at "
        "least AvailabilityZoneCount names, e.g. to avoid a zone where SageMaker or an "
        "endpoint service is not offered.",
    )


def _conditions(pt: ProductTemplate) -> None:
    pt.condition("ThreeAzs", Equals(Ref("AvailabilityZoneCount"), "3"))
    pt.condition("AzsGiven", list_is_set("AvailabilityZones"))


def _mappings(pt: ProductTemplate) -> None:
    """``Fn::Cidr`` takes host bits, the console a prefix length: 32 - prefix, looked up
    (cfn-lint's function schema, ``data/schemas/other/functions/cidr.json``, accepts
    ``Fn::FindInMap`` and ``Fn::GetAtt`` in each of Fn::Cidr's arguments)."""
    pt.template.add_mapping(
        "SubnetHostBits", {prefix: {"Bits": 32 - int(prefix)} for prefix in SUBNET_PREFIXES}
    )


def network_tags(name: str, **extra: Any) -> Tags:
    """Every taggable resource: its Name, the network (cost per network) and managed-by (the
    launch role's EC2 permissions may be scoped by it)."""
    return Tags(
        Name=Sub(f"studio-${{NetworkName}}-{name}"),
        **{
            NETWORK_TAG: Ref("NetworkName"),
            naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE,
            **extra,
        },
    )


def subnet_ids() -> Any:
    """The subnets that exist for the chosen number of Availability Zones."""
    refs = [Ref(name) for name in SUBNETS]
    return If("ThreeAzs", refs, refs[:2])


def _vpc(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        VPC(
            "Vpc",
            CidrBlock=Ref("VpcCidr"),
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=network_tags("vpc"),
        )
    )


#: Stands in for a zone the admin did not name; EC2 refuses it and says which zones exist.
MISSING_ZONE = "too-few-AvailabilityZones-given"


def given_zones() -> Any:
    """The named zones, padded to :data:`MAX_AZS` with :data:`MISSING_ZONE`.

    ``Fn::Select`` past the end of a list is a template error (CloudFormation User Guide,
    Fn::Select: "does not check ... if the index is out of bounds"), and whether the branch
    ``Fn::If`` does not take is evaluated is not documented: worst case, it is. The padding
    keeps every index valid whatever the list, and too few names fail at the subnet with
    EC2's message instead of silently landing two subnets in one zone.
    """
    padding = "".join(f",{MISSING_ZONE}" for _ in range(MAX_AZS))
    return Split(",", Join("", [Join(",", Ref("AvailabilityZones")), padding]))


def _subnets(pt: ProductTemplate) -> None:
    """Subnet i is the i-th block of SubnetPrefixLength in the VPC (``Fn::Cidr`` counts them
    in order, so the first two are the same whether two or three are asked for). The blocks
    are cut from ``GetAtt Vpc.CidrBlock``, the form EC2 stores (VPC User Guide: a CIDR given
    to the API "is automatically modified to its canonical form"), not from VpcCidr's text."""
    bits = FindInMap("SubnetHostBits", Ref("SubnetPrefixLength"), "Bits")
    pt.template.add_resource(
        RouteTable("PrivateRouteTable", VpcId=Ref("Vpc"), Tags=network_tags("private"))
    )
    for index, name in enumerate(SUBNETS):
        gated = {"Condition": "ThreeAzs"} if index == 2 else {}
        count = 3 if index == 2 else 2
        zone = If("AzsGiven", Select(index, given_zones()), Select(index, GetAZs("")))
        pt.template.add_resource(
            Subnet(
                name,
                VpcId=Ref("Vpc"),
                CidrBlock=Select(index, Cidr(GetAtt("Vpc", "CidrBlock"), count, bits)),
                AvailabilityZone=zone,
                MapPublicIpOnLaunch=False,
                Tags=network_tags(f"private-{index + 1}"),
                **gated,
            )
        )
        pt.template.add_resource(
            SubnetRouteTableAssociation(
                f"{name}RouteTable",
                SubnetId=Ref(name),
                RouteTableId=Ref("PrivateRouteTable"),
                **gated,
            )
        )


#: No egress from the endpoints' network interfaces: security groups are stateful, so
#: answers to the allowed HTTPS requests leave anyway (VPC User Guide, "Security groups").
#: CloudFormation removes the default allow-all egress rule only when one is given
#: (``AWS::EC2::SecurityGroup``, SecurityGroupEgress), so the one given matches nothing:
#: ICMP type 252 code 86 to 255.255.255.255/32 (the rule the AWS CDK uses for the same).
NO_EGRESS = {
    "IpProtocol": "icmp",
    "FromPort": 252,
    "ToPort": 86,
    "CidrIp": "255.255.255.255/32",
    "Description": "No egress: endpoints only answer requests",
}


def endpoint_label(service: str) -> str:
    """``sagemaker-api`` for ``com.amazonaws.${AWS::Region}.sagemaker.api``."""
    return service.rsplit("}.", 1)[1].replace(".", "-")


def _endpoints(pt: ProductTemplate) -> None:
    pt.template.add_resource(
        SecurityGroup(
            "EndpointSecurityGroup",
            GroupDescription="Interface VPC endpoints of the Studio network: HTTPS from the VPC",
            VpcId=Ref("Vpc"),
            SecurityGroupIngress=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "CidrIp": GetAtt("Vpc", "CidrBlock"),
                    "Description": "HTTPS from Studio apps and jobs in this VPC",
                }
            ],
            SecurityGroupEgress=[NO_EGRESS],
            Tags=network_tags("endpoints"),
        )
    )
    for logical_id, service in INTERFACE_ENDPOINTS.items():
        pt.template.add_resource(
            VPCEndpoint(
                logical_id,
                VpcId=Ref("Vpc"),
                ServiceName=Sub(service),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=subnet_ids(),
                SecurityGroupIds=[Ref("EndpointSecurityGroup")],
                Tags=network_tags(endpoint_label(service)),
            )
        )
    pt.template.add_resource(
        VPCEndpoint(
            "S3GatewayEndpoint",
            VpcId=Ref("Vpc"),
            ServiceName=Sub(S3_ENDPOINT_SERVICE),
            VpcEndpointType="Gateway",
            RouteTableIds=[Ref("PrivateRouteTable")],
            Tags=network_tags("s3"),
        )
    )


def ssm_name(key: str) -> Sub:
    return Sub(NETWORK_SSM_TEMPLATE.format(network="${NetworkName}") + f"/{key}")


def _ssm_outputs(pt: ProductTemplate) -> None:
    values = {
        "vpc-id": ("String", Ref("Vpc")),
        "subnet-ids": ("StringList", Join(",", subnet_ids())),
    }
    assert tuple(values) == NETWORK_KEYS
    for key, (kind, value) in values.items():
        logical = "Ssm" + "".join(part.title() for part in key.split("-"))
        pt.template.add_resource(
            SsmParameter(
                logical,
                Type=kind,
                Name=ssm_name(key),
                Value=value,
                Description=Sub(f"Studio network ${{NetworkName}}: {key}"),
            )
        )


def _outputs(pt: ProductTemplate) -> None:
    joined = Join(",", subnet_ids())
    outputs = {
        "VpcId": ("VPC for the Studio domain (VpcId)", Ref("Vpc")),
        "SubnetIds": ("Private subnets for the Studio domain (SubnetIds)", joined),
        "VpcCidr": ("Address range of the VPC", GetAtt("Vpc", "CidrBlock")),
        "EndpointSecurityGroupId": (
            "Security group of the interface endpoints (HTTPS from the VPC)",
            Ref("EndpointSecurityGroup"),
        ),
        "SsmPrefix": (
            "SSM prefix holding vpc-id and subnet-ids for the domain product",
            Sub(NETWORK_SSM_TEMPLATE.format(network="${NetworkName}")),
        ),
        "NextStep": (
            "Launch the Studio domain product with these values",
            Sub("VpcId=${Vpc} SubnetIds=${Subnets} AppNetworkAccessType=VpcOnly", Subnets=joined),
        ),
    }
    for name, (description, value) in outputs.items():
        pt.template.add_output(Output(name, Description=description, Value=value))


def generate(options: dict[str, Any] | None = None) -> Any:
    """Build the network product template from (validated) generator options."""
    opts: NetworkOptions = parse(NAME, NetworkOptions, options)
    pt = ProductTemplate(
        "Private network for a VpcOnly SageMaker Studio domain (Studio Catalog Factory): "
        "private subnets in 2-3 Availability Zones, no internet route, VPC endpoints for "
        "SageMaker, Studio, STS, CloudWatch Logs, ECR and S3."
    )
    _parameters(pt, opts)
    _conditions(pt)
    _mappings(pt)
    _vpc(pt)
    _subnets(pt)
    _endpoints(pt)
    _ssm_outputs(pt)
    _outputs(pt)
    return pt.finish()
