"""`users add` and `users list` against local AWS: the sample catalog published, then people
provisioned through Service Catalog's end-user API with a persona (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.testing.local_aws import LocalAWS
from tests.support.users import add, names, parameters, provisioned, users


def test_add_provisions_with_the_persona_then_reports_an_existing_person(
    local_aws: LocalAWS, published: Path
) -> None:
    result = add(
        published,
        "alice",
        "junior-analyst",
        *("--team", "data-science", "--email", "alice@corp.test", "--sso-user", "alice@corp"),
    )
    assert result.exit_code == 0, result.output
    assert "alice: created (studio-user-alice)" in result.output
    assert "  Persona: junior-analyst" in result.output  # the product's outputs
    (pp,) = provisioned(local_aws)
    values = parameters(pp)
    assert values["UserProfileName"] == "alice"
    assert values["SsoUserName"] == "alice@corp"
    assert values["Persona"] == "junior-analyst"
    assert "JupyterLab" in values["HiddenAppTypes"]  # Canvas only
    assert pp.tags["studio-factory:email"] == "alice@corp.test"
    assert pp.tags["Team"] == "data-science"
    again = add(published, "alice", "junior-analyst")
    assert again.exit_code == 0, again.output
    assert "alice: already present" in again.output
    assert names(local_aws) == ["studio-user-alice"]


def test_list_shows_persona_status_version_and_whether_a_newer_one_exists(
    local_aws: LocalAWS, published: Path
) -> None:
    assert add(published, "alice", "junior-analyst").exit_code == 0
    assert add(published, "bob", "data-engineer").exit_code == 0
    listed = users(published, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0] == "PERSON\tPERSONA\tSTATUS\tVERSION\tNEWER VERSION"
    assert lines[1].startswith("alice\tjunior-analyst\tAVAILABLE\tv-")
    assert lines[1].endswith("\tno")
    assert lines[2].startswith("bob\tdata-engineer\tAVAILABLE\t")
    as_json = json.loads(users(published, "list", "--output", "json").output)
    assert [row["persona"] for row in as_json] == ["junior-analyst", "data-engineer"]
    assert {row["newer_version_available"] for row in as_json} == {False}


@pytest.mark.parametrize(
    ("person", "persona", "extra", "expected"),
    [
        ("bob", "junior-analist", (), "persona 'junior-analist': unknown (did you mean"),
        ("bob_smith", "junior-analyst", (), "not a valid SageMaker user profile name"),
        ("admin", "junior-analyst", (), "a generic or shared name"),
        ("bob", "junior-analyst", ("--email", "bob-at-corp"), "not an email address"),
        ("bob", "junior-analyst", ("--sso-user", "bob smith"), "not an IAM Identity Center"),
    ],
)
def test_bad_input_is_one_error_line_and_nothing_is_provisioned(
    local_aws: LocalAWS,
    published: Path,
    person: str,
    persona: str,
    extra: tuple[str, ...],
    expected: str,
) -> None:
    result = add(published, person, persona, *extra)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ")
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not provisioned(local_aws)


def test_a_person_in_another_domain_gets_that_domains_parameters_and_is_listed_by_it(
    local_aws: LocalAWS, published: Path
) -> None:
    assert add(published, "alice", "junior-analyst").exit_code == 0
    result = add(published, "bob", "data-engineer", "--domain", "research")
    assert result.exit_code == 0, result.output
    bob = next(pp for pp in provisioned(local_aws) if pp.name == "studio-user-bob")
    values = parameters(bob)
    assert values["DomainId"] == "/studio-catalog/domains/research/domain-id"
    assert values["TeamExecutionRoleArn"] == ("/studio-catalog/domains/research/execution-role-arn")
    assert bob.tags["studio-factory:domain"] == "research"
    research = users(published, "list", "--domain", "research", "--no-persona")
    assert [line.split("\t")[0] for line in research.output.splitlines()[1:-1]] == ["bob"]
    default = users(published, "list", "--domain", "studio", "--no-persona")
    assert [line.split("\t")[0] for line in default.output.splitlines()[1:-1]] == ["alice"]
    bad = add(published, "carol", "data-engineer", "--domain", "re_search")
    assert bad.exit_code == 1
    assert "domain 're_search': not a SageMaker domain name" in bad.output


def test_a_team_persona_can_run_as_a_team_role_and_a_per_person_one_cannot(
    local_aws: LocalAWS, published: Path
) -> None:
    personas = published / "portfolios" / "personas.yaml"
    personas.write_text(
        personas.read_text(encoding="utf-8") + "\n  - name: team-analyst\n"
        "    description: Canvas on the team's role.\n"
        "    hidden_app_types: [JupyterServer]\n"
        "    hidden_ml_tools: []\n"
        "    hidden_instance_types: []\n"
        "    execution_role_mode: Team\n"
        "    enforce_hidden_tools: false\n",
        encoding="utf-8",
    )
    result = add(published, "alice", "team-analyst", "--team-role", "fraud")
    assert result.exit_code == 0, result.output
    (alice,) = provisioned(local_aws)
    assert parameters(alice)["TeamExecutionRoleArn"] == (
        "/studio-catalog/teams/fraud/execution-role-arn"
    )
    refused = add(published, "bob", "senior-data-scientist", "--team-role", "fraud")
    assert refused.exit_code == 1
    assert "a team role applies to Team personas only" in refused.output
