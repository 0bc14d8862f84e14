"""Custom::ProfileDrain: empty a SageMaker user profile so CloudFormation can delete it.

DeleteUserProfile fails with ResourceInUse while the profile has apps or owns spaces
(cloudformation-coverage-roadmap#1754). The resource (properties DomainId, UserProfileName)
DependsOn the UserProfile, so on stack deletion it goes first: Delete removes the profile's own
apps, then the apps of the profile's *private* spaces and those spaces, then answers SUCCESS.
Create and Update do nothing; PhysicalResourceId is "<DomainId>/<UserProfileName>", so only a
different profile replaces the resource (whose Delete then drains the old profile).

What it never touches: shared spaces (SpaceSharingType Shared), even those the person created,
because other people work in them (their apps and EBS volume belong to the team), and spaces and
apps of other profiles. A shared space the person owns is named in the SUCCESS reason and the log;
if SageMaker then refuses to delete the profile because of it, an administrator decides what
happens to that space (delete it, or keep the profile), not this function.

Delete runs reconcile rounds rather than fixed phases: each round re-lists the apps and private
spaces, deletes what is live, and reports what is still going away, so apps an open Studio tab
restarts mid-drain are caught too. ResourceInUse means "retry next round", ResourceNotFound
"already gone". The loop gives up SAFETY_MARGIN_SECONDS before the Lambda timeout (900 s) with
FAILED naming what is still running, so the stack never waits on a silent timeout.

How long it takes: deleting an app usually takes one to a few minutes (SageMaker stops the
instance and detaches the space's EBS volume); a space is deleted after its apps are gone, again
in minutes. A drain normally finishes in under 10 minutes. If it does not, the stack shows
DELETE_FAILED with the apps and spaces still going away; retrying the delete (Service Catalog
"Terminate" again, or CloudFormation "Retry delete") invokes the function again, which re-lists
and carries on from wherever SageMaker is: every step is idempotent, nothing is deleted twice
and nothing already gone is an error. A Failed app gets one delete attempt per invocation.

Embedded verbatim as Code.ZipFile (python3.12, index.handler): standard library and boto3 only,
and the response is PUT with urllib since cfnresponse is not provided to every runtime. Exactly
one response is sent per invocation; unexpected errors become FAILED.
"""

from __future__ import annotations

import json
import os
import re
import time
import traceback
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

POLL_SECONDS = 10.0
SAFETY_MARGIN_SECONDS = 30.0
SEND_ATTEMPTS = 3
SEND_TIMEOUT_SECONDS = 8.0
RESPONSE_LIMIT_BYTES = 4096
BLOCKING_APP_STATES = frozenset({"Pending", "InService", "Deleting"})
SUCCESS, FAILED = "SUCCESS", "FAILED"

Send = Callable[[str, dict[str, Any]], None]


class ProfileGone(Exception):
    """The profile or its domain no longer exists, so there is nothing left to drain."""


def handler(event: dict[str, Any], context: Any) -> None:
    drain(event, context)


def drain(
    event: dict[str, Any], context: Any, client: Any = None, send: Send | None = None
) -> None:
    """Handle one request and send its response exactly once, whatever happens."""
    try:
        status, reason = _dispatch(event, context, client)
    except Exception as exc:
        _log("error", profile=_props(event).get("UserProfileName"), trace=traceback.format_exc())
        status, reason = FAILED, str(exc) or type(exc).__name__
    response = _response(event, status, reason)
    (send or _send_response)(event["ResponseURL"], response)


