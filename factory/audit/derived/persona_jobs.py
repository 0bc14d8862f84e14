"""Each persona can do its job: every operation the publisher calls is allowed to the
PublisherRole, every operation a cloud admin needs to launch, update, terminate and watch a
product is allowed to the CloudAdminRole.

Where the operations come from (data files in ``factory/audit/data/``):

* ``publisher_operations.json``: recorded from the code. ``tests/audit/test_persona_operations.py``
  drives ``plan``/``publish`` through every path against local AWS with
  ``factory.testing.recorder.OperationRecorder`` and fails when the file differs from what was
  recorded, or when an AST scan of ``factory/publish/`` finds a client call the file lacks. So a
  new AWS call in the publisher without a permission fails the audit.
* ``cloud_admin_operations.json``: the console and CLI jobs of a cloud admin, each entry with
  its source (the AWS managed policy ``AWSServiceCatalogEndUserFullAccess`` intersected with
  what our products need, and the operations ``studio-factory users`` calls: Service Catalog
  end-user calls, IAM Identity Center identity-store reads for ``users sync
  --identity-center-group`` and Service Quotas reads before a bulk import).
  ``tests/audit/test_users_operations.py`` scans ``factory/users/`` and ``factory/cli/users*.py``
  (AST) and fails when the code calls an AWS operation the file does not list, or a SageMaker
  one.

How an operation becomes IAM requests:

* the IAM action: for Service Catalog, SSM, STS, ... the operation name under the service's
  signing name, verified against the Service Authorization Reference (SAR); for S3 a table from
  the S3 API Reference (:data:`S3_ACTIONS`);
* plus what AWS documents the call needs besides (``_EXTRA``) and the SAR's
  dependent actions, except those a data-file entry names under
  ``dependent_actions_not_needed`` with its reason (each must be a SAR dependent of the
  operation, else the entry is stale and fails);
* each action is requested on an ARN of every SAR resource type it accepts (a portfolio
  ``port-...``, a product ``prod-...``, the bootstrap's template bucket and SSM parameter, the
  launch role, an identity store ``d-...`` of the bootstrap's account and a group, user and
  membership of it), or on ``*`` when it accepts none. An Allow scoped to ARNs for an action
  that accepts only ``*`` never matches, and this proof reports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import botocore.session

from factory.audit import sar
from factory.audit.actions import canonical_action
from factory.audit.derived import _world
from factory.audit.derived.base import BOOTSTRAP, AuditInputs, Failure, ProofResult
from factory.audit.evaluator import PolicySet, Request, evaluate, resolve_principals
from factory.audit.patterns import any_match, as_list
from factory.audit.resolver import DEFAULT_CONTEXT, ResolveError, TemplateResolver
from factory.naming import PUBLISH_LOCK_PREFIX, TEMPLATE_BUCKET_SSM_PARAMETER

ORDER = 80
PROOF_ID = "persona-jobs"
TITLE = "Each persona can do its job (publisher and cloud admin operations)"

DATA_PACKAGE = "factory.audit"
PUBLISHER_FILE = "data/publisher_operations.json"
CLOUD_ADMIN_FILE = "data/cloud_admin_operations.json"
PUBLISHER_ROLE = "PublisherRole"
CLOUD_ADMIN_ROLE = "CloudAdminRole"

RECORDED = f"a publisher call (factory/audit/{PUBLISHER_FILE})"

#: S3's actions are not named after its operations. Source: Amazon S3 API Reference, section
#: "Permissions" of each operation (https://docs.aws.amazon.com/AmazonS3/latest/API/):
#: HeadObject and GetObject need s3:GetObject, and "If the object you request doesn't exist ...
#: If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403":
#: the publisher's HeadObject-before-upload treats only 404 as "missing", so it needs both.
#: ListObjectsV2 and HeadBucket need s3:ListBucket; PutObject s3:PutObject; DeleteObject
#: s3:DeleteObject; GetBucketLocation s3:GetBucketLocation.
S3_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "HeadObject": ("s3:GetObject", "s3:ListBucket"),
    "GetObject": ("s3:GetObject", "s3:ListBucket"),
    "PutObject": ("s3:PutObject",),
    "DeleteObject": ("s3:DeleteObject",),
    "ListObjectsV2": ("s3:ListBucket",),
    "ListObjects": ("s3:ListBucket",),
    "HeadBucket": ("s3:ListBucket",),
    "GetBucketLocation": ("s3:GetBucketLocation",),
}
S3_SOURCE = "Amazon S3 API Reference, {operation}, section Permissions"

#: AWS managed policy AWSServiceCatalogAdminFullAccess (iam-dataset copy, version of 2023-04-13):
#: for publishing it grants cloudformation:ValidateTemplate and GetTemplateSummary, iam:GetRole
#: and iam:PassRole with iam:PassedToService = servicecatalog.amazonaws.com, all on "*".
#: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSServiceCatalogAdminFullAccess.html
ADMIN_POLICY = "AWSServiceCatalogAdminFullAccess"
#: https://docs.aws.amazon.com/servicecatalog/latest/adminguide/constraints-launch.html: "To
#: create and assign IAM roles, you must have ... iam:PassRole, iam:Get*, iam:List*".
LAUNCH_CONSTRAINT_GUIDE = 'Admin Guide "AWS Service Catalog Launch Constraints"'
#: Service Catalog copies the template named by LoadTemplateFromURL; the guides do not say with
#: whose credentials, so the worst case (the caller's) is modelled (issue 7).
TEMPLATE_READ = "reading LoadTemplateFromURL (worst case, issue 7)"
SERVICE_CATALOG_PRINCIPAL = "servicecatalog.amazonaws.com"

#: Sample identifiers for the SAR's ARN placeholders (catalog ids have 13 characters).
PORTFOLIO_ID = "port-abcdefghijklm"
STACK_SET_NAME = "studio-catalog-bootstrap"
#: Where the bootstrap StackSet is, at worst, for the catalog account's publisher: another
#: region (the administration region) and another account ("StackSets with service-managed
#: permissions are created in the management account, including StackSets that are created by
#: delegated administrators", botocore model, CreateStackSetInput.CallAs).
STACK_SET_ELSEWHERE = {"Account": "210987654321", "Region": "ap-southeast-2"}
STACK_SET_ID = "0a1b2c3d-0000-4000-8000-00000000000d"
PRODUCT_ID = "prod-abcdefghijklm"
TEMPLATE_OBJECT = "studio-domain/" + "0" * 64 + ".yaml"
#: IAM Identity Center identity store (botocore model identitystore: IdentityStoreId
#: ``d-[0-9a-f]{10}``, ResourceId ``([0-9a-f]{10}-|)<UUID>`` for users, groups and memberships).
IDENTITY_STORE_ID = "d-0123456789"
GROUP_ID = "0123456789-a1b2c3d4-0000-4000-8000-00000000000a"
USER_ID = "0123456789-a1b2c3d4-0000-4000-8000-00000000000b"
MEMBERSHIP_ID = "0123456789-a1b2c3d4-0000-4000-8000-00000000000c"
#: The objects an S3 operation of the publisher's names when it is not a template: the
#: publisher deletes only its per-region publish lock (factory/publish/lock.py).
S3_OBJECT_FOR = {"DeleteObject": PUBLISH_LOCK_PREFIX + "publish-us-east-1.json"}

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One API operation a persona calls, as botocore names it."""

    service: str  # botocore service name: servicecatalog, s3, ssm
    operation: str  # CreateProduct
    source: str
    context: Mapping[str, str] = field(default_factory=dict)
    #: SAR dependent actions this call does not need -> why (data file, with its reason)
    dependents_not_needed: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass(frozen=True)
