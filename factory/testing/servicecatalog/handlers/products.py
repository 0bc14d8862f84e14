"""Products and their versions (provisioning artifacts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import _in_use, _invalid, _limit
from ..render import (
    _artifact_detail,
    _artifact_info,
    _compact,
    _default_artifact_type,
    _paginate,
    _product_matches,
    _sort_products,
    _tag_list,
    _tag_option_detail,
)
from ..rules import _TEMPLATE_SOURCES
from ..state import Artifact, Product, RegionState, _new_id, _now
from ..templates import template_parameters
from .base import HandlerBase, Params


class ProductHandlers(HandlerBase):
    """Products and their versions (provisioning artifacts)."""

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
            available_at=self._available_at(),
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
        products = [pr for pr in products if self._listed(st, pr.id)]
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
        # API reference, DeleteProduct: only products shared with you or associated with a
        # portfolio are refused; the realistic mode allows it with provisioned products left.
        in_use = any(pp.product_id == product.id for pp in st.provisioned.values())
        if in_use and not self.realism.delete_product_in_use:
            raise _in_use(f"Product {product.id} has provisioned products.")
        del st.products[product.id]
        for to in st.tag_options.values():
            to.resources.pop(product.id, None)
        return {}

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
            available_at=self._available_at(),
            fails=info.get("LoadTemplateFromURL") in self.realism.failing_template_urls,
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

    def _create_provisioning_artifact(self, st: RegionState, p: Params) -> dict[str, Any]:
        product = st.product(p["ProductId"])
        artifact = self._new_artifact(product, p["Parameters"])
        product.artifacts[artifact.id] = artifact
        return {
            "ProvisioningArtifactDetail": _artifact_detail(artifact),
            "Info": _artifact_info(artifact),
            "Status": self._status(artifact.available_at, artifact.fails),
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
            "Status": self._status(artifact.available_at, artifact.fails),
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
            "Status": self._status(artifact.available_at, artifact.fails),
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
