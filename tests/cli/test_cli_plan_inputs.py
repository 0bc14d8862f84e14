"""plan/publish bad inputs: one error line, exit 1, no traceback, no AWS call (issue 9)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from factory.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def plan(*args: str) -> object:
    return CliRunner().invoke(cli, ["plan", "--env", "dev", "--region", "us-east-1", *args])


def copy_project(tmp_path: Path) -> Path:
    for name in ("portfolios", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_binary_portfolio_file_is_named_not_a_traceback(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    (root / "portfolios/bad.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    result = plan("--portfolios", str(root / "portfolios"), "--templates", str(root / "templates"))
    assert result.exit_code == 1
    assert "bad.yaml: not UTF-8 text (byte 0: a binary file?)" in result.output
    assert "Traceback" not in result.output


def test_outside_the_project_plan_refuses_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = plan()
    assert result.exit_code == 1
    assert "error: --portfolios portfolios: no such directory" in result.output
    assert "pass --portfolios and --templates" in result.output


def test_in_a_subdirectory_plan_finds_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factory.cli.options import Common
    from factory.cli.plan import locate_project

    monkeypatch.chdir(ROOT / "factory" / "publish")
    common = Common(
        env="dev",
        regions=(),
        portfolios=Path("portfolios"),
        templates=Path("templates"),
        output="table",
        bucket=None,
        profile=None,
        endpoint_url=None,
        quiet=False,
        skip_environment_check=False,
        skip_quota_check=False,
    )
    located = locate_project(common)
    assert located.portfolios == ROOT / "portfolios"
    assert located.templates == ROOT / "templates"


def test_one_bucket_for_two_regions_is_a_usage_error_before_aws(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            *("plan", "--env", "dev", "--region", "us-east-1", "--region", "eu-west-1"),
            *("--bucket", "b", "--portfolios", str(ROOT / "portfolios")),
            *("--templates", str(ROOT / "templates")),
        ],
    )
    assert result.exit_code == 1
    assert "error: --bucket: one bucket (b) for 2 regions" in result.output


ENDPOINT_FIX = (
    "not an endpoint URL; pass http(s)://host[:port], such as the AWS_ENDPOINT_URL that "
    "`studio-factory local serve` prints"
)


@pytest.mark.parametrize(
    ("argv", "environment", "where"),
    [
        (["plan", "--env", "dev", "--endpoint-url", "localhost:5000"], {}, "--endpoint-url"),
        (["publish", "--env", "dev", "--yes", "--endpoint-url", "notaurl"], {}, "--endpoint-url"),
        (["bootstrap", "plan", "--env", "dev", "--endpoint-url", "garbage"], {}, "--endpoint-url"),
        (["plan", "--env", "dev"], {"AWS_ENDPOINT_URL": "127.0.0.1:5000"}, "AWS_ENDPOINT_URL"),
        (
            ["users", "list", "--env", "dev", "--region", "us-east-1"],
            {"AWS_ENDPOINT_URL_SERVICE_CATALOG": "garbage"},
            "AWS_ENDPOINT_URL_SERVICE_CATALOG",
        ),
    ],
    ids=["plan-flag", "publish-flag", "bootstrap-flag", "plan-variable", "users-service-variable"],
)
def test_a_malformed_endpoint_is_refused_before_any_aws_call(
    argv: list[str], environment: dict[str, str], where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore checks an endpoint only when it makes a client, with a bare ValueError that
    publish reported per region after other work; now the flag or variable is named first."""
    import botocore.session

    def no_client(*_: object, **__: object) -> None:
        raise AssertionError("no AWS client may be made")

    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(botocore.session.Session, "create_client", no_client)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 1, result.output
    url = environment.get(where) or argv[-1]
    assert result.stderr.splitlines()[-1] == f"error: {where} {url}: {ENDPOINT_FIX}"
    assert "Traceback" not in result.output


def test_an_empty_endpoint_variable_is_ignored_as_botocore_ignores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Derived from the installed botocore, not recalled: with AWS_ENDPOINT_URL set but empty
    a client uses the AWS endpoint, so check_endpoints lets it pass."""
    import boto3

    from factory.cli.options import check_endpoints

    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    check_endpoints()
    client = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    assert client.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"
