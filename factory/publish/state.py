"""Read the live Service Catalog state of one region, with as few read calls as possible.

Identity is the catalog id tag the publisher writes (TAG_PORTFOLIO / TAG_PRODUCT), never the
display name: display names are not unique (FIELD-NOTES). ListPortfolios and
SearchProductsAsAdmin return no tags (botocore model: PortfolioDetail, ProductViewSummary), so
every portfolio gets one DescribePortfolio and every product of the account one
DescribeProductAsAdmin (both return Tags and TagOptions).

Calls for an account with P portfolios and N products (pages ignored): ListPortfolios +
SearchProductsAsAdmin(ProductSource=ACCOUNT) + ListTagOptions, per portfolio DescribePortfolio,
and per catalog portfolio ListPrincipalsForPortfolio, ListConstraintsForPortfolio,
SearchProductsAsAdmin(PortfolioId), DescribePortfolioShares x 4 share types; per product one
DescribeProductAsAdmin. ListProvisioningArtifacts only when the current version's description
does not carry the fingerprint of the enforced version policy.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from factory.aws import (
    DIGEST_PREFIX,
    FINGERPRINT_MARK,
    TAG_PORTFOLIO,
    TAG_PRODUCT,
    Clients,
    error_code,
    pages,
    short_hash,
    tag_dict,
    timestamp,
    unpaged,
)
from factory.portfolio import Catalog, VersionPolicy

SHARE_TYPE_FOR_NODE = {
    "ORGANIZATION": "ORGANIZATION",
    "ORGANIZATIONAL_UNIT": "ORGANIZATIONAL_UNIT",
    "ACCOUNT": "ORGANIZATION_MEMBER_ACCOUNT",
}
NODE_FOR_SHARE_TYPE = {v: k for k, v in SHARE_TYPE_FOR_NODE.items()}
#: DescribePortfolioShares `Type` enum (botocore model, DescribePortfolioShareType).
SHARE_TYPES = ("ACCOUNT", *SHARE_TYPE_FOR_NODE.values())


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
            return self.description.removeprefix(DIGEST_PREFIX).split(" ", 1)[0]
        return f"id:{self.id}"

    @property
    def fingerprint(self) -> str | None:
        """Fingerprint of the version policy last enforced (current version only)."""
        for word in self.description.split()[1:]:
            if word.startswith(FINGERPRINT_MARK):
                return word.removeprefix(FINGERPRINT_MARK)
        return None


@dataclass
class LiveProduct:
    id: str
    summary: dict[str, Any]
    tags: dict[str, str]
    tag_option_ids: set[str]
    artifacts: list[LiveArtifact]
    detailed: bool = False

    @property
    def name(self) -> str:
        return str(self.summary.get("Name", ""))

    def artifact_for(self, digest: str) -> LiveArtifact | None:
        return next((a for a in self.artifacts if a.key == digest), None)


@dataclass
class LiveState:
    region: str
    portfolios: dict[str, LivePortfolio] = field(default_factory=dict)
    orphan_portfolios: dict[str, LivePortfolio] = field(default_factory=dict)
    products: dict[str, LiveProduct] = field(default_factory=dict)
    orphans: dict[str, LiveProduct] = field(default_factory=dict)
    tag_options: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    #: every portfolio and product of the region, ours or not (the region quotas count them)
    totals: dict[str, int] = field(default_factory=dict)
    #: AWS product id -> names of its provisioned products (read under --prune only)
    in_use: dict[str, list[str]] = field(default_factory=dict)
    #: several live resources carry one catalog id: nothing may be written (see `duplicates`)
    duplicates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def product_catalog_ids(self) -> dict[str, str]:
        """AWS product id -> catalog id, for every product we own (catalog and orphans)."""
        both = {**self.orphans, **self.products}
        return {live.id: cid for cid, live in both.items()}


class DuplicateResources(RuntimeError):
    """Several live resources carry one catalog id tag: the publisher must not guess."""


# --- version ordering (shared with the planner) -----------------------------------------------


def version_order(artifacts: list[LiveArtifact], digest: str) -> list[LiveArtifact]:
    """Current template's version first, then the others newest first."""
    current = [a for a in artifacts if a.key == digest]
    others = sorted(
        (a for a in artifacts if a.key != digest),
        key=lambda a: (timestamp(a.created), a.id),
        reverse=True,
    )
    return current + others


def versions_fingerprint(policy: VersionPolicy, keys: list[str]) -> str:
    return short_hash(policy.keep_active, policy.keep_deprecated, policy.delete_inactive, keys)


# --- reading --------------------------------------------------------------------------------


#: Per-resource reads are independent; botocore clients are thread-safe, so a small pool
#: turns N sequential round trips into ~N/8 without changing the number of calls.
READ_CONCURRENCY = 8


def read_state(clients: Clients, catalog: Catalog, digests: dict[str, str]) -> LiveState:
    state = LiveState(region=clients.region)
    _read_portfolios(clients, catalog, state)
    _read_products(clients, catalog, digests, state)
    # Always read: "all TagOptions removed" must still see the ones attached today.
    for detail in pages(clients.sc, "list_tag_options", "TagOptionDetails", PageSize=20):
        key = (detail["Key"], detail["Value"])
        state.tag_options[key] = (detail["Id"], bool(detail.get("Active", True)))
    return state


def _describe_portfolio(clients: Clients, detail: dict[str, Any]) -> LivePortfolio:
    described = clients.sc.describe_portfolio(Id=detail["Id"])
    return LivePortfolio(
        id=detail["Id"],
        display_name=detail["DisplayName"],
        description=detail.get("Description", ""),
        provider_name=detail.get("ProviderName", ""),
        tags=tag_dict(described.get("Tags")),
        tag_option_ids={t["Id"] for t in described.get("TagOptions", [])},
    )


