"""The "each persona can do its job" proof (factory/audit/derived/persona_jobs.py).

Mutation tests weaken a role in a deep copy of the committed bootstrap template and expect the
proof to name the lost permission; unit tests run on a small synthetic bootstrap.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from factory.audit.derived import AuditInputs, Failure, persona_jobs, proof_modules
from factory.audit.derived.base import BOOTSTRAP
from factory.audit.derived.persona_jobs import (
    CLOUD_ADMIN_ROLE,
    GROUP_ID,
    IDENTITY_STORE_ID,
    PORTFOLIO_ID,
    PRODUCT_ID,
    PUBLISHER_ROLE,
    USER_ID,
    Operation,
    Persona,
    Requirement,
    account_of,
    check_personas,
    cloud_admin_operations,
    publisher_operations,
    requirements,
    resources_for,
)
from factory.audit.evaluator import Request, evaluate, resolve_principals
from factory.audit.patterns import as_list, wildcard_match
from factory.cfn_yaml import load_template
from factory.naming import TEMPLATE_BUCKET_SSM_PARAMETER

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
CATALOG = f"arn:aws:catalog:us-east-1:{ACCOUNT}"
LAUNCH_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/StudioCatalogLaunchRole"
IDENTITY_STORE = f"arn:aws:identitystore::{ACCOUNT}:identitystore/{IDENTITY_STORE_ID}"
GROUP = f"arn:aws:identitystore:::group/{GROUP_ID}"
USER = f"arn:aws:identitystore:::user/{USER_ID}"
MEMBERSHIPS = "arn:aws:identitystore:::membership/*"
OTHER_IDENTITY_STORE = "arn:aws:identitystore::210987654321:identitystore/d-9876543210"
#: What `studio-factory users` calls besides Service Catalog (cloud_admin_operations.json).
USERS_EXTRA_OPERATIONS = {
    ("identitystore", "GetGroupId"),
    ("identitystore", "ListGroupMemberships"),
    ("identitystore", "DescribeUser"),
    ("service-quotas", "ListServiceQuotas"),
    ("service-quotas", "ListAWSDefaultServiceQuotas"),
}


def load(path: str) -> dict[str, Any]:
    return dict(load_template(ROOT / path))


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return load(BOOTSTRAP)


def all_templates() -> dict[str, Any]:
    paths = sorted([*(ROOT / "templates").glob("*.yaml"), *(ROOT / "launch").glob("*.yaml")])
    return {str(p.relative_to(ROOT)): load(str(p.relative_to(ROOT))) for p in paths}


# --- template surgery -----------------------------------------------------------------------


def role_statements(template: Mapping[str, Any], role: str) -> Iterator[dict[str, Any]]:
    """Every statement (as a mutable dict) of the role's inline policies."""
    properties = template["Resources"][role]["Properties"]
    for policy in properties.get("Policies", []):
        for statement in as_list(policy["PolicyDocument"].get("Statement")):
            if isinstance(statement, dict) and "Effect" in statement:
                yield statement


def remove_action(template: dict[str, Any], role: str, action: str) -> dict[str, Any]:
    """A deep copy where no Allow of ``role`` names an action pattern matching ``action``."""
    weakened = copy.deepcopy(template)
    for statement in role_statements(weakened, role):
        if statement["Effect"] != "Allow" or "Action" not in statement:
            continue
        kept = [
            a
            for a in as_list(statement["Action"])
            if not wildcard_match(str(a), action, ignore_case=True)
        ]
        statement["Action"] = kept or ["servicecatalog:DescribeCopyProductStatus"]
    return weakened


