"""Read the live Service Catalog state of one region, with as few read calls as possible.

Calls for a catalog of P portfolios and N products (pages of 20 ignored):
ListPortfolios + SearchProductsAsAdmin + ListTagOptions, per portfolio DescribePortfolio,
ListPrincipalsForPortfolio, ListConstraintsForPortfolio, SearchProductsAsAdmin(PortfolioId),
DescribePortfolioShares per share type used, and per product one DescribeProductAsAdmin.
ListProvisioningArtifacts is only needed when a product's version fingerprint tag says the
version policy has not been enforced for the current set of versions.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from factory.portfolio import Catalog, Portfolio, VersionPolicy
from factory.publish.aws import (
    DIGEST_PREFIX,
    TAG_PORTFOLIO,
    TAG_PRODUCT,
    TAG_VERSIONS,
    Clients,
    pages,
    short_hash,
    tag_dict,
)

SHARE_TYPE_FOR_NODE = {
    "ORGANIZATION": "ORGANIZATION",
    "ORGANIZATIONAL_UNIT": "ORGANIZATIONAL_UNIT",
    "ACCOUNT": "ORGANIZATION_MEMBER_ACCOUNT",
}


@dataclass
class LiveConstraint:
    id: str
    type: str
    product_id: str
    description: str


@dataclass
class LiveShare:
    share_tag_options: bool
    share_principals: bool


@dataclass
class LivePortfolio:
    id: str
    display_name: str
    description: str
    provider_name: str
    tags: dict[str, str]
    tag_option_ids: set[str] = field(default_factory=set)
    principals: dict[str, str] = field(default_factory=dict)
    constraints: list[LiveConstraint] = field(default_factory=list)
    product_ids: set[str] = field(default_factory=set)
    shares: dict[tuple[str, str], LiveShare] = field(default_factory=dict)


@dataclass
class LiveArtifact:
    id: str
    description: str
    created: datetime | float
    active: bool | None = None  # None: not read (DescribeProductAsAdmin omits it)
    guidance: str | None = None

    @property
    def key(self) -> str:
        """The template digest, or the id for versions not created by the factory."""
        if self.description.startswith(DIGEST_PREFIX):
            return self.description.removeprefix(DIGEST_PREFIX)
        return f"id:{self.id}"


@dataclass
class LiveProduct:
    id: str
    summary: dict[str, Any]
    tags: dict[str, str]
    tag_option_ids: set[str]
    artifacts: list[LiveArtifact]
    detailed: bool = False

    def artifact_for(self, digest: str) -> LiveArtifact | None:
        return next((a for a in self.artifacts if a.key == digest), None)


@dataclass
class LiveState:
    region: str
    portfolios: dict[str, LivePortfolio] = field(default_factory=dict)
    products: dict[str, LiveProduct] = field(default_factory=dict)
    orphans: dict[str, LiveProduct] = field(default_factory=dict)
    tag_options: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# --- version ordering (shared with the planner) -----------------------------------------------


def version_order(artifacts: list[LiveArtifact], digest: str) -> list[LiveArtifact]:
    """Current template's version first, then the others newest first."""
    current = [a for a in artifacts if a.key == digest]
    others = sorted(
        (a for a in artifacts if a.key != digest),
        key=lambda a: (_timestamp(a.created), a.id),
        reverse=True,
    )
    return current + others


def versions_fingerprint(policy: VersionPolicy, keys: list[str]) -> str:
    return short_hash(policy.keep_active, policy.keep_deprecated, policy.delete_inactive, keys)


def _timestamp(value: datetime | float) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


# --- reading --------------------------------------------------------------------------------


#: Per-product reads are independent; botocore clients are thread-safe, so a small pool
#: turns N sequential round trips into ~N/8 without changing the number of calls.
READ_CONCURRENCY = 8


def read_state(clients: Clients, catalog: Catalog, digests: dict[str, str]) -> LiveState:
    state = LiveState(region=clients.region)
    _read_portfolios(clients, catalog, state)
    _read_products(clients, catalog, digests, state)
    if any(p.tag_options for p in catalog.portfolios):
        for detail in pages(
            clients.sc.list_tag_options, "TagOptionDetails", "PageToken", PageSize=20
        ):
            key = (detail["Key"], detail["Value"])
            state.tag_options[key] = (detail["Id"], bool(detail.get("Active", True)))
    return state


