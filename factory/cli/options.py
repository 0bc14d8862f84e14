"""Options shared by `plan` and `publish`, in one place, and their resolution into
`factory.publish.run.Options` with the checks that need no AWS call."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from factory.cli.errors import UserError

F = Callable[..., Any]


@dataclass(frozen=True)
class Common:
    env: str
    regions: tuple[str, ...]
    portfolios: Path
    templates: Path
    output: str
    bucket: str | None
    profile: str | None
    endpoint_url: str | None
    quiet: bool
    skip_environment_check: bool
    skip_quota_check: bool
    #: default False: `bootstrap` builds a Common without it
    skip_coverage_check: bool = False


# --- options several command groups share (plan/publish, users, bootstrap) ------------------


def env_option() -> Callable[[F], F]:
    return click.option(
        "--env", required=True, help="Environment (portfolios/environments/<env>.yaml)."
    )


def portfolios_option() -> Callable[[F], F]:
    return click.option(
        "--portfolios",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("portfolios"),
        show_default=True,
    )


def templates_option() -> Callable[[F], F]:
    return click.option(
        "--templates",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("templates"),
        show_default=True,
    )


def output_option(help: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help=help,
    )


def decorate(function: F, decorators: list[Callable[[F], F]]) -> F:
    """Apply `decorators` so that they show in `--help` in the order given."""
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def common_options(function: F) -> F:
    """Decorate a command with the shared options; it receives them as `common: Common`."""
    decorators = [
        env_option(),
        click.option(
            "--region",
            "regions",
            multiple=True,
            help="Region to publish to; repeat for several (default: the environment's "
            "`regions`, else the profile's region).",
        ),
        portfolios_option(),
        templates_option(),
        output_option("json: the documented shape on stdout (README, Publishing)."),
        click.option(
            "--bucket",
            default=None,
            help="Template bucket in the region (default: SSM "
            "/studio-catalog/bootstrap/template-bucket-name, written by the bootstrap stack).",
        ),
        click.option("--profile", default=None, help="AWS profile (default: AWS_PROFILE)."),
        click.option(
            "--endpoint-url",
            default=None,
            help="Send every AWS call there (local AWS); same as AWS_ENDPOINT_URL.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Only errors and the summary."),
        click.option(
            "--skip-environment-check",
            is_flag=True,
            help="Publish although the environment file still holds sample values or names "
            "another account than the credentials' (local AWS, sandboxes).",
        ),
        click.option(
            "--skip-quota-check",
            is_flag=True,
            help="Trust that the Service Catalog quotas were raised above AWS's defaults.",
        ),
        click.option(
            "--skip-coverage-check",
            is_flag=True,
            help="Do not check that every shared account has the bootstrap stack (no "
            "CloudFormation or Organizations call).",
        ),
    ]
    names = [
        "env",
        "regions",
        "portfolios",
        "templates",
        "output",
        "bucket",
        "profile",
        "endpoint_url",
        "quiet",
        "skip_environment_check",
        "skip_quota_check",
        "skip_coverage_check",
    ]

    @functools.wraps(function)  # also carries the command's own options (__click_params__)
    def wrapper(**kwargs: Any) -> Any:
        common = Common(**{name: kwargs.pop(name) for name in names})
        return function(common=common, **kwargs)

    return decorate(wrapper, decorators)


def resolve_regions(common: Common, configured: tuple[str, ...] = ()) -> list[str]:
    """`--region` values de-duplicated in order; else the environment's; else the profile's."""
    if common.regions:
        return list(dict.fromkeys(common.regions))
    if configured:
        return list(configured)
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        region = boto3.Session(profile_name=common.profile).region_name
    except ProfileNotFound as exc:
        raise UserError(
            "--profile" if common.profile else "AWS_PROFILE",
            f"no profile {exc.kwargs.get('profile')!r} in the AWS config files",
            "list them with: aws configure list-profiles",
        ) from exc
    region = region or os.environ.get("AWS_REGION")
    if not region:
        raise UserError(
            "--region", "no region given", "pass --region, or set `regions:` in the environment"
        )
    return [region]


def apply_endpoint(common: Common) -> None:
    """`--endpoint-url` is AWS_ENDPOINT_URL for this process (botocore reads it per client);
    it and every AWS_ENDPOINT_URL* variable are checked first (:func:`check_endpoints`)."""
    check_endpoints(common.endpoint_url)
    if common.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = common.endpoint_url


def check_endpoints(flag: str | None = None) -> None:
    """`--endpoint-url` and the AWS_ENDPOINT_URL* variables must be URLs botocore accepts.

    botocore checks them only when it makes a client, with a bare ``ValueError('Invalid
    endpoint: ...')`` that a command would report per region, after other work. Its own
    checks decide (``botocore.utils.is_valid_endpoint_url`` and the IPv6 one); an empty
    variable is ignored, as botocore ignores it (checked against botocore by
    tests/cli/test_cli_plan_inputs.py). A malformed AWS_ENDPOINT_URL_<SERVICE> is
    refused even for a service these commands never call (botocore would not read it): it is
    a mistake in the environment all the same, and naming it costs the user nothing.
    """
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    given = [("--endpoint-url", flag)] if flag else []
    given += sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith("AWS_ENDPOINT_URL")
        and value
        and not (flag and name == "AWS_ENDPOINT_URL")
    )
    for where, url in given:
        if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
            raise UserError(
                f"{where} {url}",
                "not an endpoint URL",
                "pass http(s)://host[:port], such as the AWS_ENDPOINT_URL that "
                "`studio-factory local serve` prints",
            )


def check_profile(common: Common) -> None:
    """A missing profile is a user error before any work (boto3 raises ProfileNotFound)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        boto3.Session(profile_name=common.profile)
    except ProfileNotFound as exc:
        raise UserError(
            "--profile" if common.profile else "AWS_PROFILE",
            f"no profile {exc.kwargs.get('profile')!r} in the AWS config files",
            "list them with: aws configure list-profiles",
        ) from exc
