"""`users import FILE.csv` against local AWS: all problems at once, throttling, Ctrl-C and a
re-run, the quota, the report (issue 10)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from factory.testing.local_aws import LocalAWS
from tests.support.publish import settle
from tests.support.users import (
    accepted,
    add,
    import_,
    names,
    people_csv,
    provisioned,
    users,
    write_csv,
)


def test_every_problem_is_reported_with_its_line_and_nobody_is_provisioned(
    local_aws: LocalAWS, published: Path
) -> None:
    path = write_csv(
        published,
        "person,persona,email,team,cost_center,sso_user\n"
        "alice,junior-analyst,alice@corp.test,data-science,CC-0000,\n"
        "team,junior-analyst,,,,\n"
        "bob_smith,data-engineer,,,,\n"
        "Alice,senior-data-scientist,,,,\n"
        "carol,junior-analist,,,,\n"
        "dave,data-engineer,dave-at-corp,,,\n"
        "erin,data-engineer,,,,erin smith\n"
        "user42,data-engineer,,,,\n",
    )
    local_aws.standin.reset_stats()
    result = import_(published, path)
    assert result.exit_code == 1, result.output
    for expected in (
        "people.csv:3: person 'team': a generic or shared name",
        "people.csv:4: person 'bob_smith': not a valid SageMaker user profile name",
        "people.csv:5: person 'Alice': listed twice (first on line 2)",
        "people.csv:6: persona 'junior-analist': unknown (did you mean 'junior-analyst'?)",
        "people.csv:7: email 'dave-at-corp': not an email address",
        "people.csv:8: sso_user 'erin smith': not an IAM Identity Center user name",
        "people.csv:9: person 'user42': a generic or shared name",
        "7 problem(s); nothing provisioned",
    ):
        assert expected in result.output
    assert not provisioned(local_aws)
    assert not local_aws.standin.request_log()  # validated before any AWS call


def test_the_rest_is_provisioned_with_a_report_and_a_rerun_changes_nothing(
    local_aws: LocalAWS, published: Path
) -> None:
    assert add(published, "alice").exit_code == 0
    path = write_csv(
        published,
        "person,persona,email,team,cost_center,allow_generic\n"
        "alice,junior-analyst,,,,\n"
        "bob,data-engineer,,ml-engineering,,\n"
        "sandbox,senior-data-scientist,,,,yes\n",
    )
    dry = import_(published, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "alice\tjunior-analyst\talready present" in dry.output
    assert "bob\tdata-engineer\tcreate" in dry.output
    assert "plan: 2 to create, 1 already present" in dry.output
    assert names(local_aws) == ["studio-user-alice"]
    report = published / "out" / "report.json"
    result = import_(published, path, "--report", str(report), "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert "2 created, 1 already present" in result.output
    assert names(local_aws) == ["studio-user-alice", "studio-user-bob", "studio-user-sandbox"]
    document = json.loads(report.read_text())
    assert document["counts"] == {"created": 2, "already present": 1}
    assert [(p["person"], p["status"]) for p in document["people"]] == [
        ("alice", "already present"),
        ("bob", "created"),
        ("sandbox", "created"),
    ]
    assert oct(report.stat().st_mode & 0o777) == "0o644"
    settle(local_aws)
    local_aws.standin.reset_stats()
    again = import_(published, path)
    assert again.exit_code == 0, again.output
    assert "3 already present" in again.output
    assert accepted(local_aws, "ProvisionProduct") == 0


def test_30_percent_throttling_provisions_everyone_exactly_once(
    local_aws: LocalAWS, published: Path
) -> None:
    path = people_csv(published, 30)
    local_aws.standin.reset_stats()
    local_aws.standin.configure(throttle_rate=0.3)
    report = published / "report.json"
    result = import_(published, path, "--concurrency", "4", "--report", str(report))
    local_aws.standin.configure(throttle_rate=0.0)
    assert result.exit_code == 0, result.output
    assert "30 created" in result.output
    assert len(names(local_aws)) == len(set(names(local_aws))) == 30
    log = local_aws.standin.request_log()
    throttled = sum(1 for r in log if r.throttled and r.operation == "ProvisionProduct")
    assert throttled > 0  # the injection reached the launches
    assert accepted(local_aws, "ProvisionProduct") == 30
    assert json.loads(report.read_text())["retries"] >= throttled


def test_ctrl_c_stops_new_launches_and_a_rerun_provisions_only_the_rest(
    local_aws: LocalAWS, published: Path
) -> None:
    path = people_csv(published, 12)
    standin = local_aws.standin
    launch = standin._dispatch_table()["ProvisionProduct"]
    seen: list[int] = []

    def interrupting(state: Any, params: Any) -> Any:
        seen.append(1)
        if len(seen) == 4:
            os.kill(os.getpid(), signal.SIGINT)  # as a terminal does on Ctrl-C
        return launch(state, params)

    standin.set_handler("ProvisionProduct", interrupting)
    report = published / "report.json"
    first = import_(published, path, "--concurrency", "1", "--report", str(report))
    assert first.exit_code == 130, first.output
    assert "interrupted: re-run the same file to provision the rest" in first.output
    done = len(names(local_aws))
    assert 4 <= done < 12
    document = json.loads(report.read_text())
    assert document["interrupted"] is True
    assert document["counts"]["not attempted"] == 12 - done
    standin.set_handler("ProvisionProduct", launch)
    settle(local_aws)
    standin.reset_stats()
    second = import_(published, path)
    assert second.exit_code == 0, second.output
    assert f"{12 - done} created, {done} already present" in second.output
    assert accepted(local_aws, "ProvisionProduct") == 12 - done
    assert len(names(local_aws)) == 12


def test_more_new_people_than_the_quota_allows_is_refused_before_any_launch(
    local_aws: LocalAWS, published: Path
) -> None:
    assert add(published, "alice").exit_code == 0
    path = people_csv(published, 3)
    result = users(published, "import", str(path), "--max-profiles", "3")
    assert result.exit_code == 1, result.output
    assert "error: quota: 3 new people + 1 existing profiles > quota 3" in result.output
    assert names(local_aws) == ["studio-user-alice"]


def test_a_launch_refused_for_one_person_does_not_stop_the_others(
    local_aws: LocalAWS, published: Path
) -> None:
    standin = local_aws.standin
    launch = standin._dispatch_table()["ProvisionProduct"]

    def refusing(state: Any, params: Any) -> Any:
        if params["ProvisionedProductName"] == "studio-user-person-001":
            from factory.testing.servicecatalog import ServiceCatalogError

            raise ServiceCatalogError("InvalidParametersException", "refused for the test")
        return launch(state, params)

    standin.set_handler("ProvisionProduct", refusing)
    report = published / "report.json"
    result = import_(published, people_csv(published, 3), "--report", str(report))
    assert result.exit_code == 1, result.output
    assert "error: person-001: InvalidParametersException" in result.output
    assert "2 created, 1 failed" in result.output
    assert len(names(local_aws)) == 2
    failed = [p for p in json.loads(report.read_text())["people"] if p["status"] == "failed"]
    assert [p["person"] for p in failed] == ["person-001"]


def test_a_name_the_cli_let_through_is_stopped_by_the_template(
    local_aws: LocalAWS, published: Path, monkeypatch: Any
) -> None:
    """With the CLI's own name checks switched off, the user-profile template's AllowedPattern
    (enforced by local AWS as CloudFormation does) still fails the launch: the product is safe
    to launch from the console, where no CLI checks anything."""
    import re

    from factory.portfolio import personas
    from factory.users import bulk

    monkeypatch.setattr(bulk, "PERSON", re.compile(r".+"))
    monkeypatch.setattr(personas, "value_problem", lambda *args: None)
    path = write_csv(published, "person,persona\nbob_smith,data-engineer\nbob,data-engineer\n")
    result = import_(published, path)
    assert result.exit_code == 1, result.output
    assert "error: bob_smith: " in result.output
    assert "UserProfileName" in result.output
    assert "1 created, 1 failed" in result.output
    states = {pp.name: pp.status for pp in provisioned(local_aws)}
    assert states["studio-user-bob"] == "AVAILABLE"


def test_a_launch_that_fails_in_cloudformation_is_reported_with_its_message(
    local_aws: LocalAWS, published: Path
) -> None:
    from tests.users.conftest import USERS_REALISM

    local_aws.standin.configure(
        realism=USERS_REALISM.replace(
            failing_provisioned_names=frozenset({"studio-user-person-002"})
        )
    )
    report = published / "report.json"
    result = import_(published, people_csv(published, 4), "--report", str(report))
    assert result.exit_code == 1, result.output
    assert "3 created, 1 failed" in result.output
    (failed,) = [p for p in json.loads(report.read_text())["people"] if p["status"] == "failed"]
    assert failed["person"] == "person-002"
    assert failed["detail"]  # the stack's status message, not an empty reason


def test_a_person_whose_launch_failed_is_reported_on_rerun_with_the_fix(
    local_aws: LocalAWS, published: Path
) -> None:
    from tests.users.conftest import USERS_REALISM

    failing = USERS_REALISM.replace(failing_provisioned_names=frozenset({"studio-user-person-001"}))
    local_aws.standin.configure(realism=failing)
    path = people_csv(published, 2)
    assert import_(published, path).exit_code == 1
    local_aws.standin.configure(realism=USERS_REALISM)
    settle(local_aws)
    local_aws.standin.reset_stats()
    dry = import_(published, path, "--dry-run")
    assert "person-001\tjunior-analyst\tbroken\tprovisioned product in ERROR" in dry.output
    again = import_(published, path)
    assert again.exit_code == 1, again.output
    assert "error: person-001: provisioned product in ERROR" in again.output
    assert "users remove person-001 --yes" in again.output
    assert accepted(local_aws, "ProvisionProduct") == 0


def test_a_terminal_gets_a_progress_bar(
    local_aws: LocalAWS, published: Path, monkeypatch: Any
) -> None:
    from factory.cli.users import common

    monkeypatch.setattr(common, "is_terminal", lambda stderr=False: True)
    result = import_(published, people_csv(published, 3))
    assert result.exit_code == 0, result.output
    assert "launching" in result.output and "3/3" in result.output
    assert "provisioning" in result.output
