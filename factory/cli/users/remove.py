"""`users remove PERSON`: terminate the person's provisioned user profile. The profile's drain
custom resource (bootstrap stack) deletes the person's apps and spaces first."""

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


@click.command("remove")
@click.argument("person")
@click.option("--yes", is_flag=True, help="Do not ask (required when not on a terminal).")
@click.option("--no-wait", is_flag=True, help="Return once the termination is accepted.")
@common.where_options
def command(where: common.Where, person: str, yes: bool, no_wait: bool) -> None:
    """Remove PERSON's user profile (their apps, spaces and private storage are deleted)."""
    from factory.users import provision
    from factory.users.steps import Context, Remove

    try:
        provision.check_person(person)
    except provision.UsersError as exc:
        raise UserError("PERSON", str(exc)) from exc
    aws = common.clients(where)
    name = provision.provisioned_name(person)
    found = provision.existing(aws.sc, name)
    if found is None:
        _show(where, provision.Result(person, name, "absent", f"no {name}; nothing to do"))
        return
    common.confirm(
        f"Remove {person}'s user profile, apps, spaces and private storage?",
        yes,
        f"removing {person} deletes their apps, spaces and private storage",
    )
    step = Remove(person, str(found["Id"]), str(found.get("LastRecordId", "")))
    result = step.apply(Context(aws.sc, None))
    if result.status == "removing" and not no_wait:
        detail = provision.wait_for(aws.sc, result.record_id)
        if detail["Status"] == "SUCCEEDED":
            result.status = "removed"
        else:
            result.status, result.detail = "failed", provision.record_errors(detail)
    _show(where, result)
    if result.status == "failed":
        sys.exit(EXIT_ERROR)


def _show(where: common.Where, result: Result) -> None:
    if where.output == "json":
        click.echo(json.dumps(asdict(result), indent=2, default=str))
    else:
        click.echo(f"{result.person}: {result.status} {result.detail}".rstrip())
