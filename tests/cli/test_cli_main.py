"""The `studio-factory` shell: lazy commands, one error style, --debug, exit codes, NO_COLOR,
`schema`, and `make help` (issue 9)."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import click
import pytest
from botocore.config import Config
from click.testing import CliRunner

from factory.cli import COMMANDS, LazyGroup, cli, main
from factory.cli.console import UNWRAPPED_WIDTH, console
from factory.cli.errors import DEBUG_ENV, UserError

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).parent / "studio-factory"
#: Modules `--help`, `--version` and completion must not import (each costs 0.1-1 s).
HEAVY = (
    "factory.cli.build",
    "factory.cli.audit",
    "factory.cli.plan",
    "factory.cli.publish",
    "factory.cli.schema",
    "factory.cli.local",
    "rich",
    "boto3",
    "botocore",
    "pydantic",
    "troposphere",
    "cfnlint",
    "yaml",
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", DEBUG_ENV)}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


# --- start fast: nothing heavy is imported to answer --help, --version, completion ----------

_COMPLETE = {
    "_STUDIO_FACTORY_COMPLETE": "bash_complete",
    "COMP_WORDS": "studio-factory ",
    "COMP_CWORD": "1",
}
CASES = {
    "--help": (["--help"], {}),
    "--version": (["--version"], {}),
    "completion": ([], _COMPLETE),
}


@pytest.mark.parametrize("case", list(CASES))
def test_help_version_and_completion_import_no_command(case):
    args, extra = CASES[case]
    probe = (
        "import sys\n"
        "from factory.cli import cli\n"
        f"try:\n    cli.main({args!r}, prog_name='studio-factory')\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(repr((code, heavy)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=_env(**extra), capture_output=True, text=True
    )
    assert result.stderr.strip().splitlines()[-1] == "(0, [])", result.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_help_version_and_completion_answer_in_under_a_third_of_a_second(case):
    """Measured as a user does: the installed script, a fresh process (best of 5: the machine
    is shared; the median is printed with -s)."""
    args, extra = CASES[case]
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = subprocess.run([str(EXE), *args], env=_env(**extra), capture_output=True)
        times.append(time.perf_counter() - start)
        assert result.returncode == 0, result.stderr
    print(f"{case}: best {min(times):.3f} s, median {statistics.median(times):.3f} s")
    assert min(times) < 0.3


def test_completion_lists_the_commands_without_importing_them():
    result = subprocess.run([str(EXE)], env=_env(**_COMPLETE), capture_output=True, text=True)
    names = [line.split(",")[1] for line in result.stdout.splitlines()]
    assert names == list(COMMANDS)


def test_help_lists_every_command_in_workflow_order():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = re.findall(r"^  ([\w-]+)  ", result.stdout.split("Commands:")[1], re.M)
    assert listed == [
        *("build", "audit", "plan", "publish", "users", "bootstrap", "plan-network"),
        *("schema", "local"),
    ]
    assert "--debug" in result.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_short_help_is_the_commands_own(name):
    """COMMANDS holds each command's help so `--help` needs no import: it must not drift."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    listed = click.Command(name, help=COMMANDS[name][1]).get_short_help_str(1000)
    assert listed == command.get_short_help_str(1000), (
        f"update COMMANDS[{name!r}] in factory/cli/__init__.py to the command's first sentence"
    )


def test_commands_added_by_tests_are_kept_and_win():
    group = LazyGroup("g", lazy={"audit": ("factory.cli.audit", "x")})

    @click.command("audit")
    def replacement() -> None:
        """Replaced."""

    group.add_command(replacement)
    group.add_command(click.Command("extra"))
    ctx = click.Context(group)
    assert group.get_command(ctx, "audit") is replacement
    assert group.list_commands(ctx) == ["audit", "extra"]


def test_python_dash_m_factory_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "factory", "--version"], env=_env(), capture_output=True, text=True
    )
    assert (result.returncode, result.stdout.strip()) == (0, "studio-factory, version 0.1.0")


