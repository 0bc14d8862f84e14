"""Settings and helpers shared by the handlers of every area."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import _invalid, _limit, _not_found
from ..realism import Realism
from ..render import _compact
from ..state import DEFAULT_REGION, Artifact, Limits, Portfolio, Product, RegionState, ShareAction
from ..templates import parse_template, s3_location

Params = dict[str, Any]
Handler = Callable[["RegionState", Params], dict[str, Any]]


class HandlerBase:
    """What every area's handlers share: the backend's settings and cross-area lookups.

    The area mixins (``PortfolioHandlers``, ...) are combined into ``ServiceCatalogBackend``;
    each handler takes the region's state and the validated request parameters.
    """

    limits: Limits
    s3_endpoint_url: str | None
    validate_templates: bool
    require_launch_constraint: bool
    share_polls_before_complete: int
    realism: Realism
    clock: Callable[[], float]

    def _listed(self, st: RegionState, resource_id: str) -> bool:
        """False while a new resource is still missing from list results (realistic mode)."""
        if not self.realism.lists_lag:
            return True
        until = st.unsettled.get((resource_id,))
        return until is None or self.clock() >= until

    def _available_at(self) -> float:
        """When a resource created now turns AVAILABLE (realistic mode: after a delay)."""
        return self.clock() + self.realism.available_after_s

    def _status(self, available_at: float, fails: bool = False) -> str:
        """``CREATING`` until ``available_at``, then ``AVAILABLE`` or ``FAILED`` (Status enums
        in the model)."""
        if self.clock() < available_at:
            return "CREATING"
        return "FAILED" if fails else "AVAILABLE"

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

    def _portfolio_detail(self, pf: Portfolio) -> dict[str, Any]:
        return _compact(
            Id=pf.id,
            ARN=pf.arn,
            DisplayName=pf.display_name,
            Description=pf.description,
            CreatedTime=pf.created,
            ProviderName=pf.provider_name,
        )

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
            "Status": self._status(product.available_at),
            "ProductARN": product.arn,
            "CreatedTime": product.created,
        }

    def _share_in_progress(self, st: RegionState, portfolio_id: str) -> ShareAction | None:
        for action in st.share_actions.values():
            if action.portfolio_id == portfolio_id and action.status == "IN_PROGRESS":
                return action
        return None

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
        try:
            body = (
                _s3_client(self.s3_endpoint_url)
                .get_object(Bucket=location[0], Key=location[1])["Body"]
                .read()
            )
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

    def _visible_product(self, st: RegionState, product: Product) -> Product:
        """End users only see products that are in at least one portfolio."""
        if not st.portfolios_of(product.id):
            raise _not_found(f"Product {product.id} is not available through any portfolio.")
        return product

    def _launch_paths(self, st: RegionState, product: Product) -> list[tuple[str, Portfolio]]:
        return [(pf.products[product.id], pf) for pf in st.portfolios_of(product.id)]

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


@lru_cache(maxsize=8)
def _s3_client(endpoint_url: str) -> Any:
    """One S3 client per moto endpoint (clients are thread-safe; making one costs ~10 ms,
    and the stand-in fetched a template per new version)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=DEFAULT_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
