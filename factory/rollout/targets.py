"""Where the bootstrap stack must be: the accounts and OUs the portfolios are shared with, the
catalog account, and the regions the catalog is published to (pure, no AWS call), plus the
StackSet settings from the environment's `bootstrap:` section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from factory.naming import DEFAULT_LAUNCH_ROLE_NAME
from factory.portfolio import Catalog
from factory.portfolio.models import Bootstrap

#: The environment's `accounts:` key of the account that hosts the portfolios.
CATALOG_ACCOUNT_KEY = "catalog"
#: The template parameter the launch constraints depend on (LocalRoleName, README "Launch").
LAUNCH_ROLE_PARAMETER = "LaunchRoleName"


@dataclass(frozen=True)
class Targets:
    """What the portfolios reach: OUs (or roots), single accounts, regions."""

    ous: tuple[str, ...]
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    #: organization ids (o-...) shared with: deployed through the organization's root
    organizations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """The StackSet as the environment wants it."""

    name: str
    permission_model: str
    call_as: str
    auto_deployment: bool
    retain_stacks: bool
    parameters: dict[str, str] = field(hash=False)
    preferences: dict[str, Any] = field(hash=False)
    administration_role_arn: str | None = None
    execution_role_name: str | None = None
    #: the template's parameters and their Default (None: none), read by run.prepare
    defaults: dict[str, str | None] = field(default_factory=dict, hash=False)

    def template_values(self) -> dict[str, str]:
        """Every template parameter's value: the environment's, else the template's Default.
        All are sent, so a parameter removed from the environment is reset to its default
        by name, not left to how an update treats an omitted parameter."""
        values = {k: v for k, v in self.defaults.items() if v is not None}
        return dict(sorted((values | self.parameters).items()))

    @property
    def service_managed(self) -> bool:
        return self.permission_model == "SERVICE_MANAGED"

    def call(self) -> dict[str, str]:
        """`CallAs` for every StackSet call; valid only for service-managed (botocore model)."""
        return {"CallAs": self.call_as} if self.service_managed else {}


def targets(catalog: Catalog, regions: Sequence[str]) -> Targets:
    ous: list[str] = []
    accounts: list[str] = []
    organizations: list[str] = []
    catalog_account = catalog.environment.accounts.get(CATALOG_ACCOUNT_KEY)
    if catalog_account:
        accounts.append(catalog_account)
    for portfolio in catalog.portfolios:
        accounts.extend(portfolio.sharing.accounts)
        for node in portfolio.sharing.organization_nodes:
            {"ORGANIZATIONAL_UNIT": ous, "ACCOUNT": accounts, "ORGANIZATION": organizations}[
                node.type
            ].append(node.value)
    return Targets(
        ous=tuple(dict.fromkeys(ous)),
        accounts=tuple(dict.fromkeys(accounts)),
        regions=tuple(regions),
        organizations=tuple(dict.fromkeys(organizations)),
    )


def settings(catalog: Catalog, regions: Sequence[str], call_as: str | None = None) -> Settings:
    """The `bootstrap:` section with its defaults; the launch-role name defaults to the one the
    portfolios' launch constraints use (`values.launch_role_name`, else the bootstrap's)."""
    environment = catalog.environment
    section = environment.bootstrap or Bootstrap()
    parameters = dict(section.parameters)
    role = environment.values.get("launch_role_name") or DEFAULT_LAUNCH_ROLE_NAME
    parameters.setdefault(LAUNCH_ROLE_PARAMETER, str(role))
    return Settings(
        name=section.stack_set_name,
        permission_model=section.permission_model,
        call_as=call_as or section.call_as,
        auto_deployment=section.auto_deployment,
        retain_stacks=section.retain_stacks_on_account_removal,
        parameters=parameters,
        preferences=preferences(section, regions),
        administration_role_arn=section.administration_role_arn,
        execution_role_name=section.execution_role_name,
    )


def preferences(section: Bootstrap, regions: Sequence[str]) -> dict[str, Any]:
    """StackSetOperationPreferences (botocore model): RegionOrder lists the configured order
    first, then the other regions in the environment's order."""
    chosen = section.operation_preferences
    order = [r for r in chosen.region_order if r in regions]
    order += [r for r in regions if r not in order]
    return {
        "RegionConcurrencyType": chosen.region_concurrency,
        "RegionOrder": order,
        "MaxConcurrentPercentage": chosen.max_concurrent_percentage,
        "FailureTolerancePercentage": chosen.failure_tolerance_percentage,
    }
