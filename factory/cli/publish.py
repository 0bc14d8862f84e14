"""``studio-factory publish``: plan, confirm, then apply in every region.

Each region is planned again and applied under its publish lock (factory.publish.lock): two
publishers at once never interleave their writes; the second stops before writing anything
and names the holder.

Exit status: 0 published (or nothing to do), 1 error or any change failed (apply goes on
with the changes that do not depend on a failed one, and lists every failure).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from factory.cli.plan import (
    EXIT_ERROR,
    EXIT_OK,
    common_options,
    load_or_exit,
    options_or_exit,
    show,
)
from factory.publish.run import run


@click.command("publish")
@common_options
@click.option("--prune", is_flag=True, help="Delete managed products no longer in the catalog.")
@click.option("--yes", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--break-lock",
    is_flag=True,
    help="Remove the region's publish lock left by a crashed run, then publish.",
)
def command(
    env: str,
    regions: tuple[str, ...],
    portfolios: Path,
    templates: Path,
    output: str,
    bucket: str | None,
    profile: str | None,
    prune: bool,
    yes: bool,
    break_lock: bool,
) -> None:
    """Register templates, products, portfolios and shares in AWS Service Catalog."""
    options = options_or_exit(regions, profile, bucket, prune, break_lock)
    catalog, digests = load_or_exit(portfolios, env, templates, options.regions)
    if not yes:
        preview = run(catalog, digests, options, apply=False)
        show(preview, output)
        if any(r.error for r in preview):
            sys.exit(EXIT_ERROR)
        if not any(r.pending for r in preview):
            sys.exit(EXIT_OK)
        click.confirm("Apply these changes?", abort=True)
    results = run(catalog, digests, options, apply=True)
    show(results, output)
    for result in results:
        if not result.error:
            click.echo(f"{result.region}: {result.applied} mutating call(s)", err=True)
    failed = any(r.error or r.failures for r in results)
    sys.exit(EXIT_ERROR if failed else EXIT_OK)
