"""`studio-factory audit` as a user meets it: exit codes, JSON shape, errors without tracebacks.

Every bad input ends with one line on stderr, `error: <file>[:line[:col]]: <what>; <fix>`,
exit 1, nothing on stdout, and no traceback (issue 9, "No tracebacks, one error style").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from factory.cli import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for folder in ("templates", "launch"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "policy-allowlist.yaml", tmp_path)
    return tmp_path


def _one_error(result) -> str:
    """The single error line of a failed run (and check the rest of the contract)."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


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


def test_text_output_is_not_wrapped_when_not_a_terminal(runner, project):
    result = runner.invoke(cli, ["audit", "--root", str(project)])
    lines = result.stdout.splitlines()
    assert any(line.startswith("Separation of duties") for line in lines)
    # one table row per proof, however long its promise (rich wraps at 80 columns otherwise)
    rows = [line for line in lines if "boundary-escalation" in line]
    assert len(rows) == 1 and len(rows[0]) > 80
    assert "\x1b[" not in result.stdout


# --- the allow-list -------------------------------------------------------------------------


def test_a_missing_allow_list_named_on_the_command_line_is_an_error(runner, project):
    result = runner.invoke(cli, ["audit", "--root", str(project), "--allow-list", "nope.yaml"])
    line = _one_error(result)
    assert line.startswith("error: --allow-list nope.yaml: no such file; looked for ")


def test_a_directory_as_allow_list_is_an_error(runner, project):
    result = runner.invoke(cli, ["audit", "--root", str(project), "--allow-list", str(project)])
    assert _one_error(result).startswith("error: --allow-list: ")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # wrong shape: an entry without its keys; the line of the entry
        (b"- {template: x}\n", "error: bad.yaml:1: entry 0: resource, sid, finding, reason "),
        # the second entry is wrong: its line, not the file's first
        (
            b"- {template: t, resource: r, sid: s, finding: action-star, reason: why}\n- 7\n",
            "error: bad.yaml:2: entry 1: expected a mapping, got 7; each entry is a mapping",
        ),
        # a mapping instead of a list
        (b"template: x\n", "error: bad.yaml:1: the allow-list must be a YAML list of entries;"),
        # YAML syntax: line and column
        (b"- {template: x\n", "error: bad.yaml:2:1: not valid YAML: "),
        # binary
        (b"\x00\xff\xfe binary", "error: bad.yaml: not UTF-8 text (byte 1: a binary file?);"),
        # text with a NUL byte
        (b"- a\x00b\n", "error: bad.yaml: not text (NUL byte at offset 3);"),
    ],
    ids=["missing-keys", "second-entry", "not-a-list", "yaml-syntax", "binary", "nul"],
)
def test_a_malformed_allow_list_is_one_error_line_naming_file_and_line(
    runner, project, content, expected
):
    (project / "bad.yaml").write_bytes(content)
    result = runner.invoke(cli, ["audit", "--root", str(project), "--allow-list", "bad.yaml"])
    assert _one_error(result).startswith(expected)


def test_an_unknown_finding_lists_the_allowed_ones(runner, project):
    (project / "bad.yaml").write_text(
        "- {template: t, resource: r, sid: s, finding: star, reason: why}\n"
    )
    result = runner.invoke(cli, ["audit", "--root", str(project), "--allow-list", "bad.yaml"])
    line = _one_error(result)
    assert line.startswith("error: bad.yaml:1: entry 0: unknown finding 'star'; a finding is one")
    assert "resource-star-write" in line


def test_the_default_allow_list_is_checked_too(runner, project):
    (project / "policy-allowlist.yaml").write_text("- [\n")
    result = runner.invoke(cli, ["audit", "--root", str(project)])
    assert _one_error(result).startswith("error: policy-allowlist.yaml:2:1: not valid YAML: ")


# --- templates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\xff not yaml", "error: templates/studio-domain.yaml: not UTF-8 text"),
        (b"Resources: 5\n", "error: templates/studio-domain.yaml:1: not a CloudFormation template"),
        (
            b"Resources:\n  Key: {Type: AWS::KMS::Key\n",
            "error: templates/studio-domain.yaml:3:1: ",  # the loader's words (factory.cfn_yaml)
        ),
        (b"- 1\n- 2\n", "error: templates/studio-domain.yaml:1:1: "),
        (
            b"Description: x\nResources:\n  Key:\n    Type: AWS::KMS::Key\n  Role: 5\n",
            "error: templates/studio-domain.yaml:5: Resources.Role: not a resource",
        ),
        (
            b"Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties: [1]\n",
            "error: templates/studio-domain.yaml:4: Resources.Role.Properties: not a mapping",
        ),
    ],
    ids=["binary", "no-resources", "yaml-syntax", "a-list", "resource-not-a-mapping", "properties"],
)
def test_a_broken_template_is_one_error_line_naming_file_and_line(
    runner, project, content, expected
):
    (project / "templates" / "studio-domain.yaml").write_bytes(content)
    result = runner.invoke(cli, ["audit", "--root", str(project)])
    line = _one_error(result)
    assert line.startswith(expected)
    assert line.endswith("; re-run `studio-factory build` (or undo the hand edit)")


def test_no_templates_tells_the_user_to_build(runner, tmp_path):
    result = runner.invoke(cli, ["audit", "--root", str(tmp_path)])
    assert "run `studio-factory build`" in _one_error(result)


def test_a_missing_bootstrap_template_is_an_error(runner, project):
    (project / "launch" / "studio-catalog-bootstrap.yaml").unlink()
    result = runner.invoke(cli, ["audit", "--root", str(project)])
    assert _one_error(result).startswith("error: launch/studio-catalog-bootstrap.yaml: missing;")