def remove_statement(template: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    """A deep copy without the role's statement ``sid`` (which must exist)."""
    weakened = copy.deepcopy(template)
    found = False
    for policy in weakened["Resources"][role]["Properties"].get("Policies", []):
        document = policy["PolicyDocument"]
        kept = [s for s in as_list(document.get("Statement")) if s.get("Sid") != sid]
        found = found or len(kept) < len(as_list(document.get("Statement")))
        document["Statement"] = kept
    assert found, f"{role} has no statement {sid}"
    return weakened


def add_statement(template: dict[str, Any], role: str, statement: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    properties = changed["Resources"][role]["Properties"]
    properties.setdefault("Policies", []).append(
        {
            "PolicyName": "mutation",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        }
    )
    return changed


def failures_of(template: dict[str, Any]) -> list[Failure]:
    result = persona_jobs.check(AuditInputs({BOOTSTRAP: template}, ROOT))
    return list(result.failures)


def named(failures: list[Failure], role: str, action: str, arn: str | None = None) -> Failure:
    for failure in failures:
        if (failure.resource, failure.action) == (role, action) and arn in (None, failure.arn):
            return failure
    lines = "\n".join(f.line() for f in failures)
    raise AssertionError(f"no failure for {role} {action} {arn or ''}; got:\n{lines}")


# --- the proof on the committed templates ---------------------------------------------------


def test_proof_is_discovered_in_order() -> None:
    modules = {m.PROOF_ID: m for m in proof_modules()}
    assert modules["persona-jobs"] is persona_jobs
    assert persona_jobs.ORDER == 80


def test_committed_templates_pass() -> None:
    result = persona_jobs.check(AuditInputs(all_templates(), ROOT))
    assert result.checked > 40
    assert result.ok, "\n".join(f.line() for f in result.failures)


def test_every_recorded_operation_maps_to_iam_requests(committed: dict[str, Any]) -> None:
    account = account_of(committed)
    for op in (*publisher_operations(), *cloud_admin_operations()):
        for requirement in requirements(op):
            assert resources_for(requirement, account), (op, requirement)


def test_users_operations_beyond_service_catalog_are_listed() -> None:
    listed = {(op.service, op.operation) for op in cloud_admin_operations()}
    assert listed >= USERS_EXTRA_OPERATIONS


def test_cloud_admin_entries_cite_a_source_and_need_no_sagemaker() -> None:
    operations = cloud_admin_operations()
    assert {"ProvisionProduct", "UpdateProvisionedProduct", "TerminateProvisionedProduct"} <= {
        op.operation for op in operations
    }
    for op in operations:
        assert op.source.strip(), op
        assert all(not r.action.startswith("sagemaker:") for r in requirements(op)), op


# --- mutation tests on the committed bootstrap ----------------------------------------------


@pytest.mark.parametrize(
    ("role", "action", "arn"),
    [
        (PUBLISHER_ROLE, "servicecatalog:CreateProduct", f"{CATALOG}:product/{PRODUCT_ID}"),
        (PUBLISHER_ROLE, "servicecatalog:DescribePortfolio", f"{CATALOG}:portfolio/{PORTFOLIO_ID}"),
        (PUBLISHER_ROLE, "s3:PutObject", None),
        (PUBLISHER_ROLE, "s3:ListBucket", None),
        (PUBLISHER_ROLE, "ssm:GetParameter", None),
        (CLOUD_ADMIN_ROLE, "servicecatalog:ProvisionProduct", f"{CATALOG}:product/{PRODUCT_ID}"),
        (CLOUD_ADMIN_ROLE, "servicecatalog:DescribeRecord", "*"),
        (CLOUD_ADMIN_ROLE, "identitystore:GetGroupId", GROUP),
        (CLOUD_ADMIN_ROLE, "identitystore:ListGroupMemberships", MEMBERSHIPS),
        (CLOUD_ADMIN_ROLE, "identitystore:DescribeUser", USER),
        (CLOUD_ADMIN_ROLE, "servicequotas:ListServiceQuotas", "*"),
        (CLOUD_ADMIN_ROLE, "servicequotas:ListAWSDefaultServiceQuotas", "*"),
    ],
)
def test_removing_a_permission_fails_naming_it(
    committed: dict[str, Any], role: str, action: str, arn: str | None
) -> None:
    failure = named(failures_of(remove_action(committed, role, action)), role, action, arn)
    assert failure.template == BOOTSTRAP
    assert "no allow" in failure.reason
    assert failure.source  # names the operation and where it comes from


def test_removing_the_identity_store_statement_fails_naming_each_operation(
    committed: dict[str, Any],
) -> None:
    """Without ReadIdentityCenterGroupMembers, `users sync --identity-center-group` cannot run:
    every identity-store action fails on every resource type it accepts, and each failure
    names the operation and the command it comes from."""
    failures = failures_of(
        remove_statement(committed, CLOUD_ADMIN_ROLE, "ReadIdentityCenterGroupMembers")
    )
    expected = {
        ("identitystore:GetGroupId", GROUP),
        ("identitystore:GetGroupId", IDENTITY_STORE),
        ("identitystore:ListGroupMemberships", MEMBERSHIPS),
        ("identitystore:ListGroupMemberships", GROUP),
        ("identitystore:ListGroupMemberships", IDENTITY_STORE),
        ("identitystore:DescribeUser", IDENTITY_STORE),
        ("identitystore:DescribeUser", USER),
    }
    assert {(f.action, f.arn) for f in failures} == expected
    for failure in failures:
        assert failure.resource == CLOUD_ADMIN_ROLE and "no allow" in failure.reason
        operation = failure.action.split(":", 1)[1]
        assert f"identitystore:{operation}" in failure.source
        assert "users sync --identity-center-group" in failure.source


def test_removing_the_quota_statement_fails_naming_each_operation(
    committed: dict[str, Any],
) -> None:
    failures = failures_of(
        remove_statement(committed, CLOUD_ADMIN_ROLE, "ReadServiceQuotasHasNoResourceScope")
    )
    assert {(f.action, f.arn) for f in failures} == {
        ("servicequotas:ListServiceQuotas", "*"),
        ("servicequotas:ListAWSDefaultServiceQuotas", "*"),
    }
    assert all("service-quotas:" in f.source and "users import" in f.source for f in failures)


def test_identity_store_of_another_account_does_not_count(committed: dict[str, Any]) -> None:
    """The store's ARN carries its account: an Allow for another account's store fails."""
    other = "arn:aws:identitystore::210987654321:identitystore/*"
    weakened = add_statement(
        remove_statement(committed, CLOUD_ADMIN_ROLE, "ReadIdentityCenterGroupMembers"),
        CLOUD_ADMIN_ROLE,
        {
            "Effect": "Allow",
            "Action": ["identitystore:DescribeUser"],
            "Resource": [other, "arn:aws:identitystore:::user/*"],
        },
    )
    failure = named(failures_of(weakened), CLOUD_ADMIN_ROLE, "identitystore:DescribeUser")
    assert failure.arn == IDENTITY_STORE and other in failure.reason


def test_the_stack_set_read_must_reach_the_management_account_and_admin_region(
    committed: dict[str, Any],
) -> None:
    """A service-managed StackSet lives in the management account (even when a delegated
    administrator created it) and in its administration region: a read scoped to this
    account and region would fail there."""
    here = "arn:aws:cloudformation:us-east-1:123456789012:stackset/studio-catalog-bootstrap:*"
    weakened = add_statement(
        remove_statement(committed, PUBLISHER_ROLE, "ReadBootstrapStackInstances"),
        PUBLISHER_ROLE,
        {"Effect": "Allow", "Action": ["cloudformation:ListStackInstances"], "Resource": [here]},
    )
    failure = named(failures_of(weakened), PUBLISHER_ROLE, "cloudformation:ListStackInstances")
    assert ":ap-southeast-2:210987654321:stackset/studio-catalog-bootstrap:" in failure.arn
    assert here in failure.reason


def test_star_only_quota_read_scoped_to_arns_is_reported(committed: dict[str, Any]) -> None:
    action = "servicequotas:ListServiceQuotas"
    quota = f"arn:aws:servicequotas:us-east-1:{ACCOUNT}:sagemaker/*"
    weakened = add_statement(
        remove_action(committed, CLOUD_ADMIN_ROLE, action),
        CLOUD_ADMIN_ROLE,
        {"Effect": "Allow", "Action": [action], "Resource": [quota]},
    )
    failure = named(failures_of(weakened), CLOUD_ADMIN_ROLE, action, "*")
    assert 'accepts only Resource "*"' in failure.reason


@pytest.mark.parametrize(
    ("action", "arn"),
    [
        ("identitystore:CreateGroupMembership", IDENTITY_STORE),
        ("identitystore:DeleteUser", USER),
        ("identitystore:ListUsers", OTHER_IDENTITY_STORE),
        ("servicequotas:RequestServiceQuotaIncrease", "*"),
        ("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{'0' * 8}"),
        ("sagemaker:ListUserProfiles", "*"),
    ],
)
def test_cloud_admin_reads_identities_and_quotas_and_nothing_more(
    committed: dict[str, Any], action: str, arn: str
) -> None:
    """Nothing more: no identity-store writes, no other account's store, no quota requests,
    no KMS, no SageMaker (the users commands check the quota through Service Quotas)."""
    policies = resolve_principals(committed)[CLOUD_ADMIN_ROLE]
    decision = evaluate(policies, Request(policies.principal_arn, action, arn))
    assert not decision.allowed, decision.reason


def test_removed_s3_put_names_the_template_bucket_object(committed: dict[str, Any]) -> None:
    failure = named(
        failures_of(remove_action(committed, PUBLISHER_ROLE, "s3:PutObject")),
        PUBLISHER_ROLE,
        "s3:PutObject",
    )
    bucket = account_of(committed).values["BucketName"]
    assert failure.arn.startswith(f"arn:aws:s3:::{bucket}/")
    assert "s3:PutObject" in failure.source and "S3 API Reference" in failure.source


def test_star_only_action_scoped_to_arns_is_reported(committed: dict[str, Any]) -> None:
    action = "servicecatalog:AssociateProductWithPortfolio"
    weakened = add_statement(
        remove_action(committed, PUBLISHER_ROLE, action),
        PUBLISHER_ROLE,
        {"Effect": "Allow", "Action": [action], "Resource": [f"{CATALOG}:portfolio/*"]},
    )
    failure = named(failures_of(weakened), PUBLISHER_ROLE, action, "*")
    assert 'accepts only Resource "*"' in failure.reason


def test_explicit_deny_of_pass_role_is_reported(committed: dict[str, Any]) -> None:
    denied = add_statement(
        committed,
        PUBLISHER_ROLE,
        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"},
    )
    failure = named(failures_of(denied), PUBLISHER_ROLE, "iam:PassRole", LAUNCH_ROLE_ARN)
    assert "explicit deny" in failure.reason
    assert "CreateConstraint" in failure.source and "Launch Constraints" in failure.source


def test_pass_role_to_another_service_does_not_count(committed: dict[str, Any]) -> None:
    wrong = add_statement(
        remove_action(committed, PUBLISHER_ROLE, "iam:PassRole"),
        PUBLISHER_ROLE,
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    )
    named(failures_of(wrong), PUBLISHER_ROLE, "iam:PassRole", LAUNCH_ROLE_ARN)


def test_missing_role_is_a_failure(committed: dict[str, Any]) -> None:
    template = copy.deepcopy(committed)
    del template["Resources"][CLOUD_ADMIN_ROLE]
    failure = named(failures_of(template), CLOUD_ADMIN_ROLE, "-")
    assert "not in template" in failure.reason


# --- a new operation in a data file ---------------------------------------------------------


def test_new_publisher_operation_without_permission_fails(committed: dict[str, Any]) -> None:
    data = [{"service": "servicecatalog", "operation": "CopyProduct"}]
    persona = Persona(PUBLISHER_ROLE, "publish the catalog", publisher_operations(data))
    _, failures = check_personas(committed, [persona])
    failure = named(failures, PUBLISHER_ROLE, "servicecatalog:CopyProduct", "*")
    assert "publisher_operations.json" in failure.source


def test_new_cloud_admin_operation_without_permission_fails(committed: dict[str, Any]) -> None:
    data = {
        "operations": [
            {
                "service": "servicecatalog",
                "operation": "ExecuteProvisionedProductServiceAction",
                "source": "test",
            }
        ]
    }
    persona = Persona(CLOUD_ADMIN_ROLE, "run actions", cloud_admin_operations(data))
    _, failures = check_personas(committed, [persona])
    named(failures, CLOUD_ADMIN_ROLE, "servicecatalog:ExecuteProvisionedProductServiceAction")


def test_cloud_admin_may_not_need_sagemaker(committed: dict[str, Any]) -> None:
    persona = Persona(
        CLOUD_ADMIN_ROLE,
        "launch",
        (Operation("sagemaker", "CreateDomain", "test"),),
        forbidden_prefixes=("sagemaker",),
    )
    _, failures = check_personas(committed, [persona])
    failure = named(failures, CLOUD_ADMIN_ROLE, "sagemaker:CreateDomain")
    assert "no sagemaker permission" in failure.reason


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (Operation("servicecatalog", "NoSuchOperation", "test"), "no IAM action"),
        (Operation("s3", "GetBucketPolicyStatus", "test"), "S3_ACTIONS"),
    ],
)
def test_unmapped_operation_fails(
    committed: dict[str, Any], operation: Operation, message: str
) -> None:
    _, failures = check_personas(committed, [Persona(PUBLISHER_ROLE, "publish", (operation,))])
    assert len(failures) == 1 and message in failures[0].reason


