"""The network product, rendered with parameter sets as an admin would launch it.

cloud-radar resolves both branches of every ``Fn::If``, so ``Fn::GetAZs`` is evaluated even
when Availability Zones are given, and it downloads region data for it (FIELD-NOTES: no
internet here). The fixture gives it the region's zones instead. ``Fn::GetAtt Vpc.CidrBlock``
(what EC2 made of VpcCidr) is given through cloud-radar's attribute-values metadata.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
from typing import Any

import pytest
from cloud_radar.cf.unit import Template
from cloud_radar.cf.unit import functions as radar_functions

from factory import naming, network_plan
from factory.build import render as render_template
from factory.options import OptionsError
from factory.products import studio_network
from tests.support.render import ROOT, load

PATH = "templates/studio-network.yaml"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]


@pytest.fixture(autouse=True)
def _offline_get_azs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(radar_functions, "REGION_DATA", [{"code": "us-east-1", "zones": ZONES}])


def launch(params: dict[str, str] | None = None) -> Any:
    """A cloud-radar stack of the committed template launched with ``params``."""
    values = dict(params or {})
    template = copy.deepcopy(load(PATH))
    cidr = values.get("VpcCidr", template["Parameters"]["VpcCidr"]["Default"])
    with contextlib.suppress(ValueError):  # a bad one is refused by the parameter's pattern
        canonical = str(ipaddress.IPv4Network(cidr, strict=False))  # what EC2 stores
        metadata = {"Cloud-Radar": {"attribute-values": {"CidrBlock": canonical}}}
        template["Resources"]["Vpc"]["Metadata"] = metadata
    return Template(template).create_stack(values, region="us-east-1")


@pytest.fixture(scope="module")
def default_stack() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(radar_functions, "REGION_DATA", [{"code": "us-east-1", "zones": ZONES}])
        return launch()


def resources(stack: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in stack.data["Resources"].items() if v["Type"] == kind}


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def subnets(stack: Any) -> list[tuple[str, str]]:
    found = resources(stack, "AWS::EC2::Subnet")
    return [
        (found[name]["Properties"]["CidrBlock"], found[name]["Properties"]["AvailabilityZone"])
        for name in sorted(found)
    ]


# --- the template file -------------------------------------------------------------------


def test_the_committed_template_is_the_generators_output():
    assert (ROOT / PATH).read_text() == render_template(studio_network.generate())


def test_cfn_lint_finds_nothing_in_several_partitions():
    from factory.lint import lint_text

    text = (ROOT / PATH).read_text()
    regions = ["us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"]
    assert lint_text(PATH, text, regions=regions) == []


def test_every_parameter_has_a_console_group_and_label():
    template = load(PATH)
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for g in interface["ParameterGroups"] for p in g["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"])
    assert set(interface["ParameterLabels"]) == set(template["Parameters"])


# --- defaults: plan-network's answer for 100 people, three zones -------------------------


def test_defaults_are_plan_networks_recommendation_for_100_people():
    expected = network_plan.plan(network_plan.PlanInputs(users=100)).template_parameters()
    parameters = load(PATH)["Parameters"]
    assert {name: parameters[name]["Default"] for name in expected} == expected
    assert expected == {
        "VpcCidr": "10.0.0.0/20",
        "SubnetPrefixLength": "22",
        "AvailabilityZoneCount": "3",
    }


def test_default_subnets_are_three_22s_in_three_zones(default_stack):
    assert subnets(default_stack) == [
        ("10.0.0.0/22", "us-east-1a"),
        ("10.0.4.0/22", "us-east-1b"),
        ("10.0.8.0/22", "us-east-1c"),
    ]


@pytest.mark.parametrize(
    ("users", "azs"), [(100, 2), (100, 3), (20, 2), (1500, 3), (2000, 2), (1, 3)]
)
def test_the_subnets_are_the_ones_plan_network_prints(users, azs):
    plan = network_plan.plan(network_plan.PlanInputs(users=users, azs=azs))
    stack = launch(plan.template_parameters())
    assert [cidr for cidr, _ in subnets(stack)] == plan.subnet_cidrs


def test_two_zones_make_two_subnets_everywhere():
    stack = launch({"AvailabilityZoneCount": "2", "VpcCidr": "10.0.0.0/21"})
    assert subnets(stack) == [("10.0.0.0/22", "us-east-1a"), ("10.0.4.0/22", "us-east-1b")]
    assert "PrivateSubnet3RouteTable" not in stack.data["Resources"]
    for endpoint in resources(stack, "AWS::EC2::VPCEndpoint").values():
        if endpoint["Properties"]["VpcEndpointType"] == "Interface":
            assert endpoint["Properties"]["SubnetIds"] == ["PrivateSubnet1", "PrivateSubnet2"]
    ssm = stack.get_resource("SsmSubnetIds").get_property_value("Value")
    assert ssm == "PrivateSubnet1,PrivateSubnet2"


def test_given_zones_are_used_in_order():
    stack = launch({"AvailabilityZones": "us-east-1d,us-east-1b,us-east-1a"})
    assert [zone for _, zone in subnets(stack)] == ["us-east-1d", "us-east-1b", "us-east-1a"]


def test_a_non_canonical_vpc_cidr_still_carves_aligned_subnets():
    """Subnets are cut from what EC2 made of the CIDR (GetAtt Vpc.CidrBlock), not the text."""
    stack = launch({"VpcCidr": "10.1.2.3/20"})
    assert [cidr for cidr, _ in subnets(stack)] == ["10.1.0.0/22", "10.1.4.0/22", "10.1.8.0/22"]


# --- private: no route out, endpoints for VpcOnly ----------------------------------------


def test_no_internet_gateway_nat_or_route_out(default_stack):
    kinds = {r["Type"] for r in default_stack.data["Resources"].values()}
    for kind in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::Route",
        "AWS::EC2::EgressOnlyInternetGateway",
    ):
        assert kind not in kinds
    for subnet in resources(default_stack, "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_the_vpc_resolves_private_dns_names(default_stack):
    vpc = default_stack.get_resource("Vpc")
    assert vpc.get_property_value("EnableDnsSupport") is True
    assert vpc.get_property_value("EnableDnsHostnames") is True


def test_interface_endpoints_studio_needs_in_vpc_only_mode(default_stack):
    endpoints = resources(default_stack, "AWS::EC2::VPCEndpoint")
    interface = {
        e["Properties"]["ServiceName"]: e["Properties"]
        for e in endpoints.values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    }
    assert sorted(interface) == [
        "aws.sagemaker.us-east-1.studio",
        "com.amazonaws.us-east-1.ecr.api",
        "com.amazonaws.us-east-1.ecr.dkr",
        "com.amazonaws.us-east-1.logs",
        "com.amazonaws.us-east-1.sagemaker.api",
        "com.amazonaws.us-east-1.sagemaker.runtime",
        "com.amazonaws.us-east-1.sts",
    ]
    for properties in interface.values():
        assert properties["PrivateDnsEnabled"] is True
        assert properties["SecurityGroupIds"] == ["EndpointSecurityGroup"]
        assert properties["SubnetIds"] == ["PrivateSubnet1", "PrivateSubnet2", "PrivateSubnet3"]


def test_s3_is_a_gateway_endpoint_on_the_private_route_table(default_stack):
    s3 = default_stack.get_resource("S3GatewayEndpoint")
    assert s3.get_property_value("ServiceName") == "com.amazonaws.us-east-1.s3"
    assert s3.get_property_value("VpcEndpointType") == "Gateway"
    assert s3.get_property_value("RouteTableIds") == ["PrivateRouteTable"]
    associations = resources(default_stack, "AWS::EC2::SubnetRouteTableAssociation")
    assert sorted(a["Properties"]["SubnetId"] for a in associations.values()) == [
        "PrivateSubnet1",
        "PrivateSubnet2",
        "PrivateSubnet3",
    ]


def test_the_planner_counts_at_least_the_endpoints_the_product_creates():
    assert len(studio_network.INTERFACE_ENDPOINTS) <= network_plan.ENDPOINTS_PER_SUBNET


def test_endpoint_security_group_allows_only_https_from_the_vpc(default_stack):
    group = default_stack.get_resource("EndpointSecurityGroup")
    assert group.get_property_value("SecurityGroupIngress") == [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "CidrIp": "10.0.0.0/20",
            "Description": "HTTPS from Studio apps and jobs in this VPC",
        }
    ]
    # one rule that matches no traffic: CloudFormation would otherwise add allow-all egress
    assert group.get_property_value("SecurityGroupEgress") == [studio_network.NO_EGRESS]


# --- what other products read, names, tags -----------------------------------------------


def test_ssm_parameters_for_the_domain_product(default_stack):
    vpc = default_stack.get_resource("SsmVpcId")
    assert vpc.get_property_value("Name") == f"{naming.SSM_ROOT}/networks/studio/vpc-id"
    assert vpc.get_property_value("Value") == "Vpc"
    ids = default_stack.get_resource("SsmSubnetIds")
    assert ids.get_property_value("Name") == f"{naming.SSM_ROOT}/networks/studio/subnet-ids"
    assert ids.get_property_value("Type") == "StringList"
    assert ids.get_property_value("Value") == "PrivateSubnet1,PrivateSubnet2,PrivateSubnet3"


def test_a_second_network_gets_its_own_names():
    stack = launch({"NetworkName": "research"})
    names = {stack.get_resource(k).get_property_value("Name") for k in ("SsmVpcId", "SsmSubnetIds")}
    assert names == {
        "/studio-catalog/networks/research/vpc-id",
        "/studio-catalog/networks/research/subnet-ids",
    }
    assert tags(stack.data["Resources"]["Vpc"])["Name"] == "studio-research-vpc"


def test_no_fixed_physical_names():
    fixed = {"GroupName", "VpcEndpointName"}
    for logical_id, resource in load(PATH)["Resources"].items():
        assert not fixed & set(resource.get("Properties", {})), logical_id


def test_every_taggable_resource_names_the_network_for_cost(default_stack):
    untaggable = {"AWS::EC2::SubnetRouteTableAssociation", "AWS::SSM::Parameter"}
    for logical_id, resource in default_stack.data["Resources"].items():
        if resource["Type"] in untaggable:
            continue
        found = tags(resource)
        assert found[studio_network.NETWORK_TAG] == "studio", logical_id
        assert found[naming.MANAGED_BY_TAG] == naming.MANAGED_BY_VALUE, logical_id


def test_outputs_give_the_domain_products_values(default_stack):
    outputs = {k: v["Value"] for k, v in default_stack.data["Outputs"].items()}
    assert outputs["SubnetIds"] == "PrivateSubnet1,PrivateSubnet2,PrivateSubnet3"
    assert outputs["NextStep"] == (
        "VpcId=Vpc SubnetIds=PrivateSubnet1,PrivateSubnet2,PrivateSubnet3 "
        "AppNetworkAccessType=VpcOnly"
    )
    assert outputs["SsmPrefix"] == "/studio-catalog/networks/studio"


# --- constraints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("VpcCidr", "10.0.0.0/8"),
        ("VpcCidr", "10.0.0.0/29"),
        ("VpcCidr", "10.0.0.0"),
        ("VpcCidr", "256.0.0.0/20"),
        ("SubnetPrefixLength", "29"),
        ("SubnetPrefixLength", "/22"),
        ("AvailabilityZoneCount", "4"),
        ("AvailabilityZones", "useast1a"),
        ("NetworkName", "my_network"),
        ("NetworkName", "-studio"),
    ],
)
def test_bad_values_are_rejected_before_anything_exists(param, value):
    with pytest.raises(ValueError, match=param):
        launch({param: value})


# --- generator options -------------------------------------------------------------------


def test_planned_users_change_the_defaults():
    template = studio_network.generate({"planned_users": 2000, "availability_zones": 2})
    parameters = template.to_dict()["Parameters"]
    assert parameters["SubnetPrefixLength"]["Default"] == "18"
    assert parameters["VpcCidr"]["Default"] == "10.0.0.0/17"
    assert parameters["AvailabilityZoneCount"]["Default"] == "2"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"planned_users": 100_000}, "option planned_users: 100,000 users need"),
        ({"availability_zones": 4}, "option availability_zones: 4 is out of range"),
        ({"network_name": "my_net"}, "network_name"),
        ({"planned_user": 10}, "unknown option 'planned_user'"),
    ],
)
def test_bad_generator_options_name_the_option(options, message):
    with pytest.raises(OptionsError, match=message):
        studio_network.generate(options)


def test_too_few_zone_names_fail_at_the_subnet_instead_of_sharing_a_zone():
    stack = launch({"AvailabilityZones": "us-east-1a,us-east-1b"})
    zones = [zone for _, zone in subnets(stack)]
    assert zones == ["us-east-1a", "us-east-1b", studio_network.MISSING_ZONE]
    assert (
        launch(
            {
                "AvailabilityZones": "us-east-1a,us-east-1b",
                "AvailabilityZoneCount": "2",
                "VpcCidr": "10.0.0.0/21",
            }
        )
        .data["Resources"]
        .get("PrivateSubnet3")
        is None
    )
