"""`users sync --identity-center-group GROUP --persona P [--prune]`: for SSO domains, the
people of an IAM Identity Center group are the desired set. Like `plan`/`publish`: the plan
first (`--dry-run` exits 2 when changes are pending), then newcomers are provisioned and, with
`--prune`, leavers removed. A sync removes only profiles it provisioned for that group (their
`studio-factory:source` tag): people onboarded otherwise are never touched.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from factory.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_PENDING, UserError
from factory.cli.users import common
from factory.cli.users.import_ import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from factory.users.provision import Result


@click.command("sync")
@click.option("--identity-center-group", "group", required=True, help="Group name or id.")
@click.option(
    "--identity-store-id",
    required=True,
    envvar="STUDIO_FACTORY_IDENTITY_STORE_ID",
    help="The IAM Identity Center identity store (d-...); or STUDIO_FACTORY_IDENTITY_STORE_ID.",
)
@click.option(
    "--identity-center-region",
    default=None,
    help="Region of the IAM Identity Center instance (default: --region).",
)
@click.option("--persona", required=True, help="The persona newcomers get.")
@click.option("--prune", is_flag=True, help="Remove the profiles of people who left the group.")
@click.option("--dry-run", is_flag=True, help="Show the plan; exit 2 when changes are pending.")
@click.option("--yes", is_flag=True, help="Do not ask before removing people.")
@click.option("--no-wait", is_flag=True, help="Stop once every change is accepted.")
@common.domain_option
@click.option(
    "--concurrency", type=click.IntRange(1, 16), default=DEFAULT_CONCURRENCY, show_default=True
)
@click.option(
    "--timeout", type=click.FloatRange(0), default=3600.0, show_default=True, help="Seconds."
)
@common.where_options
def command(
    where: common.Where,
    group: str,
    identity_store_id: str,
    identity_center_region: str | None,
    persona: str,
    prune: bool,
    dry_run: bool,
    yes: bool,
    no_wait: bool,
    concurrency: int,
    timeout: float,
    domain: str,
) -> None:
    """Provision the members of an IAM Identity Center group (and remove leavers)."""
    from factory.users import identity, provision
    from factory.users.provision import UsersError

    known = common.personas(where)
    chosen = common.persona(known, persona)
    aws = common.clients(where)
    # identitystore:* carry identitystore:PrimaryRegion: the store lives in one region.
    store = aws.client("identitystore", identity_center_region)
    try:
        group_id = identity.group_id(store, identity_store_id, group)
        members = identity.group_members(store, identity_store_id, group_id)
    except UsersError as exc:
        raise UserError("--identity-center-group", str(exc)) from exc
    people, problems = identity.desired_people(members)
    for problem in problems:
        click.echo(f"error: {group}: {problem}", err=True)
    source = identity.source_value(identity_store_id, group_id)
    live = provision.listing(aws.sc)
    present = {
        str(item["Name"]): {t["Key"]: t["Value"] for t in item.get("Tags", [])} for item in live
    }
    ids = {str(item["Name"]): (str(item["Id"]), str(item.get("LastRecordId", ""))) for item in live}
    keep = identity.contested(members)  # a name two members map to: never pruned
    plan = identity.plan_sync(people, present, source, prune, keep=keep)
    steps = _steps(plan, chosen, persona, source, ids, domain)
    for step in steps:
        click.echo(step.describe())
    click.echo(
        f"plan: {len(plan.create)} to create, {len(plan.remove)} to remove, "
        f"{len(plan.present)} present",
        err=True,
    )
    if dry_run or not steps:
        sys.exit(EXIT_PENDING if dry_run and steps else (EXIT_ERROR if problems else 0))
    if plan.remove:
        common.confirm(f"Remove {len(plan.remove)} user profile(s)?", yes, "removing people")
    stop = threading.Event()
    results = _apply(aws, where, steps, concurrency, stop, wait=not no_wait, timeout=timeout)
    common.echo_results(results, where.output, all_rows=True)
    if stop.is_set():
        sys.exit(EXIT_INTERRUPTED)
    if problems or any(r.status in ("failed", "in progress") for r in results):
        sys.exit(EXIT_ERROR)


def _steps(
    plan: Any,
    chosen: Any,
    persona: str,
    source: str,
    ids: dict[str, tuple[str, str]],
    domain: str,
) -> list[Any]:
    from factory.users import bulk, identity, provision
    from factory.users.steps import Remove

    creates = [
        bulk.launch_step(
            bulk.Row(0, p.person, persona, p.email, sso_user=p.sso_user, domain=domain),
            chosen,
            {identity.SOURCE_TAG: source},
        )
        for p in plan.create
    ]
    removes = [Remove(provision.person_of(name), *ids[name]) for name in plan.remove if name in ids]
    return [*creates, *removes]


def _apply(
    aws: common.Clients,
    where: common.Where,
    steps: list[Any],
    concurrency: int,
    stop: threading.Event,
    *,
    wait: bool,
    timeout: float,
) -> list[Result]:
    outcome = common.run_steps(
        aws,
        common.target(aws.sc, where),
        steps,
        concurrency=concurrency,
        stop=stop,
        wait=wait,
        timeout=timeout,
        labels=("syncing", None),
        stopping="no new change starts; those in flight finish",
    )
    return common.with_not_attempted(steps, outcome)
