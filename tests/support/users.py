"""Plain helpers of the `users` tests (the fixtures are in tests/users/conftest.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from factory.cli import cli
from factory.testing.local_aws import LocalAWS
from tests.support.publish import REGION

#: The user-profile quota given on the command line: moto serves no Service Quotas
#: ListServiceQuotas (NotImplemented), so the tests name the quota, as an admin can.
MAX_PROFILES = "1000"


def run(root: Path, *args: str) -> Any:
    paths = ("--portfolios", str(root / "portfolios"), "--templates", str(root / "templates"))
    return CliRunner().invoke(cli, [*args, *paths])


def users(root: Path, command: str, *args: str) -> Any:
    return run(root, "users", command, *args, "--env", "dev", "--region", REGION)


def add(root: Path, person: str, persona: str = "junior-analyst", *extra: str) -> Any:
    return users(root, "add", person, "--persona", persona, *extra)


def import_(root: Path, path: Path, *extra: str) -> Any:
    return users(root, "import", str(path), "--max-profiles", MAX_PROFILES, *extra)


def write_csv(root: Path, text: str, name: str = "people.csv") -> Path:
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


def people_csv(root: Path, count: int, name: str = "people.csv") -> Path:
    personas = ("senior-data-scientist", "junior-analyst", "data-engineer")
    rows = ["person,persona,email,team,cost_center"]
    rows += [f"person-{i:03d},{personas[i % 3]},p{i}@corp.test,,CC-{i % 7}" for i in range(count)]
    return write_csv(root, "\n".join(rows) + "\n", name)


def provisioned(aws: LocalAWS) -> list[Any]:
    return list(aws.standin.region_state(REGION).provisioned.values())


def names(aws: LocalAWS) -> list[str]:
    return sorted(pp.name for pp in provisioned(aws))


def parameters(pp: Any) -> dict[str, str]:
    if isinstance(pp.parameters, list):
        return {p["Key"]: p["Value"] for p in pp.parameters}
    return dict(pp.parameters)


def accepted(aws: LocalAWS, operation: str) -> int:
    """Requests of `operation` that were not throttled."""
    return Counter(r.operation for r in aws.standin.request_log() if not r.throttled)[operation]