def _read_portfolios(clients: Clients, catalog: Catalog, state: LiveState) -> None:
    wanted = {p.display_name: p for p in catalog.portfolios}
    for detail in pages(clients.sc.list_portfolios, "PortfolioDetails", PageSize=100):
        config = wanted.get(detail["DisplayName"])
        if config is None:
            continue
        described = clients.sc.describe_portfolio(Id=detail["Id"])
        tags = tag_dict(described.get("Tags"))
        if tags.get(TAG_PORTFOLIO) != config.id:
            continue
        if config.id in state.portfolios:
            state.warnings.append(f"portfolio {config.id}: several AWS portfolios carry its tag")
            continue
        live = LivePortfolio(
            id=detail["Id"],
            display_name=detail["DisplayName"],
            description=detail.get("Description", ""),
            provider_name=detail.get("ProviderName", ""),
            tags=tags,
            tag_option_ids={t["Id"] for t in described.get("TagOptions", [])},
        )
        _read_portfolio_details(clients, config, live)
        state.portfolios[config.id] = live


def _read_portfolio_details(clients: Clients, config: Portfolio, live: LivePortfolio) -> None:
    sc = clients.sc
    for principal in pages(
        sc.list_principals_for_portfolio, "Principals", PortfolioId=live.id, PageSize=20
    ):
        live.principals[principal["PrincipalARN"]] = principal["PrincipalType"]
    for c in pages(
        sc.list_constraints_for_portfolio, "ConstraintDetails", PortfolioId=live.id, PageSize=20
    ):
        live.constraints.append(
            LiveConstraint(c["ConstraintId"], c["Type"], c["ProductId"], c.get("Description", ""))
        )
    for view in pages(
        sc.search_products_as_admin, "ProductViewDetails", PortfolioId=live.id, PageSize=20
    ):
        live.product_ids.add(view["ProductViewSummary"]["ProductId"])
    for share_type in _share_types(config):
        for share in pages(
            sc.describe_portfolio_shares,
            "PortfolioShareDetails",
            PortfolioId=live.id,
            Type=share_type,
            PageSize=100,
        ):
            live.shares[(share_type, share["PrincipalId"])] = LiveShare(
                bool(share.get("ShareTagOptions")), bool(share.get("SharePrincipals"))
            )


def _share_types(config: Portfolio) -> list[str]:
    types = ["ACCOUNT"] if config.sharing.accounts else []
    for node in config.sharing.organization_nodes:
        share_type = SHARE_TYPE_FOR_NODE[node.type]
        if share_type not in types:
            types.append(share_type)
    return types


def _read_products(
    clients: Clients, catalog: Catalog, digests: dict[str, str], state: LiveState
) -> None:
    names = {p.display_name for p in catalog.products.values()}
    ours = set().union(*(p.product_ids for p in state.portfolios.values()))
    candidates: list[str] = []
    for view in pages(clients.sc.search_products_as_admin, "ProductViewDetails", PageSize=20):
        summary = view["ProductViewSummary"]
        if summary["Name"] in names or summary["ProductId"] in ours:
            candidates.append(summary["ProductId"])
    with ThreadPoolExecutor(READ_CONCURRENCY) as pool:
        described = list(pool.map(lambda aws_id: _describe_product(clients, aws_id), candidates))
    for live in described:
        logical = live.tags.get(TAG_PRODUCT)
        if logical is None:
            continue
        target = state.products if logical in catalog.products else state.orphans
        if logical in target:
            state.warnings.append(f"product {logical}: several AWS products carry its tag")
            continue
        target[logical] = live
        if logical in catalog.products:
            policy = catalog.products[logical].version_policy
            _detail_versions_if_needed(clients, live, digests[logical], policy)


def _describe_product(clients: Clients, aws_id: str) -> LiveProduct:
    described = clients.sc.describe_product_as_admin(Id=aws_id)
    return LiveProduct(
        id=aws_id,
        summary=described["ProductViewDetail"]["ProductViewSummary"],
        tags=tag_dict(described.get("Tags")),
        tag_option_ids={t["Id"] for t in described.get("TagOptions", [])},
        artifacts=[
            LiveArtifact(a["Id"], a.get("Description", ""), a.get("CreatedTime", 0.0))
            for a in described.get("ProvisioningArtifactSummaries", [])
        ],
    )


def _detail_versions_if_needed(
    clients: Clients, live: LiveProduct, digest: str, policy: VersionPolicy
) -> None:
    keys = [a.key for a in version_order(live.artifacts, digest)]
    if live.artifact_for(digest) and live.tags.get(TAG_VERSIONS) == versions_fingerprint(
        policy, keys
    ):
        return
    response = clients.sc.list_provisioning_artifacts(ProductId=live.id)
    live.artifacts = [
        LiveArtifact(
            a["Id"],
            a.get("Description", ""),
            a.get("CreatedTime", 0.0),
            a.get("Active", True),
            a.get("Guidance", "DEFAULT"),
        )
        for a in response.get("ProvisioningArtifactDetails", [])
    ]
    live.detailed = True