class Persona:
    role: str  # logical id in the bootstrap template
    job: str
    operations: tuple[Operation, ...]
    forbidden_prefixes: tuple[str, ...] = ()  # services the persona must never need


def _read(name: str) -> Any:
    return json.loads(resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8"))


def publisher_operations(data: Sequence[Mapping[str, str]] | None = None) -> tuple[Operation, ...]:
    entries = _read(PUBLISHER_FILE) if data is None else data
    return tuple(Operation(e["service"], e["operation"], RECORDED) for e in entries)


def cloud_admin_operations(data: Mapping[str, Any] | None = None) -> tuple[Operation, ...]:
    document = _read(CLOUD_ADMIN_FILE) if data is None else data
    return tuple(
        Operation(
            e["service"],
            e["operation"],
            e["source"],
            e.get("context", {}),
            _not_needed(e.get("dependent_actions_not_needed")),
        )
        for e in document["operations"]
    )


def _not_needed(entry: Mapping[str, Any] | None) -> dict[str, str]:
    """``{"actions": [...], "reason": "..."}`` -> action -> reason (a reason is required)."""
    if not entry:
        return {}
    reason = str(entry.get("reason", "")).strip()
    if not reason:
        raise ValueError(f"dependent_actions_not_needed without a reason: {entry}")
    return {str(action): reason for action in entry["actions"]}


def personas() -> tuple[Persona, ...]:
    return (
        Persona(PUBLISHER_ROLE, "publish the catalog", publisher_operations()),
        Persona(
            CLOUD_ADMIN_ROLE,
            "launch, update, terminate and watch products (studio-factory users included)",
            cloud_admin_operations(),
            # README and FIELD-NOTES "The people": the cloud admin holds no sagemaker:*.
            forbidden_prefixes=("sagemaker",),
        ),
    )


# --- the account the requests are made in -----------------------------------------------------


@dataclass(frozen=True)
class Account:
    """Values for the SAR's ``${Placeholder}`` fields, taken from the bootstrap template."""

    values: Mapping[str, str]

    def arn(self, arn_format: str) -> str | None:
        """The format with every placeholder filled, or None when one has no value."""
        values = dict(self.values)
        if ":stackset/" in arn_format:
            values |= STACK_SET_ELSEWHERE
        names = _PLACEHOLDER.findall(arn_format)
        if any(name not in values for name in names):
            return None
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], arn_format)


