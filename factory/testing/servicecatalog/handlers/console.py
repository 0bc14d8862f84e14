"""What the console's first calls need: the end user's products, outputs, self-service actions."""

from __future__ import annotations

from typing import Any

from ..errors import _not_found
from ..outputs import resolve_outputs
from ..render import _compact, _paginate, _product_matches, _sort_products
from ..state import ACCOUNT_ID, RegionState
from .base import HandlerBase, Params


class ConsoleHandlers(HandlerBase):
    """SearchProducts, GetProvisionedProductOutputs, ListServiceActionsForProvisioningArtifact."""

    def _search_products(self, st: RegionState, p: Params) -> dict[str, Any]:
        """The end user's view: products reachable through a portfolio (API reference,
        SearchProducts: "the products to which the caller has access"). One caller identity
        sees every portfolio: principals are not evaluated."""
        products = [pr for pr in st.products.values() if st.portfolios_of(pr.id)]
        for key, values in (p.get("Filters") or {}).items():
            products = [pr for pr in products if _product_matches(pr, key, values)]
        products = _sort_products(products, p.get("SortBy"), p.get("SortOrder"))
        page, token = _paginate(products, p)
        summaries = [self._product_view_summary(st, pr) for pr in page]
        return _compact(ProductViewSummaries=summaries, NextPageToken=token)

    def _get_provisioned_product_outputs(self, st: RegionState, p: Params) -> dict[str, Any]:
        pp = st.provisioned_by(p.get("ProvisionedProductId"), p.get("ProvisionedProductName"))
        product = st.products.get(pp.product_id)
        artifact = product.artifacts.get(pp.artifact_id) if product else None
        template = self._load_template(artifact) if artifact else None
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": st.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": f"SC-{ACCOUNT_ID}-{pp.id}",
            "AWS::StackId": pp.stack_arn,
            "AWS::NoValue": "",
        }
        outputs = resolve_outputs(template, pp.parameters, pseudo) if template else []
        wanted = p.get("OutputKeys")
        if wanted:
            outputs = [o for o in outputs if o["OutputKey"] in wanted]
        page, token = _paginate(outputs, p)
        return _compact(Outputs=page, NextPageToken=token)

    def _list_service_actions_for_artifact(self, st: RegionState, p: Params) -> dict[str, Any]:
        """The stand-in has no self-service actions: an empty list for an existing version."""
        product = st.product(p["ProductId"])
        if p["ProvisioningArtifactId"] not in product.artifacts:
            raise _not_found(f"Provisioning artifact {p['ProvisioningArtifactId']} not found.")
        return {"ServiceActionSummaries": []}
