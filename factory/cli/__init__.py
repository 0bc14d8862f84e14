"""`studio-factory`: one command per module, like Sceptre."""

from __future__ import annotations

import click

from factory import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="studio-factory")
def cli() -> None:
    """Build, audit and publish SageMaker Studio Service Catalog products."""


def _register() -> None:
    from factory.cli import audit, build, plan, publish

    for module in (build, audit, plan, publish):
        cli.add_command(module.command)


def main() -> None:
    _register()
    cli()
