"""Our Studio vocabulary matches the CloudFormation resource schemas shipped in cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path

import cfnlint

from factory.policies import tool_denies
from factory.studio import HIDEABLE_APP_TYPES, ML_TOOLS, NAME_PATTERN, UNHIDEABLE_APP_TYPES

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"


def _schema(resource_type: str) -> dict:
    index = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    return json.loads((SCHEMAS / "resources" / f"{index[resource_type]}.json").read_text())


def test_hideable_app_types_are_the_schema_enum():
    enum = _schema("AWS::SageMaker::Domain")["definitions"]["AppType"]["enum"]
    assert set(HIDEABLE_APP_TYPES) == set(enum)
    assert not set(UNHIDEABLE_APP_TYPES) & set(enum)


def test_ml_tools_are_the_schema_enum():
    assert set(ML_TOOLS) == set(_schema("AWS::SageMaker::Domain")["definitions"]["MlTools"]["enum"])


def test_profile_name_pattern_matches_schema():
    schema = _schema("AWS::SageMaker::UserProfile")["properties"]["UserProfileName"]
    assert schema["pattern"] == NAME_PATTERN
    assert schema["maxLength"] == 63


def test_deny_table_has_one_row_per_tool_and_each_row_is_complete():
    assert {row.tool for row in tool_denies.TABLE} == set(HIDEABLE_APP_TYPES) | set(ML_TOOLS)
    for row in tool_denies.TABLE:
        assert row.note, row.tool
        assert bool(row.actions) == bool(row.resources), row.tool
        if row.enforceable:
            tool_denies.deny_statement(row, "d-x")  # every action exists in awacs
            assert all(":" in a for a in row.actions)


def test_readme_documents_every_row_of_the_deny_table():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for row in tool_denies.TABLE:
        assert f"| {row.tool} | {row.kind} |" in readme, row.tool
        assert row.note in readme, row.tool
