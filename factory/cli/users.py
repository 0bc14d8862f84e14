"""``studio-factory users``: provision people's user profiles through Service Catalog.

`users add PERSON --persona P` launches the user-profile product as the caller (the cloud
admin's role: Service Catalog's launch role does the SageMaker work), with the persona's
parameters, under the name `studio-user-<person>`; an existing person is reported, nothing
changes. `users list` shows every provisioned user profile. Exit 1 on any failure.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from factory.cli.errors import EXIT_ERROR, UserError

USER_PROFILE_PRODUCT = "studio-user-profile"


@click.group("users")
def command() -> None:
    """Provision people's Studio user profiles through Service Catalog (personas)."""


def _sc(profile: str | None, region: str | None) -> object:
    from factory.publish.aws import Clients

    if not region:
        import boto3

        region = boto3.Session(profile_name=profile).region_name
    if not region:
        raise UserError("--region", "no region given", "pass --region or set AWS_REGION")
    return Clients.create(region, profile).sc


def _product_name(portfolios: Path, env: str, templates: Path) -> str:
    from factory.portfolio import PortfolioConfigError, load_catalog

    try:
        catalog = load_catalog(portfolios, env, templates)
    except PortfolioConfigError as exc:
        raise UserError("", f"invalid portfolio definitions:\n{exc}") from exc
    product = catalog.products.get(USER_PROFILE_PRODUCT)
    if product is None:
        raise UserError(
            str(portfolios), f"no product {USER_PROFILE_PRODUCT!r}", "add it to a portfolio file"
        )
    return product.display_name


def _persona(personas: Path, name: str) -> object:
    from factory.portfolio import PortfolioConfigError
    from factory.portfolio.personas import load_personas

    try:
        known = load_personas(personas)
    except PortfolioConfigError as exc:
        raise UserError("", f"invalid personas:\n{exc}") from exc
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(
            f"--persona {name}", f"unknown persona{hint}", f"allowed: {', '.join(sorted(known))}"
        )
    return known[name]


@command.command("add")
@click.argument("person")
@click.option("--persona", required=True, help="A persona of portfolios/personas.yaml.")
@click.option("--env", required=True, help="Environment (portfolios/environments/<env>.yaml).")
@click.option("--team", default=None, help="Team TagOption value.")
@click.option("--cost-center", default=None, help="CostCenter TagOption value.")
@click.option("--region", default=None)
@click.option("--profile", default=None, help="AWS profile (the cloud admin's role).")
@click.option("--portfolios", type=click.Path(path_type=Path), default=Path("portfolios"))
@click.option("--templates", type=click.Path(path_type=Path), default=Path("templates"))
@click.option("--no-wait", is_flag=True, help="Return once the launch is accepted.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table")
def add(
    person: str,
    persona: str,
    env: str,
    team: str | None,
    cost_center: str | None,
    region: str | None,
    profile: str | None,
    portfolios: Path,
    templates: Path,
    no_wait: bool,
    output: str,
) -> None:
    """Provision PERSON's user profile with a persona (one person, one profile)."""
    from factory.portfolio.personas import provisioning_parameters
    from factory.users import provision

    try:
        provision.check_person(person)
    except provision.UsersError as exc:
        raise UserError("PERSON", str(exc)) from exc
    chosen = _persona(portfolios / "personas.yaml", persona)
    parameters = provisioning_parameters(chosen, person)  # type: ignore[arg-type]
    product_name = _product_name(portfolios, env, templates)
    tags = {k: v for k, v in (("Team", team), ("CostCenter", cost_center)) if v}
    sc = _sc(profile, region)
    try:
        target = provision.find_target(sc, product_name)  # type: ignore[arg-type]
        result = provision.add(sc, target, person, parameters, tags, wait=not no_wait)  # type: ignore[arg-type]
    except provision.UsersError as exc:
        raise UserError("users add", str(exc)) from exc
    if output == "json":
        click.echo(json.dumps(result.__dict__, indent=2, default=str))
    else:
        click.echo(f"{result.person}: {result.status} ({result.name}) {result.detail}".rstrip())
        for key, value in sorted(result.outputs.items()):
            click.echo(f"  {key}: {value}")
    if result.status == "failed":
        sys.exit(EXIT_ERROR)


