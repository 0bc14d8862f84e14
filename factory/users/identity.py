"""The people of an IAM Identity Center group, as Studio user profiles to provision (`users sync
--identity-center-group GROUP`).

AWS facts (botocore's identitystore model, 2020-06-15, unless said otherwise):

* GroupId (shape ResourceId) matches `(arn:aws[a-z-]*:identitystore:::(user|group|membership)/)?
  ([0-9a-f]{10}-|)<uuid>`; the pattern is read from the client's model at run time. A GROUP
  that is not an id is a display name, resolved with GetGroupId (AlternateIdentifier
  UniqueAttribute, AttributePath `displayName`).
* ListGroupMemberships has a paginator (result key GroupMemberships, MaxResults 1-100).
  MemberId is a union whose only member is UserId: Identity Center has no nested groups, and a
  member of another kind (botocore parses an unknown union member as SDK_UNKNOWN_MEMBER) is
  skipped.
* User: only IdentityStoreId, UserId, UserArn and Revision are required, so UserName may be
  missing (worst case: such a user gets no profile and is reported). Emails holds at most one
  Email (list max 1) with Value, Type and Primary, all optional.
* boto3 clients are thread-safe (boto3 guide, "Multithreading or multiprocessing with
  clients"): DescribeUser runs on a bounded pool.
* Service Catalog Tag Value: 1-256 characters of `[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]` (botocore
  servicecatalog model, TagValue); tags propagate to the provisioned resources, and SageMaker's
  TagValue allows the same set (0-256).
* SageMaker UserProfileName "is not case sensitive" (sagemaker model, CreateUserProfile):
  people are compared case-insensitively.

IAM actions (Service Authorization Reference): identitystore:GetGroupId (resource types
Identitystore, Group), identitystore:ListGroupMemberships (Identitystore, Group,
AllGroupMemberships), identitystore:DescribeUser (Identitystore, User); each lists
kms:Decrypt as a dependent action (a customer-managed KMS key on the identity store).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from factory.aws import error_code
from factory.users.provision import NAME_PREFIX, PERSON, UsersError, provisioned_name

SOURCE_TAG = "studio-factory:source"
SOURCE_PREFIX = "identity-center:"
#: Service Catalog TagValue (botocore model): 1-256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@];
#: the ASCII part of that set, which ids (hex digits, `d-`) never leave.
TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+\-@]{1,256}$")
PERSON_MAX = 63  # SageMaker UserProfileName: at most 63 characters (PERSON)
DESCRIBE_WORKERS = 8
ALLOWED = (
    "allowed: letters, digits and hyphens, starting with a letter or digit, at most 63 characters"
)


@dataclass(frozen=True)
class Member:
    """A user of the group, as DescribeUser returns them."""

    user_id: str
    user_name: str
    display_name: str
    email: str
    #: DescribeUser UserStatus (botocore model: ENABLED | DISABLED; absent on older stores).
    enabled: bool = True


@dataclass(frozen=True)
class Person:
    """A member to provision: `person` names the profile, `sso_user` is the exact UserName
    (SageMaker's SingleSignOnUserValue must match a user name of the directory)."""

    person: str
    sso_user: str
    email: str
    user_id: str


@dataclass(frozen=True)
class SyncPlan:
    """`create`: desired, not provisioned; `present`: desired and provisioned (whatever their
    source); `remove`: provisioned product names this source added whose person is no longer
    desired (only with prune)."""

    create: list[Person]
    present: list[Person]
    remove: list[str]

    @property
    def pending(self) -> bool:
        return bool(self.create or self.remove)


def _model_pattern(client: BaseClient, operation: str, member: str) -> re.Pattern[str]:
    shape = client.meta.service_model.operation_model(operation).input_shape.members[member]
    return re.compile(shape.metadata["pattern"])


def _fail(exc: ClientError, action: str, identity_store_id: str) -> NoReturn:
    """Access denied as a UsersError naming what the caller needs; anything else as is."""
    if error_code(exc) == "AccessDeniedException":
        raise UsersError(
            f"identity store {identity_store_id}: {action} denied; the caller needs "
            "identitystore:GetGroupId, identitystore:ListGroupMemberships and "
            "identitystore:DescribeUser on it (and kms:Decrypt if it uses a customer-managed "
            "key), from the Identity Center instance's Region"
        ) from exc
    raise exc


def group_id(client: BaseClient, identity_store_id: str, group: str) -> str:
    """GROUP's id: GROUP itself when it matches the model's GroupId pattern (a group ARN gives
    its id), else the group whose display name is GROUP (GetGroupId)."""
    if _model_pattern(client, "ListGroupMemberships", "GroupId").fullmatch(group):
        if not group.startswith("arn:"):
            return group
        kind, _, rest = group.rpartition(":")[2].partition("/")
        if kind != "group":
            raise UsersError(f"group {group!r}: the ARN of a {kind}, not of a group")
        return rest
    try:
        found = client.get_group_id(
            IdentityStoreId=identity_store_id,
            AlternateIdentifier={
                "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": group}
            },
        )
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise UsersError(
                f"group {group!r}: no such group in identity store {identity_store_id}; "
                "allowed: a group's display name (exact, as IAM Identity Center shows it) or "
                "its group id"
            ) from None
        _fail(exc, "identitystore:GetGroupId", identity_store_id)
    return str(found["GroupId"])


