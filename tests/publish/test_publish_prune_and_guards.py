"""Publisher: prune of portfolios and products (refused while provisioned products use them),
organization-share preconditions, COMPLETED_WITH_ERRORS, the per-region publish lock, the
typed plan steps and stopping between steps (issue 8). Each ran against the realistic
stand-in (tests/conftest.py) and failed before the change it names."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from factory.aws import Clients
from factory.publish import steps
from factory.publish.apply import apply_plan
from factory.publish.lock import LockRecord, format_time, lock_key
from factory.publish.plan import plan_region
from factory.publish.run import load
from factory.testing.local_aws import LocalAWS
from tests.support.publish import (
    BUCKET,
    REGION,
    catalog_yaml,
    converged,
    invoke,
    mutating,
    product_named,
    publish,
    region,
    sc,
    settle,
    write_catalog,
)

EXTRA_PORTFOLIO = """
  - id: extra
    display_name: Extra
    provider_name: ML Platform team
    principals:
      - type: IAM
        arn: "arn:aws:iam::{{ env.accounts.catalog }}:role/Admin"
    products:
      - product: gamma
    sharing:
      accounts: ["{{ env.accounts.workload }}"]
"""


def with_extra_portfolio(text: str) -> str:
    return text.replace("\nportfolios:", "\nportfolios:" + EXTRA_PORTFOLIO.rstrip("\n"), 1)


def provision(aws: LocalAWS, product_name: str, person: str) -> str:
    """A cloud admin launches the product (the stand-in's ProvisionProduct, real API)."""
    settle(aws)
    client = sc(aws)
    product = product_named(aws, product_name)
    artifact = next(iter(product.artifacts))
    path = client.list_launch_paths(ProductId=product.id)["LaunchPathSummaries"][0]["Id"]
    record = client.provision_product(
        ProductId=product.id,
        ProvisioningArtifactId=artifact,
        PathId=path,
        ProvisionedProductName=person,
        ProvisionToken=f"token-{person}",
        ProvisioningParameters=[{"Key": "UserProfileName", "Value": person}],
    )["RecordDetail"]
    return str(record["ProvisionedProductId"])


# --- prune: portfolios, and refusal while in use ----------------------------------------------


def test_prune_deletes_a_portfolio_with_its_share_and_principal(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    root = publish_workspace
    write_catalog(root, with_extra_portfolio(catalog_yaml(["alpha", "beta", "gamma"])))
    publish(root)
    assert len(region(local_aws).portfolios) == 2
    write_catalog(root, catalog_yaml(["alpha", "beta", "gamma"]))
    settle(local_aws)
    plan = invoke(root, "plan")
    assert "orphan portfolio extra (not in catalog; --prune removes it)" in plan.output
    assert plan.exit_code == 0, plan.output  # an orphan alone is not a pending change
    publish(root, "--prune")
    names = [p.display_name for p in region(local_aws).portfolios.values()]
    assert names == ["Studio"]
    assert len(region(local_aws).products) == 3  # gamma stays: still in the catalog
    converged(local_aws, root)


def test_prune_refuses_a_product_that_is_still_provisioned(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    root = publish_workspace
    write_catalog(root, catalog_yaml(["alpha", "beta"]))
    publish(root)
    pp_id = provision(local_aws, "Product beta", "alice")
    write_catalog(root, catalog_yaml(["alpha"]))
    settle(local_aws)
    result = invoke(root, "publish", "--yes", "--prune")
    assert result.exit_code == 1, result.output
    assert "refuse product beta" in result.output
    assert "1 provisioned product(s) still use it (alice)" in result.output
    assert any(p.name == "Product beta" for p in region(local_aws).products.values())
    sc(local_aws).terminate_provisioned_product(
        ProvisionedProductId=pp_id, TerminateToken="terminate-alice"
    )
    settle(local_aws)
    publish(root, "--prune")
    assert [p.name for p in region(local_aws).products.values()] == ["Product alpha"]


def test_prune_refuses_a_portfolio_whose_products_are_provisioned(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    root = publish_workspace
    write_catalog(root, with_extra_portfolio(catalog_yaml(["alpha", "gamma"], refs=["alpha"])))
    publish(root)
    provision(local_aws, "Product gamma", "bob")
    write_catalog(root, catalog_yaml(["alpha", "gamma"], refs=["alpha"]))
    settle(local_aws)
    result = invoke(root, "publish", "--yes", "--prune")
    assert result.exit_code == 1, result.output
    assert "refuse portfolio extra" in result.output
    assert len(region(local_aws).portfolios) == 2


# --- organization shares ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "access", "expected"),
    [
        ("standalone", False, "management account or a delegated administrator"),
        ("member", False, "management account or a delegated administrator"),
        ("management", False, "enable-aws-organizations-access"),
    ],
)
def test_organization_shares_need_access_before_any_write(
    local_aws: LocalAWS, publish_workspace: Path, role: str, access: bool, expected: str
) -> None:
    local_aws.standin.configure(realism={"organization_role": role, "organizations_access": access})
    write_catalog(publish_workspace, catalog_yaml(["alpha"]))
    local_aws.standin.reset_stats()
    result = invoke(publish_workspace, "publish", "--yes")
    assert result.exit_code == 1, result.output
    assert "nothing written" in result.output and expected in result.output
    assert mutating(local_aws) == 0


def test_accounts_only_catalog_needs_no_organization_access(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    local_aws.standin.configure(
        realism={"organization_role": "standalone", "organizations_access": False}
    )
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False))
    publish(publish_workspace)
    converged(local_aws, publish_workspace)


def test_share_completed_with_errors_is_a_failure_with_the_share_errors(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    local_aws.standin.configure(realism={"failing_share_nodes": ["ou-abcd-11111111"]})
    write_catalog(publish_workspace, catalog_yaml(["alpha"]))
    result = invoke(publish_workspace, "publish", "--yes")
    assert result.exit_code == 1, result.output
    assert "share organizational_unit ou-abcd-11111111" in result.output
    assert "COMPLETED_WITH_ERRORS" in result.output


# --- the publish lock -------------------------------------------------------------------------


def leave_lock(aws: LocalAWS, holder: str, *, expires_in_s: float) -> None:
    now = time.time()
    record = LockRecord(
        holder=holder,
        run_id="run-1",
        acquired_at=format_time(now - 60),
        expires_at=format_time(now + expires_in_s),
        region=REGION,
    )
    aws.client("s3").put_object(Bucket=BUCKET, Key=lock_key(REGION), Body=record.body())


def test_a_held_lock_stops_publish_before_any_write_and_names_the_holder(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    write_catalog(publish_workspace, catalog_yaml(["alpha"]))
    leave_lock(local_aws, "pipeline main run 42", expires_in_s=600)
    local_aws.standin.reset_stats()
    result = invoke(publish_workspace, "publish", "--yes")
    assert result.exit_code == 1, result.output
    assert "nothing written" in result.output
    assert "pipeline main run 42" in result.output
    assert mutating(local_aws) == 0
    objects = local_aws.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert [o["Key"] for o in objects] == [lock_key(REGION)]  # no template uploaded either


def test_break_lock_then_publish_releases_the_lock(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    write_catalog(publish_workspace, catalog_yaml(["alpha"]))
    leave_lock(local_aws, "crashed run", expires_in_s=600)
    result = publish(publish_workspace, "--break-lock")
    assert "broke the publish lock of crashed run" in result.output
    keys = [o["Key"] for o in local_aws.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert lock_key(REGION) not in keys  # released after the run
    converged(local_aws, publish_workspace)


def test_plan_takes_no_lock(local_aws: LocalAWS, publish_workspace: Path) -> None:
    write_catalog(publish_workspace, catalog_yaml(["alpha"]))
    leave_lock(local_aws, "someone", expires_in_s=600)
    assert invoke(publish_workspace, "plan").exit_code == 2


# --- typed steps and stopping between them ----------------------------------------------------


def test_every_step_has_the_documented_json_shape(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    write_catalog(publish_workspace, catalog_yaml(["alpha", "beta"]))
    result = invoke(publish_workspace, "plan", "--output", "json")
    assert result.exit_code == 2
    regions = json.loads(result.output)
    assert [set(r) for r in regions] == [
        {"region", "changes", "warnings", "coverage_warnings", "failures", "error", "interrupted"}
    ]
    changes = regions[0]["changes"]
    assert changes and all(
        set(c) == {"action", "resource", "detail", "old", "new", "status", "error"} for c in changes
    )
    assert {c["status"] for c in changes} == {"pending"}
    assert {"action": "create", "resource": "portfolio studio"}.items() <= changes[0].items()


def test_step_types_are_frozen_and_describe_themselves() -> None:
    step = steps.CreateShare(
        portfolio="studio",
        share_type="ORGANIZATIONAL_UNIT",
        principal="ou-abcd-11111111",
        share_tag_options=True,
    )
    assert step.describe() == "share portfolio studio share organizational_unit ou-abcd-11111111"
    with pytest.raises(AttributeError):
        step.portfolio = "other"  # type: ignore[misc]
    names = {cls.__name__ for cls in steps.step_types()}
    assert {"CreatePortfolio", "DeletePortfolio", "DeleteShare", "RecordVersions"} <= names
    assert "Orphan" not in names  # informational: never applied


def test_stopping_between_steps_reports_the_rest_and_a_rerun_converges(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    root = publish_workspace
    write_catalog(root, catalog_yaml(["alpha", "beta"]))
    catalog, digests = load(root / "portfolios", "dev", root / "templates")
    clients = Clients.create(REGION)
    state, planned = plan_region(clients, catalog, digests)
    done: list[Any] = []
    outcome = apply_plan(
        clients,
        catalog,
        state,
        planned,
        bucket=BUCKET,
        on_step=done.append,
        should_stop=lambda: len(done) >= 3,
    )
    assert len(outcome.applied) == 3
    assert outcome.not_attempted == planned[3:]
    publish(root)
    converged(local_aws, root)


# --- preconditions before the first write (issue 9) -------------------------------------------


def run_cli(root: Path, command: str, *extra: str) -> Any:
    """Like support.invoke, but with the environment check on (no --skip-environment-check)."""
    from click.testing import CliRunner

    from factory.cli import cli

    args = [
        command,
        *("--env", "dev", "--region", REGION),
        *("--portfolios", str(root / "portfolios"), "--templates", str(root / "templates")),
        *extra,
    ]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def set_environment(root: Path, catalog_account: str, ou: str = "ou-ab12-34567890") -> None:
    (root / "portfolios/environments/dev.yaml").write_text(
        f'name: dev\naccounts:\n  catalog: "{catalog_account}"\n  workload: "210987654321"\n'
        f"values:\n  ml_workloads_ou: {ou}\n",
        encoding="utf-8",
    )


def nothing_written(aws: LocalAWS) -> None:
    assert mutating(aws) == 0
    assert not aws.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents")


def test_sample_placeholders_stop_publish_before_any_write(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False))
    local_aws.standin.reset_stats()
    result = run_cli(publish_workspace, "publish", "--yes", "--bucket", BUCKET)
    assert result.exit_code == 1, result.output
    assert "sample placeholder" in result.output and "accounts.catalog: '111111111111'" in (
        result.output
    )
    nothing_written(local_aws)


def test_credentials_of_another_account_stop_publish(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    set_environment(publish_workspace, "210987654322")
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False))
    local_aws.standin.reset_stats()
    result = run_cli(publish_workspace, "publish", "--yes", "--bucket", BUCKET)
    assert result.exit_code == 1, result.output
    assert "credentials are for account 123456789012" in result.output
    assert "accounts.catalog 210987654322" in result.output
    nothing_written(local_aws)


def test_a_clean_environment_in_the_right_account_publishes(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    set_environment(publish_workspace, "123456789012")
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False))
    result = run_cli(publish_workspace, "publish", "--yes", "--bucket", BUCKET)
    assert result.exit_code == 0, result.output
    assert "us-east-1: applied" in result.output


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("--bucket", "no-such-bucket"), "template bucket no-such-bucket does not exist"),
        ((), "SSM parameter /studio-catalog/bootstrap/template-bucket-name not found"),
    ],
)
def test_a_missing_bucket_or_bootstrap_stops_publish_before_any_write(
    local_aws: LocalAWS, publish_workspace: Path, extra: tuple[str, ...], expected: str
) -> None:
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False))
    local_aws.standin.reset_stats()
    result = invoke_without_bucket(publish_workspace, *extra)
    assert result.exit_code == 1, result.output
    assert expected in result.output and "deploy the bootstrap stack" in result.output
    nothing_written(local_aws)


