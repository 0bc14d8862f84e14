"""One rollout run in the StackSet's administration region: read, plan, and (deploy) apply.

StackSets are regional: the StackSet lives in the region it is created in and deploys to
the target regions from there (User Guide, "StackSets concepts"), so every call goes to
`admin_region`. The template is uploaded to the template bucket under its digest
(`studio-catalog-bootstrap/<sha256>.yaml`, never overwritten), like the publisher's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from factory import aws, naming
from factory.portfolio import Catalog
from factory.rollout import apply as apply_module
from factory.rollout import plan as plan_module
from factory.rollout import state as state_module
from factory.rollout import steps as steps_module
from factory.rollout.targets import Settings, Targets, settings, targets

TEMPLATE_ID = "studio-catalog-bootstrap"
#: Organizations' service principal of StackSets, for register-delegated-administrator (User
#: Guide, "Register a delegated administrator").
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


class RolloutError(Exception):
    """Nothing written: a precondition failed (where, what, fix)."""

    def __init__(self, where: str, what: str, fix: str = "") -> None:
        self.where, self.what, self.fix = where, what, fix
        super().__init__(f"{where}: {what}" + (f"; {fix}" if fix else ""))


@dataclass
class Clients:
    region: str
    cfn: BaseClient
    org: BaseClient
    s3: BaseClient
    ssm: BaseClient
    sts: BaseClient

    @classmethod
    def create(cls, region: str, profile: str | None = None) -> Clients:
        # the project's sessions and retry configuration (factory.aws)
        cfn, org, s3, ssm, sts = aws.clients(
            region, profile, "cloudformation", "organizations", "s3", "ssm", "sts"
        )
        made = {"cfn": cfn, "org": org, "s3": s3, "ssm": ssm, "sts": sts}
        return cls(region=region, **made)


@dataclass
class Options:
    admin_region: str
    regions: Sequence[str]
    template: Path
    profile: str | None = None
    bucket: str | None = None
    call_as: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    sleep: Callable[[float], None] | None = None


@dataclass
class Result:
    settings: Settings
    plan: plan_module.Plan
    outcome: apply_module.Outcome | None = None
    template_url: str | None = None
    calls: int = 0
    writes: int = 0
    #: operations of others (or of an earlier run) this run waited for
    waited_for: list[str] = field(default_factory=list)
    #: `status --detect-drift`: the DetectStackSetDrift step and how it ended
    drift: apply_module.StepResult | None = None

    @property
    def failed(self) -> bool:
        return bool(self.outcome and (self.outcome.failures or self.outcome.interrupted))


def template_parameters(path: Path) -> dict[str, str | None]:
    """The template's parameters and their Default as CloudFormation passes it (a string;
    None: no Default). Only the top-level `Parameters` section is needed, so a YAML loader
    that ignores CloudFormation's short-form tags (!Ref, !Sub...) is enough: it avoids
    importing cfn-lint's decoder (~0.6 s, factory.cfn_yaml) on every plan."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    declared = (document or {}).get("Parameters") or {}
    return {name: _default(spec) for name, spec in declared.items()}


def _default(spec: Any) -> str | None:
    if not isinstance(spec, dict) or "Default" not in spec:
        return None
    value = spec["Default"]
    if isinstance(value, list):  # CommaDelimitedList
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def prepare(catalog: Catalog, options: Options) -> tuple[Settings, Targets, str]:
    """Everything before the first AWS call: settings, targets, the template's digest and
    parameters (an unknown parameter name is refused)."""
    wanted = settings(catalog, options.regions, options.call_as)
    reach = targets(catalog, options.regions)
    known = template_parameters(options.template)
    if naming.STACK_SET_NAME_PARAMETER in known:  # the publisher reads the StackSet by name
        wanted.parameters.setdefault(naming.STACK_SET_NAME_PARAMETER, wanted.name)
    unknown = sorted(set(wanted.parameters) - set(known))
    if unknown:
        raise RolloutError(
            f"{catalog.environment_file}: bootstrap.parameters",
            f"{', '.join(unknown)} is not a parameter of {options.template.name}",
            f"allowed: {', '.join(sorted(known))}",
        )
    required = sorted(k for k, v in known.items() if v is None and k not in wanted.parameters)
    if required:
        raise RolloutError(
            f"{catalog.environment_file}: bootstrap.parameters",
            f"{', '.join(required)} has no default in {options.template.name}",
            "give it a value under bootstrap.parameters",
        )
    if wanted.call_as == "DELEGATED_ADMIN" and not wanted.service_managed:
        raise RolloutError("--call-as", "DELEGATED_ADMIN needs permission_model SERVICE_MANAGED")
    return replace(wanted, defaults=known), reach, aws.file_digest(options.template)


