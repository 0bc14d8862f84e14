"""The steps of a publish plan: one small frozen dataclass per kind of change.

A step knows what it is (`resource`, `detail`, `old` -> `new`: for people and for
`--output json`), which catalog resources it touches (`refs`: a step is skipped when one of
them failed to be created earlier in the run) and what it creates (`creates`), and how to
apply itself (`apply(ctx)`). The planner (`factory.publish.plan`) builds them from the desired
and the live state; `factory.publish.apply` runs them in order.

Catalog resources are named by catalog id (`portfolio:<id>`, `product:<id>`,
`tag-option:<key>=<value>`); `apply` resolves them to AWS ids through the context, so a step
can name a resource an earlier step of the same run creates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from factory.aws import (
    DIGEST_PREFIX,
    FINGERPRINT_MARK,
    TAG_PORTFOLIO,
    TAG_PRODUCT,
    error_code,
    pages,
    tag_list,
    template_key,
    timestamp,
    version_name,
)
from factory.change import Change
from factory.portfolio import Product
from factory.publish import context
from factory.publish.context import (
    NOT_FOUND,
    ApplyFailed,
    Context,
    ShareFailed,
    create_checked,
    ignore_codes,
    retry_not_found,
)
from factory.publish.state import (
    NODE_FOR_SHARE_TYPE,
    SHARE_TYPES,
    LiveArtifact,
    read_shares,
    version_order,
    versions_fingerprint,
)

SHARE_POLL_MAX_S = 5.0
SHARE_TIMEOUT_S = 900.0
#: A new version must be AVAILABLE before older ones are deprecated (CreateProvisioningArtifact
#: answers Status CREATING/AVAILABLE/FAILED, botocore model).
AVAILABLE_TIMEOUT_S = 60.0
#: DeleteProvisioningArtifact refuses versions in use (API reference: ResourceInUseException;
#: some answers use InvalidParametersException).
IN_USE = ("ResourceInUseException", "InvalidParametersException")


@dataclass(frozen=True, kw_only=True)
class Step(Change):
    """One planned change. Subclasses set `action` and implement `resource` and `apply`;
    `describe` and `as_dict` (the `--output json` shape) come from factory.change."""

    action: ClassVar[str] = ""
    #: an informational step (an orphan left alone, a refused prune) is shown, never applied
    informational: ClassVar[bool] = False
    detail: str = field(default="", compare=False)
    #: values before and after: a field -> value mapping, a tag mapping, constraint
    #: parameters, share flags; None where there is nothing before (create) or after (delete)
    old: Any = field(default=None, compare=False)
    new: Any = field(default=None, compare=False)

    @property
    def resource(self) -> str:
        raise NotImplementedError

    def refs(self) -> frozenset[str]:
        """Catalog resources this step names; it is skipped when one failed to be created."""
        return frozenset()

    def creates(self) -> frozenset[str]:
        """Catalog resources missing when this step fails (later steps naming them skip)."""
        return frozenset()

    def apply(self, ctx: Context) -> None:
        raise NotImplementedError


def _portfolio(cid: str) -> str:
    return f"portfolio:{cid}"


def _product(cid: str) -> str:
    return f"product:{cid}"


def _tag_option(key: str, value: str) -> str:
    return f"tag-option:{key}={value}"


# --- informational --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Orphan(Step):
    """A resource carrying our tag that the catalog no longer names, left alone."""

    action: ClassVar[str] = "orphan"
    informational: ClassVar[bool] = True
    kind: str
    cid: str

    @property
    def resource(self) -> str:
        return f"{self.kind} {self.cid}"


@dataclass(frozen=True, kw_only=True)
class Refused(Orphan):
    """A prune the publisher refuses (e.g. provisioned products still use the product)."""

    action: ClassVar[str] = "refuse"


# --- portfolios -----------------------------------------------------------------------------


def portfolio_tags(config: Any) -> dict[str, str]:
    return {**config.tags, TAG_PORTFOLIO: config.id}


def product_tags(product: Product) -> dict[str, str]:
    return {**product.tags, TAG_PRODUCT: product.id}


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


@dataclass(frozen=True, kw_only=True)
class CreatePortfolio(Step):
    action: ClassVar[str] = "create"
    portfolio: str

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio}"

    def refs(self) -> frozenset[str]:
        return frozenset({_portfolio(self.portfolio)})

    def creates(self) -> frozenset[str]:
        return self.refs()

    def apply(self, ctx: Context) -> None:
        config = ctx.catalog.portfolio(self.portfolio)
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


@dataclass(frozen=True, kw_only=True)
class _Update(Step):
    """Fields and tags of a portfolio or product (UpdatePortfolio/UpdateProduct take both)."""

    action: ClassVar[str] = "update"
    fields: Mapping[str, str] = field(default_factory=dict)
    add_tags: Mapping[str, str] = field(default_factory=dict)
    remove_tags: tuple[str, ...] = ()

    def params(self, resource_id: str) -> dict[str, Any]:
        params: dict[str, Any] = {"Id": resource_id, **self.fields}
        if self.add_tags:
            params["AddTags"] = tag_list(dict(self.add_tags))
        if self.remove_tags:
            params["RemoveTags"] = list(self.remove_tags)
        return params


@dataclass(frozen=True, kw_only=True)
class UpdatePortfolio(_Update):
    portfolio: str

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio}"

    def refs(self) -> frozenset[str]:
        return frozenset({_portfolio(self.portfolio)})

    def apply(self, ctx: Context) -> None:
        params = self.params(ctx.portfolio_ids[self.portfolio])
        ctx.mutate(ctx.clients.sc.update_portfolio, **params)


# --- TagOptions -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateTagOption(Step):
    action: ClassVar[str] = "create"
    key: str
    value: str

    @property
    def resource(self) -> str:
        return f"tag-option {self.key}={self.value}"

    def refs(self) -> frozenset[str]:
        return frozenset({_tag_option(self.key, self.value)})

    def creates(self) -> frozenset[str]:
        return self.refs()

    def apply(self, ctx: Context) -> None:
        """CreateTagOption takes no token: on a duplicate (earlier interrupted run) look it up."""
        pair = (self.key, self.value)
        try:
            response = ctx.mutate(ctx.clients.sc.create_tag_option, Key=self.key, Value=self.value)
            ctx.tag_option_ids[pair] = response["TagOptionDetail"]["Id"]
        except ClientError as exc:
            if error_code(exc) != "DuplicateResourceException":
                raise
            found = retry_not_found(lambda: self._find(ctx))
            ctx.tag_option_ids[pair] = found

    def _find(self, ctx: Context) -> str:
        """The existing TagOption; lists can lag a create (eventual consistency)."""
        found = ctx.clients.sc.list_tag_options(Filters={"Key": self.key, "Value": self.value})
        for detail in found.get("TagOptionDetails", []):
            if (detail["Key"], detail["Value"]) == (self.key, self.value):
                return str(detail["Id"])
        raise ApplyFailed(
            f"TagOption {self.key}={self.value} exists (DuplicateResourceException) but is not "
            "listed yet; re-run"
        )


@dataclass(frozen=True, kw_only=True)
class ActivateTagOption(CreateTagOption):
    action: ClassVar[str] = "update"

    def creates(self) -> frozenset[str]:
        return frozenset()

    def apply(self, ctx: Context) -> None:
        tag_option_id = ctx.tag_option_ids[(self.key, self.value)]
        ctx.mutate(ctx.clients.sc.update_tag_option, Id=tag_option_id, Active=True)


def _resource_id(ctx: Context, kind: str, cid: str) -> str:
    return ctx.portfolio_ids[cid] if kind == "portfolio" else ctx.product_ids[cid]


@dataclass(frozen=True, kw_only=True)
class AssociateTagOption(Step):
    action: ClassVar[str] = "associate"
    kind: str  # "portfolio" | "product"
    cid: str
    key: str
    value: str

    @property
    def resource(self) -> str:
        return f"{self.kind} {self.cid} tag-option"

    def refs(self) -> frozenset[str]:
        return frozenset({f"{self.kind}:{self.cid}", _tag_option(self.key, self.value)})

    def apply(self, ctx: Context) -> None:
        ignore_codes(
            lambda: ctx.mutate(
                ctx.clients.sc.associate_tag_option_with_resource,
                ResourceId=_resource_id(ctx, self.kind, self.cid),
                TagOptionId=ctx.tag_option_ids[(self.key, self.value)],
            ),
            "DuplicateResourceException",
        )


@dataclass(frozen=True, kw_only=True)
class DisassociateTagOption(Step):
    action: ClassVar[str] = "disassociate"
    kind: str
    cid: str
    resource_aws_id: str
    tag_option_id: str

    @property
    def resource(self) -> str:
        return f"{self.kind} {self.cid} tag-option"

    def apply(self, ctx: Context) -> None:
        disassociate_tag_option(ctx, self.resource_aws_id, self.tag_option_id)


def disassociate_tag_option(ctx: Context, resource_aws_id: str, tag_option_id: str) -> None:
    ignore_codes(
        lambda: ctx.mutate(
            ctx.clients.sc.disassociate_tag_option_from_resource,
            ResourceId=resource_aws_id,
            TagOptionId=tag_option_id,
        ),
        NOT_FOUND,
    )


# --- templates, products, versions ----------------------------------------------------------


def version_description(digest: str, fingerprint: str | None = None) -> str:
    """`sha256:<digest>[ versions:<fingerprint>]`: the fingerprint of the version policy last
    enforced lives on the current version, where it propagates nowhere (product tags reach
    every provisioned product's resources: API reference, Tag data type)."""
    text = f"{DIGEST_PREFIX}{digest}"
    return f"{text} {FINGERPRINT_MARK}{fingerprint}" if fingerprint else text


def initial_version_description(product: Product, digest: str) -> str:
    return version_description(digest, versions_fingerprint(product.version_policy, [digest]))


def _artifact_parameters(
    ctx: Context, product: str, digest: str, description: str | None = None
) -> dict[str, Any]:
    return {
        "Name": version_name(digest),
        "Description": description or version_description(digest),
        "Info": {"LoadTemplateFromURL": ctx.template_url(product, digest)},
        "Type": "CLOUD_FORMATION_TEMPLATE",
    }


@dataclass(frozen=True, kw_only=True)
class UploadTemplate(Step):
    """Templates go to `<product-id>/<sha256>.yaml`, never overwritten (HeadObject first)."""

    action: ClassVar[str] = "upload"
    product: str
    digest: str

    @property
    def resource(self) -> str:
        return f"template {self.product}"

    def refs(self) -> frozenset[str]:
        return frozenset({_product(self.product)})

    def apply(self, ctx: Context) -> None:
        s3, bucket = ctx.clients.s3, ctx.template_bucket()
        key = template_key(self.product, self.digest)
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return  # content-addressed: an existing object is the same template
        except ClientError as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise
        body = Path(ctx.catalog.template_path(self.product)).read_bytes()
        ctx.mutate(
            s3.put_object, Bucket=bucket, Key=key, Body=body, ContentType="application/x-yaml"
        )


@dataclass(frozen=True, kw_only=True)
class CreateProduct(Step):
    action: ClassVar[str] = "create"
    product: str
    digest: str

    @property
    def resource(self) -> str:
        return f"product {self.product}"

    def refs(self) -> frozenset[str]:
        return frozenset({_product(self.product)})

    def creates(self) -> frozenset[str]:
        return self.refs()

    def apply(self, ctx: Context) -> None:
        product = ctx.catalog.products[self.product]
        params: dict[str, Any] = {k: v for k, v in product_fields(product).items() if v}
        description = initial_version_description(product, self.digest)
        params |= {
            "ProductType": "CLOUD_FORMATION_TEMPLATE",
            "Tags": tag_list(product_tags(product)),
            "ProvisioningArtifactParameters": _artifact_parameters(
                ctx, product.id, self.digest, description
            ),
        }
        sc = ctx.clients.sc
        response = create_checked(
            ctx,
            sc.create_product,
            params,
            ["product", product.id, self.digest],
            lambda r: str(r["ProductViewDetail"]["ProductViewSummary"]["ProductId"]),
            lambda rid: sc.describe_product_as_admin(Id=rid),
        )
        summary = response["ProductViewDetail"]["ProductViewSummary"]
        ctx.product_ids[product.id] = summary["ProductId"]


@dataclass(frozen=True, kw_only=True)
class UpdateProduct(_Update):
    product: str

    @property
    def resource(self) -> str:
        return f"product {self.product}"

    def refs(self) -> frozenset[str]:
        return frozenset({_product(self.product)})

    def apply(self, ctx: Context) -> None:
        params = self.params(ctx.product_ids[self.product])
        ctx.mutate(ctx.clients.sc.update_product, **params)


@dataclass(frozen=True, kw_only=True)
class CreateVersion(Step):
    """The token also covers the existing versions: a digest whose version was deleted since
    must create a new version, not replay the old (deleted) one. At the versions quota
    (LimitExceededException, not retried: aws.NOT_RETRIED) room is made first. A new
    version is AVAILABLE before any older one is deprecated or deactivated."""

    action: ClassVar[str] = "create"
    product: str
    digest: str
    existing: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"product {self.product} version"

    def refs(self) -> frozenset[str]:
        return frozenset({_product(self.product)})

    def creates(self) -> frozenset[str]:
        return self.refs()

    def apply(self, ctx: Context) -> None:
        product_id = ctx.product_ids[self.product]
        inputs: list[Any] = [self.product, self.digest, list(self.existing)]
        try:
            artifact_id = self._create(ctx, product_id, inputs)
        except ClientError as exc:
            if error_code(exc) != "LimitExceededException":
                raise
            freed = make_room(ctx, product_id, self.product)
            artifact_id = self._create(ctx, product_id, [*inputs, "room", freed])
        ctx.created_versions[self.product] = artifact_id
        wait_available(ctx, product_id, artifact_id)

    def _create(self, ctx: Context, product_id: str, inputs: list[Any]) -> str:
        sc = ctx.clients.sc
        response = create_checked(
            ctx,
            sc.create_provisioning_artifact,
            {
                "ProductId": product_id,
                "Parameters": _artifact_parameters(ctx, self.product, self.digest),
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
        key=lambda a: (bool(a.get("Active", True)), timestamp(a.get("CreatedTime"))),
    )
    for artifact in candidates:
        try:
            ctx.mutate(
                ctx.clients.sc.delete_provisioning_artifact,
                ProductId=product_id,
                ProvisioningArtifactId=artifact["Id"],
            )
        except ClientError as exc:
            if error_code(exc) not in IN_USE:
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


def wait_available(ctx: Context, product_id: str, artifact_id: str) -> None:
    """Bounded wait for Status AVAILABLE (DescribeProvisioningArtifact, botocore model)."""
    deadline = context.monotonic() + AVAILABLE_TIMEOUT_S
    delay = 0.05
    while True:
        status = retry_not_found(
            lambda: ctx.clients.sc.describe_provisioning_artifact(
                ProductId=product_id, ProvisioningArtifactId=artifact_id
            )
        ).get("Status", "AVAILABLE")
        if status == "AVAILABLE":
            return
        if status == "FAILED" or context.monotonic() > deadline:
            raise ApplyFailed(
                f"new version {artifact_id} is {status}, not AVAILABLE; older versions were "
                "left as they are; check the template and re-run"
            )
        context.sleep(delay)
        delay = min(delay * 2, 2.0)


@dataclass(frozen=True, kw_only=True)
class _VersionStep(Step):
    product: str
    artifact: str

    @property
    def resource(self) -> str:
        return f"product {self.product} version {self.artifact}"

    def refs(self) -> frozenset[str]:
        return frozenset({_product(self.product)})

    def deleted_already(self, ctx: Context) -> bool:
        """Making room at the quota may have deleted a version the plan meant to change."""
        return self.artifact in ctx.deleted_versions.get(self.product, set())


@dataclass(frozen=True, kw_only=True)
class UpdateVersion(_VersionStep):
    action: ClassVar[str] = "update"
    active: bool
    guidance: str | None = None

    def apply(self, ctx: Context) -> None:
        if self.deleted_already(ctx):
            return
        params: dict[str, Any] = {
            "ProductId": ctx.product_ids[self.product],
            "ProvisioningArtifactId": self.artifact,
            "Active": self.active,
        }
        if self.guidance:
            params["Guidance"] = self.guidance
        ctx.mutate(ctx.clients.sc.update_provisioning_artifact, **params)


@dataclass(frozen=True, kw_only=True)
class DeleteVersion(_VersionStep):
    """A version in use by provisioned products cannot be deleted: deactivate it instead
    (Active=false blocks new launches and updates to it), so it never stays DEPRECATED."""

    action: ClassVar[str] = "delete"
    active: bool | None = None

    def apply(self, ctx: Context) -> None:
        product_id = ctx.product_ids[self.product]
        if self.deleted_already(ctx):
            return
        try:
            ctx.mutate(
                ctx.clients.sc.delete_provisioning_artifact,
                ProductId=product_id,
                ProvisioningArtifactId=self.artifact,
            )
        except ClientError as exc:
            if error_code(exc) not in IN_USE:
                raise
            ctx.warnings.append(f"version {self.artifact} kept (in use), deactivated")
            if self.active is not False:
                ctx.mutate(
                    ctx.clients.sc.update_provisioning_artifact,
                    ProductId=product_id,
                    ProvisioningArtifactId=self.artifact,
                    Active=False,
                )
            return
        ctx.deleted_versions.setdefault(self.product, set()).add(self.artifact)


@dataclass(frozen=True, kw_only=True)
class RecordVersions(Step):
    """Write the fingerprint the next plan will compute into the current version's
    description, from what is live now (minus what this run deleted)."""

    action: ClassVar[str] = "record"
    product: str
    digest: str

    @property
    def resource(self) -> str:
        return f"product {self.product} version sha256:{self.digest[:12]}"

    def refs(self) -> frozenset[str]:
        return frozenset({_product(self.product)})

    def apply(self, ctx: Context) -> None:
        product = ctx.catalog.products[self.product]
        product_id = ctx.product_ids[self.product]
        described = ctx.clients.sc.describe_product_as_admin(Id=product_id)
        gone = ctx.deleted_versions.get(self.product, set())
        artifacts = [
            LiveArtifact(a["Id"], a.get("Description", ""), a.get("CreatedTime", 0.0))
            for a in described.get("ProvisioningArtifactSummaries", [])
            if a["Id"] not in gone
        ]
        current_id = ctx.created_versions.get(self.product)
        if current_id and all(a.id != current_id for a in artifacts):
            artifacts.append(
                LiveArtifact(current_id, version_description(self.digest), time.time())
            )
        current = next((a for a in artifacts if a.key == self.digest), None)
        if current is None:
            raise ApplyFailed(f"no version of template sha256:{self.digest[:12]} found; re-run")
        keys = [a.key for a in version_order(artifacts, self.digest)]
        fingerprint = versions_fingerprint(product.version_policy, keys)
        wanted = version_description(self.digest, fingerprint)
        if current.description != wanted:
            ctx.mutate(
                ctx.clients.sc.update_provisioning_artifact,
                ProductId=product_id,
                ProvisioningArtifactId=current.id,
                Description=wanted,
            )


# --- associations and constraints -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AssociateProduct(Step):
    action: ClassVar[str] = "associate"
    portfolio: str
    product: str

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio} product {self.product}"

    def refs(self) -> frozenset[str]:
        return frozenset({_portfolio(self.portfolio), _product(self.product)})

    def apply(self, ctx: Context) -> None:
        product_id = ctx.product_ids[self.product]
        portfolio_id = ctx.portfolio_ids[self.portfolio]
        ctx.mutate(
            ctx.clients.sc.associate_product_with_portfolio,
            ProductId=product_id,
            PortfolioId=portfolio_id,
        )
        # Reads right after an association can answer ResourceNotFound (aws/aws-cdk#20810):
        # the constraints created next retry it.
        ctx.created.update((product_id, portfolio_id))


@dataclass(frozen=True, kw_only=True)
class DisassociateProduct(Step):
    action: ClassVar[str] = "disassociate"
    portfolio: str
    label: str
    portfolio_aws_id: str
    product_aws_id: str

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio} product {self.label}"

    def apply(self, ctx: Context) -> None:
        disassociate_product(ctx, self.portfolio_aws_id, self.product_aws_id)


