"""The per-region publish lock (factory.publish.lock) against local S3 over HTTP, and the local
S3 itself: conditional writes answer like S3 (factory.testing.s3_conditional).

Races are made deterministic with botocore's ``before-parameter-build`` events on a real
client: the competing call runs exactly between two of the lock's own calls. S3 answers moto
cannot give (409 ConditionalRequestConflict, AccessDenied) come from botocore's Stubber.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from pydantic import ValidationError

from factory.aws import template_key
from factory.portfolio.models import SLUG_PATTERN, Product
from factory.publish.lock import (
    BREAK_HINT,
    LOCK_PREFIX,
    LockError,
    LockHeld,
    LockLost,
    LockRecord,
    PublishLock,
    break_lock,
    current_lock,
    holder_name,
    lock_key,
    publish_lock,
)
from factory.testing import s3_conditional
from factory.testing.local_aws import LocalAWS

REGION = "us-east-1"
BUCKET = "studio-catalog-templates"
KEY = lock_key(REGION)
T0 = 1_750_000_000.0  # 2025-06-15T15:06:40Z
TTL = 600.0


class Clock:
    """Injected `now`: epoch seconds that only move when a test moves them."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAWS(REGION) as local:
        yield local


@pytest.fixture
def s3(aws: LocalAWS) -> BaseClient:
    """A fresh versioned bucket, like the bootstrap stack's template bucket."""
    aws.reset()
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def lock(s3: BaseClient, holder: str, clock: Clock, **kwargs: Any) -> PublishLock:
    kwargs.setdefault("conflict_delays_s", (0.0, 0.0, 0.0))
    return PublishLock(s3, BUCKET, REGION, holder=holder, ttl_s=TTL, now=clock, **kwargs)


def read_lock(s3: BaseClient) -> LockRecord | None:
    current = current_lock(s3, BUCKET, REGION)
    return current[0] if current else None


def code_of(exc: ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]


def once_before(client: BaseClient, operation: str, action: Callable[[dict[str, Any]], None]):
    """Run ``action(params)`` once, just before ``client`` sends its next ``operation``."""
    fired: list[bool] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        if not fired:
            fired.append(True)
            action(params)

    client.meta.events.register(f"before-parameter-build.s3.{operation}", hook)
    return fired


# --------------------------------------------------------------------------- local S3 is strict


def test_local_s3_answers_conditional_writes_like_s3(s3: BaseClient) -> None:
    """S3 API Reference, Error responses: PreconditionFailed is 412; an If-Match on a missing
    key is 404 NoSuchKey (User Guide, conditional deletes: a concurrent delete -> 404)."""
    first = s3.put_object(Bucket=BUCKET, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"2", IfNoneMatch="*")
    assert code_of(exists.value) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as stale_put:
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"2", IfMatch='"0123456789abcdef"')
    assert code_of(stale_put.value) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as stale_delete:
        s3.delete_object(Bucket=BUCKET, Key="k", IfMatch='"0123456789abcdef"')
    assert code_of(stale_delete.value) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"1"
    s3.delete_object(Bucket=BUCKET, Key="k", IfMatch=first["ETag"])
    with pytest.raises(ClientError) as missing:
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"3", IfMatch=first["ETag"])
    assert code_of(missing.value) == (404, "NoSuchKey")
    # a delete marker is "no object" for If-None-Match (versioned bucket)
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"4", IfNoneMatch="*")