def blocked_error(catalog: Catalog, blocker: plan_module.Blocker) -> RolloutError:
    return RolloutError(f"{catalog.environment_file}: {blocker.field}", blocker.what, blocker.fix)


def check_caller(clients: Clients, wanted: Settings, org: state_module.Organization) -> None:
    """CallAs must match the account (CreateStackSetInput.CallAs, botocore model): SELF in the
    management account, DELEGATED_ADMIN in a registered member account."""
    if not wanted.service_managed or org.management is None:
        return
    caller = clients.sts.get_caller_identity()["Account"]
    if wanted.call_as == "SELF" and caller != org.management:
        raise RolloutError(
            "--call-as SELF",
            f"account {caller} is not the management account {org.management}; "
            "service-managed StackSets are managed from the management account or a "
            "delegated administrator",
            f"run from {org.management}, or register {caller} (aws organizations "
            f"register-delegated-administrator --account-id {caller} --service-principal "
            f"{STACKSETS_PRINCIPAL}) and pass --call-as DELEGATED_ADMIN",
        )
    if wanted.call_as == "DELEGATED_ADMIN" and caller == org.management:
        raise RolloutError(
            "--call-as DELEGATED_ADMIN",
            f"account {caller} is the management account",
            "pass --call-as SELF (or set bootstrap.call_as: SELF)",
        )


def explain(exc: ClientError, wanted: Settings) -> str | None:
    """The wording for errors that mean the caller is neither management nor delegated admin,
    or that trusted access is off (CreateStackSet and service-managed calls)."""
    message = exc.response.get("Error", {}).get("Message", "")
    lowered = message.lower()
    if wanted.service_managed and any(
        word in lowered for word in ("delegated", "management account", "trusted access")
    ):
        return (
            f"{aws.error_code(exc)}: {message}; service-managed StackSets need the management "
            "account (--call-as SELF) or a delegated administrator (--call-as DELEGATED_ADMIN, "
            f"registered for {STACKSETS_PRINCIPAL}), and trusted access for StackSets enabled "
            "in AWS Organizations"
        )
    return None


def read(
    clients: Clients, wanted: Settings, reach: Targets
) -> tuple[state_module.Organization, state_module.LiveStackSet]:
    org = state_module.read_organization(clients.org, reach, required=wanted.service_managed)
    check_caller(clients, wanted, org)
    live = state_module.read_stack_set(clients.cfn, wanted)
    return org, live


