"""``studio-factory build``: generate, lint and write every template."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table

from factory import build
from factory.lint import DEFAULT_REGIONS
from factory.options import OptionsError


def _load_options(path: Path | None) -> dict:
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise click.BadParameter(
            f"{path}: expected a mapping of template name to options", param_hint="--options"
        )
    return data


def _summary(artifacts: list[build.Artifact], console: Console) -> None:
    table = Table(
        title="Templates",
        title_justify="left",
        caption=f"body: whether it also fits the {build.DIRECT_UPLOAD_LIMIT:,}-byte TemplateBody "
        "limit (validate-template --template-body); deploys go through S3.",
        caption_justify="left",
    )
    columns = ("template", "resources", "parameters", "bytes", "limit", "used", "body")
    for column in columns:
        table.add_column(column, justify="left" if column == "template" else "right")
    for a in artifacts:
        share = f"{a.size / a.limit:.0%}"
        limit = f"{a.limit:,} ({a.upload_path})"
        body = "fits" if a.fits_template_body else f"> {build.DIRECT_UPLOAD_LIMIT:,}"
        table.add_row(
            a.path, str(a.resources), str(a.parameters), f"{a.size:,}", limit, share, body
        )
    console.print(table)


@click.command("build")
@click.option("--check", is_flag=True, help="Fail if committed templates differ; write nothing.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project root holding templates/ and launch/.",
)
@click.option(
    "--options",
    "options_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML mapping of template name to generator options.",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    default=DEFAULT_REGIONS,
    show_default=True,
    help="Region(s) whose resource schemas cfn-lint validates against.",
)
def command(check: bool, root: Path, options_file: Path | None, regions: tuple[str, ...]) -> None:
    """Generate every product and launch template, lint them, then write them."""
    console = Console(stderr=False, highlight=False)
    try:
        artifacts = build.generate_all(_load_options(options_file))
    except (OptionsError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    findings = build.lint(artifacts, regions) + build.size_findings(artifacts)
    _summary(artifacts, console)
    if findings:
        for finding in findings:
            console.print(str(finding), markup=False)
        console.print(f"[red]{len(findings)} finding(s); nothing written.[/red]")
        sys.exit(1)
    if check:
        problems = build.stale(artifacts, root)
        for problem in problems:
            console.print(problem, markup=False)
        if problems:
            console.print("[red]generated files are out of date: run `make build`[/red]")
            sys.exit(1)
        console.print("generated files are up to date")
        return
    changed = build.write(artifacts, root)
    console.print(
        f"cfn-lint: 0 findings; {len(changed)} file(s) changed"
        + (f": {', '.join(changed)}" if changed else "")
    )
