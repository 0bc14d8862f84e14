"""``studio-factory plan``: show what ``publish`` would change, per region.

Exit status: 0 nothing to change, 2 changes pending, 1 error (invalid YAML, AWS error,
usage error). Output on stdout (`--output json`: the documented shape); errors on stderr.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from factory.cli.console import console
from factory.cli.errors import EXIT_ERROR, EXIT_OK, EXIT_PENDING, UserError
from factory.cli.options import Common, apply_endpoint, check_profile, common_options
from factory.cli.options import resolve_regions as _resolve_regions
from factory.publish.run import Options, RegionResult, check_bucket, load, run

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_PENDING", "command", "prepare", "show"]


def prepare(common: Common, **extra: Any) -> tuple[Any, dict[str, str], Options]:
    """Everything before the first AWS call: flags, profile, regions, YAML, templates."""
    from factory.portfolio import PortfolioConfigError, load_environment

    common = locate_project(common)
    apply_endpoint(common)
    check_profile(common)
    try:
        environment = load_environment(common.portfolios, common.env)
        regions = _resolve_regions(common, tuple(environment.regions))
        problem = check_bucket(common.bucket, regions)
        if problem:
            raise UserError("--bucket", problem)
        catalog, digests = load(common.portfolios, common.env, common.templates, regions)
    except PortfolioConfigError as exc:
        raise UserError("", f"invalid portfolio definitions:\n{exc}") from exc
    except OSError as exc:
        raise UserError(str(getattr(exc, "filename", "") or ""), str(exc.strerror or exc)) from exc
    options = Options(
        regions,
        describe_error=_describe_error,
        profile=common.profile,
        bucket=common.bucket,
        skip_environment_check=common.skip_environment_check,
        skip_quota_check=common.skip_quota_check,
        skip_coverage_check=common.skip_coverage_check,
        **extra,
    )
    return catalog, digests, options


def _describe_error(exc: Exception) -> str | None:
    from factory.cli.errors import aws_error

    known = aws_error(exc)
    return known.text() if known else None


def locate_project(common: Common) -> Common:
    """Default `portfolios/` and `templates/` are the project's, found from any subdirectory
    (like `build`); explicit paths are used as given."""
    from factory.build import find_project_root

    if common.portfolios.is_dir():
        return common
    defaults = common.portfolios == Path("portfolios") and common.templates == Path("templates")
    root = find_project_root() if defaults else None
    if root is None:
        raise UserError(
            f"--portfolios {common.portfolios}",
            "no such directory",
            "run studio-factory inside the project, or pass --portfolios and --templates",
        )
    return replace(common, portfolios=root / "portfolios", templates=root / "templates")


def show(results: list[RegionResult], output: str, *, quiet: bool = False) -> None:
    if output == "json":  # coverage warnings included (`coverage_warnings`)
        click.echo(json.dumps([region_json(r) for r in results], indent=2))
        return
    for result in results:  # stderr, table or lines; never an error
        for warning in result.coverage_warnings:
            click.echo(f"warning: {warning}", err=True)
    if sys.stdout.isatty() and not quiet:
        _table(results)
        return
    for result in results:
        if not quiet:
            for step, status, error in result.statuses():
                if status != "info":  # orphans: reported as warnings below
                    click.echo(_line(result.region, step, status, error))
        for warning in result.warnings:
            click.echo(f"{result.region} warning {warning}", err=True)
        for failure in result.failures:
            click.echo(f"{result.region} failed {failure}", err=True)
        if result.error:
            click.echo(f"{result.region} error {result.error}", err=True)
        if not result.changes and not result.error and not quiet:
            click.echo(f"{result.region} no changes")


def region_json(result: RegionResult) -> dict[str, Any]:
    """Stable shape (README "Publishing"): a list with one object per region; each change
    has a status (pending, applied, failed, skipped, not attempted, info, refused)."""
    return {
        "region": result.region,
        "changes": [
            {**step.as_dict(), "status": status, "error": error}
            for step, status, error in result.statuses()
        ],
        "warnings": result.warnings,
        "failures": result.failures,
        "error": result.error,
        "interrupted": result.interrupted,
        "coverage_warnings": result.coverage_warnings,
    }


def _line(region: str, step: Any, status: str, error: str | None) -> str:
    prefix = "" if status in ("pending", "info") else f"[{status}] "
    text = f"{region} {prefix}{step.describe()}"
    return text + (f": {error}" if error and status != "refused" else "")


def _table(results: list[RegionResult]) -> None:
    out = console(highlight=False)
    table = Table(title="Plan", title_justify="left")
    for column in ("region", "status", "action", "resource", "detail"):
        table.add_column(column)
    for result in results:
        for step, status, error in result.statuses():
            table.add_row(result.region, status, step.action, step.resource, error or step.detail)
        if not result.changes and not result.error:
            table.add_row(result.region, "", "-", "no changes", "")
    out.print(table)
    err = console(stderr=True, highlight=False)
    for result in results:
        for warning in result.warnings:
            err.print(f"[yellow]{result.region}: {warning}[/yellow]", markup=True)
        for failure in result.failures:
            err.print(f"{result.region}: failed {failure}", markup=False, style="red")
        if result.error:
            err.print(f"{result.region}: {result.error}", markup=False, style="red")


@click.command("plan")
@common_options
@click.option("--prune", is_flag=True, help="Preview what publish --prune would delete.")
def command(common: Common, prune: bool) -> None:
    """Compare the catalog with Service Catalog and list the changes ``publish`` would make."""
    catalog, digests, options = prepare(common, prune=prune)
    results = run(catalog, digests, options, apply=False)
    show(results, common.output, quiet=common.quiet)
    if any(r.error for r in results):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_PENDING if any(r.pending for r in results) else EXIT_OK)
