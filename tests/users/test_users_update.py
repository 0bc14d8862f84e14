"""`users update PERSON|--all` against local AWS: a new version of the user-profile product
published, then everyone moved to it with UpdateProvisionedProduct, or one person moved to
another persona (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factory.testing.local_aws import LocalAWS
from tests.support.publish import BUCKET, REGION, product_named, settle
from tests.support.users import (
    accepted,
    add,
    import_,
    names,
    parameters,
    provisioned,
    run,
    users,
    write_csv,
)

PRODUCT = "SageMaker Studio user profile"


def onboard(root: Path, aws: LocalAWS, *people: str) -> None:
    """Provision `people` (junior-analyst, each with an SSO user name) and wait for AWS."""
    rows = "".join(f"{p},junior-analyst,{p}@corp.test,,,{p}@corp\n" for p in people)
    path = write_csv(root, "person,persona,email,team,cost_center,sso_user\n" + rows)
    result = import_(root, path)
    assert result.exit_code == 0, result.output
    assert names(aws) == sorted(f"studio-user-{p}" for p in people)
    settle(aws)


def release(root: Path, aws: LocalAWS) -> tuple[str, str, str]:
    """Publish a new version of the user-profile product (one more output): (its id, its
    name, the previous version's name).

    The generated template must stay as the generators emit it (the publisher refuses a hand
    edit), so the product is pointed at a custom copy that adds an output."""
    source = (root / "templates" / "studio-user-profile.yaml").read_text(encoding="utf-8")
    marker = "\nOutputs:\n"
    assert marker in source
    extra = "  ReleaseNote:\n    Description: A harmless new output\n    Value: release-2\n"
    (root / "templates" / "user-profile-r2.yaml").write_text(
        source.replace(marker, marker + extra, 1), encoding="utf-8"
    )
    catalog = root / "portfolios" / "studio.yaml"
    text = catalog.read_text(encoding="utf-8")
    assert text.count("template: studio-user-profile\n") == 1
    catalog.write_text(
        text.replace("template: studio-user-profile\n", "template: user-profile-r2\n"),
        encoding="utf-8",
    )
    result = run(
        root,
        "publish",
        *("--env", "dev", "--region", REGION, "--bucket", BUCKET, "--yes"),
        "--skip-environment-check",
    )
    assert result.exit_code == 0, result.output
    settle(aws)
    old, new = sorted(product_named(aws, PRODUCT).artifacts.values(), key=lambda a: a.created)
    assert old.active and new.active  # the version policy keeps the old one launchable
    return str(new.id), str(new.name), str(old.name)


def recording(aws: LocalAWS, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` request the stand-in handles from now on."""
    original = aws.standin._dispatch_table()[operation]
    seen: list[dict[str, Any]] = []

    def handler(state: Any, params: Any) -> Any:
        seen.append(dict(params))
        return original(state, params)

    aws.standin.set_handler(operation, handler)
    return seen


def listed(root: Path) -> dict[str, dict[str, Any]]:
    result = users(root, "list", "--output", "json")
    assert result.exit_code == 0, result.output
    return {row["person"]: row for row in json.loads(result.output)}


def test_update_all_moves_everyone_to_the_new_version_and_keeps_their_identity(
    local_aws: LocalAWS, published: Path
) -> None:
    onboard(published, local_aws, "alice", "bob")
    old = {pp.name: pp.artifact_id for pp in provisioned(local_aws)}
    new, new_name, old_name = release(published, local_aws)
    assert new not in old.values()

    table = users(published, "list")
    assert table.exit_code == 0, table.output
    rows = [line for line in table.output.splitlines() if line.startswith(("alice", "bob"))]
    assert len(rows) == 2 and all(row.endswith("\tyes") for row in rows), table.output

    local_aws.standin.reset_stats()
    dry = users(published, "update", "--all", "--dry-run")
    assert dry.exit_code == 2, dry.output
    for person in ("alice", "bob"):
        assert f"update studio-user-{person}: version {old_name} -> {new_name}\n" in dry.output
    assert "plan: 2 to update, 0 unchanged" in dry.output
    assert accepted(local_aws, "UpdateProvisionedProduct") == 0

    refused = users(published, "update", "--all")  # not a terminal: --yes is required
    assert refused.exit_code == 1, refused.output
    assert "pass --yes" in refused.output
    assert accepted(local_aws, "UpdateProvisionedProduct") == 0

    sent = recording(local_aws, "UpdateProvisionedProduct")
    result = users(published, "update", "--all", "--yes")
    assert result.exit_code == 0, result.output
    assert "alice\tupdated" in result.output
    assert "2 updated" in result.output
    assert sorted(r["ProvisionedProductId"] for r in sent) == sorted(
        pp.id for pp in provisioned(local_aws)
    )  # once per person
    assert accepted(local_aws, "UpdateProvisionedProduct") == 2  # no replayed duplicate either
    for request in sent:
        assert request["ProvisioningArtifactId"] == new
        kept = sorted(
            (p["Key"], p.get("UsePreviousValue"), p.get("Value"))
            for p in request["ProvisioningParameters"]
            if p["Key"] in ("UserProfileName", "SsoUserName")
        )
        assert kept == [("SsoUserName", True, None), ("UserProfileName", True, None)]
    for pp in provisioned(local_aws):
        person = pp.name.removeprefix("studio-user-")
        assert (pp.artifact_id, pp.status) == (new, "AVAILABLE")
        values = parameters(pp)
        assert values["UserProfileName"] == person
        assert values["SsoUserName"] == f"{person}@corp"
        assert values["Persona"] == "junior-analyst"
    rows_after = listed(published)
    assert {p: r["newer_version_available"] for p, r in rows_after.items()} == {
        "alice": False,
        "bob": False,
    }

    local_aws.standin.reset_stats()
    again = users(published, "update", "--all", "--yes")
    assert again.exit_code == 0, again.output
    assert "alice\tup to date" in again.output
    assert "bob\tup to date" in again.output
    assert "plan: 0 to update, 2 unchanged" in again.output
    assert accepted(local_aws, "UpdateProvisionedProduct") == 0


def test_update_one_person_to_another_persona(local_aws: LocalAWS, published: Path) -> None:
    onboard(published, local_aws, "alice", "bob")
    before = {pp.name: parameters(pp) for pp in provisioned(local_aws)}
    local_aws.standin.reset_stats()
    result = users(published, "update", "alice", "--persona", "senior-data-scientist")
    assert result.exit_code == 0, result.output
    assert "persona junior-analyst -> senior-data-scientist" in result.output
    assert "version" not in result.output.splitlines()[0]  # same version: persona only
    assert "alice\tupdated" in result.output
    assert accepted(local_aws, "UpdateProvisionedProduct") == 1
    after = {pp.name: parameters(pp) for pp in provisioned(local_aws)}
    alice = after["studio-user-alice"]
    assert alice["Persona"] == "senior-data-scientist"
    assert "JupyterLab" not in alice["HiddenAppTypes"]  # the senior persona sees JupyterLab
    assert alice["SsoUserName"] == "alice@corp"
    assert after["studio-user-bob"] == before["studio-user-bob"]
    rows = listed(published)
    assert (rows["alice"]["persona"], rows["bob"]["persona"]) == (
        "senior-data-scientist",
        "junior-analyst",
    )


def test_unknown_person_and_missing_target_are_errors(local_aws: LocalAWS, published: Path) -> None:
    unknown = users(published, "update", "zoe", "--persona", "junior-analyst")
    assert unknown.exit_code == 1, unknown.output
    assert "error: zoe: no provisioned user profile studio-user-zoe" in unknown.output
    neither = users(published, "update")
    assert neither.exit_code == 1, neither.output
    assert "error: PERSON: name one person or pass --all" in neither.output
    both = users(published, "update", "alice", "--all")
    assert both.exit_code == 1, both.output
    assert "name one person or pass --all" in both.output
    bad_persona = users(published, "update", "zoe", "--persona", "junior-analist")
    assert bad_persona.exit_code == 1, bad_persona.output
    assert "unknown persona (did you mean 'junior-analyst'?)" in bad_persona.output
    assert "Traceback" not in unknown.output + neither.output + both.output
    assert accepted(local_aws, "UpdateProvisionedProduct") == 0


def test_an_update_that_fails_is_reported_and_the_others_go_on(
    local_aws: LocalAWS, published: Path, standin_realism: Any
) -> None:
    onboard(published, local_aws, "alice", "bob", "carol")
    old = {pp.name: pp.artifact_id for pp in provisioned(local_aws)}
    new, _, _ = release(published, local_aws)
    local_aws.standin.configure(
        realism=standin_realism.replace(failing_provisioned_names=frozenset({"studio-user-bob"}))
    )
    result = users(published, "update", "--all", "--yes")
    assert result.exit_code == 1, result.output
    assert "error: bob: rolled back to the previous version" in result.output
    assert "2 updated, 1 failed" in result.output
    state = {pp.name: pp for pp in provisioned(local_aws)}
    assert state["studio-user-bob"].status == "TAINTED"
    assert state["studio-user-bob"].artifact_id == old["studio-user-bob"]
    for name in ("studio-user-alice", "studio-user-carol"):
        assert (state[name].status, state[name].artifact_id) == ("AVAILABLE", new)
    rows = listed(published)
    assert rows["bob"]["newer_version_available"] is True
    assert rows["alice"]["newer_version_available"] is False


def test_no_wait_summary_counts_the_updates_it_started(
    local_aws: LocalAWS, published: Path
) -> None:
    onboard(published, local_aws, "alice", "bob")
    result = users(published, "update", "--all", "--persona", "data-engineer", "--yes", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "alice\tupdating" in result.output and "bob\tupdating" in result.output
    assert accepted(local_aws, "UpdateProvisionedProduct") == 2
    summary = result.output.splitlines()[-1]
    assert summary != "nothing to do" and summary.startswith("2 "), result.output


def test_a_person_who_cannot_be_updated_is_an_error_exit(
    local_aws: LocalAWS, published: Path, standin_realism: Any
) -> None:
    # A launch that stays UNDER_CHANGE long enough for the update to find it busy.
    local_aws.standin.configure(realism=standin_realism.replace(provisioning_s=30.0))
    assert add(published, "carol", "junior-analyst", "--no-wait").exit_code == 0
    result = users(published, "update", "carol", "--persona", "senior-data-scientist")
    assert "error: carol: busy: UNDER_CHANGE" in result.output
    assert accepted(local_aws, "UpdateProvisionedProduct") == 0
    assert result.exit_code == 1, result.output


def test_a_rerun_after_a_failed_update_updates_again(
    local_aws: LocalAWS, published: Path, standin_realism: Any
) -> None:
    onboard(published, local_aws, "bob")
    failing = standin_realism.replace(failing_provisioned_names=frozenset({"studio-user-bob"}))
    local_aws.standin.configure(realism=failing)
    first = users(published, "update", "bob", "--persona", "data-engineer")
    assert first.exit_code == 1, first.output
    assert "error: bob: rolled back to the previous version" in first.output
    (bob,) = provisioned(local_aws)
    assert (bob.status, parameters(bob)["Persona"]) == ("TAINTED", "junior-analyst")

    local_aws.standin.configure(realism=standin_realism)  # the cause is fixed
    settle(local_aws)
    again = users(published, "update", "bob", "--persona", "data-engineer")
    (bob,) = provisioned(local_aws)
    assert (bob.status, parameters(bob)["Persona"]) == ("AVAILABLE", "data-engineer")
    assert again.exit_code == 0, again.output
