"""TagOptions and their associations with portfolios and products."""

from __future__ import annotations

from typing import Any

from ..errors import _bad_state, _duplicate, _in_use, _invalid, _limit, _not_found
from ..render import _compact, _paginate, _resource_detail, _tag_option_detail
from ..rules import _ensure_unique_tag_option
from ..state import Portfolio, Product, RegionState, TagOption, _new_id
from .base import HandlerBase, Params


class TagOptionHandlers(HandlerBase):
    """TagOptions and their associations with portfolios and products."""

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
