"""Publisher convergence against the Service Catalog stand-in: identity by tag, removals,
idempotency tokens that replay deleted resources, the versions quota, partial failure.

Each test here failed before the fix it names (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from factory.aws import TAG_PORTFOLIO, TAG_PRODUCT, TAG_VERSIONS, template_url
from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import ServiceCatalogError
from tests.support.publish import (
    REGION,
    calls,
    catalog_yaml,
    converged,
    invoke,
    mutating,
    only_portfolio,
    product_named,
    publish,
    region,
    release,
    sc,
    settle,
    write_catalog,
)


@pytest.fixture
def workspace(publish_workspace: Path) -> Path:
    write_catalog(publish_workspace, catalog_yaml(["alpha", "beta"]))
    return publish_workspace


# --- 1. identity and discovery --------------------------------------------------------------


def test_renamed_portfolio_is_updated_not_duplicated(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], display_name="Studio v2"))
    result = invoke(workspace, "plan")
    assert "DisplayName: 'Studio' -> 'Studio v2'" in result.output
    publish(workspace)
    portfolio = only_portfolio(aws)
    assert portfolio.display_name == "Studio v2"
    assert len(portfolio.products) == 2
    converged(aws, workspace)


def test_product_in_no_portfolio_is_found_and_reassociated(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    portfolio = only_portfolio(aws)
    alpha = product_named(aws, "Product alpha")
    settle(aws)  # changes by hand come after the publish's resources are readable
    for constraint in list(region(aws).constraints.values()):
        if constraint.product_id == alpha.id:
            sc(aws).delete_constraint(Id=constraint.id)
    sc(aws).disassociate_product_from_portfolio(ProductId=alpha.id, PortfolioId=portfolio.id)
    publish(workspace)
    assert len(region(aws).products) == 2  # found by tag, not created again
    assert alpha.id in only_portfolio(aws).products
    converged(aws, workspace)


def test_two_live_portfolios_with_one_tag_stop_before_any_write(
    aws: LocalAWS, workspace: Path
) -> None:
    publish(workspace)
    twin = sc(aws).create_portfolio(
        DisplayName="Copy",
        ProviderName="someone",
        Tags=[{"Key": TAG_PORTFOLIO, "Value": "studio"}],
        IdempotencyToken="twin",
    )["PortfolioDetail"]["Id"]
    settle(aws)  # ListPortfolios leaves a new portfolio out for a while
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], display_name="Renamed"))
    aws.standin.reset_stats()
    result = invoke(workspace, "publish", "--yes")
    assert result.exit_code == 1
    assert twin in result.output and "'Copy'" in result.output
    assert "delete the extra ones or remove their tag" in result.output
    assert mutating(aws) == 0


# --- 2. full diff, removals included --------------------------------------------------------


def test_product_moved_out_of_portfolio_leaves_it(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], refs=["alpha"]))
    result = invoke(workspace, "plan")
    assert "disassociate portfolio studio product beta" in result.output
    publish(workspace)
    beta = product_named(aws, "Product beta")
    assert beta.id not in only_portfolio(aws).products
    assert all(c.product_id != beta.id for c in region(aws).constraints.values())
    converged(aws, workspace)


def test_all_tag_options_removed_at_portfolio_and_product(aws: LocalAWS, workspace: Path) -> None:
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], product_tag_options=True))
    publish(workspace)
    assert sum(len(t.resources) for t in region(aws).tag_options.values()) == 2
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], portfolio_tag_options=False))
    publish(workspace)
    assert sum(len(t.resources) for t in region(aws).tag_options.values()) == 0
    converged(aws, workspace)


def test_removed_shares_are_deleted(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    assert len(only_portfolio(aws).shares) == 2
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], accounts=False, ou=False))
    result = invoke(workspace, "plan", "--output", "json")
    changes = json.loads(result.output)[0]["changes"]
    assert sorted(c["action"] for c in changes if c["action"] == "unshare") == ["unshare"] * 2
    publish(workspace)
    assert only_portfolio(aws).shares == {}
    converged(aws, workspace)


def test_tags_added_changed_removed_with_old_and_new(aws: LocalAWS, workspace: Path) -> None:
    tags = "\n    tags:\n      Team: ml\n      Stage: dev"
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], tags=tags))
    publish(workspace)
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], tags="\n    tags:\n      Team: data"))
    result = invoke(workspace, "plan", "--output", "json")
    changes = json.loads(result.output)[0]["changes"]
    update = next(c for c in changes if c["resource"] == "portfolio studio")
    assert update["old"]["Tags"] == {"Team": "ml", "Stage": "dev"}
    assert update["new"]["Tags"] == {"Team": "data"}
    publish(workspace)
    assert only_portfolio(aws).tags == {"Team": "data", TAG_PORTFOLIO: "studio"}
    converged(aws, workspace)


# --- 3. idempotency tokens that never hide work ---------------------------------------------


def test_constraint_deleted_by_hand_is_created_again(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    launch = next(c for c in region(aws).constraints.values() if c.type == "LAUNCH")
    settle(aws)  # changes by hand come after the publish's resources are readable
    sc(aws).delete_constraint(Id=launch.id)
    publish(workspace)  # same inputs, same token: the replay answers the deleted constraint
    launches = [c for c in region(aws).constraints.values() if c.type == "LAUNCH"]
    assert len(launches) == 2
    converged(aws, workspace)


def test_pruned_product_added_again_is_created(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    write_catalog(workspace, catalog_yaml(["alpha"]))
    publish(workspace, "--prune")
    assert [p.name for p in region(aws).products.values()] == ["Product alpha"]
    write_catalog(workspace, catalog_yaml(["alpha", "beta"]))
    publish(workspace)
    assert sorted(p.name for p in region(aws).products.values()) == [
        "Product alpha",
        "Product beta",
    ]
    converged(aws, workspace)


def test_prune_finishes_a_product_left_in_a_portfolio(aws: LocalAWS, workspace: Path) -> None:
    """An interrupted prune or a hand-made association must not block DeleteProduct."""
    publish(workspace)
    other = sc(aws).create_portfolio(
        DisplayName="Other", ProviderName="x", IdempotencyToken="other"
    )["PortfolioDetail"]["Id"]
    beta = product_named(aws, "Product beta")
    settle(aws)  # a new portfolio answers ResourceNotFound for a while
    sc(aws).associate_product_with_portfolio(ProductId=beta.id, PortfolioId=other)
    settle(aws)  # the publisher must find the association, as it would after a while
    write_catalog(workspace, catalog_yaml(["alpha"]))
    publish(workspace, "--prune")
    assert [p.name for p in region(aws).products.values()] == ["Product alpha"]


# --- 4. versions and quotas -----------------------------------------------------------------


def test_default_policy_survives_many_releases_at_a_low_quota(
    aws: LocalAWS, workspace: Path
) -> None:
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], policy="keep_active: 3"))
    aws.standin.configure(artifacts_per_product=5)
    publish(workspace)
    for n in range(8):
        release(workspace, n)
        aws.standin.reset_stats()
        publish(workspace)
    ops = calls(aws)
    # at the quota: one refused create per product, never retried as throttling, then one
    assert ops["CreateProvisioningArtifact"] == 4
    alpha = product_named(aws, "Product alpha")
    assert len(alpha.artifacts) == 5
    assert sum(a.guidance == "DEFAULT" and a.active for a in alpha.artifacts.values()) == 3
    converged(aws, workspace)


def test_in_use_version_beyond_policy_is_deactivated(aws: LocalAWS, workspace: Path) -> None:
    policy = "keep_active: 1\n      keep_deprecated: 0\n      delete_inactive: true"
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], policy=policy))
    publish(workspace)
    alpha = product_named(aws, "Product alpha")
    first = next(iter(alpha.artifacts))
    original = aws.standin._dispatch_table()["DeleteProvisioningArtifact"]

    def in_use(st: Any, p: Any) -> Any:
        raise ServiceCatalogError("ResourceInUseException", "used by provisioned products")

    aws.standin.set_handler("DeleteProvisioningArtifact", in_use)
    try:
        release(workspace, 1)
        publish(workspace)
    finally:
        aws.standin.set_handler("DeleteProvisioningArtifact", original)
    assert product_named(aws, "Product alpha").artifacts[first].active is False


# --- 5. fingerprint off product tags, template URLs ------------------------------------------


def test_fingerprint_is_not_a_product_tag_and_legacy_tag_is_removed(
    aws: LocalAWS, workspace: Path
) -> None:
    publish(workspace)
    alpha = product_named(aws, "Product alpha")
    assert alpha.tags == {TAG_PRODUCT: "alpha"}
    settle(aws)  # changes by hand come after the publish's resources are readable
    sc(aws).update_product(Id=alpha.id, AddTags=[{"Key": TAG_VERSIONS, "Value": "x"}])
    publish(workspace)
    assert product_named(aws, "Product alpha").tags == {TAG_PRODUCT: "alpha"}
    converged(aws, workspace)


def test_template_urls_use_the_partition_dns_suffix() -> None:
    assert template_url("b", "cn-north-1", "k") == "https://b.s3.cn-north-1.amazonaws.com.cn/k"
    assert template_url("b", "us-gov-west-1", "k") == "https://b.s3.us-gov-west-1.amazonaws.com/k"


def test_one_bucket_for_several_regions_is_refused(aws: LocalAWS, workspace: Path) -> None:
    aws.standin.reset_stats()
    result = invoke(workspace, "plan", regions=(REGION, "eu-west-1"))
    assert result.exit_code == 1
    assert "error: --bucket: one bucket" in result.output
    assert aws.standin.stats()["total"] == 0


# --- 6. eventual consistency and partial failure --------------------------------------------


def test_one_failing_change_does_not_stop_the_others(aws: LocalAWS, workspace: Path) -> None:
    original = aws.standin._dispatch_table()["AssociatePrincipalWithPortfolio"]

    def refuse(st: Any, p: Any) -> Any:
        raise ServiceCatalogError("InvalidParametersException", "principal refused")

    aws.standin.set_handler("AssociatePrincipalWithPortfolio", refuse)
    try:
        result = invoke(workspace, "publish", "--yes")
    finally:
        aws.standin.set_handler("AssociatePrincipalWithPortfolio", original)
    assert result.exit_code == 1
    assert "failed associate portfolio studio principal: InvalidParametersException" in (
        result.output
    )
    assert len(only_portfolio(aws).shares) == 2  # later, independent changes were applied
    publish(workspace)
    converged(aws, workspace)


def test_realistic_mode_converges(aws: LocalAWS, workspace: Path) -> None:
    """Every realistic behaviour at once (the fixture's default), throttling included."""
    assert aws.standin.realism.rates and aws.standin.realism.not_found_window_s
    publish(workspace)
    release(workspace, 1)
    publish(workspace)
    for product in region(aws).products.values():
        assert sorted(a.guidance for a in product.artifacts.values()) == [
            "DEFAULT",
            "DEPRECATED",
        ]
    converged(aws, workspace)


def test_constraint_right_after_an_association_waits_for_consistency(
    aws: LocalAWS, workspace: Path
) -> None:
    """Existing product, new association: CreateConstraint may answer ResourceNotFound."""
    write_catalog(workspace, catalog_yaml(["alpha", "beta"], refs=["alpha"]))
    publish(workspace)
    aws.standin.configure(realism={"not_found_window_s": 0.3})
    write_catalog(workspace, catalog_yaml(["alpha", "beta"]))
    publish(workspace)
    beta = product_named(aws, "Product beta")
    assert sum(c.product_id == beta.id for c in region(aws).constraints.values()) == 2


def test_two_live_products_with_one_tag_are_reported(aws: LocalAWS, workspace: Path) -> None:
    publish(workspace)
    alpha = product_named(aws, "Product alpha")
    artifact = next(iter(alpha.artifacts.values()))
    twin = sc(aws).create_product(
        Name="Alpha copy",
        Owner="someone",
        ProductType="CLOUD_FORMATION_TEMPLATE",
        Tags=[{"Key": TAG_PRODUCT, "Value": "alpha"}],
        ProvisioningArtifactParameters={
            "Name": "v1",
            "Info": dict(artifact.info),
            "Type": "CLOUD_FORMATION_TEMPLATE",
        },
        IdempotencyToken="twin",
    )["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    settle(aws)  # SearchProductsAsAdmin leaves a new product out for a while
    result = invoke(workspace, "plan")
    assert result.exit_code == 1
    assert "product alpha: 2 live products" in result.output and twin in result.output


def test_limit_exceeded_is_not_retried_like_throttling(aws: LocalAWS, workspace: Path) -> None:
    """botocore's standard mode retries LimitExceededException (retries/standard.py)."""
    from factory.aws import Clients

    def quota(st: Any, p: Any) -> Any:
        raise ServiceCatalogError("LimitExceededException", "100 portfolios")

    original = aws.standin._dispatch_table()["CreatePortfolio"]
    aws.standin.set_handler("CreatePortfolio", quota)
    aws.standin.reset_stats()
    try:
        with pytest.raises(Exception, match="LimitExceededException"):
            Clients.create(REGION).sc.create_portfolio(
                DisplayName="x", ProviderName="y", IdempotencyToken="t"
            )
    finally:
        aws.standin.set_handler("CreatePortfolio", original)
    assert calls(aws)["CreatePortfolio"] == 1
