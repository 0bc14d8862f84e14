"""``studio-factory build`` as a user meets it (issue 9): every bad input ends with
``error: <where>: <what>; <fix>`` on stderr, exit 1, no traceback and nothing written;
the project root is found from anywhere inside it; ``--check`` shows a diff; the committed
options file is read by ``build`` and ``--check`` alike; a build with nothing changed reuses
its cache."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from factory import build
from factory.build import template_names
from factory.cli import build as build_command
from factory.cli import cli
from tests.support.built import cold_build

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "templates/studio-domain.yaml"
BOOTSTRAP = "launch/studio-catalog-bootstrap.yaml"


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root except the build cache."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cache" not in p.parts
    }


def _failed(result, *needles: str) -> str:
    """Exit 1, one style (the last line of stderr is an ``error:`` line), no traceback;
    returns stderr."""
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def warm_project(tmp_path_factory) -> Path:
    """A copy of the project (markers, templates, committed options) whose build cache is
    warm: the run's one cold ``build --check`` (tests.support.built), read-only; each test
    works on its own copy, ``project``."""
    built = cold_build(tmp_path_factory)
    assert built.exit_code == 0, built.stdout + built.stderr
    return built.root


@pytest.fixture
def project(warm_project, tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(warm_project, root)
    return root


# --- generator options --------------------------------------------------------------------------

BAD_OPTIONS = [
    pytest.param(
        b"studio-domain:\n  domain_name: [research\n",
        ["opts.yaml:3:1: invalid YAML", "fix the syntax there"],
        id="yaml-syntax",
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n\x00\x00",
        ["opts.yaml:1:1: not UTF-8 text (byte 0x89: is it a binary file?)", "YAML text"],
        id="binary",
    ),
    pytest.param(
        b"- studio-domain\n",
        ["opts.yaml:1:1: expected a mapping of template name to options, got a list"],
        id="not-a-mapping",
    ),
    pytest.param(
        b"studio-domain: blue\n",
        ["opts.yaml:1:1: studio-domain: expected a mapping of option name to value, got the str"],
        id="template-not-a-mapping",
    ),
    pytest.param(
        b"studio-domain: {}\nstudio-domain: {domain_name: x}\n",
        ["opts.yaml:2:1: duplicate key 'studio-domain' (first at line 1)"],
        id="duplicate-key",
    ),
    pytest.param(
        b"studio-domian:\n  domain_name: research\n",
        [
            "opts.yaml:1:1: unknown template 'studio-domian' (did you mean 'studio-domain'?); "
            f"allowed: {', '.join(template_names())}"
        ],
        id="unknown-template",
    ),
    pytest.param(
        b"studio-domain:\n  ui:\n    hidden_apps: [Canvas]\n  domain_nam: research\n",
        [
            "opts.yaml:3:5: studio-domain: unknown option 'ui.hidden_apps' (did you mean "
            "'hidden_app_types'?); allowed keys: hidden_app_types, hidden_ml_tools, "
            "hidden_instance_types",
            "opts.yaml:4:3: studio-domain: unknown option 'domain_nam' (did you mean "
            "'domain_name'?); allowed keys: domain_name, ui, idle, default_ebs_gb, max_ebs_gb",
        ],
        id="unknown-option-keys",
    ),
    pytest.param(
        b"studio-domain:\n  idle: {min_minutes: 600, max_minutes: 120}\n"
        b"  ui: {hidden_app_types: [KernelGateway]}\n",
        [
            "opts.yaml:2:10: studio-domain: option idle.min_minutes: 600 is greater than "
            "idle.max_minutes 120; allowed: min <= max",
            "opts.yaml:3:8: studio-domain: option ui.hidden_app_types: 'KernelGateway' not "
            "allowed (KernelGateway, RSessionGateway can never be hidden",
        ],
        id="bad-values",
    ),
    pytest.param(
        b"studio-catalog-bootstrap: {bucket: x}\n",
        ["opts.yaml:1:28: studio-catalog-bootstrap: option bucket: unknown"],
        id="template-without-options",
    ),
]


@pytest.mark.parametrize(("content", "needles"), BAD_OPTIONS)
def test_bad_options_file_fails_with_where_what_and_fix_and_writes_nothing(
    project, content, needles, monkeypatch
):
    (project / DOMAIN).write_text((project / DOMAIN).read_text() + "# stale\n")
    (project / "opts.yaml").write_bytes(content)
    before = _snapshot(project)
    monkeypatch.chdir(project)
    _failed(_run("build", "--options", "opts.yaml"), *needles)
    assert _snapshot(project) == before


def test_missing_options_file(project, monkeypatch):
    monkeypatch.chdir(project)
    before = _snapshot(project)
    _failed(
        _run("build", "--options", "nope.yaml"),
        "error: --options nope.yaml: no such file; pass an existing YAML file",
    )
    assert _snapshot(project) == before


def test_a_broken_committed_options_file_is_reported_at_its_line(project, monkeypatch):
    (project / build.OPTIONS_FILE).write_text("studio-domain:\n  idle: {min_minutes: x}\n")
    monkeypatch.chdir(project / "templates")
    _failed(
        _run("build", "--check"),
        f"error: ../{build.OPTIONS_FILE}:2:10: studio-domain: option idle.min_minutes:",
    )


def test_the_committed_options_file_is_read_by_build_and_check(project, monkeypatch):
    monkeypatch.chdir(project)
    (project / build.OPTIONS_FILE).write_text("studio-domain:\n  domain_name: research\n")
    result = _run("build")
    assert result.exit_code == 0, result.output
    assert DOMAIN in result.stderr
    assert "Default: research" in (project / DOMAIN).read_text()
    assert _run("build", "--check").exit_code == 0  # check-generated keeps them
    # --options is used instead of the committed file: the defaults now differ
    (project / "defaults.yaml").write_text("{}\n")
    _failed(_run("build", "--check", "--options", "defaults.yaml"), f"{DOMAIN}: differs")


# --- regions ------------------------------------------------------------------------------------


def test_unknown_region_names_the_allowed_form(project):
    before = _snapshot(project)
    stderr = _failed(
        _run("build", "--root", str(project), "--region", "eu-wst-1", "--region", "us-east-1"),
        "error: --region eu-wst-1: not an AWS region (did you mean 'eu-west-1'?); allowed: "
        "a region name such as us-east-1",
        "eu-central-1, eu-central-2",
    )
    assert "aws-global" not in stderr  # the partitions' pseudo-regions are no regions
    assert "us-east-1:" not in stderr
    assert _snapshot(project) == before


def test_a_region_cfn_lint_has_no_schemas_for(project):
    from cfnlint.helpers import REGIONS

    known = build_command._known_regions() or {}
    missing = sorted(set(known) - set(REGIONS))
    if not missing:
        pytest.skip("cfn-lint knows every region botocore names")
    before = _snapshot(project)
    _failed(
        _run("build", "--root", str(project), "--region", missing[0]),
        f"error: --region {missing[0]}: cfn-lint has no resource schemas for this region; "
        "allowed: one of ",
    )
    assert _snapshot(project) == before


# --- the project root ---------------------------------------------------------------------------


def test_build_finds_the_root_from_a_subdirectory(project, monkeypatch):
    (project / DOMAIN).write_text("edited by hand\n")
    monkeypatch.chdir(project / "launch")
    result = _run("build")
    assert result.exit_code == 0, result.output
    assert (project / DOMAIN).read_bytes() == (ROOT / DOMAIN).read_bytes()
    assert not (project / "launch" / "templates").exists()


def test_outside_the_project_build_refuses_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _failed(
        _run("build"),
        f"error: {tmp_path}: not inside the studio-catalog-factory project",
        "pass --root DIR",
    )
    assert list(tmp_path.iterdir()) == []


def test_root_that_does_not_exist_is_not_created(tmp_path):
    _failed(_run("build", "--root", str(tmp_path / "nope")), "no such directory")
    assert not (tmp_path / "nope").exists()


def test_explicit_root_still_works_anywhere(tmp_path, tmp_path_factory):
    cold_build(tmp_path_factory).seed_lint_cache(tmp_path)  # cfn-lint's verdicts, no markers
    result = _run("build", "--root", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / DOMAIN).read_bytes() == (ROOT / DOMAIN).read_bytes()
    assert _run("build", "--check", "--root", str(tmp_path)).exit_code == 0


# --- writing --------------------------------------------------------------------------------


def test_unwritable_directory_is_named_with_the_fix_and_nothing_changes(project, monkeypatch):
    for rel in (DOMAIN, BOOTSTRAP):
        (project / rel).write_text((project / rel).read_text() + "# stale\n")
    before = _snapshot(project)
    real = build.tempfile.mkstemp

    def mkstemp(*args, **kwargs):  # what a read-only launch/ does to a non-root user
        if Path(kwargs["dir"]).name == "launch":
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(build.tempfile, "mkstemp", mkstemp)
    _failed(
        _run("build", "--root", str(project)),
        "error: launch/: cannot write studio-catalog-bootstrap.yaml (Permission denied), so no "
        "template was changed; make launch/ writable (chmod u+w launch) or pass --root DIR",
    )
    assert _snapshot(project) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_templates_directory(project):
    (project / DOMAIN).write_text("stale\n")
    (project / "templates").chmod(0o555)
    try:
        _failed(_run("build", "--root", str(project)), "error: templates/: cannot write")
    finally:
        (project / "templates").chmod(0o755)
    assert (project / DOMAIN).read_text() == "stale\n"


def test_ctrl_c_while_writing_leaves_every_template_as_it_was(project, monkeypatch):
    for rel in (DOMAIN, BOOTSTRAP):
        (project / rel).write_text((project / rel).read_text() + "# stale\n")
    before = _snapshot(project)
    real, calls = build._stage, []

    def stage(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(build, "_stage", stage)
    result = _run("build", "--root", str(project))
    assert result.exit_code == 130, result.output
    assert "nothing written" in result.stderr
    assert _snapshot(project) == before
    assert not list(project.rglob(".*.tmp"))


def test_lint_findings_fail_the_build_and_nothing_is_written(project, monkeypatch):
    # the generators must run (they are broken below); the other templates' lint is cached
    shutil.rmtree(build.cache_root(project) / "generate")
    before = _snapshot(project)
    real = build.generate_isolated

    def broken(options=None):
        return [
            a
            if a.path != DOMAIN
            else build.Artifact(
                a.name,
                a.kind,
                a.text.replace("Type: AWS::KMS::Key\n", "Type: AWS::KMS::Key\n    Nope: 1\n", 1),
                a.resources,
                a.parameters,
            )
            for a in real(options)
        ]

    monkeypatch.setattr(build, "generate_isolated", broken)
    result = _run("build", "--root", str(project))
    _failed(result)
    assert f"{DOMAIN}:" in result.stderr
    assert "error: cfn-lint: 1 finding(s) in 1 template(s); nothing written" in result.stderr
    assert _snapshot(project) == before


# --- check --------------------------------------------------------------------------------------


def test_check_prints_a_unified_diff_per_file_and_fails(project):
    text = (project / DOMAIN).read_text()
    edited = text.replace("Default: 60\n", "Default: 90\n", 1)
    assert edited != text
    (project / DOMAIN).write_text(edited)
    (project / "templates/old-product.yaml").write_text("{}\n")
    result = _run("build", "--check", "--root", str(project))
    stderr = _failed(result)
    assert result.stdout.startswith(f"--- a/{DOMAIN} (committed)\n+++ b/{DOMAIN} (generated)\n")
    assert "\n-        Default: 90\n" in result.stdout or "\n-    Default: 90\n" in result.stdout
    assert any(
        line.startswith("+") and "Default: 60" in line for line in result.stdout.splitlines()
    )
    assert f"error: {DOMAIN}: differs from what the generators produce" in stderr
    assert "error: templates/old-product.yaml: no generator produces this file" in stderr
    assert (project / DOMAIN).read_text() == edited  # --check writes nothing


# --- cache and start-up cost --------------------------------------------------------------------


def test_a_build_with_nothing_changed_runs_no_generator_and_no_lint(project, monkeypatch):
    from factory import lint

    def boom(*_a, **_k):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(build, "generate_all", boom)
    monkeypatch.setattr(build, "generate_isolated", boom)
    monkeypatch.setattr(lint, "_lint", boom)
    monkeypatch.setattr(lint.WorkerPool, "lint", boom)
    result = _run("build", "--check", "--root", str(project))
    assert result.exit_code == 0, result.output
    # another lint configuration is another cache entry: cfn-lint runs again
    again = _run("build", "--check", "--root", str(project), "--region", "eu-west-1")
    assert isinstance(again.exception, AssertionError)


def test_no_cache_generates_and_lints_everything_and_stores_nothing(project, monkeypatch):
    from factory import lint

    generated: list[object] = []
    linted: list[tuple[list[str], object]] = []
    real = build.generate_isolated

    def generate(options=None):
        generated.append(options)
        return real(options)

    def lint_many(items, regions, cache=None, **_):
        linted.append(([path for path, _ in items], cache))
        return []

    monkeypatch.setattr(build, "generate_isolated", generate)
    monkeypatch.setattr(lint, "lint_many", lint_many)
    monkeypatch.setattr(lint.WorkerPool, "start", lambda pool: pool)  # no cfn-lint workers
    cache = sorted(build.cache_root(project).rglob("*"))
    result = _run("build", "--check", "--root", str(project), "--no-cache")
    assert result.exit_code == 0, result.output
    assert len(generated) == 1
    committed = [*project.glob("templates/*.yaml"), *project.glob("launch/*.yaml")]
    everything = sorted(str(p.relative_to(project)) for p in committed)
    assert [(sorted(paths), cache_) for paths, cache_ in linted] == [(everything, None)]
    assert sorted(build.cache_root(project).rglob("*")) == cache


def test_a_warm_build_imports_neither_the_generators_nor_cfn_lint(project):
    probe = (
        "import sys, json\n"
        "from factory.cli import main\n"
        "try:\n    main(['build', '--check', '--root', sys.argv[1]])\n"
        "except SystemExit as e:\n    code = e.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'troposphere', 'awacs', 'cfnlint', 'policy_sentry', 'pydantic', 'boto3'})\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.__stdout__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(project)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert json.loads(out.stdout.splitlines()[-1]) == {"code": 0, "heavy": []}


def test_the_cache_stays_out_of_git(project):
    ignores = sorted(p.relative_to(project) for p in project.rglob(".gitignore"))
    assert ignores == [
        Path(".cache/studio-factory/generate/.gitignore"),
        Path(".cache/studio-factory/lint/.gitignore"),
    ]
    assert (project / ignores[0]).read_text().splitlines()[-1] == "*"


# --- progress ---------------------------------------------------------------------------------


def test_progress_shows_on_a_terminal_only_after_a_second(monkeypatch):
    from rich.console import Console

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(build_command, "_console", lambda stderr: terminal)
    monkeypatch.setattr(build_command, "PROGRESS_AFTER_S", 0.05)
    with build_command._LintProgress(2) as progress:
        progress.advance("a.yaml")
        import time

        # the bar comes from a timer thread: wait for it (a loaded CI can take a while to
        # schedule it and import rich.progress), not for a fixed time
        deadline = time.monotonic() + 30
        while "cfn-lint" not in screen.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        progress.advance("b.yaml")
    assert "cfn-lint" in screen.getvalue()

    quick = io.StringIO()
    monkeypatch.setattr(
        build_command, "_console", lambda stderr: Console(file=quick, force_terminal=True)
    )
    monkeypatch.setattr(build_command, "PROGRESS_AFTER_S", 1.0)
    with build_command._LintProgress(1) as progress:
        progress.advance("a.yaml")
    assert quick.getvalue() == ""  # done within a second: no display at all

    pipe = io.StringIO()
    monkeypatch.setattr(build_command, "_console", lambda stderr: Console(file=pipe))
    monkeypatch.setattr(build_command, "PROGRESS_AFTER_S", 0.0)
    with build_command._LintProgress(1) as progress:
        time.sleep(0.1)
        progress.advance("a.yaml")
    assert pipe.getvalue() == ""  # not a terminal
