"""``studio-factory schema [--check]``: the JSON schema of portfolio files, for editors.

The schema is rendered by ``factory.portfolio.models`` (``render_json_schema``, written by
``export_json_schema``); this command only decides where, and compares for ``--check``. It
replaces ``python -m factory.portfolio.models``, which keeps working.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from factory.cli.errors import EXIT_ERROR, UserError

FIX = "run `studio-factory schema` (make schema) and commit portfolios/schema.json"


def stale_diff(current: str | None, generated: str, shown: str) -> str:
    """A unified diff from the file as it is (None: missing) to what the models generate."""
    before = [] if current is None else current.splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            before,
            generated.splitlines(keepends=True),
            fromfile=f"{shown} (committed)" if current is not None else "/dev/null",
            tofile=f"{shown} (generated from factory/portfolio/models.py)",
        )
    )


@click.command("schema")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 and print a unified diff when the file is out of date.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project root holding portfolios/.",
)
def command(check: bool, root: Path) -> None:
    """Write portfolios/schema.json from the portfolio models.

    Editors read it for completion and checks (`# yaml-language-server: $schema=./schema.json`
    in portfolios/studio.yaml). Regenerate it after changing factory/portfolio/models.py; CI
    runs `--check` (make check-generated).
    """
    from factory.portfolio.models import SCHEMA_PATH, export_json_schema, render_json_schema

    if not (root / SCHEMA_PATH.parent).is_dir():
        raise UserError(
            f"--root {root}",
            f"no {SCHEMA_PATH.parent}/ folder here",
            "run from the repository root, or pass it as --root",
        )
    path = root / SCHEMA_PATH
    shown = SCHEMA_PATH.as_posix()
    if check:
        generated = render_json_schema()
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == generated:
            click.echo(f"{shown} is up to date", err=True)
            return
        click.echo(stale_diff(current, generated, shown), nl=False)
        what = "missing" if current is None else "out of date with the portfolio models"
        UserError(shown, what, FIX).show()
        raise click.exceptions.Exit(EXIT_ERROR)
    changed = export_json_schema(path)
    click.echo(f"{shown} {'written' if changed else 'unchanged'}", err=True)
