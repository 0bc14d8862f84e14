"""Bootstrap coverage of the shares (issue 13): a portfolio shared to an account or an OU is
useless there until each account has the bootstrap stack (the launch role named by
LocalRoleName, its boundary, the drain function, the SSM parameters).

After the plan of a region, every share target of the catalog (accounts, OUs, organizations:
the rollout's target resolution, factory.rollout.targets) is compared with the bootstrap
StackSet's stack instances in that region. Read only, never an error:

* one paged ListStackInstances per region (botocore's paginator, ``StackInstanceRegion``,
  ``CallAs`` from the environment's ``bootstrap:`` section), in the StackSet's administration
  region: ``bootstrap.admin_region``, else the environment's first region, as
  ``studio-factory bootstrap`` defaults to;
* for OU and organization shares, the accounts below them from AWS Organizations (the
  rollout's reader, factory.rollout.state.read_organization: DescribeOrganization, ListRoots,
  ListAccountsForParent, ListOrganizationalUnitsForParent), read once per run.

A check that cannot run (no StackSet yet, access denied, neither management account nor
delegated administrator) gives ONE warning saying why and how to look (``bootstrap status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from factory import aws
from factory.portfolio import Catalog
from factory.rollout.state import Instance, Organization, read_organization
from factory.rollout.targets import Settings, Targets, settings, targets

#: The one `--output json` key per region (README, "Publishing").
JSON_KEY = "coverage_warnings"
#: What the StackSet answers when it does not exist (botocore cloudformation model).
NOT_FOUND = "StackSetNotFoundException"


@dataclass
class _Clients:
    cfn: BaseClient
    org: BaseClient


class Unavailable(Exception):
    """The check cannot run: the reason, already worded for the user."""


@dataclass
class Coverage:
    """One run's check: the StackSet settings, the share targets, the Organizations view
    (read at most once) and the calls made."""

    catalog: Catalog
    regions: Sequence[str]
    profile: str | None = None
    wanted: Settings = field(init=False)
    reach: Targets = field(init=False)
    admin_region: str = field(init=False)
    calls: int = 0
    _clients: _Clients | None = None
    _org: Organization | None = None
    _org_problem: str = ""

    def __post_init__(self) -> None:
        environment = self.catalog.environment
        section = environment.bootstrap
        self.admin_region = (section and section.admin_region) or (
            list(environment.regions) or list(self.regions)
        )[0]
        self.wanted = settings(self.catalog, self.regions)
        self.reach = share_targets(self.catalog, self.regions)

    @property
    def env(self) -> str:
        return self.catalog.environment_file.stem

    def clients(self) -> _Clients:
        if self._clients is None:
            cfn, org = aws.clients(
                self.admin_region, self.profile, "cloudformation", "organizations"
            )
            self._clients = _Clients(
                cfn=cfn,
                org=org,
            )
            for client in (self._clients.cfn, self._clients.org):
                client.meta.events.register("before-call", self._count)
        return self._clients

    def _count(self, **_: Any) -> None:
        self.calls += 1

    # --- the check ----------------------------------------------------------------------

    def region(self, region: str) -> list[str]:
        """One warning per share target in `region` that reaches an account without a stack
        instance. Raises Unavailable when the StackSet cannot be read."""
        if not (self.reach.accounts or self.reach.ous or self.reach.organizations):
            return []  # nothing shared: no call
        live = self.instances(region)
        org = self.organization() if (self.reach.ous or self.reach.organizations) else None
        warnings: list[str] = []
        nodes = [*self.reach.ous, *self.reach.organizations]
        for node in nodes:
            warning = self._node(node, region, live, org)
            if warning:
                warnings.append(warning)
        management = org.management if org and self.wanted.service_managed else None
        for account in self.reach.accounts:
            if account != management and (account, region) not in live:
                warnings.append(self._text(account, region, [account]))
        return warnings

    def _node(
        self,
        node: str,
        region: str,
        live: dict[tuple[str, str], Instance],
        org: Organization | None,
    ) -> str | None:
        unit = org.roots.get(node, node) if org else node
        accounts = org.ou_accounts.get(unit) if org else None
        if accounts is None:
            # Organizations unread: an OU is covered when some instance was deployed via it.
            if any(i.ou == unit and i.region == region for i in live.values()):
                return None
            why = self._org_problem or "not read from AWS Organizations"
            return (
                f"share to {node} in {region} may reach accounts without the bootstrap stack "
                f"(no stack instance deployed through it; its accounts are unknown: {why}): "
                f"nobody can launch the products there; run studio-factory bootstrap deploy "
                f"--env {self.env}"
            )
        # the management account never gets a service-managed instance (rollout plan)
        management = org.management if org and self.wanted.service_managed else None
        missing = [a for a in accounts if a != management and (a, region) not in live]
        return self._text(node, region, missing) if missing else None

    def _text(self, target: str, region: str, missing: list[str]) -> str:
        return (
            f"share to {target} in {region} reaches accounts without the bootstrap stack "
            f"({', '.join(missing)}): nobody can launch the products there; run "
            f"studio-factory bootstrap deploy --env {self.env}"
        )

    def instances(self, region: str) -> dict[tuple[str, str], Instance]:
        """The StackSet's instances in `region`: one paged ListStackInstances."""
        clients = self.clients()
        paginator = clients.cfn.get_paginator("list_stack_instances")
        found: dict[tuple[str, str], Instance] = {}
        try:
            for page in paginator.paginate(
                StackSetName=self.wanted.name, StackInstanceRegion=region, **self.wanted.call()
            ):
                for summary in page.get("Summaries", []):
                    instance = Instance.of(summary)
                    if instance.region == region:
                        found[(instance.account, instance.region)] = instance
        except ClientError as exc:
            raise Unavailable(self._why(exc)) from exc
        except BotoCoreError as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        return found

    def organization(self) -> Organization:
        """Accounts below the shared OUs and organizations, read once per run. When
        Organizations cannot be read, OUs stay unexpanded (checked by their instances)."""
        if self._org is None:
            only_nodes = Targets(
                ous=self.reach.ous,
                accounts=(),
                regions=self.reach.regions,
                organizations=self.reach.organizations,
            )
            try:
                self._org = read_organization(self.clients().org, only_nodes, required=False)
            except (ClientError, BotoCoreError) as exc:
                self._org = Organization()
                self._org_problem = f"{aws.error_code(exc) or type(exc).__name__}"
            if not self._org.ou_accounts and not self._org_problem:
                self._org_problem = "AWS Organizations not readable with these credentials"
        return self._org

    def _why(self, exc: ClientError) -> str:
        code = aws.error_code(exc)
        where = f"StackSet {self.wanted.name} in {self.admin_region}"
        look = f"check with studio-factory bootstrap status --env {self.env}"
        if code == NOT_FOUND:
            return (
                f"cannot check the bootstrap coverage of the shares: no {where} "
                f"(CallAs {self.wanted.call_as}); deploy it with studio-factory bootstrap "
                f"deploy --env {self.env}, or {look}"
            )
        message = exc.response.get("Error", {}).get("Message", "")
        return (
            f"cannot check the bootstrap coverage of the shares: {code}: {message} ({where}, "
            f"CallAs {self.wanted.call_as}); reading stack instances needs the management "
            f"account or a delegated administrator and cloudformation:ListStackInstances; "
            f"{look}"
        )