def disassociate_product(ctx: Context, portfolio_aws_id: str, product_aws_id: str) -> None:
    ignore_codes(
        lambda: ctx.mutate(
            ctx.clients.sc.disassociate_product_from_portfolio,
            ProductId=product_aws_id,
            PortfolioId=portfolio_aws_id,
        ),
        NOT_FOUND,
    )


@dataclass(frozen=True, kw_only=True)
class CreateConstraint(Step):
    action: ClassVar[str] = "create"
    portfolio: str
    product: str
    type: str
    parameters: str
    description: str

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio} product {self.product} constraint {self.type}"

    def refs(self) -> frozenset[str]:
        return frozenset({_portfolio(self.portfolio), _product(self.product)})

    def apply(self, ctx: Context) -> None:
        portfolio_id = ctx.portfolio_ids[self.portfolio]
        product_id = ctx.product_ids[self.product]
        sc = ctx.clients.sc
        ignore_codes(
            lambda: create_checked(
                ctx,
                sc.create_constraint,
                {
                    "PortfolioId": portfolio_id,
                    "ProductId": product_id,
                    "Type": self.type,
                    "Parameters": self.parameters,
                    "Description": self.description,
                },
                [portfolio_id, product_id, self.type, self.parameters],
                lambda r: str(r["ConstraintDetail"]["ConstraintId"]),
                lambda rid: sc.describe_constraint(Id=rid),
            ),
            "DuplicateResourceException",
        )


