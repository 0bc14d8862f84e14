"""Personas: validated against the user-profile product, mapped to its ProvisioningParameters."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from factory.cfn_yaml import load_template
from factory.portfolio.loader import Issue, PortfolioConfigError
from factory.portfolio.personas import (
    PERSONAS_PATH,
    Persona,
    allowed_values,
    load_personas,
    provisioning_parameters,
    user_profile_parameters,
)
from factory.studio import HIDEABLE_APP_TYPES, IDLE_MINUTES_MAX, IDLE_MINUTES_MIN, ML_TOOLS

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "templates" / "studio-user-profile.yaml"
ISSUE_LINE = re.compile(r"^\S+\.yaml:\d+:\d+: \S+: .+$")


def committed() -> dict[str, Persona]:
    return load_personas(REPO / PERSONAS_PATH)


# --- the committed personas ----------------------------------------------------------------


def test_the_three_personas_of_the_study_guide() -> None:
    personas = committed()
    assert set(personas) == {"senior-data-scientist", "junior-analyst", "data-engineer"}

    senior = personas["senior-data-scientist"]
    assert senior.hidden_ml_tools == []
    assert senior.hidden_instance_types == []
    assert set(HIDEABLE_APP_TYPES) - set(senior.hidden_app_types) >= {
        "JupyterLab",
        "CodeEditor",
        "Canvas",
        "RStudioServerPro",
    }

    analyst = personas["junior-analyst"]
    assert set(HIDEABLE_APP_TYPES) - set(analyst.hidden_app_types) == {"Canvas"}
    assert set(analyst.hidden_ml_tools) == set(ML_TOOLS)

    engineer = personas["data-engineer"]
    assert "JupyterLab" in engineer.hidden_app_types
    assert "CodeEditor" not in engineer.hidden_app_types  # Git
    assert set(ML_TOOLS) - set(engineer.hidden_ml_tools) == {"EmrClusters"}

    for persona in personas.values():
        assert persona.execution_role_mode in {"Team", "PerPerson"}
        assert persona.idle_timeout_minutes is not None
        assert IDLE_MINUTES_MIN <= persona.idle_timeout_minutes <= IDLE_MINUTES_MAX


def _accepted(spec: dict[str, Any], value: str) -> bool:
    """CloudFormation's parameter constraints, written independently of the module."""
    items = value.split(",") if spec["Type"] == "CommaDelimitedList" else [value]
    for item in items:
        if "AllowedValues" in spec and item not in [str(v) for v in spec["AllowedValues"]]:
            return False
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], item):
            return False
    if not spec.get("MinLength", 0) <= len(value) <= spec.get("MaxLength", 10**9):
        return False
    if spec["Type"] == "Number":
        number = float(value)
        return spec.get("MinValue", -(10**18)) <= number <= spec.get("MaxValue", 10**18)
    return spec["Type"] in {"String", "CommaDelimitedList"}


@pytest.mark.parametrize("name", ["senior-data-scientist", "junior-analyst", "data-engineer"])
def test_persona_renders_parameters_the_template_accepts(name: str) -> None:
    template = load_template(TEMPLATE)
    parameters = template["Parameters"]
    rendered = provisioning_parameters(committed()[name], "jane-doe")

    keys = [entry["Key"] for entry in rendered]
    assert len(keys) == len(set(keys))
    assert all(set(entry) == {"Key", "Value"} for entry in rendered)
    assert all(isinstance(entry["Value"], str) for entry in rendered)
    for entry in rendered:
        assert entry["Key"] in parameters, entry
        assert _accepted(parameters[entry["Key"]], entry["Value"]), entry
    values = {entry["Key"]: entry["Value"] for entry in rendered}
    assert values["UserProfileName"] == "jane-doe"
    for key in ("HiddenAppTypes", "HiddenMlTools", "HiddenInstanceTypes", "ExecutionRoleMode"):
        assert key in values  # explicit, so an update to a persona sets exactly these
    # The template's rule PerPersonRoleExcludesExistingRole.
    assert "PerPersonRoleExcludesExistingRole" in template["Rules"]
    if values["ExecutionRoleMode"] == "PerPerson":
        assert values.get("ExistingExecutionRoleArn", "") == ""
    # Every parameter without a default is set: the person's name is the only one.
    required = {key for key, spec in parameters.items() if "Default" not in spec}
    assert required <= set(values)


def test_allowed_values_come_from_the_product() -> None:
    committed_parameters = load_template(TEMPLATE)["Parameters"]
    assert set(user_profile_parameters()) == set(committed_parameters)
    assert allowed_values("HiddenAppTypes") == list(HIDEABLE_APP_TYPES)
    assert allowed_values("HiddenMlTools") == list(ML_TOOLS)
    assert allowed_values("ExecutionRoleMode") == ["Team", "PerPerson"]


def test_bad_user_profile_name_is_refused() -> None:
    with pytest.raises(ValueError, match="UserProfileName"):
        provisioning_parameters(committed()["junior-analyst"], "-jane_doe")


# --- mutations ------------------------------------------------------------------------------

BASE = """\
personas:
  - name: analyst
    description: Canvas only.
    hidden_app_types: [JupyterServer, JupyterLab]
    hidden_ml_tools: [EmrClusters]
    execution_role_mode: PerPerson
    idle_timeout_minutes: 60
"""


def issues_of(tmp_path: Path, text: str) -> list[Issue]:
    path = tmp_path / "personas.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(PortfolioConfigError) as raised:
        load_personas(path)
    for line in str(raised.value).splitlines():
        assert ISSUE_LINE.match(line), line
    return raised.value.issues


