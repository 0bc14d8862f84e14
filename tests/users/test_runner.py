"""factory.users.runner.run_all with plain work functions (no AWS): what is retried, how
often each person's change runs, how many run at once, and what a stop leaves undone."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from factory.users import runner
from factory.users.runner import run_all


def client_error(code: str, status: int = 400) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": f"{code} for the test"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "ProvisionProduct")  # type: ignore[arg-type]


def failed(item: str, exc: BaseException) -> str:
    code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
    return f"failed {item}: {code}"


class Work:
    """`work(item)`: raises `errors[item]` on the first attempts, then returns `ok <item>`;
    counts the calls and records their order."""

    def __init__(self, errors: dict[str, list[BaseException]] | None = None) -> None:
        self.errors = {item: list(raised) for item, raised in (errors or {}).items()}
        self.calls: Counter[str] = Counter()
        self.order: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, item: str) -> str:
        with self.lock:
            self.calls[item] += 1
            self.order.append(item)
            pending = self.errors.get(item)
            error = pending.pop(0) if pending else None
        if error is not None:
            raise error
        return f"ok {item}"


def fixed_backoff(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every retry waits `seconds` (and a throttled worker pauses half of it)."""

    def backoff(attempt: int, rng: random.Random) -> float:
        return seconds

    monkeypatch.setattr(runner, "backoff", backoff)


def test_throttled_changes_are_retried_and_each_finishes_exactly_once() -> None:
    items = [f"person-{i}" for i in range(12)]
    work = Work({item: [client_error("ThrottlingException")] * 2 for item in items})
    done: list[str] = []
    outcome = run_all(items, work, failed, concurrency=4, on_done=done.append, seed=1)
    assert outcome.results == [f"ok {item}" for item in items]
    assert sorted(done) == sorted(outcome.results)  # on_done once per person
    assert work.calls == Counter({item: 3 for item in items})
    assert (outcome.stats.attempts, outcome.stats.retries, outcome.stats.gave_up) == (36, 24, 0)
    assert outcome.not_attempted == [] and outcome.stopped is False


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (client_error("InvalidParametersException"), "InvalidParametersException"),
        (client_error("ResourceNotFoundException"), "ResourceNotFoundException"),
        (client_error("AccessDeniedException", 403), "AccessDeniedException"),
        (client_error("LimitExceededException"), "LimitExceededException"),
        (ValueError("a bug in the step"), "ValueError"),
    ],
    ids=["invalid", "not-found", "denied", "quota", "not-a-client-error"],
)
def test_an_error_that_is_not_transient_fails_that_person_at_once(
    error: Exception, code: str
) -> None:
    work = Work({"bob": [error]})
    outcome = run_all(["alice", "bob", "carol"], work, failed, concurrency=2)
    assert outcome.results == ["ok alice", f"failed bob: {code}", "ok carol"]
    assert work.calls["bob"] == 1
    assert outcome.stats.retries == 0


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (client_error("InternalFailure", 500), "InternalFailure"),
        (client_error("SomethingUnknown", 503), "SomethingUnknown"),
    ],
    ids=["internal-failure", "503"],
)
def test_a_transient_error_is_retried_up_to_the_attempt_limit(
    monkeypatch: pytest.MonkeyPatch, error: Exception, code: str
) -> None:
    fixed_backoff(monkeypatch, 0.001)
    work = Work({"bob": [error] * 50, "carol": [error] * 2})
    outcome = run_all(["alice", "bob", "carol"], work, failed, concurrency=2)
    assert outcome.results == ["ok alice", f"failed bob: {code}", "ok carol"]
    assert work.calls["bob"] == runner.MAX_ATTEMPTS
    assert work.calls["carol"] == 3
    assert outcome.stats.gave_up == 1


def test_throttling_outlasts_the_attempt_limit_within_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A throttled person is not a failed one: the account's rate is shared."""
    fixed_backoff(monkeypatch, 0.001)
    throttles = runner.MAX_ATTEMPTS + 3
    work = Work({"bob": [client_error("ThrottlingException")] * throttles})
    outcome = run_all(["bob"], work, failed, concurrency=1)
    assert outcome.results == ["ok bob"]
    assert work.calls["bob"] == throttles + 1
    assert outcome.stats.gave_up == 0


def test_a_stop_starts_no_new_change_and_leaves_the_rest_not_attempted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_backoff(monkeypatch, 0.3)  # alice's retry is not due before bob has stopped the run
    stop = threading.Event()
    work = Work({"alice": [client_error("ThrottlingException")]})

    def stopping(item: str) -> str:
        result = work(item)
        if item == "bob":
            stop.set()  # as Ctrl-C does while bob's change is in flight
        return result

    items = ["alice", "bob", "carol", "dave"]
    outcome = run_all(items, stopping, failed, concurrency=1, should_stop=stop.is_set)
    assert outcome.results == [None, "ok bob", None, None]  # bob in flight finished
    assert outcome.not_attempted == [0, 2, 3]
    assert outcome.stopped is True
    assert work.order == ["alice", "bob"]


@pytest.mark.parametrize("concurrency", [1, 3, 5])
def test_no_more_changes_run_at_once_than_the_concurrency(concurrency: int) -> None:
    in_flight, highest = 0, 0
    lock = threading.Lock()

    def work(item: int) -> int:
        nonlocal in_flight, highest
        with lock:
            in_flight += 1
            highest = max(highest, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return item

    outcome = run_all(list(range(20)), work, failed, concurrency=concurrency)
    assert outcome.results == list(range(20))
    assert highest == concurrency


def test_a_retry_goes_before_new_people_once_it_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_backoff(monkeypatch, 0.3)  # due 0.3 s after the throttle; the worker pauses 0.15 s
    work = Work({"alice": [client_error("ThrottlingException")]})

    def slow(item: str) -> str:
        result = work(item)
        time.sleep(0.1)
        return result

    items = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]
    outcome = run_all(items, slow, failed, concurrency=1)
    assert outcome.results == [f"ok {item}" for item in items]
    retried_at = work.order.index("alice", 1)
    # Meanwhile the slot served new people (the retry did not hold it) ...
    assert work.order[1] == "bob"
    # ... and once due, the retry went first: bob (0.15-0.25 s) and carol (0.25-0.35 s) at
    # most ran before it, not everyone else.
    assert 2 <= retried_at <= 3, work.order


def test_an_empty_list_runs_nothing() -> None:
    work = Work()
    outcome = run_all([], work, failed, concurrency=4)
    assert outcome.results == [] and not work.calls and outcome.stopped is False