@dataclass(frozen=True, kw_only=True)
class UpdateConstraint(CreateConstraint):
    action: ClassVar[str] = "update"
    constraint_id: str

    def apply(self, ctx: Context) -> None:
        ctx.mutate(
            ctx.clients.sc.update_constraint,
            Id=self.constraint_id,
            Parameters=self.parameters,
            Description=self.description,
        )


@dataclass(frozen=True, kw_only=True)
class DeleteConstraint(Step):
    action: ClassVar[str] = "delete"
    portfolio: str
    label: str
    type: str
    constraint_id: str

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio} product {self.label} constraint {self.type}"

    def apply(self, ctx: Context) -> None:
        delete_constraint(ctx, self.constraint_id)


def delete_constraint(ctx: Context, constraint_id: str) -> None:
    ignore_codes(lambda: ctx.mutate(ctx.clients.sc.delete_constraint, Id=constraint_id), NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class AssociatePrincipal(Step):
    action: ClassVar[str] = "associate"
    portfolio: str
    arn: str
    type: str

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio} principal"

    def refs(self) -> frozenset[str]:
        return frozenset({_portfolio(self.portfolio)})

    def apply(self, ctx: Context) -> None:
        ctx.mutate(
            ctx.clients.sc.associate_principal_with_portfolio,
            PortfolioId=ctx.portfolio_ids[self.portfolio],
            PrincipalARN=self.arn,
            PrincipalType=self.type,
        )


