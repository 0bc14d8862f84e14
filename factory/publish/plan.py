"""Compute the changes that bring one region's Service Catalog in line with the catalog.

The plan is computed entirely before execution (like Sceptre's change sets): `read_state`
reads, `compute_plan` is pure, and `factory.publish.apply` executes the list in order. The list
is already in dependency order: portfolios, TagOptions, templates, products and versions,
associations, constraints, principals, TagOption associations, shares, version policy, prune.
Changes name resources by catalog id; apply resolves them to AWS ids as they are created.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.portfolio import Catalog, Portfolio, Product, ProductRef
from factory.publish.aws import (
    CONSTRAINT_MARK,
    TAG_PORTFOLIO,
    TAG_PRODUCT,
    TAG_VERSIONS,
    Clients,
    file_digest,
    short_hash,
)
from factory.publish.state import (
    SHARE_TYPE_FOR_NODE,
    LivePortfolio,
    LiveProduct,
    LiveState,
    read_state,
    version_order,
    versions_fingerprint,
)

__all__ = ["Change", "compute_plan", "desired_digests", "plan_region"]


@dataclass(frozen=True)
class Change:
    """One planned change. `op` and `args` drive apply; the rest is for people."""

    action: str
    resource: str
    detail: str = ""
    op: str = field(default="", compare=False)
    args: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action, "resource": self.resource, "detail": self.detail}


def desired_digests(catalog: Catalog) -> dict[str, str]:
    return {pid: file_digest(catalog.template_path(pid)) for pid in catalog.products}


def template_paths(catalog: Catalog) -> dict[str, Path]:
    return {pid: catalog.template_path(pid) for pid in catalog.products}


def plan_region(
    clients: Clients, catalog: Catalog, digests: dict[str, str], *, prune: bool = False
) -> tuple[LiveState, list[Change]]:
    state = read_state(clients, catalog, digests)
    return state, compute_plan(catalog, state, digests, prune=prune)


def compute_plan(
    catalog: Catalog, state: LiveState, digests: dict[str, str], *, prune: bool = False
) -> list[Change]:
    phases: list[Iterator[Change]] = [
        _portfolio_changes(catalog, state),
        _tag_option_changes(catalog, state),
        _product_changes(catalog, state, digests),
        _association_changes(catalog, state),
        _constraint_changes(catalog, state),
        _principal_changes(catalog, state),
        _tag_option_association_changes(catalog, state),
        _share_changes(catalog, state),
        _version_policy_changes(catalog, state, digests),
        _orphan_changes(catalog, state, prune),
    ]
    return [change for phase in phases for change in phase]


# --- portfolios -----------------------------------------------------------------------------


def portfolio_tags(config: Portfolio) -> dict[str, str]:
    return {**config.tags, TAG_PORTFOLIO: config.id}


def _portfolio_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        resource = f"portfolio {config.id}"
        if live is None:
            yield Change(
                "create",
                resource,
                config.display_name,
                "create_portfolio",
                {"portfolio": config.id},
            )
            continue
        fields = _changed(
            {
                "DisplayName": (live.display_name, config.display_name),
                "Description": (live.description, config.description),
                "ProviderName": (live.provider_name, config.provider_name),
            }
        )
        add_tags = _added_tags(live.tags, portfolio_tags(config))
        if fields or add_tags:
            detail = ", ".join([*fields, *(f"tag {k}" for k in add_tags)])
            yield Change(
                "update",
                resource,
                detail,
                "update_portfolio",
                {"portfolio": config.id, "fields": fields, "add_tags": add_tags},
            )


def _changed(pairs: dict[str, tuple[str | None, str | None]]) -> dict[str, str]:
    return {name: new or "" for name, (old, new) in pairs.items() if (old or "") != (new or "")}


def _added_tags(live: dict[str, str], desired: dict[str, str]) -> dict[str, str]:
    """Tags to add or overwrite; tags set by others are left alone."""
    return {k: v for k, v in desired.items() if live.get(k) != v}


# --- TagOptions -----------------------------------------------------------------------------


def _desired_tag_options(catalog: Catalog) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for config in catalog.portfolios:
        for option in config.tag_options:
            for value in option.values:
                seen[(option.key, value)] = None
    return list(seen)


def _tag_option_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    for key, value in _desired_tag_options(catalog):
        found = state.tag_options.get((key, value))
        resource = f"tag-option {key}={value}"
        if found is None:
            yield Change("create", resource, "", "create_tag_option", {"key": key, "value": value})
        elif not found[1]:
            yield Change(
                "update", resource, "activate", "activate_tag_option", {"key": key, "value": value}
            )


# --- products and versions ------------------------------------------------------------------


def product_fields(product: Product) -> dict[str, str]:
    return {
        "Name": product.display_name,
        "Owner": product.owner,
        "Description": product.description,
        "Distributor": product.distributor,
        "SupportEmail": product.support.email or "",
        "SupportUrl": product.support.url or "",
        "SupportDescription": product.support.description or "",
    }


_SUMMARY_FIELD = {"Description": "ShortDescription"}


def product_tags(product: Product) -> dict[str, str]:
    return {**product.tags, TAG_PRODUCT: product.id}


def _product_changes(
    catalog: Catalog, state: LiveState, digests: dict[str, str]
) -> Iterator[Change]:
    for product in catalog.products.values():
        live = state.products.get(product.id)
        digest = digests[product.id]
        resource = f"product {product.id}"
        upload = Change(
            "upload",
            f"template {product.id}",
            f"sha256:{digest[:12]}",
            "upload_template",
            {"product": product.id, "digest": digest},
        )
        if live is None:
            yield upload
            yield Change(
                "create",
                resource,
                f"first version sha256:{digest[:12]}",
                "create_product",
                {"product": product.id, "digest": digest},
            )
            continue
        yield from _product_update(product, live)
        if live.artifact_for(digest) is None:
            yield upload
            existing = sorted(a.id for a in live.artifacts)
            yield Change(
                "create",
                f"{resource} version",
                f"sha256:{digest[:12]}",
                "create_version",
                {"product": product.id, "digest": digest, "existing": existing},
            )


def _product_update(product: Product, live: LiveProduct) -> Iterator[Change]:
    fields = _changed(
        {
            name: (live.summary.get(_SUMMARY_FIELD.get(name, name)), value)
            for name, value in product_fields(product).items()
        }
    )
    add_tags = _added_tags(live.tags, product_tags(product))
    if fields or add_tags:
        detail = ", ".join([*fields, *(f"tag {k}" for k in add_tags)])
        yield Change(
            "update",
            f"product {product.id}",
            detail,
            "update_product",
            {"product": product.id, "fields": fields, "add_tags": add_tags},
        )


def _version_policy_changes(
    catalog: Catalog, state: LiveState, digests: dict[str, str]
) -> Iterator[Change]:
    for product in catalog.products.values():
        live = state.products.get(product.id)
        if live is None or not live.detailed:
            continue  # new product (one version) or policy already enforced (fingerprint)
        digest = digests[product.id]
        ordered = version_order(live.artifacts, digest)
        keys = [a.key for a in ordered]
        if live.artifact_for(digest) is None:
            keys.insert(0, digest)  # created earlier in this plan, active by default
        policy = product.version_policy
        deleted: list[str] = []
        deleted_ids: list[str] = []
        offset = 0 if live.artifact_for(digest) else 1
        for index, artifact in enumerate(ordered, start=offset):
            change = _policy_change(
                product,
                artifact.id,
                artifact.active,
                artifact.guidance,
                index,
                policy.keep_active,
                policy.keep_deprecated,
                policy.delete_inactive,
            )
            if change is not None:
                if change.op == "delete_version":
                    deleted.append(artifact.key)
                    deleted_ids.append(artifact.id)
                yield change
        yield Change(
            "tag",
            f"product {product.id}",
            "record enforced version policy",
            "tag_versions",
            {
                "product": product.id,
                "keys": keys,
                "deleted": deleted,
                "deleted_ids": deleted_ids,
                "fingerprint_of": [
                    policy.keep_active,
                    policy.keep_deprecated,
                    policy.delete_inactive,
                ],
            },
        )


def _policy_change(
    product: Product,
    artifact_id: str,
    active: bool | None,
    guidance: str | None,
    index: int,
    keep_active: int,
    keep_deprecated: int,
    delete_inactive: bool,
) -> Change | None:
    resource = f"product {product.id} version {artifact_id}"
    if index < keep_active:
        target: tuple[bool, str | None] = (True, "DEFAULT")
    elif index < keep_active + keep_deprecated:
        target = (True, "DEPRECATED")
    elif delete_inactive:
        return Change(
            "delete",
            resource,
            "inactive, beyond policy",
            "delete_version",
            {"product": product.id, "artifact": artifact_id},
        )
    else:
        target = (False, None)
    if active == target[0] and (target[1] is None or guidance == target[1]):
        return None
    detail = "active" if target[0] else "inactive"
    if target[1]:
        detail += f", {target[1].lower()}"
    return Change(
        "update",
        resource,
        detail,
        "update_version",
        {
            "product": product.id,
            "artifact": artifact_id,
            "active": target[0],
            "guidance": target[1],
        },
    )


def fingerprint_from_args(args: dict[str, Any], deleted: set[str]) -> str:
    from factory.portfolio import VersionPolicy

    keep_active, keep_deprecated, delete_inactive = args["fingerprint_of"]
    policy = VersionPolicy(
        keep_active=keep_active, keep_deprecated=keep_deprecated, delete_inactive=delete_inactive
    )
    return versions_fingerprint(policy, [k for k in args["keys"] if k not in deleted])


def initial_versions_tag(product: Product, digest: str) -> dict[str, str]:
    return {TAG_VERSIONS: versions_fingerprint(product.version_policy, [digest])}


# --- associations and constraints -----------------------------------------------------------


def _refs(catalog: Catalog) -> Iterator[tuple[Portfolio, ProductRef]]:
    for config in catalog.portfolios:
        for ref in config.products:
            yield config, ref


def _live_product_id(state: LiveState, product_id: str) -> str | None:
    live = state.products.get(product_id)
    return live.id if live else None


def _association_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    for config, ref in _refs(catalog):
        live = state.portfolios.get(config.id)
        aws_id = _live_product_id(state, ref.product)
        if live is None or aws_id is None or aws_id not in live.product_ids:
            yield Change(
                "associate",
                f"portfolio {config.id} product {ref.product}",
                "",
                "associate_product",
                {"portfolio": config.id, "product": ref.product},
            )


def desired_constraints(ref: ProductRef) -> dict[str, dict[str, Any]]:
    constraints: dict[str, dict[str, Any]] = {
        "LAUNCH": ref.launch_role.constraint_parameters(),
        "RESOURCE_UPDATE": {
            "Version": "2.0",
            "Properties": {"TagUpdateOnProvisionedProduct": ref.tag_updates},
        },
    }
    if ref.template_rules:
        constraints["TEMPLATE"] = {"Rules": ref.template_constraint_rules()}
    if ref.notification_arns:
        constraints["NOTIFICATION"] = {"NotificationArns": list(ref.notification_arns)}
    return constraints


def constraint_description(kind: str, parameters: dict[str, Any]) -> str:
    """Descriptions carry a parameter fingerprint: ListConstraintsForPortfolio returns
    descriptions but not parameters, so drift is seen without one DescribeConstraint each."""
    return f"{CONSTRAINT_MARK} {kind} {short_hash(parameters, length=16)}"


def _constraint_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    for config, ref in _refs(catalog):
        live = state.portfolios.get(config.id)
        aws_id = _live_product_id(state, ref.product)
        existing = [c for c in (live.constraints if live else []) if c.product_id == aws_id]
        resource = f"portfolio {config.id} product {ref.product}"
        desired = desired_constraints(ref)
        for kind, parameters in desired.items():
            description = constraint_description(kind, parameters)
            same_type = [c for c in existing if c.type == kind]
            args = {
                "portfolio": config.id,
                "product": ref.product,
                "type": kind,
                "parameters": json.dumps(parameters, sort_keys=True),
                "description": description,
            }
            if not same_type:
                yield Change(
                    "create", f"{resource} constraint {kind}", "", "create_constraint", args
                )
                continue
            if same_type[0].description != description:
                yield Change(
                    "update",
                    f"{resource} constraint {kind}",
                    "parameters",
                    "update_constraint",
                    {**args, "id": same_type[0].id},
                )
            for extra in same_type[1:]:
                yield Change(
                    "delete",
                    f"{resource} constraint {kind}",
                    "duplicate",
                    "delete_constraint",
                    {"id": extra.id},
                )
        for extra in existing:
            if extra.type not in desired and extra.type != "STACKSET":
                yield Change(
                    "delete",
                    f"{resource} constraint {extra.type}",
                    "not in catalog",
                    "delete_constraint",
                    {"id": extra.id},
                )


# --- principals, TagOption associations, shares ---------------------------------------------


def _principal_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        current = live.principals if live else {}
        desired = {p.arn: p.type for p in config.principals}
        for arn, kind in desired.items():
            if current.get(arn) != kind:
                yield Change(
                    "associate",
                    f"portfolio {config.id} principal",
                    arn,
                    "associate_principal",
                    {"portfolio": config.id, "arn": arn, "type": kind},
                )
        for arn, kind in current.items():
            if arn not in desired:
                yield Change(
                    "disassociate",
                    f"portfolio {config.id} principal",
                    arn,
                    "disassociate_principal",
                    {"portfolio": config.id, "arn": arn, "type": kind},
                )


def _desired_resource_tag_options(catalog: Catalog) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(kind, catalog id) -> TagOption (key, value) pairs attached to it."""
    desired: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for config in catalog.portfolios:
        desired.setdefault(("portfolio", config.id), set())
        for option in config.tag_options:
            targets = (
                [("portfolio", config.id)]
                if option.attach_to == "portfolio"
                else [("product", pid) for pid in option.attach_to]
            )
            for target in targets:
                desired.setdefault(target, set()).update((option.key, v) for v in option.values)
    return desired


