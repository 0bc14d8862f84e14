"""A per-region publish lock: one object in the region's template bucket, written conditionally.

Two publishers at once (two branches of a release pipeline) must not interleave their writes:
they could leave two DEFAULT versions or undo each other's changes. ``publish`` therefore
takes this lock before its first write in a region and releases it when done::

    with publish_lock(clients.s3, bucket, region) as lock:
        ...                     # apply the plan; call lock.refresh() between long steps

The lock is the object ``.studio-catalog/locks/publish-<region>.json`` (:func:`lock_key`) whose
JSON body names the holder, a run id (uuid4), when it was taken and when it expires.

Protocol, on S3 conditional requests (S3 User Guide, "How to prevent object overwrites with
conditional writes", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html,
and "How to perform conditional deletes",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html; botocore's S3
model: ``PutObjectRequest.IfNoneMatch``/``IfMatch``, ``DeleteObjectRequest.IfMatch``):

* **acquire**: ``PutObject(IfNoneMatch="*")`` creates the lock only if there is none. If there
  is one, ``GetObject`` reads it and its ETag: not expired -> :class:`LockHeld`; expired ->
  ``PutObject(IfMatch=<its ETag>)`` takes it over, so of two takers only the first to write
  wins (the second's ETag no longer matches).
* **refresh**: ``PutObject(IfMatch=<our ETag>)`` with a later ``expires_at``.
* **release**: ``DeleteObject(IfMatch=<our ETag>)``: never deletes a lock someone else took
  over after ours expired; a failed release is a warning (the lock expires anyway).
* **break** (:func:`break_lock`, for a crashed run): ``DeleteObject(IfMatch=<the ETag read>)``.

S3's answers (status and code: S3 API Reference, "Error responses",
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):

* ``412 PreconditionFailed``: the condition did not hold, someone else wrote first: re-read.
* ``409 ConditionalRequestConflict``: a concurrent operation on the key; "retry the upload"
  (If-None-Match) or "fetch the object's ETag and retry" (If-Match) say the model's docs:
  retried a bounded number of times (:data:`CONFLICT_DELAYS_S`).
* ``404 NoSuchKey``: the lock was deleted between two of our calls (a concurrent delete wins
  over a conditional write with 404, conditional-deletes page): start again from the create.

Where the docs are silent we assume the worst:

* botocore retries 5xx answers and timeouts (standard retry mode); the first attempt may have
  been applied, so the retry meets our own write (412) or our own delete (404). A 412 is
  therefore always followed by a read, and a lock carrying our run id is ours.
* ``expires_at`` is written with the writer's clock and compared with the reader's: keep
  ``ttl_s`` far above any clock skew (hosts synchronised by NTP).
* A lock body that cannot be parsed never expires by itself: only :func:`break_lock` removes it.
* The template bucket is versioned (factory/launch/bootstrap.py): a release leaves a delete
  marker. ``GetObject`` answers 404 for it, and conditions are evaluated against the current
  version only (conditional-deletes page), so ``If-None-Match: *`` creates the lock again (as
  local S3 does). Were S3 to answer 412 there, acquire would see 412 then 404 on every round
  and end in :class:`LockError` saying so: never a second holder.
"""

from __future__ import annotations

import enum
import functools
import getpass
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from factory import naming
from factory.aws import error_code

__all__ = [
    "CONFLICT_DELAYS_S",
    "DEFAULT_TTL_S",
    "LOCK_PREFIX",
    "LockError",
    "LockHeld",
    "LockLost",
    "LockRecord",
    "PublishLock",
    "break_lock",
    "current_lock",
    "holder_name",
    "lock_key",
    "publish_lock",
]

#: Templates live at `<product-id>/<sha256>.yaml` (factory.aws.template_key) and a
#: product id is a slug, `^[a-z0-9]...` (factory.portfolio.models.SLUG_PATTERN): a key under
#: a leading dot can never be a template's.
LOCK_PREFIX = naming.PUBLISH_LOCK_PREFIX
#: Longer than the longest single step apply waits on (an organization share:
#: SHARE_TIMEOUT_S = 900 s in factory.publish), so a live run refreshing between steps never
#: loses its lock; a crashed run's lock is taken over at most this long after its last write.
DEFAULT_TTL_S = 1800.0
#: Waits before each retry after 409 ConditionalRequestConflict (and between the few rounds of
#: create/read/take-over); attempts = len + 1.
CONFLICT_DELAYS_S = (0.05, 0.1, 0.2, 0.4, 0.8)
BREAK_HINT = "to break a lock from a crashed run: studio-factory publish --break-lock"
UNREADABLE = "<unreadable lock object>"
#: Every region name in botocore's partition data, `eusc-de-east-1` included (which
#: factory.portfolio.models.REGION_PATTERN, two letters first, refuses): keeps the key one
#: plain file name, never a path.
REGION_NAME = re.compile(r"[a-z]+(?:-[a-z]+)+-[0-9]+")

