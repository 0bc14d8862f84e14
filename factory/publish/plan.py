"""Compute the steps that bring one region's Service Catalog in line with the catalog.

The plan is computed entirely before execution (like Sceptre's change sets): `plan_region`
checks preconditions and reads, `compute_plan` is pure, and `factory.publish.apply` executes
the steps in order. The list is already in dependency order: portfolios, TagOptions,
templates, products and versions, associations, constraints, principals, TagOption
associations, shares, version policy, prune. Steps (`factory.publish.steps`) name resources
by catalog id; apply resolves them to AWS ids as they are created.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from factory.aws import (
    CONSTRAINT_MARK,
    DIGEST_PREFIX,
    RESERVED_TAG_PREFIX,
    Clients,
    error_code,
    file_digest,
    pages,
    short_hash,
    unpaged,
)
from factory.portfolio import Catalog, Portfolio, Product, ProductRef
from factory.publish.state import (
    SHARE_TYPE_FOR_NODE,
    DuplicateResources,
    LivePortfolio,
    LiveProduct,
    LiveShare,
    LiveState,
    read_state,
    version_order,
)
from factory.publish.steps import (
    ActivateTagOption,
    AssociatePrincipal,
    AssociateProduct,
    AssociateTagOption,
    CreateConstraint,
    CreatePortfolio,
    CreateProduct,
    CreateShare,
    CreateTagOption,
    CreateVersion,
    DeleteConstraint,
    DeletePortfolio,
    DeleteProduct,
    DeleteShare,
    DeleteVersion,
    DisassociatePrincipal,
    DisassociateProduct,
    DisassociateTagOption,
    Orphan,
    RecordVersions,
    Refused,
    Step,
    UpdateConstraint,
    UpdatePortfolio,
    UpdateProduct,
    UpdateShare,
    UpdateVersion,
    UploadTemplate,
    portfolio_tags,
    product_fields,
    product_tags,
)

#: Service Catalog quota: 100 provisioning artifacts per product (Service Catalog
#: Administrator Guide, "AWS Service Catalog default service quotas").
VERSION_QUOTA = 100
#: Provisioned products listed in a refused prune's message.
IN_USE_SHOWN = 3

__all__ = ["PreconditionFailed", "Step", "compute_plan", "desired_digests", "plan_region"]


class PreconditionFailed(RuntimeError):
    """Something the plan needs is missing in the account; nothing was written."""


def desired_digests(catalog: Catalog) -> dict[str, str]:
    return {pid: file_digest(catalog.template_path(pid)) for pid in catalog.products}


def plan_region(
    clients: Clients, catalog: Catalog, digests: dict[str, str], *, prune: bool = False
) -> tuple[LiveState, list[Step]]:
    check_organization_access(clients, catalog)
    state = read_state(clients, catalog, digests)
    if prune:
        read_prune_candidates(clients, state)
    steps = compute_plan(catalog, state, digests, prune=prune)
    return state, [_with_old_constraint(clients, step) for step in steps]


# --- preconditions --------------------------------------------------------------------------

#: What GetAWSOrganizationsAccessStatus answers outside the management or a delegated-admin
#: account (API reference: "This API can't be invoked if the caller is not a member of the
#: management account or a delegated administrator"; errors in botocore's model).
ORG_REFUSED = ("OperationNotSupportedException", "AccessDeniedException")


def check_organization_access(clients: Clients, catalog: Catalog) -> None:
    """Organization-node shares need the management account or a delegated administrator with
    Organizations access ENABLED (API reference, CreatePortfolioShare). Checked before any
    read, and only when the catalog shares with organization nodes."""
    sharing = [
        f"portfolio {p.id}: {node.type} {node.value}"
        for p in catalog.portfolios
        for node in p.sharing.organization_nodes
    ]
    if not sharing:
        return
    try:
        status = clients.sc.get_aws_organizations_access_status().get("AccessStatus")
    except ClientError as exc:
        if error_code(exc) not in ORG_REFUSED:
            raise
        raise PreconditionFailed(
            f"organization shares ({sharing[0]}"
            + (f" and {len(sharing) - 1} more" if len(sharing) > 1 else "")
            + ") need the organization's management account or a delegated administrator "
            "for Service Catalog, and this account is neither "
            f"({error_code(exc)}); publish from the management or delegated-admin account, "
            "or share with accounts (sharing.accounts) instead"
        ) from exc
    if status != "ENABLED":
        raise PreconditionFailed(
            f"organization shares ({sharing[0]}) need Service Catalog's AWS Organizations access, "
            f"which is {status}; enable it once from the management account: "
            "aws servicecatalog enable-aws-organizations-access"
        )


def read_prune_candidates(clients: Clients, state: LiveState) -> None:
    """Under --prune: the products of orphan portfolios, and which orphan products still have
    provisioned products. SearchProvisionedProducts needs AccessLevelFilter Account/self to
    see every user's provisioned products, not only the caller's (API reference,
    AccessLevelFilter; the default is User)."""
    sc = clients.sc
    for live in state.orphan_portfolios.values():
        for view in pages(
            sc, "search_products_as_admin", "ProductViewDetails", PortfolioId=live.id
        ):
            live.product_ids.add(view["ProductViewSummary"]["ProductId"])
    ids = {live.id for live in state.orphans.values()}
    ids |= {pid for live in state.orphan_portfolios.values() for pid in live.product_ids}
    for product_id in sorted(ids):
        # No botocore paginator for SearchProvisionedProducts: NextPageToken by hand.
        found = unpaged(
            sc.search_provisioned_products,
            "ProvisionedProducts",
            AccessLevelFilter={"Key": "Account", "Value": "self"},
            Filters={"SearchQuery": [f"productId:{product_id}"]},
            PageSize=100,
        )
        names = [item["Name"] for item in found if item.get("Status") != "TERMINATED"]
        if names:
            state.in_use[product_id] = sorted(names)


def _with_old_constraint(clients: Clients, step: Step) -> Step:
    """ListConstraintsForPortfolio has no parameters (botocore model, ConstraintDetail): read
    the old ones of a constraint about to change (one DescribeConstraint per changed one)."""
    if not isinstance(step, UpdateConstraint):
        return step
    try:
        described = clients.sc.describe_constraint(Id=step.constraint_id)
    except Exception as exc:  # the plan stays useful without the old value
        return replace(step, old=f"unreadable: {error_code(exc) or exc}")
    raw = described.get("ConstraintParameters") or "{}"
    try:
        old: Any = json.loads(raw)
    except ValueError:
        old = raw
    detail = f"parameters {json.dumps(old, sort_keys=True)} -> {step.parameters}"
    return replace(step, old=old, detail=detail)


def compute_plan(
    catalog: Catalog, state: LiveState, digests: dict[str, str], *, prune: bool = False
) -> list[Step]:
    """Pure. Raises DuplicateResources, before any write, when one catalog id is ambiguous."""
    if state.duplicates:
        raise DuplicateResources("; ".join(state.duplicates))
    phases: list[Iterator[Step]] = [
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
        _orphan_portfolio_changes(state, prune),
        _orphan_product_changes(state, prune),
    ]
    return [step for phase in phases for step in phase]


# --- portfolios -----------------------------------------------------------------------------


def _portfolio_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        if live is None:
            new = {"DisplayName": config.display_name, "Tags": portfolio_tags(config)}
            yield CreatePortfolio(portfolio=config.id, detail=config.display_name, new=new)
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
        update = _update_values(old_fields, new_fields, live.tags, portfolio_tags(config))
        if update is not None:
            yield UpdatePortfolio(portfolio=config.id, **update)


def _update_values(
    old_fields: dict[str, Any],
    new_fields: dict[str, Any],
    live_tags: dict[str, str],
    desired_tags: dict[str, str],
) -> dict[str, Any] | None:
    """The fields of an update step (fields and tags, with old -> new values), or None when
    nothing differs."""
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
    return {
        "fields": fields,
        "add_tags": add_tags,
        "remove_tags": tuple(remove_tags),
        "detail": detail,
        "old": old,
        "new": new,
    }


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


def _tag_option_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
    for key, value in _desired_tag_options(catalog):
        found = state.tag_options.get((key, value))
        if found is None:
            yield CreateTagOption(key=key, value=value)
        elif not found[1]:
            yield ActivateTagOption(key=key, value=value, detail="activate")


# --- products and versions ------------------------------------------------------------------


_SUMMARY_FIELD = {"Description": "ShortDescription"}


def _product_changes(catalog: Catalog, state: LiveState, digests: dict[str, str]) -> Iterator[Step]:
    for product in catalog.products.values():
        live = state.products.get(product.id)
        digest = digests[product.id]
        upload = UploadTemplate(product=product.id, digest=digest, detail=f"sha256:{digest[:12]}")
        if live is None:
            yield upload
            yield CreateProduct(
                product=product.id,
                digest=digest,
                detail=f"first version sha256:{digest[:12]}",
            )
            continue
        yield from _product_update(product, live)
        if live.artifact_for(digest) is None:
            yield upload
            existing = tuple(sorted(a.id for a in live.artifacts))
            detail = f"sha256:{digest[:12]}"
            if len(existing) >= VERSION_QUOTA:
                detail += f"; at the {VERSION_QUOTA}-version quota: oldest unused version deleted"
            yield CreateVersion(
                product=product.id,
                digest=digest,
                existing=existing,
                detail=detail,
                new={"Description": f"{DIGEST_PREFIX}{digest}"},
            )


def _product_update(product: Product, live: LiveProduct) -> Iterator[Step]:
    old_fields = {
        name: live.summary.get(_SUMMARY_FIELD.get(name, name)) for name in product_fields(product)
    }
    update = _update_values(old_fields, product_fields(product), live.tags, product_tags(product))
    if update is not None:
        yield UpdateProduct(product=product.id, **update)


def _version_policy_changes(
    catalog: Catalog, state: LiveState, digests: dict[str, str]
) -> Iterator[Step]:
    for product in catalog.products.values():
        live = state.products.get(product.id)
        if live is None or not live.detailed:
            continue  # new product (one version) or policy already enforced (fingerprint)
        digest = digests[product.id]
        ordered = version_order(live.artifacts, digest)
        offset = 0 if live.artifact_for(digest) else 1  # a new version is first
        policy = product.version_policy
        for index, artifact in enumerate(ordered, start=offset):
            step = _policy_step(
                product.id,
                artifact.id,
                artifact.active,
                artifact.guidance,
                index,
                (policy.keep_active, policy.keep_deprecated, policy.delete_inactive),
            )
            if step is not None:
                yield step
        yield RecordVersions(
            product=product.id,
            digest=digest,
            detail="record the enforced version policy in the version's description",
        )


def _policy_step(
    product: str,
    artifact_id: str,
    active: bool | None,
    guidance: str | None,
    index: int,
    policy: tuple[int, int, bool],
) -> Step | None:
    keep_active, keep_deprecated, delete_inactive = policy
    old = {"Active": active, "Guidance": guidance}
    if index < keep_active:
        target: tuple[bool, str | None] = (True, "DEFAULT")
    elif index < keep_active + keep_deprecated:
        target = (True, "DEPRECATED")
    elif delete_inactive:
        # A version still in use cannot be deleted; apply then deactivates it instead.
        return DeleteVersion(
            product=product,
            artifact=artifact_id,
            active=active,
            detail="beyond policy (deactivated instead while in use)",
            old=old,
        )
    else:
        target = (False, None)
    if active == target[0] and (target[1] is None or guidance == target[1]):
        return None
    detail = "active" if target[0] else "inactive"
    if target[1]:
        detail += f", {target[1].lower()}"
    return UpdateVersion(
        product=product,
        artifact=artifact_id,
        active=target[0],
        guidance=target[1],
        detail=detail,
        old=old,
        new={"Active": target[0], "Guidance": target[1]},
    )


# --- associations and constraints -----------------------------------------------------------


def _refs(catalog: Catalog) -> Iterator[tuple[Portfolio, ProductRef]]:
    for config in catalog.portfolios:
        for ref in config.products:
            yield config, ref


def _live_product_id(state: LiveState, product_id: str) -> str | None:
    live = state.products.get(product_id)
    return live.id if live else None


def _association_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
    for config, ref in _refs(catalog):
        live = state.portfolios.get(config.id)
        aws_id = _live_product_id(state, ref.product)
        if live is None or aws_id is None or aws_id not in live.product_ids:
            yield AssociateProduct(portfolio=config.id, product=ref.product)


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


def _constraint_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
    for config, ref in _refs(catalog):
        live = state.portfolios.get(config.id)
        aws_id = _live_product_id(state, ref.product)
        existing = [c for c in (live.constraints if live else []) if c.product_id == aws_id]
        desired = desired_constraints(ref)
        for kind, parameters in desired.items():
            text = json.dumps(parameters, sort_keys=True)
            common = {
                "portfolio": config.id,
                "product": ref.product,
                "type": kind,
                "parameters": text,
                "description": constraint_description(kind, parameters),
            }
            same_type = [c for c in existing if c.type == kind]
            if not same_type:
                yield CreateConstraint(**common, detail=text, new=parameters)
                continue
            if same_type[0].description != common["description"]:
                yield UpdateConstraint(
                    **common,
                    constraint_id=same_type[0].id,
                    detail=f"parameters -> {text}",
                    old=same_type[0].description,  # plan_region replaces it by the parameters
                    new=parameters,
                )
            for extra in same_type[1:]:
                yield _delete_constraint(config.id, ref.product, extra, "duplicate")
        for extra in existing:
            if extra.type not in desired and extra.type != "STACKSET":
                yield _delete_constraint(config.id, ref.product, extra, "not in catalog")


def _delete_constraint(portfolio: str, label: str, live: Any, why: str) -> DeleteConstraint:
    return DeleteConstraint(
        portfolio=portfolio, label=label, type=live.type, constraint_id=live.id, detail=why
    )


def _removed_association_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
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
            for constraint in live.constraints:
                if constraint.product_id == aws_id:
                    yield _delete_constraint(
                        config.id, label, constraint, "product leaves the portfolio"
                    )
            yield DisassociateProduct(
                portfolio=config.id,
                label=label,
                portfolio_aws_id=live.id,
                product_aws_id=aws_id,
                detail="not in the portfolio's products",
            )


# --- principals, TagOption associations, shares ---------------------------------------------


def _principal_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        current = live.principals if live else {}
        desired = {p.arn: p.type for p in config.principals}
        for arn, kind in desired.items():
            if current.get(arn) != kind:
                yield AssociatePrincipal(portfolio=config.id, arn=arn, type=kind, detail=arn)
        for arn, kind in current.items():
            if arn not in desired:
                yield DisassociatePrincipal(portfolio=config.id, arn=arn, type=kind, detail=arn)


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


def _tag_option_association_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
    by_id = {tid: pair for pair, (tid, _) in state.tag_options.items()}
    for (kind, cid), pairs in _desired_resource_tag_options(catalog).items():
        live = state.portfolios.get(cid) if kind == "portfolio" else state.products.get(cid)
        live_ids = live.tag_option_ids if live else set()
        current = {by_id[tid] for tid in live_ids if tid in by_id}
        for key, value in sorted(pairs - current):
            yield AssociateTagOption(
                kind=kind, cid=cid, key=key, value=value, detail=f"{key}={value}", new={key: value}
            )
        if live is None:
            continue
        for tid in sorted(live_ids):
            pair = by_id.get(tid)
            if pair is not None and pair in pairs:
                continue
            yield DisassociateTagOption(
                kind=kind,
                cid=cid,
                resource_aws_id=live.id,
                tag_option_id=tid,
                detail=f"{pair[0]}={pair[1]}" if pair else tid,
                old={pair[0]: pair[1]} if pair else tid,
            )


def _share_changes(catalog: Catalog, state: LiveState) -> Iterator[Step]:
    for config in catalog.portfolios:
        live = state.portfolios.get(config.id)
        desired = _desired_shares(config)
        for key, flags in desired.items():
            yield from _share_change(config, live, key, flags)
        for (share_type, principal), current in sorted((live.shares if live else {}).items()):
            if (share_type, principal) not in desired:
                yield DeleteShare(
                    portfolio=config.id,
                    share_type=share_type,
                    principal=principal,
                    detail="not in the portfolio's sharing",
                    old={"ShareTagOptions": current.share_tag_options},
                )


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


def _share_change(
    config: Portfolio, live: LivePortfolio | None, key: tuple[str, str], flags: dict[str, bool]
) -> Iterator[Step]:
    current: LiveShare | None = live.shares.get(key) if live else None
    common = {
        "portfolio": config.id,
        "share_type": key[0],
        "principal": key[1],
        "share_tag_options": flags["ShareTagOptions"],
        "share_principals": flags.get("SharePrincipals", False),
    }
    if current is None:
        yield CreateShare(**common, new=flags)
        return
    old = {"ShareTagOptions": current.share_tag_options}
    if "SharePrincipals" in flags:
        old["SharePrincipals"] = current.share_principals
    if old != flags:
        detail = ", ".join(f"{k}: {old[k]} -> {v}" for k, v in flags.items() if old[k] != v)
        yield UpdateShare(**common, detail=detail, old=old, new=flags)


# --- orphans and prune ----------------------------------------------------------------------


def _in_use_text(state: LiveState, product_ids: set[str]) -> str | None:
    names = sorted({name for pid in product_ids for name in state.in_use.get(pid, [])})
    if not names:
        return None
    shown = ", ".join(names[:IN_USE_SHOWN]) + (" ..." if len(names) > IN_USE_SHOWN else "")
    return (
        f"refused: {len(names)} provisioned product(s) still use it ({shown}); "
        "terminate them (or update them to another product), then --prune again"
    )


def _orphan_portfolio_changes(state: LiveState, prune: bool) -> Iterator[Step]:
    for cid, live in sorted(state.orphan_portfolios.items()):
        if not prune:
            yield Orphan(kind="portfolio", cid=cid, detail="not in catalog; --prune removes it")
            continue
        # Conservative: the launch path of every provisioned product of its products may be
        # this portfolio (ProvisionedProductAttribute carries no path; botocore model).
        refused = _in_use_text(state, live.product_ids)
        if refused:
            yield Refused(kind="portfolio", cid=cid, detail=refused)
            continue
        yield DeletePortfolio(
            portfolio=cid,
            portfolio_aws_id=live.id,
            tag_option_ids=tuple(sorted(live.tag_option_ids)),
            detail="prune: its shares, principals, constraints and products' associations first",
            old={"DisplayName": live.display_name},
        )


def _orphan_product_changes(state: LiveState, prune: bool) -> Iterator[Step]:
    for cid, live in sorted(state.orphans.items()):
        if not prune:
            yield Orphan(kind="product", cid=cid, detail="not in catalog; --prune removes it")
            continue
        refused = _in_use_text(state, {live.id})
        if refused:
            yield Refused(kind="product", cid=cid, detail=refused)
            continue
        # Apply detaches it from every portfolio that still holds it (ListPortfoliosForProduct),
        # so a product left behind by an interrupted prune is deleted too.
        yield DeleteProduct(
            product=cid,
            product_aws_id=live.id,
            tag_option_ids=tuple(sorted(live.tag_option_ids)),
            detail="prune",
            old={"Name": live.name},
        )
