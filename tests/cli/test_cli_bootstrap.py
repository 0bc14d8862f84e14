"""`studio-factory bootstrap plan|deploy|status` against local AWS (the group invoked
directly; the lead registers it in factory.cli.COMMANDS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from botocore.client import BaseClient
from click.testing import CliRunner, Result

from factory.cli.bootstrap import command
from factory.testing.local_aws import LocalAWS
from factory.testing.stacksets import BEHAVIOUR
from tests.rollout.support import BUCKET, REGIONS, Org, make_org, workspace, write_environment


@pytest.fixture
def root(tmp_path: Path, local_aws: LocalAWS) -> tuple[Path, Org]:
    org = make_org(local_aws)
    return workspace(tmp_path, local_aws, org), org


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


def test_a_permission_model_change_is_an_error_for_plan_and_deploy_and_a_warning_in_status(
    root: tuple[Path, Org], local_aws: LocalAWS
) -> None:
    path, _ = root
    assert invoke(path, "deploy", "--yes").exit_code == 0
    env = path / "portfolios/environments/dev.yaml"
    env.write_text(env.read_text() + "bootstrap:\n  permission_model: SELF_MANAGED\n")
    cfn = local_aws.client("cloudformation", region=REGIONS[0])
    before = cfn.list_stack_set_operations(StackSetName="studio-catalog-bootstrap")

    for sub in ("plan", "deploy"):
        result = invoke(path, sub, *(["--yes"] if sub == "deploy" else []))
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"error: {env}: bootstrap.permission_model: ")
        assert "keep permission_model: SERVICE_MANAGED" in result.stderr
        assert "Traceback" not in result.output
    after = cfn.list_stack_set_operations(StackSetName="studio-catalog-bootstrap")
    assert after["Summaries"] == before["Summaries"]  # nothing written

    status = invoke(path, "status")  # status only reads: it shows the instances and warns
    assert "CURRENT" in status.stdout
    assert "warning: bootstrap.permission_model" in status.stderr


def test_deploy_without_yes_asks_first(root: tuple[Path, Org]) -> None:
    path, _ = root
    args = ["deploy", "--env", "dev", "--portfolios", str(path / "portfolios"), "--bucket", BUCKET]
    result = CliRunner().invoke(command, args, input="n\n")
    assert result.exit_code == 1  # aborted: nothing written
    assert "create-stack-set" in result.output
    assert invoke(path, "plan").exit_code == 2


_REAL_CALL = BaseClient._make_api_call


def _real_call(self: BaseClient, name: str, params: dict[str, Any]) -> Any:
    return _REAL_CALL(self, name, params)


def _operations(local_aws: LocalAWS) -> list[dict[str, str]]:
    cfn = local_aws.client("cloudformation", region="us-east-1")
    answer = cfn.list_stack_set_operations(StackSetName="studio-catalog-bootstrap", CallAs="SELF")
    return list(answer["Summaries"])


def test_status_detect_drift_all_in_sync(root: tuple[Path, Org], local_aws: LocalAWS) -> None:
    path, _ = root
    assert invoke(path, "deploy", "--yes").exit_code == 0
    BEHAVIOUR.operation_s = 0.05  # the detection runs: status follows it to its end
    result = invoke(path, "status", "--detect-drift", "--output", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {i["drift_status"] for i in data["instances"]} == {"IN_SYNC"}
    assert all(i["last_drift_check"] for i in data["instances"])
    detection = data["drift_detection"]
    assert (detection["status"], detection["operation_status"]) == ("applied", "SUCCEEDED")
    drift_ops = [op for op in _operations(local_aws) if op["Action"] == "DETECT_DRIFT"]
    assert [op["OperationId"] for op in drift_ops] == [detection["operation_id"]]
    assert detection["operation_id"].startswith("studio-")

    again = invoke(path, "status", "--detect-drift", "--output", "json")
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)["drift_detection"]["operation_id"]
    assert second != detection["operation_id"]  # a new detection, not the old one followed


def test_status_detect_drift_reports_a_drifted_instance_and_exits_1(
    root: tuple[Path, Org],
) -> None:
    path, org = root
    assert invoke(path, "deploy", "--yes").exit_code == 0
    drifted = (org.accounts["b"][1], "eu-west-1")
    BEHAVIOUR.drifted.add(drifted)
    result = invoke(path, "status", "--detect-drift", "--output", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    status = {(i["account"], i["region"]): i["drift_status"] for i in data["instances"]}
    assert status.pop(drifted) == "DRIFTED"
    assert set(status.values()) == {"IN_SYNC"}
    assert all(i["status"] == "CURRENT" for i in data["instances"])  # drift alone fails it

    table = invoke(path, "status", "--detect-drift")
    assert table.exit_code == 1
    row = next(
        line
        for line in table.stdout.splitlines()
        if line.startswith(drifted[0]) and drifted[1] in line
    )
    assert "DRIFTED" in row
    assert "drift detection studio-" in table.stderr


def test_status_detect_drift_waits_for_a_running_operation(
    root: tuple[Path, Org], local_aws: LocalAWS
) -> None:
    path, _ = root
    assert invoke(path, "deploy", "--yes").exit_code == 0
    BEHAVIOUR.operation_s = 0.3
    cfn = local_aws.client("cloudformation", region="us-east-1")
    running = cfn.update_stack_set(
        StackSetName="studio-catalog-bootstrap", UsePreviousTemplate=True, CallAs="SELF"
    )["OperationId"]
    with patch("factory.rollout.apply.POLL_DELAYS_S", (0.05,)):
        result = invoke(path, "status", "--detect-drift", "--output", "json")
    assert result.exit_code == 0, result.output
    actions = [op["Action"] for op in reversed(_operations(local_aws))]
    assert actions[-2:] == ["UPDATE", "DETECT_DRIFT"]
    assert _operations(local_aws)[1]["OperationId"] == running
    data = json.loads(result.stdout)
    assert data["drift_detection"]["operation_status"] == "SUCCEEDED"
    assert {i["drift_status"] for i in data["instances"]} == {"IN_SYNC"}


def test_status_without_the_flag_starts_no_drift_detection(
    root: tuple[Path, Org], local_aws: LocalAWS
) -> None:
    path, org = root
    assert invoke(path, "deploy", "--yes").exit_code == 0
    BEHAVIOUR.drifted.add((org.workload, "us-east-1"))
    before = _operations(local_aws)
    with patch("botocore.client.BaseClient._make_api_call", autospec=True) as spy:
        spy.side_effect = _real_call
        result = invoke(path, "status", "--output", "json")
    assert result.exit_code == 0, result.output
    called = {c.args[1] for c in spy.call_args_list}
    assert "DetectStackSetDrift" not in called and "ListStackInstances" in called
    assert _operations(local_aws) == before  # no write: status stays read-only
    data = json.loads(result.stdout)
    assert data["drift_detection"] is None
    assert {i["drift_status"] for i in data["instances"]} == {"NOT_CHECKED"}


def test_the_environment_names_the_admin_region(
    root: tuple[Path, Org], local_aws: LocalAWS
) -> None:
    path, org = root
    flipped = tuple(reversed(REGIONS))
    write_environment(path, org, "bootstrap:\n  admin_region: us-east-1\n", regions=flipped)
    assert invoke(path, "deploy", "--yes").exit_code == 0
    here = local_aws.client("cloudformation", region="us-east-1")
    assert here.describe_stack_set(StackSetName="studio-catalog-bootstrap")["StackSet"]
    there = local_aws.client("cloudformation", region=flipped[0])
    with pytest.raises(there.exceptions.StackSetNotFoundException):
        there.describe_stack_set(StackSetName="studio-catalog-bootstrap")