# --- requirements and ARNs (unit) -----------------------------------------------------------


def actions_of(op: Operation) -> dict[str, Requirement]:
    return {r.action: r for r in requirements(op)}


def test_s3_operations_use_the_documented_actions() -> None:
    head = actions_of(Operation("s3", "HeadObject", "t"))
    assert list(head) == ["s3:GetObject", "s3:ListBucket"]  # 403, not 404, without ListBucket
    assert list(actions_of(Operation("s3", "ListObjectsV2", "t"))) == ["s3:ListBucket"]


def test_template_and_launch_role_requirements() -> None:
    product = actions_of(Operation("servicecatalog", "CreateProduct", "t"))
    assert {"cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary"} <= set(product)
    assert product["s3:GetObject"].resource_types == ("object",)
    constraint = actions_of(Operation("servicecatalog", "CreateConstraint", "t"))
    assert constraint["iam:PassRole"].context == {
        "iam:PassedToService": "servicecatalog.amazonaws.com"
    }
    assert "iam:GetRole" in constraint


def test_resources_follow_the_sar(committed: dict[str, Any]) -> None:
    account = account_of(committed)
    bucket = account.values["BucketName"]

    def arns(action: str, types: tuple[str, ...] | None = None) -> list[str]:
        return resources_for(Requirement(action, "t", resource_types=types), account)

    assert arns("servicecatalog:AssociateTagOptionWithResource") == [
        f"{CATALOG}:portfolio/{PORTFOLIO_ID}",
        f"{CATALOG}:product/{PRODUCT_ID}",
    ]
    assert arns("servicecatalog:UpdateProvisionedProduct") == ["*"]
    # Stack types: no stack yet; the one StackSet of this world is the bootstrap's, at worst
    # in the management account and another region (STACK_SET_ELSEWHERE).
    assert arns("cloudformation:GetTemplateSummary") == [
        "arn:aws:cloudformation:ap-southeast-2:210987654321:stackset/studio-catalog-bootstrap:"
        "0a1b2c3d-0000-4000-8000-00000000000d"
    ]
    assert arns("s3:ListBucket") == [f"arn:aws:s3:::{bucket}"]
    assert arns("ssm:GetParameter") == [
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{TEMPLATE_BUCKET_SSM_PARAMETER}"
    ]
    assert arns("iam:PassRole") == [LAUNCH_ROLE_ARN]


