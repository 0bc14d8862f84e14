"""CloudFormation registry schemas, as cfn-lint ships them: the permissions each handler needs.

Source: the resource provider schemas bundled in cfn-lint (``cfnlint/data/schemas``), read
through cfn-lint's own ``PROVIDER_SCHEMA_MANAGER`` (no copies). A schema's
``handlers.<create|read|update|delete>.permissions`` lists the IAM actions CloudFormation's
handler calls as the stack's role; ``tagging.permissions`` those it calls to tag the resource
(CloudFormation resource type schema reference, "handlers" and "tagging").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

SOURCE = "CloudFormation registry schema (cfn-lint bundled)"
REGION = "us-east-1"
HANDLERS = ("create", "read", "update", "delete")
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"


class UnknownResourceTypeError(LookupError):
    """No registry schema describes this resource type."""


@dataclass(frozen=True)
class TypeSchema:
    """What a resource type's registry schema says about permissions and tags."""

    type_name: str
    handlers: Mapping[str, tuple[str, ...]]  # create/read/update/delete -> permissions
    tagging: tuple[str, ...]
    taggable: bool
    primary_identifier: tuple[str, ...]
    #: ``tagging.tagOnCreate``: the create call carries the tags, so the resource is born
    #: with them and every later call of the create handler sees them as resource tags.
    tag_on_create: bool = False

    def permissions(self) -> dict[str, tuple[str, ...]]:
        """Every permission with the handlers (and ``tagging``) that list it."""
        found: dict[str, list[str]] = {}
        for operation in HANDLERS:
            for permission in self.handlers.get(operation, ()):
                found.setdefault(permission, []).append(operation)
        for permission in self.tagging:
            found.setdefault(permission, []).append("tagging")
        return {permission: tuple(ops) for permission, ops in found.items()}


def is_custom(type_name: str) -> bool:
    """Custom resources (``Custom::*``, ``AWS::CloudFormation::CustomResource``): a Lambda or
    SNS ServiceToken does the work, so their schema lists no handler permissions."""
    return type_name.startswith("Custom::") or type_name == CUSTOM_RESOURCE


def _tagging(schema: Mapping) -> tuple[tuple[str, ...], bool]:
    tagging = schema.get("tagging") or {}
    taggable = bool(tagging.get("taggable", tagging.get("tagOnCreate", False)))
    return tuple(tagging.get("permissions", ())), taggable


@cache
def type_schema(type_name: str, region: str = REGION) -> TypeSchema:
    """The registry schema of ``type_name``; raises UnknownResourceTypeError."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema._exceptions import ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name).schema
    except ResourceNotFoundError:
        raise UnknownResourceTypeError(
            f"no CloudFormation registry schema for {type_name} in {region}"
        ) from None
    handlers = {
        operation: tuple(schema.get("handlers", {}).get(operation, {}).get("permissions", ()))
        for operation in HANDLERS
    }
    tagging, taggable = _tagging(schema)
    identifier = tuple(p.rsplit("/", 1)[-1] for p in schema.get("primaryIdentifier", ()))
    tag_on_create = bool((schema.get("tagging") or {}).get("tagOnCreate", False))
    return TypeSchema(type_name, handlers, tagging, taggable, identifier, tag_on_create)
