"""``studio-factory bootstrap plan|deploy|status``: the bootstrap stack in every account and
region the portfolios reach, as one CloudFormation StackSet (factory.rollout).

Exit status: 0 done (plan: nothing to change), 2 changes pending (plan), 1 error or a failed
instance (status: also a DRIFTED one or a failed `--detect-drift`), 130 interrupted.
`--output json` prints one object on stdout (README, "Many accounts").
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from factory.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PENDING, UserError
from factory.cli.options import (
    Common,
    apply_endpoint,
    check_profile,
    decorate,
    env_option,
    output_option,
    portfolios_option,
    resolve_regions,
)

TEMPLATE = Path("launch/studio-catalog-bootstrap.yaml")
F = Callable[..., Any]


def _options(function: F) -> F:
    decorators = [
        env_option(),
        click.option(
            "--region",
            "regions",
            multiple=True,
            help="Target region; repeat for several (default: the environment's `regions`).",
        ),
        click.option(
            "--admin-region",
            default=None,
            help="Region the StackSet lives in (default: bootstrap.admin_region, else the first "
            "target region).",
        ),
        portfolios_option(),
        click.option(
            "--template",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help=f"Bootstrap template (default: the project's {TEMPLATE}).",
        ),
        click.option(
            "--call-as",
            type=click.Choice(["SELF", "DELEGATED_ADMIN"]),
            default=None,
            help="SELF (management account) or DELEGATED_ADMIN (default: bootstrap.call_as).",
        ),
        output_option(),
        click.option(
            "--bucket",
            default=None,
            help="Template bucket in the admin region (default: SSM "
            "/studio-catalog/bootstrap/template-bucket-name).",
        ),
        click.option("--profile", default=None, help="AWS profile (default: AWS_PROFILE)."),
        click.option("--endpoint-url", default=None, help="Send every AWS call there."),
        click.option("--quiet", "-q", is_flag=True, help="Only errors and the summary."),
    ]

    return decorate(function, decorators)


def _prepare(kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """Flags, environment file, catalog and template: everything before AWS."""
    from factory.cli.plan import locate_project
    from factory.portfolio import PortfolioConfigError, load_catalog
    from factory.rollout.run import Options

    common = Common(
        env=kwargs["env"],
        regions=tuple(kwargs["regions"]),
        portfolios=kwargs["portfolios"],
        templates=kwargs["portfolios"].parent / "templates",
        output=kwargs["output"],
        bucket=kwargs["bucket"],
        profile=kwargs["profile"],
        endpoint_url=kwargs["endpoint_url"],
        quiet=kwargs["quiet"],
        skip_environment_check=False,
        skip_quota_check=False,
    )
    common = locate_project(common)
    apply_endpoint(common)
    check_profile(common)
    template = kwargs["template"] or common.portfolios.parent / TEMPLATE
    if not template.is_file():
        raise UserError(f"--template {template}", "no such file", "run studio-factory build")
    try:
        catalog = load_catalog(common.portfolios, common.env, common.templates)
        regions = resolve_regions(common, tuple(catalog.environment.regions))
    except PortfolioConfigError as exc:
        raise UserError("", f"invalid portfolio definitions:\n{exc}") from exc
    options = Options(
        admin_region=kwargs["admin_region"] or _admin_region(catalog) or regions[0],
        regions=regions,
        template=template,
        profile=common.profile,
        bucket=common.bucket,
        call_as=kwargs["call_as"],
    )
    return catalog, options


def _admin_region(catalog: Any) -> str | None:
    section = catalog.environment.bootstrap
    return section.admin_region if section else None


def _run(catalog: Any, options: Any, *, apply: bool, detect_drift: bool = False) -> Any:
    from botocore.exceptions import ClientError

    from factory.rollout.run import RolloutError, explain, run, settings

    try:
        return run(catalog, options, apply=apply, detect_drift=detect_drift)
    except RolloutError as exc:
        raise UserError(exc.where, exc.what, exc.fix) from exc
    except ClientError as exc:
        wanted = settings(catalog, options.regions, options.call_as)
        text = explain(exc, wanted) or f"{exc}"
        raise UserError(f"stack set {wanted.name} ({options.admin_region})", text) from exc


# --- output -----------------------------------------------------------------------------------


def result_json(result: Any, options: Any) -> dict[str, Any]:
    """The stable shape of `--output json` for plan and deploy."""
    statuses = {id(s.step): s for s in result.outcome.steps} if result.outcome else {}
    changes = []
    for step in result.plan.steps:
        done = statuses.get(id(step))
        changes.append(
            step.as_dict()
            | {
                "status": done.status if done else "pending",
                "operation_status": done.operation_status if done else None,
                "error": done.error if done else None,
            }
        )
    return {
        "stack_set": result.settings.name,
        "admin_region": options.admin_region,
        "permission_model": result.settings.permission_model,
        "call_as": result.settings.call_as,
        "regions": list(options.regions),
        "changes": changes,
        "results": [row.as_dict() for row in result.outcome.rows] if result.outcome else [],
        "warnings": result.plan.warnings,
        "interrupted": bool(result.outcome and result.outcome.interrupted),
        "calls": result.calls,
    }


def _show_plan(data: dict[str, Any], quiet: bool) -> None:
    for change in data["changes"]:
        status = "" if change["status"] == "pending" else f"[{change['status']}] "
        line = f"{status}{change['action']} {change['resource']}"
        if change["detail"]:
            line += f" ({change['detail']})"
        click.echo(line)
        if quiet:
            continue
        for item in change.get("new") or [] if isinstance(change.get("new"), list) else []:
            click.echo(f"  + {item}")
        for item in change.get("old") or [] if isinstance(change.get("old"), list) else []:
            click.echo(f"  - {item}")
        if isinstance(change.get("new"), dict):
            for key, value in change["new"].items():
                click.echo(f"  ~ {key}: {(change['old'] or {}).get(key)} -> {value}")
        if change["error"]:
            click.echo(f"  error: {change['error']}", err=True)
    if not data["changes"]:
        click.echo(f"{data['stack_set']}: no changes")
    for warning in data["warnings"]:
        click.echo(f"warning: {warning}", err=True)


def _show_results(data: dict[str, Any]) -> None:
    if not data["results"]:
        return
    click.echo(f"{'account':<14}{'region':<16}{'status':<11}reason")
    for row in sorted(data["results"], key=lambda r: (r["account"], r["region"])):
        click.echo(f"{row['account']:<14}{row['region']:<16}{row['status']:<11}{row['reason']}")


# --- commands ---------------------------------------------------------------------------------


@click.group("bootstrap")
def command() -> None:
    """The bootstrap stack in every account a portfolio reaches, as a CloudFormation StackSet."""


@command.command("plan")
@_options
def plan_command(**kwargs: Any) -> None:
    """Instances to create, retry or delete and parameter changes; exit 2 when pending."""
    catalog, options = _prepare(kwargs)
    result = _run(catalog, options, apply=False)
    _refuse_blocked(catalog, result)
    data = result_json(result, options)
    if kwargs["output"] == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        _show_plan(data, kwargs["quiet"])
    sys.exit(EXIT_PENDING if result.plan.pending else EXIT_OK)


def _refuse_blocked(catalog: Any, result: Any) -> None:
    """A change no StackSet operation can make (a permission-model change with instances):
    an error naming the environment file's field and the way over, before any write."""
    from factory.rollout.run import blocked_error

    if result.plan.blocked:
        error = blocked_error(catalog, result.plan.blocked[0])
        raise UserError(error.where, error.what, error.fix)


