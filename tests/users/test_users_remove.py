"""`users remove PERSON` against local AWS: confirmation required off a terminal, the
termination followed to its end, an absent person reported without any call (issue 10)."""

from __future__ import annotations

from pathlib import Path

from factory.testing.local_aws import LocalAWS
from tests.support.publish import settle
from tests.support.users import accepted, import_, names, users, write_csv


def listed_people(root: Path) -> list[str]:
    result = users(root, "list", "--no-persona")
    assert result.exit_code == 0, result.output
    return [line.split("\t")[0] for line in result.output.splitlines()[1:] if "\t" in line]


def test_remove_needs_yes_off_a_terminal_then_terminates_only_that_person(
    local_aws: LocalAWS, published: Path
) -> None:
    path = write_csv(
        published,
        "person,persona,email,team,cost_center\nalice,junior-analyst,,,\nbob,data-engineer,,,\n",
    )
    assert import_(published, path).exit_code == 0
    settle(local_aws)
    local_aws.standin.reset_stats()

    refused = users(published, "remove", "alice")  # CliRunner's stdin is not a terminal
    assert refused.exit_code == 1, refused.output
    assert "error: --yes: removing alice deletes their apps, spaces and private storage" in (
        refused.output
    )
    assert "pass --yes to confirm" in refused.output
    assert accepted(local_aws, "TerminateProvisionedProduct") == 0
    assert names(local_aws) == ["studio-user-alice", "studio-user-bob"]

    removed = users(published, "remove", "alice", "--yes")
    assert removed.exit_code == 0, removed.output
    assert removed.output.strip().endswith("alice: removed")
    assert accepted(local_aws, "TerminateProvisionedProduct") == 1
    assert names(local_aws) == ["studio-user-bob"]  # gone once the record ended
    assert listed_people(published) == ["bob"]

    local_aws.standin.reset_stats()
    again = users(published, "remove", "alice")  # nothing to confirm: no --yes needed
    assert again.exit_code == 0, again.output
    assert "alice: absent no studio-user-alice; nothing to do" in again.output
    assert accepted(local_aws, "TerminateProvisionedProduct") == 0
    assert names(local_aws) == ["studio-user-bob"]


def test_an_invalid_person_name_is_refused_before_any_call(
    local_aws: LocalAWS, tmp_path: Path
) -> None:
    result = users(tmp_path, "remove", "bob_smith", "--yes")
    assert result.exit_code == 1, result.output
    assert "error: PERSON: person 'bob_smith': not a valid SageMaker user profile name" in (
        result.output
    )
    assert not local_aws.standin.request_log()
