"""``studio-factory plan-network``: how big the Studio VPC and its subnets must be.

The count is :mod:`factory.network_plan` (seed 002's "VPC network planning", pure); this module
only reads the flags, reports bad ones in the one error style and prints the result: a rich
table on a terminal, tab-separated lines otherwise, or ``--output json``.

``--output json`` prints one document on stdout (:meth:`NetworkPlan.as_dict`)::

    {"inputs": {users, apps_per_user, instance_types, training_instances, efa, shared_spaces,
                growth_percent, azs, experience},
     "breakdown": [{entity, level (user|domain), ips_each, count, unit (person|domain|subnet),
                    units, ips_per_unit, ips, source}],
     "ips_per_user", "user_ips", "growth_ips", "domain_ips_per_subnet", "domain_ips",
     "ips_per_subnet", "reserved_ips_per_subnet", "needed_ips_per_subnet",
     "subnet_prefix", "subnet_ips", "usable_ips_per_subnet", "spare_ips_per_subnet",
     "vpc_prefix", "vpc_ips",
     "example": {"vpc_cidr", "subnet_cidrs": [...]},
     "template_parameters": {"VpcCidr", "SubnetPrefixLength", "AvailabilityZoneCount"}}
"""

from __future__ import annotations

import json
from typing import Any

import click

from factory.cli.errors import UserError, usage_error
from factory.network_plan import (
    DEFAULT_BASE_ADDRESS,
    EXPERIENCES,
    LIMITS,
    RESERVED_PER_SUBNET,
    NetworkPlan,
    PlanError,
    PlanInputs,
    plan,
)

#: PlanInputs field -> the flag that sets it.
FLAGS = {
    "users": "--users",
    "apps_per_user": "--apps-per-user",
    "instance_types": "--instance-types",
    "training_instances": "--training-instances",
    "shared_spaces": "--shared-spaces",
    "growth_percent": "--growth",
    "azs": "--azs",
    "experience": "--experience",
    "base_address": "--base-address",
}

COLUMNS = ("what", "level", "ips each", "count", "per", "times", "ips", "source")


def _allowed(param: click.Parameter | None) -> str:
    """What a flag accepts, from its click type (ranges and choices)."""
    kind = getattr(param, "type", None)
    if isinstance(kind, click.IntRange) and kind.min is not None and kind.max is not None:
        if kind.max - kind.min == 1:
            return f"allowed: {kind.min} or {kind.max}"
        return f"allowed: an integer from {kind.min} to {kind.max}"
    if isinstance(kind, click.Choice):
        return f"allowed: {', '.join(map(str, kind.choices))}"
    return ""