@command.command("deploy")
@_options
@click.option("--yes", is_flag=True, help="Apply without asking for confirmation.")
def deploy_command(yes: bool, **kwargs: Any) -> None:
    """Create or update the StackSet and its instances; follow each operation to its end."""
    from factory.cli.publish import stop_on_interrupt

    catalog, options = _prepare(kwargs)
    if not yes:
        preview = _run(catalog, options, apply=False)
        _refuse_blocked(catalog, preview)
        if not preview.plan.pending:
            _show_plan(result_json(preview, options), kwargs["quiet"])
            sys.exit(EXIT_OK)
        _show_plan(result_json(preview, options), kwargs["quiet"])
        click.confirm("Apply these changes?", abort=True, err=True)
    with stop_on_interrupt(options.stop):
        result = _run(catalog, options, apply=True)
    data = result_json(result, options)
    if kwargs["output"] == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        _show_plan(data, kwargs["quiet"])
        _show_results(data)
    if result.outcome and result.outcome.interrupted:
        click.echo(
            "interrupted: the operation in flight goes on in AWS; re-run to converge", err=True
        )
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_ERROR if result.failed else EXIT_OK)


@command.command("status")
@_options
@click.option(
    "--detect-drift",
    is_flag=True,
    help="Run a drift detection on the StackSet first (DetectStackSetDrift, a write) and wait "
    "for it; without it status only reads.",
)
def status_command(detect_drift: bool, **kwargs: Any) -> None:
    """Stack instances (Status, StatusReason, DriftStatus) and the accounts and regions a
    portfolio reaches without one. Exit 1 when one is missing, not CURRENT or DRIFTED (or
    the drift detection failed), 130 interrupted."""
    from factory.cli.publish import stop_on_interrupt

    catalog, options = _prepare(kwargs)
    if detect_drift:
        with stop_on_interrupt(options.stop):
            result = _run(catalog, options, apply=False, detect_drift=True)
    else:
        result = _run(catalog, options, apply=False)
    data = status_json(result)
    code = _status_exit(data)
    if kwargs["output"] == "json":
        click.echo(json.dumps(data, indent=2))
        sys.exit(code)
    _show_drift_detection(data["drift_detection"])
    click.echo(f"{'account':<14}{'region':<16}{'status':<10}{'detail':<11}{'drift':<13}reason")
    for row in data["instances"]:
        click.echo(
            f"{row['account']:<14}{row['region']:<16}{row['status']:<10}"
            f"{row['detailed_status']:<11}{row['drift_status']:<13}{row['status_reason']}"
        )
    for gap in data["missing"]:
        click.echo(f"missing {gap['account']}/{gap['region']} (via {gap['via'] or 'account'})")
    for what, why in data["unreachable"].items():
        click.echo(f"unreachable {what}: {why}", err=True)
    for blocker in data["blocked"]:
        click.echo(f"warning: {blocker['field']}: {blocker['what']}; {blocker['fix']}", err=True)
    sys.exit(code)