def _tag_option_association_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    by_id = {tid: pair for pair, (tid, _) in state.tag_options.items()}
    for (kind, cid), pairs in _desired_resource_tag_options(catalog).items():
        live = state.portfolios.get(cid) if kind == "portfolio" else state.products.get(cid)
        current = {by_id.get(tid, ("?", tid)) for tid in (live.tag_option_ids if live else ())}
        for key, value in sorted(pairs - current):
            yield Change(
                "associate",
                f"{kind} {cid} tag-option",
                f"{key}={value}",
                "associate_tag_option",
                {"kind": kind, "id": cid, "key": key, "value": value},
            )
        for key, value in sorted(current - pairs):
            if (key, value) in state.tag_options:
                yield Change(
                    "disassociate",
                    f"{kind} {cid} tag-option",
                    f"{key}={value}",
                    "disassociate_tag_option",
                    {"kind": kind, "id": cid, "key": key, "value": value},
                )


def _share_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        yield from _account_shares(config, live)
        yield from _node_shares(config, live)


def _account_shares(config: Portfolio, live: LivePortfolio | None) -> Iterator[Change]:
    tag_options = config.sharing.share_tag_options
    for account in config.sharing.accounts:
        current = live.shares.get(("ACCOUNT", account)) if live else None
        args = {"portfolio": config.id, "account": account, "share_tag_options": tag_options}
        resource = f"portfolio {config.id} share account {account}"
        if current is None:
            yield Change("share", resource, "", "share", {**args, "op": "create"})
        elif current.share_tag_options != tag_options:
            yield Change("update", resource, "share options", "share", {**args, "op": "update"})


