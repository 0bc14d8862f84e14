"""Local AWS fixtures shared by the test modules.

* ``aws`` (session): one :class:`LocalAWS` (moto + the Service Catalog stand-in on loopback).
  Nothing resets it by itself; take ``local_aws`` (or ``publish_workspace``) to get it empty.
* ``local_aws``: ``aws`` emptied (moto and the stand-in), its fault injection off (and the
  StackSets stand-in's knobs, ``stacksets.BEHAVIOUR``, back to their defaults), the
  stand-in in ``standin_realism`` mode, and the ``AWS_ENDPOINT_URL...`` environment exported
  for the test, so unmodified boto3 code (the publisher, the CLI) reaches it.
* ``standin_realism``: :data:`PUBLISHER_REALISM` (issue 8: publisher tests run under the
  realistic mode), or ``Realism()`` (the simple mode: immediate, consistent, never throttled)
  for a test marked ``@pytest.mark.simple_standin(reason="...")``. The reason is required:
  it says which realistic behaviour the test cannot live with and why that is fine. Override
  the fixture in a module to run the whole module under other settings.
* ``publish_workspace``: ``local_aws`` with the template bucket (support.publish.BUCKET) and a
  temporary directory holding ``portfolios/environments/dev.yaml`` and the templates alpha,
  beta and gamma; the module writes its own ``portfolios/catalog.yaml``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory.testing import stacksets
from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import Realism
from tests.support.clock import VirtualClock

#: The realistic mode for the publisher: Realism.realistic (idempotency tokens that expire after
#: 300 s, ResourceNotFound and lagging lists after a create, CREATING before AVAILABLE, per-
#: operation throttling), as the management account with Organizations access, because the
#: catalogs share with an OU (API reference, CreatePortfolioShare). Timings chosen for the
#: publisher's waits (factory.publish.context.NOT_FOUND_DELAYS_S: 0.1 s, 0.2 s, ...;
#: steps.wait_available: 0.05 s, 0.1 s, ...) and loopback, where a request takes a few ms and
#: CreateProvisioningArtifact ~70 ms (it validates the template):
#: * not_found_window_s 0.05 (default 0.2): still ~10x a round trip, so the read that follows a
#:   create fails; the publisher's first retry, 0.1 s later, succeeds (with 0.2 s every create
#:   waited for the second retry too, 0.3 s instead of 0.1 s: these tests took 3 min, not 2);
#: * available_after_s 0.25 (default 0.2): a new version's first status read, after the
#:   create (~70 ms) and the ResourceNotFound retry (0.1 s), comes ~0.18 s after the create;
#:   with 0.2 s it rarely saw CREATING, with 0.25 s it always does, so the wait for
#:   AVAILABLE before older versions are deprecated runs on every release;
#: * rates 12/s, burst 8 per operation (default 25/s, burst 50, which this suite never
#:   reached): only bursts are throttled, about ten times per run of the publisher tests,
#:   mostly DescribePortfolioShares (four per portfolio read; a publish with changes reads
#:   twice, before and after taking the lock, often right after a plan); botocore's
#:   standard retry mode (aws.RETRY_CONFIG) retries ThrottlingException after
#:   rand(0, 1) * 1 s, 2 s..., so each throttled request costs about half a second.
PUBLISHER_REALISM = Realism.realistic(
    organization_role="management",
    organizations_access=True,
    not_found_window_s=0.05,
    available_after_s=0.25,
    rates={"*": (12.0, 8.0)},
)
#: The stand-in's simple mode.
SIMPLE = Realism()
#: Quotas and fault injection every test starts from (AWS's 100 versions per product).
ARTIFACTS_PER_PRODUCT = 100
SEED = 7


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "simple_standin(reason): run against the stand-in's simple mode instead of the "
        "realistic one; the reason says why the test needs it",
    )


@pytest.fixture(scope="session")
def aws() -> Iterator[LocalAWS]:
    """One LocalAWS for the session; take ``local_aws`` to get it empty and configured."""
    from tests.support.publish import REGION  # imports the CLI: only for tests that use it

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAWS(REGION) as local:
        local.standin.clock = VirtualClock()  # before any state holds a time of the clock
        yield local


@pytest.fixture
def standin_realism(request: pytest.FixtureRequest) -> Realism:
    """PUBLISHER_REALISM, or SIMPLE for a test marked ``simple_standin(reason=...)``."""
    marker = request.node.get_closest_marker("simple_standin")
    if marker is None:
        return PUBLISHER_REALISM
    reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
    if not reason:
        pytest.fail("@pytest.mark.simple_standin needs reason=...: why not the realistic mode")
    return SIMPLE


def reset_local_aws(aws: LocalAWS, realism: Realism) -> None:
    """Empty moto and the stand-in, undo every test's configuration, use ``realism``."""
    standin = aws.standin
    for operation, handler in standin._dispatch_table().items():
        standin.set_handler(operation, handler)  # a test may have replaced one
    standin.configure(
        latency_s=0.0,
        throttle_rate=0.0,
        seed=SEED,
        realism=realism,  # also refills the token buckets
        artifacts_per_product=ARTIFACTS_PER_PRODUCT,
        share_polls_before_complete=0,
        require_launch_constraint=True,
        validate_templates=True,
    )
    aws.reset()
    stacksets.BEHAVIOUR.reset()  # the StackSets stand-in's knobs (operation time, failures, clock)
    standin.reset_stats()


