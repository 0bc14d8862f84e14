"""The context the derived launch-role requests carry: what IAM sees when CloudFormation and
the services it calls act for the launch role. Each test weakens a product template and
checks that the proof notices, so the context cannot silently make a proof pass."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from factory.audit.derived import key_policies, launch_handlers, launch_service_catalog
from factory.audit.derived.base import AuditInputs
from factory.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "templates/studio-domain.yaml"
PROFILE = "templates/studio-user-profile.yaml"
MANAGED_BY = "studio-catalog:managed-by"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    paths = [*(ROOT / "templates").glob("*.yaml"), *(ROOT / "launch").glob("*.yaml")]
    return {str(p.relative_to(ROOT)): load_template(p) for p in paths}


def _without_tag(templates: dict[str, Any], logical_id: str) -> AuditInputs:
    clone = copy.deepcopy(templates)
    props = clone[DOMAIN]["Resources"][logical_id]["Properties"]
    props["Tags"] = [t for t in props["Tags"] if t["Key"] != MANAGED_BY]
    return AuditInputs(clone, ROOT)


def test_the_committed_products_pass_all_launch_proofs(committed):
    inputs = AuditInputs(committed, ROOT)
    for module in (launch_handlers, launch_service_catalog, key_policies):
        assert module.check(inputs).failures == (), module.PROOF_ID


def test_an_untagged_domain_key_cannot_be_managed_or_used_by_the_launch_role(committed):
    """The domain's KMS calls are checked against the key the template creates, with that
    key's tags: without the managed-by tag the launch role may neither create nor use it."""
    result = launch_handlers.check(_without_tag(committed, "DomainKey"))
    failing = {(f.resource, f.action) for f in result.failures}
    assert ("DomainKey", "kms:CreateKey") in failing
    assert ("DomainKey", "kms:PutKeyPolicy") in failing
    assert ("Domain", "kms:CreateGrant") in failing


def test_efs_tagging_for_classic_is_checked_on_the_file_system(committed):
    result = launch_service_catalog.check(AuditInputs(committed, ROOT))
    assert result.ok
    clone = copy.deepcopy(committed)
    role = clone["launch/studio-catalog-bootstrap.yaml"]["Resources"]["LaunchRole"]
    for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if isinstance(statement, dict) and "elasticfilesystem:TagResource" in statement.get(
            "Action", []
        ):
            statement.pop("Condition", None)
            statement["Resource"] = "arn:aws:elasticfilesystem:*:*:access-point/*"
    failures = launch_service_catalog.check(AuditInputs(clone, ROOT)).failures
    tagging = [f for f in failures if f.action == "elasticfilesystem:TagResource"]
    assert tagging and ":file-system/" in tagging[0].arn


def test_a_managed_policy_is_attached_only_to_roles_that_carry_the_boundary(committed):
    clone = copy.deepcopy(committed)
    del clone[PROFILE]["Resources"]["PersonExecutionRole"]["Properties"]["PermissionsBoundary"]
    failing = {
        (f.resource, f.action) for f in launch_handlers.check(AuditInputs(clone, ROOT)).failures
    }
    assert ("HiddenToolDenies", "iam:AttachRolePolicy") in failing
    assert ("PersonExecutionRole", "iam:CreateRole") in failing


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of a role's inline policies or of a managed policy."""
    props = resource.get("Properties", {})
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    if "PolicyDocument" in props:
        documents.append(props["PolicyDocument"])
    return [s for d in documents for s in d.get("Statement", []) if isinstance(s, dict)]


def test_identity_store_decrypts_only_through_identity_store(committed):
    """identitystore:DescribeUser depends on kms:Decrypt (SAR): allowed only with
    kms:ViaService identitystore.*, which the dependent request carries."""
    clone = copy.deepcopy(committed)
    changed = 0
    for resource in clone["launch/studio-catalog-bootstrap.yaml"]["Resources"].values():
        for statement in _statements(resource):
            condition = statement.get("Condition", {})
            if "kms:ViaService" in str(condition) and "identitystore" in str(condition):
                statement["Condition"] = {"StringLike": {"kms:ViaService": "sagemaker.*"}}
                changed += 1
    assert changed == 1
    failures = launch_service_catalog.check(AuditInputs(clone, ROOT)).failures
    assert any(f.action == "kms:Decrypt" and f.resource == "UserProfile" for f in failures)
