"""The StackSet stand-in (factory.testing.stacksets) is no more lenient than the service where
the rollout relies on it: omitted parameters take the template's default, unknown ones are
refused, and the permission model cannot change under stack instances. Each behaviour cites
botocore's cloudformation model in the stand-in's docstrings."""

from __future__ import annotations

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from factory.testing.local_aws import LocalAWS

NAME = "standin-check"
TEMPLATE = """Parameters:
  Kept:
    Type: String
    Default: kept-default
  Other:
    Type: String
    Default: ''
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
"""


@pytest.fixture
def cfn(local_aws: LocalAWS) -> BaseClient:
    client = local_aws.client("cloudformation", region="us-east-1")
    client.create_stack_set(
        StackSetName=NAME,
        TemplateBody=TEMPLATE,
        Parameters=[{"ParameterKey": "Kept", "ParameterValue": "custom"}],
    )
    return client


def _values(cfn: BaseClient) -> dict[str, str]:
    body = cfn.describe_stack_set(StackSetName=NAME)["StackSet"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in body["Parameters"]}


def test_every_template_parameter_is_listed_with_its_default(cfn: BaseClient) -> None:
    assert _values(cfn) == {"Kept": "custom", "Other": ""}


def test_an_update_that_omits_a_parameter_resets_it_to_the_default(cfn: BaseClient) -> None:
    cfn.update_stack_set(
        StackSetName=NAME,
        UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": "Other", "ParameterValue": "x"}],
    )
    assert _values(cfn) == {"Kept": "kept-default", "Other": "x"}


def test_use_previous_value_keeps_a_parameter(cfn: BaseClient) -> None:
    cfn.update_stack_set(
        StackSetName=NAME,
        UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": "Kept", "UsePreviousValue": True}],
    )
    assert _values(cfn) == {"Kept": "custom", "Other": ""}


def test_an_unknown_parameter_is_refused_and_nothing_changes(cfn: BaseClient) -> None:
    with pytest.raises(ClientError) as refused:
        cfn.update_stack_set(
            StackSetName=NAME,
            UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "Nope", "ParameterValue": "x"}],
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert _values(cfn) == {"Kept": "custom", "Other": ""}
    assert cfn.list_stack_set_operations(StackSetName=NAME)["Summaries"] == []


def test_the_permission_model_cannot_change_under_stack_instances(cfn: BaseClient) -> None:
    account = "111122223333"
    cfn.create_stack_instances(StackSetName=NAME, Accounts=[account], Regions=["us-east-1"])
    with pytest.raises(ClientError) as refused:
        cfn.update_stack_set(
            StackSetName=NAME, UsePreviousTemplate=True, PermissionModel="SERVICE_MANAGED"
        )
    assert "cannot modify PermissionModel" in refused.value.response["Error"]["Message"]
    body = cfn.describe_stack_set(StackSetName=NAME)["StackSet"]
    assert body["PermissionModel"] == "SELF_MANAGED"


def test_the_permission_model_changes_when_there_is_no_instance(cfn: BaseClient) -> None:
    cfn.update_stack_set(
        StackSetName=NAME,
        UsePreviousTemplate=True,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
    )
    body = cfn.describe_stack_set(StackSetName=NAME)["StackSet"]
    assert body["PermissionModel"] == "SERVICE_MANAGED"
