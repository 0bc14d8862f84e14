"""Validation rules of the service that botocore's model does not express."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import _duplicate, _invalid
from .render import _parse_json_object
from .state import RegionState

_IAM_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:(?:role|user|group)/[\w+=,.@/-]+$")

_IAM_PATTERN_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam:::(?:role|user|group)/[\w+=,.@/*?-]+$")

_ROLE_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]+$")

_SNS_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[\w-]+$")

_ACCOUNT_ID = re.compile(r"^\d{12}$")

_ORG_NODE = {
    "ORGANIZATION": re.compile(r"^o-[a-z0-9]{10,32}$"),
    "ORGANIZATIONAL_UNIT": re.compile(r"^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$"),
    "ACCOUNT": _ACCOUNT_ID,
}

_SHARE_TYPE_FOR_NODE = {
    "ORGANIZATION": "ORGANIZATION",
    "ORGANIZATIONAL_UNIT": "ORGANIZATIONAL_UNIT",
    "ACCOUNT": "ORGANIZATION_MEMBER_ACCOUNT",
}

_PP_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")

_TEMPLATE_SOURCES = ("LoadTemplateFromURL", "ImportFromPhysicalId")


def _ensure_unique_tag_option(st: RegionState, key: str, value: str, own_id: str | None) -> None:
    for to in st.tag_options.values():
        if to.key == key and to.value == value and to.id != own_id:
            raise _duplicate(f"TagOption {key}={value} already exists ({to.id}).")


def _validate_principal(arn: str, principal_type: str) -> None:
    if principal_type == "IAM_PATTERN" and not _IAM_PATTERN_ARN.match(arn):
        raise _invalid(
            f"{arn} is not a valid IAM_PATTERN: the account field must be empty "
            "(arn:aws:iam:::role/path/name) and wildcards are only allowed in the path or name."
        )
    if principal_type == "IAM" and not _IAM_ARN.match(arn):
        raise _invalid(f"{arn} is not a valid IAM principal ARN (full ARN with account id).")


def _validate_constraint_parameters(constraint_type: str, raw: str) -> None:
    validator = _CONSTRAINT_VALIDATORS.get(constraint_type)
    if validator is None:
        raise _invalid(f"Unknown constraint type {constraint_type}.")
    validator(_parse_json_object(raw, f"{constraint_type} constraint Parameters"))


def _validate_launch(params: Mapping[str, Any]) -> None:
    given = [key for key in ("RoleArn", "LocalRoleName") if key in params]
    if len(given) != 1 or set(params) - {"RoleArn", "LocalRoleName"}:
        raise _invalid("LAUNCH constraints take exactly one of RoleArn or LocalRoleName.")
    if "RoleArn" in params and not _ROLE_ARN.match(str(params["RoleArn"])):
        raise _invalid(f"RoleArn {params['RoleArn']!r} is not an IAM role ARN.")
    if "LocalRoleName" in params and not str(params["LocalRoleName"]).strip():
        raise _invalid("LocalRoleName must not be empty.")


def _validate_notification(params: Mapping[str, Any]) -> None:
    arns = params.get("NotificationArns")
    if not isinstance(arns, list) or not arns or not all(_SNS_ARN.match(str(a)) for a in arns):
        raise _invalid("NOTIFICATION constraints need NotificationArns: a list of SNS topic ARNs.")


def _validate_resource_update(params: Mapping[str, Any]) -> None:
    """The documented form is ``{"Version":"2.0","Properties":{"TagUpdateOnProvisionedProduct":
    "ALLOWED"}}``; the API reference spells the key both with and without the "s", so accept both.
    """
    properties = params.get("Properties")
    value = None
    if isinstance(properties, dict):
        value = properties.get("TagUpdateOnProvisionedProduct") or properties.get(
            "TagUpdatesOnProvisionedProduct"
        )
    if value not in ("ALLOWED", "NOT_ALLOWED"):
        raise _invalid(
            'RESOURCE_UPDATE constraints need {"Version": "2.0", "Properties": '
            '{"TagUpdateOnProvisionedProduct": "ALLOWED" | "NOT_ALLOWED"}}.'
        )


def _validate_template(params: Mapping[str, Any]) -> None:
    if not isinstance(params.get("Rules"), dict) or not params["Rules"]:
        raise _invalid('TEMPLATE constraints need a non-empty "Rules" object.')


def _validate_stackset(params: Mapping[str, Any]) -> None:
    properties = params.get("Properties")
    required = ("AccountList", "RegionList", "AdminRole", "ExecutionRole")
    if not isinstance(properties, dict) or any(key not in properties for key in required):
        raise _invalid(f"STACKSET constraints need Version and Properties with {list(required)}.")


_CONSTRAINT_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "LAUNCH": _validate_launch,
    "NOTIFICATION": _validate_notification,
    "RESOURCE_UPDATE": _validate_resource_update,
    "TEMPLATE": _validate_template,
    "STACKSET": _validate_stackset,
}
