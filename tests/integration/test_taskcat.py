"""The taskcat suite (factory/testing/taskcat.py): generated files, derived regions, the wrapper.

Offline and fast: nothing here deploys. Region support comes from cfn-lint's provider schemas
(``PROVIDER_SCHEMA_MANAGER.get_resource_types``); the cross-check lints each template with the
project's cfn-lint API (factory/lint.py) in every region with data and expects rule E3006
exactly where the derivation says a type is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from factory.cfn_yaml import load_template
from factory.lint import lint_text
from factory.naming import domain_ssm_parameter
from factory.portfolio.personas import load_personas, provisioning_parameters
from factory.testing import taskcat as tc

ROOT = Path(__file__).resolve().parents[2]
TASKCAT_VENV = ROOT / ".venv-taskcat"
TASKCAT_STAMP = TASKCAT_VENV / ".installed"
NO_TASKCAT = "no .venv-taskcat: run `make taskcat-env` (make taskcat-lint does) to test this"
LINKS = {
    "DomainId": "domain-id",
    "DomainAuthMode": "auth-mode",
    "TeamExecutionRoleArn": "execution-role-arn",
    "DomainVpcId": "vpc-id",
    "DomainKmsKeyArn": "kms-key-arn",
}


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return tc.generate(ROOT)


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    found, _ = tc.inputs(ROOT)
    return found


@pytest.fixture(scope="module")
def wrapper(templates: Mapping[str, Any]) -> dict[str, Any]:
    return templates[tc.WRAPPER_PATH]


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / tc.CONFIG_PATH).read_text())


def profiles(wrapper: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in wrapper["Resources"].items() if n.startswith("Profile")}


def sub(value: Any) -> str:
    """The string of a ``Fn::Sub``, or the plain value."""
    return value["Fn::Sub"] if isinstance(value, dict) else str(value)


# --- generated files ---------------------------------------------------------------------------


def test_generated_files_are_up_to_date(generated: Mapping[str, str]) -> None:
    found = tc.drift(ROOT, generated)
    assert not found, "".join(diff for _, diff in found) + f"\nrun `{tc.COMMAND}`"


def test_generation_is_deterministic(generated: Mapping[str, str]) -> None:
    assert tc.generate(ROOT) == generated


def test_readme_carries_the_derived_region_table() -> None:
    readme = (ROOT / "README.md").read_text()
    assert tc.table(ROOT) in readme, f"README's region table is stale: `{tc.COMMAND} --table`"


def test_check_fails_with_a_diff_and_write_repairs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    generated: Mapping[str, str],
) -> None:
    for path in ("pyproject.toml", "templates", "launch", tc.PERSONAS, *generated):
        source, target = ROOT / path, tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    monkeypatch.chdir(tmp_path)
    assert tc.main(["--check"]) == 0
    config = tmp_path / tc.CONFIG_PATH
    config.write_text(config.read_text().replace("- us-gov-west-1\n", "", 1))
    (tmp_path / tc.WRAPPER_PATH).unlink()
    capsys.readouterr()
    assert tc.main(["--check"]) == 1
    out, err = capsys.readouterr()
    assert "+    - us-gov-west-1" in out and f"+++ b/{tc.WRAPPER_PATH} (generated)" in out
    assert f"error: {tc.CONFIG_PATH}: differs" in err
    assert tc.main([]) == 0
    assert sorted(capsys.readouterr().err.split()[1::2]) == sorted(
        [tc.CONFIG_PATH, tc.WRAPPER_PATH]
    )
    assert tc.main(["--check"]) == 0


# --- region support: derived, and able to fail -------------------------------------------------


def test_a_made_up_type_is_supported_nowhere() -> None:
    result = tc.support({"AWS::Made::Up", "AWS::S3::Bucket"})
    assert result.regions == ()
    assert result.missing == {"AWS::Made::Up": result.known}
    assert "us-east-1" in result.known


def test_the_user_profile_excludes_govcloud_and_china(templates: Mapping[str, Any]) -> None:
    result = tc.support(tc.declared_types(templates[tc.PROFILE]))
    for region in ("us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1"):
        assert region not in result.regions
        assert region in result.missing["AWS::SageMaker::Space"]
    assert {"us-east-1", "eu-west-1"} <= set(result.regions)


def test_custom_types_do_not_count() -> None:
    template = {
        "Resources": {"Drain": {"Type": "Custom::ProfileDrain"}, "B": {"Type": "AWS::S3::Bucket"}}
    }
    assert tc.declared_types(template) == {"AWS::S3::Bucket"}


def test_a_region_without_data_of_its_own_is_claimed_by_nobody() -> None:
    data = frozenset({"AWS::S3::Bucket", "AWS::SageMaker::Space"})
    by_region = {
        "us-east-1": data,
        "eu-west-1": frozenset({"AWS::S3::Bucket"}),
        "xx-copy-1": data,  # a verbatim copy of us-east-1's list: no data of its own
    }
    assert tc.regions_without_data(by_region) == ("xx-copy-1",)
    result = tc.support({"AWS::S3::Bucket"}, by_region)
    assert result.regions == ("eu-west-1", "us-east-1")
    assert result.no_data == ("xx-copy-1",)
    real = tc.regions_without_data(tc.region_types())
    assert {"us-iso-east-1", "us-isob-east-1"} <= set(real) and "us-east-1" not in real


@pytest.mark.parametrize("path", [tc.BOOTSTRAP, tc.DOMAIN, tc.PROFILE])
def test_derivation_agrees_with_cfn_lint_e3006(path: str, templates: Mapping[str, Any]) -> None:
    """Linted in every region with data, a template fails E3006 exactly where a type is
    missing by the derivation, and nowhere else."""
    result = tc.support(tc.declared_types(templates[path]))
    findings = lint_text(path, (ROOT / path).read_text(), result.known)
    assert [f for f in findings if f.rule != "E3006"] == []
    failing = {re.findall(r"'([a-z0-9-]+)'$", f.message)[0] for f in findings}
    assert failing == set(result.known) - set(result.regions)


def test_each_test_lists_exactly_its_derived_regions(
    config: Mapping[str, Any], templates: Mapping[str, Any]
) -> None:
    tests = config["tests"]
    assert list(tests) == [test.name for test in tc.taskcat_tests()]
    assert list(tests)[-1] == "launch-path"
    for spec in tc.taskcat_tests():
        expected = tc.deployed_support(spec, templates, tc.region_types()).regions
        assert tests[spec.name]["regions"] == list(expected), spec.name
        assert tests[spec.name]["template"] == spec.template
    others = [set(tests[name]["regions"]) for name in ("bootstrap", "domain", "user-profile")]
    assert set(tests["launch-path"]["regions"]) == set.intersection(*others)
    assert "us-gov-west-1" in tests["bootstrap"]["regions"]
    assert "us-gov-west-1" not in tests["user-profile"]["regions"]


def test_config_project_and_parameters(config: Mapping[str, Any]) -> None:
    assert config["project"] == {
        "name": "studio-catalog-factory",
        "regions": ["us-east-1"],
        "s3_regional_buckets": True,
    }
    tests = config["tests"]
    assert tests["bootstrap"]["parameters"] == {
        "LaunchRoleName": "tc-launch-$[taskcat_random-string]"
    }
    assert tests["domain"]["parameters"]["DomainName"] == "tc-$[taskcat_random-string]"
    for name in ("domain", "launch-path"):
        assert tests[name]["parameters"]["VpcId"] == "$[taskcat_ssm_/studio-catalog/sandbox/vpc-id]"
        assert tests[name]["parameters"]["SubnetIds"] == (
            "$[taskcat_ssm_/studio-catalog/sandbox/subnet-ids]"
        )
    assert "parameters" not in tests["user-profile"]


# --- the wrapper -------------------------------------------------------------------------------


def test_wrapper_is_cfn_lint_clean(config: Mapping[str, Any]) -> None:
    text = (ROOT / tc.WRAPPER_PATH).read_text()
    assert lint_text(tc.WRAPPER_PATH, text, config["tests"]["launch-path"]["regions"]) == []


def test_nested_stacks_depend_bootstrap_then_domain_then_profiles(
    wrapper: Mapping[str, Any],
) -> None:
    resources = wrapper["Resources"]
    assert {r["Type"] for r in resources.values()} == {"AWS::CloudFormation::Stack"}
    assert "DependsOn" not in resources["Bootstrap"]
    assert resources["Domain"]["DependsOn"] == ["Bootstrap"]
    assert profiles(wrapper)
    for name, resource in profiles(wrapper).items():
        assert resource["DependsOn"] == ["Domain"], name
    assert set(resources) == {"Bootstrap", "Domain", *profiles(wrapper)}


def test_one_profile_per_persona_with_exactly_its_parameters(wrapper: Mapping[str, Any]) -> None:
    personas = load_personas(ROOT / tc.PERSONAS)
    stacks = profiles(wrapper)
    assert sorted(stacks) == sorted(tc.logical_id("Profile", name) for name in personas)
    for name, persona in personas.items():
        given = dict(stacks[tc.logical_id("Profile", name)]["Properties"]["Parameters"])
        profile_name = sub(given.pop("UserProfileName"))
        links = {key: sub(given.pop(key)) for key in LINKS}
        expected = {p["Key"]: p["Value"] for p in provisioning_parameters(persona)}
        assert given == expected, name
        assert profile_name == f"tc-{tc.short_name(name)}-${{RunId}}"
        assert links == {k: domain_ssm_parameter(v, "tc-${RunId}") for k, v in LINKS.items()}


def test_the_wrapper_follows_the_persona_file(tmp_path: Path, templates: Mapping[str, Any]) -> None:
    document = yaml.safe_load((ROOT / tc.PERSONAS).read_text())
    document["personas"].append(
        {
            "name": "visiting-researcher-with-a-rather-long-persona-name",
            "description": "Someone new.",
            "execution_role_mode": "Team",
            "parameters": {"CreatePrivateSpace": "true"},
        }
    )
    path = tmp_path / "personas.yaml"
    path.write_text(yaml.safe_dump(document))
    text = tc.wrapper_text(templates, load_personas(path))
    stack = load_template(text)["Resources"]["ProfileVisitingResearcherWithARatherLongPersonaName"]
    parameters = stack["Properties"]["Parameters"]
    assert parameters["ExecutionRoleMode"] == "Team" and parameters["CreatePrivateSpace"] == "true"
    name = sub(parameters["UserProfileName"]).replace("${RunId}", "z" * tc.RANDOM_LENGTH)
    assert len(name) <= 63 and re.fullmatch(r"[a-z0-9](-*[a-z0-9]){0,62}", name)


def test_short_names_fit_and_never_collide() -> None:
    for persona in ("a", "senior-data-scientist", "x" * 64):
        assert len(f"tc-{tc.short_name(persona)}-{'z' * tc.RANDOM_LENGTH}") <= 63
    with pytest.raises(ValueError, match="both shorten"):
        tc.short_names(["p" * 50 + "-one", "p" * 50 + "-two"])


def test_every_name_carries_the_run_id(wrapper: Mapping[str, Any]) -> None:
    resources = wrapper["Resources"]
    names = [
        sub(resources["Bootstrap"]["Properties"]["Parameters"]["LaunchRoleName"]),
        sub(resources["Domain"]["Properties"]["Parameters"]["DomainName"]),
        *(
            sub(r["Properties"]["Parameters"]["UserProfileName"])
            for r in profiles(wrapper).values()
        ),
    ]
    assert names and all("${RunId}" in name for name in names)
    assert wrapper["Parameters"]["RunId"]["AllowedPattern"] == "^[a-z0-9]+$"


def test_every_template_url_points_at_a_file_of_the_repository(
    wrapper: Mapping[str, Any],
) -> None:
    prefix = "https://${ArtifactBucket}.s3.${AWS::Region}.${AWS::URLSuffix}/${ArtifactPrefix}"
    targets = set()
    for name, resource in wrapper["Resources"].items():
        url = sub(resource["Properties"]["TemplateURL"])
        assert url.startswith(prefix), name
        path = url.removeprefix(prefix)
        assert (ROOT / path).is_file(), f"{name}: {path} is not in the repository"
        targets.add(path)
    assert targets == {tc.BOOTSTRAP, tc.DOMAIN, tc.PROFILE}


def test_nested_parameters_are_checked_against_the_child() -> None:
    child = {"Parameters": {"Needed": {"Type": "String"}, "Optional": {"Default": ""}}}
    tc.check_nested("Ok", child, ["Needed"])
    with pytest.raises(ValueError, match=r"unknown parameters \['Typo'\]"):
        tc.check_nested("Bad", child, ["Needed", "Typo"])
    with pytest.raises(ValueError, match=r"omitted \['Needed'\]"):
        tc.check_nested("Bad", child, [])


# --- running taskcat ---------------------------------------------------------------------------


def test_lint_runs_taskcat_once_per_test_alone(config: Mapping[str, Any]) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def fake(command: list[str], cwd: Path) -> SimpleNamespace:
        assert command[:4] == ["taskcat", "lint", "-p", str(ROOT)] and cwd == ROOT
        single = yaml.safe_load(Path(command[5]).read_text())
        (name,) = single["tests"]
        seen[name] = single
        return SimpleNamespace(returncode=1 if name == "domain" else 0)

    assert tc.lint(ROOT, "taskcat", run=fake) == 1
    assert list(seen) == list(config["tests"])
    for name, single in seen.items():
        assert single == {"project": config["project"], "tests": {name: config["tests"][name]}}
    assert tc.lint(ROOT, "taskcat", run=lambda *a, **k: SimpleNamespace(returncode=0)) == 0


def test_selection_refuses_an_unsupported_region_or_test(config: Mapping[str, Any]) -> None:
    assert tc.selection_problems(config, "launch-path", "us-east-1,eu-west-1") == []
    (problem,) = tc.selection_problems(config, "launch-path", "us-east-1,ca-west-1")
    assert "launch-path is not supported in ca-west-1" in problem
    (problem,) = tc.selection_problems(config, "launch-pat", "us-east-1")
    assert "no test 'launch-pat'" in problem


@pytest.mark.skipif(not TASKCAT_STAMP.exists(), reason=NO_TASKCAT)
def test_the_module_runs_in_the_taskcat_venv() -> None:
    """--lint and --selection run with .venv-taskcat's python: standard library + PyYAML."""
    python = str(TASKCAT_VENV / "bin" / "python")
    command = [
        python,
        "-m",
        "factory.testing.taskcat",
        "--selection",
        "launch-path",
        "mx-central-1",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "not supported in mx-central-1" in done.stderr


@pytest.mark.skipif(not TASKCAT_STAMP.exists(), reason=NO_TASKCAT)
def test_make_integration_without_credentials_skips(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        # Never instance or container credentials: this test must not reach an account.
        AWS_EC2_METADATA_DISABLED="true",
    )
    # -o: never (re)build the taskcat venv from the test; the target is the same.
    stamp = str(TASKCAT_STAMP.relative_to(ROOT))
    command = ["make", "--no-print-directory", "-o", stamp, "integration"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("integration: skipped: no AWS credentials (")
    assert "taskcat test run" not in done.stdout + done.stderr


def test_every_emitted_template_has_a_taskcat_test() -> None:
    """A new product or launch template without a taskcat test (and so without region
    support in the README and taskcat lint in CI) fails here."""
    emitted = {
        str(path.relative_to(ROOT))
        for folder in ("templates", "launch")
        for path in (ROOT / folder).glob("*.yaml")
    }
    tested = {test.template for test in tc.taskcat_tests()}
    assert emitted <= tested, sorted(emitted - tested)