# --- one error style: usage errors exit 1, one line on stderr --------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bogus"], "error: --bogus: no such option for `studio-factory`; see `studio-factory"),
        (["nope"], "error: studio-factory: no such command 'nope'; see `studio-factory --help`"),
        (
            ["audit", "--outptu", "json"],
            "error: --outptu: no such option for `studio-factory audit`; did you mean --output?",
        ),
        (
            ["audit", "--output", "xml"],
            "error: --output: 'xml' is not one of 'text', 'json'; "
            "see `studio-factory audit --help`",
        ),
        (
            ["audit", "--max-failures", "-1"],
            "error: --max-failures: -1 is not in the range x>=0; see `studio-factory audit --help`",
        ),
        (
            ["audit", "--output"],
            "error: --output: requires an argument; see `studio-factory audit --help`",
        ),
        (["audit", "extra"], "error: studio-factory audit: got unexpected extra argument (extra);"),
    ],
    ids=["unknown-option", "unknown-command", "misspelt", "bad-choice", "range", "no-value", "arg"],
)
def test_usage_errors_exit_1_with_one_line_on_stderr(args, expected):
    """Not click's exit 2, which would read "changes pending" for `plan`."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(expected), result.stderr


def test_no_command_prints_the_help_and_exits_1():
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 1
    assert "Commands:" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: studio-factory: no command given; choose one of: "
        "build, audit, plan, publish, users, bootstrap, plan-network, schema, local"
    )


def test_the_installed_script_exits_1_on_a_usage_error():
    result = subprocess.run([str(EXE), "plan", "--no-such-flag"], env=_env(), capture_output=True)
    assert result.returncode == 1
    assert result.stderr.startswith(b"error: --no-such-flag: no such option")


# --- one handler in main(): user errors, AWS configuration, Ctrl-C, internal errors ----------


@pytest.fixture
def failing() -> Iterator[list[BaseException]]:
    """A `fail` command raising whatever the test puts in the list (removed afterwards)."""
    raised: list[BaseException] = []

    @click.command("fail")
    def fail() -> None:
        raise raised[0]

    cli.add_command(fail)
    try:
        yield raised
    finally:
        cli.commands.pop("fail", None)


def _main(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit:
        main(list(args))
    out, err = capsys.readouterr()
    return exit.value.code, out, err


def test_a_user_error_is_one_line_and_exit_1(failing, capsys):
    failing.append(UserError("--options opts.yaml", "no such file", "give an existing file"))
    assert _main(capsys, "fail") == (
        1,
        "",
        "error: --options opts.yaml: no such file; give an existing file\n",
    )


def test_an_internal_error_is_one_line_without_traceback(failing, capsys):
    failing.append(KeyError("Resources"))
    code, out, err = _main(capsys, "fail")
    assert (code, out) == (1, "")
    assert err == (
        "error: internal error: KeyError: 'Resources'; re-run with --debug and report it\n"
    )


def test_debug_prints_the_traceback_and_sets_the_variable_for_the_run(failing, capsys):
    seen: dict[str, str | None] = {}

    class Boom(RuntimeError):
        def __init__(self) -> None:
            seen["debug"] = os.environ.get(DEBUG_ENV)
            super().__init__("boom")

    @click.command("boom")
    def boom() -> None:
        raise Boom()

    cli.add_command(boom)
    try:
        code, _, err = _main(capsys, "--debug", "boom")
    finally:
        cli.commands.pop("boom")
    assert code == 1
    assert seen["debug"] == "1"
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == (
        "error: internal error: Boom: boom; re-run with --debug and report it"
    )
    assert DEBUG_ENV not in os.environ  # restored after the run


def test_ctrl_c_is_interrupted_and_exit_130(failing, capsys):
    failing.append(KeyboardInterrupt())
    assert _main(capsys, "fail") == (130, "", "interrupted\n")
    result = CliRunner().invoke(cli, ["fail"])  # the group maps it too (tests use CliRunner)
    assert (result.exit_code, result.stderr) == (130, "interrupted\n")


def test_ctrl_c_at_a_prompt_is_interrupted_and_no_is_aborted():
    def interrupt(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    @click.command("ask")
    @click.option("--ctrl-c", is_flag=True)
    def ask(ctrl_c: bool) -> None:
        if ctrl_c:  # CliRunner sets its own prompt function for the run: replace it
            click.termui.visible_prompt_func = interrupt
        click.confirm("Apply?", abort=True, err=True)

    cli.add_command(ask)
    try:
        declined = CliRunner().invoke(cli, ["ask"], input="n\n")
        stopped = CliRunner().invoke(cli, ["ask", "--ctrl-c"])
    finally:
        cli.commands.pop("ask")
    assert (declined.exit_code, declined.stderr.splitlines()[-1]) == (1, "aborted")
    assert declined.stdout == ""  # the prompt is on stderr
    assert (stopped.exit_code, stopped.stderr.splitlines()[-1]) == (130, "interrupted")


def test_a_file_error_names_the_file(failing, capsys):
    failing.append(PermissionError(13, "Permission denied", "templates/studio-domain.yaml"))
    assert _main(capsys, "fail") == (
        1,
        "",
        "error: templates/studio-domain.yaml: permission denied; "
        "check the path and its permissions\n",
    )


def _real_aws_errors() -> dict[str, BaseException]:
    """botocore's own exceptions, raised by botocore (no network beyond loopback)."""
    found: dict[str, BaseException] = {}
    try:
        boto3.Session(profile_name="studio-factory-no-such-profile")
    except Exception as error:
        found["profile"] = error
    config = Config(retries={"max_attempts": 1}, connect_timeout=1)
    try:
        boto3.Session(region_name="us-east-1").client(
            "sts",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=config,
        ).get_caller_identity()
    except Exception as error:
        found["endpoint"] = error
    from botocore.exceptions import NoCredentialsError, NoRegionError

    found["region"] = NoRegionError()
    found["credentials"] = NoCredentialsError()
    return found


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "profile",
            "error: --profile/AWS_PROFILE: no profile 'studio-factory-no-such-profile' in the "
            "AWS config files; list them with `aws configure list-profiles`",
        ),
        ("region", "error: --region/AWS_REGION: no region given; pass --region, set AWS_REGION"),
        ("credentials", "error: --profile/AWS_PROFILE: no AWS credentials found; pass --profile"),
        (
            "endpoint",
            "error: --region: cannot connect to http://127.0.0.1:9/; check the region name",
        ),
    ],
)
def test_aws_configuration_errors_name_the_flag_and_the_fix(
    failing, capsys, monkeypatch, kind, expected
):
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    failing.append(_real_aws_errors()[kind])
    code, out, err = _main(capsys, "fail")
    assert (code, out) == (1, "")
    assert err.startswith(expected), err
    assert len(err.splitlines()) == 1