#: The publisher checks a create's answer for up to ~12.7 s (factory.publish.context): AWS
#: documents no bound on how long a new resource stays invisible. The stand-in's window is
#: 0.05 s here, so the check is scaled down with it (still 14x the window), or every replay
#: of a deleted resource (prune, then re-add) would wait the full 12.7 s.
CREATE_CHECK_DELAYS_S = (0.1, 0.2, 0.4)


#: botocore's standard retry mode waits rand(0, 1) * min(2**i, 20) s after the i-th throttled
#: attempt (botocore/retries/standard.py, ExponentialBackoff). The stand-in's token buckets
#: refill in milliseconds, so the tests scale the wait down: retries still happen, in the
#: same order, only sooner.
BACKOFF_SCALE = 0.05


def fast_backoff(monkeypatch: pytest.MonkeyPatch, clock: VirtualClock | None = None) -> None:
    """Scale botocore's retry waits by BACKOFF_SCALE; with ``clock``, the scaled wait moves
    that clock (the stand-in's) instead of taking real time: only the stand-in throttles."""
    from botocore.retries.standard import ExponentialBackoff

    original = ExponentialBackoff.delay_amount

    def scaled(self: ExponentialBackoff, context: object) -> float:
        delay = float(original(self, context)) * BACKOFF_SCALE
        if clock is None:
            return delay
        clock.sleep(delay)
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", scaled)


def virtual_waits(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    """The publisher's waits (factory.publish.context.sleep/monotonic) and botocore's retry
    waits move the stand-in's virtual clock instead of taking real time. The stand-in's
    delays (CREATING, ResourceNotFound windows, token buckets) are measured on that clock,
    so every wait still sees what it would have seen after really waiting."""
    from factory.publish import context

    clock = aws.standin.clock
    if not isinstance(clock, VirtualClock):
        fast_backoff(monkeypatch)
        return
    monkeypatch.setattr(context, "sleep", clock.sleep)
    monkeypatch.setattr(context, "monotonic", clock)
    fast_backoff(monkeypatch, clock)


@pytest.fixture
def local_aws(aws: LocalAWS, standin_realism: Realism, monkeypatch: pytest.MonkeyPatch) -> LocalAWS:
    """``aws`` emptied, in ``standin_realism`` mode, its environment exported for the test."""
    from factory.publish import context

    monkeypatch.setattr(context, "CREATE_CHECK_DELAYS_S", CREATE_CHECK_DELAYS_S)
    virtual_waits(aws, monkeypatch)
    reset_local_aws(aws, standin_realism)
    for name, value in aws.env.items():
        monkeypatch.setenv(name, value)
    return aws


@pytest.fixture
def publish_workspace(local_aws: LocalAWS, tmp_path: Path) -> Path:
    """``local_aws`` with the template bucket, and a directory with environments/dev.yaml and
    the templates alpha, beta, gamma (no catalog.yaml: support.publish.write_catalog)."""
    from tests.support.publish import BUCKET, make_workspace

    local_aws.client("s3").create_bucket(Bucket=BUCKET)
    return make_workspace(tmp_path)