def _member_ids(
    client: BaseClient, identity_store_id: str, group: str, page_size: int | None
) -> list[str]:
    config = {"PageSize": page_size} if page_size else {}
    pages = client.get_paginator("list_group_memberships").paginate(
        IdentityStoreId=identity_store_id, GroupId=group, PaginationConfig=config
    )
    ids: dict[str, None] = {}
    try:
        for page in pages:
            for membership in page.get("GroupMemberships", []):
                user_id = (membership.get("MemberId") or {}).get("UserId")
                if user_id:  # a member of another kind: not a user, skipped
                    ids[user_id] = None
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise UsersError(
                f"group {group!r}: no such group in identity store {identity_store_id}"
            ) from None
        _fail(exc, "identitystore:ListGroupMemberships", identity_store_id)
    return list(ids)


def _email(user: Mapping[str, Any]) -> str:
    emails = list(user.get("Emails") or [])
    primary = [e for e in emails if e.get("Primary")]
    chosen = (primary or emails or [{}])[0]
    return str(chosen.get("Value", ""))


def _describe(client: BaseClient, identity_store_id: str, user_id: str) -> Member | None:
    """The member, or None when the user was deleted since the listing."""
    try:
        user = client.describe_user(IdentityStoreId=identity_store_id, UserId=user_id)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        _fail(exc, "identitystore:DescribeUser", identity_store_id)
    return Member(
        user_id=user_id,
        user_name=str(user.get("UserName", "")),
        display_name=str(user.get("DisplayName", "")),
        email=_email(user),
        enabled=user.get("UserStatus", "ENABLED") != "DISABLED",
    )


def group_members(
    client: BaseClient, identity_store_id: str, group_id: str, *, page_size: int | None = None
) -> list[Member]:
    """The group's users (ListGroupMemberships, then DescribeUser on at most
    DESCRIBE_WORKERS threads), sorted by user name. `page_size`: MaxResults (1-100)."""
    ids = _member_ids(client, identity_store_id, group_id, page_size)
    with ThreadPoolExecutor(max_workers=DESCRIBE_WORKERS) as pool:
        described = list(pool.map(lambda u: _describe(client, identity_store_id, u), ids))
    return sorted((m for m in described if m), key=lambda m: (m.user_name, m.user_id))


def person_for(user_name: str) -> str:
    """The user profile name for an Identity Center UserName (often an email), always the same
    for the same UserName:

    1. the part before the last "@" (all of it without "@");
    2. lowercased;
    3. every run of characters outside [a-z0-9] replaced by one "-" (accented letters too);
    4. leading and trailing "-" stripped;
    5. cut to 63 characters, then trailing "-" stripped again.

    `Jane.Doe+ml@Example.com` -> `jane-doe-ml`. The result is "" when nothing is left
    (`desired_people` reports it)."""
    local = user_name.rpartition("@")[0] if "@" in user_name else user_name
    name = re.sub(r"[^a-z0-9]+", "-", local.lower()).strip("-")
    return name[:PERSON_MAX].rstrip("-")


