"""``studio-factory plan-network``: the worked example, the output forms and the error style."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from factory.cli import LazyGroup, plan_network


def run(*args: str):
    return CliRunner().invoke(plan_network.command, list(args))


def test_the_seeds_100_people_come_out_as_22_subnets():
    result = run("--users", "100")
    assert result.exit_code == 0, result.output
    assert "subnets: /22 (1,024 addresses, 1,019 usable, 408 spare) in each of 3" in result.stdout
    assert "vpc: /20 (4,096 addresses), e.g. 10.0.0.0/20: 10.0.0.0/22, 10.0.4.0/22," in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith(
        "launch studio-network with: VpcCidr=10.0.0.0/20 SubnetPrefixLength=22 "
        "AvailabilityZoneCount=3"
    )


def test_the_seeds_breakdown_in_classic_json():
    result = run("--users", "100", "--experience", "classic", "--output", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["ips_per_user"], document["user_ips"]) == (5, 500)
    assert (document["domain_ips"], document["ips_per_subnet"]) == (33, 511)
    assert (document["subnet_prefix"], document["vpc_prefix"]) == (22, 20)
    assert document["template_parameters"]["SubnetPrefixLength"] == "22"


def test_off_a_terminal_the_breakdown_is_tab_separated():
    result = run("--users", "100", "--azs", "2", "--growth", "25")
    lines = result.stdout.splitlines()
    assert lines[0] == "WHAT\tLEVEL\tIPS EACH\tCOUNT\tPER\tTIMES\tIPS\tSOURCE"
    rows = [line.split("\t") for line in lines[1:] if "\t" in line]
    assert [r[0] for r in rows] == [
        "Studio apps, one instance each",
        "Training/processing instances",
        "EFS mount target",
        "Interface VPC endpoints",
    ]
    assert rows[0][1:7] == ["user", "1", "4", "person", "100", "400"]
    assert rows[3][1:7] == ["domain", "1", "10", "subnet", "2", "20"]
    assert "each subnet: 600 (people) + 150 (growth) + 11 (domain) = 761 IPs" in result.stdout
    assert "\x1b[" not in result.stdout


def test_on_a_terminal_the_breakdown_is_a_table(monkeypatch: pytest.MonkeyPatch):
    from factory.cli import console

    monkeypatch.setattr(console, "is_terminal", lambda stderr=False: True)
    result = run("--users", "100")
    assert result.exit_code == 0, result.output
    assert "IP addresses at the busiest moment" in result.stdout
    assert "WHAT\tLEVEL" not in result.stdout
    assert "sources: one instance per running space" in result.stdout
    assert "launch studio-network with: VpcCidr=10.0.0.0/20" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--users", "0"], "error: --users: 0 is not in the range 1<=x<=100000; allowed: an "
         "integer from 1 to 100000"),
        ([], "error: --users: required; allowed: an integer from 1 to 100000"),
        (["--users", "many"], "error: --users: 'many' is not a valid integer range; allowed:"),
        (["--users", "9", "--azs", "4"], "error: --azs: 4 is not in the range 2<=x<=3; allowed: "
         "2 or 3"),
        (["--users", "9", "--experience", "new"], "error: --experience: 'new' is not one of "
         "'studio', 'classic'; allowed: studio, classic"),
        (["--users", "9", "--growth", "-5"], "error: --growth: -5 is not in the range"),
        (["--users", "5000"], "error: --users: 5,000 users need 30,016 addresses in each subnet"),
        (["--users", "9", "--experience", "classic", "--apps-per-user", "9"],
         "error: --apps-per-user: 9 KernelGateway apps on 2 instance type(s) cannot run"),
        (["--users", "9", "--base-address", "10.0.0.9"], "error: --base-address: 10.0.0.9/23 is "
         "not a network"),
        (["--users", "9", "--user"], "error: --user: no such option"),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_line_and_exit_1(args, expected):
    result = run(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_too_many_people_says_how_many_fit():
    result = run("--users", "5000")
    assert "; allowed: at most 2,728 users with these settings" in result.stderr


def test_registered_in_the_lazy_group_errors_keep_the_style():
    group = LazyGroup(
        "studio-factory",
        lazy={"plan-network": ("factory.cli.plan_network", "Size the Studio VPC.")},
    )
    result = CliRunner().invoke(group, ["plan-network", "--users", "0"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --users: 0 is not in the range"), result.stderr
    assert "allowed: an integer from 1 to 100000" in result.stderr
    ok = CliRunner().invoke(group, ["plan-network", "--users", "100", "--output", "json"])
    assert json.loads(ok.stdout)["subnet_prefix"] == 22
