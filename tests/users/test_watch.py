"""factory.users.watch: judging a launch, update or termination from one listing item (no
AWS), and `settle` following many of them with a listing per round."""

from __future__ import annotations

from typing import Any

import pytest

from factory.users import watch
from factory.users.provision import Result
from factory.users.watch import judge

OURS = "rec-ours"


def result(status: str, record_id: str = OURS, person: str = "alice") -> Result:
    return Result(person, f"studio-user-{person}", status, record_id=record_id)


def item(status: str, record_id: str = OURS, message: str = "") -> dict[str, Any]:
    found = {"Name": "studio-user-alice", "Status": status, "LastRecordId": record_id}
    return {**found, "StatusMessage": message} if message else found


@pytest.mark.parametrize("change", ["launched", "updating", "removing"])
def test_nothing_is_concluded_before_the_listing_shows_our_record(change: str) -> None:
    # Eventually consistent: the listing may still show the state from before our change.
    for status in ("AVAILABLE", "ERROR", "TAINTED", "UNDER_CHANGE"):
        assert judge(result(change), item(status, record_id="rec-before")) is None


@pytest.mark.parametrize("change", ["launched", "updating", "removing"])
@pytest.mark.parametrize("status", ["UNDER_CHANGE", "PLAN_IN_PROGRESS"])
def test_a_change_still_running_is_not_judged(change: str, status: str) -> None:
    assert judge(result(change), item(status)) is None


@pytest.mark.parametrize(("change", "expected"), [("launched", "created"), ("updating", "updated")])
def test_available_with_our_record_is_success(change: str, expected: str) -> None:
    assert judge(result(change), item("AVAILABLE")) == (expected, "")


@pytest.mark.parametrize("change", ["launched", "updating", "removing"])
def test_error_is_a_failure_with_the_status_message(change: str) -> None:
    message = "The following resource(s) failed to create: [UserProfile]."
    assert judge(result(change), item("ERROR", message=message)) == ("failed", message)
    assert judge(result(change), item("ERROR")) == ("failed", "ERROR")


def test_tainted_is_a_failure_rolled_back_to_the_previous_version() -> None:
    message = "The following resource(s) failed to update: [UserProfile]."
    assert judge(result("updating"), item("TAINTED", message=message)) == (
        "failed",
        f"rolled back to the previous version: {message}",
    )
    assert judge(result("updating"), item("TAINTED")) == (
        "failed",
        "rolled back to the previous version",
    )


def test_a_termination_ends_when_the_product_leaves_the_listing() -> None:
    assert judge(result("removing"), None) == ("removed", "")
    # Still listed AVAILABLE with our record: the terminate has not taken effect yet.
    assert judge(result("removing"), item("AVAILABLE")) is None


@pytest.mark.parametrize("change", ["launched", "updating"])
def test_a_launch_or_update_not_listed_yet_is_still_on_its_way(change: str) -> None:
    assert judge(result(change), None) is None


class Listing:
    """A stand-in for the Service Catalog client: SearchProvisionedProducts answers the
    rounds given, one per call, then the last one again."""

    def __init__(self, *rounds: list[dict[str, Any]]) -> None:
        self.rounds = list(rounds)
        self.calls = 0

    def search_provisioned_products(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        page = self.rounds[min(self.calls, len(self.rounds)) - 1]
        return {"ProvisionedProducts": page}


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "POLL_FIRST_S", 0.01)
    monkeypatch.setattr(watch, "POLL_MAX_S", 0.02)


def listed(person: str, status: str, record_id: str) -> dict[str, Any]:
    return {"Name": f"studio-user-{person}", "Status": status, "LastRecordId": record_id}


def test_settle_follows_every_change_to_its_end_and_reports_each_once() -> None:
    results = [
        result("launched", "rec-a", "alice"),
        result("updating", "rec-b", "bob"),
        result("removing", "rec-c", "carol"),
        Result("dave", "studio-user-dave", "already present"),  # nothing to follow
    ]
    sc = Listing(
        [
            listed("alice", "AVAILABLE", "rec-old"),
            listed("bob", "UNDER_CHANGE", "rec-b"),
            listed("carol", "AVAILABLE", "rec-old"),
        ],
        [
            listed("alice", "UNDER_CHANGE", "rec-a"),
            listed("bob", "TAINTED", "rec-b"),
            listed("carol", "UNDER_CHANGE", "rec-c"),
        ],
        [listed("alice", "AVAILABLE", "rec-a"), listed("bob", "TAINTED", "rec-b")],
    )
    settled: list[str] = []
    client: Any = sc
    watch.settle(client, results, timeout_s=5, on_settled=lambda r: settled.append(r.person))
    assert [(r.person, r.status) for r in results] == [
        ("alice", "created"),
        ("bob", "failed"),
        ("carol", "removed"),
        ("dave", "already present"),
    ]
    assert settled == ["bob", "alice", "carol"]  # as each ended (bob in round 2), once
    assert sc.calls == 3


def test_settle_reports_what_is_still_running_at_the_timeout_as_in_progress() -> None:
    results = [result("launched", "rec-a", "alice")]
    client: Any = Listing([listed("alice", "UNDER_CHANGE", "rec-a")])
    watch.settle(client, results, timeout_s=0.1)
    assert results[0].status == "in progress"
    assert "record rec-a still running" in results[0].detail
