"""`users sync --identity-center-group GROUP` against local AWS: the group's members in moto's
identity store are the desired set; newcomers are provisioned with their Identity Center user
name, and with `--prune` only the profiles the sync added for that group are removed
(issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from factory.testing.local_aws import LocalAWS
from tests.support.publish import settle
from tests.support.users import accepted, add, names, parameters, provisioned, users

STORE = "d-1234567890"
GROUP = "ml-team"
SOURCE_TAG = "studio-factory:source"


class Directory:
    """Users and one group in moto's identity store (reached through local AWS)."""

    def __init__(self, aws: LocalAWS) -> None:
        self.client: BaseClient = aws.client("identitystore")
        self.group_id = self.client.create_group(IdentityStoreId=STORE, DisplayName=GROUP)[
            "GroupId"
        ]
        self.memberships: dict[str, str] = {}

    def join(self, user_name: str, display_name: str) -> None:
        given, _, family = display_name.partition(" ")
        user_id = self.client.create_user(
            IdentityStoreId=STORE,
            UserName=user_name,
            DisplayName=display_name,
            Name={"GivenName": given, "FamilyName": family},
            Emails=[{"Value": user_name, "Type": "work", "Primary": True}],
        )["UserId"]
        self.memberships[user_name] = self.client.create_group_membership(
            IdentityStoreId=STORE, GroupId=self.group_id, MemberId={"UserId": user_id}
        )["MembershipId"]

    def leave(self, user_name: str) -> None:
        self.client.delete_group_membership(
            IdentityStoreId=STORE, MembershipId=self.memberships.pop(user_name)
        )


def sync(root: Path, *extra: str) -> Any:
    return users(
        root,
        "sync",
        *("--identity-center-group", GROUP, "--identity-store-id", STORE),
        *("--persona", "junior-analyst"),
        *extra,
    )


def test_sync_provisions_the_group_members_once(local_aws: LocalAWS, published: Path) -> None:
    directory = Directory(local_aws)
    directory.join("alice@corp.test", "Alice Liddell")
    directory.join("Bob.Smith@corp.test", "Bob Smith")
    local_aws.standin.reset_stats()

    dry = sync(published, "--dry-run")
    assert dry.exit_code == 2, dry.output
    assert "create studio-user-alice (junior-analyst)" in dry.output
    assert "create studio-user-bob-smith (junior-analyst)" in dry.output
    assert "plan: 2 to create, 0 to remove, 0 present" in dry.output
    assert not provisioned(local_aws)
    assert accepted(local_aws, "ProvisionProduct") == 0

    result = sync(published)
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    assert names(local_aws) == ["studio-user-alice", "studio-user-bob-smith"]
    source = f"identity-center:{STORE}/{directory.group_id}"
    for pp in provisioned(local_aws):
        values = parameters(pp)
        sso_user = {"alice": "alice@corp.test", "bob-smith": "Bob.Smith@corp.test"}[
            values["UserProfileName"]
        ]
        assert values["SsoUserName"] == sso_user  # exactly the Identity Center UserName
        assert values["Persona"] == "junior-analyst"
        assert pp.tags[SOURCE_TAG] == source
        assert pp.status == "AVAILABLE"

    settle(local_aws)
    local_aws.standin.reset_stats()
    again = sync(published)
    assert again.exit_code == 0, again.output
    assert "plan: 0 to create, 0 to remove, 2 present" in again.output
    assert accepted(local_aws, "ProvisionProduct") == 0
    assert accepted(local_aws, "TerminateProvisionedProduct") == 0


def test_prune_removes_only_the_leavers_the_sync_added(
    local_aws: LocalAWS, published: Path
) -> None:
    directory = Directory(local_aws)
    directory.join("alice@corp.test", "Alice Liddell")
    directory.join("bob@corp.test", "Bob Smith")
    assert sync(published).exit_code == 0
    assert add(published, "carol").exit_code == 0  # onboarded by hand: no source tag
    settle(local_aws)
    directory.leave("bob@corp.test")
    everyone = ["studio-user-alice", "studio-user-bob", "studio-user-carol"]
    assert names(local_aws) == everyone
    local_aws.standin.reset_stats()

    kept = sync(published)  # without --prune nobody is removed
    assert kept.exit_code == 0, kept.output
    assert "plan: 0 to create, 0 to remove, 1 present" in kept.output
    refused = sync(published, "--prune")  # not a terminal: --yes is required
    assert refused.exit_code == 1, refused.output
    assert "remove studio-user-bob" in refused.output
    assert "error: --yes: removing people; pass --yes to confirm" in refused.output
    assert accepted(local_aws, "TerminateProvisionedProduct") == 0
    assert names(local_aws) == everyone

    pruned = sync(published, "--prune", "--yes")
    assert pruned.exit_code == 0, pruned.output
    assert "plan: 0 to create, 1 to remove, 1 present" in pruned.output
    assert "bob\tremoved" in pruned.output
    assert "carol" not in pruned.output
    assert accepted(local_aws, "TerminateProvisionedProduct") == 1
    assert names(local_aws) == ["studio-user-alice", "studio-user-carol"]
