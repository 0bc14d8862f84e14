"""Portfolios and their products (create, describe, associate, ...)."""

from __future__ import annotations

from typing import Any

from ..errors import _in_use, _limit, _not_found
from ..render import _compact, _paginate, _tag_list, _tag_option_detail
from ..state import Portfolio, RegionState, _new_id, _now
from .base import HandlerBase, Params


class PortfolioHandlers(HandlerBase):
    """Portfolios and their products (create, describe, associate, ...)."""

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
        portfolios = [pf for pf in st.portfolios.values() if self._listed(st, pf.id)]
        page, token = _paginate(portfolios, p)
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
