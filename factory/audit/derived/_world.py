"""The launch world the derived launch proofs share: the launch role, and each product template
resolved the way Service Catalog launches it, with realistic values instead of placeholders.

* Parameters of type ``AWS::SSM::Parameter::Value<...>`` take the value another stack publishes
  at their default path (the bootstrap stack's or the domain product's ``AWS::SSM::Parameter``
  resources), so a profile's boundary ARN, drain function ARN and domain ID are the ones the
  launch role's policy must match. Other parameters without a default get a sample by type.
* Resources get realistic identifiers (``d-xxxxxxxxxxxx`` domain IDs, ``sg-...`` groups, KMS key
  IDs) through the resolver's ``Fn::GetAtt:`` / ``Ref`` context overrides.
* Each product is resolved twice: with every Condition forced true (exercises every resource)
  and with default parameter values.

Everything is computed once per ``AuditInputs.templates`` object (a strong reference is kept
with the cache entry, so an id is never reused while cached).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from factory.audit.derived.base import AuditInputs
from factory.audit.patterns import scalar_text
from factory.audit.resolver import (
    DEFAULT_CONTEXT,
    GETATT_PREFIX,
    PolicySet,
    ResolveError,
    TemplateResolver,
    resolve_principals,
)

SSM_VALUE_TYPE = "AWS::SSM::Parameter::Value<"
SSM_PARAMETER = "AWS::SSM::Parameter"
SERVICE_CATALOG = "servicecatalog.amazonaws.com"

#: Samples for parameters without a default, by CloudFormation parameter type.
_PARAMETER_SAMPLES: Mapping[str, str] = {
    "AWS::EC2::VPC::Id": "vpc-0a1b2c3d4e5f60718",
    "AWS::EC2::Subnet::Id": "subnet-0a1b2c3d4e5f60718",
    "List<AWS::EC2::Subnet::Id>": "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
    "AWS::EC2::SecurityGroup::Id": "sg-0a1b2c3d4e5f60718",
    "List<AWS::EC2::SecurityGroup::Id>": "sg-0a1b2c3d4e5f60718",
    "Number": "1",
    "String": "alice",  # the one default-less String today is a person's profile name
}


@dataclass(frozen=True)
class Rendering:
    """One product template resolved under one condition setting."""

    path: str
    label: str  # "every condition true" or "default parameters"
    resolver: TemplateResolver

    @property
    def template(self) -> Mapping[str, Any]:
        return self.resolver.template


@dataclass(frozen=True)
class LaunchWorld:
    launch_role: PolicySet
    published: Mapping[str, str]  # SSM parameter name -> value
    renderings: tuple[Rendering, ...]


_CACHE: dict[int, tuple[object, LaunchWorld]] = {}
_CACHE_SIZE = 8


def world(inputs: AuditInputs) -> LaunchWorld:
    """The launch world of ``inputs`` (cached per templates object)."""
    key = id(inputs.templates)
    entry = _CACHE.get(key)
    if entry is not None and entry[0] is inputs.templates:
        return entry[1]
    built = _build(inputs)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (inputs.templates, built)
    return built


def _build(inputs: AuditInputs) -> LaunchWorld:
    bootstrap = TemplateResolver(inputs.bootstrap)
    published = dict(_published(bootstrap))
    products = dict(sorted(inputs.products.items()))
    for template in products.values():  # products publish for each other (domain -> profile)
        published.update(_published(_resolver(template, published, {})))
    renderings = tuple(
        Rendering(path, label, _resolver(template, published, conditions))
        for path, template in products.items()
        for label, conditions in _condition_settings(template)
    )
    return LaunchWorld(launch_role(inputs.bootstrap), published, renderings)


def launch_role(bootstrap: Mapping[str, Any]) -> PolicySet:
    """The role Service Catalog assumes: the bootstrap role trusted by servicecatalog."""
    principals = resolve_principals(bootstrap)
    resources = bootstrap.get("Resources", {})
    for logical_id, policies in principals.items():
        trust = resources[logical_id].get("Properties", {}).get("AssumeRolePolicyDocument", {})
        if SERVICE_CATALOG in str(trust):
            return policies
    raise LookupError("the bootstrap template has no role trusted by servicecatalog.amazonaws.com")


def _condition_settings(template: Mapping[str, Any]) -> list[tuple[str, dict[str, bool]]]:
    every = {name: True for name in template.get("Conditions", {})}
    settings = [("every condition true", every)]
    if every:
        settings.append(("default parameters", {}))
    return settings


def _published(resolver: TemplateResolver) -> dict[str, str]:
    """SSM parameter name -> value, for every AWS::SSM::Parameter the template creates."""
    found: dict[str, str] = {}
    for logical_id, resource in resolver.resources.items():
        if resource.get("Type") != SSM_PARAMETER or not resolver.exists(logical_id):
            continue
        properties = resource.get("Properties", {})
        try:
            name, value = (resolver.resolve(properties.get(k)) for k in ("Name", "Value"))
        except ResolveError:
            continue
        if isinstance(name, str) and value is not None:
            found[name] = scalar_text(value)
    return found


def _resolver(
    template: Mapping[str, Any], published: Mapping[str, str], conditions: Mapping[str, bool]
) -> TemplateResolver:
    context: dict[str, Any] = {**DEFAULT_CONTEXT, **_parameters(template, published)}
    context.update(_identifiers(template, context))
    first = TemplateResolver(template, context, conditions)
    context.update(_arn_attributes(first))
    return TemplateResolver(template, context, conditions)


def _parameters(template: Mapping[str, Any], published: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, declaration in template.get("Parameters", {}).items():
        kind = str(declaration.get("Type", "String"))
        default = declaration.get("Default")
        if kind.startswith(SSM_VALUE_TYPE):
            inner = kind[len(SSM_VALUE_TYPE) : -1]
            values[name] = published.get(str(default), _PARAMETER_SAMPLES.get(inner, "example"))
        elif default is None:
            values[name] = _PARAMETER_SAMPLES.get(kind, "example")
    return values


def _hex(logical_id: str) -> str:
    return hashlib.sha256(logical_id.encode()).hexdigest()


def _identifiers(template: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Realistic IDs for resources whose Ref/GetAtt would otherwise be a logical id."""
    partition, region = context["AWS::Partition"], context["AWS::Region"]
    account = context["AWS::AccountId"]
    values: dict[str, Any] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kind, h = resource.get("Type"), _hex(logical_id)
        if kind == "AWS::SageMaker::Domain":
            domain_id = f"d-{h[:12]}"
            arn = f"arn:{partition}:sagemaker:{region}:{account}:domain/{domain_id}"
            values[logical_id] = domain_id
            values[f"{GETATT_PREFIX}{logical_id}.DomainId"] = domain_id
            values[f"{GETATT_PREFIX}{logical_id}.DomainArn"] = arn
            values[f"{GETATT_PREFIX}{logical_id}.Url"] = (
                f"https://{domain_id}.studio.{region}.sagemaker.aws"
            )
        elif kind == "AWS::KMS::Key":
            key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
            values[logical_id] = key_id
            values[f"{GETATT_PREFIX}{logical_id}.KeyId"] = key_id
            values[f"{GETATT_PREFIX}{logical_id}.Arn"] = (
                f"arn:{partition}:kms:{region}:{account}:key/{key_id}"
            )
        elif kind == "AWS::EC2::SecurityGroup":
            values[logical_id] = f"sg-{h[:17]}"
            values[f"{GETATT_PREFIX}{logical_id}.GroupId"] = f"sg-{h[:17]}"
    return values