def share_targets(catalog: Catalog, regions: Sequence[str]) -> Targets:
    """The rollout's targets minus the catalog account unless a portfolio shares to it: the
    check is about shares."""
    reach = targets(catalog, regions)
    shared = {a for p in catalog.portfolios for a in p.sharing.accounts}
    shared |= {
        n.value
        for p in catalog.portfolios
        for n in p.sharing.organization_nodes
        if n.type == "ACCOUNT"
    }
    accounts = tuple(a for a in reach.accounts if a in shared)
    return Targets(reach.ous, accounts, reach.regions, reach.organizations)


def check(
    catalog: Catalog, regions: Sequence[str], profile: str | None = None
) -> tuple[dict[str, list[str]], int]:
    """Warnings per region (the one "cannot check" warning under the first region), and the
    number of calls made. Never raises for AWS errors."""
    coverage = Coverage(catalog, regions, profile)
    found: dict[str, list[str]] = {region: [] for region in regions}
    for region in regions:
        try:
            found[region] = coverage.region(region)
        except Unavailable as exc:
            found[regions[0]] = [*found[regions[0]], str(exc)]
            break
        except Exception as exc:  # a coverage check never fails the plan
            found[regions[0]] = [
                *found[regions[0]],
                f"cannot check the bootstrap coverage of the shares: {type(exc).__name__}: "
                f"{exc}; check with studio-factory bootstrap status --env {coverage.env}",
            ]
            break
    return found, coverage.calls
