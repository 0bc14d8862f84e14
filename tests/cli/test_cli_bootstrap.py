"""`studio-factory bootstrap plan|deploy|status` against local AWS (the group invoked
directly; the lead registers it in factory.cli.COMMANDS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from factory.cli.bootstrap import command
from factory.testing.local_aws import LocalAWS
from factory.testing.stacksets import BEHAVIOUR
from tests.rollout.support import BUCKET, REGIONS, Org, make_org, workspace


@pytest.fixture
def root(tmp_path: Path, local_aws: LocalAWS) -> Iterator[tuple[Path, Org]]:
    BEHAVIOUR.reset()
    org = make_org(local_aws)
    yield workspace(tmp_path, local_aws, org), org
    BEHAVIOUR.reset()


def invoke(root: Path, sub: str, *extra: str) -> Result:
    args = [sub, "--env", "dev", "--portfolios", str(root / "portfolios"), "--bucket", BUCKET]
    return CliRunner().invoke(command, [*args, *extra], catch_exceptions=False)


def test_plan_deploy_status_round_trip(root: tuple[Path, Org]) -> None:
    path, org = root
    planned = invoke(path, "plan", "--output", "json")
    assert planned.exit_code == 2, planned.output
    data = json.loads(planned.stdout)
    assert [c["action"] for c in data["changes"]] == [
        "create-stack-set",
        "create-instances",
        "create-instances",
    ]
    assert all(c["status"] == "pending" for c in data["changes"])
    assert data["regions"] == list(REGIONS)

    deployed = invoke(path, "deploy", "--yes")
    assert deployed.exit_code == 0, deployed.output
    assert f"{org.workload:<14}eu-west-1       SUCCEEDED" in deployed.stdout

    again = invoke(path, "plan")
    assert again.exit_code == 0 and "no changes" in again.stdout

    status = invoke(path, "status", "--output", "json")
    assert status.exit_code == 0
    shown = json.loads(status.stdout)
    assert len(shown["instances"]) == 10 and shown["missing"] == []
    assert {i["drift_status"] for i in shown["instances"]} == {"NOT_CHECKED"}
    assert "123456789012" in shown["unreachable"]  # the management account


def test_deploy_reports_a_failed_instance_and_exits_1(root: tuple[Path, Org]) -> None:
    path, org = root
    BEHAVIOUR.failures[(org.accounts["a"][0], "us-east-1")] = "Resource limit exceeded"
    result = invoke(path, "deploy", "--yes", "--output", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    failed = [r for r in data["results"] if r["status"] == "FAILED"]
    assert failed == [
        {
            "operation_id": failed[0]["operation_id"],
            "account": org.accounts["a"][0],
            "region": "us-east-1",
            "status": "FAILED",
            "reason": "Resource limit exceeded",
        }
    ]
    shown = invoke(path, "status", "--output", "json")
    assert shown.exit_code == 1  # an OUTDATED instance: the health check fails
    status = json.loads(shown.stdout)
    row = next(
        i
        for i in status["instances"]
        if i["account"] == org.accounts["a"][0] and i["region"] == "us-east-1"
    )
    assert (row["status"], row["status_reason"]) == ("OUTDATED", "Resource limit exceeded")


def test_an_unknown_template_parameter_is_a_user_error(root: tuple[Path, Org]) -> None:
    path, _ = root
    env = path / "portfolios/environments/dev.yaml"
    env.write_text(env.read_text() + "bootstrap:\n  parameters:\n    NoSuchParameter: x\n")
    result = invoke(path, "plan")
    assert result.exit_code == 1
    assert "NoSuchParameter is not a parameter" in result.output
    assert "allowed: CloudAdminPrincipalArnPattern, LaunchRoleName" in result.output


def test_deploy_without_yes_asks_first(root: tuple[Path, Org]) -> None:
    path, _ = root
    args = ["deploy", "--env", "dev", "--portfolios", str(path / "portfolios"), "--bucket", BUCKET]
    result = CliRunner().invoke(command, args, input="n\n")
    assert result.exit_code == 1  # aborted: nothing written
    assert "create-stack-set" in result.output
    assert invoke(path, "plan").exit_code == 2