def _read_portfolios(clients: Clients, catalog: Catalog, state: LiveState) -> None:
    """Every portfolio of the account and region, by tag (ListPortfolios lists the account's
    own portfolios; imported ones come from ListAcceptedPortfolioShares, API reference)."""
    details = list(pages(clients.sc, "list_portfolios", "PortfolioDetails", PageSize=100))
    state.totals["portfolios"] = len(details)
    with ThreadPoolExecutor(READ_CONCURRENCY) as pool:
        described = list(pool.map(lambda d: _describe_portfolio(clients, d), details))
    wanted = {p.id: p for p in catalog.portfolios}
    groups = _group_by_tag(described, TAG_PORTFOLIO)
    for logical, found in groups.items():
        if len(found) > 1:
            state.duplicates.append(_duplicate_message("portfolio", logical, found))
            continue
        target = state.portfolios if logical in wanted else state.orphan_portfolios
        target[logical] = found[0]
    for live in state.portfolios.values():
        _read_portfolio_details(clients, live)


def _group_by_tag(items: list[Any], tag: str) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for item in items:
        logical = item.tags.get(tag)
        if logical is not None:
            groups.setdefault(logical, []).append(item)
    return groups


def _duplicate_message(kind: str, logical: str, found: list[Any]) -> str:
    listed = ", ".join(
        f"{item.id} ({getattr(item, 'display_name', None) or item.name!r})"
        for item in sorted(found, key=lambda i: i.id)
    )
    return (
        f"{kind} {logical}: {len(found)} live {kind}s carry the tag of this catalog id: "
        f"{listed}; delete the extra ones or remove their tag, then re-run"
    )


def _read_portfolio_details(clients: Clients, live: LivePortfolio) -> None:
    sc = clients.sc
    for principal in pages(
        sc, "list_principals_for_portfolio", "Principals", PortfolioId=live.id, PageSize=20
    ):
        live.principals[principal["PrincipalARN"]] = principal["PrincipalType"]
    for c in pages(
        sc,
        "list_constraints_for_portfolio",
        "ConstraintDetails",
        PortfolioId=live.id,
        PageSize=20,
    ):
        live.constraints.append(
            LiveConstraint(c["ConstraintId"], c["Type"], c["ProductId"], c.get("Description", ""))
        )
    for view in pages(
        sc, "search_products_as_admin", "ProductViewDetails", PortfolioId=live.id, PageSize=20
    ):
        live.product_ids.add(view["ProductViewSummary"]["ProductId"])
    for share_type in SHARE_TYPES:
        _read_shares(clients, live, share_type)


#: Organization share types are readable only from the management or a delegated-admin account
#: with Organizations access (API reference, DescribePortfolioShares / CreatePortfolioShare).
ORG_READ_REFUSED = ("OperationNotSupportedException", "AccessDeniedException")


def _read_shares(clients: Clients, live: LivePortfolio, share_type: str) -> None:
    live.shares.update(
        ((share_type, principal), share)
        for principal, share in read_shares(clients, live.id, share_type).items()
    )


def read_shares(clients: Clients, portfolio_id: str, share_type: str) -> dict[str, LiveShare]:
    """Principal -> flags of one share type. Organization types read where they cannot be
    (not the management or a delegated-admin account) are empty: no such share can exist."""
    try:
        shares = list(
            unpaged(
                clients.sc.describe_portfolio_shares,
                "PortfolioShareDetails",
                PortfolioId=portfolio_id,
                Type=share_type,
                PageSize=100,
            )
        )
    except ClientError as exc:
        if share_type == "ACCOUNT" or error_code(exc) not in ORG_READ_REFUSED:
            raise
        return {}
    return {
        share["PrincipalId"]: LiveShare(
            bool(share.get("ShareTagOptions")), bool(share.get("SharePrincipals"))
        )
        for share in shares
    }


def _read_products(
    clients: Clients, catalog: Catalog, digests: dict[str, str], state: LiveState
) -> None:
    """Every product the account owns (ProductSource ACCOUNT: not imported ones), by tag."""
    candidates = [
        view["ProductViewSummary"]["ProductId"]
        for view in pages(
            clients.sc,
            "search_products_as_admin",
            "ProductViewDetails",
            ProductSource="ACCOUNT",
            PageSize=20,  # the model's maximum for SearchProductsAsAdmin
        )
    ]
    state.totals["products"] = len(candidates)
    with ThreadPoolExecutor(READ_CONCURRENCY) as pool:
        described = list(pool.map(lambda aws_id: _describe_product(clients, aws_id), candidates))
    for logical, found in _group_by_tag(described, TAG_PRODUCT).items():
        if len(found) > 1:
            state.duplicates.append(_duplicate_message("product", logical, found))
            continue
        live = found[0]
        if logical not in catalog.products:
            state.orphans[logical] = live
            continue
        state.products[logical] = live
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
    current = live.artifact_for(digest)
    if current is not None and current.fingerprint == versions_fingerprint(policy, keys):
        return
    live.artifacts = [
        LiveArtifact(
            a["Id"],
            a.get("Description", ""),
            a.get("CreatedTime", 0.0),
            a.get("Active", True),
            a.get("Guidance", "DEFAULT"),
        )
        # ListProvisioningArtifacts takes no PageToken (botocore model): one call returns all.
        for a in clients.sc.list_provisioning_artifacts(ProductId=live.id).get(
            "ProvisioningArtifactDetails", []
        )
    ]
    live.detailed = True
