"""``ServiceCatalogBackend``: the request pipeline, fault injection and statistics."""

from __future__ import annotations

import copy
import dataclasses
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from .consistency import describe_key, new_resource_keys, referenced_keys
from .errors import ServiceCatalogError
from .handlers import (
    ConsoleHandlers,
    ConstraintHandlers,
    Handler,
    Params,
    PortfolioHandlers,
    PrincipalHandlers,
    ProductHandlers,
    ProvisioningHandlers,
    ShareHandlers,
    TagOptionHandlers,
)
from .realism import Realism, TokenBuckets
from .shapes import _idempotency_member, check_output, is_mutating, service_model, validate_input
from .state import DEFAULT_REGION, Limits, RegionState, RequestRecord


class ServiceCatalogBackend(
    PortfolioHandlers,
    ProductHandlers,
    ConstraintHandlers,
    PrincipalHandlers,
    TagOptionHandlers,
    ShareHandlers,
    ProvisioningHandlers,
    ConsoleHandlers,
):
    """Thread-safe, per-region in-memory Service Catalog with fault injection and a request log.

    ``handle(region, operation, params)`` is the single entry point used by the HTTP server; it
    may also be called in-process. One re-entrant lock guards all state, statistics and the
    throttling RNG; the injected latency is slept *outside* the lock so that concurrent callers
    overlap the way they would against AWS. A throttled request is refused before that latency:
    throttling is answered at the service's front door, not after the work.
    """

    def __init__(
        self,
        *,
        s3_endpoint_url: str | None = None,
        limits: Limits | None = None,
        latency_s: float = 0.0,
        operation_latency_s: Mapping[str, float] | None = None,
        throttle_rate: float = 0.0,
        seed: int | None = None,
        require_launch_constraint: bool = True,
        share_polls_before_complete: int = 0,
        validate_templates: bool = True,
        realistic: bool = False,
        realism: Realism | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or Limits()
        self.clock = clock
        self.realism = realism or (Realism.realistic() if realistic else Realism())
        self._buckets = TokenBuckets(lambda: self.clock())
        self.s3_endpoint_url = s3_endpoint_url
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._seed = seed
        self._latency_s = 0.0
        self._operation_latency_s: dict[str, float] = {}
        self._throttle_rate = 0.0
        self.require_launch_constraint = require_launch_constraint
        self.share_polls_before_complete = share_polls_before_complete
        self.validate_templates = validate_templates
        self._regions: dict[str, RegionState] = {}
        self._log: list[RequestRecord] = []
        self._idempotent_replays = 0
        self._handlers: dict[str, Handler] = self._dispatch_table()
        self.configure(
            latency_s=latency_s,
            operation_latency_s=operation_latency_s or {},
            throttle_rate=throttle_rate,
        )

    def configure(
        self,
        *,
        latency_s: float | None = None,
        operation_latency_s: Mapping[str, float] | None = None,
        throttle_rate: float | None = None,
        seed: int | None = None,
        require_launch_constraint: bool | None = None,
        share_polls_before_complete: int | None = None,
        validate_templates: bool | None = None,
        realism: Realism | Mapping[str, Any] | None = None,
        artifacts_per_product: int | None = None,
    ) -> dict[str, Any]:
        """Change fault injection / behaviour flags; ``None`` leaves a setting unchanged.

        ``latency_s`` is the latency of every operation: setting it also clears the
        per-operation latencies unless ``operation_latency_s`` is given in the same call, so
        ``configure(latency_s=0.0)`` always means "no latency anywhere".
        ``operation_latency_s`` (``{"ProvisionProduct": 0.2}``) replaces the per-operation
        latencies; operations it does not name take ``latency_s``.
        ``seed`` re-seeds the throttling RNG so a test gets the same throttled requests on
        every run. ``realism`` replaces the realistic-mode settings (a mapping changes only the
        fields it names); ``artifacts_per_product`` lowers or raises the versions quota
        (AWS default 100) so a test can reach it quickly.
        """
        if artifacts_per_product is not None and artifacts_per_product < 1:
            raise ValueError("artifacts_per_product must be >= 1")
        if latency_s is not None and latency_s < 0:
            raise ValueError("latency_s must be >= 0")
        if operation_latency_s is not None:
            _check_operation_latencies(operation_latency_s)
        if throttle_rate is not None and not 0.0 <= throttle_rate <= 1.0:
            raise ValueError("throttle_rate must be between 0 and 1")
        if share_polls_before_complete is not None and share_polls_before_complete < 0:
            raise ValueError("share_polls_before_complete must be >= 0")
        with self._lock:
            if latency_s is not None:
                self._latency_s = float(latency_s)
            if operation_latency_s is not None:
                self._operation_latency_s = {
                    op: float(delay) for op, delay in operation_latency_s.items()
                }
            elif latency_s is not None:
                self._operation_latency_s = {}
            if throttle_rate is not None:
                self._throttle_rate = float(throttle_rate)
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(seed)
            if require_launch_constraint is not None:
                self.require_launch_constraint = bool(require_launch_constraint)
            if share_polls_before_complete is not None:
                self.share_polls_before_complete = int(share_polls_before_complete)
            if validate_templates is not None:
                self.validate_templates = bool(validate_templates)
            if isinstance(realism, Realism):
                self.realism = realism
            elif realism is not None:
                self.realism = Realism.from_dict({**self.realism.as_dict(), **realism})
            if realism is not None:
                self._buckets.reset()
            if artifacts_per_product is not None:
                self.limits = dataclasses.replace(
                    self.limits, artifacts_per_product=artifacts_per_product
                )
            return self.config()

    def config(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_s": self._latency_s,
                "operation_latency_s": dict(self._operation_latency_s),
                "throttle_rate": self._throttle_rate,
                "seed": self._seed,
                "require_launch_constraint": self.require_launch_constraint,
                "share_polls_before_complete": self.share_polls_before_complete,
                "validate_templates": self.validate_templates,
                "s3_endpoint_url": self.s3_endpoint_url,
                "artifacts_per_product": self.limits.artifacts_per_product,
                "realism": self.realism.as_dict(),
            }

    def stats(self) -> dict[str, Any]:
        """Request counts: totals, mutating vs read, throttled, and per operation / region."""
        with self._lock:
            log = list(self._log)
            replays = self._idempotent_replays
        throttled = [r for r in log if r.throttled]
        return {
            "total": len(log),
            "mutating": sum(r.mutating for r in log),
            "read": sum(not r.mutating for r in log),
            "throttled": len(throttled),
            "idempotent_replays": replays,
            "by_operation": dict(Counter(r.operation for r in log)),
            "throttled_by_operation": dict(Counter(r.operation for r in throttled)),
            "by_region": dict(Counter(r.region for r in log)),
        }

    def request_log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def reset_stats(self) -> None:
        with self._lock:
            self._log.clear()
            self._idempotent_replays = 0

    def reset(self) -> None:
        """Forget every resource in every region (configuration and stats are kept)."""
        with self._lock:
            self._regions.clear()

    @property
    def operations(self) -> list[str]:
        """The AWS operations this stand-in implements."""
        with self._lock:
            return sorted(self._handlers)

    def set_handler(self, operation: str, handler: Handler) -> None:
        """Replace one operation's handler (fault-injection hook for tests)."""
        service_model().operation_model(operation)  # raises for unknown operations
        with self._lock:
            self._handlers[operation] = handler

    def region_state(self, region: str = DEFAULT_REGION) -> RegionState:
        """The live state of one region (for white-box assertions; hold no references)."""
        with self._lock:
            return self._regions.setdefault(region, RegionState(region))

    def handle(self, region: str, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run one AWS request; raise :class:`ServiceCatalogError` for AWS-style errors."""
        with self._lock:
            throttled = self._throttle_rate > 0 and self._rng.random() < self._throttle_rate
            throttled = throttled or not self._buckets.take(operation, self.realism.rates)
            self._log.append(RequestRecord(region, operation, is_mutating(operation), throttled))
            latency = self._operation_latency_s.get(operation, self._latency_s)
        if throttled:
            # Refused at once, before the latency of the work it did not do. The code
            # botocore's standard retry mode treats as throttling (HTTP 400).
            raise ServiceCatalogError("ThrottlingException", "Rate exceeded")
        if latency:
            time.sleep(latency)
        if operation not in service_model().operation_names:
            raise ServiceCatalogError(
                "UnknownOperationException", f"Operation {operation} is not part of the API."
            )
        operation_model = service_model().operation_model(operation)
        validate_input(operation_model, params)
        handler = self._handlers.get(operation)
        if handler is None:
            raise ServiceCatalogError(
                "NotImplemented",
                f"The Service Catalog stand-in does not implement {operation}.",
                501,
            )
        with self._lock:
            state = self._regions.setdefault(region, RegionState(region))
            self._settle_provisioning(state)
            self._check_consistent(state, operation, params)
            response = self._invoke(state, operation, handler, dict(params))
        check_output(operation_model.output_shape, response)
        return response

    def _invoke(
        self, state: RegionState, operation: str, handler: Handler, params: Params
    ) -> dict[str, Any]:
        """Call the handler, honouring idempotency tokens: same token + operation -> replay."""
        member = _idempotency_member(operation)
        token = params.get(member) if member else None
        now = self.clock()
        stored = state.idempotency.get((operation, token)) if token is not None else None
        lifetime = self.realism.token_lifetime_s
        if stored is not None and (lifetime is None or now - stored[1] < lifetime):
            # Replays even when the resource was deleted since (FIELD-NOTES: worst case).
            self._idempotent_replays += 1
            return copy.deepcopy(stored[0])
        response = handler(state, params)
        if token is not None:
            state.idempotency[(operation, token)] = (copy.deepcopy(response), now)
        self._note_new_resources(state, operation, params, response)
        return response

    # ----------------------------------------------------------------- eventual consistency

    def _note_new_resources(
        self, state: RegionState, operation: str, params: Params, response: Mapping[str, Any]
    ) -> None:
        """Remember what this request created, for the ResourceNotFound window."""
        window = self.realism.not_found_window_s
        if not window:
            return
        until = self.clock() + window
        for key in new_resource_keys(operation, params, response):
            state.unsettled[key] = until

    def _check_consistent(
        self, state: RegionState, operation: str, params: Mapping[str, Any]
    ) -> None:
        """ResourceNotFound for a request naming something created moments ago.

        aws/aws-cdk#20810, hashicorp/terraform-provider-aws#32450 and #37956: reads (and
        writes such as CreateConstraint) right after a create or an association can answer
        ResourceNotFoundException.
        """
        if not state.unsettled:
            return
        now = self.clock()
        for key in referenced_keys(operation, params):
            until = state.unsettled.get(key)
            if until is None:
                continue
            if now < until:
                raise ServiceCatalogError("ResourceNotFoundException", describe_key(key))
            del state.unsettled[key]

    def _dispatch_table(self) -> dict[str, Handler]:
        return {
            "CreatePortfolio": self._create_portfolio,
            "DescribePortfolio": self._describe_portfolio,
            "ListPortfolios": self._list_portfolios,
            "UpdatePortfolio": self._update_portfolio,
            "DeletePortfolio": self._delete_portfolio,
            "CreateProduct": self._create_product,
            "DescribeProductAsAdmin": self._describe_product_as_admin,
            "SearchProductsAsAdmin": self._search_products_as_admin,
            "UpdateProduct": self._update_product,
            "DeleteProduct": self._delete_product,
            "CreateProvisioningArtifact": self._create_provisioning_artifact,
            "ListProvisioningArtifacts": self._list_provisioning_artifacts,
            "DescribeProvisioningArtifact": self._describe_provisioning_artifact,
            "UpdateProvisioningArtifact": self._update_provisioning_artifact,
            "DeleteProvisioningArtifact": self._delete_provisioning_artifact,
            "AssociateProductWithPortfolio": self._associate_product,
            "DisassociateProductFromPortfolio": self._disassociate_product,
            "ListPortfoliosForProduct": self._list_portfolios_for_product,
            "CreateConstraint": self._create_constraint,
            "DescribeConstraint": self._describe_constraint,
            "UpdateConstraint": self._update_constraint,
            "DeleteConstraint": self._delete_constraint,
            "ListConstraintsForPortfolio": self._list_constraints_for_portfolio,
            "AssociatePrincipalWithPortfolio": self._associate_principal,
            "DisassociatePrincipalFromPortfolio": self._disassociate_principal,
            "ListPrincipalsForPortfolio": self._list_principals,
            "CreateTagOption": self._create_tag_option,
            "DescribeTagOption": self._describe_tag_option,
            "ListTagOptions": self._list_tag_options,
            "UpdateTagOption": self._update_tag_option,
            "DeleteTagOption": self._delete_tag_option,
            "AssociateTagOptionWithResource": self._associate_tag_option,
            "DisassociateTagOptionFromResource": self._disassociate_tag_option,
            "ListResourcesForTagOption": self._list_resources_for_tag_option,
            "CreatePortfolioShare": self._create_portfolio_share,
            "UpdatePortfolioShare": self._update_portfolio_share,
            "DeletePortfolioShare": self._delete_portfolio_share,
            "DescribePortfolioShares": self._describe_portfolio_shares,
            "DescribePortfolioShareStatus": self._describe_portfolio_share_status,
            "ListPortfolioAccess": self._list_portfolio_access,
            "SearchProducts": self._search_products,
            "GetProvisionedProductOutputs": self._get_provisioned_product_outputs,
            "ListServiceActionsForProvisioningArtifact": self._list_service_actions_for_artifact,
            "GetAWSOrganizationsAccessStatus": self._get_organizations_access_status,
            "EnableAWSOrganizationsAccess": self._enable_organizations_access,
            "ListLaunchPaths": self._list_launch_paths,
            "DescribeProduct": self._describe_product,
            "DescribeProductView": self._describe_product_view,
            "DescribeProvisioningParameters": self._describe_provisioning_parameters,
            "ProvisionProduct": self._provision_product,
            "DescribeProvisionedProduct": self._describe_provisioned_product,
            "SearchProvisionedProducts": self._search_provisioned_products,
            "ScanProvisionedProducts": self._scan_provisioned_products,
            "UpdateProvisionedProduct": self._update_provisioned_product,
            "TerminateProvisionedProduct": self._terminate_provisioned_product,
            "DescribeRecord": self._describe_record,
            "ListRecordHistory": self._list_record_history,
        }


def _check_operation_latencies(latencies: Mapping[str, float]) -> None:
    """Per-operation latencies must name operations of the model and be >= 0 (a misspelt
    operation would otherwise silently keep the default latency)."""
    names = set(service_model().operation_names)
    for operation, delay in latencies.items():
        if operation not in names:
            raise ValueError(f"operation_latency_s: {operation!r} is not an operation")
        if delay < 0:
            raise ValueError(f"operation_latency_s[{operation!r}] must be >= 0")
