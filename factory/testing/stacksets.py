"""Make local CloudFormation StackSets (moto) behave like the service where the rollout relies
on it.

What moto 5.2.5 does (moto/cloudformation/models.py, ``StackSet``, ``StackInstances``):
operations finish inside the request (always ``SUCCEEDED``), so nothing ever waits and
``OperationInProgressException`` never happens; ``CreateStackInstances`` ignores
``OperationId`` (a random one each call) and ``DeleteStackInstances`` ignores it too, so an
idempotency token is never checked; ``DeploymentTargets.Accounts``/``AccountFilterType`` are
ignored (an INTERSECTION target deploys to the whole OU) and ``DeleteStackInstances`` ignores
``DeploymentTargets`` (a service-managed delete removes nothing); ``AutoDeployment``,
``Description`` changes and ``CallAs`` are dropped; instance summaries carry no
``StatusReason``, ``DriftStatus``, ``OrganizationalUnitId`` or ``LastOperationId``; it
deploys to the organization's management account; and it creates every resource of the
template in each target account (seconds per instance for the bootstrap template).

What the service does (botocore's cloudformation model, shapes ``CreateStackInstancesInput``,
``DeploymentTargets``, ``StackInstanceSummary``, ``StackSetOperationResultSummary``; API
reference and User Guide "StackSets concepts", "Target accounts and OUs"):

* an operation runs asynchronously (``RUNNING`` then ``SUCCEEDED``/``FAILED``/``STOPPED``) and
  a second write while one runs answers ``OperationInProgressException``;
* ``OperationId`` is an idempotency token: a reused one answers
  ``OperationIdAlreadyExistsException``;
* service-managed targets are OUs (and their child OUs), refined by ``Accounts`` with
  ``AccountFilterType`` (INTERSECTION, DIFFERENCE, UNION); StackSets never deploys to the
  management account with service-managed permissions (User Guide, "Create a stack set with
  service-managed permissions");
* a failed instance stays ``OUTDATED`` with a ``StatusReason``; the operation fails when more
  instances fail than ``FailureToleranceCount``/``Percentage`` allows.

:func:`install` replaces moto's StackSet handlers (``CloudFormationResponse``) with the small
model below; stacks (``CreateStack``...) stay moto's. State lives on moto's CloudFormation
backend object of the admin account and region, so moto's reset empties it too. Automatic
deployment is modelled (:func:`_auto_deploy`). Not modelled: drift of real stacks
(``DetectStackSetDrift`` is an asynchronous ``DETECT_DRIFT`` operation whose verdict per
instance comes from :data:`BEHAVIOUR` ``.drifted``; the StackSet's
``StackSetDriftDetectionDetails`` are not reported), ``QUEUED`` operations of managed
execution.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["BEHAVIOUR", "Behaviour", "install", "installed", "running_operation"]

_LOCK = threading.RLock()
_MARK = "__studio_catalog_stacksets__"
_ATTR = "_studio_catalog_stacksets"
_COUNTER = itertools.count(1)


@dataclass
class Behaviour:
    """Knobs the tests turn: how long an operation runs and which instances fail."""

    #: seconds an operation stays RUNNING (0: finished at the first read, still asynchronous)
    operation_s: float = 0.0
    #: (account, region) -> StatusReason of a failing stack instance
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    #: DriftStatus of an instance no drift detection has checked yet (service: NOT_CHECKED)
    drift_status: str = "NOT_CHECKED"
    #: (account, region) a DetectStackSetDrift operation finds DRIFTED; the others IN_SYNC
    drifted: set[tuple[str, str]] = field(default_factory=set)
    #: the stand-in's time: a test that sets a clock only the code's sleeps move sees an
    #: operation still RUNNING however slow the machine is (real time raced it otherwise)
    clock: Callable[[], float] = time.monotonic

    def reset(self) -> None:
        self.operation_s, self.failures, self.drift_status = 0.0, {}, "NOT_CHECKED"
        self.drifted = set()
        self.clock = time.monotonic


BEHAVIOUR = Behaviour()


@dataclass
class _Operation:
    operation_id: str
    action: str
    targets: list[tuple[str, str, str]]  # (account, region, ou)
    tolerance: int
    started: float
    done_at: float
    status: str = "RUNNING"
    results: list[dict[str, Any]] = field(default_factory=list)
    effect: Any = None  # callable run once when the operation ends


@dataclass
class _StackSet:
    name: str
    stack_set_id: str
    arn: str
    body: str
    description: str
    parameters: dict[str, str]
    permission_model: str
    auto_deployment: dict[str, Any] | None
    admin_role: str | None
    execution_role: str | None
    tags: dict[str, str]
    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    operations: list[_Operation] = field(default_factory=list)
    #: automatic deployment: the accounts last seen in each target OU
    members: dict[str, set[str]] = field(default_factory=dict)
    #: automatic deployment: removals waiting for the running operation to end
    pending_removals: list[tuple[str, str, str]] = field(default_factory=list)


# --- errors -------------------------------------------------------------------------------


def _error(code: str, message: str) -> Exception:
    from moto.cloudformation.exceptions import CloudFormationError

    error = CloudFormationError(message)
    error.code = code
    return error


# --- state --------------------------------------------------------------------------------


def _sets(response: Any) -> dict[str, _StackSet]:
    backend = response.cloudformation_backend
    if not hasattr(backend, _ATTR):
        setattr(backend, _ATTR, {})
    return getattr(backend, _ATTR)  # type: ignore[no-any-return]


def _stack_set(response: Any) -> _StackSet:
    name = response._get_param("StackSetName")
    found = _sets(response).get(name)
    if found is None:
        raise _error("StackSetNotFoundException", f"StackSet {name} not found")
    _settle(found)
    _auto_deploy(response, found)
    return found


def _auto_deploy(response: Any, stack_set: _StackSet) -> None:
    """Automatic deployment of a service-managed StackSet: "StackSets automatically deploys
    additional stack instances to AWS Organizations accounts that are added to a target
    organization or organizational unit (OU) in the specified Regions. If an account is
    removed from a target organization or OU, StackSets deletes stack instances from the
    account" (AutoDeployment.Enabled, CloudFormation template reference). The service reacts
    to an account joining or leaving, not to the StackSet's contents: an instance deleted by
    hand from an account still in the OU stays deleted. The stand-in has no Organizations
    events, so at each request it compares each target OU's accounts with those it saw last
    and runs what changed as an operation of its own (a write of the caller meanwhile
    answers OperationInProgressException), creates before deletes, one at a time. The
    service does not say whether an OU reached only through an INTERSECTION filter is a
    target; the worst case is modelled: every OU that has an instance is one, in the regions
    of its instances."""
    auto = stack_set.auto_deployment or {}
    if stack_set.permission_model != "SERVICE_MANAGED" or not auto.get("Enabled"):
        return
    if running_operation(stack_set) is not None:
        return  # events wait for the running operation
    org = _organization(response)
    management = org.org.master_account_id if org.org else None
    regions_of: dict[str, set[str]] = {}
    for (_, region), instance in stack_set.instances.items():
        if instance.get("OrganizationalUnitId"):
            regions_of.setdefault(instance["OrganizationalUnitId"], set()).add(region)
    joined: list[tuple[str, str, str]] = []
    left: list[tuple[str, str, str]] = []
    below = _tree(org)
    for ou, regions in sorted(regions_of.items()):
        now = set(below(ou)) - {management}
        before = stack_set.members.setdefault(ou, now)
        joined += [(a, r, ou) for a in sorted(now - before) for r in sorted(regions)]
        left += [(a, r, ou) for a in sorted(before - now) for r in sorted(regions)]
        stack_set.members[ou] = now
    for gone in set(stack_set.members) - set(regions_of):
        del stack_set.members[gone]
    joined = [t for t in joined if (t[0], t[1]) not in stack_set.instances]
    left = [t for t in left if (t[0], t[1]) in stack_set.instances]
    if joined:
        _begin(stack_set, "CREATE", joined, f"auto-deployment-{next(_COUNTER)}", 0)
    if left:  # after the creates: the service runs one operation at a time
        stack_set.pending_removals.extend(left)
    if stack_set.pending_removals and running_operation(stack_set) is None:
        removals, stack_set.pending_removals = stack_set.pending_removals, []
        removals = [t for t in removals if (t[0], t[1]) in stack_set.instances]
        if removals:
            _begin(stack_set, "DELETE", removals, f"auto-deployment-{next(_COUNTER)}", 0)


def _settle(stack_set: _StackSet) -> None:
    """End the operations whose time has come (their effect on the instances included)."""
    now = BEHAVIOUR.clock()
    for operation in stack_set.operations:
        if operation.status == "RUNNING" and now >= operation.done_at:
            _finish(stack_set, operation)


def running_operation(stack_set: _StackSet) -> _Operation | None:
    _settle(stack_set)
    return next((op for op in stack_set.operations if op.status == "RUNNING"), None)


def _finish(stack_set: _StackSet, operation: _Operation) -> None:
    if operation.action == "DETECT_DRIFT":
        _finish_drift(stack_set, operation)
        return
    failed = 0
    for account, region, ou in operation.targets:
        reason = BEHAVIOUR.failures.get((account, region))
        status = "FAILED" if reason else "SUCCEEDED"
        failed += bool(reason)
        operation.results.append(
            {"Account": account, "Region": region, "Status": status, "OrganizationalUnitId": ou}
            | ({"StatusReason": reason} if reason else {})
        )
        if operation.action == "DELETE":
            if not reason:
                stack_set.instances.pop((account, region), None)
            continue
        instance = stack_set.instances.setdefault((account, region), _instance(stack_set, ou))
        instance.update(
            Account=account,
            Region=region,
            Status="OUTDATED" if reason else "CURRENT",
            StackInstanceStatus={"DetailedStatus": status},
            LastOperationId=operation.operation_id,
        )
        instance.pop("StatusReason", None)
        if reason:
            instance["StatusReason"] = reason
    operation.status = "FAILED" if failed > operation.tolerance else "SUCCEEDED"


def _finish_drift(stack_set: _StackSet, operation: _Operation) -> None:
    """A drift detection checks every instance: DriftStatus (StackInstanceSummary.DriftStatus,
    shape StackDriftStatus in botocore's cloudformation model: DRIFTED, IN_SYNC, UNKNOWN,
    NOT_CHECKED) and LastDriftCheckTimestamp; Status and LastOperationId are left alone."""
    checked = datetime.now(UTC)
    for account, region, ou in operation.targets:
        operation.results.append(
            {"Account": account, "Region": region, "Status": "SUCCEEDED"}
            | ({"OrganizationalUnitId": ou} if ou else {})
        )
        instance = stack_set.instances.get((account, region))
        if instance is None:  # deleted meanwhile
            continue
        drifted = (account, region) in BEHAVIOUR.drifted
        instance["DriftStatus"] = "DRIFTED" if drifted else "IN_SYNC"
        instance["LastDriftCheckTimestamp"] = checked
    operation.status = "SUCCEEDED"


def _instance(stack_set: _StackSet, ou: str) -> dict[str, Any]:
    return {"StackSetId": stack_set.stack_set_id} | ({"OrganizationalUnitId": ou} if ou else {})


# --- targets --------------------------------------------------------------------------------


def _organization(response: Any) -> Any:
    from moto.organizations.models import organizations_backends

    return organizations_backends[response.current_account][response.partition]


def _ou_accounts(org: Any, ou_id: str) -> list[str]:
    """Accounts of an OU (or root) and of its child OUs, recursively."""
    children = [ou.id for ou in org.ou if getattr(ou, "parent_id", None) == ou_id]
    direct = [account.id for account in org.accounts if account.parent_id == ou_id]
    return direct + [a for child in children for a in _ou_accounts(org, child)]


def _tree(org: Any) -> Any:
    """``below(ou)``: the accounts of an OU and its child OUs, from one pass over the
    organization (this runs at every request of a StackSet with automatic deployment)."""
    children: dict[str, list[str]] = {}
    accounts: dict[str, list[str]] = {}
    for ou in org.ou:
        children.setdefault(getattr(ou, "parent_id", None), []).append(ou.id)
    for account in org.accounts:
        accounts.setdefault(account.parent_id, []).append(account.id)

    def below(ou_id: str) -> list[str]:
        found = list(accounts.get(ou_id, []))
        for child in children.get(ou_id, []):
            found += below(child)
        return found

    return below


def _targets(response: Any, stack_set: _StackSet) -> list[tuple[str, str]]:
    """(account, ou) pairs the request names, after AccountFilterType."""
    targets = response._get_params().get("DeploymentTargets") or {}
    accounts = targets.get("Accounts") or response._get_param("Accounts", [])
    if stack_set.permission_model != "SERVICE_MANAGED":
        return [(account, "") for account in accounts]
    ous = targets.get("OrganizationalUnitIds") or []
    if not ous:
        raise _error(
            "ValidationError",
            "StackSets with SERVICE_MANAGED permission model can only have "
            "OrganizationalUnit as target",
        )
    org = _organization(response)
    in_ous = [(account, ou) for ou in ous for account in _ou_accounts(org, ou)]
    mode = targets.get("AccountFilterType") or "NONE"
    pairs = _filter(in_ous, accounts, mode)
    management = org.org.master_account_id if org.org else None
    return [(account, ou) for account, ou in pairs if account != management]


def _filter(in_ous: list[tuple[str, str]], accounts: list[str], mode: str) -> list[tuple[str, str]]:
    if mode == "INTERSECTION":
        return [pair for pair in in_ous if pair[0] in accounts]
    if mode == "DIFFERENCE":
        return [pair for pair in in_ous if pair[0] not in accounts]
    if mode == "UNION":
        return in_ous + [(account, "") for account in accounts]
    return in_ous


def _tolerance(response: Any, count: int) -> int:
    preferences = response._get_params().get("OperationPreferences") or {}
    if "FailureToleranceCount" in preferences:
        return int(preferences["FailureToleranceCount"])
    return int(int(preferences.get("FailureTolerancePercentage", 0)) * count / 100)


def _start(
    response: Any, stack_set: _StackSet, action: str, targets: list[tuple[str, str, str]]
) -> str:
    """A new operation, refused while another runs or when its id was used before."""
    running = running_operation(stack_set)
    if running is not None:
        raise _error(
            "OperationInProgressException",
            f"Another Operation on StackSet {stack_set.stack_set_id} is in progress",
        )
    operation_id = response._get_param("OperationId") or f"op-{next(_COUNTER)}"
    if any(op.operation_id == operation_id for op in stack_set.operations):
        raise _error("OperationIdAlreadyExistsException", f"{operation_id} already exists")
    return _begin(stack_set, action, targets, operation_id, _tolerance(response, len(targets)))


def _begin(
    stack_set: _StackSet,
    action: str,
    targets: list[tuple[str, str, str]],
    operation_id: str,
    tolerance: int,
) -> str:
    now = BEHAVIOUR.clock()
    operation = _Operation(
        operation_id,
        action,
        targets,
        tolerance,
        started=now,
        done_at=now + BEHAVIOUR.operation_s,
    )
    stack_set.operations.append(operation)
    for account, region, ou in targets:
        if action not in ("DELETE", "DETECT_DRIFT"):
            instance = stack_set.instances.setdefault((account, region), _instance(stack_set, ou))
            instance.update(
                Account=account,
                Region=region,
                Status="OUTDATED",
                StackInstanceStatus={"DetailedStatus": "PENDING"},
            )
    return operation_id


# --- handlers --------------------------------------------------------------------------------


def _result(value: dict[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(value)


def create_stack_set(self: Any) -> Any:
    from moto.cloudformation.utils import generate_stackset_arn, generate_stackset_id

    with _LOCK:
        name = self._get_param("StackSetName")
        if name in _sets(self):
            raise _error("NameAlreadyExistsException", f"StackSet {name} already exists")
        body = self._get_param("TemplateBody") or self._get_stack_from_s3_url(
            self._get_param("TemplateURL")
        )
        stack_set_id = generate_stackset_id(name)
        _sets(self)[name] = _StackSet(
            name=name,
            stack_set_id=stack_set_id,
            arn=generate_stackset_arn(stack_set_id, self.region, self.current_account),
            body=body,
            description=self._get_param("Description") or "",
            parameters=_parameters(self._get_param("Parameters", []), {}, body),
            permission_model=self._get_param("PermissionModel") or "SELF_MANAGED",
            auto_deployment=self._get_params().get("AutoDeployment"),
            admin_role=self._get_param("AdministrationRoleARN"),
            execution_role=self._get_param("ExecutionRoleName"),
            tags={t["Key"]: t["Value"] for t in self._get_param("Tags", [])},
        )
        return _result({"StackSetId": stack_set_id})


def _parameters(given: list[dict[str, Any]], previous: dict[str, str], body: str) -> dict[str, str]:
    """Every parameter of the template: a given value, the previous one (UsePreviousValue),
    else the template's Default. "If you don't specify a key and value for a particular
    parameter, CloudFormation uses the default value that's specified in your template"
    (botocore's cloudformation model, Parameter.ParameterKey): an update that omits a
    parameter resets it, it does not keep the previous value. A parameter the template does
    not declare, or one with neither value nor default, is refused with CloudFormation's
    ValidationError wording for stacks ("Parameters: [X] do not exist in the template",
    "... must have values"); the StackSet model is silent on both, so the stricter answer is
    the one modelled."""
    declared = _template_parameters(body)
    values: dict[str, str] = {}
    for parameter in given:
        key = parameter["ParameterKey"]
        if declared is not None and key not in declared:
            raise _error("ValidationError", f"Parameters: [{key}] do not exist in the template")
        if parameter.get("UsePreviousValue"):
            values[key] = previous.get(key, "")
        else:
            values[key] = parameter.get("ParameterValue", "")
    missing = []
    for key, default in (declared or {}).items():
        if key in values:
            continue
        if default is None:
            missing.append(key)
        else:
            values[key] = default
    if missing:
        raise _error("ValidationError", f"Parameters: [{', '.join(missing)}] must have values")
    return dict(sorted(values.items()))


def _template_parameters(body: str) -> dict[str, str | None] | None:
    """The template's parameters and their defaults (None: no Default); None when the body is
    not a template (then parameters are taken as given). Parsed as the Service Catalog
    stand-in parses templates."""
    from factory.testing.servicecatalog.templates import parse_template

    document = parse_template(body)
    if document is None:
        return None
    declared = document.get("Parameters") or {}
    return {
        str(key): (None if "Default" not in spec else _text(spec["Default"]))
        for key, spec in declared.items()
        if isinstance(spec, dict)
    }


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def describe_stack_set(self: Any) -> Any:
    with _LOCK:
        stack_set = _stack_set(self)
        body: dict[str, Any] = {
            "StackSetName": stack_set.name,
            "StackSetId": stack_set.stack_set_id,
            "StackSetARN": stack_set.arn,
            "Description": stack_set.description,
            "Status": "ACTIVE",
            "TemplateBody": stack_set.body,
            "Parameters": dict(stack_set.parameters),
            "Tags": dict(stack_set.tags),
            "PermissionModel": stack_set.permission_model,
        }
        if stack_set.auto_deployment is not None:
            body["AutoDeployment"] = stack_set.auto_deployment
        if stack_set.permission_model == "SELF_MANAGED":
            body["AdministrationRoleARN"] = stack_set.admin_role
            body["ExecutionRoleName"] = stack_set.execution_role
        return _result({"StackSet": body})


def update_stack_set(self: Any) -> Any:
    """UpdateStackSet: the request is validated (template, parameters, permission model)
    before its operation starts, so a refused update changes nothing."""
    with _LOCK:
        stack_set = _stack_set(self)
        regions = self._get_param("Regions", [])
        chosen = _targets(self, stack_set) if regions else []
        keys = (
            [(a, r) for a, _ in chosen for r in regions if (a, r) in stack_set.instances]
            if regions
            else sorted(stack_set.instances)
        )
        targets = [(a, r, _ou(stack_set, a, r)) for a, r in keys]
        body = stack_set.body
        if self._get_param("TemplateURL"):
            body = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
        elif self._get_param("TemplateBody"):
            body = self._get_param("TemplateBody")
        given = self._get_param("Parameters", [])
        parameters = _parameters(given, stack_set.parameters, body)
        model = _permission_model(self, stack_set)
        operation_id = _start(self, stack_set, "UPDATE", targets)
        stack_set.body, stack_set.parameters, stack_set.permission_model = body, parameters, model
        if self._get_param("Description") is not None:
            stack_set.description = self._get_param("Description")
        if self._get_params().get("AutoDeployment") is not None:
            stack_set.auto_deployment = self._get_params()["AutoDeployment"]
        return _result({"OperationId": operation_id})


def _permission_model(response: Any, stack_set: _StackSet) -> str:
    """ "You cannot modify PermissionModel if there are stack instances associated with your
    stack set" (botocore's cloudformation model, UpdateStackSetInput.PermissionModel)."""
    wanted = response._get_param("PermissionModel") or stack_set.permission_model
    if wanted != stack_set.permission_model and stack_set.instances:
        raise _error(
            "ValidationError",
            "You cannot modify PermissionModel if there are stack instances associated with "
            "your stack set",
        )
    return str(wanted)


def _ou(stack_set: _StackSet, account: str, region: str) -> str:
    return str(stack_set.instances[(account, region)].get("OrganizationalUnitId", ""))


def create_stack_instances(self: Any) -> Any:
    with _LOCK:
        stack_set = _stack_set(self)
        regions = self._get_param("Regions", [])
        pairs = _targets(self, stack_set)
        targets = [(account, region, ou) for region in regions for account, ou in pairs]
        return _result({"OperationId": _start(self, stack_set, "CREATE", targets)})


def update_stack_instances(self: Any) -> Any:
    with _LOCK:
        stack_set = _stack_set(self)
        regions = self._get_param("Regions", [])
        pairs = _targets(self, stack_set)
        missing = [(a, r) for a, _ in pairs for r in regions if (a, r) not in stack_set.instances]
        if missing:
            raise _error("StackInstanceNotFoundException", f"no stack instance {missing[0]}")
        targets = [(account, region, ou) for region in regions for account, ou in pairs]
        return _result({"OperationId": _start(self, stack_set, "UPDATE", targets)})


def delete_stack_instances(self: Any) -> Any:
    with _LOCK:
        stack_set = _stack_set(self)
        regions = self._get_param("Regions", [])
        pairs = _targets(self, stack_set)
        targets = [
            (account, region, ou)
            for region in regions
            for account, ou in pairs
            if (account, region) in stack_set.instances
        ]
        return _result({"OperationId": _start(self, stack_set, "DELETE", targets)})


def detect_stack_set_drift(self: Any) -> Any:
    """DetectStackSetDrift (botocore model: StackSetName, OperationPreferences, OperationId,
    CallAs; errors InvalidOperationException, OperationInProgressException,
    StackSetNotFoundException): a DETECT_DRIFT operation over every instance."""
    with _LOCK:
        stack_set = _stack_set(self)
        targets = [(a, r, _ou(stack_set, a, r)) for a, r in sorted(stack_set.instances)]
        return _result({"OperationId": _start(self, stack_set, "DETECT_DRIFT", targets)})


def list_stack_instances(self: Any) -> Any:
    with _LOCK:
        stack_set = _stack_set(self)
        summaries = [
            {"DriftStatus": BEHAVIOUR.drift_status} | instance
            for _, instance in sorted(stack_set.instances.items())
        ]
        return _result(_page(self, summaries, 100))


def _page(response: Any, items: list[Any], limit: int) -> dict[str, Any]:
    """One page: NextToken is the index of the next item (MaxResults at most `limit`)."""
    size = min(int(response._get_param("MaxResults") or limit), limit)
    start = int(response._get_param("NextToken") or 0)
    page: dict[str, Any] = {"Summaries": items[start : start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page


def _operation(self: Any) -> tuple[_StackSet, _Operation]:
    stack_set = _stack_set(self)
    operation_id = self._get_param("OperationId")
    for operation in stack_set.operations:
        if operation.operation_id == operation_id:
            return stack_set, operation
    raise _error("OperationNotFoundException", f"operation {operation_id} not found")


def describe_stack_set_operation(self: Any) -> Any:
    with _LOCK:
        stack_set, operation = _operation(self)
        return _result({"StackSetOperation": _summary(stack_set, operation)})


def _summary(stack_set: _StackSet, operation: _Operation) -> dict[str, Any]:
    return {
        "OperationId": operation.operation_id,
        "StackSetId": stack_set.stack_set_id,
        "Action": operation.action,
        "Status": operation.status,
    }


def list_stack_set_operation_results(self: Any) -> Any:
    with _LOCK:
        _, operation = _operation(self)
        return _result(_page(self, list(operation.results), 100))


def list_stack_set_operations(self: Any) -> Any:
    with _LOCK:
        stack_set = _stack_set(self)
        newest_first = [_summary(stack_set, op) for op in reversed(stack_set.operations)]
        return _result(_page(self, newest_first, 100))


HANDLERS = {
    "create_stack_set": create_stack_set,
    "describe_stack_set": describe_stack_set,
    "update_stack_set": update_stack_set,
    "create_stack_instances": create_stack_instances,
    "update_stack_instances": update_stack_instances,
    "delete_stack_instances": delete_stack_instances,
    "list_stack_instances": list_stack_instances,
    "detect_stack_set_drift": detect_stack_set_drift,
    "describe_stack_set_operation": describe_stack_set_operation,
    "list_stack_set_operation_results": list_stack_set_operation_results,
    "list_stack_set_operations": list_stack_set_operations,
}


def installed() -> bool:
    from moto.cloudformation.responses import CloudFormationResponse

    return all(getattr(getattr(CloudFormationResponse, n), _MARK, False) for n in HANDLERS)


def install() -> None:
    """Replace moto's StackSet handlers in this process (idempotent)."""
    from moto.cloudformation.responses import CloudFormationResponse

    for name, handler in HANDLERS.items():
        setattr(handler, _MARK, True)
        setattr(CloudFormationResponse, name, handler)
