"""Fixtures of the `users` tests: the sample catalog published to local AWS, and the users
commands' waits scaled down to the stand-in's timings (retries and polls still happen, in
the same order, only sooner)."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class _Published:
    """What publishing the repository's catalog left in local AWS: the stand-in's regions and
    request statistics, and the template bucket's objects (the publisher's only other writes:
    factory/audit/data/publisher_operations.json)."""

    regions: dict[str, Any]
    log: list[Any]
    replays: int
    objects: list[tuple[str, bytes, str]]  # key, body, content type


#: One real publish per process and realism mode (the first test of a worker to ask for it
#: pays for it, and checks it as before); every later test starts from a deep copy of the
#: state it left, settled, instead of publishing the same catalog again (~5 s each).
_PUBLISHED: dict[str, _Published] = {}


def _capture(aws: LocalAWS) -> _Published:
    s3 = aws.client("s3")
    objects = []
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        got = s3.get_object(Bucket=BUCKET, Key=item["Key"])
        objects.append((item["Key"], got["Body"].read(), got.get("ContentType", "")))
    standin = aws.standin
    with standin._lock:
        return _Published(
            regions=copy.deepcopy(standin._regions),
            log=list(standin._log),
            replays=standin._idempotent_replays,
            objects=objects,
        )


def _restore(aws: LocalAWS, published: _Published) -> None:
    s3 = aws.client("s3")
    for key, body, content_type in published.objects:
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)
    standin = aws.standin
    with standin._lock:
        standin._regions.clear()
        standin._regions.update(copy.deepcopy(published.regions))
        standin._log[:] = published.log
        standin._idempotent_replays = published.replays


@pytest.fixture
def published(local_aws: LocalAWS, standin_realism: Realism, tmp_path: Path) -> Path:
    """A workspace with the repository's portfolios and templates, published to local AWS
    and settled (from the second test of a process on: that state, restored)."""
    for name in ("portfolios", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    local_aws.client("s3").create_bucket(Bucket=BUCKET)
    key = repr(standin_realism)
    if key in _PUBLISHED:
        _restore(local_aws, _PUBLISHED[key])
        return tmp_path
    result = run(
        tmp_path,
        "publish",
        *("--env", "dev", "--region", REGION, "--bucket", BUCKET, "--yes"),
        "--skip-environment-check",
    )
    assert result.exit_code == 0, result.output
    settle(local_aws)
    _PUBLISHED[key] = _capture(local_aws)
    return tmp_path