def test_identity_store_resources_follow_the_sar(committed: dict[str, Any]) -> None:
    """Every identitystore resource type the SAR lists for the three reads, with sample ids."""
    account = account_of(committed)

    def arns(action: str) -> list[str]:
        return resources_for(Requirement(action, "t"), account)

    assert arns("identitystore:GetGroupId") == [GROUP, IDENTITY_STORE]
    assert arns("identitystore:ListGroupMemberships") == [MEMBERSHIPS, GROUP, IDENTITY_STORE]
    assert arns("identitystore:DescribeUser") == [IDENTITY_STORE, USER]
    assert arns("servicequotas:ListServiceQuotas") == ["*"]
    assert arns("servicequotas:ListAWSDefaultServiceQuotas") == ["*"]


# --- dependent actions a call does not need -------------------------------------------------


def _entry(operation: str, **extra: Any) -> dict[str, Any]:
    return {"service": "identitystore", "operation": operation, "source": "test", **extra}


def test_listed_dependents_are_skipped_with_their_reason() -> None:
    (op,) = cloud_admin_operations(
        {
            "operations": [
                _entry(
                    "DescribeUser",
                    dependent_actions_not_needed={"actions": ["kms:Decrypt"], "reason": "why"},
                )
            ]
        }
    )
    assert op.dependents_not_needed == {"kms:Decrypt": "why"}
    assert list(actions_of(op)) == ["identitystore:DescribeUser"]


