"""Execute a plan in order. Every create is idempotent, so an interrupted run re-run converges.

* Create calls carry an IdempotencyToken derived from their inputs; a retry (or a re-run after
  an interruption) replays the first call instead of creating a duplicate.
* Templates are uploaded to `<product-id>/<sha256>.yaml`, never overwritten (HeadObject first).
* Organization-node shares run one at a time per portfolio: a portfolio accepts a new share
  action only once the previous one left IN_PROGRESS (DescribePortfolioShareStatus).
* `stop_after` raises `Interrupted` before the (N+1)th mutating call: the test hook that
  simulates a crash part-way through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from factory.portfolio import Catalog
from factory.publish.aws import (
    DIGEST_PREFIX,
    TAG_VERSIONS,
    Clients,
    bucket_from_ssm,
    error_code,
    short_hash,
    tag_list,
    template_key,
    template_url,
    version_name,
)
from factory.publish.plan import (
    Change,
    fingerprint_from_args,
    initial_versions_tag,
    portfolio_tags,
    product_fields,
    product_tags,
)
from factory.publish.state import LiveState

SHARE_POLL_MAX_S = 5.0
SHARE_TIMEOUT_S = 900.0


class Interrupted(RuntimeError):
    """Raised by the `stop_after` hook."""


class ShareFailed(RuntimeError):
    pass


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
    mutations: int = 0
    warnings: list[str] = field(default_factory=list)

    def mutate(self, call: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
        if self.stop_after is not None and self.mutations >= self.stop_after:
            raise Interrupted(f"stopped after {self.mutations} mutating calls")
        self.mutations += 1
        return call(**params)

    def template_bucket(self) -> str:
        if self.bucket is None:
            self.bucket = bucket_from_ssm(self.clients.ssm)
        return self.bucket

    def template_url(self, product: str, digest: str) -> str:
        key = template_key(product, digest)
        return template_url(self.template_bucket(), self.clients.region, key)


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
    ctx = Context(clients, catalog, bucket=bucket, stop_after=stop_after)
    ctx.portfolio_ids = {cid: live.id for cid, live in state.portfolios.items()}
    ctx.product_ids = {cid: live.id for cid, live in state.products.items()}
    ctx.tag_option_ids = {pair: tid for pair, (tid, _) in state.tag_options.items()}
    for change in changes:
        if not change.op:
            continue  # informational (orphan without --prune)
        EXECUTORS[change.op](ctx, change.args)
        if on_change is not None:
            on_change(change)
    return ctx


# --- portfolios -----------------------------------------------------------------------------


def _create_portfolio(ctx: Context, args: dict[str, Any]) -> None:
    config = ctx.catalog.portfolio(args["portfolio"])
    params: dict[str, Any] = {
        "DisplayName": config.display_name,
        "ProviderName": config.provider_name,
        "Tags": tag_list(portfolio_tags(config)),
        "IdempotencyToken": short_hash("portfolio", config.id, config.display_name),
    }
    if config.description:
        params["Description"] = config.description
    response = ctx.mutate(ctx.clients.sc.create_portfolio, **params)
    ctx.portfolio_ids[config.id] = response["PortfolioDetail"]["Id"]


def _update_portfolio(ctx: Context, args: dict[str, Any]) -> None:
    params: dict[str, Any] = {"Id": ctx.portfolio_ids[args["portfolio"]], **args["fields"]}
    if args["add_tags"]:
        params["AddTags"] = tag_list(args["add_tags"])
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


def _disassociate_tag_option(ctx: Context, args: dict[str, Any]) -> None:
    _disassociate_tag_option_id(
        ctx,
        {
            "resource_aws_id": _resource_id(ctx, args["kind"], args["id"]),
            "tag_option_id": ctx.tag_option_ids[(args["key"], args["value"])],
        },
    )


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


def _artifact_parameters(ctx: Context, product: str, digest: str) -> dict[str, Any]:
    return {
        "Name": version_name(digest),
        "Description": f"{DIGEST_PREFIX}{digest}",
        "Info": {"LoadTemplateFromURL": ctx.template_url(product, digest)},
        "Type": "CLOUD_FORMATION_TEMPLATE",
    }


def _create_product(ctx: Context, args: dict[str, Any]) -> None:
    product = ctx.catalog.products[args["product"]]
    digest = args["digest"]
    params: dict[str, Any] = {
        name: value for name, value in product_fields(product).items() if value
    }
    response = ctx.mutate(
        ctx.clients.sc.create_product,
        **params,
        ProductType="CLOUD_FORMATION_TEMPLATE",
        Tags=tag_list({**product_tags(product), **initial_versions_tag(product, digest)}),
        ProvisioningArtifactParameters=_artifact_parameters(ctx, product.id, digest),
        IdempotencyToken=short_hash("product", product.id, digest),
    )
    ctx.product_ids[product.id] = response["ProductViewDetail"]["ProductViewSummary"]["ProductId"]


def _update_product(ctx: Context, args: dict[str, Any]) -> None:
    params: dict[str, Any] = {"Id": ctx.product_ids[args["product"]], **args["fields"]}
    if args["add_tags"]:
        params["AddTags"] = tag_list(args["add_tags"])
    ctx.mutate(ctx.clients.sc.update_product, **params)


def _create_version(ctx: Context, args: dict[str, Any]) -> None:
    """The token also covers the existing versions: a digest whose version was deleted since
    must create a new version, not replay the old (deleted) one."""
    product_id = ctx.product_ids[args["product"]]
    ctx.mutate(
        ctx.clients.sc.create_provisioning_artifact,
        ProductId=product_id,
        Parameters=_artifact_parameters(ctx, args["product"], args["digest"]),
        IdempotencyToken=short_hash(args["product"], args["digest"], args["existing"]),
    )


def _update_version(ctx: Context, args: dict[str, Any]) -> None:
    params: dict[str, Any] = {
        "ProductId": ctx.product_ids[args["product"]],
        "ProvisioningArtifactId": args["artifact"],
        "Active": args["active"],
    }
    if args["guidance"]:
        params["Guidance"] = args["guidance"]
    ctx.mutate(ctx.clients.sc.update_provisioning_artifact, **params)


def _delete_version(ctx: Context, args: dict[str, Any]) -> None:
    """Versions in use by provisioned products stay (inactive); that is not an error."""
    try:
        ctx.mutate(
            ctx.clients.sc.delete_provisioning_artifact,
            ProductId=ctx.product_ids[args["product"]],
            ProvisioningArtifactId=args["artifact"],
        )
    except ClientError as exc:
        if error_code(exc) not in ("ResourceInUseException", "InvalidParametersException"):
            raise
        ctx.warnings.append(f"version {args['artifact']} kept: {error_code(exc)}")
        return
    ctx.deleted_versions.setdefault(args["product"], set()).add(args["artifact"])


def _tag_versions(ctx: Context, args: dict[str, Any]) -> None:
    deleted_ids = ctx.deleted_versions.get(args["product"], set())
    planned = dict(zip(args["deleted_ids"], args["deleted"], strict=True))
    deleted = {planned[i] for i in deleted_ids if i in planned}
    fingerprint = fingerprint_from_args(args, deleted)
    ctx.mutate(
        ctx.clients.sc.update_product,
        Id=ctx.product_ids[args["product"]],
        AddTags=[{"Key": TAG_VERSIONS, "Value": fingerprint}],
    )


# --- associations, constraints, principals --------------------------------------------------


def _associate_product(ctx: Context, args: dict[str, Any]) -> None:
    ctx.mutate(
        ctx.clients.sc.associate_product_with_portfolio,
        ProductId=ctx.product_ids[args["product"]],
        PortfolioId=ctx.portfolio_ids[args["portfolio"]],
    )


def _disassociate_product(ctx: Context, args: dict[str, Any]) -> None:
    ctx.mutate(
        ctx.clients.sc.disassociate_product_from_portfolio,
        ProductId=args["product_aws_id"],
        PortfolioId=args["portfolio_aws_id"],
    )


def _create_constraint(ctx: Context, args: dict[str, Any]) -> None:
    portfolio_id = ctx.portfolio_ids[args["portfolio"]]
    product_id = ctx.product_ids[args["product"]]
    try:
        ctx.mutate(
            ctx.clients.sc.create_constraint,
            PortfolioId=portfolio_id,
            ProductId=product_id,
            Type=args["type"],
            Parameters=args["parameters"],
            Description=args["description"],
            IdempotencyToken=short_hash(portfolio_id, product_id, args["type"], args["parameters"]),
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


# --- prune ----------------------------------------------------------------------------------


def _delete_product(ctx: Context, args: dict[str, Any]) -> None:
    ctx.mutate(ctx.clients.sc.delete_product, Id=args["product_aws_id"])


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
    "disassociate_tag_option": _disassociate_tag_option,
    "disassociate_tag_option_id": _disassociate_tag_option_id,
    "share": _share,
    "update_version": _update_version,
    "delete_version": _delete_version,
    "tag_versions": _tag_versions,
    "disassociate_product": _disassociate_product,
    "delete_product": _delete_product,
}
