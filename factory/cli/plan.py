"""``studio-factory plan``: show what ``publish`` would change, per region.

Exit status: 0 nothing to change, 2 changes pending, 1 error (invalid YAML, AWS error).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from factory.portfolio import PortfolioConfigError
from factory.publish.run import Options, RegionResult, check_bucket, load, run
from factory.publish.steps import Step

EXIT_OK, EXIT_ERROR, EXIT_PENDING = 0, 1, 2


def common_options(function: Any) -> Any:
    """Options shared by ``plan`` and ``publish``."""
    decorators = [
        click.option(
            "--env", required=True, help="Environment (portfolios/environments/<env>.yaml)."
        ),
        click.option(
            "--region",
            "regions",
            multiple=True,
            help="Region(s) to publish to (default: the profile's region).",
        ),
        click.option(
            "--portfolios",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("portfolios"),
            show_default=True,
        ),
        click.option(
            "--templates",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("templates"),
            show_default=True,
        ),
        click.option(
            "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
        ),
        click.option(
            "--bucket",
            default=None,
            help="Template bucket (default: SSM /studio-catalog/bootstrap/template-bucket-name).",
        ),
        click.option("--profile", default=None, help="AWS profile."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def default_regions(regions: tuple[str, ...], profile: str | None) -> list[str]:
    if regions:
        return list(regions)
    import boto3

    region = boto3.Session(profile_name=profile).region_name or os.environ.get("AWS_REGION")
    if not region:
        raise click.UsageError("no region: pass --region or configure one for the profile")
    return [region]


def options_or_exit(
    regions: tuple[str, ...],
    profile: str | None,
    bucket: str | None,
    prune: bool = False,
    break_lock: bool = False,
) -> Options:
    resolved = default_regions(regions, profile)
    problem = check_bucket(bucket, resolved)
    if problem:
        click.echo(problem, err=True)
        sys.exit(EXIT_ERROR)
    return Options(resolved, profile=profile, bucket=bucket, prune=prune, break_lock=break_lock)


def load_or_exit(
    portfolios: Path, env: str, templates: Path, regions: Sequence[str] = ()
) -> tuple[Any, dict[str, str]]:
    try:
        return load(portfolios, env, templates, regions)
    except PortfolioConfigError as exc:
        click.echo(f"error: invalid portfolio definitions:\n{exc}", err=True)
        sys.exit(EXIT_ERROR)
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


def show(results: list[RegionResult], output: str) -> None:
    if output == "json":
        click.echo(json.dumps([_region_json(r) for r in results], indent=2))
        return
    if sys.stdout.isatty():
        _table(results)
        return
    for result in results:
        for change in result.changes:
            click.echo(_line(result.region, change))
        for warning in result.warnings:
            click.echo(f"{result.region} warning {warning}")
        for failure in result.failures:
            click.echo(f"{result.region} failed {failure}")
        if result.error:
            click.echo(f"{result.region} error {result.error}")
        if not result.changes and not result.error:
            click.echo(f"{result.region} no changes")


def _region_json(result: RegionResult) -> dict[str, Any]:
    """Stable shape (README "plan --output json"): a list with one object per region."""
    return {
        "region": result.region,
        "changes": [c.as_dict() for c in result.changes],
        "warnings": result.warnings,
        "failures": result.failures,
        "error": result.error,
    }


def _line(region: str, change: Step) -> str:
    return f"{region} {change.action} {change.resource}" + (
        f" ({change.detail})" if change.detail else ""
    )


def _table(results: list[RegionResult]) -> None:
    console = Console(highlight=False)
    table = Table(title="Plan", title_justify="left")
    for column in ("region", "action", "resource", "detail"):
        table.add_column(column)
    for result in results:
        for change in result.changes:
            table.add_row(result.region, change.action, change.resource, change.detail)
        if not result.changes and not result.error:
            table.add_row(result.region, "-", "no changes", "")
    console.print(table)
    for result in results:
        for warning in result.warnings:
            console.print(f"[yellow]{result.region}: {warning}[/yellow]", markup=True)
        for failure in result.failures:
            console.print(f"[red]{result.region}: failed {failure}[/red]", markup=True)
        if result.error:
            console.print(f"[red]{result.region}: {result.error}[/red]", markup=False)


@click.command("plan")
@common_options
def command(
    env: str,
    regions: tuple[str, ...],
    portfolios: Path,
    templates: Path,
    output: str,
    bucket: str | None,
    profile: str | None,
) -> None:
    """Compare the catalog with Service Catalog and list the changes ``publish`` would make."""
    options = options_or_exit(regions, profile, bucket)
    catalog, digests = load_or_exit(portfolios, env, templates, options.regions)
    results = run(catalog, digests, options, apply=False)
    show(results, output)
    if any(r.error for r in results):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_PENDING if any(r.pending for r in results) else EXIT_OK)