def account_of(bootstrap: Mapping[str, Any]) -> Account:
    resolver = TemplateResolver(bootstrap)
    launch_role_arn = _world.launch_role(bootstrap).principal_arn
    return Account(
        {
            "Partition": str(DEFAULT_CONTEXT["AWS::Partition"]),
            "Region": str(DEFAULT_CONTEXT["AWS::Region"]),
            "Account": str(DEFAULT_CONTEXT["AWS::AccountId"]),
            "PortfolioId": PORTFOLIO_ID,
            "ProductId": PRODUCT_ID,
            "BucketName": _template_bucket(resolver),
            "ObjectName": TEMPLATE_OBJECT,
            "ParameterNameWithoutLeadingSlash": TEMPLATE_BUCKET_SSM_PARAMETER.lstrip("/"),
            "RoleNameWithPath": launch_role_arn.split(":role/", 1)[1],
            "IdentityStoreId": IDENTITY_STORE_ID,
            "GroupId": GROUP_ID,
            "UserId": USER_ID,
            "MembershipId": MEMBERSHIP_ID,
            # The bootstrap StackSet (factory.rollout), read by the publisher's coverage check.
            "StackSetName": STACK_SET_NAME,
            "Id": STACK_SET_ID,
        }
    )


def _template_bucket(resolver: TemplateResolver) -> str:
    """The bucket the publisher uploads to: the value of the bootstrap's SSM parameter."""
    for resource in resolver.resources.values():
        if resource.get("Type") != "AWS::SSM::Parameter":
            continue
        properties = resource.get("Properties", {})
        if resolver.resolve(properties.get("Name")) == TEMPLATE_BUCKET_SSM_PARAMETER:
            value = str(resolver.resolve(properties.get("Value")))
            bucket = resolver.resources.get(value, {})
            if bucket.get("Type") == "AWS::S3::Bucket":  # Ref resolves to the logical id
                return resolver.arn_of(value).rsplit(":", 1)[1]
            return value
    raise LookupError(
        f"the bootstrap template creates no SSM parameter {TEMPLATE_BUCKET_SSM_PARAMETER}"
    )


# --- operation -> IAM requests --------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    action: str
    source: str
    context: Mapping[str, str] = field(default_factory=dict)
    resource_types: tuple[str, ...] | None = None  # None: every SAR type we can build
    object_key: str | None = None  # S3 object the request names (default: a template)


class MappingError(LookupError):
    """An operation or action this proof cannot turn into a request."""


