"""Seed 002's "VPC network planning", as code: the worked example and every rule around it."""

from __future__ import annotations

import pytest

from factory import network_plan as np
from factory.network_plan import PlanError, PlanInputs, plan


def test_the_seeds_worked_example_comes_out_exactly():
    """Seed 002: JupyterServer + 2 instance types + 1 training instance = 5 IPs a person;
    100 people = 500, + 11 domain IPs per subnet (1 EFS, 10 endpoints) = 511 -> /22."""
    result = plan(PlanInputs(users=100, experience="classic"))
    assert result.ips_per_user == 5
    assert result.user_ips == 500
    assert result.domain_ips_per_subnet == 11
    assert result.domain_ips == 33  # "33 IPs are shared across users at the domain level"
    assert result.ips_per_subnet == 511  # "for a total of 511 IPs"
    assert result.needed_per_subnet == 516  # + the 5 addresses AWS reserves
    assert result.subnet_prefix == 22  # "create the VPC subnet CIDR with /22"
    assert result.subnet_ips == 1024
    assert result.vpc_prefix == 20  # three /22 subnets


def test_studio_new_counts_one_instance_per_running_app():
    result = plan(PlanInputs(users=100))
    assert result.inputs.experience == "studio"
    assert result.ips_per_user == 4 + 2  # four spaces running, one training instance
    assert result.ips_per_subnet == 611
    assert (result.subnet_prefix, result.vpc_prefix) == (22, 20)


def test_instance_types_only_matter_in_classic():
    studio = [plan(PlanInputs(users=10, instance_types=t)).ips_per_user for t in (1, 2, 4)]
    assert len(set(studio)) == 1
    classic = [
        plan(PlanInputs(users=10, instance_types=t, experience="classic")).ips_per_user
        for t in (1, 2, 4)
    ]
    assert classic == [1 + 1 + 2, 1 + 2 + 2, 1 + 4 + 2]


def test_classic_instance_types_beyond_the_apps_run_nothing():
    result = plan(PlanInputs(users=1, apps_per_user=1, instance_types=3, experience="classic"))
    assert result.ips_per_user == 1 + 1 + 2


def test_classic_refuses_more_than_four_kernel_gateway_apps_per_instance_type():
    with pytest.raises(PlanError) as error:
        plan(PlanInputs(users=1, apps_per_user=9, instance_types=2, experience="classic"))
    assert error.value.field == "apps_per_user"
    assert "at most 4 per instance type (8)" in error.value.allowed


def test_the_five_reserved_addresses_decide_the_boundary():
    """507 IPs + 5 reserved = 512 fit a /23; 508 + 5 = 513 do not (VPC User Guide)."""
    one_ip = {"apps_per_user": 1, "training_instances": 0}
    fits = plan(PlanInputs(users=496, **one_ip))
    assert (fits.ips_per_subnet, fits.needed_per_subnet, fits.subnet_prefix) == (507, 512, 23)
    assert fits.spare_per_subnet == 0
    over = plan(PlanInputs(users=497, **one_ip))
    assert (over.ips_per_subnet, over.subnet_prefix) == (508, 22)


def test_growth_is_applied_to_the_people_and_rounded_up():
    result = plan(PlanInputs(users=100, growth_percent=20))
    assert result.growth_ips == 120
    assert result.ips_per_subnet == 600 + 120 + 11
    assert plan(PlanInputs(users=1, apps_per_user=1, growth_percent=10)).growth_ips == 1


def test_efa_training_instances_take_five_addresses():
    assert plan(PlanInputs(users=1, training_instances=2, efa=True)).ips_per_user == 4 + 10


def test_shared_spaces_count_once_not_per_person():
    base = plan(PlanInputs(users=10))
    shared = plan(PlanInputs(users=10, shared_spaces=7))
    assert shared.ips_per_user == base.ips_per_user
    assert shared.user_ips == base.user_ips + 7


