"""Response builders and pagination shared by the handlers (JSON 1.1 shapes)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .errors import _invalid
from .state import (
    ACCOUNT_ID,
    Artifact,
    Constraint,
    Product,
    ProvisionedProduct,
    Record,
    RegionState,
    TagOption,
)

_SEARCHABLE_FIELDS = frozenset(
    [
        "arn",
        "createdTime",
        "id",
        "lastRecordId",
        "idempotencyToken",
        "name",
        "physicalId",
        "productId",
        "provisioningArtifactId",
        "type",
        "status",
        "userArn",
        "userArnSession",
        "lastProvisioningRecordId",
        "lastSuccessfulProvisioningRecordId",
        "productName",
        "provisioningArtifactName",
    ]
)

_PRODUCT_TYPES_WITH_SAME_ARTIFACT_TYPE = (
    "CLOUD_FORMATION_TEMPLATE",
    "TERRAFORM_OPEN_SOURCE",
    "TERRAFORM_CLOUD",
    "EXTERNAL",
)

T = TypeVar("T")


def _compact(**values: Any) -> dict[str, Any]:
    """Drop ``None`` values: the JSON protocol omits absent members instead of sending null."""
    return {key: value for key, value in values.items() if value is not None}


def _provisioned_common(pp: ProvisionedProduct) -> dict[str, Any]:
    """Members shared by ProvisionedProductDetail and ProvisionedProductAttribute."""
    return _compact(
        Name=pp.name,
        Arn=pp.arn,
        Type=pp.type,
        Id=pp.id,
        Status=pp.status,
        StatusMessage=pp.status_message,
        CreatedTime=pp.created,
        IdempotencyToken=pp.idempotency_token,
        LastRecordId=pp.last_record_id,
        LastProvisioningRecordId=pp.last_record_id,
        LastSuccessfulProvisioningRecordId=pp.last_successful_record_id,
        ProductId=pp.product_id,
        ProvisioningArtifactId=pp.artifact_id,
    )


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"standin:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        prefix, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix == "standin" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _invalid("The page token is not valid.")


def _paginate(
    items: Sequence[T],
    params: Mapping[str, Any],
    *,
    default: int = 20,
    token_key: str = "PageToken",
) -> tuple[list[T], str | None]:
    """Slice ``items`` by PageToken/PageSize; return the page and the next token (or None)."""
    start = _decode_token(params.get(token_key))
    size = params.get("PageSize") or default
    end = start + size
    return list(items[start:end]), (_encode_token(end) if end < len(items) else None)


def _parse_json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _invalid(f"{what} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise _invalid(f"{what} must be a JSON object.")
    return value


def _default_artifact_type(product_type: str) -> str:
    if product_type in _PRODUCT_TYPES_WITH_SAME_ARTIFACT_TYPE:
        return product_type
    return "MARKETPLACE_AMI"


def _artifact_detail(artifact: Artifact) -> dict[str, Any]:
    return _compact(
        Id=artifact.id,
        Name=artifact.name,
        Description=artifact.description,
        Type=artifact.type,
        CreatedTime=artifact.created,
        Active=artifact.active,
        Guidance=artifact.guidance,
    )


def _artifact_info(artifact: Artifact) -> dict[str, str]:
    url = artifact.info.get("LoadTemplateFromURL")
    return {"TemplateUrl": url} if url else {}


def _tag_option_detail(to: TagOption) -> dict[str, Any]:
    return {"Key": to.key, "Value": to.value, "Active": to.active, "Id": to.id, "Owner": ACCOUNT_ID}


def _resource_detail(
    resource_id: str, arn: str, name: str, description: str | None, created: float
) -> dict[str, Any]:
    return _compact(
        Id=resource_id, ARN=arn, Name=name, Description=description, CreatedTime=created
    )


def _constraint_detail(constraint: Constraint) -> dict[str, Any]:
    return _compact(
        ConstraintId=constraint.id,
        Type=constraint.type,
        Description=constraint.description,
        Owner=ACCOUNT_ID,
        ProductId=constraint.product_id,
        PortfolioId=constraint.portfolio_id,
    )


def _constraint_response(constraint: Constraint, status: str) -> dict[str, Any]:
    return {
        "ConstraintDetail": _constraint_detail(constraint),
        "ConstraintParameters": constraint.parameters,
        "Status": status,
    }


def _record_detail(record: Record) -> dict[str, Any]:
    return _compact(
        RecordId=record.id,
        ProvisionedProductName=record.pp_name,
        Status=record.status,
        CreatedTime=record.created,
        UpdatedTime=record.updated or record.created,
        ProvisionedProductType=record.pp_type,
        RecordType=record.record_type,
        ProvisionedProductId=record.pp_id,
        ProductId=record.product_id,
        ProvisioningArtifactId=record.artifact_id,
        PathId=record.path_id,
        RecordErrors=[dict(error) for error in record.errors],
        RecordTags=_tag_list(record.tags),
        LaunchRoleArn=record.launch_role_arn,
    )


def _usage_instructions(constraints: Sequence[Constraint]) -> list[dict[str, str]]:
    instructions = []
    for constraint in constraints:
        params = json.loads(constraint.parameters)
        if constraint.type == "LAUNCH":
            role = params.get("RoleArn") or params.get("LocalRoleName")
            instructions.append({"Type": "launchAsRole", "Value": role})
        elif constraint.type == "TEMPLATE":
            instructions.append({"Type": "rules", "Value": json.dumps(params.get("Rules", {}))})
    return instructions


def _grouped_tag_options(st: RegionState, resource_ids: Sequence[str]) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for resource_id in resource_ids:
        for to in st.tag_options_of(resource_id):
            if to.active and to.value not in grouped.setdefault(to.key, []):
                grouped[to.key].append(to.value)
    return [{"Key": key, "Values": values} for key, values in grouped.items()]


def _product_matches(product: Product, key: str, values: Sequence[str]) -> bool:
    if key == "FullTextSearch":
        haystack = " ".join(filter(None, (product.name, product.description, product.owner)))
        return any(v.lower() in haystack.lower() for v in values)
    attribute = {"Owner": product.owner, "ProductType": product.type, "SourceProductId": None}
    return attribute.get(key) in values


def _sort_products(
    products: list[Product], sort_by: str | None, order: str | None
) -> list[Product]:
    keys: dict[str, Callable[[Product], Any]] = {
        "Title": lambda pr: pr.name.lower(),
        "VersionCount": lambda pr: len(pr.artifacts),
        "CreationDate": lambda pr: pr.created,
    }
    if sort_by is None:
        return products
    return sorted(products, key=keys[sort_by], reverse=order == "DESCENDING")


def _matches_search_query(row: Mapping[str, Any], query: str) -> bool:
    """``field:value`` matches one attribute exactly; anything else is a name substring."""
    field_name, sep, value = query.partition(":")
    if sep and field_name in _SEARCHABLE_FIELDS:
        key = field_name[0].upper() + field_name[1:]
        return str(row.get(key, "")) == value
    return query.lower() in str(row.get("Name", "")).lower()
