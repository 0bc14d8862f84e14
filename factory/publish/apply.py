"""Execute a plan in order; an interrupted or partly failed run re-run converges.

* Create calls carry an IdempotencyToken derived from their inputs; a retry (or a re-run after
  an interruption) replays the first call instead of creating a duplicate. A replay returns
  the first response even when that resource was deleted since (API reference:
  "the same response is returned for each repeated request"; FIELD-NOTES), so every create is
  checked with a Describe call, and a dead id is answered with a new token derived from the
  inputs plus that id (deterministic: a re-run converges on the same new token).
* Service Catalog is eventually consistent (aws/aws-cdk#20810,
  hashicorp/terraform-provider-aws#32450): calls naming a resource created in this run retry
  ResourceNotFoundException a bounded number of times; a new version is AVAILABLE before any
  older one is deprecated or deactivated.
* A failed change does not stop the others: changes that name a failed resource are skipped,
  every failure is reported at the end (non-zero exit).
* Templates are uploaded to `<product-id>/<sha256>.yaml`, never overwritten (HeadObject first).
* Organization-node shares run one at a time per portfolio: a portfolio accepts a new share
  action only once the previous one left IN_PROGRESS (DescribePortfolioShareStatus).
* `stop_after` raises `Interrupted` before the (N+1)th mutating call: the test hook that
  simulates a crash part-way through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from factory.portfolio import Catalog
from factory.publish.aws import (
    Clients,
    bucket_from_ssm,
    error_code,
    pages,
    short_hash,
    tag_list,
    template_key,
    template_url,
    version_name,
)
from factory.publish.plan import (
    Change,
    initial_version_description,
    portfolio_tags,
    product_fields,
    product_tags,
    version_description,
)
from factory.publish.state import LiveArtifact, LiveState, version_order, versions_fingerprint

SHARE_POLL_MAX_S = 5.0
SHARE_TIMEOUT_S = 900.0
#: Bounded waits for eventual consistency after our own creates (seconds between attempts).
NOT_FOUND_DELAYS_S = (0.1, 0.2, 0.4, 0.8, 1.6)
#: A new version must be AVAILABLE before older ones are deprecated (CreateProvisioningArtifact
#: answers Status CREATING/AVAILABLE/FAILED, botocore model).
AVAILABLE_TIMEOUT_S = 60.0
#: Fresh tokens tried after replays of deleted resources before giving up.
TOKEN_ROUNDS = 3
NOT_FOUND = "ResourceNotFoundException"


class Interrupted(RuntimeError):
    """Raised by the `stop_after` hook."""


class ShareFailed(RuntimeError):
    pass


class ApplyFailed(RuntimeError):
    """A change that could not be applied; the message says where and what to do."""


@dataclass
class Failure:
    change: Change
    message: str

    def __str__(self) -> str:
        return f"{self.change.action} {self.change.resource}: {self.message}"


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
    failed: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    mutations: int = 0
    warnings: list[str] = field(default_factory=list)
    live: LiveState | None = None

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


def retry_not_found(action: Callable[[], Any], *, enabled: bool = True) -> Any:
    """Run `action`, retrying ResourceNotFoundException a bounded number of times."""
    for delay in (*NOT_FOUND_DELAYS_S, None) if enabled else (None,):
        try:
            return action()
        except ClientError as exc:
            if error_code(exc) != NOT_FOUND or delay is None:
                raise
        time.sleep(delay)
    raise AssertionError("unreachable")


def exists(describe: Callable[[], Any]) -> bool:
    """True when a Describe call finds the resource within the consistency window."""
    try:
        retry_not_found(describe)
    except ClientError as exc:
        if error_code(exc) != NOT_FOUND:
            raise
        return False
    return True


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
        if exists(lambda rid=resource_id: describe(rid)):
            ctx.created.add(resource_id)
            return response
        ctx.warnings.append(f"token replayed deleted resource {resource_id}; created anew")
        inputs.append(resource_id)
        token = short_hash(*inputs)
    raise ApplyFailed(f"each create answered a deleted resource ({TOKEN_ROUNDS} tokens tried)")


def apply_plan(
    clients: Clients,
    catalog: Catalog,
    state: LiveState,
    changes: list[Change],
    *,
    bucket: str | None = None,
    stop_after: int | None = None,
    on_change: Callable[[Change], None] | None = None,
) -> Context:
    ctx = Context(clients, catalog, bucket=bucket, stop_after=stop_after, live=state)
    ctx.portfolio_ids = {cid: live.id for cid, live in state.portfolios.items()}
    ctx.product_ids = {cid: live.id for cid, live in state.products.items()}
    ctx.tag_option_ids = {pair: tid for pair, (tid, _) in state.tag_options.items()}
    for change in changes:
        if not change.op:
            continue  # informational (orphan without --prune)
        _apply_one(ctx, change)
        if on_change is not None:
            on_change(change)
    return ctx


#: Changes whose failure leaves a resource the later changes depend on missing (a new version
#: that is not AVAILABLE must not lead to deprecating the older ones).
CREATES = {
    "create_portfolio": ("portfolio",),
    "create_product": ("product",),
    "create_version": ("product",),
}


def _created_names(change: Change) -> set[str]:
    """What a failed change leaves missing: only creates block the changes after them."""
    if change.op == "create_tag_option":
        return {f"tag-option:{change.args['key']}={change.args['value']}"}
    kinds = CREATES.get(change.op, ())
    return {n for n in _names(change.args) if n.split(":", 1)[0] in kinds}


def _names(args: dict[str, Any]) -> set[str]:
    """The catalog resources a change depends on (a failure of one skips the others)."""
    names = {f"portfolio:{args['portfolio']}"} if "portfolio" in args else set()
    if "product" in args:
        names.add(f"product:{args['product']}")
    if args.get("kind") in ("portfolio", "product"):
        names.add(f"{args['kind']}:{args['id']}")
    if "key" in args and "value" in args:
        names.add(f"tag-option:{args['key']}={args['value']}")
    return names


def _apply_one(ctx: Context, change: Change) -> None:
    names = _names(change.args)
    blocked = sorted(names & ctx.failed)
    if blocked:
        ctx.failures.append(Failure(change, f"skipped: {blocked[0]} failed earlier"))
        return
    try:
        EXECUTORS[change.op](ctx, change.args)
    except Interrupted:
        raise
    except (ClientError, ApplyFailed, ShareFailed, KeyError) as exc:
        ctx.failed |= _created_names(change)
        ctx.failures.append(Failure(change, _failure_text(exc)))


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{error_code(exc)}: {message}".rstrip(": ")
    if isinstance(exc, KeyError):
        return f"depends on {exc.args[0]!r}, which was not created"
    return str(exc)


# --- portfolios -----------------------------------------------------------------------------


def _create_portfolio(ctx: Context, args: dict[str, Any]) -> None:
    config = ctx.catalog.portfolio(args["portfolio"])
    params: dict[str, Any] = {
        "DisplayName": config.display_name,
        "ProviderName": config.provider_name,
        "Tags": tag_list(portfolio_tags(config)),
    }
    if config.description:
        params["Description"] = config.description
    sc = ctx.clients.sc
    response = create_checked(
        ctx,
        sc.create_portfolio,
        params,
        ["portfolio", config.id, config.display_name],
        lambda r: str(r["PortfolioDetail"]["Id"]),
        lambda rid: sc.describe_portfolio(Id=rid),
    )
    ctx.portfolio_ids[config.id] = response["PortfolioDetail"]["Id"]


def _update_params(resource_id: str, args: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"Id": resource_id, **args["fields"]}
    if args["add_tags"]:
        params["AddTags"] = tag_list(args["add_tags"])
    if args.get("remove_tags"):
        params["RemoveTags"] = list(args["remove_tags"])
    return params


def _update_portfolio(ctx: Context, args: dict[str, Any]) -> None:
    params = _update_params(ctx.portfolio_ids[args["portfolio"]], args)
    ctx.mutate(ctx.clients.sc.update_portfolio, **params)


# --- TagOptions -----------------------------------------------------------------------------


def _create_tag_option(ctx: Context, args: dict[str, Any]) -> None:
    """CreateTagOption takes no token: on a duplicate (earlier interrupted run) look it up."""
    pair = (args["key"], args["value"])
    try:
        response = ctx.mutate(ctx.clients.sc.create_tag_option, Key=pair[0], Value=pair[1])
        ctx.tag_option_ids[pair] = response["TagOptionDetail"]["Id"]
    except ClientError as exc:
        if error_code(exc) != "DuplicateResourceException":
            raise
        found = ctx.clients.sc.list_tag_options(Filters={"Key": pair[0], "Value": pair[1]})
        ctx.tag_option_ids[pair] = found["TagOptionDetails"][0]["Id"]


def _activate_tag_option(ctx: Context, args: dict[str, Any]) -> None:
    tag_option_id = ctx.tag_option_ids[(args["key"], args["value"])]
    ctx.mutate(ctx.clients.sc.update_tag_option, Id=tag_option_id, Active=True)


def _resource_id(ctx: Context, kind: str, cid: str) -> str:
    return ctx.portfolio_ids[cid] if kind == "portfolio" else ctx.product_ids[cid]


def _associate_tag_option(ctx: Context, args: dict[str, Any]) -> None:
    try:
        ctx.mutate(
            ctx.clients.sc.associate_tag_option_with_resource,
            ResourceId=_resource_id(ctx, args["kind"], args["id"]),
            TagOptionId=ctx.tag_option_ids[(args["key"], args["value"])],
        )
    except ClientError as exc:
        if error_code(exc) != "DuplicateResourceException":
            raise


def _disassociate_tag_option_id(ctx: Context, args: dict[str, Any]) -> None:
    try:
        ctx.mutate(
            ctx.clients.sc.disassociate_tag_option_from_resource,
            ResourceId=args["resource_aws_id"],
            TagOptionId=args["tag_option_id"],
        )
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise


# --- templates, products, versions ----------------------------------------------------------


def _upload_template(ctx: Context, args: dict[str, Any]) -> None:
    s3, bucket = ctx.clients.s3, ctx.template_bucket()
    key = template_key(args["product"], args["digest"])
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return  # content-addressed: an existing object is the same template
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise
    body = Path(ctx.catalog.template_path(args["product"])).read_bytes()
    ctx.mutate(s3.put_object, Bucket=bucket, Key=key, Body=body, ContentType="application/x-yaml")


def _artifact_parameters(
    ctx: Context, product: str, digest: str, description: str | None = None
) -> dict[str, Any]:
    return {
        "Name": version_name(digest),
        "Description": description or version_description(digest),
        "Info": {"LoadTemplateFromURL": ctx.template_url(product, digest)},
        "Type": "CLOUD_FORMATION_TEMPLATE",
    }


def _create_product(ctx: Context, args: dict[str, Any]) -> None:
    product = ctx.catalog.products[args["product"]]
    digest = args["digest"]
    params: dict[str, Any] = {
        name: value for name, value in product_fields(product).items() if value
    }
    description = initial_version_description(product, digest)
    params |= {
        "ProductType": "CLOUD_FORMATION_TEMPLATE",
        "Tags": tag_list(product_tags(product)),
        "ProvisioningArtifactParameters": _artifact_parameters(
            ctx, product.id, digest, description
        ),
    }
    sc = ctx.clients.sc
    response = create_checked(
        ctx,
        sc.create_product,
        params,
        ["product", product.id, digest],
        lambda r: str(r["ProductViewDetail"]["ProductViewSummary"]["ProductId"]),
        lambda rid: sc.describe_product_as_admin(Id=rid),
    )
    ctx.product_ids[product.id] = response["ProductViewDetail"]["ProductViewSummary"]["ProductId"]


def _update_product(ctx: Context, args: dict[str, Any]) -> None:
    params = _update_params(ctx.product_ids[args["product"]], args)
    ctx.mutate(ctx.clients.sc.update_product, **params)


def _create_version(ctx: Context, args: dict[str, Any]) -> None:
    """The token also covers the existing versions: a digest whose version was deleted since
    must create a new version, not replay the old (deleted) one. At the versions quota
    (LimitExceededException, not retried: aws.NOT_RETRIED) room is made first."""
    product_id = ctx.product_ids[args["product"]]
    inputs: list[Any] = [args["product"], args["digest"], args["existing"]]
    try:
        artifact_id = _create_version_checked(ctx, product_id, args, inputs)
    except ClientError as exc:
        if error_code(exc) != "LimitExceededException":
            raise
        freed = make_room(ctx, product_id, args["product"])
        artifact_id = _create_version_checked(ctx, product_id, args, [*inputs, "room", freed])
    ctx.created_versions[args["product"]] = artifact_id
    wait_available(ctx, product_id, artifact_id)


def _create_version_checked(
    ctx: Context, product_id: str, args: dict[str, Any], inputs: list[Any]
) -> str:
    sc = ctx.clients.sc
    response = create_checked(
        ctx,
        sc.create_provisioning_artifact,
        {
            "ProductId": product_id,
            "Parameters": _artifact_parameters(ctx, args["product"], args["digest"]),
        },
        inputs,
        lambda r: str(r["ProvisioningArtifactDetail"]["Id"]),
        lambda rid: sc.describe_provisioning_artifact(
            ProductId=product_id, ProvisioningArtifactId=rid
        ),
    )
    return str(response["ProvisioningArtifactDetail"]["Id"])


def make_room(ctx: Context, product_id: str, product: str) -> str:
    """Delete the oldest version nobody uses: inactive ones first, then DEPRECATED ones (they
    fall out of the policy once the new version exists); never an active DEFAULT one.
    DeleteProvisioningArtifact refuses versions in use (ResourceInUseException, API
    reference); those are skipped."""
    details = ctx.clients.sc.list_provisioning_artifacts(ProductId=product_id).get(
        "ProvisioningArtifactDetails", []
    )
    candidates = sorted(
        (a for a in details if not (a.get("Active", True) and a.get("Guidance") != "DEPRECATED")),
        key=lambda a: (bool(a.get("Active", True)), _created(a.get("CreatedTime"))),
    )
    for artifact in candidates:
        try:
            ctx.mutate(
                ctx.clients.sc.delete_provisioning_artifact,
                ProductId=product_id,
                ProvisioningArtifactId=artifact["Id"],
            )
        except ClientError as exc:
            if error_code(exc) not in ("ResourceInUseException", "InvalidParametersException"):
                raise
            continue
        ctx.deleted_versions.setdefault(product, set()).add(artifact["Id"])
        ctx.warnings.append(f"product {product}: version quota reached; deleted {artifact['Id']}")
        return str(artifact["Id"])
    raise ApplyFailed(
        f"{len(details)} versions (the quota) and every inactive or deprecated one is in use; "
        "update or terminate the provisioned products on old versions, or raise the "
        "'Provisioning artifacts per product' quota"
    )


def _created(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value or 0.0)


def wait_available(ctx: Context, product_id: str, artifact_id: str) -> None:
    """Bounded wait for Status AVAILABLE (DescribeProvisioningArtifact, botocore model)."""
    deadline = time.monotonic() + AVAILABLE_TIMEOUT_S
    delay = 0.05
    while True:
        status = retry_not_found(
            lambda: ctx.clients.sc.describe_provisioning_artifact(
                ProductId=product_id, ProvisioningArtifactId=artifact_id
            )
        ).get("Status", "AVAILABLE")
        if status == "AVAILABLE":
            return
        if status == "FAILED" or time.monotonic() > deadline:
            raise ApplyFailed(
                f"new version {artifact_id} is {status}, not AVAILABLE; older versions were "
                "left as they are; check the template and re-run"
            )
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _deleted_already(ctx: Context, args: dict[str, Any]) -> bool:
    """Making room at the quota may have deleted a version the plan meant to change."""
    return args["artifact"] in ctx.deleted_versions.get(args["product"], set())


def _update_version(ctx: Context, args: dict[str, Any]) -> None:
    if _deleted_already(ctx, args):
        return
    params: dict[str, Any] = {
        "ProductId": ctx.product_ids[args["product"]],
        "ProvisioningArtifactId": args["artifact"],
        "Active": args["active"],
    }
    if args["guidance"]:
        params["Guidance"] = args["guidance"]
    ctx.mutate(ctx.clients.sc.update_provisioning_artifact, **params)


def _delete_version(ctx: Context, args: dict[str, Any]) -> None:
    """A version in use by provisioned products cannot be deleted: deactivate it instead
    (Active=false blocks new launches and updates to it), so it never stays DEPRECATED."""
    product_id = ctx.product_ids[args["product"]]
    if _deleted_already(ctx, args):
        return
    try:
        ctx.mutate(
            ctx.clients.sc.delete_provisioning_artifact,
            ProductId=product_id,
            ProvisioningArtifactId=args["artifact"],
        )
    except ClientError as exc:
        if error_code(exc) not in ("ResourceInUseException", "InvalidParametersException"):
            raise
        ctx.warnings.append(f"version {args['artifact']} kept (in use), deactivated")
        if args.get("active") is not False:
            ctx.mutate(
                ctx.clients.sc.update_provisioning_artifact,
                ProductId=product_id,
                ProvisioningArtifactId=args["artifact"],
                Active=False,
            )
        return
    ctx.deleted_versions.setdefault(args["product"], set()).add(args["artifact"])


def _record_versions(ctx: Context, args: dict[str, Any]) -> None:
    """Write the fingerprint the next plan will compute into the current version's
    description, from what is live now (minus what this run deleted)."""
    product = ctx.catalog.products[args["product"]]
    product_id, digest = ctx.product_ids[args["product"]], args["digest"]
    described = ctx.clients.sc.describe_product_as_admin(Id=product_id)
    gone = ctx.deleted_versions.get(args["product"], set())
    artifacts = [
        LiveArtifact(a["Id"], a.get("Description", ""), a.get("CreatedTime", 0.0))
        for a in described.get("ProvisioningArtifactSummaries", [])
        if a["Id"] not in gone
    ]
    current_id = ctx.created_versions.get(args["product"])
    if current_id and all(a.id != current_id for a in artifacts):
        artifacts.append(LiveArtifact(current_id, version_description(digest), time.time()))
    current = next((a for a in artifacts if a.key == digest), None)
    if current is None:
        raise ApplyFailed(f"no version of template sha256:{digest[:12]} found; re-run")
    keys = [a.key for a in version_order(artifacts, digest)]
    wanted = version_description(digest, versions_fingerprint(product.version_policy, keys))
    if current.description != wanted:
        ctx.mutate(
            ctx.clients.sc.update_provisioning_artifact,
            ProductId=product_id,
            ProvisioningArtifactId=current.id,
            Description=wanted,
        )


# --- associations, constraints, principals --------------------------------------------------


def _associate_product(ctx: Context, args: dict[str, Any]) -> None:
    product_id = ctx.product_ids[args["product"]]
    portfolio_id = ctx.portfolio_ids[args["portfolio"]]
    ctx.mutate(
        ctx.clients.sc.associate_product_with_portfolio,
        ProductId=product_id,
        PortfolioId=portfolio_id,
    )
    # Reads right after an association can answer ResourceNotFound (aws/aws-cdk#20810):
    # the constraints created next retry it.
    ctx.created.update((product_id, portfolio_id))


def _disassociate_product(ctx: Context, args: dict[str, Any]) -> None:
    try:
        ctx.mutate(
            ctx.clients.sc.disassociate_product_from_portfolio,
            ProductId=args["product_aws_id"],
            PortfolioId=args["portfolio_aws_id"],
        )
    except ClientError as exc:
        if error_code(exc) != NOT_FOUND:
            raise


def _create_constraint(ctx: Context, args: dict[str, Any]) -> None:
    portfolio_id = ctx.portfolio_ids[args["portfolio"]]
    product_id = ctx.product_ids[args["product"]]
    sc = ctx.clients.sc
    try:
        create_checked(
            ctx,
            sc.create_constraint,
            {
                "PortfolioId": portfolio_id,
                "ProductId": product_id,
                "Type": args["type"],
                "Parameters": args["parameters"],
                "Description": args["description"],
            },
            [portfolio_id, product_id, args["type"], args["parameters"]],
            lambda r: str(r["ConstraintDetail"]["ConstraintId"]),
            lambda rid: sc.describe_constraint(Id=rid),
        )
    except ClientError as exc:
        if error_code(exc) != "DuplicateResourceException":
            raise


def _update_constraint(ctx: Context, args: dict[str, Any]) -> None:
    ctx.mutate(
        ctx.clients.sc.update_constraint,
        Id=args["id"],
        Parameters=args["parameters"],
        Description=args["description"],
    )


def _delete_constraint(ctx: Context, args: dict[str, Any]) -> None:
    try:
        ctx.mutate(ctx.clients.sc.delete_constraint, Id=args["id"])
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise


def _associate_principal(ctx: Context, args: dict[str, Any]) -> None:
    ctx.mutate(
        ctx.clients.sc.associate_principal_with_portfolio,
        PortfolioId=ctx.portfolio_ids[args["portfolio"]],
        PrincipalARN=args["arn"],
        PrincipalType=args["type"],
    )


def _disassociate_principal(ctx: Context, args: dict[str, Any]) -> None:
    ctx.mutate(
        ctx.clients.sc.disassociate_principal_from_portfolio,
        PortfolioId=ctx.portfolio_ids[args["portfolio"]],
        PrincipalARN=args["arn"],
        PrincipalType=args["type"],
    )


# --- shares ---------------------------------------------------------------------------------


def _share(ctx: Context, args: dict[str, Any]) -> None:
    sc = ctx.clients.sc
    params: dict[str, Any] = {
        "PortfolioId": ctx.portfolio_ids[args["portfolio"]],
        "ShareTagOptions": args["share_tag_options"],
    }
    if "account" in args:
        params["AccountId"] = args["account"]
    else:
        params["OrganizationNode"] = args["node"]
        params["SharePrincipals"] = args["share_principals"]
    call = sc.create_portfolio_share if args["op"] == "create" else sc.update_portfolio_share
    response = _retry_busy(lambda: ctx.mutate(call, **params))
    token = response.get("PortfolioShareToken")
    if token:
        _wait_for_share(ctx, token)


def _retry_busy(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A share action still IN_PROGRESS (e.g. from an interrupted run) blocks the next one."""
    delay, waited = 1.0, 0.0
    while True:
        try:
            return action()
        except ClientError as exc:
            if error_code(exc) != "InvalidStateException" or waited > SHARE_TIMEOUT_S:
                raise
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, SHARE_POLL_MAX_S)


