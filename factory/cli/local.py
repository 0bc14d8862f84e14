"""``studio-factory local serve|rehearse``: local AWS (moto + the Service Catalog stand-in).

``serve`` is ``python -m factory.testing serve`` and ``rehearse`` is
``python -m factory.testing.rehearse`` (both keep working); the work is done in
``factory.testing``, an optional extra (moto), imported only when a command runs, so
``studio-factory local --help`` needs neither. ``tests/cli/test_cli_local.py`` checks that the
options here are the argparse ones of ``python -m factory.testing serve``.
"""

from __future__ import annotations

import argparse
from typing import Any

import click

from factory.cli.errors import UserError

#: factory.testing.servicecatalog.realism.ORGANIZATION_ROLES (not imported: 0.2 s).
ORGANIZATION_ROLES = ("standalone", "member", "management", "delegated_admin")
#: factory.testing.servicecatalog.DEFAULT_REGION and factory.testing.__main__.LOCAL_BUCKET.
DEFAULT_REGION = "us-east-1"
LOCAL_BUCKET = "studio-catalog-local-templates"
EXTRA = "install the testing extra: pip install 'studio-catalog-factory[testing]' (make build does)"


def _testing() -> Any:
    """``factory.testing``'s entry points, or a UserError when moto is not installed."""
    try:
        import moto.server  # noqa: F401  (the extra's one requirement)

        from factory.testing import __main__ as serve_module
        from factory.testing import rehearse
    except ImportError as error:
        raise UserError("studio-factory local", f"local AWS needs moto ({error})", EXTRA) from None
    return serve_module, rehearse


@click.group("local")
def command() -> None:
    """Local AWS (moto + the Service Catalog stand-in): serve it, or rehearse a release.

    No account or credentials needed; everything listens on loopback.
    """


@command.command("serve")
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Sleep per stand-in request.",
)
@click.option(
    "--throttle-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of stand-in requests answered with ThrottlingException.",
)
@click.option("--seed", type=int, default=None, help="Seed for the throttling RNG.")
@click.option("--region", default=DEFAULT_REGION, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--moto-port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--standin-port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--verbose", is_flag=True, help="Keep moto's per-request log (on stderr).")
@click.option(
    "--bucket",
    default=LOCAL_BUCKET,
    show_default=True,
    help="Template bucket created and named in SSM, as the bootstrap stack does.",
)
@click.option(
    "--simple",
    is_flag=True,
    help="Turn the stand-in's realistic mode off (immediate, always consistent).",
)
@click.option(
    "--organization-role",
    type=click.Choice(ORGANIZATION_ROLES),
    default="management",
    show_default=True,
    help="The account's place in AWS Organizations (realistic mode).",
)
@click.option(
    "--no-organizations-access",
    is_flag=True,
    help="AWSOrganizationsAccess disabled: organization shares are refused.",
)
def serve(**options: Any) -> None:
    """Run local AWS in the foreground; print its `export` lines and what it created.

    Plays the bootstrap stack's part (template bucket, launch role, permissions boundary and
    their SSM parameters under /studio-catalog/bootstrap/), so that in another shell, after
    the printed `export` lines, `studio-factory publish --env dev` works. Stops on Ctrl-C or
    SIGTERM.
    """
    serve_module, _ = _testing()
    try:
        code = serve_module.serve(argparse.Namespace(command="serve", **options))
    except OSError as error:
        if error.filename is not None:
            raise
        raise UserError(
            "--host/--moto-port/--standin-port",
            f"cannot listen: {error.strerror or error}",
            "choose a free port (0 picks one) or stop the other server",
        ) from None
    raise click.exceptions.Exit(code)


@command.command("rehearse")
@click.argument("environment", default="dev")
@click.option(
    "--simple",
    is_flag=True,
    help="Turn the stand-in's realistic mode off (immediate, always consistent).",
)
def rehearse(environment: str, simple: bool) -> None:
    """Publish ENVIRONMENT (default dev) to local AWS, then plan: it must find nothing to do.

    Run `studio-factory build` first (make rehearse does). Exit 0 when both pass.
    """
    _, rehearse_module = _testing()
    raise click.exceptions.Exit(rehearse_module.main(environment, simple=simple))
