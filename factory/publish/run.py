"""Plan and publish several regions concurrently (bounded), one independent run per region.

`publish` in a region: environment check, plan; when something is pending, the template
bucket and the templates are checked and the quotas counted (factory.publish.preconditions),
then the region's publish lock is taken (factory.publish.lock), the plan computed again (it
sees what a publisher that held the lock before did) and applied step by step. Nothing is
written before every check passed. `Options.stop` (Ctrl-C) stops between steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.aws import Clients
from factory.portfolio import Catalog, load_catalog
from factory.publish import preconditions
from factory.publish.apply import Outcome, apply_plan
from factory.publish.lock import DEFAULT_TTL_S, LockHeld, PublishLock, break_lock, publish_lock
from factory.publish.plan import PreconditionFailed, desired_digests, plan_region
from factory.publish.state import DuplicateResources, LiveState
from factory.publish.steps import Refused, Step

MAX_REGION_WORKERS = 4
#: Statuses of a change in results and in `--output json` (README, "Publishing").
PENDING, APPLIED, FAILED, SKIPPED, NOT_ATTEMPTED, INFO, REFUSED = (
    "pending",
    "applied",
    "failed",
    "skipped",
    "not attempted",
    "info",
    "refused",
)


@dataclass
class RegionResult:
    region: str
    changes: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: changes that failed or were skipped because one they depend on failed (apply goes on)
    failures: list[str] = field(default_factory=list)
    applied: int = 0
    error: str | None = None
    outcome: Outcome | None = None
    #: Ctrl-C stopped the run between two changes
    interrupted: bool = False
    #: share targets without the bootstrap stack (factory.publish.coverage); never an error
    coverage_warnings: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """Changes publish would make (orphans and refused prunes are only shown)."""
        return any(not step.informational for step in self.changes)

    def statuses(self) -> list[tuple[Step, str, str | None]]:
        """Each change with its status and, when it failed, the error."""
        failed = {id(f.step): f.message for f in self.outcome.failures} if self.outcome else {}
        applied = {id(s) for s in self.outcome.applied} if self.outcome else set()
        rows: list[tuple[Step, str, str | None]] = []
        for step in self.changes:
            if isinstance(step, Refused):
                rows.append((step, REFUSED, step.detail))
            elif step.informational:
                rows.append((step, INFO, None))
            elif self.outcome is None:
                rows.append((step, PENDING, None))
            elif id(step) in applied:
                rows.append((step, APPLIED, None))
            elif id(step) in failed:
                message = failed[id(step)]
                rows.append((step, SKIPPED if message.startswith("skipped") else FAILED, message))
            else:
                rows.append((step, NOT_ATTEMPTED, None))
        return rows


@dataclass
class Options:
    regions: Sequence[str]
    profile: str | None = None
    bucket: str | None = None
    prune: bool = False
    stop_after: int | None = None
    break_lock: bool = False
    lock_ttl_s: float = DEFAULT_TTL_S
    skip_environment_check: bool = False
    skip_quota_check: bool = False
    #: no bootstrap coverage check (factory.publish.coverage), no CloudFormation call
    skip_coverage_check: bool = False
    #: set by Ctrl-C: every region stops between two changes
    stop: threading.Event = field(default_factory=threading.Event)
    #: the caller's wording of known errors (credentials, endpoints): the CLI's one style
    describe_error: Callable[[Exception], str | None] | None = None
    #: progress: called with (region, step, steps in the plan) after each applied step
    progress: Callable[[str, Step, int], None] | None = None


def load(
    portfolios: Path, env: str, templates: Path, regions: Sequence[str] = ()
) -> tuple[Catalog, dict[str, str]]:
    """Validate the YAML and hash the templates: everything that needs no AWS call.
    `regions` are the regions about to be published to (region-dependent rules, e.g. a
    notification topic must be in the region of the portfolio)."""
    catalog = load_catalog(portfolios, env, templates, regions=regions)
    return catalog, desired_digests(catalog)


def _region(
    catalog: Catalog, digests: dict[str, str], region: str, options: Options, apply: bool
) -> RegionResult:
    result = RegionResult(region)
    try:
        clients = Clients.create(region, options.profile)
        if apply:
            _publish_region(clients, catalog, digests, options, result)
        else:
            state, result.changes = plan_region(clients, catalog, digests, prune=options.prune)
            result.warnings.extend(state.warnings)
            _orphans(result)
    except (DuplicateResources, PreconditionFailed, LockHeld) as exc:
        result.error = f"nothing written: {exc}"
    except Exception as exc:  # reported per region; other regions carry on
        known = options.describe_error(exc) if options.describe_error else None
        result.error = known or f"{type(exc).__name__}: {exc}"
    return result


def _check_environment(clients: Clients, catalog: Catalog, options: Options) -> list[str]:
    if options.skip_environment_check:
        return ["environment check skipped (--skip-environment-check)"]
    preconditions.check_environment(clients, catalog)
    return []


def _check_plan(catalog: Catalog, state: LiveState, steps: list[Step], options: Options) -> None:
    preconditions.check_templates(catalog, steps)
    if not options.skip_quota_check:
        preconditions.check_quotas(catalog, state, steps)


def _publish_region(
    clients: Clients,
    catalog: Catalog,
    digests: dict[str, str],
    options: Options,
    result: RegionResult,
) -> None:
    result.warnings.extend(_check_environment(clients, catalog, options))
    state, result.changes = plan_region(clients, catalog, digests, prune=options.prune)
    if not result.pending and not options.break_lock:
        result.warnings.extend(state.warnings)  # a no-op publish takes no lock, writes nothing
        _orphans(result)
        _refused(result)
        return
    bucket = preconditions.resolve_bucket(clients, options.bucket)
    _check_plan(catalog, state, result.changes, options)
    if options.break_lock:
        broken = break_lock(clients.s3, bucket, clients.region)
        if broken is not None:
            result.warnings.append(f"broke the publish lock of {broken.holder} ({broken.run_id})")
    with publish_lock(clients.s3, bucket, clients.region, ttl_s=options.lock_ttl_s) as lock:
        state, result.changes = plan_region(clients, catalog, digests, prune=options.prune)
        _check_plan(catalog, state, result.changes, options)
        result.warnings.extend(state.warnings)
        if result.pending:
            refresh = _refresher(lock, options.lock_ttl_s)
            total = sum(not step.informational for step in result.changes)

            def on_step(step: Step) -> None:
                refresh()
                if options.progress is not None:
                    options.progress(clients.region, step, total)

            result.outcome = apply_plan(
                clients,
                catalog,
                state,
                result.changes,
                bucket=bucket,
                stop_after=options.stop_after,
                on_step=on_step,
                should_stop=options.stop.is_set,
            )
            result.applied = result.outcome.mutations
            result.interrupted = bool(result.outcome.not_attempted)
            result.warnings.extend(result.outcome.warnings)
            result.failures.extend(str(failure) for failure in result.outcome.failures)
        _orphans(result)
        _refused(result)
    result.warnings.extend(lock.warnings)


def _orphans(result: RegionResult) -> None:
    """Orphans (ours, gone from the YAML, kept without --prune) are reported as warnings."""
    result.warnings.extend(
        f"orphan {step.resource} ({step.detail})"
        for step in result.changes
        if step.informational and not isinstance(step, Refused)
    )


def _refused(result: RegionResult) -> None:
    """A refused prune is a failure of the run (exit 1), shown with its reason."""
    result.failures.extend(
        f"{step.action} {step.resource}: {step.detail}"
        for step in result.changes
        if isinstance(step, Refused)
    )


def _refresher(lock: PublishLock, ttl_s: float) -> Callable[[], None]:
    """Extend the lock when a third of its lifetime has passed (one PutObject, not one per
    step); LockLost (someone took it over) propagates and stops the run."""
    last = time.monotonic()

    def refresh() -> None:
        nonlocal last
        if time.monotonic() - last > ttl_s / 3:
            lock.refresh()
            last = time.monotonic()

    return refresh


def check_bucket(bucket: str | None, regions: Sequence[str]) -> str | None:
    """One `--bucket` for several regions would point every region's versions at one region's
    bucket; each region's bootstrap stack writes its own bucket to SSM instead."""
    if bucket and len(regions) > 1:
        return (
            f"one bucket ({bucket}) for {len(regions)} regions; "
            "publish one region at a time with --bucket, or omit it to use each region's "
            "bootstrap bucket (SSM /studio-catalog/bootstrap/template-bucket-name)"
        )
    return None


def run(
    catalog: Catalog, digests: dict[str, str], options: Options, *, apply: bool
) -> list[RegionResult]:
    """Every region in a bounded pool. The pool's threads are not waited for on a hard stop
    (a second Ctrl-C): the caller exits; what was written is re-planned by the next run."""
    workers = max(1, min(MAX_REGION_WORKERS, len(options.regions)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="region")
    futures: list[Future[Any]] = [
        pool.submit(_region, catalog, digests, region, options, apply) for region in options.regions
    ]
    try:
        results = [_wait(future) for future in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if not options.skip_coverage_check and not options.stop.is_set():
        _coverage(catalog, results, options)
    return results


def _coverage(catalog: Catalog, results: list[RegionResult], options: Options) -> None:
    """The bootstrap coverage of the shares in each region planned without an error."""
    from factory.publish import coverage

    checked = [r for r in results if r.error is None]
    if not checked:
        return
    found, _ = coverage.check(catalog, [r.region for r in checked], options.profile)
    for result in checked:
        result.coverage_warnings.extend(found.get(result.region, []))


def _wait(future: Future[Any]) -> Any:
    """`future.result()` in short waits, so a KeyboardInterrupt reaches the main thread."""
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue
