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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from factory.portfolio import Catalog, Portfolio, Product, ProductRef
from factory.publish.aws import (
    CONSTRAINT_MARK,
    DIGEST_PREFIX,
    FINGERPRINT_MARK,
    RESERVED_TAG_PREFIX,
    TAG_PORTFOLIO,
    TAG_PRODUCT,
    Clients,
    error_code,
    file_digest,
    short_hash,
)
from factory.publish.state import (
    NODE_FOR_SHARE_TYPE,
    SHARE_TYPE_FOR_NODE,
    DuplicateResources,
    LivePortfolio,
    LiveProduct,
    LiveState,
    read_state,
    version_order,
    versions_fingerprint,
)

#: Service Catalog quota: 100 provisioning artifacts per product (Service Catalog
#: Administrator Guide, "AWS Service Catalog default service quotas").
VERSION_QUOTA = 100

__all__ = ["Change", "compute_plan", "desired_digests", "plan_region"]


@dataclass(frozen=True)
class Change:
    """One planned change. `op` and `args` drive apply; the rest is for people.

    `old` and `new` carry the values before and after (a field -> value mapping, a tag mapping,
    constraint parameters, share flags); None where there is nothing before (create) or after
    (delete).
    """

    action: str
    resource: str
    detail: str = ""
    op: str = field(default="", compare=False)
    args: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    old: Any = field(default=None, compare=False)
    new: Any = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.resource,
            "detail": self.detail,
            "old": self.old,
            "new": self.new,
        }


def desired_digests(catalog: Catalog) -> dict[str, str]:
    return {pid: file_digest(catalog.template_path(pid)) for pid in catalog.products}


def template_paths(catalog: Catalog) -> dict[str, Path]:
    return {pid: catalog.template_path(pid) for pid in catalog.products}


def plan_region(
    clients: Clients, catalog: Catalog, digests: dict[str, str], *, prune: bool = False
) -> tuple[LiveState, list[Change]]:
    state = read_state(clients, catalog, digests)
    changes = compute_plan(catalog, state, digests, prune=prune)
    return state, [_with_old_constraint(clients, change) for change in changes]


def _with_old_constraint(clients: Clients, change: Change) -> Change:
    """ListConstraintsForPortfolio has no parameters (botocore model, ConstraintDetail): read
    the old ones of a constraint about to change (one DescribeConstraint per changed one)."""
    if change.op != "update_constraint":
        return change
    try:
        described = clients.sc.describe_constraint(Id=change.args["id"])
    except Exception as exc:  # the plan stays useful without the old value
        return replace(change, old=f"unreadable: {error_code(exc) or exc}")
    raw = described.get("ConstraintParameters") or "{}"
    try:
        old: Any = json.loads(raw)
    except ValueError:
        old = raw
    detail = f"parameters {json.dumps(old, sort_keys=True)} -> {change.args['parameters']}"
    return replace(change, old=old, detail=detail)