def _node_shares(config: Portfolio, live: LivePortfolio | None) -> Iterator[Change]:
    sharing = config.sharing
    for node in sharing.organization_nodes:
        key = (SHARE_TYPE_FOR_NODE[node.type], node.value)
        current = live.shares.get(key) if live else None
        args = {
            "portfolio": config.id,
            "node": {"Type": node.type, "Value": node.value},
            "share_tag_options": sharing.share_tag_options,
            "share_principals": sharing.share_principals and node.type != "ACCOUNT",
        }
        resource = f"portfolio {config.id} share {node.type.lower()} {node.value}"
        if current is None:
            yield Change("share", resource, "", "share", {**args, "op": "create"})
        elif (current.share_tag_options, current.share_principals) != (
            args["share_tag_options"],
            args["share_principals"],
        ):
            yield Change("update", resource, "share options", "share", {**args, "op": "update"})


# --- orphans --------------------------------------------------------------------------------


def _orphan_changes(catalog: Catalog, state: LiveState, prune: bool) -> Iterator[Change]:
    for logical, live in sorted(state.orphans.items()):
        resource = f"product {logical}"
        if not prune:
            yield Change("orphan", resource, "not in catalog; --prune removes it")
            continue
        for pid, portfolio in state.portfolios.items():
            for constraint in portfolio.constraints:
                if constraint.product_id == live.id:
                    yield Change(
                        "delete",
                        f"portfolio {pid} product {logical} constraint {constraint.type}",
                        "prune",
                        "delete_constraint",
                        {"id": constraint.id},
                    )
            if live.id in portfolio.product_ids:
                yield Change(
                    "disassociate",
                    f"portfolio {pid} product {logical}",
                    "prune",
                    "disassociate_product",
                    {"portfolio_aws_id": portfolio.id, "product_aws_id": live.id},
                )
        for tag_option_id in sorted(live.tag_option_ids):
            yield Change(
                "disassociate",
                f"product {logical} tag-option",
                tag_option_id,
                "disassociate_tag_option_id",
                {"resource_aws_id": live.id, "tag_option_id": tag_option_id},
            )
        yield Change("delete", resource, "prune", "delete_product", {"product_aws_id": live.id})
