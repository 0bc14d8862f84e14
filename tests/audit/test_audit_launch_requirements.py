"""Derived launch-role proofs: CloudFormation handlers and Service Catalog's own needs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from factory.audit import registry
from factory.audit.derived import launch_handlers, launch_service_catalog
from factory.audit.derived._requests import canonical
from factory.audit.derived.base import BOOTSTRAP, AuditInputs, Failure
from factory.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "templates/studio-domain.yaml"
PROFILE = "templates/studio-user-profile.yaml"
SLR = (
    "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.amazonaws.com/"
    "AWSServiceRoleForAmazonSageMakerNotebooks"
)
SC_GET_OBJECT = {
    "Sid": "ReadServiceCatalogTemplateCopies",
    "Effect": "Allow",
    "Action": ["s3:GetObject"],
    "Resource": "*",
    "Condition": {"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}},
}


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    paths = [*(ROOT / "templates").glob("*.yaml"), *(ROOT / "launch").glob("*.yaml")]
    return {str(p.relative_to(ROOT)): load_template(p) for p in paths}


def launch_statements(templates: dict[str, Any]) -> list[dict[str, Any]]:
    role = templates[BOOTSTRAP]["Resources"]["LaunchRole"]["Properties"]
    return role["Policies"][0]["PolicyDocument"]["Statement"]


def mutated(
    templates: dict[str, Any], change: Callable[[list[dict[str, Any]]], None]
) -> AuditInputs:
    """A deep copy whose launch-role statements ``change`` edits in place."""
    clone = copy.deepcopy(templates)
    change(launch_statements(clone))
    return AuditInputs(clone, ROOT)


def drop_action(action: str) -> Callable[[list[dict[str, Any]]], None]:
    def change(statements: list[dict[str, Any]]) -> None:
        for statement in statements:
            if isinstance(statement, dict) and isinstance(statement.get("Action"), list):
                statement["Action"] = [a for a in statement["Action"] if a != action]

    return change


def add_statement(statement: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    return lambda statements: statements.append(copy.deepcopy(statement))


def failing(failures: tuple[Failure, ...], resource: str, action: str) -> list[Failure]:
    return [f for f in failures if f.resource == resource and f.action == action]


# --- data quirks and the registry ----------------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "action"),
    [
        ("efs:CreateFileSystem", "elasticfilesystem:CreateFileSystem"),
        ("efs:DescribeMountTargets", "elasticfilesystem:DescribeMountTargets"),
        ("kms:GenerateDataKeyWithoutPlainText", "kms:GenerateDataKeyWithoutPlaintext"),
        ("sagemaker:CreateDomain", "sagemaker:CreateDomain"),
    ],
)
def test_schema_permission_aliases(permission: str, action: str) -> None:
    assert canonical(permission) == action


def test_unknown_permission_has_no_canonical_name() -> None:
    assert canonical("nosuchservice:DoThings") is None


def test_registry_reads_handlers_and_tagging_from_cfn_lint() -> None:
    schema = registry.type_schema("AWS::SageMaker::Domain")
    assert "sagemaker:CreateDomain" in schema.handlers["create"]
    assert "sagemaker:AddTags" in schema.tagging
    assert schema.taggable and schema.primary_identifier == ("DomainId",)
    assert schema.permissions()["sagemaker:DeleteDomain"] == ("delete",)


def test_registry_unknown_type_and_custom_resources() -> None:
    with pytest.raises(registry.UnknownResourceTypeError):
        registry.type_schema("AWS::Nope::Thing")
    assert registry.is_custom("Custom::ProfileDrain")
    assert not registry.is_custom("AWS::SageMaker::Domain")


# --- mutation tests on the committed templates ---------------------------------------------


def test_dropping_add_tags_fails_naming_the_domain(committed: dict[str, Any]) -> None:
    before = launch_handlers.check(AuditInputs(committed, ROOT))
    after = launch_handlers.check(mutated(committed, drop_action("sagemaker:AddTags")))
    assert not failing(before.failures, "Domain", "sagemaker:AddTags")
    [failure] = [f for f in failing(after.failures, "Domain", "sagemaker:AddTags")]
    assert failure.template == DOMAIN
    assert failure.arn.startswith("arn:aws:sagemaker:us-east-1:123456789012:domain/d-")
    assert "AWS::SageMaker::Domain" in failure.source and "registry schema" in failure.source


def test_dropping_create_role_fails_naming_the_execution_roles(committed: dict[str, Any]) -> None:
    after = launch_handlers.check(mutated(committed, drop_action("iam:CreateRole")))
    roles = {f.resource for f in after.failures if f.action == "iam:CreateRole"}
    assert {"TeamExecutionRole", "PersonExecutionRole"} <= roles


def test_service_catalog_template_copy_needs_tagged_get_object(committed: dict[str, Any]) -> None:
    fixed = launch_service_catalog.check(mutated(committed, add_statement(SC_GET_OBJECT)))
    assert not failing(fixed.failures, "(template copy)", "s3:GetObject")

    def without(statements: list[dict[str, Any]]) -> None:
        statements[:] = [s for s in statements if s.get("Sid") != SC_GET_OBJECT["Sid"]]
        drop_action("s3:GetObject")(statements)

    broken = launch_service_catalog.check(mutated(committed, without))
    found = failing(broken.failures, "(template copy)", "s3:GetObject")
    from factory.products import PRODUCTS

    # Every product Service Catalog launches reads its template copy.
    assert {f.template for f in found} == {f"templates/{name}.yaml" for name in PRODUCTS}
    assert all("Launch Constraints" in f.source for f in found)


def test_create_domain_needs_the_service_linked_role(committed: dict[str, Any]) -> None:
    slr = {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole"], "Resource": SLR}
    fixed = launch_service_catalog.check(mutated(committed, add_statement(slr)))
    assert not failing(fixed.failures, "Domain", "iam:CreateServiceLinkedRole")
    wrong_service = {
        **slr,
        "Condition": {"StringEquals": {"iam:AWSServiceName": "ec2.amazonaws.com"}},
    }
    broken = launch_service_catalog.check(
        mutated(
            committed,
            lambda s: (drop_action("iam:CreateServiceLinkedRole")(s), s.append(wrong_service)),
        )
    )
    [failure] = failing(broken.failures, "Domain", "iam:CreateServiceLinkedRole")
    assert failure.arn == SLR and "sagemaker:CreateDomain" in failure.source


def test_custom_resource_service_token_must_be_invocable(committed: dict[str, Any]) -> None:
    before = launch_service_catalog.check(AuditInputs(committed, ROOT))
    after = launch_service_catalog.check(mutated(committed, drop_action("lambda:InvokeFunction")))
    assert not failing(before.failures, "ProfileDrain", "lambda:InvokeFunction")
    [failure] = failing(after.failures, "ProfileDrain", "lambda:InvokeFunction")
    assert failure.arn.startswith("arn:aws:lambda:us-east-1:123456789012:function:")


def test_ssm_parameter_types_need_get_parameters(committed: dict[str, Any]) -> None:
    after = launch_service_catalog.check(mutated(committed, drop_action("ssm:GetParameters")))
    names = {f.resource for f in after.failures if f.action == "ssm:GetParameters"}
    assert "Parameters/DomainId" in names and "Parameters/PermissionsBoundaryArn" in names


def test_committed_templates_pass(committed: dict[str, Any]) -> None:
    inputs = AuditInputs(committed, ROOT)
    for proof in (launch_handlers, launch_service_catalog):
        result = proof.check(inputs)
        assert result.ok, "\n".join(f.line() for f in result.failures)


# --- synthetic templates -------------------------------------------------------------------

BOUNDARY = "arn:aws:iam::123456789012:policy/studio-catalog/boundary"


def bootstrap(*statements: dict[str, Any]) -> dict[str, Any]:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "servicecatalog.amazonaws.com"},
            }
        ],
    }
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return {
        "Resources": {
            "LaunchRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "Launch",
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [{"PolicyName": "launch", "PolicyDocument": document}],
                },
            }
        }
    }


def inputs(product: dict[str, Any], *statements: dict[str, Any]) -> AuditInputs:
    return AuditInputs({BOOTSTRAP: bootstrap(*statements), "templates/p.yaml": product}, ROOT)


ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def product(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": resources}


def test_unknown_resource_type_fails() -> None:
    result = launch_handlers.check(inputs(product(Thing={"Type": "AWS::Nope::Thing"}), ALLOW_ALL))
    [failure] = result.failures
    assert (failure.resource, failure.arn) == ("Thing", "AWS::Nope::Thing")
    assert "no CloudFormation registry schema" in failure.reason


def test_fully_allowed_template_passes() -> None:
    parameter = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": "/studio-catalog/x", "Type": "String", "Value": "v"},
    }
    template = product(Param=parameter)
    assert launch_handlers.check(inputs(template, ALLOW_ALL)).ok
    assert launch_service_catalog.check(inputs(template, ALLOW_ALL)).ok
    assert launch_handlers.check(inputs(template, ALLOW_ALL)).checked > 0


def test_requests_use_the_parameter_arn_not_star() -> None:
    parameter = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": "/studio-catalog/x", "Type": "String", "Value": "v"},
    }
    scoped = {
        "Effect": "Allow",
        "Action": "ssm:*",
        "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/studio-catalog/*",
    }
    assert launch_handlers.check(inputs(product(Param=parameter), scoped)).ok
    elsewhere = {**scoped, "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/other/*"}
    result = launch_handlers.check(inputs(product(Param=parameter), elsewhere))
    assert {f.arn for f in result.failures} == {
        "arn:aws:ssm:us-east-1:123456789012:parameter/studio-catalog/x"
    }


ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "Path": "/studio-catalog/execution/",
        "PermissionsBoundary": BOUNDARY,
        "AssumeRolePolicyDocument": {},
    },
}


def test_role_creation_carries_the_boundary_the_template_sets() -> None:
    everything_but_create = {"Effect": "Allow", "NotAction": "iam:CreateRole", "Resource": "*"}

    def create_with(boundary: str) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": "iam:CreateRole",
            "Resource": "arn:aws:iam::123456789012:role/studio-catalog/execution/*",
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
        }

    ok = launch_handlers.check(
        inputs(product(Role=ROLE), everything_but_create, create_with(BOUNDARY))
    )
    assert ok.ok, [f.line() for f in ok.failures]
    other = create_with("arn:aws:iam::123456789012:policy/other")
    bad = launch_handlers.check(inputs(product(Role=ROLE), everything_but_create, other))
    [failure] = bad.failures
    assert failure.action == "iam:CreateRole"
    assert failure.arn == "arn:aws:iam::123456789012:role/studio-catalog/execution/Role"


def test_pass_role_names_the_service_the_resource_passes_to() -> None:
    profile = {
        "Type": "AWS::SageMaker::UserProfile",
        "Properties": {
            "DomainId": "d-abc",
            "UserProfileName": "alice",
            "UserSettings": {"ExecutionRole": "arn:aws:iam::123456789012:role/exec/alice"},
        },
    }
    rest = {"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "*"}

    def pass_to(service: str) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::123456789012:role/exec/*",
            "Condition": {"StringEquals": {"iam:PassedToService": service}},
        }

    assert launch_handlers.check(
        inputs(product(P=profile), rest, pass_to("sagemaker.amazonaws.com"))
    ).ok
    bad = launch_handlers.check(inputs(product(P=profile), rest, pass_to("lambda.amazonaws.com")))
    assert {(f.action, f.arn) for f in bad.failures} == {
        ("iam:PassRole", "arn:aws:iam::123456789012:role/exec/alice")
    }


def test_tag_conditions_see_service_catalog_tags() -> None:
    """A launch role that refuses Service Catalog's propagated tags cannot create the domain."""
    sg = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {"GroupDescription": "x", "VpcId": "vpc-1"},
    }
    deny = {
        "Effect": "Deny",
        "Action": "ec2:CreateSecurityGroup",
        "Resource": "*",
        "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": "aws:servicecatalog:*"}},
    }
    result = launch_handlers.check(inputs(product(Sg=sg), ALLOW_ALL, deny))
    assert {f.action for f in result.failures} == {"ec2:CreateSecurityGroup"}


def test_every_condition_is_exercised() -> None:
    template = {
        "Parameters": {"Make": {"Type": "String", "Default": "no"}},
        "Conditions": {"On": {"Fn::Equals": [{"Ref": "Make"}, "yes"]}},
        "Resources": {"Thing": {"Type": "AWS::Nope::Thing", "Condition": "On"}},
    }
    result = launch_handlers.check(inputs(template, ALLOW_ALL))
    assert [f.resource for f in result.failures] == ["Thing"]