def line_col(text: str, needle: str) -> tuple[int, int]:
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def test_base_loads(tmp_path: Path) -> None:
    (tmp_path / "personas.yaml").write_text(BASE)
    assert list(load_personas(tmp_path / "personas.yaml")) == ["analyst"]


def test_unknown_tool_lists_the_allowed_ones(tmp_path: Path) -> None:
    text = BASE.replace("[EmrClusters]", "[EmrClusters, Git]")
    (issue,) = issues_of(tmp_path, text)
    assert (issue.line, issue.column) == line_col(text, "Git]")
    assert issue.path == "personas[0].hidden_ml_tools[1]"
    assert "unknown ML tool 'Git'" in issue.message
    assert "allowed (the user-profile product's HiddenMlTools): " + ", ".join(ML_TOOLS) in (
        issue.message
    )


def test_typo_suggests_the_right_name(tmp_path: Path) -> None:
    text = BASE.replace("JupyterLab]", "JupyterLb]")
    (issue,) = issues_of(tmp_path, text)
    assert (issue.line, issue.column) == line_col(text, "JupyterLb")
    assert "unknown app type 'JupyterLb' (did you mean 'JupyterLab'?)" in issue.message
    assert "Canvas" in issue.message


def test_role_mode_case_typo(tmp_path: Path) -> None:
    text = BASE.replace("execution_role_mode: PerPerson", "execution_role_mode: perperson")
    (issue,) = issues_of(tmp_path, text)
    assert issue.path == "personas[0].execution_role_mode"
    assert "(did you mean 'PerPerson'?)" in issue.message
    assert "allowed: Team, PerPerson" in issue.message


def test_unknown_parameter_and_bad_value(tmp_path: Path) -> None:
    text = BASE + "    parameters:\n      CreatePrivateSpaces: 'true'\n"
    (issue,) = issues_of(tmp_path, text)
    assert issue.path == "personas[0].parameters.CreatePrivateSpaces"
    assert "(did you mean 'CreatePrivateSpace'?)" in issue.message
    text = BASE + "    parameters:\n      PrivateSpaceEbsSizeGb: 1\n"
    (issue,) = issues_of(tmp_path, text)
    assert "PrivateSpaceEbsSizeGb: 1 is outside 5..16384" in issue.message
    text = BASE + "    parameters:\n      UserProfileName: jane\n"
    (issue,) = issues_of(tmp_path, text)
    assert "unknown parameter 'UserProfileName'" in issue.message  # the person's, not a persona's


def test_bad_instance_type(tmp_path: Path) -> None:
    text = BASE + "    hidden_instance_types: [ml.p4d.24xlarge, p5.48xlarge]\n"
    (issue,) = issues_of(tmp_path, text)
    assert issue.path == "personas[0].hidden_instance_types[1]"
    assert "'p5.48xlarge'" in issue.message


def test_duplicate_persona_names(tmp_path: Path) -> None:
    text = BASE + BASE.removeprefix("personas:\n")
    (issue,) = issues_of(tmp_path, text)
    assert issue.path == "personas[1].name"
    assert issue.line == 8
    assert "duplicate persona name 'analyst': already defined at 2:11" in issue.message


def test_hiding_every_app(tmp_path: Path) -> None:
    text = BASE.replace("[JupyterServer, JupyterLab]", "[" + ", ".join(HIDEABLE_APP_TYPES) + "]")
    (issue,) = issues_of(tmp_path, text)
    assert issue.path == "personas[0].hidden_app_types"
    assert "hides every app" in issue.message


@pytest.mark.parametrize("minutes", [IDLE_MINUTES_MIN - 1, IDLE_MINUTES_MAX + 1, 0])
def test_idle_timeout_outside_the_bounds(tmp_path: Path, minutes: int) -> None:
    text = BASE.replace("idle_timeout_minutes: 60", f"idle_timeout_minutes: {minutes}")
    (issue,) = issues_of(tmp_path, text)
    assert issue.path == "personas[0].idle_timeout_minutes"
    assert f"{IDLE_MINUTES_MIN}..{IDLE_MINUTES_MAX}" in issue.message


def test_per_person_role_excludes_existing_role(tmp_path: Path) -> None:
    arn = "arn:aws:iam::111111111111:role/Existing"
    text = BASE + f"    existing_execution_role_arn: {arn}\n"
    (issue,) = issues_of(tmp_path, text)
    assert issue.path == "personas[0].existing_execution_role_arn"
    assert "PerPerson creates the role" in issue.message


def test_every_problem_at_once(tmp_path: Path) -> None:
    text = (
        BASE.replace("JupyterLab]", "Jupyterlab]").replace("[EmrClusters]", "[Emr]")
        + BASE.removeprefix("personas:\n").replace("idle_timeout_minutes: 60", "idle: 60")
        + "  - name: engineer\n    description: x\n    execution_role_mode: Teams\n"
    )
    issues = issues_of(tmp_path, text)
    paths = {issue.path for issue in issues}
    assert paths == {
        "personas[0].hidden_app_types[1]",
        "personas[0].hidden_ml_tools[0]",
        "personas[1].idle",
        "personas[1].name",
        "personas[2].execution_role_mode",
    }, issues


def test_unknown_key_and_empty_file(tmp_path: Path) -> None:
    text = BASE.replace("hidden_ml_tools:", "hiden_ml_tools:")
    (issue,) = issues_of(tmp_path, text)
    assert "unknown key 'hiden_ml_tools' (did you mean 'hidden_ml_tools'?)" in issue.message
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(PortfolioConfigError, match="the file is empty"):
        load_personas(path)
