"""factory.users.identity against moto's identitystore (in-process `mock_aws`), and botocore's
Stubber for the answers moto does not give (ResourceNotFound on ListGroupMemberships, access
denied)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from moto import mock_aws
from moto.identitystore.models import identitystore_backends

from factory.users.identity import (
    SOURCE_TAG,
    Member,
    Person,
    contested,
    desired_people,
    group_id,
    group_members,
    person_for,
    plan_sync,
    source_value,
)
from factory.users.provision import PERSON, UsersError

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STORE = "d-1234567890"
UUID = "8f4e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[BaseClient]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IDENTITYSTORE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client("identitystore", region_name=REGION)


def add_user(client: BaseClient, user_name: str, emails: list[dict] | None = None) -> str:
    extra = {"Emails": emails} if emails else {}
    return client.create_user(
        IdentityStoreId=STORE,
        UserName=user_name,
        DisplayName=f"{user_name} display",
        Name={"GivenName": "Given", "FamilyName": "Family"},
        **extra,
    )["UserId"]


def add_group(client: BaseClient, name: str, users: list[str]) -> str:
    group = client.create_group(IdentityStoreId=STORE, DisplayName=name)["GroupId"]
    for user in users:
        client.create_group_membership(
            IdentityStoreId=STORE, GroupId=group, MemberId={"UserId": user}
        )
    return group


def member(user_name: str, user_id: str | None = None) -> Member:
    return Member(user_id or f"id-{user_name}", user_name, "", f"{user_name}@example.com")


# group_id ---------------------------------------------------------------------------------


def test_group_id_resolves_a_display_name(client: BaseClient) -> None:
    group = add_group(client, "ML Analysts", [])
    add_group(client, "Other", [])
    assert group_id(client, STORE, "ML Analysts") == group


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (UUID, UUID),
        (f"1234567890-{UUID}", f"1234567890-{UUID}"),  # <identity store prefix>-<uuid>
        (f"arn:aws:identitystore:::group/1234567890-{UUID}", f"1234567890-{UUID}"),
    ],
)
def test_group_id_takes_an_id_as_is(client: BaseClient, given: str, expected: str) -> None:
    with Stubber(client) as stub:  # no call at all: the stubber has nothing queued
        assert group_id(client, STORE, given) == expected
        stub.assert_no_pending_responses()


def test_group_id_refuses_the_arn_of_a_user(client: BaseClient) -> None:
    with pytest.raises(UsersError, match="the ARN of a user, not of a group"):
        group_id(client, STORE, f"arn:aws:identitystore:::user/{UUID}")


def test_a_missing_group_names_the_group_and_the_store(client: BaseClient) -> None:
    add_group(client, "ML Analysts", [])
    with pytest.raises(UsersError) as caught:
        group_id(client, STORE, "ml analysts")  # display names are exact
    assert f"group 'ml analysts': no such group in identity store {STORE}" in str(caught.value)


def test_a_missing_group_id_is_reported_by_the_listing() -> None:
    client = boto3.client("identitystore", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_group_memberships",
            service_error_code="ResourceNotFoundException",
            expected_params={"IdentityStoreId": STORE, "GroupId": UUID},
        )
        with pytest.raises(UsersError, match=f"group '{UUID}': no such group in identity store"):
            group_members(client, STORE, UUID)


def test_access_denied_says_which_permissions_are_needed() -> None:
    client = boto3.client("identitystore", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("get_group_id", service_error_code="AccessDeniedException")
        with pytest.raises(UsersError) as caught:
            group_id(client, STORE, "ML Analysts")
    message = str(caught.value)
    assert "identitystore:GetGroupId denied" in message
    assert "identitystore:ListGroupMemberships" in message
    assert "identitystore:DescribeUser" in message


# group_members ----------------------------------------------------------------------------


def test_members_are_described_and_sorted_by_user_name(client: BaseClient) -> None:
    carol = add_user(client, "carol@example.com", [{"Value": "carol@example.com"}])
    alice = add_user(
        client,
        "alice@example.com",
        [{"Value": "alice@work.example.com", "Primary": True, "Type": "work"}],
    )
    bob = add_user(client, "bob")  # no email
    group = add_group(client, "ML Analysts", [carol, alice, bob])
    add_group(client, "Other", [add_user(client, "dave@example.com")])
    assert group_members(client, STORE, group) == [
        Member(alice, "alice@example.com", "alice@example.com display", "alice@work.example.com"),
        Member(bob, "bob", "bob display", ""),
        Member(carol, "carol@example.com", "carol@example.com display", "carol@example.com"),
    ]


def test_members_page_past_one_page(client: BaseClient) -> None:
    users = [add_user(client, f"user{i:03d}@example.com") for i in range(105)]
    group = add_group(client, "Everyone", users)
    calls: list[dict] = []
    client.meta.events.register(
        "before-parameter-build.identitystore.ListGroupMemberships",
        lambda params, **_: calls.append(dict(params)),
    )
    by_default = group_members(client, STORE, group)  # MaxResults defaults to 100 (moto)
    assert [m.user_id for m in by_default] == users
    assert len(calls) == 2
    calls.clear()
    small_pages = group_members(client, STORE, group, page_size=7)
    assert small_pages == by_default
    assert len(calls) == 15
    assert {call["MaxResults"] for call in calls} == {7}


def test_members_that_are_not_users_are_skipped(client: BaseClient) -> None:
    alice = add_user(client, "alice@example.com")
    gone = add_user(client, "gone@example.com")
    group = add_group(client, "ML Analysts", [alice, gone])
    client.delete_user(IdentityStoreId=STORE, UserId=gone)  # deleted since the listing
    store = identitystore_backends[ACCOUNT][REGION].identity_stores[STORE]
    store.group_memberships["nested"] = {  # a member kind the model does not know yet
        "IdentityStoreId": STORE,
        "MembershipId": "nested",
        "GroupId": group,
        "MemberId": {"GroupId": UUID},
    }
    assert [m.user_name for m in group_members(client, STORE, group)] == ["alice@example.com"]


# person_for -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_name", "person"),
    [
        ("alice@example.com", "alice"),
        ("Jane.Doe@Example.com", "jane-doe"),
        ("jane.doe+ml@example.com", "jane-doe-ml"),
        ("JOHN_SMITH", "john-smith"),
        ("-.o'brien..@example.com", "o-brien"),
        ("José.García@example.com", "jos-garc-a"),
        ('"a@b"@example.com', "a-b"),  # the part before the last "@"
        ("CORP\\jdoe", "corp-jdoe"),
        ("@example.com", ""),
        ("a" * 70 + "@example.com", "a" * 63),
        ("a" * 62 + ".b@example.com", "a" * 62),  # cut at 63, then the trailing "-" stripped
    ],
)
def test_person_for(user_name: str, person: str) -> None:
    assert person_for(user_name) == person
    assert person == "" or PERSON.fullmatch(person)


# desired_people ---------------------------------------------------------------------------


def test_desired_people_keep_the_exact_user_name() -> None:
    people, problems = desired_people([member("Bob.Smith@Example.com"), member("alice")])
    assert problems == []
    assert people == [
        Person("alice", "alice", "alice@example.com", "id-alice"),
        Person(
            "bob-smith",
            "Bob.Smith@Example.com",
            "Bob.Smith@Example.com@example.com",
            "id-Bob.Smith@Example.com",
        ),
    ]


def test_collisions_provision_no_one_and_name_every_user() -> None:
    members = [
        member("jane.doe@a.example.com"),
        member("Jane_Doe@b.example.com"),
        member("jane-doe"),
        member("zoe@example.com"),
    ]
    people, problems = desired_people(members)
    assert [p.person for p in people] == ["zoe"]
    assert len(problems) == 1
    assert problems[0].startswith("person 'jane-doe': Identity Center users")
    for user_name in ("jane.doe@a.example.com", "Jane_Doe@b.example.com", "'jane-doe'"):
        assert user_name in problems[0]
    assert "one person, one profile" in problems[0]
    assert contested(members) == {"jane-doe"}


def test_invalid_names_are_problems_with_what_is_allowed() -> None:
    people, problems = desired_people([member("@example.com", "u1"), member("___", "u2")])
    assert people == []
    assert len(problems) == 2
    assert problems[0].startswith("Identity Center user '@example.com' (u1): maps to person ''")
    assert "allowed: letters, digits and hyphens" in problems[0]


# source_value -----------------------------------------------------------------------------


def test_source_value_uses_the_bare_ids_and_fits_a_tag_value() -> None:
    assert source_value(STORE, UUID) == f"identity-center:{STORE}/{UUID}"
    longest = source_value(
        f"arn:aws-us-gov:identitystore::123456789012:identitystore/{UUID}",
        f"arn:aws-us-gov:identitystore:::group/1234567890-{UUID}",
    )
    assert longest == f"identity-center:{UUID}/1234567890-{UUID}"
    assert len(longest) <= 256


# plan_sync --------------------------------------------------------------------------------

SOURCE = source_value(STORE, UUID)


def person(name: str) -> Person:
    return Person(name, f"{name}@example.com", f"{name}@example.com", f"id-{name}")


def test_plan_creates_the_missing_and_keeps_the_present_whatever_their_source() -> None:
    desired = [person("alice"), person("bob"), person("carol")]
    present = {
        "studio-user-alice": {SOURCE_TAG: SOURCE},
        "studio-user-Bob": {"Team": "ml"},  # onboarded from a CSV, as "Bob"
        "studio-user-dave": {SOURCE_TAG: SOURCE},
    }
    plan = plan_sync(desired, present, SOURCE, prune=False)
    assert plan.create == [person("carol")]
    assert plan.present == [person("alice"), person("bob")]
    assert plan.remove == []  # dave left the group, but no prune
    assert plan.pending


def test_prune_removes_only_what_this_source_added() -> None:
    other = source_value(STORE, f"1234567890-{UUID}")
    present = {
        "studio-user-alice": {SOURCE_TAG: SOURCE},
        "studio-user-dave": {SOURCE_TAG: SOURCE},  # left the group: removed
        "studio-user-erin": {"Team": "ml"},  # onboarded from a CSV: never removed
        "studio-user-frank": {SOURCE_TAG: other},  # another group's: never removed
        "studio-user-Gina": {SOURCE_TAG: SOURCE},  # still desired, as "gina"
        "studio-user-jane-doe": {SOURCE_TAG: SOURCE},  # contested this run: kept
    }
    desired = [person("alice"), person("gina")]
    plan = plan_sync(desired, present, SOURCE, prune=True, keep={"jane-doe"})
    assert plan.create == []
    assert plan.present == desired
    assert plan.remove == ["studio-user-dave"]
    assert plan.pending


def test_nothing_to_do_is_not_pending() -> None:
    present = {"studio-user-alice": {SOURCE_TAG: SOURCE}, "studio-user-erin": {}}
    plan = plan_sync([person("alice")], present, SOURCE, prune=True)
    assert (plan.create, plan.remove, plan.pending) == ([], [], False)


def test_disabled_users_are_not_desired() -> None:
    from factory.users.identity import Member, desired_people

    members = [
        Member("u-1", "alice@corp.test", "Alice", "alice@corp.test"),
        Member("u-2", "bob@corp.test", "Bob", "bob@corp.test", enabled=False),
    ]
    people, problems = desired_people(members)
    assert [p.person for p in people] == ["alice"]
    assert problems == []