def test_an_unlisted_dependent_is_required(committed: dict[str, Any]) -> None:
    """Without the data file's exclusion the SAR's kms:Decrypt is a requirement (and the
    CloudAdminRole does not hold it): the exclusion, not an accident, keeps it out."""
    (op,) = cloud_admin_operations({"operations": [_entry("DescribeUser")]})
    assert "kms:Decrypt" in actions_of(op)
    _, failures = check_personas(committed, [Persona(CLOUD_ADMIN_ROLE, "sync", (op,))])
    failure = named(failures, CLOUD_ADMIN_ROLE, "kms:Decrypt")
    assert "dependent action of identitystore:DescribeUser" in failure.source


def test_a_stale_dependent_exclusion_fails(committed: dict[str, Any]) -> None:
    stale = {"actions": ["kms:Decrypt", "iam:GetAccountSummary"], "reason": "why"}
    (op,) = cloud_admin_operations(
        {"operations": [_entry("DescribeUser", dependent_actions_not_needed=stale)]}
    )
    _, failures = check_personas(committed, [Persona(CLOUD_ADMIN_ROLE, "sync", (op,))])
    failure = named(failures, CLOUD_ADMIN_ROLE, "identitystore:DescribeUser", "-")
    assert "iam:GetAccountSummary" in failure.reason and "kms:Decrypt" not in failure.reason