class _Command(click.Command):
    """Usage errors in the one style, also when the command is invoked on its own (tests,
    ``CliRunner().invoke(command, ...)``), with what the flag allows."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.BadParameter as error:  # MissingParameter is one too
            styled = usage_error(error, "plan-network")
            allowed = _allowed(error.param)
            raise UserError(styled.where, styled.what, allowed or styled.fix) from error
        except click.UsageError as error:
            raise usage_error(error, "plan-network") from error


def _range(name: str) -> click.IntRange:
    low, high = LIMITS[name]
    return click.IntRange(low, high)


@click.command("plan-network", cls=_Command)
@click.option(
    "--users",
    type=_range("users"),
    required=True,
    help="People working in Studio at the same time at the busiest moment.",
)
@click.option(
    "--apps-per-user",
    type=_range("apps_per_user"),
    default=4,
    show_default=True,
    help="Apps one person runs at once (Studio: spaces running JupyterLab, Code Editor, ...).",
)
@click.option(
    "--instance-types",
    type=_range("instance_types"),
    default=2,
    show_default=True,
    help="Studio Classic only: distinct instance types one person's apps run on "
    "(up to 4 KernelGateway apps share one instance per type).",
)
@click.option(
    "--training-instances",
    type=_range("training_instances"),
    default=1,
    show_default=True,
    help="Training/processing instances one person runs at once in the domain's subnets "
    "(2 IPs each).",
)
@click.option("--efa", is_flag=True, help="Training instances use EFA (5 IPs each instead of 2).")
@click.option(
    "--shared-spaces",
    type=_range("shared_spaces"),
    default=0,
    show_default=True,
    help="Shared spaces running at once in the domain (one instance each).",
)
@click.option(
    "--growth",
    "growth_percent",
    type=_range("growth_percent"),
    default=0,
    show_default=True,
    help="Expected growth of the people-level IPs, in percent. Subnets cannot be added to a "
    "domain later: plan for it now.",
)
@click.option(
    "--azs",
    type=_range("azs"),
    default=3,
    show_default=True,
    help="Availability Zones (one private subnet each).",
)
@click.option(
    "--experience",
    type=click.Choice(EXPERIENCES),
    default="studio",
    show_default=True,
    help="studio: Studio (new), one instance per running app; classic: Studio Classic.",
)
@click.option(
    "--base-address",
    default=DEFAULT_BASE_ADDRESS,
    show_default=True,
    help="First address of the VPC in the example CIDRs and the product parameters.",
)
@click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: a table on a terminal, tab-separated lines otherwise; json: one document "
    "on stdout (shape in factory/cli/plan_network.py).",
)
def command(output: str, base_address: str, **flags: Any) -> None:
    """Size the Studio VPC and its private subnets for a number of people (seed 002).

    Counts the IPs Studio, training jobs, EFS and the VPC endpoints use in the domain's
    subnets, sizes every subnet to hold everyone (which subnet SageMaker picks is not
    documented; an Availability Zone may be lost), adds the 5 addresses AWS reserves in each
    subnet (VPC User Guide), and prints the subnet and VPC prefixes to launch the
    studio-network product with. Example: 100 people -> /22 subnets in a /20 VPC.
    """
    try:
        result = plan(PlanInputs(**flags), base_address)
    except PlanError as error:
        raise UserError(
            FLAGS.get(error.field, error.field), error.what, f"allowed: {error.allowed}"
        ) from None
    if output == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    from factory.cli.console import is_terminal

    if is_terminal():
        _print_table(result)
    else:
        _print_plain(result)
    for line in summary(result):
        click.echo(line)


def rows(result: NetworkPlan) -> list[tuple[str, ...]]:
    return [
        (
            x.entity,
            x.level,
            str(x.ips_each),
            str(x.count),
            x.unit,
            str(x.units),
            f"{x.ips:,}",
            x.source,
        )
        for x in result.lines
    ]


def _print_table(result: NetworkPlan) -> None:
    """The breakdown as a table; the sources go under it (eight columns do not fit 80)."""
    from rich.table import Table

    from factory.cli.console import console

    sources = dict.fromkeys(x.source for x in result.lines)
    table = Table(
        title="IP addresses at the busiest moment",
        title_justify="left",
        caption="sources: " + "; ".join(sources),
        caption_justify="left",
    )
    for column in COLUMNS[:-1]:
        numeric = column in ("ips each", "count", "times", "ips")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=numeric)
    for row in rows(result):
        table.add_row(*row[:-1])
    console().print(table)


def _print_plain(result: NetworkPlan) -> None:
    click.echo("\t".join(c.upper() for c in COLUMNS))
    for row in rows(result):
        click.echo("\t".join(row))


def summary(result: NetworkPlan) -> list[str]:
    """The recommendation, in words (the same lines on a terminal and off it)."""
    params = " ".join(f"{k}={v}" for k, v in result.template_parameters().items())
    return [
        f"each subnet: {result.user_ips:,} (people) + {result.growth_ips:,} (growth) + "
        f"{result.domain_ips_per_subnet:,} (domain) = {result.ips_per_subnet:,} IPs, "
        f"+ {RESERVED_PER_SUBNET} reserved by AWS = {result.needed_per_subnet:,} addresses",
        f"subnets: /{result.subnet_prefix} ({result.subnet_ips:,} addresses, "
        f"{result.usable_per_subnet:,} usable, {result.spare_per_subnet:,} spare) in each of "
        f"{result.inputs.azs} Availability Zones",
        f"vpc: /{result.vpc_prefix} ({result.vpc_ips:,} addresses), e.g. {result.vpc_cidr}: "
        + ", ".join(result.subnet_cidrs),
        f"launch studio-network with: {params}",
    ]
