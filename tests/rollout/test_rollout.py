"""The rollout against local AWS (moto with factory.testing.stacksets): first rollout to two
OUs x two regions, a no-op re-run, an account added to an OU, a parameter change, a failed
instance then a re-run, an operation in progress."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from factory.rollout import apply as apply_module
from factory.testing.local_aws import LocalAWS
from factory.testing.stacksets import BEHAVIOUR
from tests.rollout.support import (
    ADMIN_REGION,
    MANAGEMENT,
    REGIONS,
    Org,
    add_account,
    instances,
    make_org,
    rollout,
    workspace,
    write_environment,
)
from tests.support.clock import FakeClock


@pytest.fixture
def org(local_aws: LocalAWS) -> Org:
    return make_org(local_aws)


@pytest.fixture
def root(tmp_path: Path, local_aws: LocalAWS, org: Org) -> Path:
    return workspace(tmp_path, local_aws, org)


def reached(org: Org) -> set[str]:
    return {*org.accounts["a"], *org.accounts["b"], org.workload}


def _stopped_clock() -> FakeClock:
    """The StackSets stand-in's time from now on, moved only by the code's sleeps (``advance``):
    an operation stays RUNNING until they have waited it out, however slow the machine is.
    The next test's ``local_aws`` puts real time back (``BEHAVIOUR.reset()``, tests/conftest.py)."""
    clock = FakeClock()
    clock.now = time.monotonic()  # no step back for the operations already recorded
    BEHAVIOUR.clock = clock
    return clock


