"""`studio-factory local serve|rehearse`: local AWS as the README's local flow uses it.

`serve` must leave what `publish` needs (the bootstrap's template bucket and SSM parameters)
and print it after the `export` lines; `rehearse` runs publish then plan against it; both honour
NO_COLOR, including local AWS's own log.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from factory import naming
from factory.cli import cli
from factory.cli import local as local_cli
from factory.testing import __main__ as serve_module
from factory.testing import rehearse
from factory.testing.servicecatalog import DEFAULT_REGION
from factory.testing.servicecatalog.realism import ORGANIZATION_ROLES

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).parent / "studio-factory"
ESC = "\x1b["


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "NO_COLOR"}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


# --- one set of options for `local serve` and `python -m factory.testing serve` ------------


def test_local_serve_has_the_options_of_python_m_factory_testing_serve():
    parser = serve_module.build_parser()
    defaults = vars(parser.parse_args(["serve"]))
    defaults.pop("command")
    serve = local_cli.command.commands["serve"]
    assert serve.make_context("serve", []).params == defaults  # same names, same defaults
    assert local_cli.ORGANIZATION_ROLES == ORGANIZATION_ROLES
    assert local_cli.DEFAULT_REGION == DEFAULT_REGION
    assert local_cli.LOCAL_BUCKET == serve_module.LOCAL_BUCKET


def test_local_serve_hands_its_options_to_the_serve_function(monkeypatch):
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(serve_module, "serve", lambda args: seen.append(args) or 0)
    result = CliRunner().invoke(
        cli, ["local", "serve", "--simple", "--latency-ms", "5", "--organization-role", "member"]
    )
    assert result.exit_code == 0, result.output
    (args,) = seen
    assert (args.simple, args.latency_ms, args.organization_role) == (True, 5.0, "member")
    assert serve_module.realism_for(args) == serve_module.realism_for(
        serve_module.build_parser().parse_args(["serve", "--simple"])
    )


def test_local_without_moto_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "moto.server", None)  # import fails: no testing extra
    result = CliRunner().invoke(cli, ["local", "serve"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: studio-factory local: local AWS needs moto (")
    assert "pip install 'studio-catalog-factory[testing]'" in result.stderr


def test_a_bad_serve_option_is_a_usage_error_exit_1():
    result = CliRunner().invoke(cli, ["local", "serve", "--throttle-rate", "2"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --throttle-rate: 2.0 is not in the range 0<=x<=1;")


# --- NO_COLOR in local AWS's log ------------------------------------------------------------


@pytest.fixture
def werkzeug_style():
    import werkzeug.serving

    before = werkzeug.serving._log_add_style
    yield werkzeug.serving
    werkzeug.serving._log_add_style = before


@pytest.mark.parametrize(
    ("no_color", "terminal", "styled"),
    [("", True, True), ("1", True, False), ("", False, False)],
    ids=["terminal", "no-color", "not-a-terminal"],
)
def test_plain_logs_follow_no_color_and_the_terminal(
    monkeypatch, werkzeug_style, no_color, terminal, styled
):
    werkzeug_style._log_add_style = True
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    rehearse.plain_logs(verbose=True)
    assert werkzeug_style._log_add_style is styled


# --- serve: exports first, then the bootstrap's bucket and SSM parameters --------------------


def _read_until(fd: int, pattern: str, timeout: float = 20.0) -> str:
    """Read the pty until ``pattern`` appears (a terminal stderr, as a user's shell has)."""
    seen = ""
    deadline = time.monotonic() + timeout
    while re.search(pattern, seen) is None:
        left = deadline - time.monotonic()
        assert left > 0, f"{pattern!r} not seen in {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                break
    return seen


def test_serve_creates_what_publish_needs_and_its_log_honours_no_color():
    leader, follower = pty.openpty()  # stderr is a terminal: werkzeug would colour it
    process = subprocess.Popen(
        [str(EXE), "local", "serve", "--verbose", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
        env=_env(NO_COLOR="1"),
    )
    os.close(follower)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(11)]
        exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[:5])
        assert set(exports) == {
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_SERVICE_CATALOG",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        }
        comments = "".join(lines[5:])
        assert all(line.startswith("#") for line in lines[5:]), comments
        assert f"s3://{serve_module.LOCAL_BUCKET} (versioned template bucket)" in comments
        assert (
            f"SSM {naming.TEMPLATE_BUCKET_SSM_PARAMETER} = {serve_module.LOCAL_BUCKET}" in comments
        )

        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        ssm = session.client("ssm", endpoint_url=exports["AWS_ENDPOINT_URL"])
        s3 = session.client("s3", endpoint_url=exports["AWS_ENDPOINT_URL"])
        parameters = {
            p["Name"]: p["Value"]
            for p in ssm.get_parameters_by_path(Path=naming.BOOTSTRAP_SSM_PREFIX)["Parameters"]
        }
        assert parameters[naming.TEMPLATE_BUCKET_SSM_PARAMETER] == serve_module.LOCAL_BUCKET
        assert parameters[naming.BOUNDARY_SSM_PARAMETER].startswith("arn:aws:iam::")
        assert naming.DRAIN_FUNCTION_SSM_PARAMETER in parameters
        bucket = parameters[naming.TEMPLATE_BUCKET_SSM_PARAMETER]
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

        # a 404 is a line werkzeug colours yellow on a terminal, unless NO_COLOR
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{exports['AWS_ENDPOINT_URL']}/no-such-bucket/key", timeout=5)
        log = _read_until(leader, r"no-such-bucket/key[^\n]*404")
        assert ESC not in log, repr(log)

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)


# --- rehearse: the release flow against local AWS ---------------------------------------------


def test_local_rehearse_publishes_then_plans_nothing():
    """`make rehearse` after `make build`: publish, then a plan that finds nothing to do."""
    result = subprocess.run(
        [str(EXE), "local", "rehearse", "dev", "--simple"],
        cwd=ROOT,
        env=_env(NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "rehearsal passed" in result.stdout
    assert ESC not in result.stdout + result.stderr
