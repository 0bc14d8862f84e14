"""`users add PERSON --persona P`: launch one person's user profile and wait for it."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from factory.cli.errors import EXIT_ERROR, UserError
from factory.cli.users import common

if TYPE_CHECKING:
    from factory.users.provision import Result
    from factory.users.steps import Launch


@click.command("add")
@click.argument("person")
@click.option("--persona", required=True, help="A persona of portfolios/personas.yaml.")
@click.option("--email", default="", help="The person's email (a tag: who owns the cost).")
@click.option("--sso-user", default="", help="IAM Identity Center user name (SSO domains).")
@click.option("--team", default="", help="Team tag value.")
@click.option("--cost-center", default="", help="CostCenter tag value.")
@click.option("--no-wait", is_flag=True, help="Return once the launch is accepted.")
@common.domain_option
@common.team_role_option
@common.where_options
def command(
    where: common.Where,
    person: str,
    persona: str,
    email: str,
    sso_user: str,
    team: str,
    cost_center: str,
    no_wait: bool,
    domain: str,
    team_role: str,
) -> None:
    """Provision PERSON's user profile with a persona (one person, one profile). An existing
    person is reported and nothing changes."""
    from factory.users import bulk

    row = bulk.Row(
        0,
        person,
        persona,
        email,
        team,
        cost_center,
        sso_user=sso_user,
        domain=domain,
        team_role=team_role,
    )
    known = common.personas(where)
    try:
        bulk.validate_row("", row, known)
    except bulk.ImportProblems as exc:
        raise UserError("", "; ".join(exc.problems)) from exc
    step = bulk.launch_step(row, known[persona])
    aws = common.clients(where)
    result = _add(aws, where, step, wait=not no_wait)
    if where.output == "json":
        click.echo(json.dumps(asdict(result), indent=2, default=str))
    else:
        click.echo(f"{result.person}: {result.status} ({result.name}) {result.detail}".rstrip())
        for key, value in sorted(result.outputs.items()):
            click.echo(f"  {key}: {value}")
    if result.status == "failed":
        sys.exit(EXIT_ERROR)


def _add(aws: common.Clients, where: common.Where, step: Launch, *, wait: bool) -> Result:
    from factory.users import provision
    from factory.users.steps import Context

    found = provision.existing(aws.sc, step.name)
    if found is not None:
        status = f"status {found.get('Status')}"
        return provision.Result(step.person, step.name, "already present", status)
    result = step.apply(Context(aws.sc, common.target(aws.sc, where)))
    if not wait or result.status != "launched":
        return result
    detail = provision.wait_for(aws.sc, result.record_id)
    if detail["Status"] != "SUCCEEDED":
        result.status, result.detail = "failed", provision.record_errors(detail)
        return result
    result.status, result.outputs = "created", provision.outputs(aws.sc, result.name)
    return result
