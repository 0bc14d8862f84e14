"""Helpers of the publisher tests: the catalog YAML, the CLI, views of the stand-in's state.

The fixtures that start and reset local AWS live in tests/conftest.py; these are the plain
functions the tests call. Request counts exclude throttled attempts (see ``calls``).
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from factory.cli import cli
from factory.cli import plan as plan_cli
from factory.cli import publish as publish_cli
from factory.testing.local_aws import LocalAWS

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "studio-catalog-templates"
REGION = "us-east-1"
TEMPLATES = ("alpha", "beta", "gamma")

cli.add_command(plan_cli.command)
cli.add_command(publish_cli.command)


# --- the workspace: portfolios/, templates/ ------------------------------------------------


def catalog_yaml(
    products: list[str],
    refs: list[str] | None = None,
    *,
    display_name: str = "Studio",
    tags: str = "",
    portfolio_tag_options: bool = True,
    product_tag_options: bool = False,
    accounts: bool = True,
    ou: bool = True,
    policy: str = "keep_active: 1\n      keep_deprecated: 1",
) -> str:
    """One portfolio ``studio`` holding ``refs`` (default: every product), shared with the
    workload account and an OU (an organization-node share: management account only)."""
    refs = products if refs is None else refs
    product_defs = "".join(
        f"""
  - id: {p}
    template: {p}
    display_name: Product {p}
    owner: ML Platform team
    version_policy:
      {policy}
"""
        for p in products
    )
    ref_lines = "".join(f"\n      - product: {p}" for p in refs) or " []"
    options = []
    if portfolio_tag_options:
        options.append(
            '      - key: CostCenter\n        values: ["CC-1"]\n        attach_to: portfolio'
        )
    if product_tag_options:
        options.append(
            f'      - key: Team\n        values: ["ml"]\n        attach_to: ["{products[0]}"]'
        )
    tag_options = ("\n    tag_options:\n" + "\n".join(options)) if options else ""
    sharing = ""
    if accounts or ou:
        sharing = "\n    sharing:"
        if accounts:
            sharing += '\n      accounts: ["{{ env.accounts.workload }}"]'
        if ou:
            sharing += (
                "\n      organization_nodes:\n        - type: ORGANIZATIONAL_UNIT\n"
                "          value: ou-abcd-11111111"
            )
        sharing += "\n      share_tag_options: true"
    return f"""version: 1
products:{product_defs}
portfolios:
  - id: studio
    display_name: {display_name}
    provider_name: ML Platform team{tags}
    principals:
      - type: IAM
        arn: "arn:aws:iam::{{{{ env.accounts.catalog }}}}:role/Admin"
    products:{ref_lines}{tag_options}{sharing}
"""


def make_workspace(root: Path) -> Path:
    """``portfolios/environments/dev.yaml`` and one template per name of TEMPLATES (copies of
    the user-profile template); no catalog.yaml: each test module writes its own."""
    (root / "portfolios" / "environments").mkdir(parents=True)
    shutil.copy(ROOT / "portfolios/environments/dev.yaml", root / "portfolios/environments")
    (root / "templates").mkdir()
    source = ROOT / "templates/studio-user-profile.yaml"
    for name in TEMPLATES:
        shutil.copy(source, root / "templates" / f"{name}.yaml")
    return root


def write_catalog(root: Path, text: str) -> None:
    (root / "portfolios/catalog.yaml").write_text(text, encoding="utf-8")


def release(root: Path, n: int, products: tuple[str, ...] = ("alpha", "beta")) -> None:
    """A new template content (so a new version) for each of ``products``."""
    for name in products:
        path = root / "templates" / f"{name}.yaml"
        path.write_text(path.read_text() + f"\n# release {n}\n", encoding="utf-8")


# --- the CLI ---------------------------------------------------------------------------------


def invoke(root: Path, command: str, *extra: str, regions: tuple[str, ...] = (REGION,)) -> Any:
    args = [command, "--env", "dev"]
    for region in regions:
        args += ["--region", region]
    args += [
        "--portfolios",
        str(root / "portfolios"),
        "--templates",
        str(root / "templates"),
        "--bucket",
        BUCKET,
        # the sample environment (placeholders, account 111111111111) against moto's account
        "--skip-environment-check",
        *extra,
    ]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def publish(root: Path, *extra: str) -> Any:
    result = invoke(root, "publish", "--yes", *extra)
    assert result.exit_code == 0, result.output
    return result


# --- the stand-in's state and request log -----------------------------------------------------


def calls(aws: LocalAWS, *, mutating: bool | None = None) -> Counter[str]:
    """Requests the stand-in accepted since its last ``reset_stats``, by operation.

    ``stats()`` also counts the attempts it answered ThrottlingException (botocore retries
    them), so under the realistic mode's rates only accepted requests say what the publisher
    did."""
    return Counter(
        record.operation
        for record in aws.standin.request_log()
        if not record.throttled and (mutating is None or record.mutating == mutating)
    )


def mutating(aws: LocalAWS) -> int:
    return sum(calls(aws, mutating=True).values())


def settle(aws: LocalAWS, region_name: str = REGION) -> None:
    """Wait until everything created so far is AVAILABLE, listed and readable.

    Eventual consistency is AWS behaviour (the stand-in's realistic mode); a test that looks
    at the result of a publish through the API (a plan, a list) or that sets up state by hand
    and expects the publisher to see it at once must wait for it, as a user would."""
    state = region(aws, region_name)
    clock = aws.standin.clock
    deadlines = [*state.unsettled.values()]
    for product in state.products.values():
        deadlines.append(product.available_at)
        deadlines.extend(artifact.available_at for artifact in product.artifacts.values())
    deadlines.extend(constraint.available_at for constraint in state.constraints.values())
    wait = max(deadlines, default=0.0) - clock()
    if wait > 0:
        getattr(clock, "sleep", time.sleep)(wait + 0.01)  # conftest: a VirtualClock


def converged(aws: LocalAWS, root: Path) -> None:
    """Once AWS is consistent, a plan finds nothing to change (and writes nothing)."""
    settle(aws)
    aws.standin.reset_stats()
    result = invoke(root, "plan")
    assert result.exit_code == 0, result.output
    assert mutating(aws) == 0


def region(aws: LocalAWS, region_name: str = REGION) -> Any:
    return aws.standin.region_state(region_name)


def sc(aws: LocalAWS) -> Any:
    return aws.client("servicecatalog")


def product_named(aws: LocalAWS, name: str) -> Any:
    return next(p for p in region(aws).products.values() if p.name == name)


def only_portfolio(aws: LocalAWS) -> Any:
    portfolios = list(region(aws).portfolios.values())
    assert len(portfolios) == 1, [p.display_name for p in portfolios]
    return portfolios[0]


def snapshot(aws: LocalAWS) -> dict[str, Any]:
    """Region state without generated ids, for convergence comparisons."""
    st = region(aws)
    names = {p.id: p.name for p in st.products.values()}
    return {
        "portfolios": sorted(
            (
                pf.display_name,
                sorted(names[p] for p in pf.products),
                sorted(pf.principals),
                sorted(pf.shares),
            )
            for pf in st.portfolios.values()
        ),
        "products": sorted(
            (p.name, sorted((a.description, a.active, a.guidance) for a in p.artifacts.values()))
            for p in st.products.values()
        ),
        "constraints": sorted(
            (names[c.product_id], c.type, c.parameters) for c in st.constraints.values()
        ),
        "tag_options": sorted((t.key, t.value, len(t.resources)) for t in st.tag_options.values()),
    }
