"""Publisher against the loopback Service Catalog stand-in (factory.testing.LocalAWS), in its
realistic mode (tests/conftest.py: PUBLISHER_REALISM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory.publish.apply import Interrupted
from factory.publish.run import Options, load, run
from factory.testing.local_aws import LocalAWS
from tests.support.publish import (
    BUCKET,
    REGION,
    calls,
    catalog_yaml,
    invoke,
    mutating,
    publish,
    region,
    settle,
    snapshot,
    write_catalog,
)


@pytest.fixture
def workspace(publish_workspace: Path) -> Path:
    write_catalog(publish_workspace, catalog_yaml(["alpha", "beta", "gamma"]))
    return publish_workspace


def test_first_publish_then_noop(aws: LocalAWS, workspace: Path) -> None:
    assert invoke(workspace, "plan").exit_code == 2
    publish(workspace)
    state = snapshot(aws)
    assert len(state["products"]) == 3
    assert len(state["constraints"]) == 6  # LAUNCH + RESOURCE_UPDATE per product
    assert state["portfolios"][0][1] == ["Product alpha", "Product beta", "Product gamma"]
    assert len(state["portfolios"][0][3]) == 2  # account + OU shares

    settle(aws)  # once AWS is consistent, plan and publish find nothing to do
    aws.standin.reset_stats()
    result = invoke(workspace, "plan", "--output", "json")
    assert result.exit_code == 0, result.output
    publish(workspace)
    ops = calls(aws)
    assert mutating(aws) == 0, ops
    # plan + publish: each reads 1 per product plus a constant
    assert ops["DescribeProductAsAdmin"] == 6
    assert "ListProvisioningArtifacts" not in ops


def test_changed_template_adds_exactly_one_version(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    template = workspace / "templates/beta.yaml"
    template.write_text(template.read_text() + "\n# changed\n", encoding="utf-8")
    assert invoke(workspace, "plan").exit_code == 2
    aws.standin.reset_stats()
    publish(workspace)
    ops = calls(aws)
    assert ops["CreateProvisioningArtifact"] == 1
    assert "CreateProduct" not in ops
    beta = next(p for p in region(aws).products.values() if p.name == "Product beta")
    guidance = sorted((a.active, a.guidance) for a in beta.artifacts.values())
    assert guidance == [(True, "DEFAULT"), (True, "DEPRECATED")]
    settle(aws)  # a re-run once AWS is consistent writes nothing
    aws.standin.reset_stats()
    publish(workspace)
    assert mutating(aws) == 0


def test_removed_product_is_orphan_until_prune(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    write_catalog(workspace, catalog_yaml(["alpha", "beta"]))
    result = invoke(workspace, "plan")
    assert result.exit_code == 2
    assert "orphan product gamma" in result.output
    publish(workspace)
    assert len(snapshot(aws)["products"]) == 3
    publish(workspace, "--prune")
    assert [p[0] for p in snapshot(aws)["products"]] == ["Product alpha", "Product beta"]
    assert invoke(workspace, "plan").exit_code == 0


@pytest.mark.parametrize("stop_after", [1, 3, 8, 14, 20])
def test_interrupted_run_converges(aws: LocalAWS, workspace: Path, stop_after: int) -> None:
    publish(workspace)
    reference = snapshot(aws)
    aws.reset()
    aws.client("s3").create_bucket(Bucket=BUCKET)
    catalog, digests = load(workspace / "portfolios", "dev", workspace / "templates")
    results = run(
        catalog,
        digests,
        Options([REGION], bucket=BUCKET, stop_after=stop_after, skip_environment_check=True),
        apply=True,
    )
    assert results[0].error and Interrupted.__name__ in results[0].error
    publish(workspace)
    assert snapshot(aws) == reference
    settle(aws)  # a re-run once AWS is consistent writes nothing
    aws.standin.reset_stats()
    publish(workspace)
    assert mutating(aws) == 0


def test_throttling_still_converges(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    reference = snapshot(aws)
    aws.reset()
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.standin.configure(throttle_rate=0.3, seed=11)
    publish(workspace)
    assert aws.standin.stats()["throttled"] > 0
    aws.standin.configure(throttle_rate=0.0)
    assert snapshot(aws) == reference
    settle(aws)  # a re-run once AWS is consistent writes nothing
    aws.standin.reset_stats()
    publish(workspace)
    assert mutating(aws) == 0


def test_invalid_yaml_fails_before_any_aws_call(aws: LocalAWS, workspace: Path) -> None:
    path = workspace / "portfolios/catalog.yaml"
    path.write_text(path.read_text().replace("provider_name:", "provider:"), encoding="utf-8")
    aws.standin.reset_stats()
    for command in ("plan", "publish"):
        result = invoke(workspace, command, *(["--yes"] if command == "publish" else []))
        assert result.exit_code == 1
        assert "invalid portfolio definitions" in result.output
    assert aws.standin.stats()["total"] == 0