@cache
def _iam_prefix(service: str) -> str:
    """IAM service prefix of a botocore service: its model's signing name."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception as error:  # botocore raises UnknownServiceError
        raise MappingError(f"botocore has no service {service!r}") from error
    return str(model.signing_name or model.endpoint_prefix)


def primary_requirements(op: Operation) -> list[Requirement]:
    """The IAM action(s) named after the operation (S3: from :data:`S3_ACTIONS`)."""
    if op.service == "s3":
        if op.operation not in S3_ACTIONS:
            raise MappingError(f"s3:{op.operation} is not in S3_ACTIONS (S3 API Reference)")
        source = f"{op.label}, {op.source}; {S3_SOURCE.format(operation=op.operation)}"
        key = S3_OBJECT_FOR.get(op.operation)
        return [
            Requirement(action, source, op.context, object_key=key)
            for action in S3_ACTIONS[op.operation]
        ]
    action = canonical_action(f"{_iam_prefix(op.service)}:{op.operation}")
    if action is None:
        raise MappingError(
            f"no IAM action {_iam_prefix(op.service)}:{op.operation} in the SAR: map the "
            "operation to its action in factory/audit/derived/persona_jobs.py"
        )
    return [Requirement(action, f"{op.label}, {op.source}", op.context)]


def _template_requirements(op: Operation) -> list[Requirement]:
    """CreateProduct / CreateProvisioningArtifact with LoadTemplateFromURL."""
    return [
        Requirement("cloudformation:ValidateTemplate", ADMIN_POLICY),
        Requirement("cloudformation:GetTemplateSummary", ADMIN_POLICY),
        Requirement("s3:GetObject", TEMPLATE_READ, resource_types=("object",)),
    ]


def _launch_role_requirements(op: Operation) -> list[Requirement]:
    """Create/UpdateConstraint of type LAUNCH name the launch role (LocalRoleName or RoleArn)."""
    source = f"{LAUNCH_CONSTRAINT_GUIDE}; {ADMIN_POLICY}"
    return [
        Requirement("iam:PassRole", source, {"iam:PassedToService": SERVICE_CATALOG_PRINCIPAL}),
        Requirement("iam:GetRole", source),
    ]


_EXTRA = {
    ("servicecatalog", "CreateProduct"): _template_requirements,
    ("servicecatalog", "CreateProvisioningArtifact"): _template_requirements,
    ("servicecatalog", "CreateConstraint"): _launch_role_requirements,
    ("servicecatalog", "UpdateConstraint"): _launch_role_requirements,
}


#: Operations IAM never checks: "No permissions are required to perform this operation"
#: (STS API Reference, GetCallerIdentity; an explicit Deny does not stop it either).
NO_PERMISSION = frozenset({("sts", "GetCallerIdentity")})


def requirements(op: Operation) -> list[Requirement]:
    """Every IAM action one operation needs: its own, documented extras, SAR dependents."""
    if (op.service, op.operation) in NO_PERMISSION:
        return []
    found = primary_requirements(op)
    extra = _EXTRA.get((op.service, op.operation))
    if extra is not None:
        found += [
            Requirement(r.action, f"{op.label} needs it ({r.source})", r.context, r.resource_types)
            for r in extra(op)
        ]
    dependents: set[str] = set()
    for requirement in list(found):
        for dependent in sar.dependent_actions(requirement.action):
            dependents.add(dependent)
            if dependent in op.dependents_not_needed:
                continue
            source = f"dependent action of {requirement.action} ({sar.SOURCE}), for {op.label}"
            found.append(
                Requirement(
                    dependent, source, requirement.context, object_key=requirement.object_key
                )
            )
    stale = sorted(set(op.dependents_not_needed) - dependents)
    if stale:
        raise MappingError(
            f"{op.label}: dependent_actions_not_needed names {', '.join(stale)}, which the SAR "
            f"does not list as dependent actions of it ({sar.SOURCE}): remove them"
        )
    return found


def resources_for(requirement: Requirement, account: Account) -> list[str]:
    """ARNs of every resource type the action accepts (that we can build), else ``*``."""
    if requirement.object_key is not None:
        account = Account({**account.values, "ObjectName": requirement.object_key})
    types = sar.resource_types(requirement.action)
    if requirement.resource_types is not None:
        types = tuple(t for t in types if t.name in requirement.resource_types)
    arns = [arn for arn in (account.arn(t.arn_format) for t in types) if arn]
    if arns:
        return list(dict.fromkeys(arns))
    unbuildable = [t.name for t in types if t.required]
    if unbuildable:
        raise MappingError(
            f"{requirement.action} needs a {'/'.join(unbuildable)} ARN and the proof has no "
            "sample value for its placeholders: add one in account_of()"
        )
    return ["*"]


# --- evaluation -----------------------------------------------------------------------------


@dataclass
class _Check:
    persona: Persona
    policies: PolicySet
    account: Account
    failures: list[Failure] = field(default_factory=list)
    requests: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = field(
        default_factory=dict
    )

    def fail(self, action: str, arn: str, source: str, reason: str) -> None:
        self.failures.append(Failure(BOOTSTRAP, self.persona.role, action, arn, source, reason))


def _collect(check: _Check) -> None:
    """Requests per (action, ARN, context), each with the sources that need it."""
    for op in check.persona.operations:
        try:
            needed = requirements(op)
        except (MappingError, sar.UnknownActionError) as error:
            check.fail(op.label, "-", op.source, str(error))
            continue
        for requirement in needed:
            _collect_requirement(check, op, requirement)


def _collect_requirement(check: _Check, op: Operation, requirement: Requirement) -> None:
    prefix = requirement.action.split(":", 1)[0].lower()
    if prefix in check.persona.forbidden_prefixes:
        check.fail(
            requirement.action,
            "-",
            requirement.source,
            f"{check.persona.role} must hold no {prefix} permission (README: personas); "
            f"{op.label} cannot be one of its jobs",
        )
        return
    try:
        arns = resources_for(requirement, check.account)
    except MappingError as error:
        check.fail(requirement.action, "-", requirement.source, str(error))
        return
    context = tuple(sorted(requirement.context.items()))
    for arn in arns:
        sources = check.requests.setdefault((requirement.action, arn, context), [])
        if requirement.source not in sources:
            sources.append(requirement.source)


def _decide(check: _Check) -> int:
    for (action, arn, context), sources in check.requests.items():
        request = Request(check.policies.principal_arn, action, arn, dict(context))
        decision = evaluate(check.policies, request)
        if decision.allowed:
            continue
        reason = (
            f"{check.persona.role} cannot {check.persona.job}: {decision.reason}"
            f"{_hint(check.policies, action, arn)}"
        )
        check.fail(action, arn, " | ".join(sources), reason)
    return len(check.requests)


def _hint(policies: PolicySet, action: str, arn: str) -> str:
    """Why an Allow that names the action did not match."""
    scopes = [
        resource
        for policy in policies.identity
        for statement in as_list(policy.document.get("Statement"))
        if isinstance(statement, Mapping)
        and statement.get("Effect") == "Allow"
        and _names_action(statement, action)
        for resource in as_list(statement.get("Resource"))
    ]
    if not scopes:
        return ""
    if arn == "*" and "*" not in scopes:
        return (
            f"; it is allowed only on {', '.join(map(str, scopes[:2]))}, but {action} accepts "
            f'only Resource "*" ({sar.SOURCE})'
        )
    return f"; allowed only on {', '.join(map(str, scopes[:2]))}"


def _names_action(statement: Mapping[str, Any], action: str) -> bool:
    return any_match(as_list(statement.get("Action")), action, ignore_case=True)


def check_personas(
    bootstrap: Mapping[str, Any], checked_personas: Iterable[Persona]
) -> tuple[int, list[Failure]]:
    """Evaluate each persona's operations against its role in ``bootstrap``."""
    principals = resolve_principals(bootstrap)
    account = account_of(bootstrap)
    checked, failures = 0, []
    for persona in checked_personas:
        policies = principals.get(persona.role)
        if policies is None:
            failures.append(
                Failure(BOOTSTRAP, persona.role, "-", "-", "personas", "role not in template")
            )
            continue
        check = _Check(persona, policies, account)
        _collect(check)
        checked += _decide(check)
        failures += check.failures
    return checked, failures


def check(inputs: AuditInputs) -> ProofResult:
    try:
        checked, failures = check_personas(inputs.bootstrap, personas())
    except (LookupError, ResolveError) as error:
        failure = Failure(BOOTSTRAP, "-", "-", "-", PROOF_ID, str(error))
        return ProofResult(PROOF_ID, TITLE, 0, (failure,))
    return ProofResult(PROOF_ID, TITLE, checked, tuple(failures))
