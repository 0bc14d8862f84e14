"""Resolve a CloudFormation template into per-role IAM policy sets.

Intrinsic functions are replaced by concrete, symbolic values: pseudo parameters and parameters
come from the caller's `context` (falling back to parameter defaults), resources become
placeholder names or ARNs built from their logical ids, and `Fn::If` follows template conditions
(evaluated on the resolved values, or forced by the caller's `conditions`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from factory.audit.patterns import as_list, scalar_text

Document = Mapping[str, Any]

DEFAULT_CONTEXT: Mapping[str, Any] = {
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "studio-stack",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}

ROLE = "AWS::IAM::Role"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
INLINE_POLICY = "AWS::IAM::Policy"
ROLE_POLICY = "AWS::IAM::RolePolicy"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
LOG_GROUP = "AWS::Logs::LogGroup"
IMPORT_PREFIX = "Fn::ImportValue:"
#: A context key ``Fn::GetAtt:<LogicalId>.<Attribute>`` gives that attribute a realistic value
#: (e.g. a domain ID ``d-xxxxxxxxxxxx``); without it, non-ARN attributes stay placeholders.
GETATT_PREFIX = "Fn::GetAtt:"

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class ResolveError(ValueError):
    """The template cannot be resolved with the given context."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


@dataclass(frozen=True)
class Policy:
    name: str
    document: Document


@dataclass(frozen=True)
class PolicySet:
    """Everything that decides what one principal may do."""

    principal: str
    principal_arn: str
    identity: tuple[Policy, ...]
    boundary: Policy | None = None
    unresolved: tuple[str, ...] = ()
    unresolved_boundary: str | None = None