def test_first_rollout_creates_the_stack_set_and_every_instance(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    plan = rollout(root, apply=False).plan
    actions = [step.action for step in plan.steps]
    assert actions == ["create-stack-set", "create-instances", "create-instances"]
    ous = plan.steps[1].group  # type: ignore[attr-defined]
    assert ous.ous == tuple(sorted([org.ous["a"], org.ous["b"]]))
    assert ous.account_filter == "NONE"  # whole OUs: automatic deployment keeps them
    single = plan.steps[2].group  # type: ignore[attr-defined]
    assert (single.accounts, single.ous, single.account_filter) == (
        (org.workload,),
        (org.ous["other"],),
        "INTERSECTION",
    )
    assert any(MANAGEMENT in w and "management account" in w for w in plan.warnings)

    result = rollout(root, apply=True)
    assert result.outcome is not None and not result.failed
    assert {(r.account, r.region) for r in result.outcome.rows} == {
        (a, r) for a in reached(org) for r in REGIONS
    }
    live = instances(local_aws)
    assert set(live) == {(a, r) for a in reached(org) for r in REGIONS}
    assert {s["Status"] for s in live.values()} == {"CURRENT"}
    cfn = local_aws.client("cloudformation", region=ADMIN_REGION)
    stack_set = cfn.describe_stack_set(StackSetName="studio-catalog-bootstrap")["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert {"ParameterKey": "LaunchRoleName", "ParameterValue": "StudioCatalogLaunchRole"} in (
        stack_set["Parameters"]
    )
    key = result.template_url.split("/", 3)[3]  # type: ignore[union-attr]
    assert key.startswith("studio-catalog-bootstrap/") and key.endswith(".yaml")


def test_a_re_run_with_nothing_changed_writes_nothing(root: Path) -> None:
    rollout(root, apply=True)
    again = rollout(root, apply=True)
    assert again.plan.steps == [] and again.outcome is None
    assert again.writes == 0


def test_automatic_deployment_follows_accounts_that_join_or_leave_a_shared_ou(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    """Service-managed with automatic deployment (the default): StackSets itself deploys to
    an account that joins a target OU and removes the instances of one that leaves; the next
    plan has nothing to do and status is healthy."""
    rollout(root, apply=True)
    new = add_account(local_aws, org.ous["a"], "a-new")
    after_join = rollout(root, apply=False)
    assert after_join.plan.steps == []
    assert {(new, r) for r in REGIONS} <= set(instances(local_aws))
    assert {instances(local_aws)[(new, r)]["Status"] for r in REGIONS} == {"CURRENT"}

    local_aws.client("organizations").move_account(
        AccountId=new, SourceParentId=org.ous["a"], DestinationParentId=org.root
    )
    assert rollout(root, apply=False).plan.steps == []
    assert not {(new, r) for r in REGIONS} & set(instances(local_aws))


def test_without_automatic_deployment_a_re_run_deploys_an_account_that_joined(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    write_environment(root, org, "bootstrap:\n  auto_deployment: false\n")
    rollout(root, apply=True)
    new = add_account(local_aws, org.ous["a"], "a-new")
    plan = rollout(root, apply=False).plan
    assert [step.action for step in plan.steps] == ["create-instances"]
    group = plan.steps[0].group  # type: ignore[attr-defined]
    assert (group.accounts, group.account_filter) == ((new,), "INTERSECTION")
    assert group.regions == REGIONS
    result = rollout(root, apply=True)
    assert not result.failed and result.writes == 1
    assert {(new, r) for r in REGIONS} <= set(instances(local_aws))


def test_an_account_joining_the_ou_of_a_single_shared_account_is_planned_out(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    """The worst case the stand-in models (the service does not say): the OU through which
    one account is reached (INTERSECTION) is an automatic-deployment target too, so an
    account no portfolio reaches gets the bootstrap; the plan names it and deletes it."""
    rollout(root, apply=True)
    stray = add_account(local_aws, org.ous["other"], "other-new")
    plan = rollout(root, apply=False).plan
    assert [step.action for step in plan.steps] == ["delete-instances"]
    group = plan.steps[0].group  # type: ignore[attr-defined]
    assert (group.accounts, group.account_filter) == ((stray,), "INTERSECTION")
    assert not rollout(root, apply=True).failed
    assert not {a for a, _ in instances(local_aws)} & {stray}
    assert rollout(root, apply=False).plan.steps == []


def test_a_parameter_change_is_one_update_operation(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    rollout(root, apply=True)
    write_environment(root, org, "bootstrap:\n  parameters:\n    LaunchRoleName: OtherRole\n")
    plan = rollout(root, apply=False).plan
    assert [step.action for step in plan.steps] == ["update-stack-set"]
    assert plan.steps[0].old == {"parameter LaunchRoleName": "StudioCatalogLaunchRole"}
    assert plan.steps[0].new == {"parameter LaunchRoleName": "OtherRole"}
    result = rollout(root, apply=True)
    assert not result.failed and result.writes == 1
    assert len(result.outcome.rows) == 2 * len(reached(org))  # type: ignore[union-attr]
    assert rollout(root, apply=False).plan.steps == []


def test_a_failed_instance_is_reported_then_retried_by_a_re_run(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    broken = (org.accounts["b"][1], "eu-west-1")
    BEHAVIOUR.failures[broken] = "Account has no AWSCloudFormationStackSetExecutionRole"
    result = rollout(root, apply=True)
    assert result.failed
    failed = [s for s in result.outcome.steps if s.status == "failed"]  # type: ignore[union-attr]
    assert len(failed) == 1 and "AWSCloudFormationStackSetExecutionRole" in str(failed[0].error)
    rows = {(r.account, r.region): r for r in result.outcome.rows}  # type: ignore[union-attr]
    assert rows[broken].status == "FAILED"
    assert instances(local_aws)[broken]["Status"] == "OUTDATED"

    BEHAVIOUR.failures.clear()
    plan = rollout(root, apply=False).plan
    assert [step.action for step in plan.steps] == ["retry-instances"]
    assert plan.steps[0].group.accounts == (broken[0],)  # type: ignore[attr-defined]
    assert not rollout(root, apply=True).failed
    assert instances(local_aws)[broken]["Status"] == "CURRENT"
    assert rollout(root, apply=False).plan.steps == []


def test_a_running_operation_is_waited_for_then_the_run_continues(
    root: Path, org: Org, local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _stopped_clock()
    rollout(root, apply=True)
    started = clock.now
    monkeypatch.setattr(apply_module, "POLL_DELAYS_S", (0.05,))
    BEHAVIOUR.operation_s = 1.0
    cfn = local_aws.client("cloudformation", region=ADMIN_REGION)
    other = cfn.update_stack_set(
        StackSetName="studio-catalog-bootstrap", UsePreviousTemplate=True, OperationId="theirs"
    )["OperationId"]
    write_environment(root, org, "bootstrap:\n  parameters:\n    LaunchRoleName: OtherRole\n")
    result = rollout(root, apply=True, sleep=clock.advance)
    assert result.waited_for == [other]
    assert clock.now - started >= 1.0  # it waited the operation out, polling
    assert not result.failed
    assert rollout(root, apply=False).plan.steps == []


def test_a_conflicting_write_waits_and_is_sent_again(
    root: Path, org: Org, local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OperationInProgressException at the write itself (another operation started after the
    plan was read): the write waits for it, then goes through with the same OperationId."""
    rollout(root, apply=True)
    from factory.portfolio import load_catalog
    from factory.rollout.apply import Context
    from factory.rollout.run import Clients
    from factory.rollout.targets import settings

    catalog = load_catalog(root / "portfolios", "dev", root / "templates")
    clock = _stopped_clock()
    ctx = Context(Clients.create(ADMIN_REGION).cfn, settings(catalog, REGIONS), sleep=clock.advance)
    monkeypatch.setattr(apply_module, "POLL_DELAYS_S", (0.05,))
    BEHAVIOUR.operation_s = 0.5
    cfn = local_aws.client("cloudformation", region=ADMIN_REGION)
    cfn.update_stack_set(
        StackSetName="studio-catalog-bootstrap", UsePreviousTemplate=True, OperationId="theirs"
    )
    ours = ctx.operation(
        ctx.cfn.update_stack_set,
        StackSetName="studio-catalog-bootstrap",
        UsePreviousTemplate=True,
        OperationId="ours",
        CallAs="SELF",
    )
    assert ours == "ours" and ctx.waited_for == ["theirs"]
    assert ctx.follow("ours") == "SUCCEEDED"
    # the same request again (a retried call): followed, not started twice
    again = ctx.operation(
        ctx.cfn.update_stack_set,
        StackSetName="studio-catalog-bootstrap",
        UsePreviousTemplate=True,
        OperationId="ours",
        CallAs="SELF",
    )
    assert again == "ours"


def test_self_managed_targets_accounts(root: Path, org: Org, local_aws: LocalAWS) -> None:
    write_environment(root, org, "bootstrap:\n  permission_model: SELF_MANAGED\n")
    plan = rollout(root, apply=False).plan
    creates = [s for s in plan.steps if s.action == "create-instances"]
    accounts = {a for s in creates for a in s.group.accounts}  # type: ignore[attr-defined]
    assert accounts == reached(org) | {MANAGEMENT}  # self-managed reaches the catalog account
    assert creates[0].group.targets(plan.steps[0].settings) == {  # type: ignore[attr-defined]
        "Accounts": list(creates[0].group.accounts)  # type: ignore[attr-defined]
    }
    result = rollout(root, apply=True)
    assert not result.failed
    cfn = local_aws.client("cloudformation", region=ADMIN_REGION)
    stack_set = cfn.describe_stack_set(StackSetName="studio-catalog-bootstrap")["StackSet"]
    assert stack_set["AdministrationRoleARN"].endswith(
        ":role/AWSCloudFormationStackSetAdministrationRole"
    )
    assert stack_set["ExecutionRoleName"] == "AWSCloudFormationStackSetExecutionRole"


def test_a_removed_ou_has_its_instances_deleted(root: Path, org: Org, local_aws: LocalAWS) -> None:
    rollout(root, apply=True)
    catalog = root / "portfolios/catalog.yaml"
    text = catalog.read_text().replace(
        '        - type: ORGANIZATIONAL_UNIT\n          value: "{{ env.ou_b }}"\n', ""
    )
    catalog.write_text(text)
    plan = rollout(root, apply=False).plan
    assert [s.action for s in plan.steps] == ["delete-instances"]
    group = plan.steps[0].group  # type: ignore[attr-defined]
    assert (group.ous, group.account_filter) == ((org.ous["b"],), "NONE")
    assert not rollout(root, apply=True).failed
    assert not {a for a, _ in instances(local_aws)} & set(org.accounts["b"])


def test_a_parameter_removed_from_the_environment_is_reset_to_its_default(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    pattern = "arn:aws:iam::*:role/Admin*"
    write_environment(
        root,
        org,
        f"bootstrap:\n  parameters:\n    CloudAdminPrincipalArnPattern: '{pattern}'\n",
    )
    rollout(root, apply=True)
    write_environment(root, org)
    plan = rollout(root, apply=False).plan
    assert [step.action for step in plan.steps] == ["update-stack-set"]
    label = "parameter CloudAdminPrincipalArnPattern (default)"
    assert (plan.steps[0].old, plan.steps[0].new) == ({label: pattern}, {label: ""})
    assert not rollout(root, apply=True).failed
    cfn = local_aws.client("cloudformation", region=ADMIN_REGION)
    stack_set = cfn.describe_stack_set(StackSetName="studio-catalog-bootstrap")["StackSet"]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["Parameters"]}
    assert values == {
        "CloudAdminPrincipalArnPattern": "",
        "LaunchRoleName": "StudioCatalogLaunchRole",
    }
    assert rollout(root, apply=False).plan.steps == []


def test_a_permission_model_change_with_instances_is_refused_before_any_write(
    root: Path, org: Org, local_aws: LocalAWS
) -> None:
    from factory.rollout.run import RolloutError

    rollout(root, apply=True)
    write_environment(root, org, "bootstrap:\n  permission_model: SELF_MANAGED\n")
    plan = rollout(root, apply=False).plan
    assert plan.steps == [] and len(plan.blocked) == 1
    assert plan.blocked[0].field == "bootstrap.permission_model"
    before = instances(local_aws)
    with pytest.raises(RolloutError) as refused:
        rollout(root, apply=True)
    assert "cannot change the permission model" in refused.value.what
    assert "import" in refused.value.fix
    assert instances(local_aws) == before
