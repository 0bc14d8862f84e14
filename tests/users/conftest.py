"""Fixtures of the `users` tests: the sample catalog published to local AWS, and the users
commands' waits scaled down to the stand-in's timings (retries and polls still happen, in
the same order, only sooner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factory.testing.local_aws import LocalAWS
from tests.support.publish import BUCKET, REGION, ROOT, settle
from tests.support.users import run


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
