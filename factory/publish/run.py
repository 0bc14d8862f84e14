"""Plan and publish several regions concurrently (bounded), one independent run per region."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from factory.portfolio import Catalog, load_catalog
from factory.publish.apply import apply_plan
from factory.publish.aws import Clients, bucket_from_ssm
from factory.publish.lock import DEFAULT_TTL_S, LockHeld, PublishLock, break_lock, publish_lock
from factory.publish.plan import PreconditionFailed, desired_digests, plan_region
from factory.publish.state import DuplicateResources
from factory.publish.steps import Refused, Step

MAX_REGION_WORKERS = 4


@dataclass
class RegionResult:
    region: str
    changes: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: changes that failed or were skipped because one they depend on failed (apply goes on)
    failures: list[str] = field(default_factory=list)
    applied: int = 0
    error: str | None = None

    @property
    def pending(self) -> bool:
        """Changes publish would make (orphans and refused prunes are only shown)."""
        return any(not step.informational for step in self.changes)


@dataclass
class Options:
    regions: Sequence[str]
    profile: str | None = None
    bucket: str | None = None
    prune: bool = False
    stop_after: int | None = None
    break_lock: bool = False
    lock_ttl_s: float = DEFAULT_TTL_S


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
    except (DuplicateResources, PreconditionFailed, LockHeld) as exc:
        result.error = f"nothing written: {exc}"
    except Exception as exc:  # reported per region; other regions carry on
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _publish_region(
    clients: Clients,
    catalog: Catalog,
    digests: dict[str, str],
    options: Options,
    result: RegionResult,
) -> None:
    """Plan and apply under the region's publish lock (factory.publish.lock): the plan is
    computed again after the lock is taken, so it sees what a publisher that held it before
    did. A region with nothing to change takes no lock: a no-op publish writes nothing."""
    if not options.break_lock:
        state, result.changes = plan_region(clients, catalog, digests, prune=options.prune)
        if not result.pending:
            result.warnings.extend(state.warnings)
            _refused(result)
            return
    bucket = options.bucket or bucket_from_ssm(clients.ssm)
    if options.break_lock:
        broken = break_lock(clients.s3, bucket, clients.region)
        if broken is not None:
            result.warnings.append(f"broke the publish lock of {broken.holder} ({broken.run_id})")
    with publish_lock(clients.s3, bucket, clients.region, ttl_s=options.lock_ttl_s) as lock:
        state, result.changes = plan_region(clients, catalog, digests, prune=options.prune)
        result.warnings.extend(state.warnings)
        if result.pending:
            refresh = _refresher(lock, options.lock_ttl_s)
            outcome = apply_plan(
                clients,
                catalog,
                state,
                result.changes,
                bucket=bucket,
                stop_after=options.stop_after,
                on_step=lambda _step: refresh(),
            )
            result.applied = outcome.mutations
            result.warnings.extend(outcome.warnings)
            result.failures.extend(str(failure) for failure in outcome.failures)
        _refused(result)
    result.warnings.extend(lock.warnings)


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
            f"error: --bucket: one bucket ({bucket}) for {len(regions)} regions; "
            "publish one region at a time with --bucket, or omit it to use each region's "
            "bootstrap bucket (SSM /studio-catalog/bootstrap/template-bucket-name)"
        )
    return None


def run(
    catalog: Catalog, digests: dict[str, str], options: Options, *, apply: bool
) -> list[RegionResult]:
    workers = max(1, min(MAX_REGION_WORKERS, len(options.regions)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_region, catalog, digests, region, options, apply)
            for region in options.regions
        ]
        return [future.result() for future in futures]