@pytest.mark.parametrize("condition", ["create", "take-over"])
def test_local_s3_evaluates_the_condition_with_the_write(
    aws: LocalAWS, s3: BaseClient, monkeypatch: pytest.MonkeyPatch, condition: str
) -> None:
    """moto checks the condition, then writes; with the window between the two widened, two
    concurrent conditional writers both won before s3_conditional.install(). S3 checks during
    the write: exactly one wins, the other gets 412."""
    from moto.s3.models import S3Backend

    assert s3_conditional.installed()
    key = f"race-{condition}"
    kwargs: dict[str, str] = {"IfNoneMatch": "*"}
    if condition == "take-over":
        kwargs = {"IfMatch": s3.put_object(Bucket=BUCKET, Key=key, Body=b"old")["ETag"]}
    original = S3Backend.put_object

    def slow_put(self: Any, bucket_name: str, key_name: str, *args: Any, **kw: Any) -> Any:
        time.sleep(0.3)  # between moto's check and its write
        return original(self, bucket_name, key_name, *args, **kw)

    monkeypatch.setattr(S3Backend, "put_object", slow_put)
    clients = [aws.client("s3") for _ in range(2)]
    barrier = threading.Barrier(2)
    won: list[int] = []
    lost: list[tuple[int, str]] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            clients[i].put_object(Bucket=BUCKET, Key=key, Body=f"writer {i}".encode(), **kwargs)
            won.append(i)
        except ClientError as exc:
            lost.append(code_of(exc))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert lost == [(412, "PreconditionFailed")]
    monkeypatch.undo()
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == f"writer {won[0]}".encode()


# --------------------------------------------------------------------------- acquire


def test_acquire_on_an_empty_bucket_writes_the_lock(s3: BaseClient) -> None:
    clock = Clock()
    first = lock(s3, "alice@build-1 pid 42", clock).acquire()
    assert first.held
    obj = s3.get_object(Bucket=BUCKET, Key=KEY)
    body = json.loads(obj["Body"].read())
    assert obj["ETag"] == first.etag
    assert body["holder"] == "alice@build-1 pid 42"
    assert body["run_id"] == first.run_id
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first.run_id
    )
    assert body["acquired_at"] == "2025-06-15T15:06:40Z"
    assert datetime.fromisoformat(body["expires_at"]) == datetime.fromtimestamp(T0 + TTL, UTC)
    assert body["region"] == REGION


def test_a_second_acquire_raises_lock_held_naming_the_first_holder(s3: BaseClient) -> None:
    clock = Clock()
    first = lock(s3, "GitHub Actions org/repo run 7", clock).acquire()
    clock.t += TTL - 1
    second = lock(s3, "bob@laptop pid 9", clock)
    with pytest.raises(LockHeld) as held:
        second.acquire()
    message = str(held.value)
    assert message.startswith(f"s3://{BUCKET}/{KEY}: ")
    for part in (
        "GitHub Actions org/repo run 7",
        first.run_id,
        "since 2025-06-15T15:06:40Z",
        "expires 2025-06-15T15:16:40Z",
        "wait for it to finish, or after 2025-06-15T15:16:40Z re-run",
        BREAK_HINT,
        "studio-factory publish --break-lock",
    ):
        assert part in message
    assert held.value.record.run_id == first.run_id
    assert not second.held
    assert read_lock(s3).run_id == first.run_id  # untouched


def test_the_same_lock_object_is_not_taken_twice_by_one_run(s3: BaseClient) -> None:
    """A retried PutObject whose first attempt was applied meets our own lock (412): the run id
    says it is ours (worst case the docs are silent on)."""
    clock = Clock()
    first = lock(s3, "ci", clock).acquire()
    again = lock(s3, "ci", clock, run_id=first.run_id).acquire()
    assert again.held and again.etag == first.etag


def test_a_lock_deleted_between_the_create_and_the_read_is_created_again(
    aws: LocalAWS, s3: BaseClient
) -> None:
    clock = Clock()
    lock(s3, "crashed", clock).acquire()
    other = aws.client("s3")
    taker = lock(s3, "next", clock)
    fired = once_before(s3, "GetObject", lambda _: other.delete_object(Bucket=BUCKET, Key=KEY))
    taker.acquire()
    assert fired and taker.held
    assert read_lock(s3).run_id == taker.run_id


