"""``studio-factory publish``: plan, confirm, then apply in every region.

Each region is planned again and applied under its publish lock (factory.publish.lock): two
publishers at once never interleave their writes; the second stops before writing anything
and names the holder. Exit status: 0 published (or nothing to do), 1 error or any change
failed (apply goes on with the changes that do not depend on a failed one, and lists every
failure), 130 interrupted (Ctrl-C: the change in flight finishes, the rest is listed as not
attempted; a second Ctrl-C stops at once).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import click

from factory.cli import interrupt
from factory.cli.console import console
from factory.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from factory.cli.options import Common, common_options
from factory.cli.plan import prepare, show
from factory.publish.run import NOT_ATTEMPTED, Options, RegionResult, run
from factory.publish.steps import Step


def stop_on_interrupt(stop: threading.Event) -> AbstractContextManager[None]:
    """First Ctrl-C: set `stop` (every region stops between two changes). Second: exit now,
    without waiting for the calls in flight (a re-run converges; a lock left behind expires
    or is removed with --break-lock)."""
    return interrupt.stop_on_interrupt(
        stop,
        "stopping after the change in flight",
        "stopped during a call: what it did is kept and a re-run converges; if a publish lock "
        "is left, re-run with --break-lock",
    )


@contextmanager
def progress_display(options: Options, quiet: bool) -> Iterator[None]:
    """A progress bar per region on stderr, only when stderr is a terminal (rich; honours
    NO_COLOR)."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = console(stderr=True)
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
    ) as bar:

        def advance(region: str, step: Step, total: int) -> None:
            if region not in tasks:
                tasks[region] = bar.add_task(region, total=total)
            bar.update(tasks[region], advance=1, description=f"{region} {step.describe()}"[:60])

        options.progress = advance
        try:
            yield
        finally:
            options.progress = None


def summary(result: RegionResult) -> str:
    rows = result.statuses()
    runnable = [row for row in rows if row[1] not in ("info", "refused")]
    count = {s: sum(1 for _, status, _ in runnable if status == s) for s in {r[1] for r in rows}}
    text = f"{result.region}: applied {count.get('applied', 0)} of {len(runnable)} change(s)"
    text += f" ({result.applied} mutating call(s))"
    for status in ("failed", "skipped", NOT_ATTEMPTED):
        if count.get(status):
            text += f"; {count[status]} {status}"
    if result.interrupted:
        text = f"{result.region}: stopped after {count.get('applied', 0)} of {len(runnable)} "
        text += "change(s); the rest were not attempted; re-run to converge"
    return text


def _carry_coverage(preview: list[RegionResult], results: list[RegionResult]) -> None:
    """The preview's coverage warnings in the final results (`--output json`)."""
    found = {r.region: r.coverage_warnings for r in preview}
    for result in results:
        result.coverage_warnings = list(found.get(result.region, []))


@click.command("publish")
@common_options
@click.option(
    "--prune", is_flag=True, help="Delete managed products and portfolios no longer in YAML."
)
@click.option("--yes", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--break-lock",
    is_flag=True,
    help="Remove the region's publish lock left by a crashed run, then publish.",
)
def command(common: Common, prune: bool, yes: bool, break_lock: bool) -> None:
    """Register templates, products, portfolios and shares in AWS Service Catalog."""
    catalog, digests, options = prepare(common, prune=prune, break_lock=break_lock)
    if not yes:
        preview = run(catalog, digests, options, apply=False)
        show(preview, common.output, quiet=common.quiet)
        if any(r.error for r in preview):
            sys.exit(EXIT_ERROR)
        if not any(r.pending for r in preview) and not break_lock:
            sys.exit(EXIT_OK)
        click.confirm("Apply these changes?", abort=True, err=True)
        options.skip_coverage_check = True  # the preview checked (and showed) it
    with stop_on_interrupt(options.stop), progress_display(options, common.quiet):
        results = run(catalog, digests, options, apply=True)
    if not yes:
        _carry_coverage(preview, results)
    show(results, common.output, quiet=common.quiet)
    for result in results:
        if not result.error:
            click.echo(summary(result), err=True)
    if any(r.interrupted for r in results):
        sys.exit(EXIT_INTERRUPTED)
    failed = any(r.error or r.failures for r in results)
    sys.exit(EXIT_ERROR if failed else EXIT_OK)
