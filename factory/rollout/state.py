"""Live state, read only: the StackSet, its stack instances, a running operation, and the
Organizations facts the targets need (accounts per OU, the management account).

Calls (botocore's cloudformation and organizations models): DescribeStackSet,
ListStackInstances (paginator, 100 a page), ListStackSetOperations (one page: the newest
first), DescribeOrganization, ListRoots, ListOrganizationalUnitsForParent and
ListAccountsForParent (paginators; StackSets deploys to an OU's child OUs too: DeploymentTargets
documentation), ListParents for accounts shared one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from factory.aws import DIGEST_PREFIX, error_code, pages
from factory.rollout.targets import Settings, Targets

#: DescribeStackSetOperation statuses that are not final (StackSetOperationStatus enum).
ACTIVE_OPERATION = frozenset({"RUNNING", "STOPPING", "QUEUED"})


@dataclass(frozen=True)
class Instance:
    account: str
    region: str
    ou: str
    status: str
    detailed: str
    reason: str
    drift: str
    last_operation: str
    #: LastDriftCheckTimestamp (ISO 8601), "" before the first drift detection
    drift_checked: str = ""

    @classmethod
    def of(cls, summary: dict[str, Any]) -> Instance:
        return cls(
            account=summary["Account"],
            region=summary["Region"],
            ou=summary.get("OrganizationalUnitId", ""),
            status=summary.get("Status", ""),
            detailed=summary.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
            reason=summary.get("StatusReason", ""),
            drift=summary.get("DriftStatus", "NOT_CHECKED"),
            last_operation=summary.get("LastOperationId", ""),
            drift_checked=_iso(summary.get("LastDriftCheckTimestamp")),
        )

    @property
    def failed(self) -> bool:
        """OUTDATED after a finished operation: a re-run retries it (OperationId doc)."""
        return self.status in ("OUTDATED", "INOPERABLE") and self.detailed not in (
            "PENDING",
            "RUNNING",
        )


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


@dataclass
class LiveStackSet:
    exists: bool = False
    digest: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    auto_deployment: dict[str, Any] | None = None
    permission_model: str = ""
    administration_role_arn: str | None = None
    execution_role_name: str | None = None
    instances: dict[tuple[str, str], Instance] = field(default_factory=dict)
    running: str | None = None


@dataclass
class Organization:
    """Accounts per target OU (recursively), parents of single accounts, the management
    account (StackSets never deploys there with service-managed permissions)."""

    management: str | None = None
    ou_accounts: dict[str, list[str]] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    calls: int = 0


def description(digest: str) -> str:
    """The StackSet's Description carries the template digest (as the publisher's versions
    do): tags of a StackSet propagate to every stack's resources (CreateStackSet, Tags)."""
    return f"Studio catalog bootstrap {DIGEST_PREFIX}{digest}"


def _digest(text: str) -> str:
    marker = text.rfind(DIGEST_PREFIX)
    return text[marker + len(DIGEST_PREFIX) :].split()[0] if marker >= 0 else ""


def read_stack_set(cfn: BaseClient, settings: Settings) -> LiveStackSet:
    call = settings.call()
    try:
        body = cfn.describe_stack_set(StackSetName=settings.name, **call)["StackSet"]
    except ClientError as exc:
        if error_code(exc) == "StackSetNotFoundException":
            return LiveStackSet()
        raise
    live = LiveStackSet(
        exists=True,
        digest=_digest(body.get("Description", "")),
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in body["Parameters"]},
        auto_deployment=body.get("AutoDeployment"),
        permission_model=body.get("PermissionModel", "SELF_MANAGED"),
        administration_role_arn=body.get("AdministrationRoleARN"),
        execution_role_name=body.get("ExecutionRoleName"),
    )
    listed = pages(cfn, "list_stack_instances", "Summaries", StackSetName=settings.name, **call)
    for summary in listed:
        instance = Instance.of(summary)
        live.instances[(instance.account, instance.region)] = instance
    live.running = running_operation(cfn, settings)
    return live


def running_operation(cfn: BaseClient, settings: Settings) -> str | None:
    """The id of an operation still running on the StackSet (newest first, one page)."""
    answer = cfn.list_stack_set_operations(
        StackSetName=settings.name, MaxResults=20, **settings.call()
    )
    for summary in answer.get("Summaries", []):
        if summary.get("Status") in ACTIVE_OPERATION:
            return str(summary["OperationId"])
    return None


def read_organization(org: BaseClient, targets: Targets, *, required: bool) -> Organization:
    """Organizations facts; with `required` False (self-managed) an organization that cannot
    be read leaves OUs unexpanded (their accounts are then reported as unknown)."""
    view = Organization()
    try:
        view.management = org.describe_organization()["Organization"]["MasterAccountId"]
        view.calls += 1
        if targets.organizations:
            view.roots = _roots(org, targets.organizations, view)
        for ou in [*targets.ous, *view.roots.values()]:
            view.ou_accounts[ou] = _accounts_below(org, ou, view)
        for account in targets.accounts:
            if not any(account in accounts for accounts in view.ou_accounts.values()):
                view.parents[account] = _parent(org, account, view)
    except ClientError as exc:
        if required or error_code(exc) not in NO_ORGANIZATION:
            raise
    return view


#: Organizations answers these when the account is in no organization or may not read it.
NO_ORGANIZATION = frozenset({"AWSOrganizationsNotInUseException", "AccessDeniedException"})


def _roots(org: BaseClient, organizations: tuple[str, ...], view: Organization) -> dict[str, str]:
    """Organization id -> root id: an organization share reaches every account, which
    StackSets targets through the root (DeploymentTargets: "organization root ID")."""
    view.calls += 1
    root = next(iter(pages(org, "list_roots", "Roots")), None)
    return {organization: root["Id"] for organization in organizations} if root else {}


def _accounts_below(org: BaseClient, parent: str, view: Organization) -> list[str]:
    view.calls += 2
    found = [a["Id"] for a in pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent)]
    for child in pages(
        org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
    ):
        found += _accounts_below(org, child["Id"], view)
    return found


def _parent(org: BaseClient, account: str, view: Organization) -> str:
    view.calls += 1
    parents = list(pages(org, "list_parents", "Parents", ChildId=account))
    return str(parents[0]["Id"]) if parents else ""