def test_an_unreadable_lock_never_expires_by_itself(s3: BaseClient) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"not json")
    with pytest.raises(LockHeld, match=r"cannot be read .* never expires by itself"):
        lock(s3, "late", Clock(T0 + 10 * 365 * 86400)).acquire()
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"not json"
    assert break_lock(s3, BUCKET, REGION) is not None
    assert lock(s3, "late", Clock()).acquire().held


# --------------------------------------------------------------------------- expiry, takeover


def test_an_expired_lock_is_taken_over(s3: BaseClient) -> None:
    clock = Clock()
    crashed = lock(s3, "crashed run", clock).acquire()
    clock.t = T0 + TTL - 1
    with pytest.raises(LockHeld):
        lock(s3, "too early", clock).acquire()
    clock.t = T0 + TTL
    taker = lock(s3, "next run", clock).acquire()
    assert taker.held
    assert taker.took_over is not None and taker.took_over.run_id == crashed.run_id
    assert read_lock(s3).run_id == taker.run_id
    assert read_lock(s3).acquired_at == "2025-06-15T15:16:40Z"
    assert any("took over the expired publish lock of crashed run" in w for w in taker.warnings)


def test_two_takers_of_one_expired_lock_exactly_one_wins(aws: LocalAWS, s3: BaseClient) -> None:
    """B reads the expired lock and its ETag; A takes it over with that same ETag just before
    B's PutObject(IfMatch=ETag) is sent: B gets 412, re-reads, and reports A as the holder."""
    clock = Clock()
    lock(s3, "crashed", clock).acquire()
    clock.t = T0 + TTL + 1
    a = lock(aws.client("s3"), "taker A", clock)
    b = lock(s3, "taker B", clock)

    def a_first(params: dict[str, Any]) -> None:
        if "IfMatch" in params:
            a.acquire()

    s3.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: a_first(params)
    )
    with pytest.raises(LockHeld, match="held by taker A"):
        b.acquire()
    assert a.held and a.took_over is not None
    assert not b.held
    assert read_lock(s3).run_id == a.run_id


def test_one_etag_admits_one_conditional_write(s3: BaseClient) -> None:
    etag = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"expired")["ETag"]
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"A", IfMatch=etag)
    with pytest.raises(ClientError) as second:
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"B", IfMatch=etag)
    assert code_of(second.value) == (412, "PreconditionFailed")


# --------------------------------------------------------------------------- release


def test_release_deletes_our_lock(s3: BaseClient) -> None:
    clock = Clock()
    with publish_lock(s3, BUCKET, REGION, holder="me", ttl_s=TTL, now=clock) as held:
        assert read_lock(s3).run_id == held.run_id
    assert read_lock(s3) is None
    assert held.warnings == [] and not held.held


def test_release_runs_when_the_body_fails(s3: BaseClient) -> None:
    with (
        pytest.raises(RuntimeError, match="step failed"),
        publish_lock(s3, BUCKET, REGION, holder="me", ttl_s=TTL, now=Clock()),
    ):
        raise RuntimeError("step failed")
    assert read_lock(s3) is None


def test_release_after_a_takeover_leaves_the_new_lock_and_warns(s3: BaseClient) -> None:
    clock = Clock()
    old = lock(s3, "slow run", clock).acquire()
    clock.t = T0 + TTL + 5
    new = lock(s3, "next run", clock).acquire()
    assert old.release() is False
    assert read_lock(s3).run_id == new.run_id
    [warning] = old.warnings
    assert "not released" in warning and "next run" in warning and new.run_id in warning
    assert new.release() is True
    assert read_lock(s3) is None


def test_release_of_a_broken_lock_warns(s3: BaseClient) -> None:
    held = lock(s3, "me", Clock()).acquire()
    break_lock(s3, BUCKET, REGION)
    assert held.release() is False
    assert any("already gone" in w for w in held.warnings)


