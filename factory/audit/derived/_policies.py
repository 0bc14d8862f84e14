"""Every IAM policy document a template emits, unresolved, with where it lives.

Shared by the derived proofs that read policies statement by statement (resource scope,
sizes). Documents are returned as written in the template (intrinsic functions and
``Fn::If`` included); :func:`statements` walks both branches of every statement-level
``Fn::If`` the way ``factory.audit.hygiene`` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from factory.audit.hygiene import branches
from factory.audit.patterns import as_list

INLINE = "inline"
MANAGED = "managed"
TRUST = "trust"
RESOURCE = "resource"

ROLE = "AWS::IAM::Role"

# (resource type, property holding the document, kind); inline policy lists are separate.
_DOCUMENT_PROPERTIES: tuple[tuple[str, str, str], ...] = (
    ("AWS::IAM::ManagedPolicy", "PolicyDocument", MANAGED),
    ("AWS::IAM::Policy", "PolicyDocument", INLINE),
    ("AWS::IAM::RolePolicy", "PolicyDocument", INLINE),
    ("AWS::IAM::UserPolicy", "PolicyDocument", INLINE),
    ("AWS::IAM::GroupPolicy", "PolicyDocument", INLINE),
    ("AWS::S3::BucketPolicy", "PolicyDocument", RESOURCE),
    ("AWS::SQS::QueuePolicy", "PolicyDocument", RESOURCE),
    ("AWS::SNS::TopicPolicy", "PolicyDocument", RESOURCE),
    ("AWS::KMS::Key", "KeyPolicy", RESOURCE),
    ("AWS::SecretsManager::ResourcePolicy", "ResourcePolicy", RESOURCE),
)
_INLINE_LISTS = {
    "AWS::IAM::Role": "Policies",
    "AWS::IAM::User": "Policies",
    "AWS::IAM::Group": "Policies",
}
# Properties that name the role(s) a stand-alone inline policy is attached to.
_ROLE_PROPERTIES = {"AWS::IAM::RolePolicy": "RoleName", "AWS::IAM::Policy": "Roles"}


@dataclass(frozen=True)
class PolicyDocument:
    """One policy document as the template writes it."""

    resource: str  # logical id of the resource holding the document
    resource_type: str
    policy: str  # label: logical id, or logical id / PolicyName for inline lists
    kind: str  # INLINE, MANAGED, TRUST or RESOURCE
    document: Any
    roles: tuple[str, ...] = ()  # logical ids (or raw names) of roles an inline policy is on


def _role_targets(resource_type: str, properties: Mapping[str, Any]) -> tuple[str, ...]:
    prop = _ROLE_PROPERTIES.get(resource_type)
    if prop is None:
        return ()
    targets: list[str] = []
    for node in branches(as_list(properties.get(prop))):
        if isinstance(node, Mapping) and "Ref" in node:
            targets.append(str(node["Ref"]))
        elif isinstance(node, str):
            targets.append(node)
    return tuple(targets)


def _inline_list(
    logical_id: str, resource_type: str, properties: Mapping[str, Any]
) -> Iterator[PolicyDocument]:
    prop = _INLINE_LISTS[resource_type]
    for index, item in enumerate(branches(properties.get(prop))):
        if not isinstance(item, Mapping):
            continue
        name = item.get("PolicyName")
        label = f"{logical_id}/{name if isinstance(name, str) else f'{prop}[{index}]'}"
        roles = (logical_id,) if resource_type == ROLE else ()
        yield PolicyDocument(
            logical_id, resource_type, label, INLINE, item.get("PolicyDocument"), roles
        )


def policy_documents(template: Mapping[str, Any]) -> Iterator[PolicyDocument]:
    """Every policy document of the template: inline, managed, trust and resource policies."""
    located = {kind: (prop, doc_kind) for kind, prop, doc_kind in _DOCUMENT_PROPERTIES}
    for logical_id, resource in (template.get("Resources") or {}).items():
        resource_type = str(resource.get("Type"))
        properties = resource.get("Properties") or {}
        if resource_type == ROLE and "AssumeRolePolicyDocument" in properties:
            yield PolicyDocument(
                logical_id,
                resource_type,
                f"{logical_id}/AssumeRolePolicyDocument",
                TRUST,
                properties["AssumeRolePolicyDocument"],
            )
        if resource_type in _INLINE_LISTS:
            yield from _inline_list(logical_id, resource_type, properties)
        if resource_type in located:
            prop, kind = located[resource_type]
            if prop in properties:
                yield PolicyDocument(
                    logical_id,
                    resource_type,
                    logical_id,
                    kind,
                    properties[prop],
                    _role_targets(resource_type, properties),
                )


def statements(document: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, statement) for every statement variant: both branches of each ``Fn::If``."""
    for variant in branches(document):
        if not isinstance(variant, Mapping):
            continue
        for index, node in enumerate(as_list(variant.get("Statement"))):
            for statement in branches(node):
                if isinstance(statement, Mapping):
                    yield index, statement


def sid_label(index: int, statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return sid if isinstance(sid, str) and sid else f"#{index}"


def strings(node: Any) -> list[str]:
    """The string values a node can take (both ``Fn::If`` branches, lists flattened)."""
    return [value for value in branches(node) if isinstance(value, str)]
