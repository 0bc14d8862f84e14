"""The end user's side: browsing products, provisioning, records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import _duplicate, _invalid, _not_found
from ..render import (
    _compact,
    _grouped_tag_options,
    _matches_search_query,
    _paginate,
    _provisioned_common,
    _record_detail,
    _tag_list,
    _usage_instructions,
)
from ..rules import _PP_NAME
from ..state import (
    ACCOUNT_ID,
    Artifact,
    Portfolio,
    Product,
    ProvisionedProduct,
    Record,
    RegionState,
    _new_id,
    _now,
)
from ..templates import _str_or_none, template_parameters
from .base import HandlerBase, Params


class ProvisioningHandlers(HandlerBase):
    """The end user's side: browsing products, provisioning, records."""

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
        self._check_available(artifact)
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
            tags=self._launch_tags(product, p.get("Tags", [])),
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
        tags = self._launch_tags(product, p["Tags"]) if "Tags" in p else pp.tags
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
        self._check_available(artifact)
        return artifact

    def _check_available(self, artifact: Artifact) -> None:
        """A version still CREATING, or FAILED, cannot be launched (realistic mode)."""
        status = self._status(artifact.available_at, artifact.fails)
        if status != "AVAILABLE":
            raise _invalid(f"Provisioning artifact {artifact.id} is {status}, not AVAILABLE.")

    def _launch_tags(
        self, product: Product, requested: Sequence[Mapping[str, str]]
    ) -> dict[str, str]:
        """The provisioned product's tags: the product's, then the caller's (realistic mode).

        "Tags are propagated to the resources created when provisioning a product" (API
        reference, Tag data type; FIELD-NOTES: product tags propagate to every Domain and
        UserProfile launched).
        """
        inherited = product.tags if self.realism.propagate_product_tags else {}
        return {**inherited, **self._merged_tags({}, requested, [])}

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
