"""What the steps of one region's apply share: clients, AWS ids learnt so far, call accounting,
and the waits Service Catalog's eventual consistency needs.

* Create calls carry an IdempotencyToken derived from their inputs; a retry (or a re-run after
  an interruption) replays the first call instead of creating a duplicate. A replay returns
  the first response even when that resource was deleted since (API reference:
  "the same response is returned for each repeated request"; FIELD-NOTES), so every create is
  checked with a Describe call, and a dead id is answered with a new token derived from the
  inputs plus that id (deterministic: a re-run converges on the same new token).
* Service Catalog is eventually consistent (aws/aws-cdk#20810,
  hashicorp/terraform-provider-aws#32450): calls naming a resource created in this run retry
  ResourceNotFoundException a bounded number of times.
* `stop_after` raises `Interrupted` before the (N+1)th mutating call: the test hook that
  simulates a crash part-way through.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import ClientError

from factory.aws import (
    Clients,
    bucket_from_ssm,
    error_code,
    short_hash,
    template_key,
    template_url,
)
from factory.portfolio import Catalog
from factory.publish.state import LiveState

#: Bounded waits for eventual consistency after our own creates (seconds between attempts).
NOT_FOUND_DELAYS_S = (0.1, 0.2, 0.4, 0.8, 1.6)
#: Checking a create's answer: a new resource can stay invisible for a while (the window is
#: undocumented: model the worst case), and giving up too early would create it again and
#: leave two live resources with one id tag. So the check waits longer (about 12.7 s in
#: total), except for a replay of a create made long ago (REPLAY_AGE_S), whose resource, if
#: not found, was deleted since.
CREATE_CHECK_DELAYS_S = (*NOT_FOUND_DELAYS_S, 3.2, 6.4)
REPLAY_AGE_S = 120.0
#: Fresh tokens tried after replays of deleted resources before giving up.
TOKEN_ROUNDS = 3
NOT_FOUND = "ResourceNotFoundException"
#: How the publisher waits between retries and polls, and the clock of those waits'
#: deadlines (here and in factory.publish.steps). Seams for tests only: they replace both
#: with one virtual clock, shared with the Service Catalog stand-in, so that a wait moves
#: the stand-in's time forward instead of taking real time.
sleep: Callable[[float], None] = time.sleep
monotonic: Callable[[], float] = time.monotonic


class Interrupted(RuntimeError):
    """Raised by the `stop_after` hook."""


class ApplyFailed(RuntimeError):
    """A step that could not be applied; the message says where and what to do."""


class ShareFailed(ApplyFailed):
    """A portfolio share ended in ERROR or COMPLETED_WITH_ERRORS, or never finished."""


@dataclass
class Context:
    """Mutable state of one region's apply: AWS ids learnt so far and call accounting."""

    clients: Clients
    catalog: Catalog
    bucket: str | None = None
    stop_after: int | None = None
    portfolio_ids: dict[str, str] = field(default_factory=dict)
    product_ids: dict[str, str] = field(default_factory=dict)
    tag_option_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    deleted_versions: dict[str, set[str]] = field(default_factory=dict)
    created_versions: dict[str, str] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    mutations: int = 0
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def for_state(cls, clients: Clients, catalog: Catalog, state: LiveState, **kw: Any) -> Context:
        ctx = cls(clients, catalog, **kw)
        ctx.portfolio_ids = {cid: live.id for cid, live in state.portfolios.items()}
        ctx.product_ids = {cid: live.id for cid, live in state.products.items()}
        ctx.tag_option_ids = {pair: tid for pair, (tid, _) in state.tag_options.items()}
        return ctx

    def mutate(self, call: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
        if self.stop_after is not None and self.mutations >= self.stop_after:
            raise Interrupted(f"stopped after {self.mutations} mutating calls")
        self.mutations += 1
        fresh = any(isinstance(v, str) and v in self.created for v in params.values())
        return retry_not_found(lambda: call(**params), enabled=fresh)

    def template_bucket(self) -> str:
        if self.bucket is None:
            self.bucket = bucket_from_ssm(self.clients.ssm)
        return self.bucket

    def template_url(self, product: str, digest: str) -> str:
        """The bucket is in the region published to: the bootstrap stack of each region writes
        its own bucket to SSM, and `--bucket` is refused for several regions (run.check_bucket)
        and documented as "a bucket in that region"."""
        key = template_key(product, digest)
        return template_url(self.template_bucket(), self.clients.region, key)


def retry_not_found(
    action: Callable[[], Any],
    *,
    enabled: bool = True,
    delays: tuple[float, ...] = NOT_FOUND_DELAYS_S,
) -> Any:
    """Run `action`, retrying ResourceNotFoundException a bounded number of times."""
    for delay in (*delays, None) if enabled else (None,):
        try:
            return action()
        except ClientError as exc:
            if error_code(exc) != NOT_FOUND or delay is None:
                raise
        sleep(delay)
    raise AssertionError("unreachable")


def exists(describe: Callable[[], Any], delays: tuple[float, ...] = NOT_FOUND_DELAYS_S) -> bool:
    """True when a Describe call finds the resource within the consistency window."""
    try:
        retry_not_found(describe, delays=delays)
    except ClientError as exc:
        if error_code(exc) != NOT_FOUND:
            raise
        return False
    return True


def created_long_ago(response: dict[str, Any], created: Any) -> bool:
    """True when the create answered a resource made long before this call: a token replay.
    Both times are the service's (CreatedTime of the detail, the response's Date header), so
    the caller's clock does not matter. Unknown (no CreatedTime, e.g. ConstraintDetail):
    False, so the longer check applies."""
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not date or not hasattr(created, "timestamp"):
        return False
    try:
        answered = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return False
    return bool(answered - created.timestamp() > REPLAY_AGE_S)


def ignore_codes(action: Callable[[], Any], *codes: str) -> Any:
    """Run `action`; the named AWS error codes mean "already done" and return None."""
    try:
        return action()
    except ClientError as exc:
        if error_code(exc) not in codes:
            raise
        return None


def created_time(response: dict[str, Any]) -> Any:
    """CreatedTime of PortfolioDetail, ProductViewDetail or ProvisioningArtifactDetail
    (botocore model); None for details without one (ConstraintDetail)."""
    for key in ("PortfolioDetail", "ProductViewDetail", "ProvisioningArtifactDetail"):
        detail = response.get(key)
        if isinstance(detail, dict):
            return detail.get("CreatedTime")
    return None


def create_checked(
    ctx: Context,
    call: Callable[..., dict[str, Any]],
    params: dict[str, Any],
    token_inputs: Iterable[Any],
    new_id: Callable[[dict[str, Any]], str],
    describe: Callable[[str], Any],
) -> dict[str, Any]:
    """Create with a deterministic token, then check the returned id exists; a replay of a
    deleted resource gets a new token derived from the inputs and the dead id."""
    inputs = list(token_inputs)
    token = short_hash(*inputs)
    for _ in range(TOKEN_ROUNDS):
        response = ctx.mutate(call, **params, IdempotencyToken=token)
        resource_id = new_id(response)
        replay = created_long_ago(response, created_time(response))
        delays = NOT_FOUND_DELAYS_S if replay else CREATE_CHECK_DELAYS_S
        if exists(lambda rid=resource_id: describe(rid), delays):
            ctx.created.add(resource_id)
            return response
        ctx.warnings.append(f"token replayed deleted resource {resource_id}; created anew")
        inputs.append(resource_id)
        token = short_hash(*inputs)
    raise ApplyFailed(f"each create answered a deleted resource ({TOKEN_ROUNDS} tokens tried)")