def test_release_never_raises_on_other_errors() -> None:
    client = boto3.client(
        "s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    held = PublishLock(client, BUCKET, REGION, holder="me", now=Clock())
    held.record, held.etag = LockRecord("me", held.run_id, "a", "2025-06-15T15:36:40Z"), '"e"'
    with Stubber(client) as stub:
        stub.add_client_error(
            "delete_object",
            service_error_code="AccessDenied",
            http_status_code=403,
            expected_params={"Bucket": BUCKET, "Key": KEY, "IfMatch": '"e"'},
        )
        assert held.release() is False
        stub.assert_no_pending_responses()
    assert (
        "AccessDenied" in held.warnings[0] and "expires at 2025-06-15T15:36:40Z" in held.warnings[0]
    )


# --------------------------------------------------------------------------- refresh, break


def test_refresh_extends_the_expiry(s3: BaseClient) -> None:
    clock = Clock()
    held = lock(s3, "long run", clock).acquire()
    etag = held.etag
    clock.t = T0 + TTL - 10
    held.refresh()
    assert held.etag != etag
    record = read_lock(s3)
    assert record.expires_at == held.record.expires_at == "2025-06-15T15:26:30Z"
    assert record.acquired_at == "2025-06-15T15:06:40Z"
    clock.t = T0 + TTL + 10  # the first expiry has passed, the refreshed one has not
    with pytest.raises(LockHeld, match="held by long run"):
        lock(s3, "other", clock).acquire()


def test_refresh_after_a_takeover_raises_lock_lost(s3: BaseClient) -> None:
    clock = Clock()
    held = lock(s3, "slow run", clock).acquire()
    clock.t = T0 + TTL + 1
    taker = lock(s3, "next run", clock).acquire()
    with pytest.raises(LockLost, match="taken over by next run"):
        held.refresh()
    assert not held.held
    assert read_lock(s3).run_id == taker.run_id


def test_refresh_after_a_break_raises_lock_lost(s3: BaseClient) -> None:
    held = lock(s3, "run", Clock()).acquire()
    break_lock(s3, BUCKET, REGION)
    with pytest.raises(LockLost, match="removed"):
        held.refresh()
    assert read_lock(s3) is None  # refresh never re-creates a broken lock


def test_break_lock_removes_a_lock(s3: BaseClient) -> None:
    clock = Clock()
    crashed = lock(s3, "crashed run", clock).acquire()
    with pytest.raises(LockError, match="not run other-run"):
        break_lock(s3, BUCKET, REGION, run_id="other-run")
    assert read_lock(s3).run_id == crashed.run_id
    removed = break_lock(s3, BUCKET, REGION, run_id=crashed.run_id)
    assert removed is not None and removed.holder == "crashed run"
    assert read_lock(s3) is None
    assert break_lock(s3, BUCKET, REGION) is None
    assert lock(s3, "next", clock).acquire().held  # not expired, but broken


def test_break_lock_leaves_a_lock_that_changes_meanwhile(aws: LocalAWS, s3: BaseClient) -> None:
    """Read, then the holder refreshes, then the conditional delete: 412, nothing removed."""
    clock = Clock()
    alive = lock(aws.client("s3"), "live run", clock).acquire()
    clock.t += 30
    once_before(s3, "DeleteObject", lambda _: alive.refresh())
    with pytest.raises(LockError, match="holder is alive; nothing removed"):
        break_lock(s3, BUCKET, REGION)
    assert read_lock(s3).run_id == alive.run_id


# --------------------------------------------------------------------------- 409, AccessDenied


def stubbed() -> tuple[BaseClient, Stubber]:
    client = boto3.client(
        "s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


CREATE = {"Bucket": BUCKET, "Key": KEY, "Body": ANY, "ContentType": "application/json"}


def test_conflicts_409_are_retried_a_bounded_number_of_times() -> None:
    client, stub = stubbed()
    slept: list[float] = []
    for _ in range(2):
        stub.add_client_error(
            "put_object",
            service_error_code="ConditionalRequestConflict",
            http_status_code=409,
            expected_params={**CREATE, "IfNoneMatch": "*"},
        )
    stub.add_response("put_object", {"ETag": '"won"'}, {**CREATE, "IfNoneMatch": "*"})
    held = PublishLock(
        client,
        BUCKET,
        REGION,
        holder="me",
        now=Clock(),
        sleep=slept.append,
        conflict_delays_s=(0.1, 0.2, 0.4),
    )
    with stub:
        held.acquire()
        stub.assert_no_pending_responses()
    assert held.etag == '"won"' and slept == [0.1, 0.2]


def test_endless_conflicts_end_in_lock_error() -> None:
    client, stub = stubbed()
    for _ in range(3):
        stub.add_client_error(
            "put_object", service_error_code="ConditionalRequestConflict", http_status_code=409
        )
    held = PublishLock(
        client,
        BUCKET,
        REGION,
        holder="me",
        now=Clock(),
        sleep=lambda _: None,
        conflict_delays_s=(0.1, 0.2),
    )
    with stub, pytest.raises(LockError, match="after 3 attempts"):
        held.acquire()
    assert not held.held


# --------------------------------------------------------------------------- key, holder


def test_the_lock_key_never_collides_with_a_template_key() -> None:
    session = boto3.Session()
    regions = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("s3", partition)
    }
    assert {"us-east-1", "us-gov-west-1", "cn-north-1"} <= regions
    keys = {lock_key(region) for region in regions}
    assert len(keys) == len(regions)
    template_shape = re.compile(r"^([^/]+)/[0-9a-f]{64}\.yaml$")
    for key in keys:
        assert key.startswith(LOCK_PREFIX) and key.endswith(".json")
        first_segment = key.split("/", 1)[0]
        assert not re.fullmatch(SLUG_PATTERN, first_segment)
        assert not template_shape.match(key)
    # the only way in: a product id equal to the first segment, which the schema refuses
    assert template_key("studio-domain", "0" * 64) not in keys
    with pytest.raises(ValidationError):
        Product.model_validate(
            {"id": ".studio-catalog", "template": "t", "display_name": "d", "owner": "o"}
        )
    with pytest.raises(ValueError, match="not an AWS region"):
        lock_key("../templates")


def test_holder_name_prefers_the_ci_run() -> None:
    github = holder_name(
        {"GITHUB_RUN_ID": "123", "GITHUB_REPOSITORY": "org/repo", "GITHUB_RUN_ATTEMPT": "2"}
    )
    assert github == (
        "GitHub Actions org/repo run 123 attempt 2 (https://github.com/org/repo/actions/runs/123)"
    )
    assert holder_name({"CODEBUILD_BUILD_ID": "proj:b1e6"}) == "AWS CodeBuild proj:b1e6"
    assert holder_name({"CI_JOB_ID": "55", "CI_PROJECT_PATH": "g/p"}) == "GitLab CI g/p job 55"
    assert re.fullmatch(r"\S+@\S+ pid \d+", holder_name({}))
    assert holder_name({"GITHUB_RUN_ID": "123"}) != github  # both variables are needed


def test_a_create_refused_with_no_lock_to_read_ends_in_lock_error() -> None:
    """Worst case the docs leave open: 412 on the create, 404 on the read, every round (a
    delete marker counted as an object). Bounded, and said plainly; nothing is written."""
    client, stub = stubbed()
    for _ in range(3):
        stub.add_client_error(
            "put_object", service_error_code="PreconditionFailed", http_status_code=412
        )
        stub.add_client_error(
            "get_object",
            service_error_code="NoSuchKey",
            http_status_code=404,
            expected_params={"Bucket": BUCKET, "Key": KEY},
        )
    held = PublishLock(
        client,
        BUCKET,
        REGION,
        holder="me",
        now=Clock(),
        sleep=lambda _: None,
        conflict_delays_s=(0.1, 0.2),
    )
    with stub, pytest.raises(LockError, match=r"refused to create it \(412\) yet no lock"):
        held.acquire()
    assert not held.held
