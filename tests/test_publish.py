"""Publisher against the loopback Service Catalog stand-in (factory.testing.LocalAWS)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from factory.cli import cli
from factory.cli import plan as plan_cli
from factory.cli import publish as publish_cli
from factory.publish.apply import Interrupted
from factory.publish.run import Options, load, run
from factory.testing.local_aws import LocalAWS

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "studio-catalog-templates"
REGION = "us-east-1"

cli.add_command(plan_cli.command)
cli.add_command(publish_cli.command)


def catalog_yaml(products: list[str]) -> str:
    product_defs = "".join(
        f"""
  - id: {p}
    template: {p}
    display_name: Product {p}
    owner: ML Platform team
    version_policy:
      keep_active: 1
      keep_deprecated: 1
"""
        for p in products
    )
    refs = "".join(f"\n      - product: {p}" for p in products)
    return f"""version: 1
products:{product_defs}
portfolios:
  - id: studio
    display_name: Studio
    provider_name: ML Platform team
    principals:
      - type: IAM
        arn: "arn:aws:iam::{{{{ env.accounts.catalog }}}}:role/Admin"
    products:{refs}
    tag_options:
      - key: CostCenter
        values: ["CC-1"]
        attach_to: portfolio
    sharing:
      accounts: ["{{{{ env.accounts.workload }}}}"]
      organization_nodes:
        - type: ORGANIZATIONAL_UNIT
          value: ou-abcd-11111111
      share_tag_options: true
"""


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAWS(REGION) as local:
        yield local


@pytest.fixture
def workspace(aws: LocalAWS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    aws.reset()
    aws.standin.configure(latency_s=0.0, throttle_rate=0.0, seed=7)
    aws.standin.reset_stats()
    for name, value in aws.env.items():
        monkeypatch.setenv(name, value)
    aws.client("s3").create_bucket(Bucket=BUCKET)
    (tmp_path / "portfolios" / "environments").mkdir(parents=True)
    shutil.copy(ROOT / "portfolios/environments/dev.yaml", tmp_path / "portfolios/environments")
    (tmp_path / "templates").mkdir()
    source = ROOT / "templates/studio-user-profile.yaml"
    for name in ("alpha", "beta", "gamma"):
        shutil.copy(source, tmp_path / "templates" / f"{name}.yaml")
    write_catalog(tmp_path, ["alpha", "beta", "gamma"])
    return tmp_path


def write_catalog(root: Path, products: list[str]) -> None:
    (root / "portfolios/catalog.yaml").write_text(catalog_yaml(products), encoding="utf-8")


def cli_args(root: Path, command: str, *extra: str) -> list[str]:
    return [
        command,
        "--env",
        "dev",
        "--region",
        REGION,
        "--portfolios",
        str(root / "portfolios"),
        "--templates",
        str(root / "templates"),
        "--bucket",
        BUCKET,
        *extra,
    ]


def invoke(root: Path, command: str, *extra: str) -> Any:
    return CliRunner().invoke(cli, cli_args(root, command, *extra), catch_exceptions=False)


def publish(root: Path, *extra: str) -> Any:
    result = invoke(root, "publish", "--yes", *extra)
    assert result.exit_code == 0, result.output
    return result


def snapshot(aws: LocalAWS) -> dict[str, Any]:
    """Region state without generated ids, for convergence comparisons."""
    st = aws.standin.region_state(REGION)
    names = {p.id: p.name for p in st.products.values()}
    return {
        "portfolios": sorted(
            (
                pf.display_name,
                sorted(names[p] for p in pf.products),
                sorted(pf.principals),
                sorted(pf.shares),
            )
            for pf in st.portfolios.values()
        ),
        "products": sorted(
            (p.name, sorted((a.description, a.active, a.guidance) for a in p.artifacts.values()))
            for p in st.products.values()
        ),
        "constraints": sorted(
            (names[c.product_id], c.type, c.parameters) for c in st.constraints.values()
        ),
        "tag_options": sorted((t.key, t.value, len(t.resources)) for t in st.tag_options.values()),
    }


def mutating(aws: LocalAWS) -> int:
    return int(aws.standin.stats()["mutating"])


def test_first_publish_then_noop(aws: LocalAWS, workspace: Path) -> None:
    assert invoke(workspace, "plan").exit_code == 2
    publish(workspace)
    state = snapshot(aws)
    assert len(state["products"]) == 3
    assert len(state["constraints"]) == 6  # LAUNCH + RESOURCE_UPDATE per product
    assert state["portfolios"][0][1] == ["Product alpha", "Product beta", "Product gamma"]
    assert len(state["portfolios"][0][3]) == 2  # account + OU shares

    aws.standin.reset_stats()
    result = invoke(workspace, "plan", "--output", "json")
    assert result.exit_code == 0, result.output
    publish(workspace)
    stats = aws.standin.stats()
    assert stats["mutating"] == 0, stats["by_operation"]
    # plan + publish: each reads 1 per product plus a constant
    assert stats["by_operation"]["DescribeProductAsAdmin"] == 6
    assert "ListProvisioningArtifacts" not in stats["by_operation"]


def test_changed_template_adds_exactly_one_version(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    template = workspace / "templates/beta.yaml"
    template.write_text(template.read_text() + "\n# changed\n", encoding="utf-8")
    assert invoke(workspace, "plan").exit_code == 2
    aws.standin.reset_stats()
    publish(workspace)
    ops = aws.standin.stats()["by_operation"]
    assert ops["CreateProvisioningArtifact"] == 1
    assert "CreateProduct" not in ops
    beta = next(
        p for p in aws.standin.region_state(REGION).products.values() if p.name == "Product beta"
    )
    guidance = sorted((a.active, a.guidance) for a in beta.artifacts.values())
    assert guidance == [(True, "DEFAULT"), (True, "DEPRECATED")]
    aws.standin.reset_stats()
    publish(workspace)
    assert mutating(aws) == 0


def test_removed_product_is_orphan_until_prune(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    write_catalog(workspace, ["alpha", "beta"])
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
        catalog, digests, Options([REGION], bucket=BUCKET, stop_after=stop_after), apply=True
    )
    assert results[0].error and Interrupted.__name__ in results[0].error
    publish(workspace)
    assert snapshot(aws) == reference
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
