"""Run many per-person changes with bounded concurrency, retrying transient errors without
holding a slot, stoppable between calls (Ctrl-C), continuing past per-person failures.

Why not botocore's retries alone: its standard mode sleeps inside the call, so a throttled
launch keeps its worker idle for the whole backoff and the import slows by the sum of every
backoff. Here each change is attempted with botocore's retries off (`ONE_ATTEMPT`); a
throttling or transient error puts the change back in a queue with a jittered exponential
delay, and the worker takes the next person meanwhile. The same codes botocore retries are
retried (botocore/retries/standard.py: ThrottledRetryableChecker, TransientRetryableChecker),
except quota errors (`LimitExceededException`, FIELD-NOTES: not transient).

A retried change is safe: every step carries a deterministic idempotency token, so a request
that reached the service before its answer was lost is replayed, not repeated (API reference,
ProvisionProduct `ProvisionToken`; Update/Terminate likewise).
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from botocore.config import Config
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import ReadTimeoutError

from factory.aws import NOT_RETRIED, error_code

T = TypeVar("T")
R = TypeVar("R")

#: A client for the runner's calls: one attempt, the runner retries (module docstring).
#: Not botocore's adaptive mode: its client-side rate limiter cuts the send rate on every
#: throttled answer (CUBIC, botocore/retries/adaptive.py), which under throttling that is not
#: ours (other tools sharing the account's rate) made an import of 30 people with 30%
#: throttled answers take 31 s instead of 2.4 s (tests/users/test_users_import.py). A retried
#: change waits with a jittered exponential backoff, longer at each attempt, which also
#: spreads the load when the account's rate is the limit.
ONE_ATTEMPT = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=60
)
#: botocore/retries/standard.py, ThrottledRetryableChecker._THROTTLED_ERROR_CODES and
#: TransientRetryableChecker._TRANSIENT_ERROR_CODES / _TRANSIENT_STATUS_CODES (botocore 1.35+).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "InternalFailure"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
MAX_ATTEMPTS = 10
#: Throttling is retried until the change has waited this long, whatever the attempts: the
#: account's rate is shared and unpublished (FIELD-NOTES), a throttled person is not a failed
#: one, and the backoff spreads the retries as new people run out.
THROTTLE_BUDGET_S = 900.0
#: Full-jitter exponential backoff: rand(0, 1) * min(CAP, BASE * 2 ** (attempt - 1)) seconds,
#: botocore's standard-mode formula with its 1 s base halved: the slot is free meanwhile.
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 20.0


def throttled(exc: BaseException) -> bool:
    return isinstance(exc, Exception) and error_code(exc) in THROTTLING_CODES


def transient(exc: BaseException) -> bool:
    """Worth another attempt: throttling, a 5xx, a timeout; never a quota or a client error."""
    if isinstance(exc, (ReadTimeoutError, BotocoreConnectionError)):
        return not _connect_failure(exc)
    code = error_code(exc) if isinstance(exc, Exception) else ""
    if code in NOT_RETRIED:
        return False
    if code in THROTTLING_CODES or code in TRANSIENT_CODES:
        return True
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status in TRANSIENT_STATUS


def _connect_failure(exc: BaseException) -> bool:
    """Nothing listens (wrong endpoint): retrying only delays the error (issue 9)."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    return isinstance(exc, (EndpointConnectionError, ConnectTimeoutError))


def backoff(attempt: int, rng: random.Random) -> float:
    return rng.random() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))


@dataclass
class Stats:
    attempts: int = 0
    retries: int = 0
    gave_up: int = 0


@dataclass
class Outcome(Generic[R]):
    """`results[i]` for each item attempted to the end; None for those never finished
    (stopped before their turn, or waiting for a retry when the stop came)."""

    results: list[R | None]
    stats: Stats = field(default_factory=Stats)
    stopped: bool = False

    @property
    def not_attempted(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]


class _Queue:
    """New items in order; a retried item comes back after its delay and then goes first, so
    that when the account's rate is the limit, new items cannot starve it of every slot."""

    def __init__(self, count: int, stop: Callable[[], bool]) -> None:
        self._fresh = deque(range(count))
        self._retries: list[tuple[float, int, int]] = []  # (ready at, index, attempt)
        self._open = count  # items neither finished nor given up
        self._cond = threading.Condition()
        self._stop = stop

    def take(self) -> tuple[int, int] | None:
        with self._cond:
            while not self._stop() and self._open > 0:
                now = time.monotonic()
                if self._retries and self._retries[0][0] <= now:
                    _, index, attempt = heapq.heappop(self._retries)
                    return index, attempt
                if self._fresh:
                    return self._fresh.popleft(), 1
                wait = self._retries[0][0] - now if self._retries else 0.5
                self._cond.wait(min(wait, 0.5))  # others may put an item back
            return None

    def put_back(self, index: int, attempt: int, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._retries, (time.monotonic() + delay, index, attempt))
            self._cond.notify()

    def done(self) -> None:
        with self._cond:
            self._open -= 1
            self._cond.notify_all()


def run_all(
    items: Sequence[T],
    work: Callable[[T], R],
    failed: Callable[[T, BaseException], R],
    *,
    concurrency: int,
    should_stop: Callable[[], bool] = lambda: False,
    on_done: Callable[[R], None] | None = None,
    seed: int | None = None,
) -> Outcome[R]:
    """`work(item)` for every item, at most `concurrency` at once; `failed(item, exc)` turns
    an error that is not transient (or the last attempt's) into that item's result."""
    outcome: Outcome[R] = Outcome([None] * len(items))
    queue = _Queue(len(items), should_stop)
    lock = threading.Lock()
    rng = random.Random(seed)

    def finish(index: int, result: R) -> None:
        outcome.results[index] = result
        queue.done()
        if on_done is not None:
            on_done(result)

    started: dict[int, float] = {}

    def retry(index: int, attempt: int, exc: BaseException) -> bool:
        """Put the item back for another attempt, if it deserves one."""
        if not transient(exc):
            return False
        waited = time.monotonic() - started[index]
        if attempt >= MAX_ATTEMPTS and not (throttled(exc) and waited < THROTTLE_BUDGET_S):
            with lock:
                outcome.stats.gave_up += 1
            return False
        with lock:
            outcome.stats.retries += 1
            delay, pause = backoff(attempt, rng), backoff(1, rng) / 2
        queue.put_back(index, attempt + 1, delay)
        if throttled(exc):
            # The worker slows down a little too, so a run that exceeds the account's rate
            # does not spend its attempts on new people at full speed.
            time.sleep(pause)
        return True

    def worker() -> None:
        while (taken := queue.take()) is not None:
            index, attempt = taken
            with lock:
                outcome.stats.attempts += 1
                started.setdefault(index, time.monotonic())
            try:
                result = work(items[index])
            except Exception as exc:  # one person's failure must not stop the others
                if not retry(index, attempt, exc):
                    finish(index, failed(items[index], exc))
                continue
            finish(index, result)

    threads = [
        threading.Thread(target=worker, name=f"users-{n}", daemon=True)
        for n in range(max(1, min(concurrency, len(items))))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.stopped = should_stop() and bool(outcome.not_attempted)
    return outcome
