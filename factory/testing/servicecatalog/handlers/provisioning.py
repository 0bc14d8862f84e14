"""The end user's side: browsing products, provisioning, records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ServiceCatalogError, _duplicate, _invalid, _not_found
from ..parameters import effective_values, first_violation
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
    PendingChange,
    Portfolio,
    Product,
    ProvisionedProduct,
    Record,
    RegionState,
    Rollback,
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

    def _check_parameters(
        self, template: Mapping[str, Any] | None, values: Mapping[str, str]
    ) -> None:
        """Refuse unknown and missing parameters when the version's template is available.

        Synchronous, as the stand-in has always done it; the values themselves are checked when
        the launch runs (:meth:`_launch_error`)."""
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

    def _launch_error(
        self, template: Mapping[str, Any] | None, values: Mapping[str, str], name: str, verb: str
    ) -> dict[str, str] | None:
        """The RecordError a launch or update ends with, or None when it succeeds.

        A value that breaks the template's constraints fails the launch after the request was
        accepted (see :mod:`..parameters`; Code ``ValidationError`` is the code CloudFormation
        answers for it), and so does every launch named in ``Realism.failing_provisioned_names``,
        with CloudFormation's stack status reason. RecordError's Code is documented only as "The
        numeric value of the error" (botocore's model): these codes are the stand-in's choice.
        """
        message = first_violation(template, values) if template is not None else None
        if message is not None:
            return {"Code": "ValidationError", "Description": message}
        if name in self.realism.failing_provisioned_names:
            resource = next(iter((template or {}).get("Resources") or {}), "Stack")
            return {
                "Code": f"{verb.upper()}_FAILED",
                "Description": f"The following resource(s) failed to {verb}: [{resource}].",
            }
        return None

    def _start_change(
        self,
        st: RegionState,
        pp: ProvisionedProduct,
        record_type: str,
        error: dict[str, str] | None = None,
        rollback: Rollback | None = None,
    ) -> dict[str, Any]:
        """Store the request's record and return it with the immediate (``CREATED``) response.

        The request runs for ``Realism.provisioning_s``: meanwhile the record is ``IN_PROGRESS``
        and the provisioned product ``UNDER_CHANGE``; :meth:`_settle_provisioning` ends it
        (0 s: it ends before the response is sent)."""
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
            status="IN_PROGRESS",
        )
        st.records[record.id] = record
        pp.last_record_id = record.id
        pp.status, pp.status_message = "UNDER_CHANGE", None
        done_at = self.clock() + self.realism.provisioning_s
        pp.pending = PendingChange(record.id, done_at, error, rollback)
        immediate = _record_detail(record)
        immediate["Status"] = "CREATED"
        if not self.realism.provisioning_s:
            self._finish_change(st, pp)
        return {"RecordDetail": immediate}

    def _settle_provisioning(self, st: RegionState) -> None:
        """End every request whose time has come. The backend calls it before handling each
        request, so statuses follow the clock without threads."""
        now = self.clock()
        for pp in list(st.provisioned.values()):
            if pp.pending is not None and now >= pp.pending.done_at:
                self._finish_change(st, pp)

    def _finish_change(self, st: RegionState, pp: ProvisionedProduct) -> None:
        """The request's outcome: SUCCEEDED (AVAILABLE, or gone after a terminate), or FAILED
        with ERROR after a launch and TAINTED after an update, which rolls back
        (ProvisionedProductStatus in botocore's model)."""
        change, pp.pending = pp.pending, None
        if change is None:
            return
        record = st.records[change.record_id]
        record.updated = _now()
        if record.record_type == "TERMINATE_PROVISIONED_PRODUCT":
            record.status = "SUCCEEDED"
            del st.provisioned[pp.id]
        elif change.error is None:
            record.status, pp.status = "SUCCEEDED", "AVAILABLE"
            pp.last_successful_record_id = record.id
        else:
            record.status, record.errors = "FAILED", [dict(change.error)]
            pp.status, pp.status_message = "ERROR", change.error["Description"]
            if change.rollback is not None:
                self._roll_back(pp, change.rollback)

    def _roll_back(self, pp: ProvisionedProduct, rollback: Rollback) -> None:
        """A failed update leaves the product as it was: "a request to update to a new version
        failed and the stack rolled back to the current version" is TAINTED; a product that was
        in ERROR (no stack running) stays ERROR."""
        artifact_id, path_id, parameters, tags, status = rollback
        pp.artifact_id, pp.path_id = artifact_id, path_id
        pp.parameters, pp.tags = parameters, tags
        pp.status = "ERROR" if status == "ERROR" else "TAINTED"

    def _check_idle(self, pp: ProvisionedProduct, operation: str) -> None:
        """Refuse to change a provisioned product while a request on it is still running.

        "UNDER_CHANGE - Transitive state. Operations performed might not have valid results.
        Wait for an AVAILABLE status before performing operations" (ProvisionedProductStatus in
        botocore's model); a Terminate of a product stuck UNDER_CHANGE is refused
        (aws-samples/service-catalog-engine-for-terraform-os#70). The error code is not
        documented: UpdateProvisionedProduct answers InvalidParametersException, the only error
        besides ResourceNotFound in its botocore error list; TerminateProvisionedProduct lists
        only ResourceNotFoundException, which would tell the caller the product is gone, so it
        answers InvalidStateException, the model's error for "a resource that is in a state that
        is not valid" (listed for UpdateProvisionedProductProperties and
        ExecuteProvisionedProductServiceAction, which act on the same resource).
        """
        if pp.pending is None:
            return
        message = f"Provisioned product {pp.id} is UNDER_CHANGE; wait until it is AVAILABLE."
        if operation == "TerminateProvisionedProduct":
            raise ServiceCatalogError("InvalidStateException", message)
        raise _invalid(message)

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
        given = {item["Key"]: item.get("Value", "") for item in p.get("ProvisioningParameters", [])}
        template = self._load_template(artifact)
        self._check_parameters(template, given)
        values = effective_values(template, given) if template is not None else given
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
        error = self._launch_error(template, values, name, "create")
        return self._start_change(st, pp, "PROVISION_PRODUCT", error)

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
        self._check_idle(pp, "UpdateProvisionedProduct")
        product = st.product(pp.product_id)
        if p.get("ProductId", product.id) != product.id or (
            p.get("ProductName", product.name) != product.name
        ):
            raise _invalid("A provisioned product cannot be moved to a different product.")
        artifact = self._update_target_artifact(product, pp, p)
        path_id = pp.path_id
        if "PathId" in p or "PathName" in p:
            path_id, _ = self._resolve_path(st, product, p)
        template = self._load_template(artifact)
        values = self._update_values(template, pp.parameters, p.get("ProvisioningParameters", []))
        tags = self._launch_tags(product, p["Tags"]) if "Tags" in p else pp.tags
        rollback = (pp.artifact_id, pp.path_id, pp.parameters, pp.tags, pp.status)
        pp.artifact_id, pp.path_id, pp.parameters, pp.tags = artifact.id, path_id, values, tags
        error = self._launch_error(template, values, pp.name, "update")
        return self._start_change(st, pp, "UPDATE_PROVISIONED_PRODUCT", error, rollback)

    def _update_values(
        self,
        template: Mapping[str, Any] | None,
        previous: Mapping[str, str],
        items: Sequence[Mapping[str, Any]],
    ) -> dict[str, str]:
        """The values an update runs with.

        ``UsePreviousValue``: "If set to true, Value is ignored and the previous parameter value
        is kept" (API reference, UpdateProvisioningParameter). A parameter the request leaves
        out is not kept: it takes the new version's default, or is missing, as in a
        CloudFormation stack update without UsePreviousValue ("the field defaults to no
        parameters AWS-side", boto/boto3#3769). Without the template (no S3 endpoint configured)
        the previous values are kept.
        """
        given: dict[str, str] = {}
        for item in items:
            key = item["Key"]
            if not item.get("UsePreviousValue"):
                given[key] = item.get("Value", "")
            elif key in previous:
                given[key] = previous[key]
            else:
                raise _invalid(f"Parameter {key} has no previous value to use.")
        if template is None:
            return {**previous, **given}
        self._check_parameters(template, given)
        return effective_values(template, given)

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
        """The product stays (``UNDER_CHANGE``) until the request ends, then disappears."""
        pp = st.provisioned_by(p.get("ProvisionedProductId"), p.get("ProvisionedProductName"))
        self._check_idle(pp, "TerminateProvisionedProduct")
        return self._start_change(st, pp, "TERMINATE_PROVISIONED_PRODUCT")

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
