"""The seeds' promises, proven from the emitted templates (and shown to catch regressions)."""

from __future__ import annotations

import copy
import inspect
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from factory.audit.derived import AuditInputs
from factory.audit.derived import boundary_escalation as escalation
from factory.audit.evaluator import load_allow_list, scan_templates
from factory.audit.proofs import audit_bootstrap
from factory.cfn_yaml import load_template
from factory.cli import _register, cli
from factory.launch import drain_function

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "launch/studio-catalog-bootstrap.yaml"


@pytest.fixture(scope="module")
def bootstrap() -> dict:
    return load_template(BOOTSTRAP)


def _answers(template: dict) -> dict[str, bool]:
    return {a.question.text: a.ok for a in audit_bootstrap(template)}


def test_every_promise_holds(bootstrap):
    failing = [text for text, ok in _answers(bootstrap).items() if not ok]
    assert failing == []


def _policy(template: dict, role: str) -> list:
    return template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_a_single_sagemaker_read_on_the_cloud_admin_breaks_the_proof(bootstrap):
    broken = copy.deepcopy(bootstrap)
    _policy(broken, "CloudAdminRole").append(
        {"Effect": "Allow", "Action": "sagemaker:ListDomains", "Resource": "*"}
    )
    assert _answers(broken)["holds no SageMaker permission at all"] is False


def test_dropping_the_boundary_condition_breaks_the_proof(bootstrap):
    broken = copy.deepcopy(bootstrap)
    for statement in _policy(broken, "LaunchRole"):
        if isinstance(statement, dict) and statement.get("Sid", "").startswith("CreateRoles"):
            del statement["Condition"]
    assert _answers(broken)["cannot create a role without the boundary"] is False


def test_dropping_the_tag_condition_breaks_the_own_profile_proof(bootstrap):
    broken = copy.deepcopy(bootstrap)
    for statement in _policy(broken, "DataScientistRole"):
        statement.pop("Condition", None)
    assert _answers(broken)["cannot open another person's profile"] is False


def test_policy_hygiene_is_clean_with_a_reason_for_every_exception():
    templates = {
        str(p.relative_to(ROOT)): load_template(p)
        for p in sorted([*ROOT.glob("templates/*.yaml"), *ROOT.glob("launch/*.yaml")])
    }
    entries = load_allow_list(ROOT / "policy-allowlist.yaml")
    report = scan_templates(templates, entries)
    assert (report.findings == [] and report.unused == []) or report.ok, report
    assert all(e.reason.strip() for e in entries)


def test_audit_command_passes_on_the_committed_templates():
    _register()
    ok = CliRunner().invoke(cli, ["audit", "--root", str(ROOT)])
    assert ok.exit_code == 0, ok.output
    assert "Separation of duties" in ok.output


def test_audit_command_fails_on_a_broken_template(tmp_path):
    _register()
    runner = CliRunner()
    for name in ("templates", "launch"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "policy-allowlist.yaml", tmp_path)
    target = tmp_path / "launch/studio-catalog-bootstrap.yaml"
    target.write_text(
        target.read_text().replace("sagemaker:CreatePresignedDomainUrl", "sagemaker:*")
    )
    bad = runner.invoke(cli, ["audit", "--root", str(tmp_path)])
    assert bad.exit_code == 1
    assert "service-wildcard" in bad.output


def test_embedded_drain_code_is_the_tested_handler():
    from factory.launch import bootstrap as boot

    namespace: dict = {}
    exec(compile(boot.drain_source(), "index.py", "exec"), namespace)
    assert boot.drain_source() == inspect.getsource(drain_function)
    sent: list[dict] = []
    event = {
        "RequestType": "Create",
        "ResponseURL": "https://example.invalid/x",
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/s/1",
        "RequestId": "r",
        "LogicalResourceId": "ProfileDrain",
        "ResourceProperties": {"DomainId": "d-abc", "UserProfileName": "alice"},
    }

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 900_000

    namespace["drain"](event, Context(), send=lambda _url, body: sent.append(body))
    assert [(r["Status"], r["PhysicalResourceId"]) for r in sent] == [("SUCCESS", "d-abc/alice")]


# --- derived: no escalation through the boundary ---------------------------------------------


