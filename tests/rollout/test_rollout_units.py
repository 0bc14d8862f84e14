"""Pieces without local AWS: the environment's `bootstrap:` section, the caller check
(CallAs), the wording of an Organizations error (botocore Stubber, which validates requests
against the real model)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import ValidationError

from factory.portfolio.models import Bootstrap, Environment
from factory.rollout.run import Clients, RolloutError, check_caller, explain
from factory.rollout.state import Organization
from factory.rollout.targets import Settings


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