def contested(members: Iterable[Member]) -> set[str]:
    """Persons that two or more members map to (lowercase): never provisioned, and a sync must
    not remove a profile one of them already has (pass them to plan_sync's `keep`)."""
    claims: dict[str, set[str]] = defaultdict(set)
    for member in members:
        claims[person_for(member.user_name).lower()].add(member.user_id)
    return {person for person, users in claims.items() if person and len(users) > 1}


def desired_people(members: Iterable[Member]) -> tuple[list[Person], list[str]]:
    """The people to provision, sorted, and the problems (one string each: what, and what is
    allowed). Disabled users are left out. Problems: a name that is not a valid profile
    name, several users on one person (one person, one profile: none is provisioned)."""
    members = list(members)
    claims: dict[str, list[Member]] = defaultdict(list)
    problems: list[str] = []
    for member in members:
        if not member.enabled:
            continue  # a disabled user cannot sign in: not desired (a sync prunes them)
        person = person_for(member.user_name)
        if PERSON.fullmatch(person):
            claims[person].append(member)
            continue
        problems.append(
            f"Identity Center user {member.user_name!r} ({member.user_id}): maps to person "
            f"{person!r}, not a valid SageMaker user profile name; {ALLOWED} (after the "
            "mapping: the part before '@', lowercase, runs of other characters as one '-')"
        )
    people: list[Person] = []
    for person, claimants in sorted(claims.items()):
        if len(claimants) > 1:
            names = ", ".join(repr(m.user_name) for m in claimants)
            problems.append(
                f"person {person!r}: Identity Center users {names} all map to it; one person, "
                "one profile: none of them is provisioned (rename all but one in IAM Identity "
                "Center)"
            )
            continue
        member = claimants[0]
        people.append(Person(person, member.user_name, member.email, member.user_id))
    return people, problems


def source_value(identity_store_id: str, group_id: str) -> str:
    """The SOURCE_TAG value of profiles a sync of this group adds, from the bare ids (an ARN
    gives its last path part), e.g. `identity-center:d-1234567890/<group id>`: at most 16 +
    93 + 1 + 100 characters (IdentityStoreId max 93, ResourceId max 100), within TagValue."""
    store = identity_store_id.rpartition("/")[2]
    group = group_id.rpartition("/")[2]
    value = f"{SOURCE_PREFIX}{store}/{group}"
    if not TAG_VALUE.fullmatch(value):
        raise UsersError(
            f"identity store {identity_store_id!r}, group {group_id!r}: not a valid tag value "
            f"{value!r}; allowed: at most 256 letters, digits, spaces and _ . : / = + - @"
        )
    return value


def plan_sync(
    desired: list[Person],
    present: Mapping[str, Mapping[str, str]],
    source: str,
    prune: bool,
    *,
    keep: Collection[str] = (),
) -> SyncPlan:
    """`present`: each provisioned product name (`studio-user-<person>`) and its tags. A sync
    removes only what it added (SOURCE_TAG == source), never people onboarded otherwise (a CSV,
    `users add`, another group), and never a person in `keep` (see `contested`)."""
    existing = {name.lower() for name in present}
    create = [p for p in desired if provisioned_name(p.person).lower() not in existing]
    there = [p for p in desired if provisioned_name(p.person).lower() in existing]
    remove: list[str] = []
    if prune:
        wanted = {p.person.lower() for p in desired} | {k.lower() for k in keep}
        remove = sorted(
            name
            for name, tags in present.items()
            if name.startswith(NAME_PREFIX)
            and tags.get(SOURCE_TAG) == source
            and name[len(NAME_PREFIX) :].lower() not in wanted
        )
    return SyncPlan(create=create, present=there, remove=remove)