def _client() -> Any:
    return boto3.client("sagemaker", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def _props(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("ResourceProperties") or {}


def _dispatch(event: dict[str, Any], context: Any, client: Any) -> tuple[str, str]:
    kind, props = event["RequestType"], _props(event)
    domain_id, profile = props.get("DomainId"), props.get("UserProfileName")
    if kind in ("Create", "Update"):
        if not (domain_id and profile):
            raise ValueError("DomainId and UserProfileName are required")
        return SUCCESS, f"{kind}: nothing to do"
    if kind != "Delete":
        raise ValueError(f"unsupported RequestType {kind!r}")
    if not (domain_id and profile):
        return SUCCESS, "no profile to drain"
    deadline = (
        time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    )
    return Drainer(client or _client(), domain_id, profile).run(deadline)


def _poll_seconds() -> float:
    return float(os.environ.get("DRAIN_POLL_SECONDS", POLL_SECONDS))


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def _is_not_found(err: ClientError) -> bool:
    message = err.response.get("Error", {}).get("Message", "")
    return _code(err) in ("ResourceNotFound", "ResourceNotFoundException") or (
        _code(err) == "ValidationException"
        and re.search(r"does not exist|not found", message, re.I) is not None
    )


def _log(action: str, **fields: Any) -> None:
    print(json.dumps({"action": action, **fields}, default=str))


class Drainer:
    """Drain one user profile; holds what this invocation has already asked SageMaker to do."""

    def __init__(self, client: Any, domain_id: str, profile: str) -> None:
        self.client, self.domain_id, self.profile = client, domain_id, profile
        self.failed_apps_retried: set[tuple[str, ...]] = set()
        self.spaces_deleted: set[str] = set()
        self.shared_spaces_left: list[str] = []

    def run(self, deadline: float) -> tuple[str, str]:
        while True:
            try:
                apps, spaces = self.reconcile()
            except ProfileGone:
                self.log("profile-gone")
                return SUCCESS, f"user profile {self.profile} no longer exists"
            if not (apps or spaces):
                self.log("drained", shared_spaces_left=self.shared_spaces_left)
                return SUCCESS, self.drained_reason()
            self.log("waiting", apps=apps, spaces=spaces)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return FAILED, _timeout_reason(apps, spaces)
            time.sleep(min(_poll_seconds(), remaining))

    def reconcile(self) -> tuple[list[str], list[str]]:
        """Run one round; return descriptions of the apps and spaces still in the way."""
        apps = self.fetch("list_apps", "Apps", UserProfileNameEquals=self.profile)
        if apps is None:
            raise ProfileGone
        # Apps in a space are settled with their space below, and only in private spaces.
        own = [app for app in apps if not app.get("SpaceName")]
        busy_apps = [_describe_app(app) for app in own if self.settle_app(app)]
        busy_spaces = []
        for space in self.private_spaces():
            name, status = space["SpaceName"], space.get("Status", "")
            if status != "Deleting":
                space_apps = self.fetch("list_apps", "Apps", SpaceNameEquals=name) or []
                busy = [_describe_app(app) for app in space_apps if self.settle_app(app)]
                busy_apps += busy
                if not busy and not self.delete_space(name, status):
                    continue
            busy_spaces.append(f"{name} ({status})")
        return busy_apps, busy_spaces

    def fetch(self, operation: str, key: str, **filters: str) -> list[dict[str, Any]] | None:
        """All items of a paginated listing in this domain, or None if its target is gone."""
        pages = self.client.get_paginator(operation).paginate(
            DomainIdEquals=self.domain_id, PaginationConfig={"PageSize": 100}, **filters
        )
        try:
            return [item for page in pages for item in page.get(key, [])]
        except ClientError as err:
            if _is_not_found(err):
                return None
            raise

    def private_spaces(self) -> list[dict[str, Any]]:
        """The profile's own private spaces; remembers the shared ones it owns, untouched."""
        spaces = self.fetch("list_spaces", "Spaces")
        if spaces is None:
            raise ProfileGone
        owned = [space for space in spaces if _owner(space) == self.profile]
        self.shared_spaces_left = sorted(s["SpaceName"] for s in owned if not _is_private(s))
        return [space for space in owned if _is_private(space)]

    def drained_reason(self) -> str:
        reason = f"user profile {self.profile} has no apps or private spaces left"
        if self.shared_spaces_left:
            shared = ", ".join(self.shared_spaces_left)
            reason += f"; shared spaces it owns were left for their users: {shared}"
        return reason

    def settle_app(self, app: dict[str, Any]) -> bool:
        """Delete the app if needed; return whether it still blocks the profile's deletion.

        A Failed app gets one delete attempt per invocation: if SageMaker accepts it the app
        turns Deleting and blocks; if it stays Failed it is not worth waiting for.
        """
        status = app.get("Status", "")
        key = (app.get("SpaceName", ""), app["AppType"], app["AppName"])
        if status == "Failed" and key not in self.failed_apps_retried:
            self.failed_apps_retried.add(key)
            self.delete_app(app)
            return True
        if status == "InService":
            self.delete_app(app)
        return status in BLOCKING_APP_STATES

    def delete_app(self, app: dict[str, Any]) -> None:
        space = app.get("SpaceName")
        owner = {"SpaceName": space} if space else {"UserProfileName": self.profile}
        try:
            self.client.delete_app(
                DomainId=self.domain_id, AppType=app["AppType"], AppName=app["AppName"], **owner
            )
            self.log("delete-app", app=_describe_app(app))
        except ClientError as err:
            if not (_is_not_found(err) or _code(err) == "ResourceInUse"):
                raise
            self.log("delete-app-deferred", app=_describe_app(app), error=_code(err))

    def delete_space(self, name: str, status: str) -> bool:
        """Ask SageMaker to delete the space; return whether it may still exist."""
        if status == "Delete_Failed" and name in self.spaces_deleted:
            raise RuntimeError(f"space {name} is Delete_Failed; see describe-space FailureReason")
        try:
            self.client.delete_space(DomainId=self.domain_id, SpaceName=name)
        except ClientError as err:
            if _is_not_found(err):
                return False
            if _code(err) != "ResourceInUse":
                raise
            self.log("delete-space-deferred", space=name, error=_code(err))
            return True
        self.spaces_deleted.add(name)
        self.log("delete-space", space=name)
        return True

    def log(self, action: str, **fields: Any) -> None:
        _log(action, domain=self.domain_id, profile=self.profile, **fields)


def _owner(space: dict[str, Any]) -> str | None:
    return (space.get("OwnershipSettingsSummary") or {}).get("OwnerUserProfileName")


def _is_private(space: dict[str, Any]) -> bool:
    """Only an explicit Private sharing type counts: a missing one is never assumed private."""
    return (space.get("SpaceSharingSettingsSummary") or {}).get("SharingType") == "Private"


def _describe_app(app: dict[str, Any]) -> str:
    where = f"in space {app['SpaceName']}" if app.get("SpaceName") else "of the profile"
    return f"{app['AppType']}/{app['AppName']} {where} ({app.get('Status')})"


def _timeout_reason(apps: list[str], spaces: list[str]) -> str:
    groups = (("apps", apps), ("spaces", spaces))
    parts = [f"{label}: {', '.join(items)}" for label, items in groups if items]
    return "timed out waiting for " + "; ".join(parts)


def _physical_id(event: dict[str, Any]) -> str:
    """Echo the id on Delete; otherwise derive it, so only a different profile means replacement."""
    props = _props(event)
    if (
        event.get("RequestType") != "Delete"
        and props.get("DomainId")
        and props.get("UserProfileName")
    ):
        return f"{props['DomainId']}/{props['UserProfileName']}"
    return event.get("PhysicalResourceId") or event.get("LogicalResourceId") or "profile-drain"


def _response(event: dict[str, Any], status: str, reason: str) -> dict[str, Any]:
    """The CloudFormation response, with Reason shortened to keep the body within 4 KB."""
    response = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": _physical_id(event),
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": {},
    }
    excess = len(json.dumps(response)) - RESPONSE_LIMIT_BYTES
    if excess > 0:
        response["Reason"] = reason[: max(0, len(reason) - excess - 3)] + "..."
    return response


def _send_response(url: str, response: dict[str, Any]) -> None:
    """PUT the response to the pre-signed S3 URL; raising after the last attempt makes Lambda
    retry the whole (idempotent) invocation instead of leaving the stack waiting an hour."""
    body = json.dumps(response).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        headers={"Content-Type": ""},
    )
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as reply:
                _log("response-sent", status=response["Status"], http=reply.status)
                return
        except OSError as exc:
            _log("response-failed", attempt=attempt, error=str(exc))
            if attempt == SEND_ATTEMPTS:
                raise
            time.sleep(attempt)
