"""CloudFormation templates as the service reads them: parse, locate in S3, parameters."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from .render import _compact


class _CfnYamlLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short-form intrinsics (``!Ref`` ...)."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    """Short form -> long form, as CloudFormation reads it: ``!Ref X`` -> ``{"Ref": "X"}``,
    ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub ...`` -> ``{"Fn::Sub": ...}``."""
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnYamlLoader.add_multi_constructor("!", _construct_intrinsic)


def parse_template(body: str) -> dict[str, Any] | None:
    """A CloudFormation template (JSON or YAML) as a dict, or None if it is not one.

    Each call returns a new dict: the parse is cached by text (the suites and ``local`` upload
    the same few templates again and again; PyYAML parses one in ~0.1 s), never the result."""
    document = _parse_template(body)
    return copy.deepcopy(document) if document is not None else None


@functools.lru_cache(maxsize=64)
def _parse_template(body: str) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        try:
            document = yaml.load(body, Loader=_CfnYamlLoader)  # a SafeLoader subclass
        except yaml.YAMLError:
            return None
    if isinstance(document, dict) and isinstance(document.get("Resources"), dict):
        return document
    return None


def s3_location(url: str) -> tuple[str, str] | None:
    """(bucket, key) for virtual-hosted, path-style or direct-endpoint S3 object URLs."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    path = unquote(parsed.path.lstrip("/"))
    virtual = re.match(r"^(?P<bucket>[a-z0-9.-]+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com", host)
    if virtual and not host.startswith("s3."):
        return (virtual["bucket"], path) if path else None
    bucket, _, key = path.partition("/")
    return (bucket, key) if bucket and key else None


def template_parameters(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``ProvisioningArtifactParameters`` entries derived from a template's Parameters."""
    result = []
    for key, spec in (template.get("Parameters") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        constraints = _compact(
            AllowedValues=[str(v) for v in spec["AllowedValues"]]
            if isinstance(spec.get("AllowedValues"), list)
            else None,
            AllowedPattern=_str_or_none(spec.get("AllowedPattern")),
            ConstraintDescription=_str_or_none(spec.get("ConstraintDescription")),
            MaxLength=_str_or_none(spec.get("MaxLength")),
            MinLength=_str_or_none(spec.get("MinLength")),
            MaxValue=_str_or_none(spec.get("MaxValue")),
            MinValue=_str_or_none(spec.get("MinValue")),
        )
        no_echo = str(spec.get("NoEcho", "false")).lower() == "true"
        result.append(
            _compact(
                ParameterKey=str(key),
                DefaultValue=_str_or_none(spec.get("Default")),
                ParameterType=_str_or_none(spec.get("Type")),
                IsNoEcho=no_echo,
                Description=_str_or_none(spec.get("Description")),
                ParameterConstraints=constraints,
            )
        )
    return result


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