_SAGEMAKER_ARNS = {
    "AWS::SageMaker::UserProfile": ("UserProfileArn", "user-profile", "UserProfileName"),
    "AWS::SageMaker::Space": ("SpaceArn", "space", "SpaceName"),
}


def _arn_attributes(resolver: TemplateResolver) -> dict[str, Any]:
    """ARN attributes that need resolved properties (profile and space ARNs, SSM names)."""
    context = resolver.context
    values: dict[str, Any] = {}
    for logical_id, resource in resolver.resources.items():
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        try:
            if kind in _SAGEMAKER_ARNS:
                attribute, segment, name_key = _SAGEMAKER_ARNS[kind]
                domain, name = (resolver.resolve(properties.get(k)) for k in ("DomainId", name_key))
                values[f"{GETATT_PREFIX}{logical_id}.{attribute}"] = (
                    f"arn:{context['AWS::Partition']}:sagemaker:{context['AWS::Region']}:"
                    f"{context['AWS::AccountId']}:{segment}/{domain}/{name}"
                )
            elif kind in (SSM_PARAMETER, "AWS::KMS::Alias"):
                prop = "Name" if kind == SSM_PARAMETER else "AliasName"
                values[logical_id] = scalar_text(resolver.resolve(properties.get(prop)))
        except ResolveError:
            continue
    return values
