"""`users update PERSON|--all [--persona P]`: move provisioned user profiles to the product's
newest active version, or to another persona, with UpdateProvisionedProduct. The plan (who
moves from which version and persona to which) is shown first; `--dry-run` stops there and
exits 2 when something would change, like `plan`."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import click

from factory.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_PENDING, UserError
from factory.cli.users import common
from factory.cli.users.import_ import DEFAULT_CONCURRENCY
from factory.cli.users.list_ import READERS

if TYPE_CHECKING:
    from factory.users.provision import Result, Target
    from factory.users.steps import Update

#: Statuses an update may start from (ProvisionedProductStatus, botocore model); UNDER_CHANGE
#: and PLAN_IN_PROGRESS mean another change is running.
UPDATABLE = ("AVAILABLE", "TAINTED", "ERROR")


@click.command("update")
@click.argument("person", required=False)
@click.option("--all", "everyone", is_flag=True, help="Every provisioned user profile.")
@click.option("--persona", default=None, help="Move to this persona (default: keep it).")
@click.option("--dry-run", is_flag=True, help="Show the plan; exit 2 when changes are pending.")
@click.option("--yes", is_flag=True, help="Do not ask before updating everyone.")
@click.option("--no-wait", is_flag=True, help="Stop once every update is accepted.")
@click.option(
    "--concurrency", type=click.IntRange(1, 16), default=DEFAULT_CONCURRENCY, show_default=True
)
@click.option(
    "--timeout", type=click.FloatRange(0), default=3600.0, show_default=True, help="Seconds."
)
@common.where_options
def command(
    where: common.Where,
    person: str | None,
    everyone: bool,
    persona: str | None,
    dry_run: bool,
    yes: bool,
    no_wait: bool,
    concurrency: int,
    timeout: float,
) -> None:
    """Update PERSON's (or --all) user profile to the newest version and/or a persona."""
    if bool(person) == everyone:
        raise UserError("PERSON", "name one person or pass --all", "not both, not neither")
    known = common.personas(where)
    if persona is not None:
        common.persona(known, persona)
    aws = common.clients(where)
    target = common.target(aws.sc, where)
    selected = _select(aws, person)
    steps, results = _plan(aws, target, selected, known, persona)
    for step in steps:
        click.echo(step.describe())
    if dry_run or not steps:
        if results:
            common.echo_results(results, where.output, all_rows=True)
        click.echo(f"plan: {len(steps)} to update, {len(results)} unchanged", err=True)
        if any(r.status == "failed" for r in results):
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_PENDING if dry_run and steps else 0)
    if everyone:
        common.confirm(f"Update {len(steps)} user profile(s)?", yes, "updating everyone")
    stop = threading.Event()
    results += _apply(aws, target, steps, concurrency, stop, wait=not no_wait, timeout=timeout)
    common.echo_results(results, where.output, all_rows=True)
    if stop.is_set():
        sys.exit(EXIT_INTERRUPTED)
    if any(r.status in ("failed", "in progress") for r in results):
        sys.exit(EXIT_ERROR)


def _select(aws: common.Clients, person: str | None) -> list[dict[str, Any]]:
    from factory.users import provision

    items = provision.listing(aws.sc)
    if person is None:
        return sorted(items, key=lambda item: str(item["Name"]))
    name = provision.provisioned_name(person)
    found = [item for item in items if item["Name"] == name]
    if not found:
        raise UserError(person, f"no provisioned user profile {name}", "add the person first")
    return found


def _plan(
    aws: common.Clients,
    target: Target,
    items: list[dict[str, Any]],
    known: Any,
    persona: str | None,
) -> tuple[list[Update], list[Result]]:
    """The updates to make, and the people left as they are (with why)."""
    from factory.portfolio.personas import provisioning_parameters
    from factory.users import provision
    from factory.users.steps import Update

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        current = list(pool.map(lambda i: provision.persona_of(aws.sc, str(i["Name"])), items))
    steps: list[Update] = []
    unchanged: list[Result] = []
    for item, was in zip(items, current, strict=True):
        name = str(item["Name"])
        person = provision.person_of(name)
        wanted = persona or was
        if item.get("Status") not in UPDATABLE:
            unchanged.append(provision.Result(person, name, "failed", f"busy: {item['Status']}"))
            continue
        if wanted not in known:
            why = "persona unknown (launched by hand or before personas); pass --persona"
            unchanged.append(provision.Result(person, name, "failed", why))
            continue
        if item.get("ProvisioningArtifactId") == target.artifact_id and wanted == was:
            unchanged.append(provision.Result(person, name, "up to date"))
            continue
        parameters = provisioning_parameters(known[wanted], person)
        steps.append(
            Update(
                person=person,
                pp_id=str(item["Id"]),
                from_version=str(item.get("ProvisioningArtifactName", "")),
                to_version=target.artifact_name,
                from_persona=was,
                to_persona=wanted,
                last_record=str(item.get("LastRecordId", "")),
                parameters=tuple((p["Key"], p["Value"]) for p in parameters),
            )
        )
    return steps, unchanged


def _apply(
    aws: common.Clients,
    target: Target,
    steps: list[Update],
    concurrency: int,
    stop: threading.Event,
    *,
    wait: bool,
    timeout: float,
) -> list[Result]:
    outcome = common.run_steps(
        aws,
        target,
        list(steps),
        concurrency=concurrency,
        stop=stop,
        wait=wait,
        timeout=timeout,
        labels=("updating", None),
        stopping="no new update starts; those in flight finish",
    )
    return common.with_not_attempted(list(steps), outcome)
