"""The bootstrap coverage check after a plan (factory/publish/coverage.py, issue 13): a share to
an OU or an account whose accounts have no bootstrap stack instance is a warning (never an
error), gone once ``bootstrap deploy`` ran; a check that cannot run is one warning."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from factory.cli import cli
from factory.testing.local_aws import LocalAWS
from factory.testing.recorder import OperationRecorder
from tests.rollout.support import (
    REGIONS,
    Org,
    add_account,
    make_org,
    rollout,
    workspace,
    write_environment,
)
from tests.support import publish as _publish  # noqa: F401  (adds plan/publish to the CLI)

FIX = "run studio-factory bootstrap deploy --env dev"


@pytest.fixture
def org(local_aws: LocalAWS) -> Org:
    return make_org(local_aws)


@pytest.fixture
def root(tmp_path: Path, local_aws: LocalAWS, org: Org) -> Path:
    """Portfolio `studio` shared with OUs a and b and the workload account, regions
    us-east-1 (the StackSet's administration region) and eu-west-1."""
    return workspace(tmp_path, local_aws, org)


def plan(root: Path, *extra: str) -> Any:
    args = ["plan", "--env", "dev", "--portfolios", str(root / "portfolios")]
    args += ["--templates", str(root / "templates"), *extra]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output  # nothing published yet: changes pending
    return result


def warnings(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def test_share_to_accounts_without_instances_warns_per_target(root: Path, org: Org) -> None:
    write_environment(root, org, regions=("us-east-1",))
    assert not rollout(root, apply=True).failed  # instances in us-east-1 only
    write_environment(root, org)  # the catalog is published to eu-west-1 too
    result = plan(root)
    found = warnings(result)
    a, b = org.accounts["a"], org.accounts["b"]
    assert found == [
        f"warning: share to {org.ous['a']} in eu-west-1 reaches accounts without the bootstrap "
        f"stack ({', '.join(a)}): nobody can launch the products there; {FIX}",
        f"warning: share to {org.ous['b']} in eu-west-1 reaches accounts without the bootstrap "
        f"stack ({', '.join(b)}): nobody can launch the products there; {FIX}",
        f"warning: share to {org.workload} in eu-west-1 reaches accounts without the bootstrap "
        f"stack ({org.workload}): nobody can launch the products there; {FIX}",
    ]


def test_a_new_account_in_a_shared_ou_warns_until_bootstrap_deploy(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    """Without automatic deployment (with it, StackSets deploys to the newcomer itself:
    tests/rollout)."""
    write_environment(root, org, "bootstrap:\n  auto_deployment: false\n")
    assert not rollout(root, apply=True).failed
    assert warnings(plan(root)) == []
    newcomer = add_account(local_aws, org.ous["a"], "a-new")
    found = warnings(plan(root))
    assert len(found) == 2  # one per region, only for OU a
    assert all(f"share to {org.ous['a']} in " in w and f"({newcomer})" in w for w in found)
    assert not rollout(root, apply=True).failed  # bootstrap deploy
    assert warnings(plan(root)) == []


def test_no_stack_set_is_one_cannot_check_warning(root: Path) -> None:
    result = plan(root)
    assert result.exit_code == 2  # unchanged: a warning, not an error
    found = warnings(result)
    assert len(found) == 1, found
    assert "cannot check the bootstrap coverage" in found[0]
    assert "no StackSet studio-catalog-bootstrap in us-east-1" in found[0]
    assert "studio-factory bootstrap status --env dev" in found[0]


def test_access_denied_is_one_cannot_check_warning(
    root: Path, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from factory.publish import coverage

    def denied(self: Any, region: str) -> Any:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
        raise coverage.Unavailable(self._why(ClientError(error, "ListStackInstances")))

    monkeypatch.setattr(coverage.Coverage, "instances", denied)
    found = warnings(plan(root))
    assert len(found) == 1 and "AccessDeniedException: not authorized" in found[0]
    assert "management account or a delegated administrator" in found[0]


def test_json_carries_the_warnings_per_region(root: Path, org: Org) -> None:
    write_environment(root, org, regions=("us-east-1",))
    assert not rollout(root, apply=True).failed
    write_environment(root, org)
    data = json.loads(plan(root, "--output", "json").stdout)
    by_region = {r["region"]: r["coverage_warnings"] for r in data}
    assert by_region["us-east-1"] == []
    assert len(by_region["eu-west-1"]) == 3
    assert all(w.startswith("share to ") for w in by_region["eu-west-1"])


def _operations(recorder: OperationRecorder) -> Counter[tuple[str, str]]:
    return Counter(call.key for call in recorder.calls)


def test_the_check_costs_one_list_stack_instances_per_region(root: Path, org: Org) -> None:
    assert not rollout(root, apply=True).failed
    with OperationRecorder() as recorder:
        plan(root)
    calls = _operations(recorder)
    cfn = {op: n for (service, op), n in calls.items() if service == "cloudformation"}
    assert cfn == {"ListStackInstances": len(REGIONS)}
    listed = [c for c in recorder.calls if c.operation == "ListStackInstances"]
    assert sorted(c.params["StackInstanceRegion"] for c in listed) == sorted(REGIONS)
    assert {c.params["CallAs"] for c in listed} == {"SELF"}
    assert {c.region for c in listed} == {"us-east-1"}  # the StackSet's administration region
    # Organizations: read once for both regions (2 OUs: accounts + child OUs each)
    assert calls[("organizations", "DescribeOrganization")] == 1
    assert calls[("organizations", "ListAccountsForParent")] == 2


def test_skip_coverage_check_makes_no_cloudformation_call(root: Path, org: Org) -> None:
    assert not rollout(root, apply=True).failed
    with OperationRecorder() as recorder:
        result = plan(root, "--skip-coverage-check")
    services = {service for service, _ in _operations(recorder)}
    assert not services & {"cloudformation", "organizations"}, services
    assert warnings(result) == []


def test_the_admin_region_of_the_environment_is_where_the_check_looks(root: Path, org: Org) -> None:
    """The StackSet lives in us-east-1 while the environment lists eu-west-1 first:
    `bootstrap.admin_region` sends the check (and `bootstrap`) there."""
    flipped = tuple(reversed(REGIONS))
    write_environment(root, org, regions=flipped)
    assert not rollout(root, apply=True).failed  # the helper deploys from us-east-1
    lost = warnings(plan(root))
    assert len(lost) == 1 and f"no StackSet studio-catalog-bootstrap in {flipped[0]}" in lost[0]
    write_environment(root, org, "bootstrap:\n  admin_region: us-east-1\n", regions=flipped)
    assert warnings(plan(root)) == []