def invoke_without_bucket(root: Path, *extra: str) -> Any:
    return run_cli(root, "publish", "--yes", "--skip-environment-check", *extra)


def test_a_bucket_in_another_region_is_refused(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    s3 = local_aws.client("s3")
    s3.create_bucket(
        Bucket="templates-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False))
    result = invoke_without_bucket(publish_workspace, "--bucket", "templates-eu")
    assert result.exit_code == 1, result.output
    assert "templates-eu is in eu-west-1, not us-east-1" in result.output


def test_a_hand_edited_generated_template_is_not_published(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    root = publish_workspace
    from tests.support.publish import ROOT

    edited = (ROOT / "templates/studio-user-profile.yaml").read_text(encoding="utf-8")
    (root / "templates/studio-user-profile.yaml").write_text(
        edited.replace("Description:", "Description: hand edit", 1), encoding="utf-8"
    )
    text = catalog_yaml(["alpha"], ou=False).replace(
        "template: alpha", "template: studio-user-profile"
    )
    write_catalog(root, text)
    local_aws.standin.reset_stats()
    result = invoke_without_bucket(root, "--bucket", BUCKET)
    assert result.exit_code == 1, result.output
    assert "differs from what the generators emit" in result.output
    nothing_written(local_aws)


def test_a_corrupt_custom_template_is_not_published(
    local_aws: LocalAWS, publish_workspace: Path
) -> None:
    (publish_workspace / "templates/alpha.yaml").write_text("Resources: [", encoding="utf-8")
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False))
    local_aws.standin.reset_stats()
    result = invoke_without_bucket(publish_workspace, "--bucket", BUCKET)
    assert result.exit_code == 1, result.output
    assert "alpha.yaml: not a CloudFormation template" in result.output
    nothing_written(local_aws)


def test_a_plan_beyond_a_quota_stops_before_any_write(
    local_aws: LocalAWS, publish_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factory.publish import preconditions

    monkeypatch.setattr(preconditions, "PRODUCTS_PER_PORTFOLIO", 2)
    monkeypatch.setattr(preconditions, "PRODUCTS_PER_REGION", 2)
    write_catalog(publish_workspace, catalog_yaml(["alpha", "beta", "gamma"], ou=False))
    local_aws.standin.reset_stats()
    result = invoke_without_bucket(publish_workspace, "--bucket", BUCKET)
    assert result.exit_code == 1, result.output
    assert "portfolio studio: 3 products, the quota is 2" in result.output
    assert "the region would hold 3 products (now 0), the quota is 2" in result.output
    nothing_written(local_aws)
    result = invoke_without_bucket(publish_workspace, "--bucket", BUCKET, "--skip-quota-check")
    assert result.exit_code == 0, result.output


def test_nothing_listening_fails_in_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.publish import make_workspace

    root = make_workspace(tmp_path)
    write_catalog(root, catalog_yaml(["alpha"], ou=False))
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SERVICE_CATALOG"):
        monkeypatch.delenv(name, raising=False)  # the CLI sets AWS_ENDPOINT_URL: restored after
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    started = time.monotonic()
    result = run_cli(root, "plan", "--endpoint-url", "http://127.0.0.1:9", "--bucket", BUCKET)
    assert result.exit_code == 1, result.output
    assert "cannot connect to http://127.0.0.1:9" in result.output
    assert time.monotonic() - started < 10


# --- Ctrl-C ------------------------------------------------------------------------------------


def test_ctrl_c_stops_between_changes_lists_the_rest_and_exits_130(
    local_aws: LocalAWS, publish_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    from factory.publish import run as run_module

    real_apply = run_module.apply_plan

    def apply_and_press_ctrl_c(*args: Any, **kwargs: Any) -> Any:
        seen: list[Any] = []
        inner = kwargs["on_step"]

        def on_step(step: Any) -> None:
            inner(step)
            seen.append(step)
            if len(seen) == 3:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.5)  # the main thread runs the handler

        return real_apply(*args, **{**kwargs, "on_step": on_step})

    monkeypatch.setattr(run_module, "apply_plan", apply_and_press_ctrl_c)
    write_catalog(publish_workspace, catalog_yaml(["alpha", "beta"]))
    result = invoke(publish_workspace, "publish", "--yes")
    assert result.exit_code == 130, result.output
    assert "stopped after 3 of" in result.output
    assert "[not attempted]" in result.output
    monkeypatch.setattr(run_module, "apply_plan", real_apply)
    publish(publish_workspace)
    converged(local_aws, publish_workspace)


def test_a_create_invisible_longer_than_reads_retry_is_not_created_twice(
    local_aws: LocalAWS, publish_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creates stay invisible longer than the ordinary not-found retries (scaled down: 0.05 s
    of retries, a 0.5 s window): the check of a create's answer must wait longer, not create
    again with a new token (which left three live portfolios with one id tag)."""
    from factory.publish import context

    monkeypatch.setattr(context, "NOT_FOUND_DELAYS_S", (0.05,))
    monkeypatch.setattr(context, "CREATE_CHECK_DELAYS_S", (0.1, 0.2, 0.4, 0.8))
    local_aws.standin.configure(realism={"not_found_window_s": 0.5})
    write_catalog(publish_workspace, catalog_yaml(["alpha"], ou=False, portfolio_tag_options=False))
    publish(publish_workspace)
    assert len(region(local_aws).portfolios) == 1
    assert len(region(local_aws).products) == 1
    converged(local_aws, publish_workspace)
