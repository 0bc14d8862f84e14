"""Fixtures of the `users` tests: the sample catalog published to local AWS, and the users
commands' waits scaled down to the stand-in's timings (retries and polls still happen, in
the same order, only sooner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import Realism
from tests.conftest import PUBLISHER_REALISM
from tests.support.publish import BUCKET, REGION, ROOT, settle
from tests.support.users import run

#: The publisher's realistic mode, and launches, updates and terminations that take time
#: (records IN_PROGRESS, products UNDER_CHANGE) as in AWS, where a profile takes minutes.
USERS_REALISM = PUBLISHER_REALISM.replace(provisioning_s=0.2)


@pytest.fixture
def standin_realism(request: pytest.FixtureRequest) -> Realism:
    """USERS_REALISM, or the simple mode for a test marked simple_standin(reason=...)."""
    marker = request.node.get_closest_marker("simple_standin")
    return USERS_REALISM if marker is None else Realism()


@pytest.fixture(autouse=True)
def fast_users(monkeypatch: pytest.MonkeyPatch) -> None:
    from factory.users import runner, watch

    monkeypatch.setattr(watch, "POLL_FIRST_S", 0.05)
    monkeypatch.setattr(watch, "POLL_MAX_S", 0.2)
    monkeypatch.setattr(runner, "BACKOFF_BASE_S", 0.1)
    monkeypatch.setattr(runner, "BACKOFF_CAP_S", 2.0)


@pytest.fixture
def published(local_aws: LocalAWS, tmp_path: Path) -> Path:
    """A workspace with the repository's portfolios and templates, published to local AWS."""
    for name in ("portfolios", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    local_aws.client("s3").create_bucket(Bucket=BUCKET)
    result = run(
        tmp_path,
        "publish",
        *("--env", "dev", "--region", REGION, "--bucket", BUCKET, "--yes"),
        "--skip-environment-check",
    )
    assert result.exit_code == 0, result.output
    settle(local_aws)
    return tmp_path