def test_the_vpc_holds_the_subnets_aligned():
    two = plan(PlanInputs(users=100, azs=2))
    three = plan(PlanInputs(users=100, azs=3))
    assert (two.subnet_prefix, two.vpc_prefix) == (22, 21)
    assert (three.subnet_prefix, three.vpc_prefix) == (22, 20)
    assert three.subnet_cidrs == ["10.0.0.0/22", "10.0.4.0/22", "10.0.8.0/22"]
    assert two.domain_ips == 22


def test_every_subnet_holds_everyone_whatever_the_number_of_zones():
    """Worst case: which subnet an app lands in is SageMaker's choice."""
    two = plan(PlanInputs(users=300, azs=2))
    three = plan(PlanInputs(users=300, azs=3))
    assert two.ips_per_subnet == three.ips_per_subnet


def test_another_base_address_moves_the_example_and_the_parameters():
    result = plan(PlanInputs(users=100), base_address="172.16.32.0")
    assert result.vpc_cidr == "172.16.32.0/20"
    assert result.template_parameters() == {
        "VpcCidr": "172.16.32.0/20",
        "SubnetPrefixLength": "22",
        "AvailabilityZoneCount": "3",
    }


@pytest.mark.parametrize("address", ["10.0.0.7", "10.0.8.0", "not-an-address", "10.0.0.0/8"])
def test_a_base_address_must_start_the_vpc_block(address):
    with pytest.raises(PlanError) as error:
        plan(PlanInputs(users=100), base_address=address)
    assert error.value.field == "base_address"


def test_too_many_people_for_a_16_vpc_names_the_most_that_fit():
    inputs = PlanInputs(users=5000)
    with pytest.raises(PlanError) as error:
        plan(inputs)
    most = np.max_users(inputs)
    assert error.value.field == "users"
    assert f"at most {most:,} users" in error.value.allowed
    assert "/18 (16,384 addresses)" in error.value.what
    assert plan(PlanInputs(users=most)).vpc_prefix == 16
    with pytest.raises(PlanError):
        plan(PlanInputs(users=most + 1))


def test_two_zones_fit_more_people_than_three():
    assert np.max_users(PlanInputs(users=1, azs=2)) > np.max_users(PlanInputs(users=1, azs=3))


@pytest.mark.parametrize(
    ("field", "value"),
    [("users", 0), ("users", 100_001), ("apps_per_user", 0), ("azs", 4), ("growth_percent", -1)],
)
def test_inputs_out_of_range_name_the_input_and_the_range(field, value):
    with pytest.raises(PlanError) as error:
        plan(PlanInputs(**{"users": 10, field: value}))
    low, high = np.LIMITS[field]
    assert (error.value.field, error.value.allowed) == (field, f"{low} to {high}")


def test_prefix_for_is_the_smallest_block_that_holds_the_addresses():
    assert [np.prefix_for(n) for n in (1, 2, 16, 17, 512, 513)] == [32, 31, 28, 27, 23, 22]


def test_the_json_shape_is_stable():
    document = plan(PlanInputs(users=100)).as_dict()
    assert list(document) == [
        "inputs",
        "breakdown",
        "ips_per_user",
        "user_ips",
        "growth_ips",
        "domain_ips_per_subnet",
        "domain_ips",
        "ips_per_subnet",
        "reserved_ips_per_subnet",
        "needed_ips_per_subnet",
        "subnet_prefix",
        "subnet_ips",
        "usable_ips_per_subnet",
        "spare_ips_per_subnet",
        "vpc_prefix",
        "vpc_ips",
        "example",
        "template_parameters",
    ]
    row = document["breakdown"][0]
    assert list(row) == [
        "entity",
        "level",
        "ips_each",
        "count",
        "unit",
        "units",
        "source",
        "ips_per_unit",
        "ips",
    ]
    assert sum(r["ips"] for r in document["breakdown"] if r["level"] == "user") == 600
