"""The realistic mode: the service's timing, limits and failures, each behind its own knob.

``ServiceCatalogBackend(realistic=True)`` uses :meth:`Realism.realistic`; ``Realism()`` (the
default) keeps the stand-in's simple, immediate behaviour. Each field names the AWS source of the
behaviour it imitates; where the documentation is silent, the knob models the worst case.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ORGANIZATION_ROLES", "Realism", "TokenBuckets"]

#: Where the caller's account sits in AWS Organizations. Organization-node shares and
#: DescribePortfolioShareStatus "can only be called by the management account in the organization
#: or by a delegated admin" (API reference, CreatePortfolioShare / DescribePortfolioShareStatus).
ORGANIZATION_ROLES = ("standalone", "member", "management", "delegated_admin")


@dataclass(frozen=True)
class Realism:
    """What the realistic mode does; ``Realism()`` turns every behaviour off.

    * ``token_lifetime_s``: how long an ``IdempotencyToken``/``ProvisionToken`` replays the first
      response (None: forever). The API reference says only "the same response is returned for
      each repeated request"; lifetime and what happens to a resource deleted since are
      undocumented, so a replay returns the stored response even if that resource is gone
      (FIELD-NOTES, "IdempotencyToken").
    * ``available_after_s``: products, provisioning artifacts and constraints answer
      ``Status: CREATING`` until this long after their creation (the ``Status`` enums
      CREATING/AVAILABLE/FAILED of CreateProduct's ProductViewDetail, CreateProvisioningArtifact and
      CreateConstraint in botocore's model); a CREATING version cannot be launched.
    * ``failing_template_urls``: versions created from these ``LoadTemplateFromURL`` values end
      ``FAILED`` instead of ``AVAILABLE`` once the delay has passed (the same Status enums); a
      publisher must not retire older versions before the new one is AVAILABLE.
    * ``not_found_window_s``: for this long after a create or an association, requests naming the
      new resource (or the new product-portfolio pair) answer ResourceNotFoundException: the
      service is eventually consistent (aws/aws-cdk#20810, hashicorp/terraform-provider-aws#32450,
      #37956).
    * ``lists_lag``: during that window, ListPortfolios, SearchProductsAsAdmin and
      ListConstraintsForPortfolio leave the new resource out too (worst case of the same
      eventual consistency; a publisher that discovers its resources by listing must not create
      a duplicate when a re-run follows a create).
    * ``rates``: per-operation token buckets ``{operation: (requests per second, burst)}``, key
      ``"*"`` for every other operation; an empty bucket answers ThrottlingException. AWS
      publishes no Service Catalog rate (awslabs/aws-service-catalog-puppet#631, #702).
    * ``organization_role`` / ``organizations_access``: organization-node shares and their status
      need the management or a delegated-admin account with ``AWSOrganizationsAccess`` enabled
      (API reference, CreatePortfolioShare); otherwise OperationNotSupportedException, one of
      the errors botocore's model lists for CreatePortfolioShare and DescribePortfolioShareStatus.
    * ``failing_share_nodes``: organization nodes whose share finishes ``COMPLETED_WITH_ERRORS``
      with ``ShareErrors`` (ShareStatus enum and ShareDetails shape in botocore's model).
    * ``propagate_product_tags``: the product's tags are applied to every provisioned product
      ("Tags are propagated to the resources created when provisioning a product", API
      reference, Tag data type).
    * ``delete_product_in_use``: DeleteProduct succeeds although provisioned products of it
      exist; the API reference forbids only products "shared with you or associated with a
      portfolio" (API reference, DeleteProduct).
    * ``provisioning_s``: ProvisionProduct, UpdateProvisionedProduct and
      TerminateProvisionedProduct answer ``Status: CREATED`` at once; DescribeRecord shows
      ``IN_PROGRESS`` and the provisioned product ``UNDER_CHANGE`` for this long, then
      ``SUCCEEDED``/``AVAILABLE`` (a terminated product disappears only then). RecordStatus
      (CREATED, IN_PROGRESS, ..., SUCCEEDED, FAILED) and ProvisionedProductStatus ("UNDER_CHANGE -
      Transitive state [...] Wait for an AVAILABLE status before performing operations") in
      botocore's model; the API reference: "You can check the status of this request using
      DescribeRecord". An Update or Terminate of a product still ``UNDER_CHANGE`` is refused.
      0 (the default) completes every request at once.
    * ``failing_provisioned_names``: launches and updates of these ProvisionedProductNames are
      accepted, then fail like a stack that cannot be created: the record ends ``FAILED`` with
      ``RecordErrors`` (RecordError shape in botocore's model), the provisioned product ``ERROR``
      after a launch ("The provisioned product exists but the stack is not running") or
      ``TAINTED`` after an update ("a request to update to a new version failed and the stack
      rolled back"), with a ``StatusMessage``; the name stays taken until it is terminated.
    """

    token_lifetime_s: float | None = None
    available_after_s: float = 0.0
    failing_template_urls: frozenset[str] = frozenset()
    not_found_window_s: float = 0.0
    lists_lag: bool = False
    rates: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    organization_role: str = "management"
    organizations_access: bool = True
    failing_share_nodes: frozenset[str] = frozenset()
    propagate_product_tags: bool = False
    delete_product_in_use: bool = False
    provisioning_s: float = 0.0
    failing_provisioned_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.organization_role not in ORGANIZATION_ROLES:
            raise ValueError(f"organization_role must be one of {ORGANIZATION_ROLES}")
        for name in ("available_after_s", "not_found_window_s", "provisioning_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.token_lifetime_s is not None and self.token_lifetime_s < 0:
            raise ValueError("token_lifetime_s must be >= 0 or None")
        for operation, (rate, burst) in self.rates.items():
            if rate <= 0 or burst < 1:
                raise ValueError(f"rates[{operation!r}]: rate must be > 0 and burst >= 1")
        object.__setattr__(self, "failing_share_nodes", frozenset(self.failing_share_nodes))
        object.__setattr__(self, "failing_template_urls", frozenset(self.failing_template_urls))
        object.__setattr__(
            self, "failing_provisioned_names", frozenset(self.failing_provisioned_names)
        )
        object.__setattr__(
            self, "rates", {k: (float(r), float(b)) for k, (r, b) in self.rates.items()}
        )

    @classmethod
    def realistic(cls, **overrides: Any) -> Realism:
        """Every behaviour on, with delays short enough for a test suite.

        Organization shares are refused (a standalone account) unless the caller says which
        account it is: ``Realism.realistic(organization_role="management",
        organizations_access=True)``. Provisioning stays immediate (``provisioning_s`` 0) until
        the suites built on this preset wait for their records: ask for it with
        ``Realism.realistic(provisioning_s=0.3)``.
        """
        values: dict[str, Any] = {
            "token_lifetime_s": 300.0,
            "available_after_s": 0.2,
            "not_found_window_s": 0.2,
            "lists_lag": True,
            "rates": {"*": (25.0, 50.0)},
            "organization_role": "standalone",
            "organizations_access": False,
            "propagate_product_tags": True,
            "delete_product_in_use": True,
        }
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Realism:
        return dataclasses.replace(self, **changes)

    @property
    def can_share_with_organization(self) -> bool:
        return self.organizations_access and self.organization_role in (
            "management",
            "delegated_admin",
        )

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["failing_share_nodes"] = sorted(self.failing_share_nodes)
        values["failing_template_urls"] = sorted(self.failing_template_urls)
        values["failing_provisioned_names"] = sorted(self.failing_provisioned_names)
        values["rates"] = {op: list(rate) for op, rate in self.rates.items()}
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Realism:
        """Inverse of :meth:`as_dict` (JSON bodies of ``POST /_standin/config``)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown realism settings {unknown}")
        converted = dict(values)
        if "rates" in converted:
            converted["rates"] = {op: tuple(rate) for op, rate in converted["rates"].items()}
        for name in ("failing_share_nodes", "failing_template_urls", "failing_provisioned_names"):
            if name in converted:
                converted[name] = frozenset(converted[name])
        return cls(**converted)


class TokenBuckets:
    """Per-operation token buckets (not thread-safe: the backend calls it under its lock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}  # operation -> (tokens, last refill)

    def reset(self) -> None:
        self._state.clear()

    def take(self, operation: str, rates: Mapping[str, tuple[float, float]]) -> bool:
        """Spend one token of ``operation``'s bucket; False when it is empty (throttled)."""
        limit = rates.get(operation) or rates.get("*")
        if limit is None:
            return True
        rate, burst = limit
        now = self._clock()
        tokens, last = self._state.get(operation, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._state[operation] = (tokens, now)
            return False
        self._state[operation] = (tokens - 1.0, now)
        return True
