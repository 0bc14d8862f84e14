"""The launch path in a real sandbox account (issue 11): `STUDIO_FACTORY_E2E=1` with the
credentials of a role that can deploy the bootstrap stack (README, Testing in a sandbox
account). About 30 minutes; it creates billable resources (a domain, two profiles, one
JupyterLab app on ml.t3.medium for a few minutes) and removes them in a `finally`.

* `STUDIO_FACTORY_E2E` unset: skipped (a developer with credentials in the shell does not
  start a 30-minute, billable run by accident).
* `STUDIO_FACTORY_E2E=1` and no credentials: fails, so a pipeline that means to run it
  cannot skip it silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from tests.integration import launch_path

E2E = "STUDIO_FACTORY_E2E"
REGION_ENV = "STUDIO_FACTORY_E2E_REGION"

pytestmark = pytest.mark.integration


def sandbox_credentials() -> bool:
    return boto3.Session().get_credentials() is not None


def require_sandbox() -> str:
    """The region to run in, or skip/fail as the module docstring says."""
    if os.environ.get(E2E) != "1":
        pytest.skip(f"set {E2E}=1 (and sandbox credentials) to run the launch path in AWS")
    if not sandbox_credentials():
        pytest.fail(f"{E2E}=1 but no AWS credentials: the end-to-end test cannot run")
    return os.environ.get(REGION_ENV) or boto3.Session().region_name or "us-east-1"


def test_launch_path_in_a_sandbox_account(tmp_path: Path) -> None:
    region = require_sandbox()
    account = launch_path.SandboxAccount(region)
    run = launch_path.Run(region=region, workspace=tmp_path)
    with launch_path.cleaned(run):
        launch_path.scenario(account, run)
    print("\n".join(run.log))


def test_without_credentials_an_e2e_run_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The guard itself, offline: with the flag and no credentials, pytest.fail."""
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv(E2E, "1")
    with pytest.raises(pytest.fail.Exception, match="no AWS credentials"):
        require_sandbox()
    monkeypatch.delenv(E2E)
    with pytest.raises(pytest.skip.Exception, match=f"set {E2E}=1"):
        require_sandbox()
