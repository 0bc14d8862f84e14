"""The seeds' promises, proven from the emitted templates (and shown to catch regressions)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import cfn_flip
import pytest
from click.testing import CliRunner

from factory.audit.evaluator import load_allow_list, scan_templates
from factory.audit.proofs import audit_bootstrap
from factory.cli import _register, cli

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "launch/studio-catalog-bootstrap.yaml"


@pytest.fixture(scope="module")
def bootstrap() -> dict:
    return cfn_flip.load_yaml(BOOTSTRAP.read_text())


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
        str(p.relative_to(ROOT)): cfn_flip.load_yaml(p.read_text())
        for p in sorted([*ROOT.glob("templates/*.yaml"), *ROOT.glob("launch/*.yaml")])
    }
    entries = load_allow_list(ROOT / "policy-allowlist.yaml")
    report = scan_templates(templates, entries)
    assert (report.findings == [] and report.unused == []) or report.ok, report
    assert all(e.reason.strip() for e in entries)


def test_audit_command_passes_and_fails_on_a_broken_template(tmp_path):
    _register()
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "--root", str(ROOT)])
    assert ok.exit_code == 0, ok.output
    assert "Separation of duties" in ok.output
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
    assert '"""' not in boot.drain_source()
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
