"""`users add` / `users list` against local AWS: the sample catalog published, then people
provisioned through Service Catalog's end-user API with a persona (issue 10, first part)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from factory.cli import cli
from factory.testing.local_aws import LocalAWS
from tests.support.publish import BUCKET, REGION, ROOT, settle


@pytest.fixture
def published(local_aws: LocalAWS, tmp_path: Path) -> Path:
    for name in ("portfolios", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    local_aws.client("s3").create_bucket(Bucket=BUCKET)
    result = run(
        tmp_path,
        "publish",
        *("--env", "dev", "--region", REGION, "--bucket", BUCKET, "--yes"),
        "--skip-environment-check",
    )
    assert result.exit_code == 0, result.output
    settle(local_aws)
    return tmp_path


def run(root: Path, *args: str) -> Any:
    paths = ("--portfolios", str(root / "portfolios"))
    if args[0] in ("publish",) or args[:2] == ("users", "add"):
        paths += ("--templates", str(root / "templates"))
    else:
        paths = ()
    return CliRunner().invoke(cli, [*args, *paths])


def add(root: Path, person: str, persona: str = "junior-analyst", *extra: str) -> Any:
    return run(
        root,
        *("users", "add", person, "--persona", persona, "--env", "dev", "--region", REGION),
        *extra,
    )


def test_add_provisions_with_the_persona_then_reports_an_existing_person(
    local_aws: LocalAWS, published: Path
) -> None:
    result = add(published, "alice", "junior-analyst", "--team", "data-science")
    assert result.exit_code == 0, result.output
    assert "alice: created (studio-user-alice)" in result.output
    pp = next(iter(local_aws.standin.region_state(REGION).provisioned.values()))
    assert pp.name == "studio-user-alice"
    parameters = (
        {p["Key"]: p["Value"] for p in pp.parameters}
        if isinstance(pp.parameters, list)
        else dict(pp.parameters)
    )
    assert parameters["UserProfileName"] == "alice"
    assert "JupyterLab" in parameters["HiddenAppTypes"]  # Canvas only
    again = add(published, "alice", "junior-analyst")
    assert again.exit_code == 0, again.output
    assert "alice: already present" in again.output
    assert len(local_aws.standin.region_state(REGION).provisioned) == 1
    listed = run(published, "users", "list", "--region", REGION)
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith("alice\tAVAILABLE")


@pytest.mark.parametrize(
    ("person", "persona", "expected"),
    [
        ("bob", "junior-analist", "unknown persona (did you mean 'junior-analyst'?)"),
        ("bob_smith", "junior-analyst", "not a valid SageMaker user profile name"),
    ],
)
def test_bad_input_is_one_error_line_and_nothing_is_provisioned(
    local_aws: LocalAWS, published: Path, person: str, persona: str, expected: str
) -> None:
    result = add(published, person, persona)
    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert not local_aws.standin.region_state(REGION).provisioned


# --- users import ---------------------------------------------------------------------------


def write_csv(root: Path, text: str) -> Path:
    path = root / "people.csv"
    path.write_text(text, encoding="utf-8")
    return path


def import_(root: Path, path: Path, *extra: str) -> Any:
    return run(root, *("users", "import", str(path), "--env", "dev", "--region", REGION), *extra)


def test_import_reports_every_problem_with_its_line_and_provisions_nobody(
    local_aws: LocalAWS, published: Path
) -> None:
    path = write_csv(
        published,
        "person,persona,email,team,cost_center\n"
        "alice,junior-analyst,alice@corp.test,data-science,CC-0000\n"
        "team,junior-analyst,,,\n"
        "bob_smith,data-engineer,,,\n"
        "Alice,senior-data-scientist,,,\n"
        "carol,junior-analist,,,\n",
    )
    result = import_(published, path)
    assert result.exit_code == 1, result.output
    assert "people.csv:3: person 'team': a generic or shared name" in result.output
    assert "people.csv:4: person 'bob_smith': not a valid SageMaker user profile name" in (
        result.output
    )
    assert "people.csv:5: person 'Alice': listed twice (first on line 2)" in result.output
    assert "people.csv:6: persona 'junior-analist': unknown (did you mean 'junior-analyst'?)" in (
        result.output
    )
    assert "4 problem(s); nothing provisioned" in result.output
    assert not local_aws.standin.region_state(REGION).provisioned


def test_import_provisions_the_rest_and_a_rerun_changes_nothing(
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
    assert len(local_aws.standin.region_state(REGION).provisioned) == 1
    report = published / "report.json"
    result = import_(published, path, "--report", str(report), "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert "2 created, 1 already present, 0 failed" in result.output
    names = sorted(pp.name for pp in local_aws.standin.region_state(REGION).provisioned.values())
    assert names == ["studio-user-alice", "studio-user-bob", "studio-user-sandbox"]
    import json

    assert [r["status"] for r in json.loads(report.read_text())] == [
        "already present",
        "created",
        "created",
    ]
    settle(local_aws)
    again = import_(published, path)
    assert again.exit_code == 0, again.output
    assert "0 created, 3 already present, 0 failed" in again.output
