"""`studio-factory build`: deterministic, linted, atomic, and checkable in CI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from factory import build
from factory.cli import cli, main  # noqa: F401  (main registers the commands)
from factory.lint import lint_text
from factory.options import OptionsError
from factory.products import domain, user_profile

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def artifacts():
    return build.generate_all()


def _run(*args: str):
    from factory.cli import _register

    _register()
    return CliRunner().invoke(cli, list(args))


def test_generation_is_byte_identical(artifacts):
    again = build.generate_all()
    assert [a.text for a in again] == [a.text for a in artifacts]


def test_committed_templates_match_generators(artifacts):
    assert build.stale(artifacts, ROOT) == []


def test_every_template_lints_clean(artifacts):
    assert build.lint(artifacts) == []
    assert build.size_findings(artifacts) == []


def test_lint_reports_file_line_rule_and_message():
    text = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      Nope: 1\n"
    (finding,) = [f for f in lint_text("templates/bad.yaml", text) if f.rule == "E3002"]
    assert str(finding).startswith("templates/bad.yaml:5:")
    assert "Nope" in finding.message


def test_build_writes_into_root_and_check_passes(tmp_path):
    result = _run("build", "--root", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "templates/studio-domain.yaml").read_text() == (
        ROOT / "templates/studio-domain.yaml"
    ).read_text()
    assert "templates/studio-user-profile.yaml" in result.output
    assert _run("build", "--check", "--root", str(tmp_path)).exit_code == 0


def test_check_fails_on_drift_and_orphans(tmp_path):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    if (ROOT / "launch").exists():
        shutil.copytree(ROOT / "launch", tmp_path / "launch")
    target = tmp_path / "templates/studio-domain.yaml"
    target.write_text(target.read_text() + "# edited by hand\n")
    (tmp_path / "templates/old-product.yaml").write_text("{}\n")
    result = _run("build", "--check", "--root", str(tmp_path))
    assert result.exit_code == 1
    assert "studio-domain.yaml: differs" in result.output
    assert "old-product.yaml: no generator produces this file" in result.output
    assert target.read_text().endswith("# edited by hand\n")


@pytest.mark.parametrize(
    ("options", "needles"),
    [
        (
            {"studio-domain": {"ui": {"hidden_app_types": ["KernelGateway"]}}},
            ["hidden_app_types", "'KernelGateway'", "can never be hidden", "JupyterLab"],
        ),
        (
            {"studio-user-profile": {"ui": {"hidden_ml_tools": ["Notebooks"]}}},
            ["hidden_ml_tools", "'Notebooks'", "allowed:", "FeatureStore"],
        ),
        (
            {"studio-domain": {"idle": {"min_minutes": 600, "max_minutes": 120}}},
            ["idle.min_minutes", "600", "greater than", "min <= max"],
        ),
        ({"studio-domain": {"colour": "blue"}}, ["colour", "Extra inputs are not permitted"]),
        ({"studio-nothing": {}}, ["unknown template", "studio-nothing", "studio-domain"]),
    ],
)
def test_bad_options_fail_with_a_clear_message_and_write_nothing(tmp_path, options, needles):
    import yaml

    (tmp_path / "options.yaml").write_text(yaml.safe_dump(options))
    result = _run("build", "--root", str(tmp_path), "--options", str(tmp_path / "options.yaml"))
    assert result.exit_code == 1
    for needle in needles:
        assert needle in result.output
    assert not (tmp_path / "templates").exists()


def test_options_change_the_template_defaults():
    template = domain.generate(
        {"idle": {"default_minutes": 120, "max_minutes": 240}, "ui": {"hidden_ml_tools": ["Comet"]}}
    )
    assert template.parameters["IdleTimeoutMinutes"].Default == 120
    assert template.parameters["HiddenMlTools"].Default == "Comet"


def test_options_error_names_product():
    with pytest.raises(OptionsError) as info:
        user_profile.generate({"default_role_mode": "Shared"})
    assert "studio-user-profile: option default_role_mode: 'Shared'" in str(info.value)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "templates/x.yaml"
    build.atomic_write(target, "a: 1\n")
    build.atomic_write(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["x.yaml"]


def test_module_entry_point_runs():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "factory", "--version"], capture_output=True, text=True, check=True
    )
    assert "studio-factory" in out.stdout
