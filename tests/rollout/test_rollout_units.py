"""Pieces without local AWS: the environment's `bootstrap:` section, the caller check
(CallAs), the wording of an Organizations error (botocore Stubber, which validates requests
against the real model)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import ValidationError

from factory.portfolio.models import Bootstrap, Environment
from factory.rollout.run import Clients, RolloutError, check_caller, explain
from factory.rollout.state import Instance, LiveStackSet, Organization
from factory.rollout.targets import Settings, Targets


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "name": "studio-catalog-bootstrap",
        "permission_model": "SERVICE_MANAGED",
        "call_as": "SELF",
        "auto_deployment": True,
        "retain_stacks": False,
        "parameters": {},
        "preferences": {},
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def test_the_bootstrap_section_has_safe_defaults() -> None:
    section = Environment(name="dev").bootstrap or Bootstrap()
    assert section.permission_model == "SERVICE_MANAGED"
    assert section.auto_deployment and not section.retain_stacks_on_account_removal
    assert section.operation_preferences.failure_tolerance_percentage == 0


@pytest.mark.parametrize(
    "bootstrap",
    [
        {"permission_model": "OTHER"},
        {"permission_model": "SELF_MANAGED", "call_as": "DELEGATED_ADMIN"},
        {"stack_set_name": "1-starts-with-a-digit"},
        {"operation_preferences": {"max_concurrent_percentage": 0}},
        {"operation_preferences": {"region_order": ["us-east-1", "us-east-1"]}},
        {"parameters": {"Not-A-Key": "x"}},
    ],
)
def test_the_bootstrap_section_is_validated(bootstrap: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Environment(name="dev", bootstrap=bootstrap)  # type: ignore[arg-type]


def _clients(account: str) -> tuple[Clients, Stubber]:
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    made = {
        n: session.client(s)
        for n, s in (
            ("cfn", "cloudformation"),
            ("org", "organizations"),
            ("s3", "s3"),
            ("ssm", "ssm"),
            ("sts", "sts"),
        )
    }
    stub = Stubber(made["sts"])
    stub.add_response(
        "get_caller_identity",
        {"Account": account, "Arn": f"arn:aws:iam::{account}:role/x", "UserId": "AROA:x"},
    )
    stub.activate()
    return Clients(region="us-east-1", **made), stub


def test_call_as_self_outside_the_management_account_names_what_is_needed() -> None:
    clients, _ = _clients("222222222222")
    with pytest.raises(RolloutError) as caught:
        check_caller(clients, _settings(), Organization(management="111111111111"))
    text = str(caught.value)
    assert "not the management account 111111111111" in text
    assert "register-delegated-administrator" in text and "DELEGATED_ADMIN" in text


def test_delegated_admin_in_the_management_account_is_refused() -> None:
    clients, _ = _clients("111111111111")
    with pytest.raises(RolloutError, match="pass --call-as SELF"):
        check_caller(
            clients, _settings(call_as="DELEGATED_ADMIN"), Organization(management="111111111111")
        )


def test_a_create_stack_set_refusal_is_explained() -> None:
    cfn = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(cfn)
    stub.add_client_error(
        "create_stack_set",
        service_error_code="ValidationError",
        service_message="Account used is not a delegated administrator",
    )
    stub.activate()
    with pytest.raises(ClientError) as caught:
        cfn.create_stack_set(StackSetName="s", TemplateURL="https://b.s3.amazonaws.com/k")
    text = explain(caught.value, _settings()) or ""
    assert "management account (--call-as SELF)" in text
    assert "member.org.stacksets.cloudformation.amazonaws.com" in text


NOWHERE = Targets(ous=(), accounts=(), regions=("us-east-1",))


def _live_self_managed(instances: int) -> LiveStackSet:
    live = LiveStackSet(exists=True, digest="d", permission_model="SELF_MANAGED")
    live.parameters = {"LaunchRoleName": "StudioCatalogLaunchRole"}
    for n in range(instances):
        account = f"{n:012d}"
        live.instances[(account, "us-east-1")] = Instance(
            account, "us-east-1", "", "CURRENT", "SUCCEEDED", "", "NOT_CHECKED", "op"
        )
    return live


def test_a_permission_model_change_without_instances_is_an_update() -> None:
    from factory.rollout.plan import plan

    wanted = _settings(parameters={"LaunchRoleName": "StudioCatalogLaunchRole"})
    made = plan(wanted, NOWHERE, Organization(), _live_self_managed(0), "d")
    assert [s.action for s in made.steps] == ["update-stack-set"]
    assert made.steps[0].new == {
        "permission_model": "SERVICE_MANAGED",
        "auto_deployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
    }
    assert made.blocked == []


def test_a_permission_model_change_with_instances_is_blocked_with_the_way_over() -> None:
    from factory.rollout.plan import plan

    wanted = _settings(parameters={"LaunchRoleName": "StudioCatalogLaunchRole"})
    made = plan(wanted, NOWHERE, Organization(), _live_self_managed(2), "d")
    assert made.steps == []  # nothing else: every other step assumes the new model
    (blocker,) = made.blocked
    assert blocker.field == "bootstrap.permission_model"
    assert "SELF_MANAGED with 2 stack instance(s)" in blocker.what
    assert "keep permission_model: SELF_MANAGED" in blocker.fix


def test_every_template_parameter_is_sent_and_defaults_fill_the_gaps() -> None:
    wanted = _settings(
        parameters={"LaunchRoleName": "Mine"},
        defaults={"LaunchRoleName": "StudioCatalogLaunchRole", "Pattern": "", "Required": None},
    )
    assert wanted.template_values() == {"LaunchRoleName": "Mine", "Pattern": ""}


def test_template_parameters_reads_defaults_as_cloudformation_passes_them(tmp_path: Path) -> None:
    from factory.rollout.run import template_parameters

    template = tmp_path / "t.yaml"
    template.write_text(
        "Parameters:\n"
        "  A: {Type: String, Default: x}\n"
        "  B: {Type: Number, Default: 5}\n"
        "  C: {Type: CommaDelimitedList, Default: [a, b]}\n"
        "  D: {Type: String}\n"
        "Resources:\n  H: {Type: AWS::CloudFormation::WaitConditionHandle, Condition: !Ref A}\n",
        encoding="utf-8",
    )
    assert template_parameters(template) == {"A": "x", "B": "5", "C": "a,b", "D": None}
