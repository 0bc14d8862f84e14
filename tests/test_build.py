"""The build stage as a library: deterministic generation, lint (cached, in workers), writes
that are all or nothing, drift with a diff, and the one CloudFormation loader."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from factory import build, lint
from factory.build import template_names
from factory.cfn_yaml import TemplateError, load_template
from factory.lint import Finding, LintCache, LintConfig, lint_text
from factory.options import OptionsError
from factory.products import domain, user_profile
from tests.support.built import cold_build

ROOT = Path(__file__).resolve().parents[1]
BAD = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      Nope: 1\n"


@pytest.fixture(scope="module")
def artifacts():
    return build.generate_all()


def test_generation_is_byte_identical(artifacts):
    again = build.generate_all()
    assert [a.text for a in again] == [a.text for a in artifacts]


def test_committed_templates_match_generators_with_the_committed_options():
    document = build.read_options(ROOT / build.OPTIONS_FILE)
    assert build.stale(build.generate_all(document.options), ROOT) == []


def test_every_template_lints_clean(tmp_path_factory):
    """The run's cold ``build --check`` (tests.support.built) linted every template and
    found nothing, size limits included (the library's ``lint_many`` is tested below)."""
    built = cold_build(tmp_path_factory)
    assert built.exit_code == 0, built.stdout + built.stderr
    assert "generated files are up to date" in built.stderr
    assert len(list(built.lint_cache.glob("*.json"))) == len(template_names())


def test_lint_reports_file_line_rule_and_message():
    (finding,) = [f for f in lint_text("templates/bad.yaml", BAD) if f.rule == "E3002"]
    assert str(finding).startswith("templates/bad.yaml:5:")
    assert "Nope" in finding.message


@pytest.mark.parametrize("fork", [True, False], ids=["forked-from-zygote", "own-interpreter"])
def test_workers_find_what_cfn_lint_finds_in_process(fork):
    """The worker processes run the same cfn-lint, with one runner reused across templates:
    the findings are those of ``cfnlint.api.lint`` for each template."""
    if fork and not lint._can_fork_workers():
        pytest.skip("no fork here")
    other = BAD.replace("Nope: 1", "BucketName: 7\n      Other: x")
    items = [("a.yaml", BAD), ("b.yaml", other), ("c.yaml", BAD)]
    with lint.WorkerPool(2, fork=fork) as pool:
        found = pool.lint(items, LintConfig())
    for (_, text), findings in zip(items, found, strict=True):
        assert [(f.line, f.column, f.rule) for f in findings] == _cfn_lint_api(text)
        assert findings


@functools.cache
def _cfn_lint_api(text: str) -> list[tuple[int, int, str]]:
    """What ``cfnlint.api.lint`` finds in ``text`` (a new runner per call, ~1 s: once per
    text for both kinds of worker)."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    found = cfn_lint(text, config=ManualArgs(regions=["us-east-1"], ignore_checks=[]))
    return [(m.linenumber, m.columnnumber, m.rule.id) for m in found]


def test_a_dead_worker_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(lint, "_ZYGOTE_CODE", "import sys; sys.exit('no cfn-lint here')")
    with pytest.raises(lint.LintError) as info, lint.WorkerPool(1, fork=True) as pool:
        pool.lint([("a.yaml", BAD)], LintConfig())
    assert "no cfn-lint here" in str(info.value)


def test_lint_cache_hits_only_for_the_same_text_and_configuration(tmp_path, monkeypatch):
    cache = LintCache(tmp_path, LintConfig(("us-east-1",)))
    finding = Finding("t.yaml", 5, 7, "E3002", "Additional properties are not allowed")
    assert cache.get("t.yaml", BAD) is None
    cache.put(BAD, [finding])
    assert cache.get("t.yaml", BAD) == [finding]
    assert cache.get("elsewhere.yaml", BAD) == [
        Finding("elsewhere.yaml", 5, 7, "E3002", finding.message)
    ]
    assert cache.get("t.yaml", BAD + "\n") is None  # another digest
    assert LintCache(tmp_path, LintConfig(("eu-west-1",))).get("t.yaml", BAD) is None
    assert LintCache(tmp_path, LintConfig(ignore_checks=("W",))).get("t.yaml", BAD) is None
    monkeypatch.setattr(lint, "cfn_lint_version", lambda: "0.0.1")
    assert LintCache(tmp_path, LintConfig(("us-east-1",))).get("t.yaml", BAD) is None


def test_lint_cache_reads_a_broken_entry_as_a_miss(tmp_path):
    cache = LintCache(tmp_path, LintConfig())
    cache.put(BAD, [])
    (entry,) = tmp_path.glob("*.json")
    entry.write_text("{not json")
    assert cache.get("t.yaml", BAD) is None


def test_lint_configuration_includes_the_cfnlintrc_cfn_lint_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = LintConfig().fingerprint()
    (tmp_path / ".cfnlintrc").write_text("ignore_checks: [W3005]\n")
    assert LintConfig().fingerprint() != before
    assert LintConfig(("us-east-1", "us-east-1")) == LintConfig(("us-east-1",))


def test_lint_many_lints_only_what_the_cache_lacks(tmp_path, monkeypatch):
    cache = LintCache(tmp_path, LintConfig())
    cache.put(BAD, [Finding("x", 5, 7, "E3002", "cached")])
    linted = []
    real = lint._lint
    monkeypatch.setattr(lint, "_lint", lambda p, t, c: linted.append(p) or real(p, t, c))
    clean = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    findings = lint.lint_many([("a.yaml", BAD), ("b.yaml", clean)], cache=cache)
    assert linted == ["b.yaml"]  # one template to lint: in this process
    assert [(f.path, f.message) for f in findings] == [("a.yaml", "cached")]
    assert cache.get("b.yaml", clean) == []


def test_generation_key_changes_with_options_and_package_source(monkeypatch, tmp_path):
    key = build.generation_key({})
    assert build.generation_key({}) == key
    assert build.generation_key({"studio-domain": {"domain_name": "x"}}) != key
    fake = tmp_path / "factory"
    shutil.copytree(ROOT / "factory", fake, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(build, "__file__", str(fake / "build.py"))
    copied = build.generation_key({})
    (fake / "products" / "domain.py").write_text(
        (fake / "products" / "domain.py").read_text() + "\n# edited\n"
    )
    assert build.generation_key({}) != copied


def test_generation_cache_round_trip_and_tamper(tmp_path, artifacts):
    cache = build.GenerationCache(tmp_path)
    cache.put("k", artifacts)
    assert cache.get("k") == artifacts
    assert cache.get("other") is None
    (entry,) = tmp_path.glob("*.json")
    entry.write_text(entry.read_text().replace("AWSTemplateFormatVersion", "Edited", 1))
    assert cache.get("k") is None


# --- writing ----------------------------------------------------------------------------------


def _stale_copy(root: Path) -> Path:
    """templates/ and launch/ as a checkout has them (mode 644), two of them stale."""
    for directory in ("templates", "launch"):
        shutil.copytree(ROOT / directory, root / directory)
    for path in root.rglob("*.yaml"):
        path.chmod(0o644)
    for path in (
        root / "templates/studio-domain.yaml",
        root / "launch/studio-catalog-bootstrap.yaml",
    ):
        path.write_text(path.read_text() + "# stale\n")
    return root


def _temps(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob(".*.tmp"))


def test_write_is_all_or_nothing_when_the_second_file_fails(tmp_path, artifacts, monkeypatch):
    root = _stale_copy(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
    real = build.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs["dir"]).name == "launch":
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(build.tempfile, "mkstemp", mkstemp)
    with pytest.raises(build.WriteError) as info:
        build.write(artifacts, root)
    assert (info.value.directory, info.value.reason) == ("launch", "Permission denied")
    assert {p: p.read_bytes() for p in root.rglob("*.yaml")} == before
    assert _temps(root) == []


def test_a_failed_rename_puts_back_what_was_already_renamed(tmp_path, artifacts, monkeypatch):
    root = _stale_copy(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(build.os, "replace", replace)
    with pytest.raises(build.WriteError):
        build.write(artifacts, root)
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in root.rglob("*.yaml")} == before
    assert _temps(root) == []


def test_write_keeps_the_existing_mode_and_makes_new_files_644(tmp_path, artifacts):
    root = _stale_copy(tmp_path)
    (root / "templates/studio-domain.yaml").chmod(0o640)
    (root / "templates/studio-user-profile.yaml").unlink()
    old_umask = os.umask(0o077)
    try:
        changed = build.write(artifacts, root)
    finally:
        os.umask(old_umask)
    assert set(changed) == {
        "templates/studio-domain.yaml",
        "templates/studio-user-profile.yaml",
        "launch/studio-catalog-bootstrap.yaml",
    }

    def mode(rel: str) -> int:
        return stat.S_IMODE((root / rel).stat().st_mode)

    assert mode("templates/studio-domain.yaml") == 0o640
    assert mode("templates/studio-user-profile.yaml") == 0o644
    assert mode("launch/studio-catalog-bootstrap.yaml") == 0o644
    assert build.stale(artifacts, root) == []


def test_write_of_unchanged_templates_touches_nothing(tmp_path, artifacts):
    build.write(artifacts, tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.yaml")}
    assert build.write(artifacts, tmp_path) == []
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.yaml")} == mtimes


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "templates/x.yaml"
    build.atomic_write(target, "a: 1\n")
    build.atomic_write(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["x.yaml"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_drift_gives_a_unified_diff_committed_to_generated(tmp_path, artifacts):
    root = _stale_copy(tmp_path)
    (root / "templates/old-product.yaml").write_text("{}\n")
    (root / "templates/studio-user-profile.yaml").unlink()
    found = {d.path: d for d in build.drift(artifacts, root)}
    assert {p: d.kind for p, d in found.items()} == {
        "templates/studio-domain.yaml": "differs",
        "launch/studio-catalog-bootstrap.yaml": "differs",
        "templates/studio-user-profile.yaml": "missing",
        "templates/old-product.yaml": "orphan",
    }
    diff = found["templates/studio-domain.yaml"].diff
    assert diff.startswith("--- a/templates/studio-domain.yaml (committed)\n+++ b/")
    assert "\n-# stale\n" in diff


# --- project root and options -----------------------------------------------------------------


def test_project_root_is_found_from_a_subdirectory(tmp_path):
    assert build.find_project_root(ROOT / "factory" / "products") == ROOT
    assert build.find_project_root(tmp_path) is None
    (tmp_path / "templates").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    assert build.find_project_root(tmp_path) is None  # a pyproject.toml alone is not ours


def test_options_file_locations_point_at_the_key(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("studio-domain:\n  ui:\n    hidden_ml_tools: [JumpStart]\n")
    document = build.read_options(path, "o.yaml")
    assert document.options == {"studio-domain": {"ui": {"hidden_ml_tools": ["JumpStart"]}}}
    assert document.where(("studio-domain", "ui", "hidden_ml_tools")) == "o.yaml:3:5"
    assert document.where(("studio-domain", "ui", "missing")) == "o.yaml:2:3"


def test_an_empty_options_file_means_the_defaults(tmp_path):
    (tmp_path / "o.yaml").write_text("# nothing yet\n")
    assert build.read_options(tmp_path / "o.yaml").options == {}
    assert build.project_options(tmp_path) == {}  # no factory-options.yaml at all
    (tmp_path / build.OPTIONS_FILE).write_text("studio-domain: {domain_name: research}\n")
    assert build.project_options(tmp_path) == {"studio-domain": {"domain_name": "research"}}


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


def test_unknown_option_lists_allowed_keys_and_the_closest_one():
    with pytest.raises(OptionsError) as info:
        domain.generate({"ui": {"hidden_apps": ["Canvas"]}, "domain_nam": "x"})
    problems = sorted(info.value.problems)
    assert problems == [
        "unknown option 'domain_nam' (did you mean 'domain_name'?); allowed keys: "
        "domain_name, ui, idle, default_ebs_gb, max_ebs_gb",
        "unknown option 'ui.hidden_apps' (did you mean 'hidden_app_types'?); allowed keys: "
        "hidden_app_types, hidden_ml_tools, hidden_instance_types",
    ]


def test_field_validator_messages_name_the_whole_option_path():
    with pytest.raises(OptionsError) as info:
        domain.generate({"ui": {"hidden_app_types": ["KernelGateway"]}})
    assert info.value.problems[0].startswith("option ui.hidden_app_types: 'KernelGateway'")


# --- one CloudFormation loader ----------------------------------------------------------------


def test_load_template_reads_short_forms_as_cloudformation_does():
    text = (
        "Resources:\n  A:\n    Type: X\n    Properties:\n"
        "      B: !GetAtt C.Arn\n      D: !Ref E\n      F: !Sub '${G}'\n      V: 2012-10-17\n"
    )
    properties = load_template(text)["Resources"]["A"]["Properties"]
    assert properties == {
        "B": {"Fn::GetAtt": ["C", "Arn"]},
        "D": {"Ref": "E"},
        "F": {"Fn::Sub": "${G}"},
        "V": "2012-10-17",
    }
    assert type(properties["D"]["Ref"]) is str  # plain values, not cfn-lint's node types


def test_load_template_reads_json_and_every_committed_template():
    assert load_template('{"Resources": {"A": {"Type": "X"}}}') == {
        "Resources": {"A": {"Type": "X"}}
    }
    for path in sorted([*ROOT.glob("templates/*.yaml"), *ROOT.glob("launch/*.yaml")]):
        assert load_template(path)["Resources"], path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources:\n  A: [1\n", "t.yaml:3:1: not YAML or JSON"),
        ("Resources:\n  A: 1\n  A: 2\n", "t.yaml:2:3: Duplicate found 'A'"),
        ("- 1\n", "t.yaml:1:1: expected a mapping"),
    ],
)
def test_load_template_errors_say_where(text, message):
    with pytest.raises(TemplateError) as info:
        load_template(text, name="t.yaml")
    assert str(info.value).startswith(message)


def test_load_template_refuses_binary_files(tmp_path):
    (tmp_path / "t.yaml").write_bytes(b"Resources:\n  \xff\xfe: 1\n")
    with pytest.raises(TemplateError) as info:
        load_template(tmp_path / "t.yaml")
    assert str(info.value) == f"{tmp_path / 't.yaml'}:2:3: not UTF-8 text (byte 0xff)"


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "factory", "--version"], capture_output=True, text=True, check=True
    )
    assert "studio-factory" in out.stdout
