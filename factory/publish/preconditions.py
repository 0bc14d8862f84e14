"""What must hold before `publish` writes anything in a region, each failure naming its fix.

Checked in this order, all before the first write (issue 9):
1. the environment file has no sample placeholder left (`placeholders`): no AWS call;
2. the caller is in the account the environment names (`accounts.catalog` vs
   STS GetCallerIdentity); `--skip-environment-check` skips 1 and 2 (local AWS, sandboxes);
3. the template bucket: named by `--bucket` or by the bootstrap stack's SSM parameter, it
   exists and is in the region published to (HeadBucket answers its region: botocore's S3
   model, HeadBucketOutput.BucketRegion);
4. the templates about to be uploaded are what the generators emit (generated products) or
   at least a parseable CloudFormation template (custom ones);
5. the plan stays within the Service Catalog quotas (FIELD-NOTES, "Quotas and API facts";
   Service Catalog Administrator Guide, "AWS Service Catalog default service quotas"):
   they are adjustable, so `--skip-quota-check` trusts a raised quota.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from factory.aws import Clients, error_code
from factory.naming import TEMPLATE_BUCKET_SSM_PARAMETER
from factory.portfolio import Catalog
from factory.publish.plan import PreconditionFailed
from factory.publish.state import LiveState
from factory.publish.steps import (
    CreatePortfolio,
    CreateProduct,
    DeletePortfolio,
    DeleteProduct,
    Step,
    UploadTemplate,
)

BOOTSTRAP_FIX = (
    'deploy the bootstrap stack (launch/studio-catalog-bootstrap.yaml, README "Launch") '
    "in this account and region, or pass --bucket"
)


# --- 1. placeholders ------------------------------------------------------------------------

#: Values nobody can own: accounts of one repeated digit (the samples' 111111111111 ...),
#: OU ids with a repeated-digit suffix, and the domains RFC 2606 reserves for examples.
_PLACEHOLDER = re.compile(
    r"^(\d)\1{11}$|^ou-[a-z0-9]{4}-(\d)\2{7}$|(^|[@./])example\.(com|org|net)(/|$)"
)


def placeholders(catalog: Catalog) -> list[str]:
    """`<file>: <key>: <value>` for every environment value still a sample placeholder."""
    env = catalog.environment
    values: dict[str, Any] = {
        **{f"accounts.{k}": v for k, v in env.accounts.items()},
        **{f"values.{k}": v for k, v in env.values.items()},
    }
    return [
        f"{catalog.environment_file}: {key}: {value!r}"
        for key, value in values.items()
        if isinstance(value, str) and _PLACEHOLDER.search(value)
    ]


def check_environment(clients: Clients, catalog: Catalog) -> None:
    found = placeholders(catalog)
    if found:
        raise PreconditionFailed(
            f"the environment still has sample placeholder values ({'; '.join(found)}); "
            "REPLACE them with your organization's (or pass --skip-environment-check for "
            "local AWS)"
        )
    expected = catalog.environment.accounts.get("catalog")
    if not expected:
        return
    try:
        account = clients.sts.get_caller_identity()["Account"]
    except ClientError as exc:
        raise PreconditionFailed(
            f"cannot tell which account the credentials are for (STS {error_code(exc)}); "
            "check --profile / AWS_PROFILE"
        ) from exc
    if account != expected:
        raise PreconditionFailed(
            f"the credentials are for account {account}, but {catalog.environment_file} "
            f"names accounts.catalog {expected}; use --profile for the catalog account, fix "
            "accounts.catalog, or pass --skip-environment-check"
        )


# --- 3. the template bucket -------------------------------------------------------------------


def resolve_bucket(clients: Clients, bucket: str | None) -> str:
    """The bucket to upload to, checked: it exists, we may use it, it is in this region."""
    if bucket is None:
        try:
            bucket = str(
                clients.ssm.get_parameter(Name=TEMPLATE_BUCKET_SSM_PARAMETER)["Parameter"]["Value"]
            )
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                raise PreconditionFailed(
                    f"SSM parameter {TEMPLATE_BUCKET_SSM_PARAMETER} not found in "
                    f"{clients.region}; {BOOTSTRAP_FIX}"
                ) from exc
            raise PreconditionFailed(
                f"cannot read SSM parameter {TEMPLATE_BUCKET_SSM_PARAMETER} "
                f"({error_code(exc)}); check the PublisherRole, or pass --bucket"
            ) from exc
    try:
        head = clients.s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise PreconditionFailed(
                f"template bucket {bucket} does not exist; {BOOTSTRAP_FIX}"
            ) from exc
        raise PreconditionFailed(
            f"template bucket {bucket} is not usable ({code or exc}); check that the "
            "PublisherRole may use it and that it is in this account"
        ) from exc
    bucket_region = head.get("BucketRegion") or _header_region(head)
    if bucket_region and bucket_region != clients.region:
        raise PreconditionFailed(
            f"template bucket {bucket} is in {bucket_region}, not {clients.region}; pass the "
            "bucket of this region's bootstrap stack (--bucket), or omit --bucket"
        )
    return bucket


def _header_region(head: dict[str, Any]) -> str | None:
    headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    value = headers.get("x-amz-bucket-region")
    return str(value) if value else None


# --- 4. templates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateProblem:
    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def check_templates(catalog: Catalog, steps: Iterable[Step]) -> None:
    """Templates about to be uploaded: a generated one must equal its generator's output
    (a hand edit would be published, then overwritten by the next build); a custom one must
    parse as a CloudFormation template with Resources."""
    uploads = sorted({s.product for s in steps if isinstance(s, UploadTemplate)})
    if not uploads:
        return
    generated = _generated_texts(catalog, (Path(catalog.template_path(p)).stem for p in uploads))
    problems: list[TemplateProblem] = []
    for product in uploads:
        path = Path(catalog.template_path(product))
        problem = _template_problem(path, generated.get(path.name))
        if problem:
            problems.append(TemplateProblem(path, problem))
    if problems:
        raise PreconditionFailed("templates not published: " + "; ".join(str(p) for p in problems))


def _generated_texts(catalog: Catalog, names: Iterable[str]) -> dict[str, str]:
    """File name -> text of the product templates the generators emit under these names,
    with the project's committed generator options (factory-options.yaml, as `build`
    reads them); only those generators run, no lint: cheap."""
    root = Path(catalog.templates_dir).resolve().parent
    return {f"{name}.yaml": _generated(root, name) for name in names if _is_generated(name)}


def _is_generated(name: str) -> bool:
    from factory.products import PRODUCTS

    return name in PRODUCTS


def _generated(root: Path, name: str) -> str:
    from factory.build import OptionsFileError, project_options, render
    from factory.products import PRODUCTS

    try:
        options = project_options(root).get(name)
    except OptionsFileError as exc:
        raise PreconditionFailed(f"generator options: {exc}") from exc
    # The generators are pure functions of their options (factory.build.generation_key): the
    # text is cached by options, not by project root, so another checkout or workspace with
    # the same options does not run the generator again (~0.3 s a product).
    key = (name, json.dumps(options, sort_keys=True, default=repr))
    if key not in _GENERATED:
        _GENERATED[key] = render(PRODUCTS[name](options))
    return _GENERATED[key]


_GENERATED: dict[tuple[str, str], str] = {}


def _template_problem(path: Path, expected: str | None) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"unreadable ({exc})"
    if expected is not None:
        if text != expected:
            return (
                "differs from what the generators emit (hand-edited or stale); run "
                "studio-factory build and commit the result"
            )
        return None
    if _custom_template_is_fine(text):
        return None
    return _custom_template_problem(text, str(path))


@functools.lru_cache(maxsize=64)
def _custom_template_is_fine(text: str) -> bool:
    """No problem with this custom template: a pure function of its text, cached by the text
    alone (the name only labels error messages, and the same templates are published from
    many directories) because every publish and plan re-reads the same templates (cfn-lint's
    YAML decoder is pure Python: ~0.1 s a template)."""
    return _custom_template_problem(text, "<template>") is None


def _custom_template_problem(text: str, name: str) -> str | None:
    """A custom template's problem; ``name`` labels the error messages."""
    from factory.cfn_yaml import TemplateError, load_template

    try:
        template = load_template(text, name=name)
    except TemplateError as exc:
        return f"not a CloudFormation template ({exc})"
    if not isinstance(template, dict) or not template.get("Resources"):
        return "not a CloudFormation template (no Resources)"
    return None


