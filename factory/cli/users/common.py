"""What the `users` commands share: options, clients, personas, Ctrl-C, progress, reports."""

from __future__ import annotations

import difflib
import functools
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from factory.cli import interrupt
from factory.cli.console import console, is_terminal
from factory.cli.errors import UserError
from factory.cli.options import check_endpoints

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from factory.portfolio.personas import Persona
    from factory.users.provision import Result

USER_PROFILE_PRODUCT = "studio-user-profile"
F = Callable[..., Any]


@dataclass(frozen=True)
class Where:
    """The options every `users` command takes."""

    env: str
    region: str | None
    profile: str | None
    portfolios: Path
    templates: Path
    output: str
    product: str = USER_PROFILE_PRODUCT


def where_options(function: F) -> F:
    """Decorate a command with the shared options; it receives them as `where: Where`."""
    from factory.cli.options import (
        env_option,
        output_option,
        portfolios_option,
        templates_option,
    )

    options = [
        env_option(),
        click.option("--region", default=None, help="Region (default: the profile's region)."),
        click.option("--profile", default=None, help="AWS profile: the cloud admin's role."),
        portfolios_option(),
        templates_option(),
        output_option("json: one object per person on stdout (README, Users)."),
        click.option(
            "--product",
            default=USER_PROFILE_PRODUCT,
            show_default=True,
            help="Id (in portfolios/) of the user-profile product to launch.",
        ),
    ]

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> Any:
        where = Where(**{name: kwargs.pop(name) for name in Where.__dataclass_fields__})
        return function(where=where, **kwargs)

    from factory.cli.options import decorate

    return decorate(wrapper, options)


# --- AWS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clients:
    """`sc` retries as the publisher does (reads); `sc_once` makes one attempt per call, for
    changes the runner retries itself (factory.users.runner)."""

    region: str
    sc: BaseClient
    sc_once: BaseClient
    profile: str | None

    def client(self, service: str, region: str | None = None) -> BaseClient:
        from factory import aws

        return aws.client(service, region or self.region, self.profile)


def clients(where: Where) -> Clients:
    from factory import aws
    from factory.users.runner import ONE_ATTEMPT

    check_endpoints()
    session = aws.session(where.profile, where.region)  # one session for both clients
    region = session.region_name
    if not region:
        raise UserError("--region", "no region given", "pass --region or set AWS_REGION")
    return Clients(
        region=region,
        sc=aws.without_quota_retries(session.client("servicecatalog", config=aws.RETRY_CONFIG)),
        sc_once=aws.without_quota_retries(session.client("servicecatalog", config=ONE_ATTEMPT)),
        profile=where.profile,
    )


# --- the catalog ------------------------------------------------------------------------------


def domain_option(function: F) -> F:
    return click.option(
        "--domain",
        default="",
        help="The Studio domain (the domain product's name; default: the user-profile "
        "product's default domain).",
    )(function)


def team_role_option(function: F) -> F:
    return click.option(
        "--team-role",
        default="",
        help="Run as this team's execution role (a studio-team-role launch's TeamName; Team "
        "personas only).",
    )(function)


def personas(where: Where) -> Mapping[str, Persona]:
    from factory.portfolio import PortfolioConfigError
    from factory.portfolio.personas import load_personas

    try:
        return load_personas(where.portfolios / "personas.yaml")
    except PortfolioConfigError as exc:
        raise UserError("", f"invalid personas:\n{exc}") from exc


def persona(known: Mapping[str, Persona], name: str, flag: str = "--persona") -> Persona:
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(
            f"{flag} {name}", f"unknown persona{hint}", f"allowed: {', '.join(sorted(known))}"
        )
    return known[name]


def product_name(where: Where) -> str:
    """The user-profile product's display name in this environment's catalog."""
    from factory.portfolio import PortfolioConfigError, load_catalog

    try:
        catalog = load_catalog(where.portfolios, where.env, where.templates)
    except PortfolioConfigError as exc:
        raise UserError("", f"invalid portfolio definitions:\n{exc}") from exc
    product = catalog.products.get(where.product)
    if product is None:
        raise UserError(
            str(where.portfolios),
            f"no product {where.product!r}",
            f"add it to a portfolio, or pass --product with one of: {', '.join(catalog.products)}",
        )
    return product.display_name


def target(sc: BaseClient, where: Where) -> Any:
    from factory.users import provision

    try:
        return provision.find_target(sc, product_name(where))
    except provision.UsersError as exc:
        raise UserError("users", str(exc)) from exc