@dataclass
class TemplateResolver:
    template: Document
    context: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, bool] = field(default_factory=dict)
    _evaluated: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        merged = {**DEFAULT_CONTEXT, **self.context}
        merged.setdefault("AWS::StackId", _stack_id(merged))
        self.context = merged

    @property
    def resources(self) -> Document:
        resources: Document = self.template.get("Resources", {})
        return resources

    def resolve(self, node: Any) -> Any:
        if isinstance(node, Mapping):
            return self._resolve_mapping(node)
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if isinstance(node, date):
            return node.isoformat()
        return node

    def _resolve_mapping(self, node: Document) -> Any:
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._intrinsic(key)(argument)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _intrinsic(self, name: str) -> Callable[[Any], Any]:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::GetAtt": self._get_att,
            "Fn::If": self._if,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::ImportValue": self._import_value,
            "Fn::FindInMap": self._find_in_map,
        }
        if name not in handlers:
            raise ResolveError(f"unsupported intrinsic function {name}")
        return handlers[name]

    def _ref(self, name: Any) -> Any:
        name = self.resolve(name)
        if name == "AWS::NoValue":
            return NO_VALUE
        parameters = self.template.get("Parameters", {})
        if name in self.context:
            return _parameter_value(parameters.get(name, {}), self.context[name])
        if name in parameters:
            if "Default" not in parameters[name]:
                raise ResolveError(f"parameter {name} has no default and no value in the context")
            return _parameter_value(parameters[name], parameters[name]["Default"])
        if name in self.resources:
            return self.physical_ref(name)
        raise ResolveError(f"Ref to unknown name {name!r}")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        if not isinstance(text, str):
            raise ResolveError(f"Fn::Sub needs a string template, got {text!r}")
        bound = {key: self.resolve(value) for key, value in variables.items()}
        return _SUB_VARIABLE.sub(lambda m: self._sub_variable(m.group(1).strip(), bound), text)

    def _sub_variable(self, name: str, bound: Mapping[str, Any]) -> str:
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in bound:
            value = bound[name]
        elif "." in name and name.split(".", 1)[0] in self.resources:
            value = self._get_att(name)
        else:
            try:
                value = self._ref(name)
            except ResolveError as error:
                raise ResolveError(
                    f"{error} in Fn::Sub (write ${{!{name}}} for a literal)"
                ) from None
        if isinstance(value, list):
            raise ResolveError(f"Fn::Sub variable {name} resolves to a list")
        return scalar_text(value)

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(scalar_text(item) for item in self._list(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        values = self._list(items)
        position = int(self.resolve(index))
        if not 0 <= position < len(values):
            raise ResolveError(f"Fn::Select index {position} out of range")
        return values[position]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = argument
        return scalar_text(self.resolve(text)).split(str(delimiter))

    def _list(self, node: Any) -> list[Any]:
        value = self.resolve(node)
        if not isinstance(value, list):
            raise ResolveError(f"expected a list, got {value!r}")
        return value

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _import_value(self, argument: Any) -> Any:
        name = scalar_text(self.resolve(argument))
        return self.context.get(IMPORT_PREFIX + name, f"import:{name}")

    def _find_in_map(self, argument: Any) -> Any:
        map_name, top, second, *rest = (self.resolve(part) for part in argument)
        try:
            return self.resolve(self.template["Mappings"][map_name][top][second])
        except KeyError:
            if rest and isinstance(rest[0], Mapping) and "DefaultValue" in rest[0]:
                return rest[0]["DefaultValue"]
            raise ResolveError(f"Fn::FindInMap: no {map_name}/{top}/{second}") from None

    def _get_att(self, argument: Any) -> str:
        logical_id, attribute = (
            argument.split(".", 1) if isinstance(argument, str) else self.resolve(argument)
        )
        if logical_id not in self.resources:
            raise ResolveError(f"Fn::GetAtt to unknown resource {logical_id!r}")
        override = f"{GETATT_PREFIX}{logical_id}.{attribute}"
        if override in self.context:
            return scalar_text(self.context[override])
        kind = self.resources[logical_id].get("Type")
        arn = self.arn_of(logical_id) if (kind, attribute) in _ARN_ATTRIBUTES else None
        return arn or f"{logical_id}.{attribute}"

    def physical_ref(self, logical_id: str) -> str:
        kind = self.resources[logical_id].get("Type")
        if kind == MANAGED_POLICY:
            return self.arn_of(logical_id)
        if kind == ROLE:
            return self._name(logical_id, "RoleName")
        return logical_id

    def _name(self, logical_id: str, prop: str) -> str:
        properties = self.resources[logical_id].get("Properties", {})
        return scalar_text(self.resolve(properties.get(prop, logical_id)))

    def _path(self, logical_id: str) -> str:
        path = scalar_text(
            self.resolve(self.resources[logical_id].get("Properties", {}).get("Path", "/"))
        )
        return path if path.endswith("/") else path + "/"

    def arn_of(self, logical_id: str) -> str:
        """Placeholder ARN of a role, managed policy, bucket, KMS key, Lambda function or log
        group in the template (the name property, else the logical id)."""
        kind = self.resources[logical_id].get("Type")
        partition = self.context["AWS::Partition"]
        account = self.context["AWS::AccountId"]
        if kind == ROLE:
            name = self._name(logical_id, "RoleName")
            return f"arn:{partition}:iam::{account}:role{self._path(logical_id)}{name}"
        if kind == MANAGED_POLICY:
            name = self._name(logical_id, "ManagedPolicyName")
            return f"arn:{partition}:iam::{account}:policy{self._path(logical_id)}{name}"
        if kind == "AWS::S3::Bucket":
            return f"arn:{partition}:s3:::{self._name(logical_id, 'BucketName')}"
        region = self.context["AWS::Region"]
        if kind == "AWS::KMS::Key":
            return f"arn:{partition}:kms:{region}:{account}:key/{logical_id}"
        if kind == LAMBDA_FUNCTION:
            name = self._name(logical_id, "FunctionName")
            return f"arn:{partition}:lambda:{region}:{account}:function:{name}"
        if kind == LOG_GROUP:
            name = self._name(logical_id, "LogGroupName")
            return f"arn:{partition}:logs:{region}:{account}:log-group:{name}:*"
        raise ResolveError(f"no ARN placeholder for {kind} {logical_id}")

    def condition(self, name: str) -> bool:
        if name in self.conditions:
            return bool(self.conditions[name])
        if name not in self._evaluated:
            definitions = self.template.get("Conditions", {})
            if name not in definitions:
                raise ResolveError(f"unknown condition {name!r}")
            self._evaluated[name] = self._condition_expression(definitions[name])
        return self._evaluated[name]

    def _condition_expression(self, node: Any) -> bool:
        if isinstance(node, bool):
            return node
        if not (isinstance(node, Mapping) and len(node) == 1):
            raise ResolveError(f"invalid condition expression {node!r}")
        ((key, argument),) = node.items()
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Equals":
            left, right = (self.resolve(side) for side in argument)
            return bool(_comparable(left) == _comparable(right))
        if key == "Fn::Not":
            return not self._condition_expression(as_list(argument)[0])
        if key in ("Fn::And", "Fn::Or"):
            results = [self._condition_expression(item) for item in argument]
            return all(results) if key == "Fn::And" else any(results)
        raise ResolveError(f"unsupported condition function {key}")

    def exists(self, logical_id: str) -> bool:
        name = self.resources[logical_id].get("Condition")
        return name is None or self.condition(name)


_ARN_ATTRIBUTES = frozenset(
    {
        (ROLE, "Arn"),
        (MANAGED_POLICY, "PolicyArn"),
        ("AWS::S3::Bucket", "Arn"),
        ("AWS::KMS::Key", "Arn"),
        (LAMBDA_FUNCTION, "Arn"),
        (LOG_GROUP, "Arn"),
    }
)


def _stack_id(context: Mapping[str, Any]) -> str:
    return (
        f"arn:{context['AWS::Partition']}:cloudformation:{context['AWS::Region']}"
        f":{context['AWS::AccountId']}:stack/{context['AWS::StackName']}"
        "/00000000-0000-0000-0000-000000000000"
    )


def _comparable(value: Any) -> str | list[str]:
    return [scalar_text(v) for v in value] if isinstance(value, list) else scalar_text(value)


def _parameter_value(declaration: Document, value: Any) -> Any:
    kind = str(declaration.get("Type", ""))
    is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
    if is_list and isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return value


def resolve_value(
    value: Any,
    template: Document,
    context: Mapping[str, Any] | None = None,
    conditions: Mapping[str, bool] | None = None,
) -> Any:
    """Resolve the intrinsic functions in one template fragment."""
    return TemplateResolver(template, context or {}, conditions or {}).resolve(value)


@dataclass
class _Attachments:
    policies: dict[str, Policy] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def add(self, policy: Policy) -> None:
        self.policies.setdefault(policy.name, policy)


def _resources_of(resolver: TemplateResolver, kind: str) -> dict[str, Document]:
    return {
        logical_id: resource
        for logical_id, resource in resolver.resources.items()
        if resource.get("Type") == kind and resolver.exists(logical_id)
    }


def _properties(resolver: TemplateResolver, resource: Document, *names: str) -> dict[str, Any]:
    properties = resource.get("Properties", {})
    return {name: resolver.resolve(properties[name]) for name in names if name in properties}


def _lookup(
    arn: str,
    managed: Mapping[str, Policy],
    external: Mapping[str, Document],
) -> Policy | None:
    if arn in managed:
        return managed[arn]
    if arn in external:
        return Policy(arn, external[arn])
    return None


def _role_attachments(
    resolver: TemplateResolver,
) -> tuple[dict[str, Policy], dict[str, list[Policy]]]:
    """Managed policies by ARN, and the policies that name a role (by role name) themselves."""
    by_arn: dict[str, Policy] = {}
    by_role_name: dict[str, list[Policy]] = {}
    for logical_id, resource in _resources_of(resolver, MANAGED_POLICY).items():
        props = _properties(resolver, resource, "PolicyDocument", "Roles")
        policy = Policy(logical_id, props.get("PolicyDocument", {}))
        by_arn[resolver.arn_of(logical_id)] = policy
        for role in props.get("Roles", []):
            by_role_name.setdefault(scalar_text(role), []).append(policy)
    for kind, prop in ((INLINE_POLICY, "Roles"), (ROLE_POLICY, "RoleName")):
        for logical_id, resource in _resources_of(resolver, kind).items():
            props = _properties(resolver, resource, "PolicyDocument", prop)
            policy = Policy(logical_id, props.get("PolicyDocument", {}))
            for role in as_list(props.get(prop)):
                by_role_name.setdefault(scalar_text(role), []).append(policy)
    return by_arn, by_role_name


def resolve_principals(
    template: Document,
    context: Mapping[str, Any] | None = None,
    conditions: Mapping[str, bool] | None = None,
    external_policies: Mapping[str, Document] | None = None,
) -> dict[str, PolicySet]:
    """Policy sets of every `AWS::IAM::Role` in the template, keyed by logical id.

    `external_policies` maps managed-policy ARNs that are not in the template (AWS managed
    policies, imports) to their documents; ARNs found in neither are listed in `unresolved`.
    """
    resolver = TemplateResolver(template, context or {}, conditions or {})
    external = external_policies or {}
    by_arn, by_role_name = _role_attachments(resolver)
    return {
        logical_id: _policy_set(resolver, logical_id, resource, by_arn, by_role_name, external)
        for logical_id, resource in _resources_of(resolver, ROLE).items()
    }


def _policy_set(
    resolver: TemplateResolver,
    logical_id: str,
    resource: Document,
    by_arn: Mapping[str, Policy],
    by_role_name: Mapping[str, list[Policy]],
    external: Mapping[str, Document],
) -> PolicySet:
    props = _properties(resolver, resource, "Policies", "ManagedPolicyArns", "PermissionsBoundary")
    attached = _Attachments()
    for inline in props.get("Policies", []):
        attached.add(Policy(f"{logical_id}/{inline['PolicyName']}", inline["PolicyDocument"]))
    for arn in props.get("ManagedPolicyArns", []):
        policy = _lookup(scalar_text(arn), by_arn, external)
        if policy is None:
            attached.unresolved.append(scalar_text(arn))
        else:
            attached.add(policy)
    for policy in by_role_name.get(resolver.physical_ref(logical_id), []):
        attached.add(policy)
    boundary_arn = (
        scalar_text(props["PermissionsBoundary"]) if "PermissionsBoundary" in props else None
    )
    boundary = _lookup(boundary_arn, by_arn, external) if boundary_arn else None
    return PolicySet(
        principal=logical_id,
        principal_arn=resolver.arn_of(logical_id),
        identity=tuple(attached.policies.values()),
        boundary=boundary,
        unresolved=tuple(attached.unresolved),
        unresolved_boundary=boundary_arn if boundary_arn and boundary is None else None,
    )
