"""Tests for the Custom::ProfileDrain Lambda handler.

Every SageMaker call goes through botocore's Stubber on a real client, so request parameters
and canned responses are validated against the SageMaker service model.
"""

from __future__ import annotations

import ast
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from factory.launch import drain_function
from factory.launch.drain_function import FAILED, SUCCESS, drain

DOMAIN = "d-abc123"
PROFILE = "alice"
SPACE = "alice-private"
PAGE = {"MaxResults": 100}


class FakeContext:
    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Recorder:
    """Stands in for the response PUT and remembers every response sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, response: dict[str, Any]) -> None:
        self.sent.append((url, response))

    @property
    def response(self) -> dict[str, Any]:
        assert len(self.sent) == 1, "exactly one response must be sent"
        return self.sent[0][1]


@pytest.fixture(autouse=True)
def no_polling_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAIN_POLL_SECONDS", "0")


@pytest.fixture
def sagemaker() -> Any:
    return boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture
def stubber(sagemaker: Any) -> Iterator[Stubber]:
    with Stubber(sagemaker) as stub:
        yield stub
        stub.assert_no_pending_responses()


def event(request_type: str, **props: str) -> dict[str, Any]:
    properties = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:drain"}
    properties.update(props or {"DomainId": DOMAIN, "UserProfileName": PROFILE})
    result: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/user-alice/guid",
        "RequestId": "req-1",
        "LogicalResourceId": "ProfileDrain",
        "ResourceType": "Custom::ProfileDrain",
        "ResourceProperties": properties,
    }
    if request_type != "Create":
        result["PhysicalResourceId"] = f"{DOMAIN}/{PROFILE}"
    return result


def run(
    sagemaker: Any, request_type: str = "Delete", remaining_ms: int = 900_000, **props: str
) -> dict[str, Any]:
    recorder = Recorder()
    drain(event(request_type, **props), FakeContext(remaining_ms), client=sagemaker, send=recorder)
    return recorder.response


def app(name: str, app_type: str, status: str, space: str | None = None) -> dict[str, Any]:
    owner = {"SpaceName": space} if space else {"UserProfileName": PROFILE}
    return {"DomainId": DOMAIN, "AppType": app_type, "AppName": name, "Status": status, **owner}


def space(
    name: str, owner: str | None = PROFILE, status: str = "InService", sharing: str = "Private"
) -> dict[str, Any]:
    result: dict[str, Any] = {"DomainId": DOMAIN, "SpaceName": name, "Status": status}
    if owner:
        result["OwnershipSettingsSummary"] = {"OwnerUserProfileName": owner}
        result["SpaceSharingSettingsSummary"] = {"SharingType": sharing}
    return result


def expect_profile_apps(
    stubber: Stubber,
    apps: list[dict[str, Any]],
    token: str | None = None,
    next_token: str | None = None,
) -> None:
    params = {"DomainIdEquals": DOMAIN, "UserProfileNameEquals": PROFILE, **PAGE}
    response: dict[str, Any] = {"Apps": apps}
    if token:
        params["NextToken"] = token
    if next_token:
        response["NextToken"] = next_token
    stubber.add_response("list_apps", response, params)


def expect_space_apps(stubber: Stubber, apps: list[dict[str, Any]], name: str = SPACE) -> None:
    params = {"DomainIdEquals": DOMAIN, "SpaceNameEquals": name, **PAGE}
    stubber.add_response("list_apps", {"Apps": apps}, params)


def expect_spaces(stubber: Stubber, spaces: list[dict[str, Any]]) -> None:
    stubber.add_response("list_spaces", {"Spaces": spaces}, {"DomainIdEquals": DOMAIN, **PAGE})


def expect_delete_app(stubber: Stubber, name: str, app_type: str, space: str | None = None) -> None:
    owner = {"SpaceName": space} if space else {"UserProfileName": PROFILE}
    params = {"DomainId": DOMAIN, "AppType": app_type, "AppName": name, **owner}
    stubber.add_response("delete_app", {}, params)


def expect_delete_space(stubber: Stubber, name: str = SPACE) -> None:
    stubber.add_response("delete_space", {}, {"DomainId": DOMAIN, "SpaceName": name})


def expect_error(stubber: Stubber, method: str, code: str, message: str, **params: Any) -> None:
    stubber.add_client_error(
        method, service_error_code=code, service_message=message, expected_params=params
    )


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_make_no_api_calls(
    sagemaker: Any, stubber: Stubber, request_type: str
) -> None:
    response = run(sagemaker, request_type)

    assert response["Status"] == SUCCESS
    assert response["PhysicalResourceId"] == f"{DOMAIN}/{PROFILE}"


def test_update_to_another_profile_changes_the_physical_id(
    sagemaker: Any, stubber: Stubber
) -> None:
    response = run(sagemaker, "Update", DomainId=DOMAIN, UserProfileName="bob")

    assert response["PhysicalResourceId"] == f"{DOMAIN}/bob"


def test_create_without_properties_fails(sagemaker: Any, stubber: Stubber) -> None:
    response = run(sagemaker, "Create", DomainId=DOMAIN, UserProfileName="")

    assert response["Status"] == FAILED
    assert "UserProfileName" in response["Reason"]
    assert response["PhysicalResourceId"] == "ProfileDrain"


def test_delete_after_failed_create_succeeds_without_api_calls(
    sagemaker: Any, stubber: Stubber
) -> None:
    response = run(sagemaker, "Delete", DomainId="", UserProfileName="")

    assert response["Status"] == SUCCESS


def test_unknown_request_type_fails(sagemaker: Any, stubber: Stubber) -> None:
    response = run(sagemaker, "Replace")

    assert response["Status"] == FAILED
    assert "Replace" in response["Reason"]


def test_delete_with_no_apps_and_no_owned_spaces(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [app("old", "JupyterLab", "Deleted")])
    expect_spaces(stubber, [space("bob-private", owner="bob"), space("legacy-shared", owner=None)])

    response = run(sagemaker)

    assert response == {
        "Status": SUCCESS,
        "Reason": f"user profile {PROFILE} has no apps or private spaces left",
        "PhysicalResourceId": f"{DOMAIN}/{PROFILE}",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/user-alice/guid",
        "RequestId": "req-1",
        "LogicalResourceId": "ProfileDrain",
        "NoEcho": False,
        "Data": {},
    }


def test_delete_removes_running_apps_and_waits_until_deleted(
    sagemaker: Any, stubber: Stubber
) -> None:
    expect_profile_apps(
        stubber,
        [
            app("default", "JupyterLab", "InService"),
            app("default", "CodeEditor", "InService"),
            app("yesterday", "JupyterLab", "Deleted"),
        ],
    )
    expect_delete_app(stubber, "default", "JupyterLab")
    expect_delete_app(stubber, "default", "CodeEditor")
    expect_spaces(stubber, [])
    expect_profile_apps(
        stubber, [app("default", "JupyterLab", "Deleting"), app("default", "CodeEditor", "Deleted")]
    )
    expect_spaces(stubber, [])
    expect_profile_apps(
        stubber, [app("default", "JupyterLab", "Deleted"), app("default", "CodeEditor", "Deleted")]
    )
    expect_spaces(stubber, [])

    assert run(sagemaker)["Status"] == SUCCESS


def test_apps_already_deleting_are_not_deleted_again(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Deleting")])
    expect_spaces(stubber, [])
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Deleted")])
    expect_spaces(stubber, [])

    assert run(sagemaker)["Status"] == SUCCESS


def test_pending_app_is_deleted_once_in_service(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Pending")])
    expect_spaces(stubber, [])
    expect_profile_apps(stubber, [app("default", "JupyterLab", "InService")])
    expect_delete_app(stubber, "default", "JupyterLab")
    expect_spaces(stubber, [])
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Deleted")])
    expect_spaces(stubber, [])

    assert run(sagemaker)["Status"] == SUCCESS


def test_app_vanishing_before_delete_is_fine(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [app("default", "JupyterLab", "InService")])
    expect_error(
        stubber,
        "delete_app",
        "ResourceNotFound",
        "App does not exist",
        DomainId=DOMAIN,
        UserProfileName=PROFILE,
        AppType="JupyterLab",
        AppName="default",
    )
    expect_spaces(stubber, [])
    expect_profile_apps(stubber, [])
    expect_spaces(stubber, [])

    assert run(sagemaker)["Status"] == SUCCESS


def test_failed_app_gets_one_delete_attempt(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Failed")])
    expect_delete_app(stubber, "default", "JupyterLab")
    expect_spaces(stubber, [])
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Failed")])
    expect_spaces(stubber, [])

    assert run(sagemaker)["Status"] == SUCCESS


def test_private_space_in_use_is_emptied_then_deleted(sagemaker: Any, stubber: Stubber) -> None:
    owned = [space(SPACE), space("bob-private", owner="bob")]
    expect_profile_apps(stubber, [])
    expect_spaces(stubber, owned)
    expect_space_apps(stubber, [app("default", "JupyterLab", "InService", space=SPACE)])
    expect_delete_app(stubber, "default", "JupyterLab", space=SPACE)

    expect_profile_apps(stubber, [])
    expect_spaces(stubber, owned)
    expect_space_apps(stubber, [app("default", "JupyterLab", "Deleted", space=SPACE)])
    expect_error(
        stubber,
        "delete_space",
        "ResourceInUse",
        "Space has apps that are still being deleted",
        DomainId=DOMAIN,
        SpaceName=SPACE,
    )

    expect_profile_apps(stubber, [])
    expect_spaces(stubber, owned)
    expect_space_apps(stubber, [app("default", "JupyterLab", "Deleted", space=SPACE)])
    expect_delete_space(stubber)

    expect_profile_apps(stubber, [])
    expect_spaces(stubber, [space(SPACE, status="Deleting"), space("bob-private", owner="bob")])

    expect_profile_apps(stubber, [])
    expect_spaces(stubber, [space("bob-private", owner="bob")])

    assert run(sagemaker)["Status"] == SUCCESS


def test_space_deleted_concurrently_is_fine(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [])
    expect_spaces(stubber, [space(SPACE)])
    expect_error(
        stubber,
        "list_apps",
        "ResourceNotFound",
        "Space does not exist",
        DomainIdEquals=DOMAIN,
        SpaceNameEquals=SPACE,
        **PAGE,
    )
    expect_error(
        stubber, "delete_space", "ResourceNotFound", "gone", DomainId=DOMAIN, SpaceName=SPACE
    )

    assert run(sagemaker)["Status"] == SUCCESS


def test_space_that_fails_to_delete_twice_fails_fast(sagemaker: Any, stubber: Stubber) -> None:
    for retry_delete in (True, False):
        expect_profile_apps(stubber, [])
        expect_spaces(stubber, [space(SPACE, status="Delete_Failed")])
        expect_space_apps(stubber, [])
        if retry_delete:
            expect_delete_space(stubber)

    response = run(sagemaker)

    assert response["Status"] == FAILED
    assert f"space {SPACE} is Delete_Failed" in response["Reason"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ResourceNotFound", "User profile alice not found"),
        ("ValidationException", "User profile arn:...:user-profile/d-abc123/alice does not exist"),
    ],
)
def test_profile_already_gone_succeeds(
    sagemaker: Any, stubber: Stubber, code: str, message: str
) -> None:
    expect_error(
        stubber,
        "list_apps",
        code,
        message,
        DomainIdEquals=DOMAIN,
        UserProfileNameEquals=PROFILE,
        **PAGE,
    )

    response = run(sagemaker)

    assert response["Status"] == SUCCESS
    assert "no longer exists" in response["Reason"]


def test_other_validation_errors_fail(sagemaker: Any, stubber: Stubber) -> None:
    expect_error(
        stubber,
        "list_apps",
        "ValidationException",
        "1 validation error detected",
        DomainIdEquals=DOMAIN,
        UserProfileNameEquals=PROFILE,
        **PAGE,
    )

    assert run(sagemaker)["Status"] == FAILED


def test_sagemaker_error_fails_with_its_message(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [app("default", "JupyterLab", "InService")])
    expect_error(
        stubber,
        "delete_app",
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/drain is not authorized to perform "
        "sagemaker:DeleteApp",
        DomainId=DOMAIN,
        UserProfileName=PROFILE,
        AppType="JupyterLab",
        AppName="default",
    )

    response = run(sagemaker)

    assert response["Status"] == FAILED
    assert "AccessDeniedException" in response["Reason"]
    assert "not authorized to perform sagemaker:DeleteApp" in response["Reason"]


def test_long_error_message_is_truncated_to_fit_the_response(
    sagemaker: Any, stubber: Stubber
) -> None:
    expect_error(
        stubber,
        "list_apps",
        "ThrottlingException",
        "Rate exceeded " + "x" * 10_000,
        DomainIdEquals=DOMAIN,
        UserProfileNameEquals=PROFILE,
        **PAGE,
    )

    response = run(sagemaker)

    assert response["Status"] == FAILED
    assert response["Reason"].endswith("...")
    assert "ThrottlingException" in response["Reason"]
    assert len(json.dumps(response)) <= drain_function.RESPONSE_LIMIT_BYTES


def test_deadline_reached_fails_naming_what_is_still_running(
    sagemaker: Any, stubber: Stubber
) -> None:
    expect_profile_apps(stubber, [])
    expect_spaces(stubber, [space(SPACE)])
    expect_space_apps(stubber, [app("default", "JupyterLab", "Deleting", space=SPACE)])
    at_deadline_ms = int(drain_function.SAFETY_MARGIN_SECONDS * 1000)

    response = run(sagemaker, remaining_ms=at_deadline_ms)

    assert response["Status"] == FAILED
    assert response["Reason"] == (
        "timed out waiting for apps: JupyterLab/default in space alice-private (Deleting); "
        "spaces: alice-private (InService)"
    )


def test_list_apps_follows_next_token(sagemaker: Any, stubber: Stubber) -> None:
    expect_profile_apps(stubber, [app("default", "JupyterLab", "InService")], next_token="t1")
    expect_profile_apps(stubber, [app("default", "CodeEditor", "InService")], token="t1")
    expect_delete_app(stubber, "default", "JupyterLab")
    expect_delete_app(stubber, "default", "CodeEditor")
    expect_spaces(stubber, [])
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Deleted")], next_token="t2")
    expect_profile_apps(stubber, [app("default", "CodeEditor", "Deleted")], token="t2")
    expect_spaces(stubber, [])

    assert run(sagemaker)["Status"] == SUCCESS


def test_poll_interval_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAIN_POLL_SECONDS", "2.5")
    assert drain_function._poll_seconds() == 2.5
    monkeypatch.delenv("DRAIN_POLL_SECONDS")
    assert drain_function._poll_seconds() == drain_function.POLL_SECONDS


def test_client_uses_standard_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    client = drain_function._client()

    assert client.meta.service_model.service_name == "sagemaker"
    assert client.meta.config.retries["mode"] == "standard"


class ResponseCatcher(BaseHTTPRequestHandler):
    """Plays the pre-signed S3 URL; answers 500 to the first `fail_first` PUTs."""

    received: list[dict[str, Any]]
    fail_first = 0

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
        )
        failing = len(self.received) <= self.fail_first
        self.send_response(500 if failing else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def response_server() -> Iterator[tuple[str, type[ResponseCatcher]]]:
    catcher = type("Catcher", (ResponseCatcher,), {"received": [], "fail_first": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), catcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stack/req-1?X-Amz-Signature=s", catcher
    finally:
        server.shutdown()
        server.server_close()


def test_handler_puts_the_response_to_the_presigned_url(
    response_server: tuple[str, type[ResponseCatcher]],
) -> None:
    url, catcher = response_server
    request = {**event("Create"), "ResponseURL": url}

    drain_function.handler(request, FakeContext())

    [put] = catcher.received
    assert put["path"] == "/stack/req-1?X-Amz-Signature=s"
    assert put["headers"]["Content-Type"] == ""
    assert put["body"] == {
        "Status": SUCCESS,
        "Reason": "Create: nothing to do",
        "PhysicalResourceId": f"{DOMAIN}/{PROFILE}",
        "StackId": request["StackId"],
        "RequestId": "req-1",
        "LogicalResourceId": "ProfileDrain",
        "NoEcho": False,
        "Data": {},
    }


def test_response_put_is_retried(
    response_server: tuple[str, type[ResponseCatcher]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, catcher = response_server
    catcher.fail_first = 1
    monkeypatch.setattr(drain_function.time, "sleep", lambda seconds: None)

    drain_function._send_response(url, {"Status": SUCCESS})

    assert [put["body"] for put in catcher.received] == [{"Status": SUCCESS}] * 2


def test_module_is_self_contained_for_inline_embedding() -> None:
    source = Path(drain_function.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])

    assert imported <= {
        "__future__",
        "boto3",
        "botocore",
        "collections",
        "json",
        "os",
        "re",
        "time",
        "traceback",
        "typing",
        "urllib",
    }
    assert "def handler(" in source
    # Embedded verbatim (docstrings included): the ZipFile limit is 4 MB (registry schema of
    # AWS::Lambda::Function, Code.ZipFile); stay far below it.
    assert len(source.encode()) < 64 * 1024


def test_shared_spaces_are_never_touched_even_when_the_person_owns_them(
    sagemaker: Any, stubber: Stubber
) -> None:
    """Issue 7: a shared space is the team's; only the person's private spaces go."""
    spaces = [space("team-shared", sharing="Shared"), space(SPACE)]
    expect_profile_apps(stubber, [])
    expect_spaces(stubber, spaces)
    expect_space_apps(stubber, [])
    expect_delete_space(stubber)
    expect_profile_apps(stubber, [])
    expect_spaces(stubber, [space("team-shared", sharing="Shared")])

    response = run(sagemaker)

    assert response["Status"] == SUCCESS
    assert "shared spaces it owns were left for their users: team-shared" in response["Reason"]


def test_space_without_a_sharing_type_is_not_assumed_private(
    sagemaker: Any, stubber: Stubber
) -> None:
    legacy = space("legacy", sharing="Private")
    del legacy["SpaceSharingSettingsSummary"]
    expect_profile_apps(stubber, [])
    expect_spaces(stubber, [legacy])

    assert run(sagemaker)["Status"] == SUCCESS


def test_apps_of_shared_spaces_listed_under_the_profile_are_left_running(
    sagemaker: Any, stubber: Stubber
) -> None:
    """An app in someone's shared space is not the person's own app, whatever the listing says."""
    shared_app = app("default", "JupyterLab", "InService", space="team-shared")
    expect_profile_apps(stubber, [shared_app, app("default", "CodeEditor", "InService")])
    expect_delete_app(stubber, "default", "CodeEditor")
    expect_spaces(stubber, [space("team-shared", owner="bob", sharing="Shared")])
    expect_profile_apps(stubber, [shared_app, app("default", "CodeEditor", "Deleted")])
    expect_spaces(stubber, [space("team-shared", owner="bob", sharing="Shared")])

    assert run(sagemaker)["Status"] == SUCCESS


def test_retry_after_a_timeout_carries_on_where_sagemaker_is(
    sagemaker: Any, stubber: Stubber
) -> None:
    """The docstring's promise: a second invocation (Retry delete) is idempotent."""
    at_deadline_ms = int(drain_function.SAFETY_MARGIN_SECONDS * 1000)
    expect_profile_apps(stubber, [app("default", "JupyterLab", "InService")])
    expect_delete_app(stubber, "default", "JupyterLab")
    expect_spaces(stubber, [])
    assert run(sagemaker, remaining_ms=at_deadline_ms)["Status"] == FAILED

    expect_profile_apps(stubber, [app("default", "JupyterLab", "Deleting")])
    expect_spaces(stubber, [])
    expect_profile_apps(stubber, [app("default", "JupyterLab", "Deleted")])
    expect_spaces(stubber, [])
    assert run(sagemaker)["Status"] == SUCCESS


def test_drain_documents_duration_and_retry() -> None:
    doc = drain_function.__doc__ or ""
    assert "minutes" in doc and "Retry delete" in doc and "shared spaces" in doc