def test_a_dependent_exclusion_needs_a_reason() -> None:
    entry = _entry("DescribeUser", dependent_actions_not_needed={"actions": ["kms:Decrypt"]})
    with pytest.raises(ValueError, match="without a reason"):
        cloud_admin_operations({"operations": [entry]})


def test_committed_dependent_exclusions_are_sar_dependents() -> None:
    """Each exclusion in the data file names a real SAR dependent (else requirements() fails)
    and gives a reason; the quota lookups skip only other services' limits APIs."""
    excluded = {op.label: op for op in cloud_admin_operations() if op.dependents_not_needed}
    assert set(excluded) == {
        "identitystore:GetGroupId",
        "identitystore:ListGroupMemberships",
        "identitystore:DescribeUser",
        "service-quotas:ListServiceQuotas",
    }
    for op in excluded.values():
        requirements(op)  # raises MappingError on a stale exclusion
        assert all(reason.strip() for reason in op.dependents_not_needed.values())
        assert not any(a.startswith("sagemaker:") for a in op.dependents_not_needed)


# --- a small synthetic bootstrap ------------------------------------------------------------


def synthetic(publisher_statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "tpl"}},
            "BucketParameter": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": TEMPLATE_BUCKET_SSM_PARAMETER,
                    "Type": "String",
                    "Value": {"Ref": "Bucket"},
                },
            },
            "Launch": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "Launch",
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "servicecatalog.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ]
                    },
                },
            },
            PUBLISHER_ROLE: {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "Publisher",
                    "Policies": [
                        {
                            "PolicyName": "p",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": publisher_statements,
                            },
                        }
                    ],
                },
            },
        }
    }


UPLOAD = (Operation("s3", "PutObject", "t"), Operation("ssm", "GetParameter", "t"))
TEMPLATE_KEY = persona_jobs.TEMPLATE_OBJECT


def test_synthetic_publisher_with_exact_scopes_passes() -> None:
    template = synthetic(
        [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::tpl/*"},
            {
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": {
                    "Fn::Sub": "arn:aws:ssm:*:${AWS::AccountId}:parameter/studio-catalog/*"
                },
            },
        ]
    )
    checked, failures = check_personas(template, [Persona(PUBLISHER_ROLE, "upload", UPLOAD)])
    assert checked == 2 and failures == []


def test_synthetic_publisher_with_the_wrong_bucket_fails() -> None:
    template = synthetic(
        [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::other/*"},
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"},
        ]
    )
    _, failures = check_personas(template, [Persona(PUBLISHER_ROLE, "upload", UPLOAD)])
    failure = named(failures, PUBLISHER_ROLE, "s3:PutObject", f"arn:aws:s3:::tpl/{TEMPLATE_KEY}")
    assert "allowed only on arn:aws:s3:::other/*" in failure.reason


def test_missing_template_bucket_parameter_fails_the_proof() -> None:
    template = synthetic([])
    del template["Resources"]["BucketParameter"]
    result = persona_jobs.check(AuditInputs({BOOTSTRAP: template}, ROOT))
    assert not result.ok and TEMPLATE_BUCKET_SSM_PARAMETER in result.failures[0].reason
