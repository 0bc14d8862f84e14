"""The backend's data: one :class:`RegionState` per region, quotas, the request log."""

from __future__ import annotations

import random
import string
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import _get, _invalid, _not_found

ACCOUNT_ID = "123456789012"

DEFAULT_REGION = "us-east-1"

_ID_ALPHABET = string.ascii_lowercase + string.digits

_ID_RANDOM = random.SystemRandom()


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
    # clock time from which Status is AVAILABLE (CREATING before; realistic mode)
    available_at: float = 0.0
    # ends FAILED instead of AVAILABLE (realistic mode: Realism.failing_template_urls)
    fails: bool = False


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
    # clock time from which Status is AVAILABLE (CREATING before; realistic mode)
    available_at: float = 0.0


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
    # clock time from which Status is AVAILABLE (CREATING before; realistic mode)
    available_at: float = 0.0


@dataclass
class TagOption:
    id: str
    key: str
    value: str
    active: bool = True
    resources: dict[str, None] = field(default_factory=dict)  # ordered set of resource ids


#: An update's previous (artifact id, path id, parameters, tags, status), restored when it fails.
Rollback = tuple[str, str, dict[str, str], dict[str, str], str]


@dataclass
class PendingChange:
    """A provisioning request still running (realistic mode: ``Realism.provisioning_s``)."""

    record_id: str
    done_at: float  # clock time at which the request ends
    error: dict[str, str] | None = None  # the RecordError it ends with, None: it succeeds
    rollback: Rollback | None = None


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
    status_message: str | None = None
    last_successful_record_id: str | None = None
    pending: PendingChange | None = None


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
    errors: list[dict[str, str]] = field(default_factory=list)
    updated: float | None = None


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
    # (operation, token) -> (first response, clock time it was stored)
    idempotency: dict[tuple[str, str], tuple[dict[str, Any], float]] = field(default_factory=dict)
    # consistency key -> clock time until which requests naming it answer ResourceNotFound
    unsettled: dict[tuple[str, ...], float] = field(default_factory=dict)

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


def _new_id(prefix: str) -> str:
    """IDs shaped like the real ones: prefix + 13 lowercase alphanumerics."""
    return prefix + "".join(_ID_RANDOM.choices(_ID_ALPHABET, k=13))


def _now() -> float:
    return round(time.time(), 3)