@dataclass(frozen=True, kw_only=True)
class DisassociatePrincipal(AssociatePrincipal):
    action: ClassVar[str] = "disassociate"

    def apply(self, ctx: Context) -> None:
        disassociate_principal(ctx, ctx.portfolio_ids[self.portfolio], self.arn, self.type)


def disassociate_principal(ctx: Context, portfolio_aws_id: str, arn: str, kind: str) -> None:
    ignore_codes(
        lambda: ctx.mutate(
            ctx.clients.sc.disassociate_principal_from_portfolio,
            PortfolioId=portfolio_aws_id,
            PrincipalARN=arn,
            PrincipalType=kind,
        ),
        NOT_FOUND,
    )


# --- shares ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _ShareStep(Step):
    """`share_type` is DescribePortfolioShares' Type (ACCOUNT, ORGANIZATION,
    ORGANIZATIONAL_UNIT, ORGANIZATION_MEMBER_ACCOUNT); `principal` the account or node id."""

    portfolio: str
    share_type: str
    principal: str

    @property
    def resource(self) -> str:
        kind = (
            "account" if self.share_type == "ACCOUNT" else NODE_FOR_SHARE_TYPE[self.share_type]
        ).lower()
        return f"portfolio {self.portfolio} share {kind} {self.principal}"

    def refs(self) -> frozenset[str]:
        return frozenset({_portfolio(self.portfolio)})

    def target(self) -> dict[str, Any]:
        if self.share_type == "ACCOUNT":
            return {"AccountId": self.principal}
        node = {"Type": NODE_FOR_SHARE_TYPE[self.share_type], "Value": self.principal}
        return {"OrganizationNode": node}