# --- 5. quotas --------------------------------------------------------------------------------

#: Service Catalog default quotas (FIELD-NOTES; Administrator Guide, "default service quotas").
PORTFOLIOS_PER_REGION = 100
PRODUCTS_PER_REGION = 350
PRODUCTS_PER_PORTFOLIO = 150
PRINCIPALS_PER_PORTFOLIO = 100
IAM_PATTERN_PRINCIPALS_PER_PORTFOLIO = 10


def check_quotas(catalog: Catalog, state: LiveState, steps: list[Step]) -> None:
    problems = [
        *_portfolio_quotas(catalog),
        *_region_quota(
            "portfolios",
            state.totals.get("portfolios", 0),
            steps,
            CreatePortfolio,
            DeletePortfolio,
            PORTFOLIOS_PER_REGION,
        ),
        *_region_quota(
            "products",
            state.totals.get("products", 0),
            steps,
            CreateProduct,
            DeleteProduct,
            PRODUCTS_PER_REGION,
        ),
    ]
    if problems:
        raise PreconditionFailed(
            "; ".join(problems)
            + "; request a higher quota in Service Quotas (then pass --skip-quota-check), or "
            "split the catalog"
        )


def _portfolio_quotas(catalog: Catalog) -> Iterable[str]:
    for portfolio in catalog.portfolios:
        counts = (
            (len(portfolio.products), PRODUCTS_PER_PORTFOLIO, "products"),
            (len(portfolio.principals), PRINCIPALS_PER_PORTFOLIO, "principals"),
            (
                sum(p.type == "IAM_PATTERN" for p in portfolio.principals),
                IAM_PATTERN_PRINCIPALS_PER_PORTFOLIO,
                "IAM_PATTERN principals",
            ),
        )
        for count, quota, what in counts:
            if count > quota:
                yield f"portfolio {portfolio.id}: {count} {what}, the quota is {quota}"


def _region_quota(
    what: str,
    live: int,
    steps: list[Step],
    create: type[Step],
    delete: type[Step],
    quota: int,
) -> Iterable[str]:
    after = (
        live + sum(isinstance(s, create) for s in steps) - sum(isinstance(s, delete) for s in steps)
    )
    if after > quota:
        yield f"the region would hold {after} {what} (now {live}), the quota is {quota}"
