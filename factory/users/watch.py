"""Follow many launches, updates and terminations to their end with one paged listing per
round (SearchProvisionedProducts, 100 per request) instead of one DescribeRecord per person.

A provisioned product is judged by its `LastRecordId` (ProvisionedProductAttribute, botocore
model): until it names our record, the listing may still show the state from before our
change (eventually consistent reads: FIELD-NOTES), so nothing is concluded from it. Then its
`Status` (ProvisionedProductStatus: AVAILABLE, UNDER_CHANGE, TAINTED, ERROR,
PLAN_IN_PROGRESS) decides: AVAILABLE succeeded, ERROR failed, TAINTED failed and rolled back
to the previous version, the rest is still running. A terminated product leaves the listing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.client import BaseClient

from factory.users import provision
from factory.users.provision import Result

#: The status a change has once accepted, and the one it ends with when it succeeds.
SUCCEEDED = {"launched": "created", "updating": "updated", "removing": "removed"}
RUNNING = ("UNDER_CHANGE", "PLAN_IN_PROGRESS")
#: First listing after this long, then 1.5 times longer each round, at most POLL_MAX_S. A
#: user profile takes minutes to create (CloudFormation creates roles, the profile, a space).
POLL_FIRST_S = 5.0
POLL_MAX_S = 30.0
TIMEOUT_S = 3600.0


def pending(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if r.status in SUCCEEDED]


def judge(result: Result, item: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(final status, detail) once the listing shows the end of `result`'s record."""
    if item is None:
        # Gone: terminated; a launch not listed yet is still on its way.
        return ("removed", "") if result.status == "removing" else None
    if item.get("LastRecordId") != result.record_id:
        return None
    status, message = str(item.get("Status", "")), str(item.get("StatusMessage", ""))
    if status in RUNNING or (status == "AVAILABLE" and result.status == "removing"):
        return None
    if status == "AVAILABLE":
        return SUCCEEDED[result.status], ""
    if status == "TAINTED":
        return "failed", f"rolled back to the previous version: {message}".rstrip(": ")
    return "failed", message or status


def settle(
    sc: BaseClient,
    results: Iterable[Result],
    *,
    timeout_s: float = TIMEOUT_S,
    should_stop: Callable[[], bool] = lambda: False,
    on_settled: Callable[[Result], None] | None = None,
) -> None:
    """Update each pending result in place; those still running at the timeout (or when
    stopped) become `in progress`: their record goes on in AWS, `users list` shows its end."""
    waiting = {r.name: r for r in pending(results)}
    deadline, delay = time.monotonic() + timeout_s, POLL_FIRST_S
    while waiting and not should_stop() and time.monotonic() < deadline:
        _sleep(min(delay, max(0.0, deadline - time.monotonic())), should_stop)
        live = {str(item["Name"]): item for item in provision.listing(sc)}
        for name, result in list(waiting.items()):
            verdict = judge(result, live.get(name))
            if verdict is None:
                continue
            result.status, result.detail = verdict
            del waiting[name]
            if on_settled is not None:
                on_settled(result)
        delay = min(delay * 1.5, POLL_MAX_S)
    for result in waiting.values():
        result.detail = f"record {result.record_id} still running; `users list` shows its end"
        result.status = "in progress"


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not should_stop() and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))
