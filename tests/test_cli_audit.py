"""`studio-factory audit` as a user meets it: exit codes, JSON shape, errors without tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from factory.cli import _register, cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for folder in ("templates", "launch"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "policy-allowlist.yaml", tmp_path)
    return tmp_path


def test_json_output_has_the_documented_shape(runner, project):
    result = runner.invoke(cli, ["audit", "--root", str(project), "--output", "json"])
    document = json.loads(result.stdout)
    assert set(document) == {"ok", "hygiene", "questions", "proofs"}
    assert result.exit_code == (0 if document["ok"] else 1)
    assert {"persona", "promise", "ok", "decision"} <= set(document["questions"][0])
    for proof in document["proofs"]:
        assert {"id", "promise", "ok", "checked", "failures"} == set(proof)
        for failure in proof["failures"]:
            assert {"template", "resource", "action", "arn", "source", "reason"} == set(failure)


def test_a_missing_allow_list_named_on_the_command_line_is_an_error(runner, project):
    result = runner.invoke(cli, ["audit", "--root", str(project), "--allow-list", "nope.yaml"])
    assert result.exit_code == 1
    assert "error: --allow-list nope.yaml: no such file" in result.stderr
    assert "Traceback" not in result.output


def test_a_malformed_allow_list_is_an_error_naming_the_file(runner, project):
    (project / "bad.yaml").write_text("- {template: x}\n")
    result = runner.invoke(cli, ["audit", "--root", str(project), "--allow-list", "bad.yaml"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: bad.yaml: entry 0:")


def test_a_broken_template_is_an_error_naming_the_file(runner, project):
    (project / "templates" / "studio-domain.yaml").write_bytes(b"\x00\xff not yaml")
    result = runner.invoke(cli, ["audit", "--root", str(project)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: templates/studio-domain.yaml:")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_no_templates_tells_the_user_to_build(runner, tmp_path):
    result = runner.invoke(cli, ["audit", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "run `studio-factory build`" in result.stderr