# --- running ----------------------------------------------------------------------------------


def stop_on_interrupt(stop: threading.Event, what: str) -> AbstractContextManager[None]:
    """First Ctrl-C: set `stop` (no new change starts; those in flight finish). Second: exit
    at once; a re-run converges (deterministic names and tokens)."""
    return interrupt.stop_on_interrupt(
        stop, f"stopping: {what}", "stopped; re-run the same command to finish"
    )


class Progress:
    """A rich progress bar on stderr when it is a terminal; otherwise silent."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if is_terminal(stderr=True):
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console(stderr=True),
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)

    def task(self, name: str, total: int) -> Callable[[object], None]:
        """A callback advancing the bar `name` by one."""
        if self._bar is None or total == 0:
            return lambda _: None
        task_id = self._bar.add_task(name, total=total)
        lock = threading.Lock()

        def advance(_: object) -> None:
            with lock:
                self._bar.update(task_id, advance=1)

        return advance


def run_steps(
    aws: Clients,
    target: Any,
    steps: list[Any],
    *,
    concurrency: int,
    stop: threading.Event,
    wait: bool,
    timeout: float,
    labels: tuple[str, str | None],
    stopping: str,
) -> Any:
    """Apply `steps` with the runner (bounded concurrency, slot-free retries, Ctrl-C), then
    follow what was accepted to its end unless `wait` is off or the run was stopped.

    `labels`: the progress bars of the two phases (none for the second when None);
    `stopping`: what the first Ctrl-C says. Returns the runner's Outcome."""
    from factory.users import runner, watch
    from factory.users.steps import Context, failed

    context = Context(aws.sc_once, target)
    applying, settling = labels
    with stop_on_interrupt(stop, stopping), Progress() as bar:
        outcome = runner.run_all(
            steps,
            lambda step: step.apply(context),
            failed,
            concurrency=concurrency,
            should_stop=stop.is_set,
            on_done=bar.task(applying, len(steps)),
        )
        accepted = [r for r in outcome.results if r is not None]
        if wait and not stop.is_set():
            on_settled = bar.task(settling, len(watch.pending(accepted))) if settling else None
            watch.settle(
                aws.sc, accepted, timeout_s=timeout, should_stop=stop.is_set, on_settled=on_settled
            )
    return outcome


def with_not_attempted(steps: list[Any], outcome: Any) -> list[Result]:
    """One result per step: a step the stop came before is `not attempted`."""
    from factory.users.provision import Result

    return [
        result or Result(step.person, step.name, "not attempted", "stopped before")
        for step, result in zip(steps, outcome.results, strict=True)
    ]


# --- output -----------------------------------------------------------------------------------

STATUS_ORDER = (
    "created",
    "updated",
    "removed",
    "already present",
    "up to date",
    "absent",
    "launched",
    "updating",
    "removing",
    "in progress",
    "not attempted",
    "failed",
)


def counts(results: list[Result]) -> dict[str, int]:
    found = {status: sum(r.status == status for r in results) for status in STATUS_ORDER}
    return {status: n for status, n in found.items() if n}


def summary(results: list[Result]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts(results).items()) or "nothing to do"


def echo_results(results: list[Result], output: str, *, all_rows: bool = True) -> None:
    """json: the results on stdout; table: failures (and with `all_rows` every person) on
    stderr-side lines, then the summary."""
    if output == "json":
        click.echo(json.dumps([asdict(r) for r in results], indent=2, default=str))
    else:
        for result in results:
            if all_rows or result.status in ("failed", "in progress", "not attempted"):
                detail = f"  {result.detail}" if result.detail else ""
                click.echo(f"{result.person}\t{result.status}{detail}")
    for result in results:
        if result.status == "failed":
            click.echo(f"error: {result.person}: {result.detail}", err=True)
    click.echo(summary(results), err=True)


def write_report(path: Path, results: list[Result], extra: Mapping[str, Any]) -> None:
    """The machine-readable report, written atomically (a crash never leaves half a file)."""
    document = {**extra, "counts": counts(results), "people": [asdict(r) for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, default=str)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def confirm(question: str, yes: bool, refuse: str) -> None:
    """Ask on a terminal; without one, `--yes` is required (`refuse` says so)."""
    if yes:
        return
    if not (sys.stdin.isatty() and is_terminal()):
        raise UserError("--yes", refuse, "pass --yes to confirm")
    if not click.confirm(question, default=False, err=True):
        raise UserError("", "not confirmed", "nothing changed")