@dataclass(frozen=True, kw_only=True)
class CreateShare(_ShareStep):
    """Organization-node shares run one at a time per portfolio: a portfolio accepts a new
    share action only once the previous one left IN_PROGRESS (DescribePortfolioShareStatus)."""

    action: ClassVar[str] = "share"
    share_tag_options: bool
    share_principals: bool = False

    def apply(self, ctx: Context) -> None:
        self._send(ctx, ctx.clients.sc.create_portfolio_share)

    def _send(self, ctx: Context, call: Callable[..., dict[str, Any]]) -> None:
        params: dict[str, Any] = {
            "PortfolioId": ctx.portfolio_ids[self.portfolio],
            "ShareTagOptions": self.share_tag_options,
            **self.target(),
        }
        if "OrganizationNode" in params:  # SharePrincipals: organization shares only
            params["SharePrincipals"] = self.share_principals
        response = retry_busy(lambda: ctx.mutate(call, **params))
        token = response.get("PortfolioShareToken")
        if token:  # only organization-node shares answer a token (API reference)
            wait_for_share(ctx, token)


@dataclass(frozen=True, kw_only=True)
class UpdateShare(CreateShare):
    action: ClassVar[str] = "update"

    def apply(self, ctx: Context) -> None:
        self._send(ctx, ctx.clients.sc.update_portfolio_share)