def compute_plan(
    catalog: Catalog, state: LiveState, digests: dict[str, str], *, prune: bool = False
) -> list[Change]:
    """Pure. Raises DuplicateResources, before any write, when one catalog id is ambiguous."""
    if state.duplicates:
        raise DuplicateResources("; ".join(state.duplicates))
    phases: list[Iterator[Change]] = [
        _portfolio_changes(catalog, state),
        _tag_option_changes(catalog, state),
        _product_changes(catalog, state, digests),
        _association_changes(catalog, state),
        _constraint_changes(catalog, state),
        _removed_association_changes(catalog, state),
        _principal_changes(catalog, state),
        _tag_option_association_changes(catalog, state),
        _share_changes(catalog, state),
        _version_policy_changes(catalog, state, digests),
        _orphan_changes(state, prune),
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
            new = {"DisplayName": config.display_name, "Tags": portfolio_tags(config)}
            yield Change(
                "create",
                resource,
                config.display_name,
                "create_portfolio",
                {"portfolio": config.id},
                new=new,
            )
            continue
        old_fields = {
            "DisplayName": live.display_name,
            "Description": live.description,
            "ProviderName": live.provider_name,
        }
        new_fields = {
            "DisplayName": config.display_name,
            "Description": config.description,
            "ProviderName": config.provider_name,
        }
        update = _update_change(resource, old_fields, new_fields, live.tags, portfolio_tags(config))
        if update is not None:
            yield replace(
                update, op="update_portfolio", args={**update.args, "portfolio": config.id}
            )


def _update_change(
    resource: str,
    old_fields: dict[str, Any],
    new_fields: dict[str, Any],
    live_tags: dict[str, str],
    desired_tags: dict[str, str],
) -> Change | None:
    """An update of fields and tags, with old -> new values, or None when nothing differs."""
    fields = _changed({name: (old_fields.get(name), new) for name, new in new_fields.items()})
    add_tags, remove_tags = _tag_diff(live_tags, desired_tags)
    if not (fields or add_tags or remove_tags):
        return None
    old = {name: old_fields.get(name) or "" for name in fields}
    new = dict(fields)
    if add_tags or remove_tags:
        touched = sorted({*add_tags, *remove_tags})
        old["Tags"] = {k: live_tags[k] for k in touched if k in live_tags}
        new["Tags"] = {k: desired_tags[k] for k in touched if k in desired_tags}
    detail = ", ".join(
        [
            *(f"{name}: {old[name]!r} -> {value!r}" for name, value in fields.items()),
            *(_tag_detail(k, live_tags.get(k), v) for k, v in sorted(add_tags.items())),
            *(f"-tag {k}={live_tags[k]}" for k in remove_tags),
        ]
    )
    args = {"fields": fields, "add_tags": add_tags, "remove_tags": remove_tags}
    return Change("update", resource, detail, "", args, old=old, new=new)


def _tag_detail(key: str, old: str | None, new: str) -> str:
    return f"+tag {key}={new}" if old is None else f"tag {key}: {old!r} -> {new!r}"


def _changed(pairs: dict[str, tuple[str | None, str | None]]) -> dict[str, str]:
    return {name: new or "" for name, (old, new) in pairs.items() if (old or "") != (new or "")}


def _tag_diff(live: dict[str, str], desired: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Tags to add or overwrite, and tags to remove.

    Decision: on resources the publisher owns (tagged with our catalog id) the YAML owns every
    tag, so a tag removed from the YAML, or set by hand, is removed; only `aws:` tags, which
    callers cannot change (API reference, Tag data type), are left alone. This also removes
    the legacy `studio-catalog:versions` fingerprint tag from products.
    """
    add = {k: v for k, v in desired.items() if live.get(k) != v}
    remove = sorted(k for k in live if k not in desired and not k.startswith(RESERVED_TAG_PREFIX))
    return add, remove


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
            detail = f"sha256:{digest[:12]}"
            if len(existing) >= VERSION_QUOTA:
                detail += f"; at the {VERSION_QUOTA}-version quota: oldest unused version deleted"
            yield Change(
                "create",
                f"{resource} version",
                detail,
                "create_version",
                {"product": product.id, "digest": digest, "existing": existing},
                new={"Description": f"{DIGEST_PREFIX}{digest}"},
            )


def _product_update(product: Product, live: LiveProduct) -> Iterator[Change]:
    old_fields = {
        name: live.summary.get(_SUMMARY_FIELD.get(name, name)) for name in product_fields(product)
    }
    update = _update_change(
        f"product {product.id}",
        old_fields,
        product_fields(product),
        live.tags,
        product_tags(product),
    )
    if update is not None:
        yield replace(update, op="update_product", args={**update.args, "product": product.id})


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
            "record",
            f"product {product.id} version sha256:{digest[:12]}",
            "record the enforced version policy in the version's description",
            "record_versions",
            {
                "product": product.id,
                "digest": digest,
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
        # A version still in use cannot be deleted; apply then deactivates it instead.
        return Change(
            "delete",
            resource,
            "beyond policy (deactivated instead while in use)",
            "delete_version",
            {"product": product.id, "artifact": artifact_id, "active": active},
            old={"Active": active, "Guidance": guidance},
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
        old={"Active": active, "Guidance": guidance},
        new={"Active": target[0], "Guidance": target[1]},
    )


def fingerprint_from_args(args: dict[str, Any], deleted: set[str]) -> str:
    from factory.portfolio import VersionPolicy

    keep_active, keep_deprecated, delete_inactive = args["fingerprint_of"]
    policy = VersionPolicy(
        keep_active=keep_active, keep_deprecated=keep_deprecated, delete_inactive=delete_inactive
    )
    return versions_fingerprint(policy, [k for k in args["keys"] if k not in deleted])


def version_description(digest: str, fingerprint: str | None = None) -> str:
    """`sha256:<digest>[ versions:<fingerprint>]`: the fingerprint of the version policy last
    enforced lives on the current version, where it propagates nowhere (product tags reach
    every provisioned product's resources: API reference, Tag data type)."""
    text = f"{DIGEST_PREFIX}{digest}"
    return f"{text} {FINGERPRINT_MARK}{fingerprint}" if fingerprint else text


def initial_version_description(product: Product, digest: str) -> str:
    return version_description(digest, versions_fingerprint(product.version_policy, [digest]))


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
                    "create",
                    f"{resource} constraint {kind}",
                    json.dumps(parameters, sort_keys=True),
                    "create_constraint",
                    args,
                    new=parameters,
                )
                continue
            if same_type[0].description != description:
                yield Change(
                    "update",
                    f"{resource} constraint {kind}",
                    f"parameters -> {json.dumps(parameters, sort_keys=True)}",
                    "update_constraint",
                    {**args, "id": same_type[0].id},
                    old=same_type[0].description,  # plan_region replaces it by the parameters
                    new=parameters,
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


def _removed_association_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    """Products in a catalog portfolio that the YAML no longer puts there leave it: its
    constraints first (one launch constraint per pair; DisassociateProductFromPortfolio
    answers ResourceInUseException while constraints exist, API reference), then the pair."""
    names = state.product_catalog_ids()
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        if live is None:
            continue
        wanted = {_live_product_id(state, ref.product) for ref in config.products}
        for aws_id in sorted(live.product_ids - wanted):
            label = names.get(aws_id, aws_id)
            resource = f"portfolio {config.id} product {label}"
            for constraint in live.constraints:
                if constraint.product_id == aws_id:
                    yield Change(
                        "delete",
                        f"{resource} constraint {constraint.type}",
                        "product leaves the portfolio",
                        "delete_constraint",
                        {"id": constraint.id},
                    )
            yield Change(
                "disassociate",
                resource,
                "not in the portfolio's products",
                "disassociate_product",
                {"portfolio_aws_id": live.id, "product_aws_id": aws_id},
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
    """(kind, catalog id) -> TagOption (key, value) pairs attached to it; every portfolio and
    product is present, so "all TagOptions removed" detaches the live ones."""
    desired: dict[tuple[str, str], set[tuple[str, str]]] = {
        ("product", pid): set() for pid in catalog.products
    }
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
        live_ids = live.tag_option_ids if live else set()
        current = {by_id[tid] for tid in live_ids if tid in by_id}
        for key, value in sorted(pairs - current):
            yield Change(
                "associate",
                f"{kind} {cid} tag-option",
                f"{key}={value}",
                "associate_tag_option",
                {"kind": kind, "id": cid, "key": key, "value": value},
                new={key: value},
            )
        for tid in sorted(live_ids):
            pair = by_id.get(tid)
            if live is None or (pair is not None and pair in pairs):
                continue
            label = f"{pair[0]}={pair[1]}" if pair else tid
            yield Change(
                "disassociate",
                f"{kind} {cid} tag-option",
                label,
                "disassociate_tag_option_id",
                {"resource_aws_id": live.id, "tag_option_id": tid},
                old={pair[0]: pair[1]} if pair else tid,
            )


def _share_changes(catalog: Catalog, state: LiveState) -> Iterator[Change]:
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        desired = _desired_shares(config)
        for key, flags in desired.items():
            yield from _share_change(config, live, key, flags)
        for key, current in sorted((live.shares if live else {}).items()):
            if key not in desired and live is not None:
                yield _delete_share(config, live, key, current)


def _desired_shares(config: Portfolio) -> dict[tuple[str, str], dict[str, bool]]:
    """(DescribePortfolioShares Type, principal) -> share flags. SharePrincipals applies to
    organization and OU shares only (API reference, CreatePortfolioShare)."""
    sharing = config.sharing
    desired = {
        ("ACCOUNT", account): {"ShareTagOptions": sharing.share_tag_options}
        for account in sharing.accounts
    }
    for node in sharing.organization_nodes:
        desired[(SHARE_TYPE_FOR_NODE[node.type], node.value)] = {
            "ShareTagOptions": sharing.share_tag_options,
            "SharePrincipals": sharing.share_principals and node.type != "ACCOUNT",
        }
    return desired


def _share_target(key: tuple[str, str]) -> dict[str, Any]:
    share_type, principal = key
    if share_type == "ACCOUNT":
        return {"account": principal}
    return {"node": {"Type": NODE_FOR_SHARE_TYPE[share_type], "Value": principal}}


def _share_resource(config: Portfolio, key: tuple[str, str]) -> str:
    share_type, principal = key
    kind = "account" if share_type == "ACCOUNT" else NODE_FOR_SHARE_TYPE[share_type].lower()
    return f"portfolio {config.id} share {kind} {principal}"


def _share_change(
    config: Portfolio, live: LivePortfolio | None, key: tuple[str, str], flags: dict[str, bool]
) -> Iterator[Change]:
    current = live.shares.get(key) if live else None
    args: dict[str, Any] = {
        "portfolio": config.id,
        **_share_target(key),
        "share_tag_options": flags["ShareTagOptions"],
        "share_principals": flags.get("SharePrincipals", False),
    }
    resource = _share_resource(config, key)
    if current is None:
        yield Change("share", resource, "", "share", {**args, "op": "create"}, new=flags)
        return
    old = {"ShareTagOptions": current.share_tag_options}
    if "SharePrincipals" in flags:
        old["SharePrincipals"] = current.share_principals
    if old != flags:
        detail = ", ".join(f"{k}: {old[k]} -> {v}" for k, v in flags.items() if old[k] != v)
        yield Change(
            "update", resource, detail, "share", {**args, "op": "update"}, old=old, new=flags
        )


def _delete_share(
    config: Portfolio, live: LivePortfolio, key: tuple[str, str], current: Any
) -> Change:
    return Change(
        "unshare",
        _share_resource(config, key),
        "not in the portfolio's sharing",
        "delete_share",
        {"portfolio": config.id, **_share_target(key)},
        old={"ShareTagOptions": current.share_tag_options},
    )


# --- orphans --------------------------------------------------------------------------------


def _orphan_changes(state: LiveState, prune: bool) -> Iterator[Change]:
    for logical in sorted(state.orphan_portfolios):
        yield Change("orphan", f"portfolio {logical}", "not in catalog; delete it by hand")
    for logical, live in sorted(state.orphans.items()):
        resource = f"product {logical}"
        if not prune:
            yield Change("orphan", resource, "not in catalog; --prune removes it")
            continue
        # Apply detaches it from every portfolio that still holds it (ListPortfoliosForProduct),
        # so a product left behind by an interrupted prune is deleted too.
        yield Change(
            "delete",
            resource,
            "prune",
            "delete_product",
            {"product_aws_id": live.id, "tag_option_ids": sorted(live.tag_option_ids)},
            old={"Name": live.name},
        )
