"""Apply a rollout plan: each step's call, then its operation followed to the end.

* One operation at a time per StackSet: a write answered OperationInProgressException waits
  for the running operation (ListStackSetOperations, then DescribeStackSetOperation) and is
  sent again with the same OperationId, within `conflict_timeout_s`; never a silent stop.
* OperationIdAlreadyExistsException: this very operation was started before (a retried
  request, an interrupted run): it is followed, not started again.
* An operation ends SUCCEEDED, FAILED or STOPPED (StackSetOperationStatus, botocore model);
  its per-account, per-region results come from ListStackSetOperationResults with each
  instance's StatusReason. A failed step does not stop the others.
* `stop` (Ctrl-C) is checked between steps and between polls: the operation in flight goes on
  in AWS, and the next run waits for it, then converges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from factory.aws import error_code, pages
from factory.rollout.state import ACTIVE_OPERATION, running_operation
from factory.rollout.steps import Step
from factory.rollout.targets import Settings

#: Seconds between DescribeStackSetOperation polls: StackSet operations take minutes (one
#: stack per account and region), so polls back off to 15 s.
POLL_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0)
OPERATION_TIMEOUT_S = 3 * 3600.0
#: How long a write waits for another operation on the StackSet before giving up.
CONFLICT_TIMEOUT_S = 1800.0


class ApplyFailed(Exception):
    pass


class Interrupted(Exception):
    pass


@dataclass
class Row:
    operation_id: str
    account: str
    region: str
    status: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Context:
    cfn: BaseClient
    settings: Settings
    description: str = ""
    template_url: str = ""
    administration_role_arn: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    sleep: Callable[[float], None] = time.sleep
    operation_timeout_s: float = OPERATION_TIMEOUT_S
    conflict_timeout_s: float = CONFLICT_TIMEOUT_S
    #: the wording of known errors (caller is neither management nor delegated admin)
    explain: Callable[[ClientError], str | None] | None = None
    writes: int = 0
    waited_for: list[str] = field(default_factory=list)

    # --- writes ------------------------------------------------------------------------------

    def write(self, method: Callable[..., Any], **params: Any) -> dict[str, Any]:
        """A write, sent again after any running operation ends (bounded)."""
        deadline = time.monotonic() + self.conflict_timeout_s
        for delay in _delays():
            try:
                self.writes += 1
                return dict(method(**params))
            except ClientError as exc:
                if error_code(exc) != "OperationInProgressException":
                    raise
            if time.monotonic() > deadline:
                raise ApplyFailed(
                    f"another operation on {self.settings.name} still runs after "
                    f"{self.conflict_timeout_s:.0f} s; re-run when it has ended"
                )
            self._wait_for_other(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def operation(self, method: Callable[..., Any], **params: Any) -> str:
        try:
            return str(self.write(method, **params)["OperationId"])
        except ClientError as exc:
            if error_code(exc) == "OperationIdAlreadyExistsException":
                return str(params["OperationId"])  # started before: follow it
            raise

    def _wait_for_other(self, delay: float) -> None:
        other = running_operation(self.cfn, self.settings)
        if other is None:
            self._pause(delay)  # it ended between the two calls, or is not listed yet
            return
        self.waited_for.append(other)
        self.follow(other)

    # --- following an operation --------------------------------------------------------------

    def follow(self, operation_id: str) -> str:
        """The operation's final status; polls back off (POLL_DELAYS_S), bounded."""
        deadline = time.monotonic() + self.operation_timeout_s
        for delay in _delays():
            status = self._status(operation_id)
            if status not in ACTIVE_OPERATION:
                return status
            if time.monotonic() > deadline:
                raise ApplyFailed(
                    f"operation {operation_id} still {status} after "
                    f"{self.operation_timeout_s:.0f} s; `bootstrap status` shows it, and a "
                    "re-run waits for it"
                )
            self._pause(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _status(self, operation_id: str) -> str:
        answer = self.cfn.describe_stack_set_operation(
            StackSetName=self.settings.name, OperationId=operation_id, **self.settings.call()
        )
        return str(answer["StackSetOperation"]["Status"])

    def results(self, operation_id: str) -> list[Row]:
        summaries = pages(
            self.cfn,
            "list_stack_set_operation_results",
            "Summaries",
            StackSetName=self.settings.name,
            OperationId=operation_id,
            **self.settings.call(),
        )
        return [
            Row(operation_id, s["Account"], s["Region"], s["Status"], s.get("StatusReason", ""))
            for s in summaries
        ]

    def _pause(self, seconds: float) -> None:
        if self.stop.is_set():
            raise Interrupted
        self.sleep(seconds)
        if self.stop.is_set():
            raise Interrupted


def _delays() -> Iterator[float]:
    yield from POLL_DELAYS_S
    while True:
        yield POLL_DELAYS_S[-1]


@dataclass
class StepResult:
    step: Step
    status: str  # applied, failed, not attempted
    operation_id: str | None = None
    operation_status: str | None = None
    error: str | None = None


@dataclass
class Outcome:
    steps: list[StepResult] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]


def apply_plan(ctx: Context, steps: list[Step]) -> Outcome:
    outcome = Outcome()
    for index, step in enumerate(steps):
        if ctx.stop.is_set():
            outcome.steps += [StepResult(s, "not attempted") for s in steps[index:]]
            outcome.interrupted = True
            break
        try:
            outcome.steps.append(_apply_one(ctx, step, outcome))
        except Interrupted:
            outcome.steps.append(StepResult(step, "interrupted"))
            outcome.steps += [StepResult(s, "not attempted") for s in steps[index + 1 :]]
            outcome.interrupted = True
            break
    return outcome


def _apply_one(ctx: Context, step: Step, outcome: Outcome) -> StepResult:
    try:
        operation_id = step.apply(ctx)
        if operation_id is None:
            return StepResult(step, "applied")
        status = ctx.follow(operation_id)
        rows = ctx.results(operation_id)
    except ClientError as exc:
        known = ctx.explain(exc) if ctx.explain else None
        message = exc.response.get("Error", {}).get("Message", "")
        text = known or f"{error_code(exc)}: {message}".rstrip(": ")
        return StepResult(step, "failed", error=text)
    except ApplyFailed as exc:
        return StepResult(step, "failed", error=str(exc))
    outcome.rows += rows
    failed = [r for r in rows if r.status not in ("SUCCEEDED",)]
    if status == "SUCCEEDED" and not failed:
        return StepResult(step, "applied", operation_id, status)
    error = "; ".join(f"{r.account}/{r.region} {r.status}: {r.reason}" for r in failed[:5])
    return StepResult(step, "failed", operation_id, status, error or f"operation {status}")
