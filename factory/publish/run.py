"""Plan and publish several regions concurrently (bounded), one independent run per region."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from factory.portfolio import Catalog, load_catalog
from factory.publish.apply import apply_plan
from factory.publish.aws import Clients
from factory.publish.plan import Change, desired_digests, plan_region
from factory.publish.state import DuplicateResources

MAX_REGION_WORKERS = 4


@dataclass
class RegionResult:
    region: str
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: changes that failed or were skipped because one they depend on failed (apply goes on)
    failures: list[str] = field(default_factory=list)
    applied: int = 0
    error: str | None = None

    @property
    def pending(self) -> bool:
        return bool(self.changes)


@dataclass
class Options:
    regions: Sequence[str]
    profile: str | None = None
    bucket: str | None = None
    prune: bool = False
    stop_after: int | None = None


def load(portfolios: Path, env: str, templates: Path) -> tuple[Catalog, dict[str, str]]:
    """Validate the YAML and hash the templates: everything that needs no AWS call."""
    catalog = load_catalog(portfolios, env, templates)
    return catalog, desired_digests(catalog)


def _region(
    catalog: Catalog, digests: dict[str, str], region: str, options: Options, apply: bool
) -> RegionResult:
    result = RegionResult(region)
    try:
        clients = Clients.create(region, options.profile)
        state, result.changes = plan_region(clients, catalog, digests, prune=options.prune)
        result.warnings.extend(state.warnings)
        if apply and result.changes:
            ctx = apply_plan(
                clients,
                catalog,
                state,
                result.changes,
                bucket=options.bucket,
                stop_after=options.stop_after,
            )
            result.applied = ctx.mutations
            result.warnings.extend(ctx.warnings)
            result.failures.extend(str(failure) for failure in ctx.failures)
    except DuplicateResources as exc:
        result.error = f"nothing written: {exc}"
    except Exception as exc:  # reported per region; other regions carry on
        result.error = f"{type(exc).__name__}: {exc}"
    return result


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