_EXEC = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/studio-catalog/execution/*"
_POLICIES = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/studio-catalog/"


def _mini_bootstrap(*extra: dict) -> dict:
    """A launch role that creates bounded execution roles, a boundary and a persona."""
    statements = [
        {
            "Sid": "CreateRolesOnlyWithBoundary",
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": {"Fn::Sub": _EXEC},
            "Condition": {
                "StringEquals": {"iam:PermissionsBoundary": {"Ref": "ExecutionRoleBoundary"}}
            },
        },
        {
            "Sid": "ManageExecutionRoles",
            "Effect": "Allow",
            "Action": ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRole"],
            "Resource": {"Fn::Sub": _EXEC},
        },
        {
            "Sid": "ManageProductPolicies",
            "Effect": "Allow",
            "Action": ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy"],
            "Resource": {"Fn::Sub": _POLICIES + "products/*"},
        },
        *extra,
    ]
    trust = {"Version": "2012-10-17", "Statement": []}
    return {
        "Resources": {
            "LaunchRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": trust,
                    "RoleName": "Launch",
                    "Policies": [
                        {
                            "PolicyName": "launch",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                        }
                    ],
                },
            },
            "Persona": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": trust,
                    "Path": "/studio-catalog/personas/",
                },
            },
            "ExecutionRoleBoundary": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Path": "/studio-catalog/",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
                        ],
                    },
                },
            },
        }
    }


def _escalations(template: dict) -> list[tuple[str, str, str]]:
    result = escalation.check(AuditInputs({"launch/studio-catalog-bootstrap.yaml": template}))
    return [(f.resource, f.action, f.arn) for f in result.failures]


def test_derived_actions_come_from_the_service_authorization_reference():
    actions = escalation.permissions_management_actions()
    assert {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"} <= set(actions["policy"])
    assert {"iam:UpdateAssumeRolePolicy", "iam:PassRole", "iam:CreateRole"} <= set(actions["role"])


def test_a_launch_role_below_the_boundary_path_passes():
    assert _escalations(_mini_bootstrap()) == []


@pytest.mark.parametrize(
    ("statement", "action", "arn_part"),
    [
        (
            {
                "Effect": "Allow",
                "Action": "iam:CreatePolicyVersion",
                "Resource": "arn:aws:iam::123456789012:policy/studio-catalog/*",
            },
            "iam:CreatePolicyVersion",
            "policy/studio-catalog/",
        ),
        (
            {"Effect": "Allow", "Action": "iam:SetDefaultPolicyVersion", "Resource": "*"},
            "iam:SetDefaultPolicyVersion",
            "ExecutionRoleBoundary",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "iam:DeleteRolePermissionsBoundary",
                "Resource": {"Fn::Sub": _EXEC},
            },
            "iam:DeleteRolePermissionsBoundary",
            "execution/alice",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "iam:PutRolePermissionsBoundary",
                "Resource": {"Fn::Sub": _EXEC},
            },
            "iam:PutRolePermissionsBoundary",
            "other-boundary",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "iam:UpdateAssumeRolePolicy",
                "Resource": "arn:aws:iam::*:role/*",
            },
            "iam:UpdateAssumeRolePolicy",
            "role/Launch",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::123456789012:role/Launch",
                "Condition": {
                    "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                },
            },
            "iam:PassRole",
            "role/Launch",
        ),
        (
            {"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "arn:aws:iam::*:role/*"},
            "iam:PutRolePolicy",
            "role/Admin",
        ),
    ],
)
def test_each_escalation_is_caught(statement, action, arn_part):
    found = _escalations(_mini_bootstrap(statement))
    assert any(r == "LaunchRole" and a == action and arn_part in arn for r, a, arn in found), found


def test_dropping_the_boundary_condition_is_caught():
    template = _mini_bootstrap()
    statements = template["Resources"]["LaunchRole"]["Properties"]["Policies"][0]
    del statements["PolicyDocument"]["Statement"][0]["Condition"]
    found = _escalations(template)
    assert (
        "LaunchRole",
        "iam:CreateRole",
        "arn:aws:iam::123456789012:role/studio-catalog/execution/alice",
    ) in found


def test_a_boundary_that_allows_iam_writes_is_caught():
    template = _mini_bootstrap()
    boundary = template["Resources"]["ExecutionRoleBoundary"]["Properties"]["PolicyDocument"]
    boundary["Statement"].append(
        {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"}
    )
    assert any(r == escalation.BOUNDED for r, _, _ in _escalations(template))


def test_mutation_policy_versions_on_the_boundary_path_fail_on_the_committed_bootstrap(bootstrap):
    broken = copy.deepcopy(bootstrap)
    statements = _policy(broken, "LaunchRole")
    statements[:] = [
        s
        for s in statements
        if not (isinstance(s, dict) and s.get("Sid") == "NeverChangeTheBoundaryOrOwnPolicies")
    ]
    statements.append(
        {
            "Effect": "Allow",
            "Action": "iam:CreatePolicyVersion",
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/"
                "studio-catalog-bootstrap/*"
            },
        }
    )
    found = _escalations(broken)
    assert any(
        r == "LaunchRole" and a == "iam:CreatePolicyVersion" and "ExecutionRoleBoundary" in arn
        for r, a, arn in found
    )


def test_committed_templates_pass(bootstrap):
    assert _escalations(bootstrap) == []
