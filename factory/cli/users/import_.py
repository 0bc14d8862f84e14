"""`users import FILE.csv`: onboard many people at once.

1. The whole file is validated before any AWS call; every problem is listed with its line.
2. One paged listing finds who already has a profile; the plan says who is created; the
   domain's user-profile quota is checked against it (factory.users.quota).
3. Launches run with bounded concurrency; throttling and transient errors are retried with
   backoff without holding a slot (factory.users.runner); a person's failure does not stop
   the others; Ctrl-C stops new launches (exit 130).
4. The launches are followed to their end with one listing per round (factory.users.watch).
5. A summary, and with `--report` a JSON report of every person. Re-running the same file
   after a crash or a partial failure launches only the rest.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from factory.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, UserError
from factory.cli.users import common

if TYPE_CHECKING:
    from factory.users.bulk import Planned
    from factory.users.provision import Result
    from factory.users.runner import Outcome

DEFAULT_CONCURRENCY = 4


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and print the plan; provision nothing.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 16),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Launches in flight at once (Service Catalog publishes no rate; throttling is "
    "retried with backoff).",
)
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--no-wait", is_flag=True, help="Stop once every launch is accepted.")
@click.option(
    "--timeout", type=click.FloatRange(0), default=3600.0, show_default=True, help="Seconds."
)
@click.option(
    "--max-profiles",
    type=click.IntRange(1),
    default=None,
    help="The domain's user-profile quota, when Service Quotas cannot tell.",
)
@click.option("--skip-quota-check", is_flag=True, help="Do not check the user-profile quota.")
@common.domain_option
@common.team_role_option
@common.where_options
def command(
    where: common.Where,
    file: Path,
    dry_run: bool,
    concurrency: int,
    report: Path | None,
    no_wait: bool,
    timeout: float,
    max_profiles: int | None,
    skip_quota_check: bool,
    domain: str,
    team_role: str,
) -> None:
    """Onboard the people of a CSV (person, persona, email, team, cost_center; optional
    allow_generic, sso_user)."""
    from factory.users import bulk, provision

    rows, known = _validated(file, where, domain, team_role)
    aws = common.clients(where)
    present = {str(item["Name"]): item for item in provision.listing(aws.sc)}
    planned = bulk.plan(rows, present)
    creates = [item for item in planned if item.action == "create"]
    if not skip_quota_check:
        _check_quota(aws, len(present), len(creates), max_profiles)
    if dry_run:
        _show_plan(planned)
        return
    steps = [bulk.launch_step(item.row, known[item.row.persona]) for item in creates]
    stop = threading.Event()
    outcome = _apply(aws, where, steps, concurrency, stop, wait=not no_wait, timeout=timeout)
    results = _merge(planned, outcome)
    common.echo_results(results, where.output, all_rows=False)
    if report is not None:
        extra = {
            "file": str(file),
            "region": aws.region,
            "concurrency": concurrency,
            "attempts": outcome.stats.attempts if outcome else 0,
            "retries": outcome.stats.retries if outcome else 0,
            "interrupted": stop.is_set(),
        }
        common.write_report(report, results, extra)
    _exit(results, stop.is_set())


def _validated(
    file: Path, where: common.Where, domain: str, team_role: str
) -> tuple[list[Any], Any]:
    """The rows (`--domain`/`--team-role` for those without a value of their own), every
    problem at once before any AWS call."""
    from dataclasses import replace

    from factory.users import bulk

    known = common.personas(where)
    try:
        rows = [
            replace(r, domain=r.domain or domain, team_role=r.team_role or team_role)
            for r in bulk.read_rows(file)
        ]
        bulk.validate(file, rows, known)
    except bulk.ImportProblems as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"error: {file}: {len(exc.problems)} problem(s); nothing provisioned", err=True)
        sys.exit(EXIT_ERROR)
    return rows, known


def _check_quota(aws: common.Clients, existing: int, new: int, max_profiles: int | None) -> None:
    """Refuse before any launch when the new people would exceed the user-profile quota.

    SageMaker's quota is "Maximum number of Studio user profiles allowed per account"
    (L-AC46C40F, per account and region, not per domain: factory.users.quota). `existing`
    counts the catalog's provisioned profiles, a lower bound: profiles made outside the
    catalog are invisible without SageMaker permissions (README, Users)."""
    if new == 0:
        return
    from factory.users import quota

    limit: Any = max_profiles
    if limit is None:
        try:
            limit = quota.profile_quota(aws.client("service-quotas"))
        except Exception as exc:  # the check is advisory: a read failure must not block
            click.echo(f"warning: Service Quotas: {exc}", err=True)
    if limit is None:
        click.echo(
            "warning: the domain's user-profile quota is unknown (Service Quotas lists none); "
            "pass --max-profiles to check it",
            err=True,
        )
        return
    problem = quota.check_capacity(existing, new, limit)
    if problem is not None:
        raise UserError("quota", problem, "nothing provisioned")


def _show_plan(planned: list[Planned]) -> None:
    for item in planned:
        detail = f"\t{item.detail}" if item.detail else ""
        click.echo(f"{item.row.person}\t{item.row.persona}\t{item.action}{detail}")
    creates = sum(item.action == "create" for item in planned)
    broken = sum(item.action == "broken" for item in planned)
    present = len(planned) - creates - broken
    text = f"plan: {creates} to create, {present} already present"
    click.echo(text + (f", {broken} broken (see above)" if broken else ""), err=True)


def _apply(
    aws: common.Clients,
    where: common.Where,
    steps: list[Any],
    concurrency: int,
    stop: threading.Event,
    *,
    wait: bool,
    timeout: float,
) -> Outcome[Result] | None:
    if not steps:
        return None
    return common.run_steps(  # type: ignore[no-any-return]
        aws,
        common.target(aws.sc, where),
        steps,
        concurrency=concurrency,
        stop=stop,
        wait=wait,
        timeout=timeout,
        labels=("launching", "provisioning"),
        stopping="no new launch starts; those in flight finish",
    )


def _merge(planned: list[Planned], outcome: Outcome[Result] | None) -> list[Result]:
    """One result per row, in file order."""
    from factory.users.provision import Result, provisioned_name

    done = iter(outcome.results if outcome else [])
    results = []
    for item in planned:
        person, name = item.row.person, provisioned_name(item.row.person)
        if item.action == "broken":
            results.append(Result(person, name, "failed", item.detail))
            continue
        if item.action != "create":
            results.append(Result(person, name, item.action))
            continue
        result = next(done)
        results.append(result or Result(person, name, "not attempted", "stopped before"))
    return results


def _exit(results: list[Result], interrupted: bool) -> None:
    if interrupted:
        click.echo("interrupted: re-run the same file to provision the rest", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if any(r.status in ("failed", "in progress") for r in results):
        sys.exit(EXIT_ERROR)
