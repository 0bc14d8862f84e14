"""In-memory AWS Service Catalog stand-in that speaks the real JSON 1.1 wire protocol.

moto implements little of Service Catalog, so tests and ``make rehearse`` point *unmodified*
boto3 clients at this server through ``AWS_ENDPOINT_URL_SERVICE_CATALOG``. Fidelity comes from
botocore's own service model rather than from hand-written schemas:

* every request's operation must exist in the model and its parameters pass
  :class:`botocore.validate.ParamValidator` plus the ``max``/``enum`` traits that the client-side
  validator skips (the real service enforces them);
* every response is walked against the operation's output shape by :func:`check_output`
  (unknown key, wrong type, bad enum value or missing required member -> HTTP 500), so our
  responses cannot drift from what the real service may return.

Why ``http.server.ThreadingHTTPServer`` and not werkzeug: the protocol is a single ``POST /``
route that needs raw header access (``X-Amz-Target``, the SigV4 credential scope for the region),
and werkzeug only arrives with ``moto[server]`` (a dev extra). The stdlib server keeps the
stand-in importable from a runtime install, and ``shutdown()`` is deterministic.

Behaviour that is deliberately simplified (do not mistake it for AWS behaviour):

* one caller identity (account ``123456789012``) sees everything; principals are stored and
  validated but never evaluated, so every portfolio a product belongs to is a launch path;
* provisioning runs no CloudFormation: the ``ProvisionProduct``/``Update``/``Terminate``
  response shows status ``CREATED`` like AWS, but the stored record is already ``SUCCEEDED``;
* organisation-node portfolio shares stay ``IN_PROGRESS`` until ``DescribePortfolioShareStatus``
  has been called ``share_polls_before_complete`` times (default 0: the next poll completes it);
* stricter than documented: duplicate version names within a product are rejected, and a product
  cannot be deleted while provisioned products use it.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import random
import re
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, TypeVar
from urllib.parse import unquote, urlparse

import boto3
import botocore.session
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

__all__ = [
    "ACCOUNT_ID",
    "Limits",
    "RequestRecord",
    "ServiceCatalogBackend",
    "ServiceCatalogError",
    "ServiceCatalogServer",
    "ShapeMismatchError",
    "check_output",
    "is_mutating",
]

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
TARGET_PREFIX = "AWS242ServiceCatalogService"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
CONTROL_PREFIX = "/_standin/"
READ_PREFIXES = ("Describe", "List", "Search", "Scan", "Get")

_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_RANDOM = random.SystemRandom()
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[a-z0-9-]+)/")
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
# DescribePortfolioShares reports an organisation node of type ACCOUNT under its own type name.
_SHARE_TYPE_FOR_NODE = {
    "ORGANIZATION": "ORGANIZATION",
    "ORGANIZATIONAL_UNIT": "ORGANIZATIONAL_UNIT",
    "ACCOUNT": "ORGANIZATION_MEMBER_ACCOUNT",
}
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
_PP_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
_TEMPLATE_SOURCES = ("LoadTemplateFromURL", "ImportFromPhysicalId")
_PRODUCT_TYPES_WITH_SAME_ARTIFACT_TYPE = (
    "CLOUD_FORMATION_TEMPLATE",
    "TERRAFORM_OPEN_SOURCE",
    "TERRAFORM_CLOUD",
    "EXTERNAL",
)

T = TypeVar("T")
Params = dict[str, Any]
Handler = Callable[["RegionState", Params], dict[str, Any]]


# --------------------------------------------------------------------------- errors


class ServiceCatalogError(Exception):
    """An AWS-style error: serialised as ``{"__type": code, "Message": message}``."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "Message": self.message}


class ShapeMismatchError(AssertionError):
    """A response does not conform to the operation's output shape (a stand-in bug)."""


def _get(table: dict[str, Any], key: str, kind: str) -> Any:
    """``table[key]``, or the ResourceNotFoundException the service answers."""
    try:
        return table[key]
    except KeyError:
        raise _not_found(f"{kind} {key} not found.") from None


def _not_found(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("ResourceNotFoundException", message)


def _invalid(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("InvalidParametersException", message)


def _duplicate(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("DuplicateResourceException", message)


def _limit(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("LimitExceededException", message)


def _in_use(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("ResourceInUseException", message)


def _bad_state(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("InvalidStateException", message)


# --------------------------------------------------------------------------- model helpers


@functools.cache
def service_model() -> ServiceModel:
    """botocore's Service Catalog model (loaded once; it is immutable)."""
    return botocore.session.get_session().get_service_model("servicecatalog")


def is_mutating(operation: str) -> bool:
    """Classify an operation as mutating by name, as the request log and stats do."""
    return not operation.startswith(READ_PREFIXES)


def check_output(shape: Shape | None, value: Any, path: str = "$") -> None:
    """Raise :class:`ShapeMismatchError` unless ``value`` conforms to ``shape``.

    Checks member names, JSON types, enum values and required members. Timestamps must be epoch
    seconds (int or float) because that is how the JSON protocol carries them.
    """
    if shape is None:
        if value:
            raise ShapeMismatchError(f"{path}: operation has no output but got {value!r}")
        return
    checker = _SHAPE_CHECKERS.get(shape.type_name)
    if checker is None:
        raise ShapeMismatchError(f"{path}: unsupported shape type {shape.type_name}")
    checker(shape, value, path)


def _check_structure(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, dict), path, "an object", value)
    members = shape.members
    unknown = sorted(set(value) - set(members))
    if unknown:
        raise ShapeMismatchError(f"{path}: keys {unknown} are not in shape {shape.name}")
    missing = [m for m in shape.required_members if m not in value]
    if missing:
        raise ShapeMismatchError(f"{path}: required members {missing} missing ({shape.name})")
    for key, item in value.items():
        check_output(members[key], item, f"{path}.{key}")


def _check_list(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, list), path, "a list", value)
    for index, item in enumerate(value):
        check_output(shape.member, item, f"{path}[{index}]")


def _check_map(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, dict), path, "an object", value)
    for key, item in value.items():
        check_output(shape.key, key, f"{path}<key>")
        check_output(shape.value, item, f"{path}.{key}")


def _check_string(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, str), path, "a string", value)
    if shape.enum and value not in shape.enum:
        raise ShapeMismatchError(f"{path}: {value!r} is not one of {shape.enum}")


def _check_integer(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, int) and not isinstance(value, bool), path, "an integer", value)


def _check_number(shape: Shape, value: Any, path: str) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    _expect(ok, path, "a number (epoch seconds for timestamps)", value)


def _check_boolean(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, bool), path, "a boolean", value)


def _expect(ok: bool, path: str, what: str, value: Any) -> None:
    if not ok:
        raise ShapeMismatchError(f"{path}: expected {what}, got {type(value).__name__} {value!r}")


_SHAPE_CHECKERS: dict[str, Callable[[Shape, Any, str], None]] = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "blob": _check_string,
    "integer": _check_integer,
    "long": _check_integer,
    "float": _check_number,
    "double": _check_number,
    "timestamp": _check_number,
    "boolean": _check_boolean,
}