def _wait_for_share(ctx: Context, token: str) -> None:
    delay, waited = 0.0, 0.0
    while waited <= SHARE_TIMEOUT_S:
        time.sleep(delay)
        waited += delay
        status = ctx.clients.sc.describe_portfolio_share_status(PortfolioShareToken=token)
        if status["Status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS"):
            return
        if status["Status"] == "ERROR":
            raise ShareFailed(json.dumps(status.get("ShareDetails", {}), default=str))
        delay = min(max(delay * 2, 0.25), SHARE_POLL_MAX_S)
    raise ShareFailed(f"share {token} still in progress after {SHARE_TIMEOUT_S:.0f}s")


def _delete_share(ctx: Context, args: dict[str, Any]) -> None:
    """DeletePortfolioShare takes AccountId or OrganizationNode (API reference); organization
    node deletions answer a PortfolioShareToken to poll like creates."""
    params: dict[str, Any] = {"PortfolioId": ctx.portfolio_ids[args["portfolio"]]}
    if "account" in args:
        params["AccountId"] = args["account"]
    else:
        params["OrganizationNode"] = args["node"]
    try:
        response = _retry_busy(lambda: ctx.mutate(ctx.clients.sc.delete_portfolio_share, **params))
    except ClientError as exc:
        if error_code(exc) != NOT_FOUND:
            raise
        return
    token = response.get("PortfolioShareToken")
    if token:
        _wait_for_share(ctx, token)