PRECONDITION_FAILED = "PreconditionFailed"  # 412
CONDITIONAL_CONFLICT = "ConditionalRequestConflict"  # 409
NO_SUCH_KEY = "NoSuchKey"  # 404

Clock = Callable[[], float]


class LockError(RuntimeError):
    """The lock could not be taken, kept or broken."""


class LockHeld(LockError):
    """Another run holds the lock and it has not expired."""

    def __init__(self, bucket: str, key: str, record: LockRecord) -> None:
        self.bucket = bucket
        self.key = key
        self.record = record
        where = f"s3://{bucket}/{key}"
        if record.holder == UNREADABLE:
            message = (
                f"{where}: the publish lock cannot be read (not written by this tool?) and "
                f"never expires by itself; check that no publish is running, then {BREAK_HINT}"
            )
        else:
            message = (
                f"{where}: the publish lock is held by {record.holder} (run {record.run_id}) "
                f"since {record.acquired_at}, expires {record.expires_at}; wait for it to "
                f"finish, or after {record.expires_at} re-run; {BREAK_HINT}"
            )
        super().__init__(message)


class LockLost(LockError):
    """Our lock was taken over (it had expired) or broken: stop writing."""


@dataclass(frozen=True)
class LockRecord:
    """The lock object's body. Times are UTC ISO-8601 (``2025-01-31T12:00:00Z``)."""

    holder: str
    run_id: str
    acquired_at: str
    expires_at: str
    region: str = ""
    tool_version: str | None = None

    def body(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def parse(cls, raw: bytes) -> LockRecord:
        """The record in ``raw``; an unreadable body gives a record that never expires."""
        try:
            data = json.loads(raw)
            return cls(
                holder=str(data["holder"]),
                run_id=str(data["run_id"]),
                acquired_at=str(data["acquired_at"]),
                expires_at=str(data["expires_at"]),
                region=str(data.get("region", "")),
                tool_version=data.get("tool_version"),
            )
        except (ValueError, TypeError, KeyError):
            return cls(holder=UNREADABLE, run_id="?", acquired_at="?", expires_at="")

    def expired(self, now: float) -> bool:
        expires = parse_time(self.expires_at)
        return expires is not None and expires <= now


def format_time(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def lock_key(region: str) -> str:
    """The lock's key in the region's template bucket."""
    if not REGION_NAME.fullmatch(region):
        raise ValueError(f"region {region!r}: not an AWS region name, e.g. 'eu-west-1'")
    return f"{LOCK_PREFIX}publish-{region}.json"


def holder_name(env: Mapping[str, str] | None = None) -> str:
    """Who holds the lock, readable by the person who finds it: the CI run if there is one
    (GitHub Actions, CodeBuild, GitLab CI default variables), else ``user@host pid N``."""
    env = os.environ if env is None else env
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        # GitHub Docs, "Variables reference": default environment variables.
        repo, run = env["GITHUB_REPOSITORY"], env["GITHUB_RUN_ID"]
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        attempt = f" attempt {env['GITHUB_RUN_ATTEMPT']}" if env.get("GITHUB_RUN_ATTEMPT") else ""
        return f"GitHub Actions {repo} run {run}{attempt} ({server}/{repo}/actions/runs/{run})"
    if env.get("CODEBUILD_BUILD_ID"):
        # CodeBuild User Guide, "Environment variables in build environments".
        return f"AWS CodeBuild {env['CODEBUILD_BUILD_ID']}"
    if env.get("CI_JOB_ID"):
        # GitLab, "Predefined CI/CD variables reference".
        project = f" {env['CI_PROJECT_PATH']}" if env.get("CI_PROJECT_PATH") else ""
        url = f" ({env['CI_JOB_URL']})" if env.get("CI_JOB_URL") else ""
        return f"GitLab CI{project} job {env['CI_JOB_ID']}{url}"
    try:
        user = getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


@functools.cache
def tool_version() -> str | None:
    try:
        return metadata.version("studio-catalog-factory")
    except metadata.PackageNotFoundError:
        return None


class _Put(enum.Enum):
    OK = "ok"
    PRECONDITION_FAILED = "412"
    CONFLICT = "409"
    NO_SUCH_KEY = "404"


_OUTCOMES = {
    PRECONDITION_FAILED: _Put.PRECONDITION_FAILED,
    CONDITIONAL_CONFLICT: _Put.CONFLICT,
    NO_SUCH_KEY: _Put.NO_SUCH_KEY,
}


def current_lock(s3: BaseClient, bucket: str, region: str) -> tuple[LockRecord, str] | None:
    """The lock in ``bucket`` and its ETag, or None. S3 is strongly consistent for reads after
    writes (User Guide, "Amazon S3 data consistency model")."""
    try:
        response = s3.get_object(Bucket=bucket, Key=lock_key(region))
    except ClientError as exc:
        if error_code(exc) == NO_SUCH_KEY:
            return None
        raise
    with response["Body"] as body:
        raw = body.read()
    return LockRecord.parse(raw), str(response["ETag"])


def _conditional_put(
    s3: BaseClient, bucket: str, key: str, body: bytes, **condition: str
) -> tuple[_Put, str | None]:
    """PutObject with ``IfNoneMatch``/``IfMatch``: (outcome, ETag if written). Errors other
    than the three conditional answers propagate."""
    try:
        response = s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/json", **condition
        )
    except ClientError as exc:
        outcome = _OUTCOMES.get(error_code(exc))
        if outcome is None:
            raise
        return outcome, None
    return _Put.OK, str(response["ETag"])


class PublishLock:
    """The publish lock of one region. A context manager: acquire on enter, release on exit.

    ``now`` (epoch seconds) and ``sleep`` are injectable for tests; ``warnings`` collects what
    a caller should show (a takeover, a release that did not happen)."""

    def __init__(
        self,
        s3: BaseClient,
        bucket: str,
        region: str,
        *,
        holder: str | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        now: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
        run_id: str | None = None,
        conflict_delays_s: tuple[float, ...] = CONFLICT_DELAYS_S,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s {ttl_s}: must be positive (seconds)")
        self.s3 = s3
        self.bucket = bucket
        self.region = region
        self.key = lock_key(region)
        self.holder = holder or holder_name()
        self.ttl_s = ttl_s
        self.run_id = run_id or str(uuid.uuid4())
        self.record: LockRecord | None = None
        self.etag: str | None = None
        #: the expired lock this run took over, if any
        self.took_over: LockRecord | None = None
        self.warnings: list[str] = []
        self._now = now
        self._sleep = sleep
        self._delays = conflict_delays_s

    # ----------------------------------------------------------------- state

    @property
    def held(self) -> bool:
        return self.etag is not None

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _new_record(self, acquired_at: str | None = None) -> LockRecord:
        now = self._now()
        return LockRecord(
            holder=self.holder,
            run_id=self.run_id,
            acquired_at=acquired_at or format_time(now),
            expires_at=format_time(now + self.ttl_s),
            region=self.region,
            tool_version=tool_version(),
        )

    def _own(self, record: LockRecord, etag: str) -> None:
        self.record, self.etag = record, etag

    def _lose(self) -> None:
        self.record = self.etag = None

    def _attempts(self) -> Iterator[int]:
        """Attempt numbers, sleeping before each retry (bounded)."""
        yield 0
        for attempt, delay in enumerate(self._delays, start=1):
            self._sleep(delay)
            yield attempt

    def _put(self, record: LockRecord, **condition: str) -> _Put:
        outcome, etag = _conditional_put(self.s3, self.bucket, self.key, record.body(), **condition)
        if outcome is _Put.OK and etag is not None:
            self._own(record, etag)
        return outcome

    def _read(self) -> tuple[LockRecord, str] | None:
        return current_lock(self.s3, self.bucket, self.region)

    # ----------------------------------------------------------------- API

    def acquire(self) -> PublishLock:
        """Take the lock or raise :class:`LockHeld` (naming the holder) or :class:`LockError`
        (S3 kept answering conflicts)."""
        if self.held:
            return self
        create = True
        vanished = 0  # rounds where the create answered 412 and the read 404
        for _ in self._attempts():
            if create:
                outcome = self._put(self._new_record(), IfNoneMatch="*")
                if outcome is _Put.OK:
                    return self
                if outcome is not _Put.PRECONDITION_FAILED:  # 409: retry the create
                    continue
            create = True
            current = self._read()
            if current is None:  # released or broken between our two calls
                vanished += 1
                continue
            record, etag = current
            if record.run_id == self.run_id:  # our own write, applied before a retried request
                self._own(record, etag)
                return self
            if not record.expired(self._now()):
                raise LockHeld(self.bucket, self.key, record)
            outcome = self._put(self._new_record(), IfMatch=etag)
            if outcome is _Put.OK:
                self.took_over = record
                self.warnings.append(
                    f"{self.where}: took over the expired publish lock of {record.holder} "
                    f"(run {record.run_id}, expired {record.expires_at})"
                )
                return self
            # 412: another taker won, re-read to name it; 404: gone, create; 409: retry
            create = outcome is not _Put.PRECONDITION_FAILED
        attempts = len(self._delays) + 1
        if vanished == attempts:
            raise LockError(
                f"{self.where}: could not take the publish lock: S3 refused to create it "
                f"(412) yet no lock could be read (404), {attempts} times; a delete marker or "
                "a concurrent run; remove the key's delete marker or re-run"
            )
        raise LockError(
            f"{self.where}: could not take the publish lock after {attempts} attempts: S3 "
            "kept answering conflicts (409) or the lock kept changing; re-run"
        )

    def refresh(self, ttl_s: float | None = None) -> None:
        """Push ``expires_at`` to now + ttl, only if the lock is still ours (If-Match).
        Raises :class:`LockLost` if it was taken over or broken: the run must stop writing."""
        if self.record is None or self.etag is None:
            raise LockLost(f"{self.where}: refresh without holding the publish lock")
        if ttl_s is not None:
            if ttl_s <= 0:
                raise ValueError(f"ttl_s {ttl_s}: must be positive (seconds)")
            self.ttl_s = ttl_s
        for _ in self._attempts():
            record = self._new_record(acquired_at=self.record.acquired_at)
            outcome = self._put(record, IfMatch=self.etag)
            if outcome is _Put.OK:
                return
            current = self._read()
            if current is None:
                self._lose()
                raise LockLost(
                    f"{self.where}: the publish lock was removed (--break-lock?) while this run "
                    f"held it; stop and re-run"
                )
            found, etag = current
            if found.run_id != self.run_id:
                self._lose()
                raise LockLost(
                    f"{self.where}: the publish lock expired and was taken over by "
                    f"{found.holder} (run {found.run_id}); stop and re-run after it finishes"
                )
            self._own(found, etag)  # ours: 409, or our retried refresh already applied
            if found == record:
                return
        raise LockError(f"{self.where}: could not refresh the publish lock: S3 kept conflicting")

    def release(self) -> bool:
        """Delete the lock if it is still ours (If-Match). True if this call deleted it; a
        failure is a warning, never an exception: the lock expires anyway."""
        if self.record is None or self.etag is None:
            return False
        expires = self.record.expires_at
        try:
            for _ in self._attempts():
                try:
                    self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
                except ClientError as exc:
                    code = error_code(exc)
                    if code == CONDITIONAL_CONFLICT:
                        continue
                    self._warn_release(code, exc, expires)
                    return False
                return True
            self.warnings.append(
                f"{self.where}: publish lock not released: S3 kept answering conflicts (409); "
                f"it expires at {expires}"
            )
            return False
        finally:
            self._lose()

    def _warn_release(self, code: str, exc: ClientError, expires: str) -> None:
        if code == PRECONDITION_FAILED:
            holder = "another run"
            try:
                current = self._read()
            except ClientError:
                current = None
            if current is not None:
                holder = f"{current[0].holder} (run {current[0].run_id})"
            message = (
                f"publish lock not released: it is now held by {holder}, who took it over "
                f"after ours expired at {expires}; left in place"
            )
        elif code == NO_SUCH_KEY:
            message = "publish lock was already gone (broken with --break-lock?); nothing to do"
        else:
            message = f"publish lock not released ({code or exc}); it expires at {expires}"
        self.warnings.append(f"{self.where}: {message}")

    def __enter__(self) -> PublishLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def publish_lock(
    s3: BaseClient,
    bucket: str,
    region: str,
    *,
    holder: str | None = None,
    ttl_s: float = DEFAULT_TTL_S,
    now: Clock = time.time,
    **options: Any,
) -> PublishLock:
    """``with publish_lock(s3, bucket, region) as lock:`` — see :class:`PublishLock`."""
    return PublishLock(s3, bucket, region, holder=holder, ttl_s=ttl_s, now=now, **options)


def break_lock(
    s3: BaseClient, bucket: str, region: str, *, run_id: str | None = None
) -> LockRecord | None:
    """Remove the region's lock (a crashed run's), returning what was removed, or None if there
    was no lock. With ``run_id``, only a lock of that run. The delete is conditional on the
    ETag just read: a lock that changes meanwhile belongs to a live run (it refreshed, or took
    over), so it is left in place and :class:`LockError` says so."""
    current = current_lock(s3, bucket, region)
    if current is None:
        return None
    record, etag = current
    where = f"s3://{bucket}/{lock_key(region)}"
    if run_id is not None and record.run_id != run_id:
        raise LockError(
            f"{where}: the publish lock is held by {record.holder} (run {record.run_id}), "
            f"not run {run_id}; nothing removed"
        )
    try:
        s3.delete_object(Bucket=bucket, Key=lock_key(region), IfMatch=etag)
    except ClientError as exc:
        code = error_code(exc)
        if code == NO_SUCH_KEY:
            return None
        if code in (PRECONDITION_FAILED, CONDITIONAL_CONFLICT):
            raise LockError(
                f"{where}: the publish lock changed while breaking it, so its holder is alive; "
                "nothing removed; wait for it to finish"
            ) from exc
        raise
    return record