def test_a_refused_connection_to_local_aws_says_to_start_it(failing, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    failing.append(_real_aws_errors()["endpoint"])
    _, _, err = _main(capsys, "fail")
    assert err.startswith("error: --endpoint-url/AWS_ENDPOINT_URL: cannot connect to ")
    assert "studio-factory local serve" in err


def test_an_aws_error_nobody_handled_names_the_operation(failing, capsys):
    from botocore.exceptions import ClientError

    failing.append(
        ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "ListPortfolios")
    )
    _, _, err = _main(capsys, "fail")
    assert err.startswith("error: AWS ListPortfolios: AccessDenied: not allowed; check the")


# --- output: NO_COLOR, no wrapping when not a terminal -------------------------------------


def test_console_honours_no_color_and_does_not_wrap_off_a_terminal(monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    assert console().no_color and console(stderr=True).no_color
    monkeypatch.setenv("NO_COLOR", "")
    assert not console(force_terminal=True).no_color
    plain = console()
    assert plain.width == UNWRAPPED_WIDTH
    plain.print("[red]" + "x" * 300 + "[/red]")
    out = capsys.readouterr().out
    assert out == "x" * 300 + "\n"


# --- studio-factory schema [--check] -------------------------------------------------------


def test_schema_check_passes_on_the_committed_schema():
    result = CliRunner().invoke(cli, ["schema", "--check", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert result.stderr == "portfolios/schema.json is up to date\n"


def test_schema_check_prints_a_unified_diff_and_exits_1_when_stale(tmp_path):
    (tmp_path / "portfolios").mkdir()
    committed = (ROOT / "portfolios/schema.json").read_text(encoding="utf-8")
    stale = committed.replace('"type": "object"\n}', '"type": "array"\n}')
    assert stale != committed
    (tmp_path / "portfolios/schema.json").write_text(stale, encoding="utf-8")
    result = CliRunner().invoke(cli, ["schema", "--check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout.startswith("--- portfolios/schema.json (committed)\n+++ ")
    assert '-  "type": "array"\n+  "type": "object"\n' in result.stdout
    assert result.stderr == (
        "error: portfolios/schema.json: out of date with the portfolio models; run "
        "`studio-factory schema` (make schema) and commit portfolios/schema.json\n"
    )
    assert (tmp_path / "portfolios/schema.json").read_text(encoding="utf-8") == stale


def test_schema_writes_the_file_and_then_finds_it_unchanged(tmp_path):
    (tmp_path / "portfolios").mkdir()
    missing = CliRunner().invoke(cli, ["schema", "--check", "--root", str(tmp_path)])
    assert missing.exit_code == 1 and missing.stdout.startswith("--- /dev/null\n")
    first = CliRunner().invoke(cli, ["schema", "--root", str(tmp_path)])
    assert (first.exit_code, first.stderr) == (0, "portfolios/schema.json written\n")
    written = (tmp_path / "portfolios/schema.json").read_text(encoding="utf-8")
    assert written == (ROOT / "portfolios/schema.json").read_text(encoding="utf-8")
    assert json.loads(written)["title"] == "Studio Catalog Factory portfolio file"
    again = CliRunner().invoke(cli, ["schema", "--root", str(tmp_path)])
    assert (again.exit_code, again.stderr) == (0, "portfolios/schema.json unchanged\n")


def test_schema_outside_the_repository_refuses(tmp_path):
    result = CliRunner().invoke(cli, ["schema", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: --root {tmp_path}: no portfolios/ folder here; run from the repository root, "
        "or pass it as --root\n"
    )
    assert list(tmp_path.iterdir()) == []


# --- make help ------------------------------------------------------------------------------


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
    )


def test_make_help_lists_every_target_with_its_description():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY: (.*)$", makefile, re.M)
    assert phony is not None
    targets = phony.group(1).split()
    result = _make("help")
    assert result.returncode == 0, result.stderr
    listed = {}
    for line in result.stdout.splitlines():
        name, _, description = line.strip().partition(" ")
        listed[name] = description.strip()
    assert set(listed) == set(targets)
    assert all(listed.values()), listed
    assert _make().stdout == result.stdout  # `make` alone is `make help`


def test_make_serve_and_rehearse_run_the_subcommands():
    assert "studio-factory local serve" in _make("-n", "serve").stdout
    assert "studio-factory local rehearse dev" in _make("-n", "rehearse").stdout
    assert "studio-factory schema --check" in _make("-n", "check-generated").stdout


def test_debug_is_accepted_after_the_command_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    seen: list[str | None] = []
    monkeypatch.setattr(
        "factory.cli.plan.locate_project",
        lambda common: seen.append(os.environ.get(DEBUG_ENV)) or common,
    )
    result = CliRunner().invoke(cli, ["plan", "--env", "dev", "--debug", "--region", "us-east-1"])
    assert "no such option" not in result.output.lower()
    assert seen == ["1"]