def run(catalog: Catalog, options: Options, *, apply: bool, detect_drift: bool = False) -> Result:
    """Read and plan; `apply` runs the plan; `detect_drift` (apply False) runs a drift
    detection on the StackSet first, then reads the instances' DriftStatus."""
    wanted, reach, digest = prepare(catalog, options)
    clients = Clients.create(options.admin_region, options.profile)
    counter = _count_calls(clients)
    org, live = read(clients, wanted, reach)
    ctx = _context(clients, wanted, digest, options)
    drift = None
    if detect_drift and not apply and live.exists and live.instances:
        drift = _detect_drift(ctx, live)
        if drift.status != "interrupted":
            live = state_module.read_stack_set(clients.cfn, wanted)
    if apply and live.running:
        ctx.waited_for.append(live.running)
        ctx.follow(live.running)  # one operation at a time: wait, then plan what is left
        org, live = read(clients, wanted, reach)
    result = Result(wanted, plan_module.plan(wanted, reach, org, live, digest))
    if apply and result.plan.blocked:
        raise blocked_error(catalog, result.plan.blocked[0])
    if apply and result.plan.pending:
        ctx.template_url = upload(clients, options, digest)
        ctx.administration_role_arn = _admin_role(clients, wanted)
        result.template_url = ctx.template_url
        result.outcome = apply_module.apply_plan(ctx, result.plan.steps)
    result.drift = drift
    result.calls, result.writes, result.waited_for = counter(), ctx.writes, ctx.waited_for
    return result


def _detect_drift(
    ctx: apply_module.Context, live: state_module.LiveStackSet
) -> apply_module.StepResult:
    """One DetectStackSetDrift operation, followed to its end like a deploy step (a running
    operation is waited out: OperationInProgressException). Its OperationId is deterministic:
    the instances' last operations and last drift checks, so a retried or interrupted run
    follows the detection it started, and a detection that has ended makes the next one new
    (its LastDriftCheckTimestamp changed)."""
    seen = sorted((k, i.last_operation, i.drift_checked) for k, i in live.instances.items())
    step = steps_module.DetectDrift(
        settings=ctx.settings,
        operation_id=plan_module.token(ctx.settings, "detect-drift", seen),
        detail=f"{len(live.instances)} instance(s)",
    )
    outcome = apply_module.apply_plan(ctx, [step])
    return outcome.steps[0]


def _context(
    clients: Clients, wanted: Settings, digest: str, options: Options
) -> apply_module.Context:
    ctx = apply_module.Context(
        clients.cfn,
        wanted,
        description=state_module.description(digest),
        stop=options.stop,
        explain=lambda exc: explain(exc, wanted),
    )
    if options.sleep is not None:
        ctx.sleep = options.sleep
    return ctx


def _admin_role(clients: Clients, wanted: Settings) -> str | None:
    """Self-managed: the administration role, by default the User Guide's
    AWSCloudFormationStackSetAdministrationRole in the calling account."""
    if wanted.service_managed:
        return None
    if wanted.administration_role_arn:
        return wanted.administration_role_arn
    identity = clients.sts.get_caller_identity()
    partition = identity["Arn"].split(":")[1]
    role = "AWSCloudFormationStackSetAdministrationRole"
    return f"arn:{partition}:iam::{identity['Account']}:role/{role}"


def upload(clients: Clients, options: Options, digest: str) -> str:
    """The template in the bucket under its digest (written once), and its URL."""
    bucket = options.bucket or _bucket(clients)
    key = aws.template_key(TEMPLATE_ID, digest)
    try:
        clients.s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if aws.error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise
        clients.s3.put_object(Bucket=bucket, Key=key, Body=options.template.read_bytes())
    return aws.template_url(bucket, clients.region, key)


def _bucket(clients: Clients) -> str:
    try:
        return aws.bucket_from_ssm(clients.ssm)
    except ClientError as exc:
        if aws.error_code(exc) != "ParameterNotFound":
            raise
        raise RolloutError(
            "--bucket",
            f"no template bucket in {clients.region} (SSM "
            f"{aws.TEMPLATE_BUCKET_SSM_PARAMETER} is not set)",
            "pass --bucket <a bucket in the administration region>",
        ) from exc


def _count_calls(clients: Clients) -> Callable[[], int]:
    """Count every API call of the run (botocore's before-call event)."""
    count = [0]

    def on_call(**_: Any) -> None:
        count[0] += 1

    for client in (clients.cfn, clients.org, clients.s3, clients.ssm, clients.sts):
        client.meta.events.register("before-call", on_call)
    return lambda: count[0]
