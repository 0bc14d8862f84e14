"""The rollout plan: a pure function of the desired targets and the live StackSet.

Desired instances are every account the portfolios reach x every region: the accounts of the
shared OUs (and their child OUs) and of a shared organization (through its root), the accounts
shared one by one and the catalog account. Service-managed StackSets reach a single account
through its parent OU with AccountFilterType INTERSECTION, and never the management account
("StackSets doesn't deploy stack instances to the organization management account", User
Guide, "Create a stack set with service-managed permissions"): it is reported as a gap to
deploy by hand.

Steps, in order: create the StackSet; update it (template digest, parameters, automatic
deployment, roles); create the missing instances; retry failed ones; delete the instances no
longer reached. Instances are grouped by the set of regions they need, so a first rollout or
a new account is one operation, not one per account.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from factory.aws import short_hash
from factory.rollout.state import Instance, LiveStackSet, Organization
from factory.rollout.steps import (
    CreateInstances,
    CreateStackSet,
    DeleteInstances,
    Group,
    RetryInstances,
    Step,
    UpdateStackSet,
    auto_deployment,
)
from factory.rollout.targets import Settings, Targets


@dataclass
class Desired:
    #: account -> the OU (or root, or parent OU) that reaches it ("" for self-managed)
    accounts: dict[str, str] = field(default_factory=dict)
    #: accounts reached one by one (service-managed: through their parent OU, INTERSECTION)
    single: set[str] = field(default_factory=set)
    #: accounts the StackSet cannot reach, with why
    unreachable: dict[str, str] = field(default_factory=dict)
    regions: tuple[str, ...] = ()

    def instances(self) -> dict[tuple[str, str], str]:
        return {(a, r): ou for a, ou in self.accounts.items() for r in self.regions}


@dataclass
class Plan:
    steps: list[Step]
    desired: Desired
    live: LiveStackSet
    warnings: list[str] = field(default_factory=list)
    blocked: list[Blocker] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return bool(self.steps)


def desired(targets: Targets, org: Organization, settings: Settings) -> Desired:
    result = Desired(regions=targets.regions)
    for ou in [*targets.ous, *org.roots.values()]:
        if ou not in org.ou_accounts:
            result.unreachable[ou] = "OU not read from AWS Organizations"
        for account in org.ou_accounts.get(ou, []):
            result.accounts.setdefault(account, ou if settings.service_managed else "")
    for account in targets.accounts:
        if account in result.accounts:
            continue
        if not settings.service_managed:
            result.accounts[account] = ""
        elif account == org.management:
            continue  # reported below
        elif org.parents.get(account):
            result.accounts[account] = org.parents[account]
            result.single.add(account)
        else:
            result.unreachable[account] = "not an account of the organization"
    if settings.service_managed and org.management:
        reached = org.management in result.accounts or org.management in targets.accounts
        result.accounts.pop(org.management, None)
        if reached:
            result.unreachable[org.management] = (
                "the management account: service-managed StackSets never deploy there; "
                "deploy launch/studio-catalog-bootstrap.yaml with aws cloudformation deploy"
            )
    return result


def plan(
    settings: Settings, targets: Targets, org: Organization, live: LiveStackSet, digest: str
) -> Plan:
    want = desired(targets, org, settings)
    blocked = blockers(settings, live)
    if blocked:  # nothing else is planned: every later step assumes the new model
        return Plan([], want, live, blocked=blocked)
    steps: list[Step] = []
    updating = False
    if not live.exists:
        steps.append(_create_stack_set(settings, digest))
    else:
        update = _update_stack_set(settings, live, digest)
        if update is not None:
            steps.append(update)
            updating = True
    instances = want.instances()
    missing = {key: ou for key, ou in instances.items() if key not in live.instances}
    steps += _groups(CreateInstances, settings, missing, want, live, "create")
    if not updating:  # an update re-deploys every instance, failed ones included
        failed = {k: ou for k, ou in instances.items() if k in live.instances and _failed(live, k)}
        steps += _groups(RetryInstances, settings, failed, want, live, "retry")
    extra = {k: i.ou for k, i in live.instances.items() if k not in instances}
    steps += _groups(DeleteInstances, settings, extra, want, live, "delete")
    warnings = [f"{what}: {why}" for what, why in sorted(want.unreachable.items())]
    if live.running:
        warnings.append(f"operation {live.running} is running; deploy waits for it first")
    return Plan(steps, want, live, warnings)


def _model_changes(settings: Settings, live: LiveStackSet) -> bool:
    return bool(live.permission_model) and live.permission_model != settings.permission_model


def blockers(settings: Settings, live: LiveStackSet) -> list[Blocker]:
    """What no plan can do. "You cannot modify PermissionModel if there are stack instances
    associated with your stack set" (botocore's cloudformation model,
    UpdateStackSetInput.PermissionModel). A second StackSet beside the first cannot help:
    the bootstrap's named roles and SSM parameters exist once per account and region. The
    way over keeps every stack: detach the instances (DeleteStackInstances with
    RetainStacks), then import the stacks into a StackSet of the new model
    (ImportStacksToStackSet); the README gives the commands."""
    if not (_model_changes(settings, live) and live.instances):
        return []
    return [
        Blocker(
            field="bootstrap.permission_model",
            what=(
                f"StackSet {settings.name} is {live.permission_model} with "
                f"{len(live.instances)} stack instance(s); CloudFormation cannot change the "
                f"permission model of a StackSet that has instances"
            ),
            fix=(
                f"keep permission_model: {live.permission_model}, or move the stacks to "
                f"{settings.permission_model} as the README's 'Changing the permission "
                "model' shows (retain the stacks, then import them into a new StackSet)"
            ),
        )
    ]


@dataclass(frozen=True)
class Blocker:
    """A change the plan cannot make; the commands that write refuse, naming the fix."""

    field: str
    what: str
    fix: str


def _failed(live: LiveStackSet, key: tuple[str, str]) -> bool:
    return live.instances[key].failed


def token(settings: Settings, *parts: Any) -> str:
    """A deterministic OperationId (pattern [a-zA-Z0-9][-a-zA-Z0-9]*, at most 128)."""
    return "studio-" + short_hash(settings.name, *parts, length=40)


_token = token


def _create_stack_set(settings: Settings, digest: str) -> Step:
    return CreateStackSet(
        settings=settings,
        operation_id=_token(settings, "create-stack-set", digest, settings.template_values()),
        detail=f"{settings.permission_model}, template {digest[:12]}",
        new={"parameters": settings.template_values(), "template": digest},
    )


def _update_stack_set(settings: Settings, live: LiveStackSet, digest: str) -> Step | None:
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key, value in settings.template_values().items():
        # a parameter the StackSet does not list has its template default (Parameter doc)
        have = live.parameters.get(key, settings.defaults.get(key))
        if have != value:
            label = f"parameter {key}" + ("" if key in settings.parameters else " (default)")
            old[label], new[label] = have, value
    if live.digest != digest:
        old["template"], new["template"] = live.digest or None, digest
    if settings.service_managed and live.auto_deployment != auto_deployment(settings):
        old["auto_deployment"], new["auto_deployment"] = (
            live.auto_deployment,
            auto_deployment(settings),
        )
    if _model_changes(settings, live):
        old["permission_model"], new["permission_model"] = (
            live.permission_model,
            settings.permission_model,
        )
    if not new:
        return None
    lasts = sorted({i.last_operation for i in live.instances.values()})
    return UpdateStackSet(
        settings=settings,
        operation_id=_token(settings, "update-stack-set", new, lasts),
        detail=", ".join(sorted(new)),
        old=old,
        new=new,
        new_template="template" in new,
    )


def _groups(
    kind: type[CreateInstances] | type[RetryInstances] | type[DeleteInstances],
    settings: Settings,
    chosen: dict[tuple[str, str], str],
    want: Desired,
    live: LiveStackSet,
    verb: str,
) -> list[Step]:
    """One step per set of regions: accounts that need the same regions share an operation."""
    regions_of: dict[str, list[str]] = defaultdict(list)
    ou_of: dict[str, str] = {}
    for (account, region), ou in sorted(chosen.items()):
        regions_of[account].append(region)
        ou_of[account] = ou
    # accounts reached one by one never share an operation with whole OUs, whose targets
    # stay plain OUs (automatic deployment then covers accounts that join them)
    by_regions: dict[tuple[tuple[str, ...], bool], list[str]] = defaultdict(list)
    for account, regions in regions_of.items():
        by_regions[(_ordered(regions, want.regions), account in want.single)].append(account)
    steps: list[Step] = []
    for (regions, _), accounts in sorted(by_regions.items()):
        group = _group(settings, regions, sorted(accounts), ou_of, want, live, verb)
        lasts = sorted(
            live.instances[(a, r)].last_operation
            for a in accounts
            for r in regions
            if (a, r) in live.instances
        )
        steps.append(
            kind(
                settings=settings,
                group=group,
                operation_id=_token(settings, kind.action, group, lasts),
                detail=f"{len(accounts)} account(s) x {', '.join(regions)}",
                new=group.instances() if verb != "delete" else None,
                old=group.instances() if verb == "delete" else None,
            )
        )
    return steps


def _ordered(regions: list[str], order: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(regions, key=lambda r: (order.index(r) if r in order else len(order), r)))


def _group(
    settings: Settings,
    regions: tuple[str, ...],
    accounts: list[str],
    ou_of: dict[str, str],
    want: Desired,
    live: LiveStackSet,
    verb: str,
) -> Group:
    if not settings.service_managed:
        return Group(regions=regions, accounts=tuple(accounts))
    ous = tuple(sorted({ou_of[a] for a in accounts}))
    # Every account of these OUs, as far as this operation is concerned: then the OUs
    # themselves are the target (no filter), else only the chosen accounts (INTERSECTION).
    if verb == "delete":
        members = {i.account for i in live.instances.values() if i.ou in ous}
        whole = members <= set(accounts) and not any(o in want.accounts.values() for o in ous)
    else:
        members = {a for a, ou in want.accounts.items() if ou in ous}
        whole = members <= set(accounts) and not (set(accounts) & want.single)
    if whole:
        return Group(regions=regions, accounts=tuple(accounts), ous=ous)
    return Group(regions=regions, accounts=tuple(accounts), ous=ous, account_filter="INTERSECTION")


def instance_rows(live: LiveStackSet) -> list[Instance]:
    return [live.instances[key] for key in sorted(live.instances)]
