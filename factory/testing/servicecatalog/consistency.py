"""Which resources a request creates and which it names: the keys of the ResourceNotFound window.

Service Catalog is eventually consistent: right after a create or an association, requests that
name the new resource can answer ResourceNotFoundException (aws/aws-cdk#20810,
hashicorp/terraform-provider-aws#32450, #37956). A key is ``(id,)`` for a resource (ids are
unique across kinds: ``port-``, ``prod-``, ``pa-``, ``cons-``, ``tag-``) or
``(kind, left, right)`` for an association.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["describe_key", "new_resource_keys", "referenced_keys"]

Key = tuple[str, ...]

_ID_MEMBERS = (
    "Id",
    "PortfolioId",
    "SourcePortfolioId",
    "ProductId",
    "ProvisioningArtifactId",
    "TagOptionId",
    "ResourceId",
)
_CREATED_IDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "CreatePortfolio": (("PortfolioDetail", "Id"),),
    "CreateProduct": (
        ("ProductViewDetail", "ProductViewSummary", "ProductId"),
        ("ProvisioningArtifactDetail", "Id"),
    ),
    "CreateProvisioningArtifact": (("ProvisioningArtifactDetail", "Id"),),
    "CreateConstraint": (("ConstraintDetail", "ConstraintId"),),
    "CreateTagOption": (("TagOptionDetail", "Id"),),
}
# association kind -> (operation creating it, request members naming its two ends)
_ASSOCIATIONS: dict[str, tuple[str, str, str]] = {
    "product-in-portfolio": ("AssociateProductWithPortfolio", "PortfolioId", "ProductId"),
    "principal": ("AssociatePrincipalWithPortfolio", "PortfolioId", "PrincipalARN"),
    "tag-option": ("AssociateTagOptionWithResource", "TagOptionId", "ResourceId"),
}


def new_resource_keys(
    operation: str, params: Mapping[str, Any], response: Mapping[str, Any]
) -> Iterator[Key]:
    """Keys of what ``operation`` just created (resources and associations)."""
    for path in _CREATED_IDS.get(operation, ()):
        value: Any = response
        for member in path:
            value = value.get(member) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            yield (value,)
    for kind, (creator, left, right) in _ASSOCIATIONS.items():
        if operation == creator:
            yield (kind, str(params[left]), str(params[right]))


def referenced_keys(operation: str, params: Mapping[str, Any]) -> Iterator[Key]:
    """Keys of what a request names; the request that creates an association does not count."""
    for member in _ID_MEMBERS:
        value = params.get(member)
        if isinstance(value, str):
            yield (value,)
    for kind, (creator, left, right) in _ASSOCIATIONS.items():
        if operation != creator and left in params and right in params:
            yield (kind, str(params[left]), str(params[right]))


def describe_key(key: Key) -> str:
    if len(key) == 1:
        return f"Resource {key[0]} not found."
    kind, left, right = key
    return f"{right} is not associated with {left} ({kind})."