@dataclass(frozen=True, kw_only=True)
class DeleteShare(_ShareStep):
    """DeletePortfolioShare takes AccountId or OrganizationNode (API reference); organization
    node deletions answer a PortfolioShareToken to poll like creates."""

    action: ClassVar[str] = "unshare"

    def apply(self, ctx: Context) -> None:
        delete_share(ctx, ctx.portfolio_ids[self.portfolio], self.target())


def delete_share(ctx: Context, portfolio_aws_id: str, target: dict[str, Any]) -> None:
    params = {"PortfolioId": portfolio_aws_id, **target}
    response = ignore_codes(
        lambda: retry_busy(lambda: ctx.mutate(ctx.clients.sc.delete_portfolio_share, **params)),
        NOT_FOUND,
    )
    token = (response or {}).get("PortfolioShareToken")
    if token:
        wait_for_share(ctx, token)


def retry_busy(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A share action still IN_PROGRESS (e.g. from an interrupted run) blocks the next one."""
    delay, waited = 1.0, 0.0
    while True:
        try:
            return action()
        except ClientError as exc:
            if error_code(exc) != "InvalidStateException" or waited > SHARE_TIMEOUT_S:
                raise
        context.sleep(delay)
        waited += delay
        delay = min(delay * 2, SHARE_POLL_MAX_S)


def wait_for_share(ctx: Context, token: str) -> None:
    """Poll DescribePortfolioShareStatus. COMPLETED_WITH_ERRORS is a failure: some nodes were
    not shared, and ShareDetails.ShareErrors says which and why (botocore model, ShareStatus
    and ShareDetails)."""
    delay, waited = 0.0, 0.0
    while waited <= SHARE_TIMEOUT_S:
        context.sleep(delay)
        waited += delay
        status = ctx.clients.sc.describe_portfolio_share_status(PortfolioShareToken=token)
        if status["Status"] == "COMPLETED":
            return
        if status["Status"] in ("ERROR", "COMPLETED_WITH_ERRORS"):
            raise ShareFailed(f"{status['Status']}: {share_errors(status)}")
        delay = min(max(delay * 2, 0.25), SHARE_POLL_MAX_S)
    raise ShareFailed(f"share {token} still in progress after {SHARE_TIMEOUT_S:.0f}s")


def share_errors(status: dict[str, Any]) -> str:
    details = status.get("ShareDetails") or {}
    errors = [
        f"{', '.join(e.get('Accounts') or ['?'])}: {e.get('Error', '')} {e.get('Message', '')}"
        for e in details.get("ShareErrors") or []
    ]
    return "; ".join(e.strip() for e in errors) or json.dumps(details, default=str)


# --- prune ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DeleteProduct(Step):
    """Detach the product from every portfolio still holding it (constraints first), and from
    its TagOptions, then delete it: DeleteProduct refuses products associated with a portfolio
    (API reference, DeleteProduct; ResourceInUseException). Portfolios are listed at apply
    time, so a product left behind by an interrupted prune is finished too."""

    action: ClassVar[str] = "delete"
    product: str
    product_aws_id: str
    tag_option_ids: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"product {self.product}"

    def apply(self, ctx: Context) -> None:
        sc, product_id = ctx.clients.sc, self.product_aws_id
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
                delete_constraint(ctx, constraint["ConstraintId"])
            disassociate_product(ctx, portfolio["Id"], product_id)
        for tag_option_id in self.tag_option_ids:
            disassociate_tag_option(ctx, product_id, tag_option_id)
        ignore_codes(lambda: ctx.mutate(sc.delete_product, Id=product_id), NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class DeletePortfolio(Step):
    """Empty the portfolio, then delete it. DeletePortfolio refuses a portfolio "if it was
    shared with you or if it has associated products, users, constraints, or shared accounts"
    (API reference, DeletePortfolio), so everything attached is read and removed at apply
    time (an interrupted prune is finished by the next run): shares of every type, principals,
    constraints and products, TagOptions."""

    action: ClassVar[str] = "delete"
    portfolio: str
    portfolio_aws_id: str
    tag_option_ids: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"portfolio {self.portfolio}"

    def apply(self, ctx: Context) -> None:
        sc, pid = ctx.clients.sc, self.portfolio_aws_id
        for share_type in SHARE_TYPES:
            for principal in read_shares(ctx.clients, pid, share_type):
                target = _ShareStep(portfolio="", share_type=share_type, principal=principal)
                delete_share(ctx, pid, target.target())
        for principal in pages(sc, "list_principals_for_portfolio", "Principals", PortfolioId=pid):
            disassociate_principal(ctx, pid, principal["PrincipalARN"], principal["PrincipalType"])
        for constraint in pages(
            sc, "list_constraints_for_portfolio", "ConstraintDetails", PortfolioId=pid
        ):
            delete_constraint(ctx, constraint["ConstraintId"])
        for view in pages(sc, "search_products_as_admin", "ProductViewDetails", PortfolioId=pid):
            disassociate_product(ctx, pid, view["ProductViewSummary"]["ProductId"])
        for tag_option_id in self.tag_option_ids:
            disassociate_tag_option(ctx, pid, tag_option_id)
        ignore_codes(lambda: ctx.mutate(sc.delete_portfolio, Id=pid), NOT_FOUND)


def step_types() -> list[type[Step]]:
    """Every concrete step class (the persona-operations test checks each one runs)."""
    found: list[type[Step]] = []
    pending = list(Step.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__name__.startswith("_") and not cls.informational:
            found.append(cls)
    return sorted(set(found), key=lambda c: c.__name__)