# --- prune ----------------------------------------------------------------------------------


def _delete_product(ctx: Context, args: dict[str, Any]) -> None:
    """Detach the product from every portfolio still holding it (constraints first), and from
    its TagOptions, then delete it: DeleteProduct refuses products associated with a portfolio
    (API reference, DeleteProduct; ResourceInUseException)."""
    sc, product_id = ctx.clients.sc, args["product_aws_id"]
    for portfolio in pages(
        sc, "list_portfolios_for_product", "PortfolioDetails", ProductId=product_id
    ):
        for constraint in pages(
            sc,
            "list_constraints_for_portfolio",
            "ConstraintDetails",
            PortfolioId=portfolio["Id"],
            ProductId=product_id,
        ):
            _delete_constraint(ctx, {"id": constraint["ConstraintId"]})
        _disassociate_product(
            ctx, {"portfolio_aws_id": portfolio["Id"], "product_aws_id": product_id}
        )
    for tag_option_id in args.get("tag_option_ids", []):
        _disassociate_tag_option_id(
            ctx, {"resource_aws_id": product_id, "tag_option_id": tag_option_id}
        )
    try:
        ctx.mutate(sc.delete_product, Id=product_id)
    except ClientError as exc:
        if error_code(exc) != NOT_FOUND:
            raise


EXECUTORS: dict[str, Callable[[Context, dict[str, Any]], None]] = {
    "create_portfolio": _create_portfolio,
    "update_portfolio": _update_portfolio,
    "create_tag_option": _create_tag_option,
    "activate_tag_option": _activate_tag_option,
    "upload_template": _upload_template,
    "create_product": _create_product,
    "update_product": _update_product,
    "create_version": _create_version,
    "associate_product": _associate_product,
    "create_constraint": _create_constraint,
    "update_constraint": _update_constraint,
    "delete_constraint": _delete_constraint,
    "associate_principal": _associate_principal,
    "disassociate_principal": _disassociate_principal,
    "associate_tag_option": _associate_tag_option,
    "disassociate_tag_option_id": _disassociate_tag_option_id,
    "share": _share,
    "update_version": _update_version,
    "delete_version": _delete_version,
    "record_versions": _record_versions,
    "delete_share": _delete_share,
    "disassociate_product": _disassociate_product,
    "delete_product": _delete_product,
}