def validate_input(operation_model: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise ``ValidationException`` with botocore's message if ``params`` do not fit the model."""
    shape = operation_model.input_shape
    if shape is None:
        if params:
            raise ServiceCatalogError("ValidationException", "Operation takes no input")
        return
    errors: list[str] = []
    report = ParamValidator().validate(dict(params), shape)
    if report.has_errors():
        errors.append(report.generate_report())
    errors.extend(_trait_errors(shape, params, ""))
    if errors:
        message = "Parameter validation failed:\n" + "\n".join(errors)
        raise ServiceCatalogError("ValidationException", message)


def _trait_errors(shape: Shape, value: Any, path: str) -> Iterator[str]:
    """``max`` and ``enum`` violations, which botocore's client-side validator ignores."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for key, item in value.items():
            member = shape.members.get(key)
            if member is not None:
                yield from _trait_errors(member, item, f"{path}.{key}" if path else key)
    elif kind == "list" and isinstance(value, list):
        yield from _max_error(shape, len(value), path, "length")
        for index, item in enumerate(value):
            yield from _trait_errors(shape.member, item, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _trait_errors(shape.key, key, f"{path} key")
            yield from _trait_errors(shape.value, item, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            valid = ", ".join(shape.enum)
            yield f"Invalid value for parameter {path}, value: {value}, valid values: {valid}"
        yield from _max_error(shape, len(value), path, "length")
    elif kind in ("integer", "long") and isinstance(value, int):
        yield from _max_error(shape, value, path, "value")


def _max_error(shape: Shape, actual: int, path: str, what: str) -> Iterator[str]:
    maximum = shape.metadata.get("max")
    if maximum is not None and actual > maximum:
        yield f"Invalid {what} for parameter {path}, value: {actual}, valid max {what}: {maximum}"


@functools.cache
def _idempotency_member(operation: str) -> str | None:
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return None
    for name, member in shape.members.items():
        if member.metadata.get("idempotencyToken"):
            return name
    return None


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Limits:
    """Service quotas enforced by the stand-in (AWS defaults unless noted)."""

    artifacts_per_product: int = 100
    portfolios_per_region: int = 100
    products_per_portfolio: int = 150
    principals_per_portfolio: int = 100
    iam_pattern_principals_per_portfolio: int = 10
    tag_options_per_resource: int = 25
    tags_per_resource: int = 20


class RequestRecord(NamedTuple):
    """One AWS request as seen by the stand-in."""

    region: str
    operation: str
    mutating: bool
    throttled: bool


@dataclass
class Artifact:
    id: str
    name: str | None
    description: str | None
    type: str
    created: float
    info: dict[str, str]
    active: bool = True
    guidance: str = "DEFAULT"
    template: dict[str, Any] | None = None


@dataclass
class Product:
    id: str
    view_id: str
    arn: str
    name: str
    owner: str
    type: str
    created: float
    description: str | None = None
    distributor: str | None = None
    support_description: str | None = None
    support_email: str | None = None
    support_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)


@dataclass
class Share:
    type: str  # a DescribePortfolioShares type: ACCOUNT, ORGANIZATION, ...
    principal_id: str
    share_tag_options: bool = False
    share_principals: bool = False
    accepted: bool = False


@dataclass
class ShareAction:
    token: str
    portfolio_id: str
    node_value: str
    polls_left: int
    status: str = "IN_PROGRESS"


@dataclass
class Portfolio:
    id: str
    arn: str
    display_name: str
    provider_name: str
    created: float
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)  # product id -> launch path id
    principals: dict[str, str] = field(default_factory=dict)  # principal ARN -> type
    shares: dict[tuple[str, str], Share] = field(default_factory=dict)


@dataclass
class Constraint:
    id: str
    type: str
    portfolio_id: str
    product_id: str
    parameters: str
    description: str | None = None


@dataclass
class TagOption:
    id: str
    key: str
    value: str
    active: bool = True
    resources: dict[str, None] = field(default_factory=dict)  # ordered set of resource ids


@dataclass
class ProvisionedProduct:
    id: str
    name: str
    arn: str
    type: str
    created: float
    idempotency_token: str
    product_id: str
    artifact_id: str
    path_id: str
    stack_arn: str
    launch_role_arn: str | None
    tags: dict[str, str]
    parameters: dict[str, str]
    last_record_id: str = ""
    status: str = "AVAILABLE"


@dataclass
class Record:
    id: str
    record_type: str
    pp_id: str
    pp_name: str
    pp_type: str
    product_id: str
    artifact_id: str
    path_id: str
    created: float
    launch_role_arn: str | None
    tags: dict[str, str]
    outputs: list[dict[str, str]]
    status: str = "SUCCEEDED"


@dataclass
class RegionState:
    """Everything the stand-in knows about one region."""

    region: str
    portfolios: dict[str, Portfolio] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    tag_options: dict[str, TagOption] = field(default_factory=dict)
    share_actions: dict[str, ShareAction] = field(default_factory=dict)
    provisioned: dict[str, ProvisionedProduct] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def portfolio(self, portfolio_id: str) -> Portfolio:
        return _get(self.portfolios, portfolio_id, "Portfolio")

    def product(self, product_id: str) -> Product:
        return _get(self.products, product_id, "Product")

    def product_by(self, product_id: str | None, name: str | None) -> Product:
        if product_id:
            return self.product(product_id)
        if not name:
            raise _invalid("Either the product id or the product name must be specified.")
        for product in self.products.values():
            if product.name == name:
                return product
        raise _not_found(f"Product with name {name} not found.")

    def constraint(self, constraint_id: str) -> Constraint:
        return _get(self.constraints, constraint_id, "Constraint")

    def tag_option(self, tag_option_id: str) -> TagOption:
        return _get(self.tag_options, tag_option_id, "TagOption")

    def provisioned_by(self, pp_id: str | None, name: str | None) -> ProvisionedProduct:
        if not pp_id and not name:
            raise _invalid("Either the provisioned product id or name must be specified.")
        for pp in self.provisioned.values():
            if pp.id == pp_id or (not pp_id and pp.name == name):
                return pp
        raise _not_found(f"Provisioned product {pp_id or name} not found.")

    def portfolios_of(self, product_id: str) -> list[Portfolio]:
        return [pf for pf in self.portfolios.values() if product_id in pf.products]

    def constraints_for(self, portfolio_id: str, product_id: str | None) -> list[Constraint]:
        return [
            c
            for c in self.constraints.values()
            if c.portfolio_id == portfolio_id and (product_id is None or c.product_id == product_id)
        ]

    def tag_options_of(self, resource_id: str) -> list[TagOption]:
        return [to for to in self.tag_options.values() if resource_id in to.resources]


# --------------------------------------------------------------------------- small helpers


def _new_id(prefix: str) -> str:
    """IDs shaped like the real ones: prefix + 13 lowercase alphanumerics."""
    return prefix + "".join(_ID_RANDOM.choices(_ID_ALPHABET, k=13))


def _now() -> float:
    return round(time.time(), 3)


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
        CreatedTime=pp.created,
        IdempotencyToken=pp.idempotency_token,
        LastRecordId=pp.last_record_id,
        LastProvisioningRecordId=pp.last_record_id,
        LastSuccessfulProvisioningRecordId=pp.last_record_id,
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


def region_from_authorization(header: str | None) -> str:
    """The region in a SigV4 ``Authorization`` header's credential scope (default us-east-1)."""
    match = _CREDENTIAL_SCOPE.search(header or "")
    return match["region"] if match else DEFAULT_REGION


# --------------------------------------------------------------------------- templates


class _CfnYamlLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short-form intrinsics (``!Ref`` ...)."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_CfnYamlLoader.add_multi_constructor("!", _construct_intrinsic)


def parse_template(body: str) -> dict[str, Any] | None:
    """A CloudFormation template (JSON or YAML) as a dict, or None if it is not one."""
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


# --------------------------------------------------------------------------- backend


class ServiceCatalogBackend:
    """Thread-safe, per-region in-memory Service Catalog with fault injection and a request log.

    ``handle(region, operation, params)`` is the single entry point used by the HTTP server; it
    may also be called in-process. One re-entrant lock guards all state, statistics and the
    throttling RNG; the injected latency is slept *outside* the lock so that concurrent callers
    overlap the way they would against AWS.
    """

    def __init__(
        self,
        *,
        s3_endpoint_url: str | None = None,
        limits: Limits | None = None,
        latency_s: float = 0.0,
        throttle_rate: float = 0.0,
        seed: int | None = None,
        require_launch_constraint: bool = True,
        share_polls_before_complete: int = 0,
        validate_templates: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self.s3_endpoint_url = s3_endpoint_url
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._seed = seed
        self._latency_s = 0.0
        self._throttle_rate = 0.0
        self.require_launch_constraint = require_launch_constraint
        self.share_polls_before_complete = share_polls_before_complete
        self.validate_templates = validate_templates
        self._regions: dict[str, RegionState] = {}
        self._log: list[RequestRecord] = []
        self._idempotent_replays = 0
        self._handlers: dict[str, Handler] = self._dispatch_table()
        self.configure(latency_s=latency_s, throttle_rate=throttle_rate)

    # ----------------------------------------------------------------- test hooks

    def configure(
        self,
        *,
        latency_s: float | None = None,
        throttle_rate: float | None = None,
        seed: int | None = None,
        require_launch_constraint: bool | None = None,
        share_polls_before_complete: int | None = None,
        validate_templates: bool | None = None,
    ) -> dict[str, Any]:
        """Change fault injection / behaviour flags; ``None`` leaves a setting unchanged.

        ``seed`` re-seeds the throttling RNG so a test gets the same throttled requests on
        every run.
        """
        if latency_s is not None and latency_s < 0:
            raise ValueError("latency_s must be >= 0")
        if throttle_rate is not None and not 0.0 <= throttle_rate <= 1.0:
            raise ValueError("throttle_rate must be between 0 and 1")
        if share_polls_before_complete is not None and share_polls_before_complete < 0:
            raise ValueError("share_polls_before_complete must be >= 0")
        with self._lock:
            if latency_s is not None:
                self._latency_s = float(latency_s)
            if throttle_rate is not None:
                self._throttle_rate = float(throttle_rate)
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(seed)
            if require_launch_constraint is not None:
                self.require_launch_constraint = bool(require_launch_constraint)
            if share_polls_before_complete is not None:
                self.share_polls_before_complete = int(share_polls_before_complete)
            if validate_templates is not None:
                self.validate_templates = bool(validate_templates)
            return self.config()

    def config(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_s": self._latency_s,
                "throttle_rate": self._throttle_rate,
                "seed": self._seed,
                "require_launch_constraint": self.require_launch_constraint,
                "share_polls_before_complete": self.share_polls_before_complete,
                "validate_templates": self.validate_templates,
                "s3_endpoint_url": self.s3_endpoint_url,
            }

    def stats(self) -> dict[str, Any]:
        """Request counts: totals, mutating vs read, throttled, and per operation / region."""
        with self._lock:
            log = list(self._log)
            replays = self._idempotent_replays
        throttled = [r for r in log if r.throttled]
        return {
            "total": len(log),
            "mutating": sum(r.mutating for r in log),
            "read": sum(not r.mutating for r in log),
            "throttled": len(throttled),
            "idempotent_replays": replays,
            "by_operation": dict(Counter(r.operation for r in log)),
            "throttled_by_operation": dict(Counter(r.operation for r in throttled)),
            "by_region": dict(Counter(r.region for r in log)),
        }

    def request_log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def reset_stats(self) -> None:
        with self._lock:
            self._log.clear()
            self._idempotent_replays = 0

    def reset(self) -> None:
        """Forget every resource in every region (configuration and stats are kept)."""
        with self._lock:
            self._regions.clear()

    @property
    def operations(self) -> list[str]:
        """The AWS operations this stand-in implements."""
        with self._lock:
            return sorted(self._handlers)

    def set_handler(self, operation: str, handler: Handler) -> None:
        """Replace one operation's handler (fault-injection hook for tests)."""
        service_model().operation_model(operation)  # raises for unknown operations
        with self._lock:
            self._handlers[operation] = handler

    def region_state(self, region: str = DEFAULT_REGION) -> RegionState:
        """The live state of one region (for white-box assertions; hold no references)."""
        with self._lock:
            return self._regions.setdefault(region, RegionState(region))

    # ----------------------------------------------------------------- request pipeline

    def handle(self, region: str, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run one AWS request; raise :class:`ServiceCatalogError` for AWS-style errors."""
        if self._latency_s:
            time.sleep(self._latency_s)
        with self._lock:
            throttled = self._throttle_rate > 0 and self._rng.random() < self._throttle_rate
            self._log.append(RequestRecord(region, operation, is_mutating(operation), throttled))
        if throttled:
            raise ServiceCatalogError("ThrottlingException", "Rate exceeded")
        if operation not in service_model().operation_names:
            raise ServiceCatalogError(
                "UnknownOperationException", f"Operation {operation} is not part of the API."
            )
        operation_model = service_model().operation_model(operation)
        validate_input(operation_model, params)
        handler = self._handlers.get(operation)
        if handler is None:
            raise ServiceCatalogError(
                "NotImplemented",
                f"The Service Catalog stand-in does not implement {operation}.",
                501,
            )
        with self._lock:
            state = self._regions.setdefault(region, RegionState(region))
            response = self._invoke(state, operation, handler, dict(params))
        check_output(operation_model.output_shape, response)
        return response

    def _invoke(
        self, state: RegionState, operation: str, handler: Handler, params: Params
    ) -> dict[str, Any]:
        """Call the handler, honouring idempotency tokens: same token + operation -> replay."""
        member = _idempotency_member(operation)
        token = params.get(member) if member else None
        if token is not None and (operation, token) in state.idempotency:
            self._idempotent_replays += 1
            return copy.deepcopy(state.idempotency[(operation, token)])
        response = handler(state, params)
        if token is not None:
            state.idempotency[(operation, token)] = copy.deepcopy(response)
        return response

    def _dispatch_table(self) -> dict[str, Handler]:
        return {
            "CreatePortfolio": self._create_portfolio,
            "DescribePortfolio": self._describe_portfolio,
            "ListPortfolios": self._list_portfolios,
            "UpdatePortfolio": self._update_portfolio,
            "DeletePortfolio": self._delete_portfolio,
            "CreateProduct": self._create_product,
            "DescribeProductAsAdmin": self._describe_product_as_admin,
            "SearchProductsAsAdmin": self._search_products_as_admin,
            "UpdateProduct": self._update_product,
            "DeleteProduct": self._delete_product,
            "CreateProvisioningArtifact": self._create_provisioning_artifact,
            "ListProvisioningArtifacts": self._list_provisioning_artifacts,
            "DescribeProvisioningArtifact": self._describe_provisioning_artifact,
            "UpdateProvisioningArtifact": self._update_provisioning_artifact,
            "DeleteProvisioningArtifact": self._delete_provisioning_artifact,
            "AssociateProductWithPortfolio": self._associate_product,
            "DisassociateProductFromPortfolio": self._disassociate_product,
            "ListPortfoliosForProduct": self._list_portfolios_for_product,
            "CreateConstraint": self._create_constraint,
            "DescribeConstraint": self._describe_constraint,
            "UpdateConstraint": self._update_constraint,
            "DeleteConstraint": self._delete_constraint,
            "ListConstraintsForPortfolio": self._list_constraints_for_portfolio,
            "AssociatePrincipalWithPortfolio": self._associate_principal,
            "DisassociatePrincipalFromPortfolio": self._disassociate_principal,
            "ListPrincipalsForPortfolio": self._list_principals,
            "CreateTagOption": self._create_tag_option,
            "DescribeTagOption": self._describe_tag_option,
            "ListTagOptions": self._list_tag_options,
            "UpdateTagOption": self._update_tag_option,
            "DeleteTagOption": self._delete_tag_option,
            "AssociateTagOptionWithResource": self._associate_tag_option,
            "DisassociateTagOptionFromResource": self._disassociate_tag_option,
            "ListResourcesForTagOption": self._list_resources_for_tag_option,
            "CreatePortfolioShare": self._create_portfolio_share,
            "UpdatePortfolioShare": self._update_portfolio_share,
            "DeletePortfolioShare": self._delete_portfolio_share,
            "DescribePortfolioShares": self._describe_portfolio_shares,
            "DescribePortfolioShareStatus": self._describe_portfolio_share_status,
            "ListPortfolioAccess": self._list_portfolio_access,
            "ListLaunchPaths": self._list_launch_paths,
            "DescribeProduct": self._describe_product,
            "DescribeProductView": self._describe_product_view,
            "DescribeProvisioningParameters": self._describe_provisioning_parameters,
            "ProvisionProduct": self._provision_product,
            "DescribeProvisionedProduct": self._describe_provisioned_product,
            "SearchProvisionedProducts": self._search_provisioned_products,
            "ScanProvisionedProducts": self._scan_provisioned_products,
            "UpdateProvisionedProduct": self._update_provisioned_product,
            "TerminateProvisionedProduct": self._terminate_provisioned_product,
            "DescribeRecord": self._describe_record,
            "ListRecordHistory": self._list_record_history,
        }

    # ----------------------------------------------------------------- shared rules

    def _merged_tags(
        self, current: Mapping[str, str], add: Sequence[Mapping[str, str]], remove: Sequence[str]
    ) -> dict[str, str]:
        tags = {key: value for key, value in current.items() if key not in set(remove)}
        for tag in add:
            if tag["Key"].lower().startswith("aws:"):
                raise _invalid(f"Tag keys starting with 'aws:' are reserved: {tag['Key']}")
            tags[tag["Key"]] = tag["Value"]
        if len(tags) > self.limits.tags_per_resource:
            raise _limit(f"A resource can have at most {self.limits.tags_per_resource} tags.")
        return tags

    # ----------------------------------------------------------------- portfolios

    def _portfolio_detail(self, pf: Portfolio) -> dict[str, Any]:
        return _compact(
            Id=pf.id,
            ARN=pf.arn,
            DisplayName=pf.display_name,
            Description=pf.description,
            CreatedTime=pf.created,
            ProviderName=pf.provider_name,
        )

    def _create_portfolio(self, st: RegionState, p: Params) -> dict[str, Any]:
        if len(st.portfolios) >= self.limits.portfolios_per_region:
            raise _limit(f"At most {self.limits.portfolios_per_region} portfolios per region.")
        tags = self._merged_tags({}, p.get("Tags", []), [])
        pid = _new_id("port-")
        pf = Portfolio(
            id=pid,
            arn=st.arn("catalog", f"portfolio/{pid}"),
            display_name=p["DisplayName"],
            provider_name=p["ProviderName"],
            description=p.get("Description"),
            created=_now(),
            tags=tags,
        )
        st.portfolios[pid] = pf
        return {"PortfolioDetail": self._portfolio_detail(pf), "Tags": _tag_list(pf.tags)}

    def _describe_portfolio(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["Id"])
        return {
            "PortfolioDetail": self._portfolio_detail(pf),
            "Tags": _tag_list(pf.tags),
            "TagOptions": [_tag_option_detail(to) for to in st.tag_options_of(pf.id)],
            "Budgets": [],
        }

    def _list_portfolios(self, st: RegionState, p: Params) -> dict[str, Any]:
        page, token = _paginate(list(st.portfolios.values()), p)
        return _compact(
            PortfolioDetails=[self._portfolio_detail(pf) for pf in page], NextPageToken=token
        )

    def _update_portfolio(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["Id"])
        pf.tags = self._merged_tags(pf.tags, p.get("AddTags", []), p.get("RemoveTags", []))
        pf.display_name = p.get("DisplayName", pf.display_name)
        pf.description = p.get("Description", pf.description)
        pf.provider_name = p.get("ProviderName", pf.provider_name)
        return {"PortfolioDetail": self._portfolio_detail(pf), "Tags": _tag_list(pf.tags)}

    def _delete_portfolio(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["Id"])
        in_use = {
            "products": bool(pf.products),
            "principals": bool(pf.principals),
            "constraints": bool(st.constraints_for(pf.id, None)),
            "shares": bool(pf.shares) or self._share_in_progress(st, pf.id) is not None,
        }
        blocking = [name for name, present in in_use.items() if present]
        if blocking:
            raise _in_use(f"Portfolio {pf.id} still has associated {', '.join(blocking)}.")
        del st.portfolios[pf.id]
        for to in st.tag_options.values():
            to.resources.pop(pf.id, None)
        return {}

    # ----------------------------------------------------------------- products

    def _product_view_summary(self, st: RegionState, product: Product) -> dict[str, Any]:
        return _compact(
            Id=product.view_id,
            ProductId=product.id,
            Name=product.name,
            Owner=product.owner,
            ShortDescription=product.description,
            Type=product.type,
            Distributor=product.distributor,
            HasDefaultPath=len(st.portfolios_of(product.id)) == 1,
            SupportEmail=product.support_email,
            SupportDescription=product.support_description,
            SupportUrl=product.support_url,
        )

    def _product_view_detail(self, st: RegionState, product: Product) -> dict[str, Any]:
        return {
            "ProductViewSummary": self._product_view_summary(st, product),
            "Status": "AVAILABLE",
            "ProductARN": product.arn,
            "CreatedTime": product.created,
        }

    def _create_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        if p["ProductType"] == "MARKETPLACE":
            raise _invalid("MARKETPLACE products cannot be created through the API.")
        if "SourceConnection" in p:
            raise _invalid("The stand-in does not support SourceConnection (CodeStar) products.")
        if not p.get("ProvisioningArtifactParameters"):
            raise _invalid("ProvisioningArtifactParameters is required: a product needs a version.")
        tags = self._merged_tags({}, p.get("Tags", []), [])
        pid = _new_id("prod-")
        product = Product(
            id=pid,
            view_id=_new_id("prodview-"),
            arn=st.arn("catalog", f"product/{pid}"),
            name=p["Name"],
            owner=p["Owner"],
            type=p["ProductType"],
            created=_now(),
            description=p.get("Description"),
            distributor=p.get("Distributor"),
            support_description=p.get("SupportDescription"),
            support_email=p.get("SupportEmail"),
            support_url=p.get("SupportUrl"),
            tags=tags,
        )
        artifact = self._new_artifact(product, p["ProvisioningArtifactParameters"])
        product.artifacts[artifact.id] = artifact
        st.products[pid] = product
        return {
            "ProductViewDetail": self._product_view_detail(st, product),
            "ProvisioningArtifactDetail": _artifact_detail(artifact),
            "Tags": _tag_list(product.tags),
        }

    def _describe_product_as_admin(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product_by(p.get("Id"), p.get("Name"))
        if "SourcePortfolioId" in p:
            st.portfolio(p["SourcePortfolioId"])
        summaries = [
            _compact(Id=a.id, Name=a.name, Description=a.description, CreatedTime=a.created)
            for a in product.artifacts.values()
        ]
        return {
            "ProductViewDetail": self._product_view_detail(st, product),
            "ProvisioningArtifactSummaries": summaries,
            "Tags": _tag_list(product.tags),
            "TagOptions": [_tag_option_detail(to) for to in st.tag_options_of(product.id)],
            "Budgets": [],
        }

    def _search_products_as_admin(self, st: RegionState, p: Params) -> dict[str, Any]:
        products = list(st.products.values())
        if "PortfolioId" in p:
            products = [st.products[pid] for pid in st.portfolio(p["PortfolioId"]).products]
        for key, values in (p.get("Filters") or {}).items():
            products = [pr for pr in products if _product_matches(pr, key, values)]
        products = _sort_products(products, p.get("SortBy"), p.get("SortOrder"))
        page, token = _paginate(products, p)
        details = [self._product_view_detail(st, pr) for pr in page]
        return _compact(ProductViewDetails=details, NextPageToken=token)

    def _update_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["Id"])
        if "SourceConnection" in p:
            raise _invalid("The stand-in does not support SourceConnection (CodeStar) products.")
        product.tags = self._merged_tags(
            product.tags, p.get("AddTags", []), p.get("RemoveTags", [])
        )
        product.name = p.get("Name", product.name)
        product.owner = p.get("Owner", product.owner)
        product.description = p.get("Description", product.description)
        product.distributor = p.get("Distributor", product.distributor)
        product.support_description = p.get("SupportDescription", product.support_description)
        product.support_email = p.get("SupportEmail", product.support_email)
        product.support_url = p.get("SupportUrl", product.support_url)
        return {
            "ProductViewDetail": self._product_view_detail(st, product),
            "Tags": _tag_list(product.tags),
        }

    def _delete_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["Id"])
        portfolios = [pf.id for pf in st.portfolios_of(product.id)]
        if portfolios:
            raise _in_use(f"Product {product.id} is associated with portfolios {portfolios}.")
        if any(pp.product_id == product.id for pp in st.provisioned.values()):
            raise _in_use(f"Product {product.id} has provisioned products.")
        del st.products[product.id]
        for to in st.tag_options.values():
            to.resources.pop(product.id, None)
        return {}

    # ----------------------------------------------------------------- provisioning artifacts

    def _new_artifact(self, product: Product, params: Mapping[str, Any]) -> Artifact:
        """Validate ``ProvisioningArtifactProperties`` and build (not store) an artifact."""
        if len(product.artifacts) >= self.limits.artifacts_per_product:
            raise _limit(
                f"Product {product.id} already has {self.limits.artifacts_per_product} "
                "provisioning artifacts (versions)."
            )
        artifact_type = params.get("Type") or _default_artifact_type(product.type)
        if artifact_type != _default_artifact_type(product.type):
            raise _invalid(f"Artifact type {artifact_type} does not match product {product.type}.")
        info = dict(params.get("Info") or {})
        sources = [key for key in _TEMPLATE_SOURCES if key in info]
        unknown = sorted(set(info) - set(_TEMPLATE_SOURCES))
        if len(sources) != 1 or unknown:
            raise _invalid(
                "Info must contain exactly one of LoadTemplateFromURL or ImportFromPhysicalId "
                f"and nothing else (got {sorted(info)})."
            )
        name = params.get("Name")
        if name is not None and any(a.name == name for a in product.artifacts.values()):
            raise _invalid(f"Product {product.id} already has a version named {name!r}.")
        artifact = Artifact(
            id=_new_id("pa-"),
            name=name,
            description=params.get("Description"),
            type=artifact_type,
            created=_now(),
            info=info,
        )
        if self._should_validate_template(artifact, params):
            artifact.template = self._load_template(artifact)
            if artifact.template is None:
                url = info["LoadTemplateFromURL"]
                raise _invalid(f"Unable to retrieve a valid template from {url}.")
        return artifact

    def _should_validate_template(self, artifact: Artifact, params: Mapping[str, Any]) -> bool:
        return (
            self.validate_templates
            and self.s3_endpoint_url is not None
            and artifact.type == "CLOUD_FORMATION_TEMPLATE"
            and "LoadTemplateFromURL" in artifact.info
            and not params.get("DisableTemplateValidation", False)
        )

    def _load_template(self, artifact: Artifact) -> dict[str, Any] | None:
        """Fetch and parse the artifact's template from the configured (moto) S3 endpoint.

        Called with the lock held; the fetch goes to a different server, so it cannot deadlock,
        and short timeouts bound how long other requests wait.
        """
        if artifact.template is not None:
            return artifact.template
        url = artifact.info.get("LoadTemplateFromURL")
        location = s3_location(url) if url else None
        if self.s3_endpoint_url is None or location is None:
            return None
        client = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint_url,
            region_name=DEFAULT_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
        )
        try:
            body = client.get_object(Bucket=location[0], Key=location[1])["Body"].read()
        except (BotoCoreError, ClientError):
            return None
        artifact.template = parse_template(body.decode("utf-8", errors="replace"))
        return artifact.template

    def _artifact(self, product: Product, artifact_id: str) -> Artifact:
        try:
            return product.artifacts[artifact_id]
        except KeyError:
            raise _not_found(
                f"Provisioning artifact {artifact_id} not found for product {product.id}."
            ) from None

    def _artifact_by(self, product: Product, artifact_id: str | None, name: str | None) -> Artifact:
        if artifact_id:
            return self._artifact(product, artifact_id)
        if not name:
            raise _invalid("Either the provisioning artifact id or name must be specified.")
        for artifact in product.artifacts.values():
            if artifact.name == name:
                return artifact
        raise _not_found(f"Provisioning artifact named {name} not found for {product.id}.")

    def _create_provisioning_artifact(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        artifact = self._new_artifact(product, p["Parameters"])
        product.artifacts[artifact.id] = artifact
        return {
            "ProvisioningArtifactDetail": _artifact_detail(artifact),
            "Info": _artifact_info(artifact),
            "Status": "AVAILABLE",
        }

    def _list_provisioning_artifacts(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        details = [_artifact_detail(a) for a in product.artifacts.values()]
        return {"ProvisioningArtifactDetails": details}

    def _describe_provisioning_artifact(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product_by(p.get("ProductId"), p.get("ProductName"))
        artifact = self._artifact_by(
            product, p.get("ProvisioningArtifactId"), p.get("ProvisioningArtifactName")
        )
        response: dict[str, Any] = {
            "ProvisioningArtifactDetail": _artifact_detail(artifact),
            "Info": _artifact_info(artifact) if p.get("Verbose") else {},
            "Status": "AVAILABLE",
        }
        if p.get("IncludeProvisioningArtifactParameters"):
            template = self._load_template(artifact)
            response["ProvisioningArtifactParameters"] = (
                template_parameters(template) if template else []
            )
        return response

    def _update_provisioning_artifact(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        artifact = self._artifact(product, p["ProvisioningArtifactId"])
        name = p.get("Name")
        if name is not None and any(
            a.name == name and a.id != artifact.id for a in product.artifacts.values()
        ):
            raise _invalid(f"Product {product.id} already has a version named {name!r}.")
        artifact.name = p.get("Name", artifact.name)
        artifact.description = p.get("Description", artifact.description)
        artifact.active = p.get("Active", artifact.active)
        artifact.guidance = p.get("Guidance", artifact.guidance)
        return {
            "ProvisioningArtifactDetail": _artifact_detail(artifact),
            "Info": _artifact_info(artifact),
            "Status": "AVAILABLE",
        }

    def _delete_provisioning_artifact(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        artifact = self._artifact(product, p["ProvisioningArtifactId"])
        if len(product.artifacts) == 1:
            raise _invalid(f"Cannot delete the last provisioning artifact of {product.id}.")
        users = [pp.id for pp in st.provisioned.values() if pp.artifact_id == artifact.id]
        if users:
            raise _in_use(f"Provisioning artifact {artifact.id} is used by {users}.")
        del product.artifacts[artifact.id]
        return {}

    # ----------------------------------------------------------------- portfolio <-> product

    def _associate_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        pf = st.portfolio(p["PortfolioId"])
        if "SourcePortfolioId" in p:
            st.portfolio(p["SourcePortfolioId"])
        if product.id in pf.products:
            return {}
        if len(pf.products) >= self.limits.products_per_portfolio:
            raise _limit(f"At most {self.limits.products_per_portfolio} products per portfolio.")
        pf.products[product.id] = _new_id("lpv3-")
        return {}

    def _disassociate_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        pf = st.portfolio(p["PortfolioId"])
        if product.id not in pf.products:
            raise _not_found(f"Product {product.id} is not associated with {pf.id}.")
        if st.constraints_for(pf.id, product.id):
            raise _in_use(f"Delete the constraints on {product.id} in {pf.id} first.")
        del pf.products[product.id]
        return {}

    def _list_portfolios_for_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        page, token = _paginate(st.portfolios_of(product.id), p)
        return _compact(
            PortfolioDetails=[self._portfolio_detail(pf) for pf in page], NextPageToken=token
        )

    # ----------------------------------------------------------------- constraints

    def _create_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        product = st.product(p["ProductId"])
        if product.id not in pf.products:
            raise _not_found(f"Product {product.id} is not associated with portfolio {pf.id}.")
        constraint_type = p["Type"]
        _validate_constraint_parameters(constraint_type, p["Parameters"])
        existing = {c.type for c in st.constraints_for(pf.id, product.id)}
        if constraint_type in ("LAUNCH", "STACKSET") and constraint_type in existing:
            raise _duplicate(f"A {constraint_type} constraint already exists for this product.")
        if {constraint_type} | existing >= {"LAUNCH", "STACKSET"}:
            raise _invalid("A product cannot have both a LAUNCH and a STACKSET constraint.")
        constraint = Constraint(
            id=_new_id("cons-"),
            type=constraint_type,
            portfolio_id=pf.id,
            product_id=product.id,
            parameters=p["Parameters"],
            description=p.get("Description"),
        )
        st.constraints[constraint.id] = constraint
        return _constraint_response(constraint)

    def _describe_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        return _constraint_response(st.constraint(p["Id"]))

    def _update_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        constraint = st.constraint(p["Id"])
        if "Parameters" in p:
            _validate_constraint_parameters(constraint.type, p["Parameters"])
            constraint.parameters = p["Parameters"]
        constraint.description = p.get("Description", constraint.description)
        return _constraint_response(constraint)

    def _delete_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        del st.constraints[st.constraint(p["Id"]).id]
        return {}

    def _list_constraints_for_portfolio(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        page, token = _paginate(st.constraints_for(pf.id, p.get("ProductId")), p)
        return _compact(
            ConstraintDetails=[_constraint_detail(c) for c in page], NextPageToken=token
        )

    # ----------------------------------------------------------------- principals

    def _associate_principal(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        arn, principal_type = p["PrincipalARN"], p["PrincipalType"]
        _validate_principal(arn, principal_type)
        if pf.principals.get(arn) == principal_type:
            return {}
        if len(pf.principals) >= self.limits.principals_per_portfolio:
            raise _limit(
                f"At most {self.limits.principals_per_portfolio} principals per portfolio."
            )
        patterns = sum(t == "IAM_PATTERN" for t in pf.principals.values())
        cap = self.limits.iam_pattern_principals_per_portfolio
        if principal_type == "IAM_PATTERN" and patterns >= cap:
            raise _limit(f"At most {cap} IAM_PATTERN principals per portfolio.")
        pf.principals[arn] = principal_type
        return {}

    def _disassociate_principal(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        arn = p["PrincipalARN"]
        if pf.principals.get(arn) != p.get("PrincipalType", "IAM"):
            raise _not_found(f"Principal {arn} is not associated with {pf.id}.")
        del pf.principals[arn]
        return {}

    def _list_principals(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        page, token = _paginate(list(pf.principals.items()), p)
        principals = [{"PrincipalARN": arn, "PrincipalType": kind} for arn, kind in page]
        return _compact(Principals=principals, NextPageToken=token)

    # ----------------------------------------------------------------- TagOptions

    def _create_tag_option(self, st: RegionState, p: Params) -> dict[str, Any]:
        _ensure_unique_tag_option(st, p["Key"], p["Value"], None)
        to = TagOption(id=_new_id("tag-"), key=p["Key"], value=p["Value"])
        st.tag_options[to.id] = to
        return {"TagOptionDetail": _tag_option_detail(to)}

    def _describe_tag_option(self, st: RegionState, p: Params) -> dict[str, Any]:
        return {"TagOptionDetail": _tag_option_detail(st.tag_option(p["Id"]))}

    def _list_tag_options(self, st: RegionState, p: Params) -> dict[str, Any]:
        filters = p.get("Filters") or {}
        options = [
            to
            for to in st.tag_options.values()
            if filters.get("Key", to.key) == to.key
            and filters.get("Value", to.value) == to.value
            and filters.get("Active", to.active) == to.active
        ]
        page, token = _paginate(options, p)
        return _compact(TagOptionDetails=[_tag_option_detail(to) for to in page], PageToken=token)

    def _update_tag_option(self, st: RegionState, p: Params) -> dict[str, Any]:
        to = st.tag_option(p["Id"])
        if "Value" in p:
            _ensure_unique_tag_option(st, to.key, p["Value"], to.id)
            to.value = p["Value"]
        to.active = p.get("Active", to.active)
        return {"TagOptionDetail": _tag_option_detail(to)}

    def _delete_tag_option(self, st: RegionState, p: Params) -> dict[str, Any]:
        to = st.tag_option(p["Id"])
        if to.resources:
            raise _in_use(f"TagOption {to.id} is associated with {list(to.resources)}.")
        del st.tag_options[to.id]
        return {}

    def _tag_option_resource(self, st: RegionState, resource_id: str) -> Portfolio | Product:
        resource = st.portfolios.get(resource_id) or st.products.get(resource_id)
        if resource is None:
            raise _not_found(f"Resource {resource_id} not found.")
        return resource

    def _associate_tag_option(self, st: RegionState, p: Params) -> dict[str, Any]:
        resource = self._tag_option_resource(st, p["ResourceId"])
        to = st.tag_option(p["TagOptionId"])
        if not to.active:
            raise _bad_state(f"TagOption {to.id} is inactive.")
        if resource.id in to.resources:
            raise _duplicate(f"TagOption {to.id} is already associated with {resource.id}.")
        if len(st.tag_options_of(resource.id)) >= self.limits.tag_options_per_resource:
            cap = self.limits.tag_options_per_resource
            raise _limit(f"At most {cap} TagOptions per resource.")
        to.resources[resource.id] = None
        return {}

    def _disassociate_tag_option(self, st: RegionState, p: Params) -> dict[str, Any]:
        to = st.tag_option(p["TagOptionId"])
        if p["ResourceId"] not in to.resources:
            raise _not_found(f"TagOption {to.id} is not associated with {p['ResourceId']}.")
        del to.resources[p["ResourceId"]]
        return {}

    def _list_resources_for_tag_option(self, st: RegionState, p: Params) -> dict[str, Any]:
        to = st.tag_option(p["TagOptionId"])
        resource_type = p.get("ResourceType")
        if resource_type not in (None, "Portfolio", "Product"):
            raise _invalid("ResourceType must be Portfolio or Product.")
        details = []
        for resource_id in to.resources:
            if resource_id in st.portfolios and resource_type in (None, "Portfolio"):
                pf = st.portfolios[resource_id]
                details.append(
                    _resource_detail(pf.id, pf.arn, pf.display_name, pf.description, pf.created)
                )
            elif resource_id in st.products and resource_type in (None, "Product"):
                pr = st.products[resource_id]
                details.append(_resource_detail(pr.id, pr.arn, pr.name, pr.description, pr.created))
        page, token = _paginate(details, p)
        return _compact(ResourceDetails=page, PageToken=token)

    # ----------------------------------------------------------------- portfolio shares

    def _share_in_progress(self, st: RegionState, portfolio_id: str) -> ShareAction | None:
        for action in st.share_actions.values():
            if action.portfolio_id == portfolio_id and action.status == "IN_PROGRESS":
                return action
        return None

    def _share_target(self, st: RegionState, p: Params) -> tuple[Portfolio, Share]:
        """Validate a share request and return the portfolio and the share it describes."""
        pf = st.portfolio(p["PortfolioId"])
        busy = self._share_in_progress(st, pf.id)
        if busy is not None:
            raise _bad_state(
                f"Share action {busy.token} on portfolio {pf.id} is still IN_PROGRESS."
            )
        account, node = p.get("AccountId"), p.get("OrganizationNode")
        if (account is None) == (node is None):
            raise _invalid("Specify exactly one of AccountId or OrganizationNode.")
        if account is not None:
            if not _ACCOUNT_ID.match(account) or account == ACCOUNT_ID:
                raise _invalid(f"{account} is not a valid account to share with.")
            if p.get("SharePrincipals"):
                raise _invalid("SharePrincipals is only supported for organization-node shares.")
            share = Share("ACCOUNT", account, bool(p.get("ShareTagOptions")))
            return pf, share
        node_type, value = node.get("Type"), node.get("Value", "")
        if node_type not in _ORG_NODE or not _ORG_NODE[node_type].match(value):
            raise _invalid(f"Invalid organization node {node_type}={value!r}.")
        if p.get("SharePrincipals") and node_type == "ACCOUNT":
            raise _invalid("SharePrincipals is only supported for ORGANIZATION and OU shares.")
        share = Share(
            _SHARE_TYPE_FOR_NODE[node_type],
            value,
            bool(p.get("ShareTagOptions")),
            bool(p.get("SharePrincipals")),
        )
        return pf, share

    def _start_share_action(self, st: RegionState, pf: Portfolio, share: Share) -> ShareAction:
        action = ShareAction(
            token=_new_id("share-"),
            portfolio_id=pf.id,
            node_value=share.principal_id,
            polls_left=self.share_polls_before_complete,
        )
        st.share_actions[action.token] = action
        return action

    def _create_portfolio_share(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf, share = self._share_target(st, p)
        key = (share.type, share.principal_id)
        if key not in pf.shares:
            pf.shares[key] = share
        if share.type == "ACCOUNT":
            return {}
        return {"PortfolioShareToken": self._start_share_action(st, pf, share).token}

    def _update_portfolio_share(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf, share = self._share_target(st, p)
        current = pf.shares.get((share.type, share.principal_id))
        if current is None:
            raise _not_found(f"Portfolio {pf.id} is not shared with {share.principal_id}.")
        if "ShareTagOptions" in p:
            current.share_tag_options = share.share_tag_options
        if "SharePrincipals" in p:
            current.share_principals = share.share_principals
        if share.type == "ACCOUNT":
            return {"Status": "COMPLETED"}
        action = self._start_share_action(st, pf, share)
        return {"PortfolioShareToken": action.token, "Status": action.status}

    def _delete_portfolio_share(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf, share = self._share_target(st, p)
        if pf.shares.pop((share.type, share.principal_id), None) is None:
            raise _not_found(f"Portfolio {pf.id} is not shared with {share.principal_id}.")
        if share.type == "ACCOUNT":
            return {}
        return {"PortfolioShareToken": self._start_share_action(st, pf, share).token}

    def _describe_portfolio_shares(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        shares = [s for s in pf.shares.values() if s.type == p["Type"]]
        page, token = _paginate(shares, p)
        details = [
            {
                "PrincipalId": s.principal_id,
                "Type": s.type,
                "Accepted": s.accepted,
                "ShareTagOptions": s.share_tag_options,
                "SharePrincipals": s.share_principals,
            }
            for s in page
        ]
        return _compact(PortfolioShareDetails=details, NextPageToken=token)

    def _describe_portfolio_share_status(self, st: RegionState, p: Params) -> dict[str, Any]:
        action = st.share_actions.get(p["PortfolioShareToken"])
        if action is None:
            raise _not_found(f"Portfolio share token {p['PortfolioShareToken']} not found.")
        if action.status == "IN_PROGRESS":
            if action.polls_left > 0:
                action.polls_left -= 1
            else:
                action.status = "COMPLETED"
        details = {"SuccessfulShares": [action.node_value], "ShareErrors": []}
        return _compact(
            PortfolioShareToken=action.token,
            PortfolioId=action.portfolio_id,
            OrganizationNodeValue=action.node_value,
            Status=action.status,
            ShareDetails=details if action.status == "COMPLETED" else None,
        )

    def _list_portfolio_access(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        accounts = [
            s.principal_id
            for s in pf.shares.values()
            if s.type in ("ACCOUNT", "ORGANIZATION_MEMBER_ACCOUNT")
        ]
        page, token = _paginate(accounts, p)
        return _compact(AccountIds=page, NextPageToken=token)

    # ----------------------------------------------------------------- end-user: browsing

    def _launch_paths(self, st: RegionState, product: Product) -> list[tuple[str, Portfolio]]:
        return [(pf.products[product.id], pf) for pf in st.portfolios_of(product.id)]

    def _visible_product(self, st: RegionState, product: Product) -> Product:
        """End users only see products that are in at least one portfolio."""
        if not st.portfolios_of(product.id):
            raise _not_found(f"Product {product.id} is not available through any portfolio.")
        return product

    def _resolve_path(self, st: RegionState, product: Product, p: Params) -> tuple[str, Portfolio]:
        paths = self._launch_paths(st, product)
        wanted_id, wanted_name = p.get("PathId"), p.get("PathName")
        if wanted_id or wanted_name:
            for path_id, pf in paths:
                if path_id == wanted_id or (not wanted_id and pf.display_name == wanted_name):
                    return path_id, pf
            raise _not_found(f"Launch path {wanted_id or wanted_name} not found for {product.id}.")
        if len(paths) == 1:
            return paths[0]
        if not paths:
            raise _not_found(f"Product {product.id} has no launch path.")
        raise _invalid(f"Product {product.id} has {len(paths)} launch paths; specify PathId.")

    def _list_launch_paths(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        summaries = [
            {
                "Id": path_id,
                "ConstraintSummaries": [
                    _compact(Type=c.type, Description=c.description)
                    for c in st.constraints_for(pf.id, product.id)
                ],
                "Tags": _tag_list(pf.tags),
                "Name": pf.display_name,
            }
            for path_id, pf in self._launch_paths(st, product)
        ]
        page, token = _paginate(summaries, p)
        return _compact(LaunchPathSummaries=page, NextPageToken=token)

    def _end_user_artifacts(self, product: Product) -> list[dict[str, Any]]:
        return [
            _compact(
                Id=a.id,
                Name=a.name,
                Description=a.description,
                CreatedTime=a.created,
                Guidance=a.guidance,
            )
            for a in product.artifacts.values()
            if a.active
        ]

    def _describe_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = self._visible_product(st, st.product_by(p.get("Id"), p.get("Name")))
        paths = [
            {"Id": path_id, "Name": pf.display_name}
            for path_id, pf in self._launch_paths(st, product)
        ]
        return {
            "ProductViewSummary": self._product_view_summary(st, product),
            "ProvisioningArtifacts": self._end_user_artifacts(product),
            "Budgets": [],
            "LaunchPaths": paths,
        }

    def _describe_product_view(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = next((pr for pr in st.products.values() if pr.view_id == p["Id"]), None)
        if product is None:
            raise _not_found(f"Product view {p['Id']} not found.")
        self._visible_product(st, product)
        return {
            "ProductViewSummary": self._product_view_summary(st, product),
            "ProvisioningArtifacts": self._end_user_artifacts(product),
        }

    def _describe_provisioning_parameters(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = self._visible_product(st, st.product_by(p.get("ProductId"), p.get("ProductName")))
        artifact = self._artifact_by(
            product, p.get("ProvisioningArtifactId"), p.get("ProvisioningArtifactName")
        )
        _, pf = self._resolve_path(st, product, p)
        constraints = st.constraints_for(pf.id, product.id)
        template = self._load_template(artifact)
        outputs = [
            _compact(Key=str(key), Description=_str_or_none((spec or {}).get("Description")))
            for key, spec in ((template or {}).get("Outputs") or {}).items()
        ]
        return {
            "ProvisioningArtifactParameters": template_parameters(template) if template else [],
            "ConstraintSummaries": [
                _compact(Type=c.type, Description=c.description) for c in constraints
            ],
            "UsageInstructions": _usage_instructions(constraints),
            "TagOptions": _grouped_tag_options(st, (pf.id, product.id)),
            "ProvisioningArtifactOutputs": outputs,
            "ProvisioningArtifactOutputKeys": outputs,
        }

    # ----------------------------------------------------------------- end-user: provisioning

    def _launch_role(self, st: RegionState, pf: Portfolio, product: Product) -> str | None:
        for constraint in st.constraints_for(pf.id, product.id):
            if constraint.type == "LAUNCH":
                params = json.loads(constraint.parameters)
                return params.get("RoleArn") or (
                    f"arn:aws:iam::{ACCOUNT_ID}:role/{params['LocalRoleName']}"
                )
        return None

    def _check_parameters(self, artifact: Artifact, values: dict[str, str]) -> None:
        """Reject unknown and missing parameters when the artifact's template is available."""
        template = self._load_template(artifact)
        if template is None:
            return
        declared = template.get("Parameters") or {}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise _invalid(f"Parameters {unknown} do not exist in the template.")
        missing = sorted(
            key
            for key, spec in declared.items()
            if key not in values and not (isinstance(spec, dict) and "Default" in spec)
        )
        if missing:
            raise _invalid(f"Parameters {missing} must have values.")

    def _new_record(
        self, st: RegionState, pp: ProvisionedProduct, record_type: str
    ) -> dict[str, Any]:
        """Store a SUCCEEDED record and return it with the immediate (``CREATED``) response."""
        outputs = [{"OutputKey": "CloudformationStackARN", "OutputValue": pp.stack_arn}]
        record = Record(
            id=_new_id("rec-"),
            record_type=record_type,
            pp_id=pp.id,
            pp_name=pp.name,
            pp_type=pp.type,
            product_id=pp.product_id,
            artifact_id=pp.artifact_id,
            path_id=pp.path_id,
            created=_now(),
            launch_role_arn=pp.launch_role_arn,
            tags=dict(pp.tags),
            outputs=outputs if pp.type == "CFN_STACK" else [],
        )
        st.records[record.id] = record
        pp.last_record_id = record.id
        immediate = _record_detail(record)
        immediate["Status"] = "CREATED"
        return {"RecordDetail": immediate}

    def _provision_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = self._visible_product(st, st.product_by(p.get("ProductId"), p.get("ProductName")))
        artifact = self._artifact_by(
            product, p.get("ProvisioningArtifactId"), p.get("ProvisioningArtifactName")
        )
        if not artifact.active or artifact.guidance == "DEPRECATED":
            raise _invalid(f"Provisioning artifact {artifact.id} is inactive or deprecated.")
        path_id, pf = self._resolve_path(st, product, p)
        launch_role = self._launch_role(st, pf, product)
        if launch_role is None and self.require_launch_constraint:
            raise _invalid(f"No LAUNCH constraint for {product.id} in portfolio {pf.id}.")
        name = p["ProvisionedProductName"]
        if not _PP_NAME.match(name):
            raise _invalid(f"Invalid provisioned product name {name!r}.")
        if any(pp.name == name for pp in st.provisioned.values()):
            raise _duplicate(f"A provisioned product named {name} already exists.")
        values = {
            item["Key"]: item.get("Value", "") for item in p.get("ProvisioningParameters", [])
        }
        self._check_parameters(artifact, values)
        pp_id = _new_id("pp-")
        pp = ProvisionedProduct(
            id=pp_id,
            name=name,
            arn=st.arn("servicecatalog", f"stack/{name}/{pp_id}"),
            type="CFN_STACK" if product.type == "CLOUD_FORMATION_TEMPLATE" else product.type,
            created=_now(),
            idempotency_token=p["ProvisionToken"],
            product_id=product.id,
            artifact_id=artifact.id,
            path_id=path_id,
            stack_arn=st.arn("cloudformation", f"stack/SC-{ACCOUNT_ID}-{pp_id}/{uuid.uuid4()}"),
            launch_role_arn=launch_role,
            tags=self._merged_tags({}, p.get("Tags", []), []),
            parameters=values,
        )
        st.provisioned[pp.id] = pp
        return self._new_record(st, pp, "PROVISION_PRODUCT")

    def _provisioned_product_detail(self, pp: ProvisionedProduct) -> dict[str, Any]:
        return {**_provisioned_common(pp), **_compact(LaunchRoleArn=pp.launch_role_arn)}

    def _describe_provisioned_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        pp = st.provisioned_by(p.get("Id"), p.get("Name"))
        return {
            "ProvisionedProductDetail": self._provisioned_product_detail(pp),
            "CloudWatchDashboards": [],
        }

    def _search_provisioned_products(self, st: RegionState, p: Params) -> dict[str, Any]:
        rows = [self._provisioned_product_attributes(st, pp) for pp in st.provisioned.values()]
        for query in (p.get("Filters") or {}).get("SearchQuery", []):
            rows = [row for row in rows if _matches_search_query(row, query)]
        sort_by = p.get("SortBy")
        if sort_by is not None:
            if sort_by not in ("arn", "id", "name", "lastRecordId"):
                raise _invalid(f"Cannot sort by {sort_by}.")
            key = sort_by[0].upper() + sort_by[1:]
            rows.sort(
                key=lambda row: str(row.get(key, "")), reverse=p.get("SortOrder") == "DESCENDING"
            )
        page, token = _paginate(rows, p)
        return _compact(ProvisionedProducts=page, TotalResultsCount=len(rows), NextPageToken=token)

    def _provisioned_product_attributes(
        self, st: RegionState, pp: ProvisionedProduct
    ) -> dict[str, Any]:
        product = st.products.get(pp.product_id)
        artifact = product.artifacts.get(pp.artifact_id) if product else None
        return {
            **_provisioned_common(pp),
            **_compact(
                Tags=_tag_list(pp.tags),
                PhysicalId=pp.stack_arn,
                ProductName=product.name if product else None,
                ProvisioningArtifactName=artifact.name if artifact else None,
                UserArn=f"arn:aws:iam::{ACCOUNT_ID}:root",
                UserArnSession=f"arn:aws:iam::{ACCOUNT_ID}:root",
            ),
        }

    def _scan_provisioned_products(self, st: RegionState, p: Params) -> dict[str, Any]:
        details = [self._provisioned_product_detail(pp) for pp in st.provisioned.values()]
        page, token = _paginate(details, p)
        return _compact(ProvisionedProducts=page, NextPageToken=token)

    def _update_provisioned_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        pp = st.provisioned_by(p.get("ProvisionedProductId"), p.get("ProvisionedProductName"))
        product = st.product(pp.product_id)
        if p.get("ProductId", product.id) != product.id or (
            p.get("ProductName", product.name) != product.name
        ):
            raise _invalid("A provisioned product cannot be moved to a different product.")
        artifact = self._update_target_artifact(product, pp, p)
        path_id = pp.path_id
        if "PathId" in p or "PathName" in p:
            path_id, _ = self._resolve_path(st, product, p)
        values = dict(pp.parameters)
        for item in p.get("ProvisioningParameters", []):
            if not item.get("UsePreviousValue"):
                values[item["Key"]] = item.get("Value", "")
        self._check_parameters(artifact, values)
        tags = self._merged_tags({}, p["Tags"], []) if "Tags" in p else pp.tags
        pp.artifact_id, pp.path_id, pp.parameters, pp.tags = artifact.id, path_id, values, tags
        return self._new_record(st, pp, "UPDATE_PROVISIONED_PRODUCT")

    def _update_target_artifact(
        self, product: Product, pp: ProvisionedProduct, p: Params
    ) -> Artifact:
        """The version an update moves to: DEPRECATED is allowed, inactive is not."""
        if "ProvisioningArtifactId" in p or "ProvisioningArtifactName" in p:
            artifact = self._artifact_by(
                product, p.get("ProvisioningArtifactId"), p.get("ProvisioningArtifactName")
            )
        else:
            artifact = self._artifact(product, pp.artifact_id)
        if not artifact.active:
            raise _invalid(f"Provisioning artifact {artifact.id} is inactive.")
        return artifact

    def _terminate_provisioned_product(self, st: RegionState, p: Params) -> dict[str, Any]:
        pp = st.provisioned_by(p.get("ProvisionedProductId"), p.get("ProvisionedProductName"))
        response = self._new_record(st, pp, "TERMINATE_PROVISIONED_PRODUCT")
        del st.provisioned[pp.id]
        return response

    def _describe_record(self, st: RegionState, p: Params) -> dict[str, Any]:
        record = st.records.get(p["Id"])
        if record is None:
            raise _not_found(f"Record {p['Id']} not found.")
        page, token = _paginate(record.outputs, p)
        return _compact(
            RecordDetail=_record_detail(record), RecordOutputs=page, NextPageToken=token
        )

    def _list_record_history(self, st: RegionState, p: Params) -> dict[str, Any]:
        records = sorted(st.records.values(), key=lambda r: r.created, reverse=True)
        search = p.get("SearchFilter")
        if search:
            attribute = {"product": "product_id", "provisionedproduct": "pp_id"}.get(
                search.get("Key", "")
            )
            if attribute is None:
                raise _invalid("SearchFilter Key must be 'product' or 'provisionedproduct'.")
            records = [r for r in records if getattr(r, attribute) == search.get("Value")]
        page, token = _paginate(records, p)
        return _compact(RecordDetails=[_record_detail(r) for r in page], NextPageToken=token)


# --------------------------------------------------------------------------- renderers & rules


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


def _constraint_response(constraint: Constraint) -> dict[str, Any]:
    return {
        "ConstraintDetail": _constraint_detail(constraint),
        "ConstraintParameters": constraint.parameters,
        "Status": "AVAILABLE",
    }


def _record_detail(record: Record) -> dict[str, Any]:
    return _compact(
        RecordId=record.id,
        ProvisionedProductName=record.pp_name,
        Status=record.status,
        CreatedTime=record.created,
        UpdatedTime=record.created,
        ProvisionedProductType=record.pp_type,
        RecordType=record.record_type,
        ProvisionedProductId=record.pp_id,
        ProductId=record.product_id,
        ProvisioningArtifactId=record.artifact_id,
        PathId=record.path_id,
        RecordErrors=[],
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


# --------------------------------------------------------------------------- HTTP server


class _StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: ServiceCatalogBackend) -> None:
        super().__init__(address, _RequestHandler)
        self.backend = backend


class _RequestHandler(BaseHTTPRequestHandler):
    """JSON 1.1 front end plus the ``/_standin/`` control endpoints."""

    # HTTP/1.1 keeps botocore's pooled connections alive; every response sets Content-Length.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle + delayed ACK
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _StandinHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging (stats are available from the backend)."""

    # ----------------------------------------------------------------- routing

    def do_GET(self) -> None:
        routes: dict[str, Callable[[], Any]] = {
            "/_standin/health": lambda: {"ok": True},
            "/_standin/stats": self.server.backend.stats,
            "/_standin/config": self.server.backend.config,
        }
        route = routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send_json(404, {"__type": "NotFound", "Message": f"No route {self.path}"})
        else:
            self._send_json(200, route())

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path.startswith(CONTROL_PREFIX):
            self._control(self.path[len(CONTROL_PREFIX) :], body)
        elif self.path.startswith("/service/"):
            message = "The stand-in speaks awsJson1_1 only, not smithy-rpc-v2-cbor."
            self._send_json(400, {"__type": "UnsupportedProtocolException", "Message": message})
        else:
            self._aws(body)

    def _control(self, action: str, body: bytes) -> None:
        backend = self.server.backend
        try:
            if action == "config":
                self._send_json(200, backend.configure(**_config_kwargs(body)))
            elif action in ("stats/reset", "reset_stats"):
                backend.reset_stats()
                self._send_json(200, backend.stats())
            elif action == "reset":
                backend.reset()
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"__type": "NotFound", "Message": f"No control {action}"})
        except (TypeError, ValueError) as exc:
            self._send_json(400, {"__type": "BadConfig", "Message": str(exc)})

    def _aws(self, body: bytes) -> None:
        target = self.headers.get("X-Amz-Target", "")
        prefix, _, operation = target.partition(".")
        try:
            if prefix != TARGET_PREFIX or not operation:
                raise ServiceCatalogError(
                    "UnknownOperationException", f"Unrecognised X-Amz-Target {target!r}."
                )
            params = _parse_request_body(body)
            region = region_from_authorization(self.headers.get("Authorization"))
            response = self.server.backend.handle(region, operation, params)
        except ServiceCatalogError as error:
            self._send_json(error.status, error.body(), error.code)
        except ShapeMismatchError as error:
            self._send_json(500, {"__type": "InternalFailure", "Message": str(error)})
        except Exception as error:  # surface stand-in bugs to the client as a 500
            message = f"{type(error).__name__}: {error}"
            self._send_json(500, {"__type": "InternalFailure", "Message": message})
        else:
            self._send_json(200, response)

    # ----------------------------------------------------------------- I/O

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, payload: Any, error_type: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)


def _parse_request_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ServiceCatalogError("SerializationException", "Request body is not JSON.") from None
    if not isinstance(params, dict):
        raise ServiceCatalogError("SerializationException", "Request body must be a JSON object.")
    return params


def _config_kwargs(body: bytes) -> dict[str, Any]:
    """Translate a ``POST /_standin/config`` body into ``configure()`` keyword arguments."""
    values = json.loads(body or b"{}")
    if not isinstance(values, dict):
        raise ValueError("config body must be a JSON object")
    if "latency_ms" in values:
        values["latency_s"] = float(values.pop("latency_ms")) / 1000.0
    return values


class ServiceCatalogServer:
    """Serve a :class:`ServiceCatalogBackend` on ``host:port`` (port 0 = ephemeral) in a thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        backend: ServiceCatalogBackend | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.backend = backend or ServiceCatalogBackend()
        self._address = (host, port)
        self._httpd: _StandinHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ServiceCatalogServer:
        if self._httpd is not None:
            return self
        self._httpd = _StandinHTTPServer(self._address, self.backend)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="servicecatalog-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ServiceCatalogServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
