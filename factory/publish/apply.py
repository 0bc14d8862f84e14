"""Execute a plan's steps in order; an interrupted or partly failed run re-run converges.

* A failed step does not stop the others: steps that name a resource whose creation failed
  are skipped, and every failure is reported at the end (non-zero exit).
* `should_stop` is asked between steps (Ctrl-C): the run stops cleanly, and the result says
  which steps were applied, which failed and which were not attempted.
* What each step does, and the AWS behaviour it relies on, is documented on its class in
  `factory.publish.steps`; the waits for eventual consistency live in
  `factory.publish.context`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from factory.aws import Clients, error_code
from factory.portfolio import Catalog
from factory.publish.context import ApplyFailed, Context, Interrupted, ShareFailed
from factory.publish.state import LiveState
from factory.publish.steps import Step

__all__ = ["ApplyFailed", "Failure", "Interrupted", "Outcome", "ShareFailed", "apply_plan"]


@dataclass
class Failure:
    step: Step
    message: str

    def __str__(self) -> str:
        return f"{self.step.action} {self.step.resource}: {self.message}"


@dataclass
class Outcome:
    """What one region's apply did: the context (ids, warnings, call count) and each step's
    fate. `not_attempted` is filled when the run was stopped between steps."""

    ctx: Context
    applied: list[Step] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    not_attempted: list[Step] = field(default_factory=list)
    #: catalog resources whose creation failed: later steps naming them are skipped
    failed: set[str] = field(default_factory=set)

    @property
    def mutations(self) -> int:
        return self.ctx.mutations

    @property
    def warnings(self) -> list[str]:
        return self.ctx.warnings


def apply_plan(
    clients: Clients,
    catalog: Catalog,
    state: LiveState,
    steps: list[Step],
    *,
    bucket: str | None = None,
    stop_after: int | None = None,
    on_step: Callable[[Step], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Outcome:
    ctx = Context.for_state(clients, catalog, state, bucket=bucket, stop_after=stop_after)
    outcome = Outcome(ctx)
    runnable = [step for step in steps if not step.informational]
    for index, step in enumerate(runnable):
        if should_stop is not None and should_stop():
            outcome.not_attempted = runnable[index:]
            break
        _apply_one(outcome, step)
        if on_step is not None:
            on_step(step)
    return outcome


def _apply_one(outcome: Outcome, step: Step) -> None:
    blocked = sorted(step.refs() & outcome.failed)
    if blocked:
        outcome.failures.append(Failure(step, f"skipped: {blocked[0]} failed earlier"))
        return
    try:
        step.apply(outcome.ctx)
    except Interrupted:
        raise
    except (ClientError, ApplyFailed, KeyError) as exc:
        outcome.failed |= step.creates()
        outcome.failures.append(Failure(step, _failure_text(exc)))
        return
    outcome.applied.append(step)


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{error_code(exc)}: {message}".rstrip(": ")
    if isinstance(exc, KeyError):
        return f"depends on {exc.args[0]!r}, which was not created"
    return str(exc)