def _status_exit(data: dict[str, Any]) -> int:
    detection = data["drift_detection"]
    if detection and detection["status"] == "interrupted":
        return EXIT_INTERRUPTED
    if detection and detection["status"] != "applied":
        return EXIT_ERROR
    return EXIT_OK if healthy(data) else EXIT_ERROR


def _show_drift_detection(detection: dict[str, Any] | None) -> None:
    if detection is None:
        return
    line = f"drift detection {detection['operation_id']}: {detection['operation_status']}"
    click.echo(line, err=True)
    if detection["status"] == "interrupted":
        click.echo("interrupted: the drift detection goes on in AWS; re-run to see it", err=True)
    elif detection["error"]:
        click.echo(f"drift detection failed: {detection['error']}", err=True)


def healthy(data: dict[str, Any]) -> bool:
    """Every target has an instance, each CURRENT (StackInstanceStatus, botocore model) and
    not DRIFTED: a health check a pipeline can gate on (exit 1 otherwise)."""
    return not data["missing"] and all(
        i["status"] == "CURRENT" and i["drift_status"] != "DRIFTED" for i in data["instances"]
    )


def status_json(result: Any) -> dict[str, Any]:
    live, want = result.plan.live, result.plan.desired
    instances = [
        {
            "account": i.account,
            "region": i.region,
            "organizational_unit": i.ou or None,
            "status": i.status,
            "detailed_status": i.detailed,
            "status_reason": i.reason,
            "drift_status": i.drift,
            "last_drift_check": i.drift_checked or None,
        }
        for _, i in sorted(live.instances.items())
    ]
    missing = [
        {"account": a, "region": r, "via": ou}
        for (a, r), ou in sorted(want.instances().items())
        if (a, r) not in live.instances
    ]
    return {
        "stack_set": result.settings.name,
        "exists": live.exists,
        "running_operation": live.running,
        "instances": instances,
        "missing": missing,
        "unreachable": dict(sorted(want.unreachable.items())),
        "blocked": [vars(b) for b in result.plan.blocked],
        "drift_detection": _drift_json(result),
    }


def _drift_json(result: Any) -> dict[str, Any] | None:
    """`--detect-drift`: the DetectStackSetDrift operation and how it ended (status applied,
    failed or interrupted); None without the flag or when there is no instance to check."""
    done = getattr(result, "drift", None)
    if done is None:
        return None
    return {
        "operation_id": done.operation_id or done.step.operation_id,
        "status": done.status,
        "operation_status": done.operation_status,
        "error": done.error,
    }
