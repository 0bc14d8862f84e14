"""The steps of a bootstrap rollout: one frozen dataclass per StackSet write.

Each write that starts a StackSet operation carries a deterministic `OperationId`, computed by
the planner from the step's inputs and the live instances it touches: "The operation ID also
functions as an idempotency token ... Repeating this StackSet operation with a new operation
ID retries all stack instances whose status is OUTDATED" (botocore's cloudformation model,
CreateStackInstancesInput.OperationId; same text on UpdateStackSet, UpdateStackInstances,
DeleteStackInstances). A re-sent request is answered OperationIdAlreadyExistsException, and
the context then follows the operation it started (factory.rollout.apply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from factory.aws import error_code
from factory.change import Change
from factory.rollout.targets import Settings

if TYPE_CHECKING:
    from factory.rollout.apply import Context

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the bootstrap creates named roles (README, Launch)


@dataclass(frozen=True)
class Group:
    """One operation's targets: accounts (with the OU that reaches each), regions, and how
    StackSets selects accounts (DeploymentTargets.AccountFilterType)."""

    regions: tuple[str, ...]
    accounts: tuple[str, ...]
    ous: tuple[str, ...] = ()
    account_filter: str = "NONE"

    def targets(self, settings: Settings) -> dict[str, Any]:
        """Service-managed: OUs, refined by accounts unless every account of the OUs is meant
        (NONE keeps the OUs as automatic-deployment targets); self-managed: accounts."""
        if not settings.service_managed:  # DeploymentTargets is for service-managed only
            return {"Accounts": list(self.accounts)}
        targets: dict[str, Any] = {"OrganizationalUnitIds": list(self.ous)}
        if self.account_filter != "NONE":
            targets |= {"Accounts": list(self.accounts), "AccountFilterType": self.account_filter}
        return {"DeploymentTargets": targets}

    def instances(self) -> list[str]:
        return [f"{account}/{region}" for region in self.regions for account in self.accounts]


@dataclass(frozen=True, kw_only=True)
class Step(Change):
    action: ClassVar[str] = ""
    settings: Settings = field(compare=False)
    operation_id: str = ""
    detail: str = field(default="", compare=False)
    old: Any = field(default=None, compare=False)
    new: Any = field(default=None, compare=False)

    @property
    def resource(self) -> str:
        return f"stack-set:{self.settings.name}"

    @property
    def writes(self) -> bool:
        return True

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "operation_id": self.operation_id or None}

    def apply(self, ctx: Context) -> str | None:
        """Make the call; return the operation id to follow (None: no operation)."""
        raise NotImplementedError


def _stack_set_fields(settings: Settings, ctx: Context) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "Parameters": [
            {"ParameterKey": k, "ParameterValue": v} for k, v in settings.template_values().items()
        ],
        "Capabilities": CAPABILITIES,
        "Description": ctx.description,
        **settings.call(),
    }
    if settings.service_managed:
        fields["AutoDeployment"] = auto_deployment(settings)
    else:
        fields["ExecutionRoleName"] = settings.execution_role_name
        fields["AdministrationRoleARN"] = ctx.administration_role_arn
    return fields


def auto_deployment(settings: Settings) -> dict[str, bool]:
    """AutoDeployment (botocore model): Enabled, RetainStacksOnAccountRemoval."""
    return {
        "Enabled": settings.auto_deployment,
        "RetainStacksOnAccountRemoval": settings.retain_stacks,
    }


@dataclass(frozen=True, kw_only=True)
class CreateStackSet(Step):
    """CreateStackSet: synchronous, no operation. `ClientRequestToken` makes a retried request
    create one StackSet (botocore model); NameAlreadyExistsException means a previous run
    created it, which the next plan reads."""

    action: ClassVar[str] = "create-stack-set"

    def apply(self, ctx: Context) -> str | None:
        try:
            ctx.write(
                ctx.cfn.create_stack_set,
                StackSetName=self.settings.name,
                TemplateURL=ctx.template_url,
                PermissionModel=self.settings.permission_model,
                ClientRequestToken=self.operation_id,
                **_stack_set_fields(self.settings, ctx),
            )
        except ClientError as exc:
            if error_code(exc) != "NameAlreadyExistsException":
                raise
        return None


@dataclass(frozen=True, kw_only=True)
class UpdateStackSet(Step):
    """UpdateStackSet without DeploymentTargets/Regions updates every instance (botocore
    model, UpdateStackSetInput.DeploymentTargets); the template is re-read only when its
    digest changed (UsePreviousTemplate otherwise)."""

    action: ClassVar[str] = "update-stack-set"
    new_template: bool = False

    def apply(self, ctx: Context) -> str | None:
        template: dict[str, Any] = {"UsePreviousTemplate": True}
        if self.new_template:
            template = {"TemplateURL": ctx.template_url}
        return ctx.operation(
            ctx.cfn.update_stack_set,
            StackSetName=self.settings.name,
            OperationId=self.operation_id,
            OperationPreferences=self.settings.preferences,
            # changes only while the StackSet has no instance (the planner checks)
            PermissionModel=self.settings.permission_model,
            **template,
            **_stack_set_fields(self.settings, ctx),
        )


@dataclass(frozen=True, kw_only=True)
class _InstancesStep(Step):
    group: Group

    @property
    def resource(self) -> str:
        return f"stack-set:{self.settings.name} {len(self.group.instances())} instance(s)"

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {
            "regions": list(self.group.regions),
            "accounts": list(self.group.accounts),
            "organizational_units": list(self.group.ous),
            "account_filter": self.group.account_filter,
        }

    def _call(self, ctx: Context, method: Any, **extra: Any) -> str | None:
        return ctx.operation(
            method,
            StackSetName=self.settings.name,
            Regions=list(self.group.regions),
            OperationId=self.operation_id,
            OperationPreferences=self.settings.preferences,
            **self.group.targets(self.settings),
            **self.settings.call(),
            **extra,
        )


@dataclass(frozen=True, kw_only=True)
class CreateInstances(_InstancesStep):
    """CreateStackInstances for accounts x regions that have none."""

    action: ClassVar[str] = "create-instances"

    def apply(self, ctx: Context) -> str | None:
        return self._call(ctx, ctx.cfn.create_stack_instances)


@dataclass(frozen=True, kw_only=True)
class RetryInstances(_InstancesStep):
    """UpdateStackInstances for instances left OUTDATED by a failed operation: a new
    operation id retries them (OperationId documentation)."""

    action: ClassVar[str] = "retry-instances"

    def apply(self, ctx: Context) -> str | None:
        return self._call(ctx, ctx.cfn.update_stack_instances)


@dataclass(frozen=True, kw_only=True)
class DeleteInstances(_InstancesStep):
    """DeleteStackInstances with RetainStacks false: the stacks go too."""

    action: ClassVar[str] = "delete-instances"

    def apply(self, ctx: Context) -> str | None:
        return self._call(ctx, ctx.cfn.delete_stack_instances, RetainStacks=False)


@dataclass(frozen=True, kw_only=True)
class DetectDrift(Step):
    """DetectStackSetDrift (botocore model: StackSetName, OperationPreferences, OperationId,
    CallAs): a DETECT_DRIFT operation over every instance; each instance's DriftStatus and
    LastDriftCheckTimestamp are then read with ListStackInstances. Only `bootstrap status
    --detect-drift` plans it (the StackSet and its stacks are not changed)."""

    action: ClassVar[str] = "detect-drift"

    def apply(self, ctx: Context) -> str | None:
        return ctx.operation(
            ctx.cfn.detect_stack_set_drift,
            StackSetName=self.settings.name,
            OperationId=self.operation_id,
            OperationPreferences=self.settings.preferences,
            **self.settings.call(),
        )