@command.command("list")
@click.option("--region", default=None)
@click.option("--profile", default=None)
@click.option("--output", type=click.Choice(["table", "json"]), default="table")
def list_(region: str | None, profile: str | None, output: str) -> None:
    """List every provisioned user profile (`studio-user-*`) with its status."""
    from factory.users import provision

    rows = provision.listing(_sc(profile, region))  # type: ignore[arg-type]
    if output == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in sorted(rows, key=lambda r: str(r.get("Name"))):
        person = str(row["Name"]).removeprefix(provision.NAME_PREFIX)
        click.echo(f"{person}\t{row.get('Status')}\t{row.get('ProvisioningArtifactName', '')}")


@command.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--env", required=True, help="Environment (portfolios/environments/<env>.yaml).")
@click.option("--dry-run", is_flag=True, help="Validate and print the plan; provision nothing.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 16),
    default=4,
    show_default=True,
    help="Launches in flight at once (Service Catalog publishes no rate; throttling is "
    "retried with backoff).",
)
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--region", default=None)
@click.option("--profile", default=None, help="AWS profile (the cloud admin's role).")
@click.option("--portfolios", type=click.Path(path_type=Path), default=Path("portfolios"))
@click.option("--templates", type=click.Path(path_type=Path), default=Path("templates"))
def import_(
    file: Path,
    env: str,
    dry_run: bool,
    concurrency: int,
    report: Path | None,
    region: str | None,
    profile: str | None,
    portfolios: Path,
    templates: Path,
) -> None:
    """Onboard the people of a CSV (person, persona, email, team, cost_center)."""
    from factory.portfolio.personas import load_personas, provisioning_parameters
    from factory.users import bulk, provision

    try:
        rows = bulk.read_rows(file)
        personas = load_personas(portfolios / "personas.yaml")
        bulk.validate(file, rows, personas)
    except bulk.ImportProblems as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"error: {file}: {len(exc.problems)} problem(s); nothing provisioned", err=True)
        sys.exit(EXIT_ERROR)
    product_name = _product_name(portfolios, env, templates)
    sc = _sc(profile, region)
    present = {str(row.get("Name")) for row in provision.listing(sc)}  # type: ignore[arg-type]
    planned = bulk.plan(rows, present)
    for item in planned:
        click.echo(f"{item.row.person}\t{item.row.persona}\t{item.action}")
    if dry_run or all(item.action != "create" for item in planned):
        if not dry_run:
            click.echo(f"0 created, {len(planned)} already present, 0 failed", err=True)
        return
    try:
        target = provision.find_target(sc, product_name)  # type: ignore[arg-type]
    except provision.UsersError as exc:
        raise UserError("users import", str(exc)) from exc

    def provision_one(row: bulk.Row) -> provision.Result:
        parameters = provisioning_parameters(personas[row.persona], row.person)
        return provision.add(
            sc,  # type: ignore[arg-type]
            target,
            row.person,
            parameters,
            row.tags,
            check_existing=False,
        )

    results = bulk.apply(planned, provision_one, concurrency=concurrency)
    counts = {
        s: sum(r.status == s for r in results) for s in ("created", "already present", "failed")
    }
    for result in results:
        if result.status == "failed":
            click.echo(f"error: {result.person}: {result.detail}", err=True)
    click.echo(
        f"{counts['created']} created, {counts['already present']} already present, "
        f"{counts['failed']} failed",
        err=True,
    )
    if report is not None:
        report.write_text(
            json.dumps([r.__dict__ for r in results], indent=2, default=str) + "\n",
            encoding="utf-8",
        )
    if counts["failed"]:
        sys.exit(EXIT_ERROR)
